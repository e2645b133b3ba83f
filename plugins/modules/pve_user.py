#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_user
short_description: Manage a Proxmox VE user
version_added: 0.1.0
description:
  - Creates, updates and removes a user of any realm (V(name@pve), V(name@pam), V(name@<ldap or ad realm>)), its
    groups, account settings and, in the V(pve) realm, its password.
  - Options left out are not managed. O(groups) adds the user to the groups listed; O(purge_groups=true) also takes
    it out of the others.
  - A password cannot be read back, so it cannot be compared. With O(update_password=on_create) (the default) it is
    set when the user is created only; with O(update_password=always) it is set on every run, which then always
    reports a change. Changing the password of an existing user needs a password login (O(api_user) and
    O(api_password)), as Proxmox VE refuses API tokens there; the module says so before any write.
  - Removing a user removes its group memberships, ACL entries and API tokens too (Proxmox VE does).
  - "Privileges: C(User.Modify) or C(Sys.Audit) on C(/access/groups) (or a group the user is in) to read it;
    C(Realm.AllocateUser) on C(/access/realm/<realm>) and C(User.Modify) on C(/access/groups) to create, change or
    remove it."
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
  userid:
    description:
      - The user, as V(name@realm).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the user; V(absent) removes it, with its group memberships, ACL entries and
        tokens.
    type: str
    choices: [present, absent]
    default: present
  enable:
    description:
      - Whether the user may log in (a new user is enabled unless told otherwise).
    type: bool
  expire:
    description:
      - Account expiry, seconds since the epoch; V(0) never expires.
    type: int
  groups:
    description:
      - Groups the user is in. Other groups are kept unless O(purge_groups=true).
    type: list
    elements: str
  purge_groups:
    description:
      - With O(groups), take the user out of every group not listed (O(groups=[]) then empties its groups).
    type: bool
    default: false
  firstname:
    description: First name.
    type: str
  lastname:
    description: Last name.
    type: str
  email:
    description: E-mail address.
    type: str
  comment:
    description: Comment.
    type: str
  keys:
    description:
      - Keys for two-factor authentication (yubico). Masked in results and diffs.
    type: str
  password:
    description:
      - The user's password (8 to 64 characters), V(pve) realm only. Never shown in results, diffs or logs.
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created; V(always) sets it on every run (reported as a
        change), through C(PUT /access/password), which needs a password login.
    type: str
    choices: [on_create, always]
    default: on_create
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: An operator in the pve realm, in the ops group
      proxfleet.proxmox.pve_user:
        userid: alice@pve
        password: "{{ vault_alice_initial_password }}"
        groups: [ops]
        email: alice@example.com
        comment: night shift

    - name: Exactly the auditors group, disabled
      proxfleet.proxmox.pve_user:
        userid: alice@pve
        groups: [auditors]
        purge_groups: true
        enable: false

    - name: Remove the user
      proxfleet.proxmox.pve_user:
        userid: alice@pve
        state: absent
'''

RETURN = r'''
user:
  description:
    - The user after the run (in check mode, as it would be); null once removed. Never holds the password.
  returned: success
  type: dict
  contains:
    userid:
      description: The user id.
      type: str
    enable:
      description: Whether the user may log in.
      type: int
    expire:
      description: Account expiry (0 never).
      type: int
    groups:
      description: Its groups.
      type: list
      elements: str
  sample:
    userid: alice@pve
    enable: 1
    expire: 0
    groups: [ops]
    email: alice@example.com
diff:
  description: The managed options before and after (a password set shows as C(********)).
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the user did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import MASK, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import split_list
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

# pve-access-control's pve-userid format (PVE::Auth::Plugin user_regex @ realm_regex).
USER_ID = re.compile(r'^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$')


def _text(value):
    # Proxmox VE stores no empty value: '' and none read the same.
    return str(value).strip() or None


SPEC = ResourceSpec(
    result_key='user',
    label='user',
    collection='/access/users',
    id_field='userid',
    # The item answers with the groups as a list and needs no list filtering; it has no digest.
    read='item',
    digest=False,
    fields=[
        Field('enable', kind='bool'),
        Field('expire', kind='int'),
        Field('groups', kind='set'),
        Field('firstname', normalize=_text),
        Field('lastname', normalize=_text),
        Field('email', normalize=_text),
        Field('comment', normalize=_text),
        Field('keys', secret=True, normalize=_text),
        Field('password', write_only=True),
    ],
)


class UserResource(ConfigResource):
    """A user: the tokens of its item answer are not shown; the result's groups are a sorted list."""

    _read_done = False

    def read(self):
        if self._read_done:
            # run() has just read it to build the groups wanted: ensure() uses that read, not a second one.
            self._read_done = False
            return self.current
        return super().read()

    def read_once(self):
        self.read()
        self._read_done = True
        return self.current

    def shown(self, state):
        shown = super().shown(state)
        shown.pop('tokens', None)
        shown.pop('password', None)
        if 'groups' in shown:
            shown['groups'] = sorted(set(split_list(shown['groups'])))
        shown['userid'] = self.ident
        return shown


def run(module):
    params = module.params
    userid = params['userid']
    if not USER_ID.match(userid):
        raise ProxmoxConfigError('user id {0!r} is not valid: write it as name@realm (alice@pve, root@pam)'.format(userid))
    realm = userid.rpartition('@')[2]
    password = params['password']
    if password is not None:
        if realm != 'pve':
            raise ProxmoxConfigError('user {0!r}: a password can be set in the pve realm only; realm {1!r} keeps '
                                     'its passwords itself'.format(userid, realm))
        if not 8 <= len(password) <= 64:
            raise ProxmoxConfigError('user {0!r}: the password must be 8 to 64 characters long'.format(userid))
    if params['purge_groups'] and params['groups'] is None:
        raise ProxmoxConfigError('user {0!r}: purge_groups needs groups (groups: [] to empty them)'.format(userid))
    resource = UserResource(module, SPEC, userid)
    current = resource.read_once()
    if params['state'] == 'absent':
        return resource.ensure('absent', {})
    groups = params['groups']
    if groups is not None:
        groups = sorted(set(g.strip() for g in groups if g.strip()))
        if current is not None and not params['purge_groups']:
            groups = sorted(set(groups) | set(split_list(current.get('groups'))))
    always = password is not None and params['update_password'] == 'always' and current is not None
    if always and module.params.get('api_token_id'):
        raise ProxmoxConfigError('user {0!r}: changing the password of an existing user needs a password login '
                                 '(api_user and api_password): Proxmox VE refuses API tokens there'.format(userid))
    desired = dict((name, params[name]) for name in ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment',
                                                     'keys'))
    desired['groups'] = groups
    desired['password'] = password if current is None else None
    result = resource.ensure('present', desired)
    if always:
        if not module.check_mode:
            change = {'userid': userid, 'password': password}
            if module.params.get('api_password'):
                # Proxmox VE asks the caller's own password to confirm a change of another user's.
                change['confirmation-password'] = module.params['api_password']
            module.client.put(module.client.path('access', 'password'), **change)
        result['changed'] = True
        result['diff']['before']['password'] = MASK
        result['diff']['after']['password'] = MASK
    return result


def main():
    spec = dict(
        userid=dict(type='str', required=True, aliases=['name']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        enable=dict(type='bool'),
        expire=dict(type='int'),
        groups=dict(type='list', elements='str'),
        purge_groups=dict(type='bool', default=False),
        firstname=dict(type='str'),
        lastname=dict(type='str'),
        email=dict(type='str'),
        comment=dict(type='str'),
        keys=dict(type='str', no_log=True),
        password=dict(type='str', no_log=True),
        update_password=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'user {0!r}'.format(m.params['userid']))


if __name__ == '__main__':
    main()
