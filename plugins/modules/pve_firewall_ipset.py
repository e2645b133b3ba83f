#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_firewall_ipset
short_description: Manage a Proxmox VE firewall IP set and its entries
version_added: 0.1.0
description:
  - Creates, updates and removes an IP set of the cluster firewall or of a guest's firewall, and its entries.
  - Entries are found by their address, in the form Proxmox VE stores it (V(10.0.0.5/24) is V(10.0.0.0/24),
    V(10.0.0.1/32) is V(10.0.0.1)). Entries not listed are kept unless O(purge) is set.
  - Every entry write sends the digest of the set it was planned on, so a concurrent change is refused by Proxmox VE
    instead of being overwritten.
  - "Privileges: C(Sys.Modify) on C(/) for the cluster's IP sets, C(VM.Config.Network) on C(/vms/<vmid>) for a
    guest's."
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
      - Whose IP set it is, the cluster's or a guest's (V(guest) is a VM or a container, whichever O(vmid) is).
    type: str
    choices: [cluster, guest, vm, ct]
    default: cluster
  node:
    description:
      - The guest's node; found from O(vmid) when left out.
    type: str
  vmid:
    description:
      - The guest, for O(level=guest), O(level=vm) and O(level=ct).
    type: int
  name:
    description:
      - Name of the IP set (a letter, then letters, digits, V(-) and V(_)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the set; V(absent) removes it with its entries.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description:
      - Description of the set. It cannot be removed through the API, which takes an empty parameter for a missing
        one, so an empty string is refused.
    type: str
  entries:
    description:
      - Entries of the set. Left out, the entries are not managed.
    type: list
    elements: dict
    suboptions:
      cidr:
        description: An address, a network, or an alias name.
        type: str
        required: true
      comment:
        description: The entry's comment; left out, an existing entry keeps its comment.
        type: str
      nomatch:
        description: Exclude this address from the set; left out, an existing entry keeps its setting.
        type: bool
  purge:
    description:
      - Remove the entries that O(entries) does not list.
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
    - name: The web servers, for rules with source or dest +webservers
      proxfleet.proxmox.pve_firewall_ipset:
        name: webservers
        comment: web front ends
        entries:
          - cidr: 10.1.0.10
          - cidr: 10.1.0.11
            comment: web2
          - cidr: 10.1.0.0/24
          - cidr: 10.1.0.66
            nomatch: true
        purge: true

    - name: A guest's own IP set
      proxfleet.proxmox.pve_firewall_ipset:
        level: guest
        vmid: 101
        name: ipfilter-net0
        entries:
          - cidr: 192.0.2.10
'''

RETURN = r'''
ipset:
  description:
    - The set after the run (in check mode, as it would be); null once removed.
  returned: success
  type: dict
  contains:
    name:
      description: The set's name.
      type: str
    comment:
      description: Its comment, if any.
      type: str
    entries:
      description: Its entries (C(cidr), C(comment), C(nomatch)), sorted by address.
      type: list
      elements: dict
  sample:
    name: webservers
    comment: web front ends
    entries:
      - {cidr: 10.1.0.0/24}
      - {cidr: 10.1.0.10}
diff:
  description: The set's managed keys (C(comment), C(entries)) before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the set did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall, membership
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, Members, ResourceSpec


def _entry(entry):
    out = {'cidr': entry['cidr']}
    if entry.get('comment'):
        out['comment'] = entry['comment']
    if int(entry.get('nomatch') or 0):
        out['nomatch'] = True
    return out


def _entries(entries):
    return sorted((_entry(e) for e in entries), key=lambda e: e['cidr'])


def _state(entry):
    """An entry in one form: cidr, comment (None for none), nomatch (a bool)."""
    return {'cidr': entry['cidr'], 'comment': entry.get('comment') or None, 'nomatch': bool(int(entry.get('nomatch') or 0))}


def _merge(old, want):
    """An existing entry as the user wants it: what they left out stays as it is."""
    return {'cidr': old['cidr'],
            'comment': old['comment'] if want.get('comment') is None else (want['comment'] or None),
            'nomatch': old['nomatch'] if want.get('nomatch') is None else bool(want['nomatch'])}


def _comment(value):
    # Proxmox VE stores no empty comment: '' and none are the same.
    return str(value) or None


def spec_for(level):
    base = '/'.join('{s' + str(i) + '}' for i in range(len(level.segments)))
    return ResourceSpec(
        result_key='ipset',
        label='IP set',
        collection='/' + base + '/ipset',
        id_field='name',
        # The item GET answers with the entries; the set's comment and digest are in the list.
        read='list',
        # Proxmox VE updates a set as a rename to its own name, on the collection.
        update='collection',
        update_identity=('rename',),
        fields=[Field('comment', normalize=_comment)],
    )


def path_vars(level):
    return dict(('s' + str(i), str(segment)) for i, segment in enumerate(level.segments))


class IpsetResource(ConfigResource):
    """An IP set: its result is its name, comment and entries."""

    def shown(self, state):
        if state is None:
            return {}
        out = {'name': state['name'], 'entries': state.get('entries') or []}
        if state.get('comment'):
            out['comment'] = state['comment']
        return out

    def _managed(self, state):
        return {'comment': state.get('comment') or None}


class Entries(Members):
    """The entries of a set, planned by membership (additive unless purge), one write each with a fresh digest."""

    name = 'entries'

    def __init__(self, params, level):
        self.params = params
        self.level = level

    def read(self, resource):
        return resource.client.get(self.level.path(resource.client, 'ipset', self.params['name'])) or []

    def diff_view(self, items):
        return _entries(items)

    result_view = diff_view

    def converge(self, resource, current, creating):
        ops, final = plan_entries(current, self.params['entries'], self.params['purge'])
        if resource.module.check_mode:
            return bool(ops), final
        client = resource.client
        name = self.params['name']
        set_path = self.level.path(client, 'ipset', name)
        for op in ops:
            now = client.get(set_path) or []
            digest = now[0].get('digest') if now else None
            if op[0] == 'add':
                data = {'cidr': op[1]}
                if op[2]:
                    data['comment'] = op[2]
                if op[3]:
                    data['nomatch'] = 1
                client.post(set_path, **data)
            elif op[0] == 'set':
                data = {'digest': digest, 'nomatch': 1 if op[3] else 0}
                if op[2]:
                    data['comment'] = op[2]
                client.put(self.level.path(client, 'ipset', name, op[1]), **data)
            else:
                client.delete(self.level.path(client, 'ipset', name, op[1]), digest=digest)
        return bool(ops), final


def plan_entries(current, wanted, purge):
    """(ops, final entries): ('add', cidr, comment, nomatch), ('set', cidr, comment, nomatch), ('remove', cidr)."""
    wants = [dict(want, cidr=firewall.canonical_cidr(want['cidr'])) for want in wanted]
    plan = membership.plan([_state(e) for e in current], wants, exact=purge, key=lambda e: e['cidr'], merge=_merge,
                           label='entry')
    ops = []
    for _old, new in plan.change:
        ops.append(('set', new['cidr'], new['comment'], new['nomatch']))
    for want in plan.add:
        ops.append(('add', want['cidr'], want.get('comment') or None, bool(want.get('nomatch'))))
    for old in sorted(plan.remove, key=lambda e: e['cidr']):
        ops.append(('remove', old['cidr']))
    added = set(want['cidr'] for want in plan.add)
    final = []
    for entry in plan.final:
        if entry['cidr'] in added:
            entry = {'cidr': entry['cidr'], 'comment': entry.get('comment') or None, 'nomatch': bool(entry.get('nomatch'))}
        final.append(dict(entry, nomatch=1 if entry['nomatch'] else None))
    return ops, final


def run(module):
    params = module.params
    firewall.check_level_options(dict(params, level=params['level']), ('cluster', 'guest', 'vm', 'ct'))
    if not re.match(r'^[A-Za-z][A-Za-z0-9_-]+$', params['name']) or len(params['name']) > 64:
        raise ProxmoxConfigError('IP set name {0!r} is not valid: a letter, then letters, digits, - or _'.format(params['name']))
    seen = set()
    for want in params['entries'] or []:
        cidr = firewall.canonical_cidr(want['cidr'])
        if cidr in seen:
            raise ProxmoxConfigError('entry {0!r} is listed twice'.format(want['cidr']))
        if re.search(r'/0+$', cidr):
            raise ProxmoxConfigError('entry {0!r}: a zero prefix is not allowed in IP sets'.format(want['cidr']))
        seen.add(cidr)
    if params['comment'] == '':
        raise ProxmoxConfigError('comment: the comment of an IP set {0!r} cannot be removed through the API (Proxmox VE takes an '
                                 'empty parameter for a missing one): give another comment'.format(params['name']))
    client = module.client
    level = firewall.resolve_level(client, params)
    module.fw_target = 'IP set {0!r} of the {1}'.format(params['name'], level.label)
    resource = IpsetResource(module, spec_for(level), params['name'], path_vars(level))
    if params['state'] == 'absent':
        return resource.ensure_with_members('absent', {}, Entries(params, level), True, delete_params={'force': 1})
    return resource.ensure_with_members('present', {'comment': params['comment']}, Entries(params, level),
                                        params['entries'] is not None)


def main():
    spec = firewall.level_argument_spec(('cluster', 'guest', 'vm', 'ct'))
    spec.pop('group')
    spec.pop('vnet')
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        comment=dict(type='str'),
        entries=dict(type='list', elements='dict', options=dict(
            cidr=dict(type='str', required=True),
            comment=dict(type='str'),
            nomatch=dict(type='bool'),
        )),
        purge=dict(type='bool', default=False),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: getattr(m, 'fw_target', None) or 'IP set {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
