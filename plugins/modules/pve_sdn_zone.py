#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_sdn_zone
short_description: Manage Software-Defined Network (SDN) zones of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Creates, updates and removes SDN zones (Datacenter, SDN, Zones), the C(/cluster/sdn/zones) API, and applies
    the change so the nodes use it.
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - Each zone type takes its own options (see each option); giving an option of another type fails before any
    request.
  - SDN changes stay pending until applied. With O(apply=true) (the default) the module applies the SDN
    configuration when it changed the zone or the zone had pending changes; it refuses when other SDN changes were
    pending before the run, unless O(apply_foreign_pending=true), since an apply applies every pending change of the
    cluster; it waits until every node reloaded the configuration. On Proxmox VE 9 it holds the cluster's SDN lock
    while it writes and applies, waits while another client holds it, and rolls its own pending changes back when
    the apply is refused.
  - Needs C(SDN.Allocate) on C(/sdn/zones) (and on C(/sdn) to apply).
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
  zone:
    description:
      - Name of the zone, 2 to 8 letters and digits, starting with a letter.
    type: str
    required: true
  type:
    description:
      - The zone type. Required with O(state=present); it cannot change once the zone exists.
    type: str
    choices: [simple, vlan, qinq, vxlan, evpn]
  state:
    description:
      - V(present) creates or updates the zone; V(absent) removes it (it must have no vnets).
    type: str
    choices: [present, absent]
    default: present
  apply:
    description:
      - Apply the SDN configuration after the change (C(PUT /cluster/sdn)), or when the zone has pending changes.
      - V(false) leaves the change pending; a later run with V(true), or any other SDN apply, applies it.
    type: bool
    default: true
  apply_foreign_pending:
    description:
      - Whether the apply may also apply SDN changes that were pending before this run and are not this zone's
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
  bridge:
    description:
      - Local bridge or OVS switch the zone's VLANs go over. V(vlan) and V(qinq) zones, required for them.
    type: str
  bridge_disable_mac_learning:
    description:
      - Disable source MAC learning on the bridge. V(vlan), V(qinq) and V(evpn) zones.
    type: bool
  tag:
    description:
      - Service VLAN tag (the outer tag). V(qinq) zones, required for them.
    type: int
  vlan_protocol:
    description:
      - Protocol of the service VLAN. V(qinq) zones.
    type: str
    choices: [802.1q, 802.1ad]
  peers:
    description:
      - Addresses of the nodes that take part in the VXLAN zone. V(vxlan) zones, required for them.
    type: list
    elements: str
  vxlan_port:
    description:
      - UDP port of the VXLAN tunnels (Proxmox VE uses 4789 when unset). V(vxlan) and V(evpn) zones.
    type: int
  controller:
    description:
      - The EVPN controller of the zone. V(evpn) zones, required for them.
    type: str
  vrf_vxlan:
    description:
      - VNI of the zone's VRF (layer 3 routing). V(evpn) zones, required for them.
    type: int
  exitnodes:
    description:
      - Nodes that route between the zone and the real network. V(evpn) zones. An empty list removes them.
    type: list
    elements: str
  exitnodes_primary:
    description:
      - The exit node that is used first. V(evpn) zones.
    type: str
  exitnodes_local_routing:
    description:
      - Let the exit nodes themselves reach the zone's guests. V(evpn) zones.
    type: bool
  advertise_subnets:
    description:
      - Announce the zone's subnets (type 5 routes). V(evpn) zones.
    type: bool
  disable_arp_nd_suppression:
    description:
      - Do not suppress ARP and IPv6 neighbour discovery. V(evpn) zones.
    type: bool
  rt_import:
    description:
      - Route targets to import into the zone's VRF. V(evpn) zones. An empty list removes them.
    type: list
    elements: str
  mac:
    description:
      - Anycast MAC address of the zone's gateways. V(evpn) zones (Proxmox VE picks one when unset).
    type: str
  mtu:
    description:
      - MTU of the zone's vnets.
    type: int
  ipam:
    description:
      - IPAM that keeps the addresses of the zone's subnets (V(pve) is the built-in one). An empty string removes it.
    type: str
  dns:
    description:
      - DNS server (an SDN DNS plugin entry) that gets the guests' names. An empty string removes it.
    type: str
  reversedns:
    description:
      - DNS server for the reverse zone. An empty string removes it.
    type: str
  dnszone:
    description:
      - DNS domain the guests' names go in (needs O(dns)). An empty string removes it.
    type: str
  dhcp:
    description:
      - DHCP server the zone runs for its subnets. V(simple) zones. An empty string removes it.
    type: str
    choices: [dnsmasq, '']
  nodes:
    description:
      - Nodes the zone is deployed on; all nodes when unset. An empty list removes the restriction.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A VLAN zone on vmbr0, applied at once
      proxfleet.proxmox.pve_sdn_zone:
        zone: office
        type: vlan
        bridge: vmbr0
        mtu: 1500
        ipam: pve

    - name: A VXLAN zone between three nodes, left pending to apply with the vnets
      proxfleet.proxmox.pve_sdn_zone:
        zone: overlay
        type: vxlan
        peers: [192.0.2.11, 192.0.2.12, 192.0.2.13]
        apply: false

    - name: Remove a zone (its vnets must be gone)
      proxfleet.proxmox.pve_sdn_zone:
        zone: office
        state: absent
'''

RETURN = r'''
zone:
  description:
    - The zone as it is configured after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(vrf-vxlan), V(vlan-protocol), ...), with the pending values merged in.
  returned: success
  type: dict
  sample:
    zone: office
    type: vlan
    bridge: vmbr0
    mtu: 1500
    ipam: pve
sdn:
  description: What the run did to the cluster's SDN configuration.
  returned: success
  type: dict
  contains:
    pending:
      description:
        - The zone's pending state the run left before applying, V(new), V(changed), V(deleted), or null when
          nothing of the zone was pending. In check mode, what it would be.
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
        - When the run applied, each node's status of the zone after its network reload (V(available)); the run fails
          naming the nodes whose reload failed or did not happen within O(timeout). Empty otherwise.
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

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ResourceSpec
from ansible_collections.proxfleet.proxmox.plugins.module_utils.sdn import (
    ZONE_TYPE_REQUIRED,
    SdnResource,
    check_zone_options,
    missing_on_create,
    sdn_argument_spec,
)

STRINGS = ('bridge', 'vlan_protocol', 'controller', 'exitnodes_primary', 'ipam', 'dns', 'reversedns', 'dnszone', 'dhcp')
LISTS = ('peers', 'exitnodes', 'rt_import', 'nodes')
BOOLS = ('bridge_disable_mac_learning', 'exitnodes_local_routing', 'advertise_subnets', 'disable_arp_nd_suppression')
INTS = ('tag', 'vxlan_port', 'vrf_vxlan', 'mtu')
ZONE_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]$')

SPEC = ResourceSpec(
    result_key='zone',
    label='sdn zone',
    collection='/cluster/sdn/zones',
    id_field='zone',
    read='list',
    digest=False,
    fields=[Field('type', create_only=True)]
    + [Field(name) for name in STRINGS]
    + [Field(name, kind='set') for name in LISTS]
    + [Field(name, kind='bool') for name in BOOLS]
    + [Field(name, kind='int') for name in INTS]
    + [Field('mac', normalize=lambda v: str(v).strip().upper())],
)


def desired_state(params):
    desired = dict((field.name, params.get(field.name)) for field in SPEC.fields)
    for name in STRINGS + ('mac',):
        if params.get(name) == '':
            desired[name] = ABSENT
    for name in LISTS:
        if params.get(name) == []:
            desired[name] = ABSENT
    return desired


def run(module):
    params = module.params
    if not ZONE_RE.match(params['zone']) or not 2 <= len(params['zone']) <= 8:
        raise ProxmoxConfigError('a zone name has 2 to 8 letters and digits and starts with a letter')
    resource = SdnResource(module, SPEC, params['zone'])
    if params['state'] == 'absent':
        return resource.ensure_sdn('absent', {}, params['apply'])
    check_zone_options(params)

    def validate(found):
        if found.current is None:
            missing_on_create('{0} zone'.format(params['type']), params, ZONE_TYPE_REQUIRED.get(params['type'], ()))
    return resource.ensure_sdn('present', desired_state(params), params['apply'], validate=validate)


def main():
    spec = dict(
        zone=dict(type='str', required=True),
        type=dict(type='str', choices=['simple', 'vlan', 'qinq', 'vxlan', 'evpn']),
        bridge=dict(type='str'),
        bridge_disable_mac_learning=dict(type='bool'),
        tag=dict(type='int'),
        vlan_protocol=dict(type='str', choices=['802.1q', '802.1ad']),
        peers=dict(type='list', elements='str'),
        vxlan_port=dict(type='int'),
        controller=dict(type='str'),
        vrf_vxlan=dict(type='int'),
        exitnodes=dict(type='list', elements='str'),
        exitnodes_primary=dict(type='str'),
        exitnodes_local_routing=dict(type='bool'),
        advertise_subnets=dict(type='bool'),
        disable_arp_nd_suppression=dict(type='bool'),
        rt_import=dict(type='list', elements='str'),
        mac=dict(type='str'),
        mtu=dict(type='int'),
        ipam=dict(type='str'),
        dns=dict(type='str'),
        reversedns=dict(type='str'),
        dnszone=dict(type='str'),
        dhcp=dict(type='str', choices=['dnsmasq', '']),
        nodes=dict(type='list', elements='str'),
    )
    spec.update(sdn_argument_spec())
    module = ProxmoxModule(argument_spec=spec, required_if=[('state', 'present', ('type',))], supports_check_mode=True)
    module.run(run, target=lambda m: 'sdn zone {0!r}'.format(m.params['zone']))


if __name__ == '__main__':
    main()
