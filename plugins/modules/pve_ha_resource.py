#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ha_resource
short_description: Manage the HA resources (HA-managed VMs and containers) of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Adds a VM or container to Proxmox VE's high availability (Datacenter, HA, Resources; the C(/cluster/ha/resources)
    API), changes its requested state and recovery policy, or removes it from HA (the guest itself stays).
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - Works on Proxmox VE 8 and 9, with HA groups or with rules, as the cluster's state says (read once per run,
    RV(ha_model)). Proxmox VE 8 uses groups, and so does a cluster upgraded to Proxmox VE 9 until its CRM has
    migrated the groups to rules (once every node is online and every node's LRM is active). With groups a
    resource names its HA group with O(group). With rules, O(group) and O(rules) put the resource into rules (the
    rule made of group V(G) is named V(ha-group-G), as Proxmox VE's own migration names it).
  - Concurrent runs against one cluster do not lose each other's updates. Proxmox VE keeps all HA resources in one
    file with one digest; updates send the digest read and, when another writer changed the file in between, read
    again and compare again.
  - Needs C(Sys.Console) on C(/) to change HA resources, and C(Sys.Audit) on C(/) and C(VM.Audit) on the guest to
    read them.
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
  sid:
    description:
      - The HA resource id, V(vm:<vmid>) for a VM or V(ct:<vmid>) for a container (V(vm:100), V(ct:200)).
      - The guest must exist on the cluster and be of that kind; this is checked before any change.
    type: str
    required: true
  state:
    description:
      - The state the HA manager keeps the guest in (V(started), V(stopped), V(disabled), V(ignored)), or V(absent) to
        remove the guest from HA.
      - Left out, an existing resource keeps its state and a new one gets Proxmox VE's default, V(started).
      - V(ignored) leaves the guest to be managed by hand, as if it were not HA managed.
    type: str
    choices: [started, stopped, disabled, ignored, absent]
  group:
    description:
      - The HA group the resource belongs to. An empty string removes it from its group (groups model).
      - With rules (Proxmox VE 9 once its groups are migrated) the resource is added to the node-affinity rule
        V(ha-group-<group>), which must exist (create it with M(proxfleet.proxmox.pve_ha_group)).
    type: str
  rules:
    description:
      - HA rules (Proxmox VE 9) that must list this resource. The resource is added to each; rules not named are left
        as they are (remove a resource from a rule with M(proxfleet.proxmox.pve_ha_rule)).
      - A resource can be in one enabled node-affinity rule only; naming a second one fails before any change.
      - With groups (Proxmox VE 8, or 9 before its groups are migrated) giving rules fails before any change.
    type: list
    elements: str
  max_restart:
    description:
      - How often the HA manager tries to restart the guest on its node after a failed start (Proxmox VE's default
        is 1).
    type: int
  max_relocate:
    description:
      - How often the HA manager tries to move the guest to another node after failed starts (Proxmox VE's default
        is 1).
    type: int
  comment:
    description:
      - Description of the resource. An empty string removes it.
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
    - name: Keep VM 100 running under HA, in group prefer-n1 (Proxmox VE 8) or its rule ha-group-prefer-n1 (Proxmox VE 9)
      proxfleet.proxmox.pve_ha_resource:
        sid: vm:100
        state: started
        group: prefer-n1
        max_restart: 2
        comment: database primary

    - name: Put a container into two rules (Proxmox VE 9)
      proxfleet.proxmox.pve_ha_resource:
        sid: ct:200
        rules: [keep-apart-dns, pin-dns]

    - name: Stop VM 100 through HA
      proxfleet.proxmox.pve_ha_resource:
        sid: vm:100
        state: stopped

    - name: Remove VM 100 from HA (the VM stays)
      proxfleet.proxmox.pve_ha_resource:
        sid: vm:100
        state: absent
'''

RETURN = r'''
resource:
  description:
    - The HA resource as the cluster has it after the run (in check mode, as it would be); null once removed.
    - Keys are the API's; with rules C(rules) lists the rules that name the resource, when O(group) or O(rules)
      was given.
  returned: success
  type: dict
  sample:
    sid: vm:100
    type: vm
    state: started
    group: prefer-n1
    max_restart: 2
    max_relocate: 1
    comment: database primary
    digest: 2c6a1f0b8e6e7f0d3b3f8e7c4bb1c2a4f1a3c5d7
ha_model:
  description:
    - What places HA resources on the cluster, as read from its state during the run. V(groups) on Proxmox VE 8 and on
      a Proxmox VE 9 cluster whose groups its CRM has not migrated yet; V(rules) on Proxmox VE 9 otherwise.
  returned: success
  type: str
  choices: [groups, rules]
  sample: groups
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.ha import (
    RESOURCE_DEFAULTS,
    RESOURCE_SPEC,
    HaCluster,
    HaItem,
    absent_if_empty,
    check_sid,
    group_rule_id,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def _label(params):
    return 'HA resource {0!r}'.format(params['sid'])


def _rules_to_join(ha, sid, params):
    """Rules model: the rules the resource must be in (its group's rule too), checked before any change."""
    wanted = list(params['rules'] or [])
    if params['group']:
        wanted.append(group_rule_id(params['group']))
    if not wanted:
        return []
    rules = ha.rules()
    for rule_id in wanted:
        if rule_id not in rules:
            if params['group'] and rule_id == group_rule_id(params['group']):
                raise ha.refuse('HA group {0!r} is the node-affinity rule {1!r} on Proxmox VE {2}, whose groups are rules, '
                                'and that rule does not exist; create it with proxfleet.proxmox.pve_ha_group'.format(
                                    params['group'], rule_id, ha.version_text))
            raise ha.refuse('HA rule {0!r} does not exist; the cluster has {1}'.format(
                rule_id, ', '.join(sorted(rules)) or 'no rules'))
    affinity = [r for r in wanted if rules[r].get('type') == 'node-affinity' and not rules[r].get('disable')]
    holding = [r for r in ha.rules_of(sid, 'node-affinity') if not rules[r].get('disable')]
    joined = sorted(set(affinity) | set(holding))
    if len(joined) > 1:
        raise ha.refuse('a resource can be in one enabled node-affinity rule only, and this would put it in {0}'.format(
            ', '.join(joined)))
    return sorted(set(wanted))


def run(module):
    ha = HaCluster(module)
    result = _run(module, ha)
    result['ha_model'] = ha.model
    return result


def _run(module, ha):
    params = module.params
    sid = check_sid(params['sid'])
    item = HaItem(module, RESOURCE_SPEC, sid, RESOURCE_DEFAULTS)
    if params['state'] == 'absent':
        return item.ensure('absent', {})

    desired = absent_if_empty(params, ('comment',))
    desired.update(state=params['state'], max_restart=params['max_restart'], max_relocate=params['max_relocate'])
    join = []
    if ha.uses_rules:
        join = _rules_to_join(ha, sid, params)
        if params['group'] == '':
            module.warn('group "" removes nothing on this cluster, whose groups are rules: remove the resource from '
                        'the rule with proxfleet.proxmox.pve_ha_rule')
    else:
        if params['rules']:
            ha.require_rules()
        if params['group']:
            groups = ha.groups()
            if params['group'] not in groups:
                raise ha.refuse('HA group {0!r} does not exist; the cluster has {1}'.format(
                    params['group'], ', '.join(sorted(groups)) or 'no groups'))
        desired['group'] = ABSENT if params['group'] == '' else params['group']
    ha.check_guest(sid)

    before_rules = ha.rules_of(sid) if join else []
    existed = item.read() is not None if join else False
    result = item.ensure('present', desired)
    if join:
        changed = False
        for rule_id in join:
            changed = ha.add_to_rule(rule_id, [sid]) or changed
        after_rules = sorted(set(before_rules) | set(join))
        if existed:
            result['diff']['before']['rules'] = before_rules
        result['diff']['after']['rules'] = after_rules
        result['changed'] = result['changed'] or changed
        if result.get('resource') is not None:
            result['resource']['rules'] = after_rules
    return result


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            sid=dict(type='str', required=True),
            state=dict(type='str', choices=['started', 'stopped', 'disabled', 'ignored', 'absent']),
            group=dict(type='str'),
            rules=dict(type='list', elements='str'),
            max_restart=dict(type='int'),
            max_relocate=dict(type='int'),
            comment=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: _label(m.params))


if __name__ == '__main__':
    main()
