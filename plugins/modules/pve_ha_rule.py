#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ha_rule
short_description: Manage HA rules (node affinity, resource affinity) of a Proxmox VE 9 cluster
version_added: 0.1.0
description:
  - Creates, updates and removes the HA rules of Proxmox VE 9 (Datacenter, HA, Affinity Rules; the
    C(/cluster/ha/rules) API).
  - A V(node-affinity) rule keeps its resources on (or, strict, restricts them to) the given nodes, with priorities;
    a V(resource-affinity) rule keeps its resources together (V(positive)) or apart (V(negative)).
  - Proxmox VE 8 has no HA rules (it has HA groups, see M(proxfleet.proxmox.pve_ha_group)); against a Proxmox VE 8
    cluster the module fails before any change.
  - A cluster upgraded to Proxmox VE 9 keeps its HA groups until its CRM has migrated them to rules (once every node
    is online and every node's LRM is active), and until then Proxmox VE refuses to create or change a rule. The
    module reads which model the cluster uses once per run (RV(ha_model)); before the migration a rule that would
    need a change fails before any write with a message saying why, a rule that already is as asked (Proxmox VE
    shows each group's rule, V(ha-group-<group>), before migrating it) reports no change, and removing such a
    group's rule is refused (remove the group with M(proxfleet.proxmox.pve_ha_group) instead).
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - Updates send the digest read and, when another writer changed the rules in between, read again and compare
    again, so concurrent runs lose no update.
  - Needs C(Sys.Console) on C(/) to change rules, and C(Sys.Audit) on C(/) to read them.
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
      - Id of the rule (letters, digits, V(-) and V(_), starting with a letter).
    type: str
    required: true
    aliases: [rule]
  state:
    description:
      - V(present) creates or updates the rule; V(absent) removes it (its resources stay HA managed).
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - The kind of rule. Needed to create it; it cannot change afterwards.
    type: str
    choices: [node-affinity, resource-affinity]
  resources:
    description:
      - The HA resources of the rule (V(vm:100), V(ct:200)), exactly; order and duplicates do not matter. Needed to
        create it.
      - They must be HA resources already (see M(proxfleet.proxmox.pve_ha_resource)); this is checked before any
        change.
    type: list
    elements: str
  nodes:
    description:
      - Node-affinity rules only, needed to create one. The nodes, each V(node) or V(node:priority); a higher priority
        is preferred. Every node must be a node of the cluster.
    type: list
    elements: str
  strict:
    description:
      - Node-affinity rules only. Resources may run only on the rule's nodes (and stop when none is available).
    type: bool
  affinity:
    description:
      - V(positive) keeps the resources together (resource affinity) or on the nodes (node affinity); V(negative)
        keeps them apart, or off the nodes. Needed to create a resource-affinity rule.
    type: str
    choices: [positive, negative]
  disable:
    description:
      - Whether the rule is disabled (kept, but not applied).
    type: bool
  comment:
    description:
      - Description of the rule. An empty string removes it.
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
    - name: Keep the two DNS servers on different nodes
      proxfleet.proxmox.pve_ha_rule:
        name: keep-apart-dns
        type: resource-affinity
        affinity: negative
        resources: [ct:200, ct:201]

    - name: Run the database on pve1, else pve2, never elsewhere
      proxfleet.proxmox.pve_ha_rule:
        name: pin-db
        type: node-affinity
        resources: [vm:100]
        nodes: ["pve1:2", "pve2:1"]
        strict: true
        comment: database placement

    - name: Switch a rule off without removing it
      proxfleet.proxmox.pve_ha_rule:
        name: pin-db
        disable: true

    - name: Remove the rule
      proxfleet.proxmox.pve_ha_rule:
        name: pin-db
        state: absent
'''

RETURN = r'''
rule:
  description:
    - The rule as the cluster has it after the run (in check mode, as it would be); null once removed.
    - Keys are the API's; C(errors) holds Proxmox VE's reasons when the rule is not applied (for example a resource
      in two node-affinity rules).
  returned: success
  type: dict
  sample:
    rule: pin-db
    type: node-affinity
    resources: vm:100
    nodes: pve1:2,pve2:1
    strict: 1
    affinity: positive
    order: 1
    comment: database placement
ha_model:
  description:
    - What places HA resources on the cluster, as read from its state during the run. V(rules) on Proxmox VE 9 once
      its groups are migrated (or when it never had any); V(groups) before that.
  returned: success
  type: str
  choices: [groups, rules]
  sample: rules
  version_added: 0.1.0
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.ha import (
    GROUP_RULE_PREFIX,
    RULE_DEFAULTS,
    RULE_SPEC,
    HaCluster,
    HaItem,
    check_sid,
    parse_nodes,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

NODE_ONLY = ('nodes', 'strict')


def _label(params):
    return 'HA rule {0!r}'.format(params['name'])


def run(module):
    ha = HaCluster(module)
    result = _run(module, ha)
    result['ha_model'] = ha.model
    return result


def _pending_absent(ha, item, name):
    """Before the groups' migration: a group's rule is made from the group and cannot be removed as a rule."""
    current = item.read()
    if current is None:
        return item.result(False, {}, {}, None)
    group = name[len(GROUP_RULE_PREFIX):] if name.startswith(GROUP_RULE_PREFIX) else None
    if group is not None and group in ha.groups():
        raise ha.refuse('HA rule {0!r} is how Proxmox VE {1} shows HA group {2!r}, which its CRM has not migrated to '
                        'a rule yet; remove the group with proxfleet.proxmox.pve_ha_group (state: absent) '
                        'instead'.format(name, ha.version_text, group))
    return item.ensure('absent', {})


def _run(module, ha):
    params = module.params
    if not ha.pending_migration:
        ha.require_rules()
    item = HaItem(module, RULE_SPEC, params['name'], RULE_DEFAULTS)
    if params['state'] == 'absent':
        if ha.pending_migration:
            return _pending_absent(ha, item, params['name'])
        return item.ensure('absent', {})

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
        if not sids:
            raise ha.refuse('resources must name at least one HA resource')
        ha.check_resources(sids)

    current = item.read()
    kind = params['type'] or (current or {}).get('type')
    if current is None:
        missing = [name for name in ('type', 'resources') if params[name] in (None, [])]
        if kind == 'node-affinity' and nodes is None:
            missing.append('nodes')
        if kind == 'resource-affinity' and params['affinity'] is None:
            missing.append('affinity')
        if missing:
            raise ha.refuse('creating the rule needs {0}'.format(', '.join(missing)))
    if kind == 'resource-affinity':
        given = [name for name in NODE_ONLY if params[name] is not None]
        if given:
            raise ha.refuse('{0} apply to node-affinity rules only, and this is a resource-affinity rule'.format(
                ', '.join(given)))

    desired = {'type': params['type'], 'resources': sids, 'nodes': nodes, 'strict': params['strict'],
               # PVE stores only disable=1: enabling a rule removes the key.
               'affinity': params['affinity'], 'disable': ABSENT if params['disable'] is False else params['disable'],
               'comment': ABSENT if params['comment'] == '' else params['comment']}
    if ha.pending_migration:
        # Proxmox VE refuses every rule write until the groups are migrated: only a rule already as asked passes.
        if current is None:
            ha.require_rules('create HA rule {0!r}'.format(params['name']))
        changes = compare(RULE_SPEC.fields, desired, current)
        differing = sorted(set(changes.params) | set(changes.delete) | set(i[0] for i in changes.immutable))
        if differing:
            ha.require_rules('change HA rule {0!r} ({1})'.format(params['name'], ', '.join(differing)))
        return item.result(False, changes.before, changes.after, current)
    return item.ensure('present', desired)


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            name=dict(type='str', required=True, aliases=['rule']),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            type=dict(type='str', choices=['node-affinity', 'resource-affinity']),
            resources=dict(type='list', elements='str'),
            nodes=dict(type='list', elements='str'),
            strict=dict(type='bool'),
            affinity=dict(type='str', choices=['positive', 'negative']),
            disable=dict(type='bool'),
            comment=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: _label(m.params))


if __name__ == '__main__':
    main()
