#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_sdn_vnet
short_description: Manage SDN vnets (virtual networks) of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Creates, updates and removes SDN vnets (Datacenter, SDN, VNets), the C(/cluster/sdn/vnets) API, and applies
    the change so guests can use the vnet's bridge.
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - The zone must exist (it may still be pending); a missing zone, or a tag the zone's type does not take, fails
    before any write.
  - SDN changes stay pending until applied. With O(apply=true) (the default) the module applies the SDN
    configuration when it changed the vnet or the vnet had pending changes; it refuses when other SDN changes (a
    pending zone of the vnet too) were pending before the run, unless O(apply_foreign_pending=true), since an apply
    applies every pending change of the cluster; it waits until every node reloaded the configuration. On Proxmox VE
    9 it holds the cluster's SDN lock while it writes and applies, waits while another client holds it, and rolls
    its own pending changes back when the apply is refused.
  - Needs C(SDN.Allocate) on C(/sdn/zones/<zone>) (and on C(/sdn) to apply).
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
      - Name of the vnet (and of its bridge on the nodes), 2 to 8 letters and digits, starting with a letter.
    type: str
    required: true
  zone:
    description:
      - Zone of the vnet. Required with O(state=present). It can change only while the vnet has no subnets.
    type: str
  state:
    description:
      - V(present) creates or updates the vnet; V(absent) removes it (it must have no subnets).
    type: str
    choices: [present, absent]
    default: present
  apply:
    description:
      - Apply the SDN configuration after the change (C(PUT /cluster/sdn)), or when the vnet has pending changes.
      - V(false) leaves the change pending; a later run with V(true), or any other SDN apply, applies it.
    type: bool
    default: true
  apply_foreign_pending:
    description:
      - Whether the apply may also apply SDN changes that were pending before this run and are not this vnet's
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
  tag:
    description:
      - VLAN tag (V(vlan) and V(qinq) zones, 1 to 4094) or VXLAN network identifier (V(vxlan) and V(evpn)
        zones, where it is required). V(simple) zones take none.
    type: int
  alias:
    description:
      - Description of the vnet. An empty string removes it.
    type: str
  vlanaware:
    description:
      - Let guests use VLANs inside the vnet. Not with subnets, nor in V(evpn) zones.
    type: bool
  isolate_ports:
    description:
      - Isolate the guests' ports from each other; they reach only the outside.
    type: bool
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A vnet with VLAN 100 in the office zone
      proxfleet.proxmox.pve_sdn_vnet:
        vnet: web
        zone: office
        tag: 100
        alias: Web servers

    - name: Stage several vnets and apply them once
      proxfleet.proxmox.pve_sdn_vnet:
        vnet: "{{ item.name }}"
        zone: overlay
        tag: "{{ item.vni }}"
        apply: "{{ ansible_loop.last }}"
        # The last one applies the vnets staged before it.
        apply_foreign_pending: "{{ ansible_loop.last }}"
      loop: [{name: app, vni: 10100}, {name: db, vni: 10200}]
      loop_control:
        extended: true

    - name: Remove a vnet
      proxfleet.proxmox.pve_sdn_vnet:
        vnet: web
        state: absent
'''

RETURN = r'''
vnet:
  description:
    - The vnet as it is configured after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(isolate-ports), ...), with the pending values merged in.
  returned: success
  type: dict
  sample:
    vnet: web
    type: vnet
    zone: office
    tag: 100
    alias: Web servers
sdn:
  description: What the run did to the cluster's SDN configuration.
  returned: success
  type: dict
  contains:
    pending:
      description:
        - The vnet's pending state the run left before applying, V(new), V(changed), V(deleted), or null when
          nothing of the vnet was pending. In check mode, what it would be.
      type: str
      sample: changed
    applied:
      description:
        - Whether the run applied (in check mode, would apply) the SDN configuration.
        - V(true) once the apply task ended and every node reloaded the configuration.
      type: bool
      sample: true
    nodes:
      description:
        - When the run applied, each node's status of the vnet's zone after its network reload (V(available)); the run
          fails naming the nodes whose reload failed or did not happen within O(timeout). Empty otherwise.
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
from ansible_collections.proxfleet.proxmox.plugins.module_utils.sdn import SdnResource, check_vnet_zone, sdn_argument_spec

NAME_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]$')

SPEC = ResourceSpec(
    result_key='vnet',
    label='sdn vnet',
    collection='/cluster/sdn/vnets',
    id_field='vnet',
    read='list',
    digest=False,
    fields=[
        Field('zone'),
        Field('tag', kind='int'),
        Field('alias'),
        Field('vlanaware', kind='bool'),
        Field('isolate_ports', kind='bool'),
    ],
)


def desired_state(params):
    desired = dict((field.name, params.get(field.name)) for field in SPEC.fields)
    if params.get('alias') == '':
        desired['alias'] = ABSENT
    return desired


def run(module):
    params = module.params
    if not NAME_RE.match(params['vnet']) or not 2 <= len(params['vnet']) <= 8:
        raise ProxmoxConfigError('a vnet name has 2 to 8 letters and digits and starts with a letter')
    resource = SdnResource(module, SPEC, params['vnet'], create_extra={'type': 'vnet'})
    if params['state'] == 'absent':
        return resource.ensure_sdn('absent', {}, params['apply'])

    def validate(found):
        check_vnet_zone(module.client, params, found.current)
    return resource.ensure_sdn('present', desired_state(params), params['apply'], validate=validate)


def main():
    spec = dict(
        vnet=dict(type='str', required=True),
        zone=dict(type='str'),
        tag=dict(type='int'),
        alias=dict(type='str'),
        vlanaware=dict(type='bool'),
        isolate_ports=dict(type='bool'),
    )
    spec.update(sdn_argument_spec())
    module = ProxmoxModule(argument_spec=spec, required_if=[('state', 'present', ('zone',))], supports_check_mode=True)
    module.run(run, target=lambda m: 'sdn vnet {0!r}'.format(m.params['vnet']))


if __name__ == '__main__':
    main()
