#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ha_group
short_description: Manage HA groups of a Proxmox VE cluster (node-affinity rules on Proxmox VE 9)
version_added: 0.1.0
description:
  - Creates, updates and removes an HA group, the nodes (with priorities) HA resources prefer or are restricted to.
  - Whether the cluster uses HA groups or rules is read from its state, once per run, not from its version. Proxmox
    VE 8 uses groups. A cluster upgraded to Proxmox VE 9 keeps using its groups until its CRM has migrated them to
    rules (it does so once every node is online and every node's LRM is active); a Proxmox VE 9 cluster whose
    groups have been migrated, or that never had any, uses rules. RV(ha_model) says which.
  - With groups it manages the group in C(/cluster/ha/groups). With rules it manages the equivalent node-affinity
    rule in C(/cluster/ha/rules), named V(ha-group-<name>) as Proxmox VE's own migration names it; RV(managed_as)
    says which it did. O(restricted) becomes the rule's C(strict), and O(nofailback) the C(failback) flag of the
    rule's resources, as in Proxmox VE's migration.
  - A rule lists its resources and cannot exist without one, so creating a group as a rule needs O(resources).
    With groups the resources named in O(resources) get this group.
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - Updates send the digest read and, when another writer changed the file in between, read again and compare
    again, so concurrent runs lose no update.
  - Needs C(Sys.Console) on C(/) to change groups, rules and resources, and C(Sys.Audit) on C(/) to read them.
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
      - Name of the group (letters, digits, V(-) and V(_), starting with a letter).
    type: str
    required: true
    aliases: [group]
  state:
    description:
      - V(present) creates or updates the group; V(absent) removes it.
      - With groups, a group still named by a resource cannot be removed (Proxmox VE refuses it). With rules,
        removing it removes the rule, and its resources stay HA managed.
    type: str
    choices: [present, absent]
    default: present
  nodes:
    description:
      - The group's nodes, each V(node) or V(node:priority); a higher priority is preferred. Needed to create it.
      - Every node must be a node of the cluster; this is checked before any change.
    type: list
    elements: str
  restricted:
    description:
      - Resources of the group may run only on its nodes (a strict rule once groups are rules).
    type: bool
  nofailback:
    description:
      - Do not move resources back to a higher-priority node when it comes back.
      - With rules this sets C(failback) on each resource of the rule, as Proxmox VE's migration does.
    type: bool
  comment:
    description:
      - Description of the group. An empty string removes it.
    type: str
  resources:
    description:
      - HA resources (V(vm:100), V(ct:200)) that belong to the group. They must be HA resources already (see
        M(proxfleet.proxmox.pve_ha_resource)).
      - Resources are added, never removed from the group.
      - With rules they are the rule's resources, and at least one is needed to create it. With groups each
        resource's C(group) is set to this group.
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
    - name: Prefer node pve1, then pve2, for the database VMs
      proxfleet.proxmox.pve_ha_group:
        name: prefer-pve1
        nodes: ["pve1:2", "pve2:1"]
        restricted: false
        nofailback: true
        comment: database nodes
        resources: [vm:100, vm:101]

    - name: Remove the group
      proxfleet.proxmox.pve_ha_group:
        name: prefer-pve1
        state: absent
'''

RETURN = r'''
group:
  description:
    - The group after the run (in check mode, as it would be); null once removed.
    - With groups the API's group. With rules the same keys made from the rule (C(nodes), C(restricted),
      C(comment), C(resources), and C(nofailback) when all of the rule's resources have failback off).
  returned: success
  type: dict
  sample:
    group: prefer-pve1
    nodes: pve1:2,pve2:1
    restricted: 0
    nofailback: 1
    comment: database nodes
managed_as:
  description: What the module managed, V(group) (groups model) or V(rule) (rules model).
  returned: success
  type: str
  sample: rule
ha_model:
  description:
    - What places HA resources on the cluster, as read from its state during the run. V(groups) on Proxmox VE 8 and on
      a Proxmox VE 9 cluster whose groups its CRM has not migrated yet; V(rules) on Proxmox VE 9 otherwise.
  returned: success
  type: str
  choices: [groups, rules]
  sample: rules
  version_added: 0.1.0
rule:
  description: With rules, the node-affinity rule the group is, as the API has it; null with groups and once removed.
  returned: success
  type: dict
  sample:
    rule: ha-group-prefer-pve1
    type: node-affinity
    nodes: pve1:2,pve2:1
    resources: vm:100,vm:101
    strict: 0
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
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.ha import (
    GROUP_DEFAULTS,
    GROUP_SPEC,
    RESOURCE_DEFAULTS,
    RESOURCE_SPEC,
    RULE_DEFAULTS,
    RULE_SPEC,
    HaCluster,
    HaItem,
    check_sid,
    format_nodes,
    group_rule_id,
    parse_nodes,
    sid_set,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def _label(params):
    return 'HA group {0!r}'.format(params['name'])


def _checked_input(ha, params):
    """Nodes and resources, checked against the cluster before any change."""
    nodes = None
    if params['nodes'] is not None:
        try:
            nodes = parse_nodes(params['nodes'])
        except ValueError as error:
            raise ha.refuse('nodes: {0}'.format(error)) from None
        if not nodes:
            raise ha.refuse('nodes must name at least one node')
        ha.check_nodes(nodes)
    sids = None
    if params['resources'] is not None:
        sids = sorted(set(check_sid(sid) for sid in params['resources']))
        ha.check_resources(sids)
    return nodes, sids


def _set_resources(module, sids, desired):
    """Give each resource the desired options; returns (changed, before, after) per sid."""
    changed, before, after = False, {}, {}
    for sid in sids:
        result = HaItem(module, RESOURCE_SPEC, sid, RESOURCE_DEFAULTS).ensure('present', desired)
        changed = changed or result['changed']
        before[sid] = result['diff']['before']
        after[sid] = result['diff']['after']
    return changed, before, after


def run_groups(module, ha, params):
    """Groups (Proxmox VE 8, and 9 before the migration): /cluster/ha/groups, and the resources' group."""
    nodes, sids = _checked_input(ha, params)
    item = HaItem(module, GROUP_SPEC, params['name'], GROUP_DEFAULTS)
    if params['state'] == 'absent':
        result = item.ensure('absent', {})
        result.update(managed_as='group', rule=None)
        return result
    existed = item.read() is not None
    if not existed and nodes is None:
        raise ha.refuse('nodes are needed to create the group')
    desired = {'nodes': nodes, 'restricted': params['restricted'], 'nofailback': params['nofailback'],
               'comment': ABSENT if params['comment'] == '' else params['comment']}
    before_members = sorted(sid for sid, conf in ha.resources().items() if conf.get('group') == params['name'])
    result = item.ensure('present', desired)
    if sids:
        changed, _before, _after = _set_resources(module, sids, {'group': params['name']})
        after_members = sorted(set(before_members) | set(sids))
        if existed:
            result['diff']['before']['resources'] = before_members
        result['diff']['after']['resources'] = after_members
        result['changed'] = result['changed'] or changed
        if result.get('group') is not None:
            result['group']['resources'] = ','.join(after_members)
    result.update(managed_as='group', rule=None)
    return result


def _group_view(name, rule, nofailback):
    if rule is None:
        return None
    view = {'group': name, 'type': 'group'}
    for key in ('nodes', 'comment', 'resources', 'digest'):
        if rule.get(key) is not None:
            view[key] = rule[key]
    if rule.get('nodes') is not None:
        view['nodes'] = format_nodes(rule['nodes'])
    view['restricted'] = int(propstring.pve_bool(rule.get('strict', 0)))
    if nofailback is not None:
        view['nofailback'] = int(nofailback)
    return view


def _rename(diff_side):
    out = {}
    for key, value in diff_side.items():
        if key == 'type':
            continue
        out['restricted' if key == 'strict' else key] = value
    return out


def run_rules(module, ha, params):
    """Rules (Proxmox VE 9 once groups are migrated): the node-affinity rule ha-group-<name>, and the failback of its
    resources."""
    nodes, sids = _checked_input(ha, params)
    rule_id = group_rule_id(params['name'])
    item = HaItem(module, RULE_SPEC, rule_id, RULE_DEFAULTS)
    if params['state'] == 'absent':
        result = item.ensure('absent', {})
        result['diff'] = {'before': _rename(result['diff']['before']), 'after': {}}
        result.update(group=None, managed_as='rule')
        return result
    current = item.read()
    if current is None and (nodes is None or not sids):
        raise ha.refuse('on Proxmox VE {0} HA groups are node-affinity rules, and the rule {1!r} does not exist yet; '
                        'creating it needs nodes and at least one HA resource in resources'.format(ha.version_text, rule_id))
    if current is not None and current.get('type') != 'node-affinity':
        raise ha.refuse('HA rule {0!r} exists but is a {1} rule, not the node-affinity rule of a group'.format(
            rule_id, current.get('type')))
    members = sid_set(current.get('resources')) if current is not None else []
    desired = {'type': 'node-affinity', 'nodes': nodes, 'strict': params['restricted'],
               'comment': ABSENT if params['comment'] == '' else params['comment'],
               'resources': sorted(set(members) | set(sids)) if sids else None}
    result = item.ensure('present', desired)
    rule = result.pop('rule')
    result['diff'] = {'before': _rename(result['diff']['before']), 'after': _rename(result['diff']['after'])}
    final_members = sid_set(rule.get('resources')) if rule else []
    nofailback = None
    if params['nofailback'] is not None:
        resources = ha.resources()
        had = [sid for sid in final_members if sid in resources]
        before = bool(had) and all(not propstring.to_bool(resources[sid].get('failback', 1)) for sid in had)
        changed, _before, _after = _set_resources(module, final_members, {'failback': not params['nofailback']})
        if current is not None:
            result['diff']['before']['nofailback'] = before
        result['diff']['after']['nofailback'] = params['nofailback']
        result['changed'] = result['changed'] or changed
        nofailback = params['nofailback']
    result['group'] = _group_view(params['name'], rule, nofailback)
    result.update(managed_as='rule', rule=rule)
    return result


def run(module):
    params = module.params
    ha = HaCluster(module)
    result = run_rules(module, ha, params) if ha.uses_rules else run_groups(module, ha, params)
    result['ha_model'] = ha.model
    return result


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            name=dict(type='str', required=True, aliases=['group']),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            nodes=dict(type='list', elements='str'),
            restricted=dict(type='bool'),
            nofailback=dict(type='bool'),
            comment=dict(type='str'),
            resources=dict(type='list', elements='str'),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: _label(m.params))


if __name__ == '__main__':
    main()
