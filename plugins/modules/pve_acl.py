#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_acl
short_description: Manage Proxmox VE ACL entries (roles granted to users, groups or API tokens on a path)
version_added: 0.1.0
description:
  - Grants or revokes roles on one ACL path. Every role listed is granted to (or, with O(state=absent), taken from)
    every user, group and API token listed, each pair being one ACL entry.
  - Entries of the path that the task does not name are left alone, unless O(purge=true) asks to remove them.
    Entries of other paths are never touched.
  - Roles are checked before any write; the entries are set in one request, which Proxmox VE applies whole or not
    at all (an unknown user, group or token writes nothing).
  - "Privileges: C(Sys.Audit) on C(/access) to read every entry (without it Proxmox VE lists only the entries of
    paths where the user may change permissions); C(Permissions.Modify) on the path to write (or, handing out only
    privileges the user holds there, C(VM.Allocate) on a C(/vms/<vmid>), C(Datastore.Allocate) on a
    C(/storage/<id>), C(Pool.Allocate) on a C(/pool/<pool>))."
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
  path:
    description:
      - The ACL path (V(/), V(/vms/100), V(/storage/local), V(/pool/web), V(/sdn/zones/z1), V(/nodes/pve1) ...).
        Written as Proxmox VE normalises it (repeated and trailing V(/) dropped).
    type: str
    required: true
  roles:
    description:
      - The roles to grant or revoke (see M(proxfleet.proxmox.pve_role)).
    type: list
    elements: str
    default: []
  users:
    description:
      - Users (V(name@realm)) the roles are granted to or taken from.
    type: list
    elements: str
    default: []
  groups:
    description:
      - Groups the roles are granted to or taken from.
    type: list
    elements: str
    default: []
  tokens:
    description:
      - API tokens (V(name@realm!tokenid)) the roles are granted to or taken from. A privilege-separated token holds
        only what both it and its user are granted.
    type: list
    elements: str
    default: []
  propagate:
    description:
      - Whether the entries count on the paths below O(path) too. An existing entry with the other value is
        updated.
    type: bool
    default: true
  state:
    description:
      - V(present) grants; V(absent) removes the entries named (roles x users, groups and tokens).
    type: str
    choices: [present, absent]
    default: present
  purge:
    description:
      - With O(state=present), also remove every other entry of O(path) (other roles, users, groups, tokens). With
        nothing to grant it empties the path.
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
    - name: Let the snapshot robot and its token snapshot VM 100
      proxfleet.proxmox.pve_acl:
        path: /vms/100
        roles: [Snapshotter]
        users: [robot@pve]
        tokens: ["robot@pve!ansible"]

    - name: Exactly the auditors group as PVEAuditor on /, nothing else on that path
      proxfleet.proxmox.pve_acl:
        path: /
        roles: [PVEAuditor]
        groups: [auditors]
        purge: true

    - name: Take the role back
      proxfleet.proxmox.pve_acl:
        path: /vms/100
        roles: [Snapshotter]
        users: [robot@pve]
        tokens: ["robot@pve!ansible"]
        state: absent
'''

RETURN = r'''
acl:
  description:
    - Every ACL entry of the path after the run (in check mode, as it would be).
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The ACL path.
      type: str
    type:
      description: V(user), V(group) or V(token).
      type: str
    ugid:
      description: The user, group or token id.
      type: str
    roleid:
      description: The role.
      type: str
    propagate:
      description: Whether the entry counts below the path.
      type: bool
  sample:
    - path: /vms/100
      type: user
      ugid: robot@pve
      roleid: Snapshotter
      propagate: true
diff:
  description: The entries the task manages (those it names, and with purge every entry of the path) before and after.
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils import access
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def run(module):
    params = module.params
    path = access.normalize_path(params['path'])
    module.acl_target = 'ACL path {0!r}'.format(path)
    roles = sorted(set(params['roles']))
    members = dict((kind, sorted(set(params[kind + 's']))) for kind in access.KINDS)
    for kind in access.KINDS:
        access.check_ids(kind, members[kind])
    anyone = any(members.values())
    if bool(roles) != anyone or (not roles and not params['purge']):
        raise ProxmoxConfigError('ACL path {0!r}: give roles and at least one of users, groups or tokens{1}'.format(
            path, '' if params['purge'] else ' (or purge: true alone to empty the path)'))
    if params['purge'] and params['state'] == 'absent':
        raise ProxmoxConfigError('ACL path {0!r}: purge goes with state present only'.format(path))
    client = module.client
    if roles:
        known = set(str(role.get('roleid')) for role in client.get(client.path('access', 'roles')) or [])
        unknown = [role for role in roles if role not in known]
        if unknown:
            raise ProxmoxConfigError('ACL path {0!r}: role{1} {2} do{3} not exist (create {4} with '
                                     'proxfleet.proxmox.pve_role)'.format(
                                         path, 's' if len(unknown) > 1 else '', ', '.join(repr(r) for r in unknown),
                                         '' if len(unknown) > 1 else 'es', 'them' if len(unknown) > 1 else 'it'))
    current = client.get(client.path('access', 'acl')) or []
    todo = access.plan(current, path, roles, members, propagate=params['propagate'], state=params['state'],
                       purge=params['purge'])
    if todo.changed and not module.check_mode:
        if todo.put is not None:
            client.put(client.path('access', 'acl'), **todo.put)
        for removal in todo.deletes:
            client.put(client.path('access', 'acl'), **removal)
        todo.final = access.entries_of(client.get(client.path('access', 'acl')), path)
    return {'changed': todo.changed, 'diff': {'before': {'entries': todo.before}, 'after': {'entries': todo.after}},
            'acl': todo.final}


def main():
    spec = dict(
        path=dict(type='str', required=True),
        roles=dict(type='list', elements='str', default=[]),
        users=dict(type='list', elements='str', default=[]),
        groups=dict(type='list', elements='str', default=[]),
        tokens=dict(type='list', elements='str', default=[], no_log=False),
        propagate=dict(type='bool', default=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        purge=dict(type='bool', default=False),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: getattr(m, 'acl_target', None) or 'ACL path {0!r}'.format(m.params['path']))


if __name__ == '__main__':
    main()
