#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_firewall_group
short_description: Manage a Proxmox VE firewall security group and its rules, in order
version_added: 0.1.0
description:
  - Creates, updates and removes a security group of the cluster firewall (Datacenter, Firewall, Security Group)
    and the rules in it.
  - The rules listed in O(rules) are found as M(proxfleet.proxmox.pve_firewall_rule) finds a rule, never by
    position, by their C(rule_id) or else by all their match fields. They are kept first in the group, in the order
    given. Rules someone else added stay (after them) unless O(purge) is set.
  - Every rule write sends the digest of the list it was planned on, so a concurrent change is refused by Proxmox VE
    instead of being overwritten.
  - Needs C(Sys.Modify) on C(/).
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
  name:
    description:
      - Name of the security group (a letter, then letters, digits, V(-) and V(_); 2 to 18 characters).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the group; V(absent) removes its rules and then the group. Proxmox VE does not
        check whether rules elsewhere still apply the group, so remove those first.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description:
      - Description of the group. It cannot be removed through the API, which takes an empty parameter for a missing
        one, so an empty string is refused.
    type: str
  rules:
    description:
      - The group's rules, first to last. Options as in M(proxfleet.proxmox.pve_firewall_rule), without the level
        and position ones, and without C(iface); a group cannot hold group rules.
      - Left out, the rules are not managed. An empty list with O(purge=true) empties the group.
    type: list
    elements: dict
    suboptions:
      rule_id:
        description: The rule's identity, kept in its comment as C([id=<rule_id>]).
        type: str
      type:
        description: Direction. Required without O(rules[].rule_id), and to create a rule.
        type: str
        choices: [in, out, forward]
      action:
        description: V(ACCEPT), V(DROP) or V(REJECT) (not on V(forward)). Required like O(rules[].type).
        type: str
      macro:
        description: A Proxmox VE macro (V(SSH), V(HTTPS) ...).
        type: str
      source:
        description: Source address, network, range, list, alias or IP set (V(+name)).
        type: str
      dest:
        description: Destination address, network, range, list, alias or IP set (V(+name)).
        type: str
      proto:
        description: IP protocol; needed with ports.
        type: str
      dport:
        description: Destination ports (numbers, ranges V(a:b) or V(a-b), service names).
        type: list
        elements: str
      sport:
        description: Source ports.
        type: list
        elements: str
      icmp_type:
        description: ICMP type, with O(rules[].proto=icmp) or V(icmpv6).
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
      - Remove the group's rules that O(rules) does not list.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A security group for web servers
      proxfleet.proxmox.pve_firewall_group:
        name: webserver
        comment: web front ends
        rules:
          - rule_id: https
            type: in
            action: ACCEPT
            proto: tcp
            dport: [443]
          - type: in
            action: ACCEPT
            macro: SSH
            source: 10.0.0.0/24
        purge: true

    - name: Remove it
      proxfleet.proxmox.pve_firewall_group:
        name: webserver
        state: absent
'''

RETURN = r'''
group:
  description:
    - The group after the run (in check mode, as it would be); null once removed.
  returned: success
  type: dict
  contains:
    name:
      description: The group's name.
      type: str
    comment:
      description: Its comment, if any.
      type: str
    rules:
      description: Its rules, first to last, as M(proxfleet.proxmox.pve_firewall_rule) returns one.
      type: list
      elements: dict
  sample:
    name: webserver
    comment: web front ends
    rules:
      - {type: in, action: ACCEPT, proto: tcp, dport: "443", enable: 1, pos: 0, rule_id: https}
diff:
  description: The group's managed keys (C(comment), C(rules)) before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the group did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def _group_view(entry, rules, params):
    """The managed keys of a group, as diffs show them."""
    if entry is None:
        return {}
    out = {}
    if params.get('comment') is not None:
        out['comment'] = entry.get('comment') or None
    if params.get('rules') is not None:
        out['rules'] = [firewall.full_view(rule) for rule in rules]
    return out


def _result(entry, rules):
    if entry is None:
        return None
    out = {'name': entry['group'], 'rules': [firewall.public_rule(rule) for rule in rules]}
    if entry.get('comment'):
        out['comment'] = entry['comment']
    return out


def run(module):
    params = module.params
    name = params['name']
    firewall.check_level_options(dict(level='group', group=name), ('group',))
    wants = firewall.desired_rules(params['rules'], 'group') if params['rules'] is not None else None
    if params['comment'] == '':
        raise ProxmoxConfigError('comment: the comment of a security group {0!r} cannot be removed through the API (Proxmox VE takes an '
                                 'empty parameter for a missing one): give another comment'.format(params['name']))
    client = module.client
    level = firewall.Level('group', ('cluster', 'firewall', 'groups', name), 'security group {0!r}'.format(name), group=name)
    module.fw_target = level.label
    groups_path = client.path('cluster', 'firewall', 'groups')
    groups = client.get(groups_path) or []
    entry = next((g for g in groups if g.get('group') == name), None)
    rule_list = firewall.RuleList(module, level)
    check = module.check_mode

    if params['state'] == 'absent':
        if entry is None:
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'group': None}
        rules = rule_list.read()
        before = _group_view(entry, rules, dict(params, comment=entry.get('comment') or '', rules=[]))
        if not check:
            rule_list.converge([], purge=True, rules=rules)
            client.delete(client.path('cluster', 'firewall', 'groups', name))
        return {'changed': True, 'diff': {'before': before, 'after': {}}, 'group': None}

    changed = False
    comment = params['comment']
    if entry is None:
        changed = True
        new_entry = {'group': name}
        if comment:
            new_entry['comment'] = comment
        if not check:
            create = {'group': name}
            if comment:
                create['comment'] = comment
            client.post(groups_path, **create)
        rules_before = []
        before = {}
    else:
        new_entry = dict(entry)
        rules_before = rule_list.read()
        before = _group_view(entry, rules_before, params)
        if comment is not None and (comment or None) != (entry.get('comment') or None):
            changed = True
            new_entry['comment'] = comment
            if not check:
                client.post(groups_path, group=name, rename=name, comment=comment, digest=entry.get('digest'))
    final_rules = rules_before
    if wants is not None and (wants or params['purge']):
        if entry is None and check:
            rules_changed, _b, _f, final_rules, _m = firewall.RuleList(module, level).converge(
                wants, purge=params['purge'], rules=[])
        else:
            rules_changed, _b, _f, final_rules, _m = rule_list.converge(
                wants, purge=params['purge'], rules=rules_before if entry is not None else None)
        changed = changed or rules_changed
    elif entry is None and not check:
        final_rules = []
    if changed and not check:
        entry_now = next((g for g in client.get(groups_path) or [] if g.get('group') == name), new_entry)
        final_rules = rule_list.read()
    else:
        entry_now = new_entry
    if not new_entry.get('comment'):
        new_entry.pop('comment', None)
    after = _group_view(entry_now, final_rules, params)
    return {'changed': changed, 'diff': {'before': before, 'after': after}, 'group': _result(entry_now, final_rules)}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            comment=dict(type='str'),
            rules=dict(type='list', elements='dict', options=firewall.GROUP_RULE_SUBOPTIONS),
            purge=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: getattr(m, 'fw_target', None) or 'security group {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
