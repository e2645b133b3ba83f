#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_sdn_subnet
short_description: Manage the subnets of SDN vnets of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Creates, updates and removes the subnets of an SDN vnet (Datacenter, SDN, VNets, Subnets), the
    C(/cluster/sdn/vnets/<vnet>/subnets) API, and applies the change.
  - A subnet is identified by its vnet and its network (O(cidr)); Proxmox VE names it C(<zone>-<address>-<prefix>).
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - An invalid network, a gateway or DHCP range outside it, or a vnet that does not exist fail before any write.
  - SDN changes stay pending until applied. With O(apply=true) (the default) the module applies the SDN
    configuration when it changed the subnet or the subnet had pending changes; it refuses when other SDN changes
    were pending before the run, unless O(apply_foreign_pending=true), since an apply applies every pending change
    of the cluster; it waits until every node reloaded the configuration. On Proxmox VE 9 it holds the cluster's SDN
    lock while it writes and applies, waits while another client holds it, and rolls its own pending changes back
    when the apply is refused.
  - Needs C(SDN.Allocate) on C(/sdn/zones/<zone>/<vnet>) (and on C(/sdn) to apply).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  vnet:
    description:
      - The vnet the subnet belongs to.
    type: str
    required: true
  cidr:
    description:
      - The network, in CIDR notation with its network address (V(10.0.0.0/24), V(fd00:1::/64)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the subnet; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  apply:
    description:
      - Apply the SDN configuration after the change (C(PUT /cluster/sdn)), or when the subnet has pending changes.
      - V(false) leaves the change pending; a later run with V(true), or any other SDN apply, applies it.
    type: bool
    default: true
  apply_foreign_pending:
    description:
      - Whether the apply may also apply SDN changes that were pending before this run and are not this subnet's
        (someone else's, or staged by earlier tasks with O(apply=false)). PUT /cluster/sdn applies every pending
        change of the cluster at once.
      - V(false) (the default) refuses, before any write, when such changes are pending, naming them; the run also
        fails then in check mode. Set V(true) on the task that applies what earlier tasks staged.
      - When other changes were pending, a failed apply leaves everything pending (no rollback of changes this run
        did not make).
    type: bool
    default: false
    version_added: 0.1.0
  break_lock:
    description:
      - On Proxmox VE 9, release the cluster's SDN lock (C(DELETE /cluster/sdn/lock) with C(force)) when another
        client holds it, instead of waiting for it.
      - Only for a lock nobody holds any more, such as one left by a run that was killed; PVE does not say who holds
        the lock or since when, and a live client holding it would have its next write refused.
    type: bool
    default: false
    version_added: 0.1.0
  timeout:
    description:
      - Seconds to wait for the SDN lock another client holds (Proxmox VE 9), for the apply task and for every
        node's reload, in all.
    type: int
    default: 120
  gateway:
    description:
      - Gateway address inside the subnet (for a V(/32) IPv4 subnet it may lie outside). An empty string removes it.
    type: str
  snat:
    description:
      - Masquerade (source NAT) the subnet's traffic to the outside. V(simple) and V(evpn) zones.
    type: bool
  dhcp_ranges:
    description:
      - Address ranges the zone's DHCP server hands out; order does not matter. An empty list removes them.
    type: list
    elements: dict
    suboptions:
      start:
        description: First address of the range.
        type: str
        required: true
      end:
        description: Last address of the range.
        type: str
        required: true
  dhcp_dns_server:
    description:
      - DNS server the DHCP server announces. An empty string removes it.
    type: str
  dnszoneprefix:
    description:
      - Prefix of the guests' DNS names in the zone's DNS domain. An empty string removes it.
    type: str
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A routed subnet with source NAT and a DHCP range
      proxfleet.proxmox.pve_sdn_subnet:
        vnet: web
        cidr: 10.10.0.0/24
        gateway: 10.10.0.1
        snat: true
        dhcp_ranges:
          - start: 10.10.0.100
            end: 10.10.0.199

    - name: Remove the DHCP ranges, keeping the rest
      proxfleet.proxmox.pve_sdn_subnet:
        vnet: web
        cidr: 10.10.0.0/24
        dhcp_ranges: []

    - name: Remove the subnet
      proxfleet.proxmox.pve_sdn_subnet:
        vnet: web
        cidr: 10.10.0.0/24
        state: absent
'''

RETURN = r'''
subnet:
  description:
    - The subnet as it is configured after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(subnet) is Proxmox VE's id, V(dhcp-range), ...), with the pending values merged in.
  returned: success
  type: dict
  sample:
    subnet: office-10.10.0.0-24
    cidr: 10.10.0.0/24
    vnet: web
    gateway: 10.10.0.1
    snat: 1
    dhcp-range: ["start-address=10.10.0.100,end-address=10.10.0.199"]
sdn:
  description: What the run did to the cluster's SDN configuration.
  returned: success
  type: dict
  contains:
    pending:
      description:
        - The subnet's pending state the run left before applying, V(new), V(changed), V(deleted), or null when
          nothing of the subnet was pending. In check mode, what it would be.
      type: str
      sample: new
    applied:
      description:
        - Whether the run applied (in check mode, would apply) the SDN configuration.
        - V(true) once the apply task ended and every node reloaded the configuration.
      type: bool
      sample: true
    nodes:
      description:
        - When the run applied, each node's status of the subnet's zone after its network reload (V(available)); the
          run fails naming the nodes whose reload failed or did not happen within O(timeout). Empty otherwise.
      type: dict
      sample: {pve1: available, pve2: available}
tasks:
  description: The apply task (C(reloadnetworkall)) when the run applied the configuration.
  returned: when something was applied
  type: list
  elements: dict
  contains:
    upid:
      description: The task's UPID.
      type: str
    node:
      description: The node the task ran on, from the UPID.
      type: str
    type:
      description: The task type from the UPID, for example V(reloadnetworkall).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:pve1:00001A2B:0003C4D5:6756A1B0:reloadnetworkall::automation@pve!ansible:"
      node: pve1
      type: reloadnetworkall
      id: ""
      exitstatus: OK
diff:
  description: The managed options before and after, when the run changed something or diff mode is on.
  returned: success
  type: dict
  contains:
    before:
      description: Managed options before the run.
      type: dict
    after:
      description: Managed options after the run.
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ResourceSpec
from ansible_collections.proxfleet.proxmox.plugins.module_utils.sdn import (
    SdnResource,
    address,
    dhcp_ranges,
    network,
    read_items,
    sdn_argument_spec,
)


def _flag(value):
    try:
        return propstring.to_bool(value) if value is not None else False
    except ValueError:
        return False


def _ip_text(value):
    try:
        return str(address(value, 'address'))
    except ProxmoxConfigError:
        return str(value).strip()


SPEC = ResourceSpec(
    result_key='subnet',
    label='sdn subnet',
    collection='/cluster/sdn/vnets/{vnet}/subnets',
    id_field='subnet',
    read='list',
    digest=False,
    id_in_create=False,
    fields=[
        Field('gateway', normalize=_ip_text),
        Field('snat', kind='bool'),
        Field('dhcp_ranges', api_name='dhcp-range', normalize=dhcp_ranges, serialize=dhcp_ranges),
        Field('dhcp_dns_server', normalize=_ip_text),
        Field('dnszoneprefix'),
    ],
)


def check_values(params, net):
    """The gateway, DNS server and DHCP ranges fit the network: before any request."""
    gateway = params.get('gateway')
    if gateway:
        ip = address(gateway, 'gateway')
        point_to_point = net.version == 4 and net.prefixlen == 32
        if ip.version != net.version or (ip not in net and not point_to_point):
            raise ProxmoxConfigError('gateway {0} is not in subnet {1}'.format(gateway, net))
    if params.get('dhcp_dns_server'):
        address(params['dhcp_dns_server'], 'dhcp_dns_server')
    seen = []
    for rng in params.get('dhcp_ranges') or ():
        start, end = address(rng['start'], 'dhcp_ranges start'), address(rng['end'], 'dhcp_ranges end')
        for ip in (start, end):
            if ip.version != net.version or ip not in net:
                raise ProxmoxConfigError('dhcp range {0} - {1}: {2} is not in subnet {3}'.format(start, end, ip, net))
        if start > end:
            raise ProxmoxConfigError('dhcp range {0} - {1}: the start comes after the end'.format(start, end))
        for other_start, other_end in seen:
            if start <= other_end and other_start <= end:
                raise ProxmoxConfigError('dhcp ranges {0} - {1} and {2} - {3} overlap'.format(start, end, other_start, other_end))
        seen.append((start, end))


def desired_state(params):
    desired = dict((field.name, params.get(field.name)) for field in SPEC.fields)
    if params.get('dhcp_ranges') is not None:
        ranges = [{'start-address': r['start'], 'end-address': r['end']} for r in params['dhcp_ranges']]
        desired['dhcp_ranges'] = ranges or ABSENT
    for name in ('gateway', 'dhcp_dns_server', 'dnszoneprefix'):
        if params.get(name) == '':
            desired[name] = ABSENT
    return desired


def run(module):
    params = module.params
    net = network(params['cidr'])
    if params['state'] == 'present':
        check_values(params, net)
    vnets = read_items(module.client, '/cluster/sdn/vnets')
    vnet = vnets.get(params['vnet'])
    if vnet is None:
        if params['state'] == 'absent':
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'subnet': None,
                    'sdn': {'pending': None, 'applied': False, 'nodes': {}}}
        raise ProxmoxConfigError('vnet {0!r} does not exist: create it with proxfleet.proxmox.pve_sdn_vnet first'.format(
            params['vnet']))
    if params['state'] == 'present' and _flag(vnet.get('vlanaware')):
        raise ProxmoxConfigError('vnet {0!r} is vlanaware, which does not go with subnets'.format(params['vnet']))
    ident = '{0}-{1}-{2}'.format(vnet.get('zone'), net.network_address, net.prefixlen)
    resource = SdnResource(module, SPEC, ident, path_vars={'vnet': params['vnet']},
                           create_extra={'type': 'subnet', 'subnet': str(net)})
    if params['state'] == 'absent':
        return resource.ensure_sdn('absent', {}, params['apply'])
    return resource.ensure_sdn('present', desired_state(params), params['apply'])


def main():
    spec = dict(
        vnet=dict(type='str', required=True),
        cidr=dict(type='str', required=True),
        gateway=dict(type='str'),
        snat=dict(type='bool'),
        dhcp_ranges=dict(type='list', elements='dict', options=dict(start=dict(type='str', required=True),
                                                                    end=dict(type='str', required=True))),
        dhcp_dns_server=dict(type='str'),
        dnszoneprefix=dict(type='str'),
    )
    spec.update(sdn_argument_spec())
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'sdn subnet {0} of vnet {1!r}'.format(m.params['cidr'], m.params['vnet']))


if __name__ == '__main__':
    main()
