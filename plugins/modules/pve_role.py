#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_role
short_description: Manage a Proxmox VE role (a named set of privileges)
version_added: 0.1.0
description:
  - Creates a role, sets its privileges to exactly the list given, or removes it. ACL entries (see
    M(proxfleet.proxmox.pve_acl)) grant roles to users, groups and API tokens on a path.
  - The built-in roles (V(Administrator), V(NoAccess), V(PVEAdmin), V(PVEAuditor), V(PVEVMAdmin) ...) are
    read-only in Proxmox VE. Naming one with its own privileges is a no-op; asking to change or remove it fails,
    before any write, with a message saying so. Make a custom role instead.
  - Privileges are checked, before any write, against those the cluster knows (they differ between PVE 8 and PVE 9,
    for example C(VM.Monitor) against C(VM.GuestAgent.Audit)); an unknown one fails the task naming it.
  - "Privileges: none to read (every user may list the roles); C(Sys.Modify) on C(/access) to create, change or
    remove one."
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
      - The role's id (letters, digits, V(.), V(-) and V(_)).
    type: str
    required: true
    aliases: [roleid]
  state:
    description:
      - V(present) creates the role or sets its privileges; V(absent) removes it. ACL entries naming a removed
        role stop counting (Proxmox VE ignores them).
    type: str
    choices: [present, absent]
    default: present
  privileges:
    description:
      - The role's privileges, exactly (order and duplicates do not matter). Privileges not listed are taken
        away. An empty list leaves the role with none.
      - Left out, a new role is created without privileges and an existing role's are left as they are.
    type: list
    elements: str
    aliases: [privs]
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A role for snapshot automation
      proxfleet.proxmox.pve_role:
        name: Snapshotter
        privileges:
          - VM.Audit
          - VM.Snapshot

    - name: Remove it
      proxfleet.proxmox.pve_role:
        name: Snapshotter
        state: absent
'''

RETURN = r'''
role:
  description:
    - The role after the run (in check mode, as it would be); null once removed.
  returned: success
  type: dict
  contains:
    roleid:
      description: The role's id.
      type: str
    privs:
      description: Its privileges, sorted.
      type: list
      elements: str
    special:
      description: True for a built-in role (read-only).
      type: bool
  sample:
    roleid: Snapshotter
    privs: [VM.Audit, VM.Snapshot]
    special: false
diff:
  description: The managed option (C(privileges)) before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the role did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import split_list
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

# pve-access-control's pve-roleid format (AccessControl::verify_rolename).
ROLE_ID = re.compile(r'^[A-Za-z0-9.\-_]+$')
# The role that holds every privilege the cluster knows (AccessControl's $valid_privs).
ALL_PRIVILEGES = 'Administrator'

SPEC = ResourceSpec(
    result_key='role',
    label='role',
    collection='/access/roles',
    id_field='roleid',
    # One read: the list holds every role with its privileges and whether it is built in; the item GET lacks both.
    read='list',
    digest=False,
    fields=[Field('privileges', api_name='privs', kind='set')],
)


def _privs(value):
    return sorted(set(split_list(value)))


class RoleResource(ConfigResource):
    """A role: one list read gives the role, whether it is built in, and (Administrator) every known privilege."""

    roles = None
    _read_done = False

    def read(self):
        if self._read_done:
            # run() has just read it to check the input: ensure() uses that read, not a second one.
            self._read_done = False
            return self.current
        listed = self.client.get(self._fill(self.spec.collection)) or []
        self.roles = dict((str(item.get('roleid')), item) for item in listed)
        self.current = self.roles.get(self.ident)
        return self.current

    def read_once(self):
        self.read()
        self._read_done = True
        return self.current

    def shown(self, state):
        if state is None:
            return {}
        return {'roleid': self.ident, 'privs': _privs(state.get('privs')), 'special': bool(int(state.get('special') or 0))}

    def known_privileges(self):
        admin = (self.roles or {}).get(ALL_PRIVILEGES)
        return set(_privs(admin.get('privs'))) if admin else None


def run(module):
    params = module.params
    name = params['name']
    if not ROLE_ID.match(name):
        raise ProxmoxConfigError('role name {0!r} is not valid: use letters, digits, ".", "-" and "_" only'.format(name))
    resource = RoleResource(module, SPEC, name)
    current = resource.read_once()
    special = current is not None and bool(int(current.get('special') or 0))
    if params['state'] == 'absent':
        if special:
            raise ProxmoxConfigError('role {0!r} is built in to Proxmox VE and read-only: it cannot be removed'.format(name))
        return resource.ensure('absent', {})
    wanted = params['privileges']
    if wanted is not None:
        wanted = _privs(wanted)
        known = resource.known_privileges()
        unknown = [priv for priv in wanted if known is not None and priv not in known]
        if unknown:
            raise ProxmoxConfigError('role {0!r}: unknown privilege{1} {2}: this cluster knows {3}'.format(
                name, 's' if len(unknown) > 1 else '', ', '.join(repr(p) for p in unknown), ', '.join(sorted(known))))
        if special and wanted != _privs(current.get('privs')):
            raise ProxmoxConfigError(
                'role {0!r} is built in to Proxmox VE and read-only: its privileges ({1}) cannot be changed; '
                'create a role of your own with the privileges you want'.format(
                    name, ', '.join(_privs(current.get('privs'))) or 'none'))
    return resource.ensure('present', {'privileges': wanted})


def main():
    spec = dict(
        name=dict(type='str', required=True, aliases=['roleid']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        privileges=dict(type='list', elements='str', aliases=['privs']),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'role {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
