#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_firewall_rule
short_description: Manage one Proxmox VE firewall rule, found by its id or its match fields, never by position
version_added: 0.1.0
description:
  - Creates, updates, moves and removes one firewall rule of the cluster, a node, a guest (VM or container), a
    security group or an SDN vnet.
  - Proxmox VE addresses rules by position, which changes whenever a rule is added or moved above them. This module
    never identifies a rule by position. With O(rule_id), the rule is the one whose comment holds the marker
    C([id=<rule_id>]); the module writes the comment as C([id=<rule_id>] <comment>). Without O(rule_id), the rule is
    the one whose match fields (O(type), O(action), O(macro), O(source), O(dest), O(proto), O(dport), O(sport),
    O(iface), O(icmp_type)) all equal the ones given, options left out meaning "not set"; rules that carry an id
    marker are never matched this way. Then O(enabled), O(log) and O(comment) are what can change.
  - With O(rule_id), every field given is managed and every field left out is kept; an empty value (V('') or V([]))
    removes the field from the rule.
  - O(pos) is converged when given. Without it a rule stays where it is, and a new rule goes first, where Proxmox VE
    puts new rules.
  - Every write sends the digest of the rule list it was planned on, so a change someone else makes at the same
    time is refused by Proxmox VE (C(detected modified configuration)) instead of being overwritten.
  - "Privileges: cluster rules and security groups need C(Sys.Modify) on C(/); node rules C(Sys.Modify) on
    C(/nodes/<node>); guest rules C(VM.Config.Network) on C(/vms/<vmid>); vnet rules C(SDN.Allocate) on
    C(/sdn/zones/<zone>/<vnet>). Reading the guest list needs C(VM.Audit) on the guest."
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
      - Where the rule lives. V(guest) is a VM or a container, whichever O(vmid) is; V(vm) and V(ct) insist on one.
      - V(group) is the security group O(group) (create the group with M(proxfleet.proxmox.pve_firewall_group)),
        V(vnet) the SDN vnet O(vnet) (Proxmox VE 8.3 and later).
    type: str
    choices: [cluster, node, guest, vm, ct, group, vnet]
    default: cluster
  node:
    description:
      - The node, for O(level=node). For a guest it is found from O(vmid); if given, it must be the guest's node.
    type: str
  vmid:
    description:
      - The guest, for O(level=guest), O(level=vm) and O(level=ct).
    type: int
  group:
    description:
      - The security group, for O(level=group).
    type: str
  vnet:
    description:
      - The SDN vnet, for O(level=vnet).
    type: str
  state:
    description:
      - V(present) creates or updates the rule; V(absent) removes every rule that matches.
    type: str
    choices: [present, absent]
    default: present
  rule_id:
    description:
      - The rule's identity, kept in its comment as the marker C([id=<rule_id>]) before the O(comment).
      - Letters, digits, V(_), V(.), V(:) and V(-), at most 64 characters.
      - Without it, the rule is identified by its match fields.
      - When no rule holds the marker yet, a rule without any marker whose match fields are exactly the ones given is
        taken over (the marker is added to its comment) rather than adding a second rule that does the same.
    type: str
  pos:
    description:
      - Position the rule must have (0 is first). A position past the end means last.
    type: int
  type:
    description:
      - Direction, or V(group) to apply a security group (named in O(action)).
      - V(forward) exists at cluster, node, group and vnet level (Proxmox VE 8.2 and later); vnets take only
        V(forward) and V(group); guests V(in), V(out) and V(group).
      - Required without O(rule_id), and to create a rule.
    type: str
    choices: [in, out, forward, group]
  action:
    description:
      - V(ACCEPT), V(DROP) or V(REJECT) (not on V(forward)), or the security group's name when O(type=group).
      - Required without O(rule_id), and to create a rule.
    type: str
  macro:
    description:
      - A Proxmox VE macro (V(SSH), V(HTTPS), V(Ceph) ...); case does not matter.
    type: str
  source:
    description:
      - Source address, network, range, list, alias or IP set (V(+name)).
    type: str
  dest:
    description:
      - Destination address, network, range, list, alias or IP set (V(+name)).
    type: str
  proto:
    description:
      - IP protocol (V(tcp), V(udp), V(icmp), a number ...). O(dport) and O(sport) need it, even with a macro.
    type: str
  dport:
    description:
      - Destination ports, as numbers, ranges (V(8000:8100) or V(8000-8100)) and service names, as a list or a
        comma-separated string. Order does not matter. At most 15 numbers (a range counts two).
    type: list
    elements: str
  sport:
    description:
      - Source ports, like O(dport).
    type: list
    elements: str
  iface:
    description:
      - Network interface (V(vmbr0) at node and cluster level, V(net0) for guests). Not at group and vnet level.
    type: str
  icmp_type:
    description:
      - ICMP type, with O(proto=icmp) or V(icmpv6).
    type: str
  log:
    description:
      - Log level of the rule.
    type: str
    choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
  enabled:
    description:
      - Whether the rule is active. A new rule is created enabled unless this is V(false) (the API alone would
        create it disabled); an existing rule keeps its state when this is not given.
    type: bool
  comment:
    description:
      - The rule's comment (without the id marker, which the module adds). An empty string removes it.
    type: str
  rules:
    description:
      - List mode, for several rules of one level in one task. Each item takes the options of a single rule
        (O(rule_id), O(type), O(action) ... O(comment)), which are then not given at task level.
      - The rules listed are found as a single rule is, and kept first, in the order given; rules someone else added
        stay after them unless O(purge) is set. With O(state=absent), every rule that matches an item is removed.
      - Returns O(rules) under RV(rules) instead of RV(rule).
    type: list
    elements: dict
    suboptions:
      rule_id:
        description: The rule's identity, kept in its comment as C([id=<rule_id>]).
        type: str
      type:
        description: Direction, or V(group) to apply a security group. Required without O(rules[].rule_id).
        type: str
        choices: [in, out, forward, group]
      action:
        description: V(ACCEPT), V(DROP), V(REJECT), or the security group's name. Required like O(rules[].type).
        type: str
      macro:
        description: A Proxmox VE macro.
        type: str
      source:
        description: Source address, network, range, list, alias or IP set.
        type: str
      dest:
        description: Destination address, network, range, list, alias or IP set.
        type: str
      proto:
        description: IP protocol; needed with ports.
        type: str
      dport:
        description: Destination ports.
        type: list
        elements: str
      sport:
        description: Source ports.
        type: list
        elements: str
      iface:
        description: Network interface (not at group and vnet level).
        type: str
      icmp_type:
        description: ICMP type.
        type: str
      log:
        description: Log level.
        type: str
        choices: [emerg, alert, crit, err, warning, notice, info, debug, nolog]
      enabled:
        description: Whether the rule is active (new rules are enabled unless V(false)).
        type: bool
      comment:
        description: The rule's comment, without the id marker.
        type: str
  purge:
    description:
      - In list mode, remove the level's rules that O(rules) does not list.
    type: bool
    default: false
notes:
  - Rules added, moved or removed by others are left alone; only the rules this task names are changed.
  - Two rules that only differ in how a port list is written (V(443,80) and V(80,443)) match each other; service
    names are not translated (V(https) does not match V(443)).
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Allow HTTPS to the web VMs, identified by an id whatever its position
      proxfleet.proxmox.pve_firewall_rule:
        level: cluster
        rule_id: web-https
        type: in
        action: ACCEPT
        proto: tcp
        dport: [443, "8443:8444"]
        dest: +webservers
        comment: web front ends
        pos: 0

    - name: Let SSH into VM 101 from the admin network (found by its match fields)
      proxfleet.proxmox.pve_firewall_rule:
        level: guest
        vmid: 101
        type: in
        action: ACCEPT
        macro: SSH
        source: 10.0.0.0/24
        log: info

    - name: Apply the security group "webserver" on a node
      proxfleet.proxmox.pve_firewall_rule:
        level: node
        node: pve1
        type: group
        action: webserver

    - name: Remove the rule
      proxfleet.proxmox.pve_firewall_rule:
        level: cluster
        rule_id: web-https
        state: absent
'''

RETURN = r'''
rule:
  description:
    - The rule as Proxmox VE has it after the run (in check mode, as it would be); null once removed.
    - Keys are the API's, plus C(pos), and C(rule_id) taken from the comment (the comment then without the marker).
  returned: success
  type: dict
  sample:
    type: in
    action: ACCEPT
    proto: tcp
    dport: "443,8443:8444"
    dest: +webservers
    enable: 1
    pos: 0
    rule_id: web-https
    comment: web front ends
rules:
  description:
    - In list mode (O(rules)), every rule of the level after the run, first to last, each as RV(rule) is.
  returned: when O(rules) is given
  type: list
  elements: dict
  sample:
    - {type: in, action: ACCEPT, macro: SSH, source: 10.0.0.0/24, enable: 1, pos: 0, rule_id: null}
diff:
  description:
    - The managed fields of the rule before and after (option names; C(pos) when O(pos) is given).
    - In list mode, C(rules) holds every rule of the level, first to last.
  returned: success
  type: dict
  contains:
    before:
      description: The rule's managed fields before the run (empty when it did not exist).
      type: dict
    after:
      description: The rule's managed fields after the run (empty once removed).
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def run_list(module, level):
    params = module.params
    wants = firewall.desired_rules(params['rules'], level.kind)
    module.fw_target = 'rules of the {0}'.format(level.label)
    changed, before, _first, final, _matches = firewall.RuleList(module, level).converge(
        wants, params['state'], purge=params['purge'])
    return {
        'changed': changed,
        'diff': {'before': {'rules': [firewall.full_view(rule) for rule in before]},
                 'after': {'rules': [firewall.full_view(rule) for rule in final]}},
        'rules': [firewall.public_rule(rule) for rule in final],
    }


def run(module):
    params = module.params
    firewall.check_level_options(params, firewall.LEVELS)
    # The rules are checked against the level's kind before any request; a guest's kind is refined once known.
    kind = {'guest': 'vm', 'node': 'node'}.get(params['level'], params['level'])
    if params['rules'] is not None:
        firewall.desired_rules(params['rules'], kind)
    else:
        firewall.DesiredRule.from_options(params, kind)
    level = firewall.resolve_level(module.client, params)
    if params['rules'] is not None:
        return run_list(module, level)
    want = firewall.DesiredRule.from_options(params, level.kind)
    module.fw_target = '{0} in the {1}'.format(want.label(), level.label)
    rule_list = firewall.RuleList(module, level)
    changed, before, first, final, matches = rule_list.converge([want], params['state'])
    old = firewall.find_key(before, first.get(0)) if first.get(0) and first[0][0] == 'old' else None
    new = firewall.find_key(final, matches.get(0)) if params['state'] == 'present' else None
    return {
        'changed': changed,
        'diff': {'before': want.view(old, old.get('pos') if old else None),
                 'after': want.view(new, new.get('pos') if new else None)},
        'rule': firewall.public_rule(new),
    }


def main():
    spec = firewall.level_argument_spec(firewall.LEVELS)
    spec.update(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        rule_id=dict(type='str'),
        pos=dict(type='int'),
        type=dict(type='str', choices=['in', 'out', 'forward', 'group']),
        action=dict(type='str'),
        macro=dict(type='str'),
        source=dict(type='str'),
        dest=dict(type='str'),
        proto=dict(type='str'),
        dport=dict(type='list', elements='str'),
        sport=dict(type='list', elements='str'),
        iface=dict(type='str'),
        icmp_type=dict(type='str'),
        log=dict(type='str', choices=['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']),
        enabled=dict(type='bool'),
        comment=dict(type='str'),
        rules=dict(type='list', elements='dict', options=firewall.RULE_SUBOPTIONS),
        purge=dict(type='bool', default=False),
    )
    single = ['rule_id', 'pos', 'type', 'action', 'macro', 'source', 'dest', 'proto', 'dport', 'sport', 'iface',
              'icmp_type', 'log', 'enabled', 'comment']
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[('rules', name) for name in single])

    def target(m):
        return getattr(m, 'fw_target', None) or 'firewall rule {0}'.format(m.params.get('rule_id') or '').strip()
    module.run(run, target=target)


if __name__ == '__main__':
    main()
