#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_access_info
short_description: Read a Proxmox VE cluster's access control
version_added: 0.1.0
description:
  - Returns the users, groups, roles with their privileges, ACL entries, API tokens (never their secrets, which
    Proxmox VE does not keep) and authentication realms of a cluster, in one read per kind (five calls).
  - Read-only; it never changes anything.
  - Proxmox VE filters some lists by the caller's privileges. Users and their tokens need C(User.Modify) or
    C(Sys.Audit) on C(/access/groups) (otherwise only the caller and the members of groups it may see); groups need
    one of C(Sys.Audit), C(User.Modify), C(Group.Allocate) on each group; all ACL entries need C(Sys.Audit) on
    C(/access) (otherwise only those on paths where the caller holds C(Permissions.Modify)). Roles and realms are
    listed for every user. The result says when a list may be partial (C(incomplete)).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  sections:
    description:
      - What to read. Left out, everything.
    type: list
    elements: str
    choices: [users, groups, roles, acl, tokens, realms]
'''

EXAMPLES = r'''
- name: Audit who may do what on a cluster
  proxfleet.proxmox.pve_access_info:
    api_host: pve1.example.com
    api_token_id: auditor@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
  register: access

- name: Tokens that never expire
  ansible.builtin.debug:
    msg: "{{ access.tokens | selectattr('expire', 'equalto', 0) | map(attribute='full_tokenid') | list }}"

- name: Only the ACL entries and roles
  proxfleet.proxmox.pve_access_info:
    api_host: pve1.example.com
    api_token_id: auditor@pve!ansible
    api_token_secret: "{{ vault_pve_token_secret }}"
    sections: [acl, roles]
'''

RETURN = r'''
users:
  description: Every user the caller may see, by user id.
  returned: when read
  type: list
  elements: dict
  sample:
    - userid: alice@pve
      enable: true
      expire: 0
      groups: [admins]
      email: alice@example.com
      realm_type: pve
groups:
  description: Every group the caller may see, with its members.
  returned: when read
  type: list
  elements: dict
  sample:
    - groupid: admins
      comment: cluster admins
      users: [alice@pve]
roles:
  description: Every role, its privileges sorted, C(special) true for a built-in one.
  returned: when read
  type: list
  elements: dict
  sample:
    - roleid: PVEAuditor
      privileges: [Datastore.Audit, Sys.Audit, VM.Audit]
      special: true
acl:
  description: The ACL entries (path, type user, group or token, ugid, roleid, propagate).
  returned: when read
  type: list
  elements: dict
  sample:
    - path: /vms/100
      type: token
      ugid: ci@pve!runner
      roleid: PVEVMUser
      propagate: true
tokens:
  description:
    - The API tokens of the users read (the users list with C(full)), never a secret. C(created) is the creation
      stamp M(proxfleet.proxmox.pve_token) keeps in the comment, null when there is none; C(comment) is without it.
  returned: when read
  type: list
  elements: dict
  sample:
    - full_tokenid: ci@pve!runner
      userid: ci@pve
      tokenid: runner
      privsep: true
      expire: 0
      comment: CI runner
      created: "2026-12-08T01:02:03Z"
realms:
  description: The authentication realms (C(/access/domains)), their type and comment, C(default) when set.
  returned: when read
  type: list
  elements: dict
  sample:
    - realm: pve
      type: pve
      comment: Proxmox VE authentication server
incomplete:
  description:
    - The sections whose list the caller's privileges may have cut short (as the description says), with the
      privilege that would show everything; empty when the caller holds them (or is root@pam).
  returned: success
  type: list
  elements: str
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.access import canonical
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import split_list
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tokens import split_comment

SECTIONS = ('users', 'groups', 'roles', 'acl', 'tokens', 'realms')
# The privilege (on a path) without which a section's list is filtered, as docs/privileges.md says.
FULL_VIEW = {'users': ('/access/groups', ('User.Modify', 'Sys.Audit')),
             'tokens': ('/access/groups', ('User.Modify', 'Sys.Audit')),
             'groups': ('/access/groups', ('Sys.Audit', 'User.Modify', 'Group.Allocate')),
             'acl': ('/access', ('Sys.Audit',))}
USER_KEYS = ('firstname', 'lastname', 'email', 'comment')


def _bool(value, default=True):
    return default if value is None else bool(int(value))


def user_of(item):
    out = {'userid': item['userid'], 'enable': _bool(item.get('enable')), 'expire': int(item.get('expire') or 0),
           'groups': sorted(split_list(item.get('groups')) if isinstance(item.get('groups'), str)
                            else item.get('groups') or [])}
    out.update((key, item[key]) for key in USER_KEYS if item.get(key) not in (None, ''))
    if item.get('realm-type'):
        out['realm_type'] = item['realm-type']
    return out


def token_of(userid, item):
    text, when = split_comment(item.get('comment'))
    return {'full_tokenid': '{0}!{1}'.format(userid, item['tokenid']), 'userid': userid, 'tokenid': item['tokenid'],
            'privsep': _bool(item.get('privsep')), 'expire': int(item.get('expire') or 0), 'comment': text,
            'created': when}


def realm_of(item):
    out = dict((key, item[key]) for key in ('realm', 'type', 'comment', 'tfa') if item.get(key) not in (None, ''))
    if item.get('default') is not None:
        out['default'] = _bool(item['default'])
    return out


def incomplete(module, wanted):
    """The sections a filtered list may have cut short for this caller (GET /access/permissions, one call)."""
    client = module.client
    checks = [s for s in wanted if s in FULL_VIEW]
    if not checks:
        return []
    held = client.get(client.path('access', 'permissions')) or {}
    out = []
    for section in checks:
        path, privs = FULL_VIEW[section]
        levels = [p for p in held if path == p or p == '/' or path.startswith(p.rstrip('/') + '/')]
        if not any(priv in (held.get(level) or {}) for level in levels for priv in privs):
            out.append('{0} (needs {1} on {2})'.format(section, ' or '.join(privs), path))
    return out


def run(module):
    client = module.client
    wanted = module.params['sections'] or list(SECTIONS)
    result = {'changed': False}
    if 'users' in wanted or 'tokens' in wanted:
        users = client.get(client.path('access', 'users'), full=1) or []
        if 'users' in wanted:
            result['users'] = sorted((user_of(u) for u in users), key=lambda u: u['userid'])
        if 'tokens' in wanted:
            result['tokens'] = sorted((token_of(u['userid'], t) for u in users for t in u.get('tokens') or []),
                                      key=lambda t: t['full_tokenid'])
    if 'groups' in wanted:
        result['groups'] = sorted(({'groupid': g['groupid'], 'comment': g.get('comment') or None,
                                    'users': sorted(split_list(g.get('users')))}
                                   for g in client.get(client.path('access', 'groups')) or []),
                                  key=lambda g: g['groupid'])
    if 'roles' in wanted:
        result['roles'] = sorted(({'roleid': r['roleid'], 'privileges': sorted(split_list(r.get('privs'))),
                                   'special': _bool(r.get('special'), False)}
                                  for r in client.get(client.path('access', 'roles')) or []),
                                 key=lambda r: r['roleid'])
    if 'acl' in wanted:
        result['acl'] = sorted((canonical(e) for e in client.get(client.path('access', 'acl')) or []),
                               key=lambda e: (e['path'], e['type'], e['ugid'], e['roleid']))
    if 'realms' in wanted:
        result['realms'] = sorted((realm_of(r) for r in client.get(client.path('access', 'domains')) or []),
                                  key=lambda r: r['realm'])
    result['incomplete'] = incomplete(module, wanted)
    return result


def main():
    spec = dict(sections=dict(type='list', elements='str', choices=list(SECTIONS)))
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target='access control')


if __name__ == '__main__':
    main()
