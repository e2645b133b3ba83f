#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_firewall_options
short_description: Manage the firewall options of a Proxmox VE cluster, node, guest or vnet
version_added: 0.1.0
description:
  - Sets the firewall options of one level (Datacenter, Node, VM/CT or SDN vnet; Firewall, Options).
  - Only the options you give are managed; an option left out keeps its value. An option the level does not have
    fails before any request. Each option's description names the levels that have it.
  - An empty string removes a string option (a policy, a log level ...), so that Proxmox VE's default applies.
  - The update sends the digest of the options read, so a concurrent change is refused instead of overwritten.
  - "Privileges: C(Sys.Modify) on C(/) for the cluster, on C(/nodes/<node>) for a node; C(VM.Config.Network) on
    C(/vms/<vmid>) for a guest; C(SDN.Allocate) on C(/sdn/zones/<zone>/<vnet>) for a vnet."
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
  level:
    description:
      - Whose options. V(guest) is a VM or a container, whichever O(vmid) is.
    type: str
    choices: [cluster, node, guest, vm, ct, vnet]
    default: cluster
  node:
    description:
      - The node, for O(level=node). For a guest it is found from O(vmid).
    type: str
  vmid:
    description:
      - The guest, for O(level=guest), O(level=vm) and O(level=ct).
    type: int
  vnet:
    description:
      - The SDN vnet, for O(level=vnet).
    type: str
  dhcp:
    description:
      - Allow DHCP (guest).
    type: bool
  ebtables:
    description:
      - Enable ebtables rules cluster wide (cluster).
    type: bool
  enable:
    description:
      - Whether the firewall is on at this level. At cluster level this switches the whole firewall; a node's or
        guest's firewall only works when the cluster's is on.
    type: bool
  ipfilter:
    description:
      - Default IP filters, which let through only the guest's own addresses or those of its C(ipfilter-net*) IP
        sets (guest).
    type: bool
  log_level_forward:
    description:
      - Log level for forwarded traffic (node, vnet).
    type: str
    choices: ['', emerg, alert, crit, err, warning, notice, info, debug, nolog]
  log_level_in:
    description:
      - Log level for incoming traffic (node, guest).
    type: str
    choices: ['', emerg, alert, crit, err, warning, notice, info, debug, nolog]
  log_level_out:
    description:
      - Log level for outgoing traffic (node, guest).
    type: str
    choices: ['', emerg, alert, crit, err, warning, notice, info, debug, nolog]
  log_nf_conntrack:
    description:
      - Log connection tracking events (node).
    type: bool
  log_ratelimit:
    description:
      - Log rate limit, as a property string like V(enable=1,rate=1/second,burst=5) (cluster).
    type: str
  macfilter:
    description:
      - MAC address filter (guest).
    type: bool
  ndp:
    description:
      - Allow NDP, the IPv6 neighbour discovery protocol (node, guest).
    type: bool
  nf_conntrack_allow_invalid:
    description:
      - Allow invalid packets on connection tracking (node).
    type: bool
  nf_conntrack_helpers:
    description:
      - Connection tracking helpers, comma-separated (V(ftp,tftp)) (node).
    type: str
  nf_conntrack_max:
    description:
      - Maximum number of tracked connections (node).
    type: int
  nf_conntrack_tcp_timeout_established:
    description:
      - Connection tracking timeout of established TCP connections, in seconds (node).
    type: int
  nf_conntrack_tcp_timeout_syn_recv:
    description:
      - Connection tracking timeout of TCP SYN_RECV, in seconds (node).
    type: int
  nftables:
    description:
      - Use the nftables based firewall (node; tech preview in Proxmox VE).
    type: bool
  nosmurfs:
    description:
      - SMURFS filter (node).
    type: bool
  policy_forward:
    description:
      - Policy for forwarded traffic (cluster, vnet).
    type: str
    choices: ['', ACCEPT, DROP]
  policy_in:
    description:
      - Policy for incoming traffic (cluster, guest).
    type: str
    choices: ['', ACCEPT, REJECT, DROP]
  policy_out:
    description:
      - Policy for outgoing traffic (cluster, guest).
    type: str
    choices: ['', ACCEPT, REJECT, DROP]
  protection_synflood:
    description:
      - SYN flood protection (node).
    type: bool
  protection_synflood_burst:
    description:
      - SYN flood protection burst per source IP (node).
    type: int
  protection_synflood_rate:
    description:
      - SYN flood protection rate per source IP, per second (node).
    type: int
  radv:
    description:
      - Allow the guest to send router advertisements (guest).
    type: bool
  smurf_log_level:
    description:
      - Log level of the SMURFS filter (node).
    type: str
    choices: ['', emerg, alert, crit, err, warning, notice, info, debug, nolog]
  tcp_flags_log_level:
    description:
      - Log level of the illegal TCP flags filter (node).
    type: str
    choices: ['', emerg, alert, crit, err, warning, notice, info, debug, nolog]
  tcpflags:
    description:
      - Filter illegal combinations of TCP flags (node).
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
    - name: Switch the cluster firewall on, dropping what no rule accepts
      proxfleet.proxmox.pve_firewall_options:
        level: cluster
        enable: true
        policy_in: DROP
        policy_out: ACCEPT

    - name: A guest's firewall, with IP and MAC filters
      proxfleet.proxmox.pve_firewall_options:
        level: guest
        vmid: 101
        enable: true
        ipfilter: true
        macfilter: true
        log_level_in: info
'''

RETURN = r'''
options:
  description:
    - The level's firewall options after the run (in check mode, as they would be), as the API names them.
  returned: success
  type: dict
  sample:
    enable: 1
    policy_in: DROP
    policy_out: ACCEPT
diff:
  description: The options given, before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

LEVELS = ('cluster', 'node', 'guest', 'vm', 'ct', 'vnet')


class OptionsResource(ConfigResource):
    """A level's options always exist: one object, read and updated in place (PUT with digest and delete)."""

    def read(self):
        self.current = self.client.get(self._fill(self.spec.item)) or {}
        return self.current


def run(module):
    params = module.params
    firewall.check_level_options(params, LEVELS)
    kind = {'guest': 'vm'}.get(params['level'], params['level'])
    if kind in ('vm', 'ct'):
        # vm and ct have the same options: check before any request.
        firewall.check_options_level(params, 'vm')
    else:
        firewall.check_options_level(params, kind)
    level = firewall.resolve_level(module.client, params)
    module.fw_target = 'options of the {0}'.format(level.label)
    template = firewall.OPTIONS_PATHS[level.kind]
    spec = ResourceSpec(result_key='options', label='firewall options', collection=template, item=template,
                        id_field='level', fields=firewall.options_fields(level.kind))
    resource = OptionsResource(module, spec, level.kind,
                               dict(node=level.node, vmid=level.vmid, vnet=level.vnet))
    desired = {}
    for field in spec.fields:
        value = params.get(field.name)
        desired[field.name] = ABSENT if value == '' else value
    result = resource.ensure('present', desired)
    if isinstance(result.get('options'), dict):
        result['options'].pop('digest', None)
    return result


def main():
    spec = firewall.level_argument_spec(LEVELS)
    spec.pop('group')
    spec.update(
        dhcp=dict(type='bool'),
        ebtables=dict(type='bool'),
        enable=dict(type='bool'),
        ipfilter=dict(type='bool'),
        log_level_forward=dict(type='str', choices=['', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        log_level_in=dict(type='str', choices=['', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        log_level_out=dict(type='str', choices=['', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        log_nf_conntrack=dict(type='bool'),
        log_ratelimit=dict(type='str'),
        macfilter=dict(type='bool'),
        ndp=dict(type='bool'),
        nf_conntrack_allow_invalid=dict(type='bool'),
        nf_conntrack_helpers=dict(type='str'),
        nf_conntrack_max=dict(type='int'),
        nf_conntrack_tcp_timeout_established=dict(type='int'),
        nf_conntrack_tcp_timeout_syn_recv=dict(type='int'),
        nftables=dict(type='bool'),
        nosmurfs=dict(type='bool'),
        policy_forward=dict(type='str', choices=['', 'ACCEPT', 'DROP']),
        policy_in=dict(type='str', choices=['', 'ACCEPT', 'REJECT', 'DROP']),
        policy_out=dict(type='str', choices=['', 'ACCEPT', 'REJECT', 'DROP']),
        protection_synflood=dict(type='bool'),
        protection_synflood_burst=dict(type='int'),
        protection_synflood_rate=dict(type='int'),
        radv=dict(type='bool'),
        smurf_log_level=dict(type='str', choices=['', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        tcp_flags_log_level=dict(type='str', choices=['', 'emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        tcpflags=dict(type='bool'),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: getattr(m, 'fw_target', None) or 'firewall options')


if __name__ == '__main__':
    main()
