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
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, Members, ResourceSpec

SPEC = ResourceSpec(
    result_key='group',
    label='security group',
    collection='/cluster/firewall/groups',
    id_field='group',
    # The item GET answers with the group's rules; its comment and digest are in the list.
    read='list',
    # Proxmox VE updates a group as a rename to its own name, on the collection.
    update='collection',
    update_identity=('rename',),
    fields=[Field('comment', normalize=lambda value: str(value) or None)],
)


class GroupResource(ConfigResource):
    """A security group: its result is its name, comment and rules."""

    def shown(self, state):
        if state is None:
            return {}
        out = {'name': state['group'], 'rules': state.get('rules') or []}
        if state.get('comment'):
            out['comment'] = state['comment']
        return out

    def _managed(self, state):
        return {'comment': state.get('comment') or None}


class Rules(Members):
    """The group's rules, found by rule_id or match fields (firewall.RuleList), emptied before the group goes."""

    name = 'rules'
    clear_before_delete = True

    def __init__(self, module, level, wants, purge):
        self.rule_list = firewall.RuleList(module, level)
        self.wants = wants
        self.purge = purge

    def read(self, resource):
        return self.rule_list.read()

    def converge(self, resource, current, creating):
        if not self.wants and not self.purge:
            return False, current
        # A group being created in check mode has no rules to read yet; for real, they are read after it is made.
        rules = current if not creating or resource.module.check_mode else None
        changed, _before, _matches, final, _final_matches = self.rule_list.converge(self.wants, purge=self.purge, rules=rules)
        return changed, final

    def clear(self, resource, current):
        self.rule_list.converge([], purge=True, rules=current)

    def diff_view(self, items):
        return [firewall.full_view(rule) for rule in items]

    def result_view(self, items):
        return [firewall.public_rule(rule) for rule in items]


def run(module):
    params = module.params
    name = params['name']
    firewall.check_level_options(dict(level='group', group=name), ('group',))
    wants = firewall.desired_rules(params['rules'], 'group') if params['rules'] is not None else None
    if params['comment'] == '':
        raise ProxmoxConfigError('comment: the comment of a security group {0!r} cannot be removed through the API (Proxmox VE takes an '
                                 'empty parameter for a missing one): give another comment'.format(params['name']))
    level = firewall.Level('group', ('cluster', 'firewall', 'groups', name), 'security group {0!r}'.format(name), group=name)
    module.fw_target = level.label
    resource = GroupResource(module, SPEC, name)
    rules = Rules(module, level, wants, params['purge'])
    if params['state'] == 'absent':
        return resource.ensure_with_members('absent', {}, rules, True)
    return resource.ensure_with_members('present', {'comment': params['comment']}, rules, wants is not None)


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
