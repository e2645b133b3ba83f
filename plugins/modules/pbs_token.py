#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_token
short_description: Manage a Proxmox Backup Server API token, returning its secret once
version_added: 0.1.0
description:
  - Creates an API token of a Backup Server user, enables or disables it, sets its expiry and comment, rotates its
    secret when asked, or removes it. The same secret and rotation contract as M(proxfleet.proxmox.pve_token).
  - B(The secret exists only in the answer of the call that creates or regenerates the token.) The module returns it
    in C(secret) on that run only; no later run can read it.
  - Whenever the result carries a secret, the module's action plugin marks the whole task result C(no_log), so the
    secret never reaches the output at any verbosity (C(-vvv) included); the registered variable still holds it.
  - The Backup Server keeps no creation time for a token. The module writes one at the end of the comment,
    C([created <UTC time>]), when it creates or rotates a token, and keeps it when O(comment) changes; O(max_age)
    reads it. A token without it has an unknown age and is rotated under O(max_age).
  - Rotation regenerates the secret in place (C(regenerate)); the token keeps its ACL entries.
  - A Backup Server token holds what its own ACL entries grant, within its user's privileges (there is no
    privilege-separation switch).
  - "Privileges: C(Sys.Audit) on C(/access/users) to read, C(Permissions.Modify) on C(/access/users) to create,
    change, rotate or remove (or the user's own login, for its own tokens)."
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection.PBS
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: In check mode a token that would be created or rotated reports C(changed) without a secret.
  diff_mode:
    support: full
options:
  userid:
    description:
      - The token's user, C(name@realm) (V(sync@pbs)). It must exist.
    type: str
    required: true
    aliases: [user]
  tokenid:
    description:
      - The token's name; the full id is C(userid!tokenid).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the token; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  enable:
    description:
      - Whether the token may log in. Left out, it is not managed (a new token is enabled).
    type: bool
  expire:
    description:
      - Expiry as a Unix time (seconds); V(0) never expires. Left out, it is not managed.
    type: int
  comment:
    description:
      - Description of the token. Left out, it is not managed. The creation stamp after it is not part of it.
    type: str
  rotate:
    description:
      - Regenerate the secret of an existing token and return the new one. Each run with V(true) rotates, so use
        it in a task that runs on purpose, or use O(max_age).
    type: bool
    default: false
  max_age:
    description:
      - Regenerate the secret when the token is this many days old or older, by its creation stamp.
    type: int
'''

EXAMPLES = r'''
- name: A token for pulling backups off-site, rotated every 30 days
  proxfleet.proxmox.pbs_token:
    api_host: pbs1.example.com
    api_token_id: admin@pbs!ansible
    api_token_secret: "{{ vault_pbs_token_secret }}"
    userid: sync@pbs
    tokenid: offsite
    comment: pull from the DR site
    max_age: 30
  register: sync_token

- name: Keep a new secret in a vault-encrypted variable file
  ansible.builtin.copy:
    content: "{{ {'vault_sync_token_secret': sync_token.secret} | to_nice_yaml }}"
    dest: group_vars/dr/sync_token.yml
    mode: "0600"
  when: sync_token.secret is defined
  no_log: true
  delegate_to: localhost
'''

RETURN = r'''
token:
  description:
    - The token after the run (in check mode, as it would be); null once removed. Never its secret.
  returned: success
  type: dict
  contains:
    userid:
      description: Its user.
      type: str
    tokenid:
      description: Its name.
      type: str
    full_tokenid:
      description: The id to log in with, C(userid!tokenid).
      type: str
    enable:
      description: Whether it may log in.
      type: bool
    expire:
      description: Expiry (Unix time), 0 for never.
      type: int
    comment:
      description: The comment, without the creation stamp.
      type: str
    created:
      description: The creation stamp (UTC), null when the token has none.
      type: str
  sample:
    userid: sync@pbs
    tokenid: offsite
    full_tokenid: sync@pbs!offsite
    enable: true
    expire: 0
    comment: pull from the DR site
    created: "2026-12-08T01:02:03Z"
secret:
  description:
    - The token's secret, on the run that created or rotated it only, outside check mode. The task's result is then
      hidden from every output (no_log).
  returned: when the token was created or rotated
  type: str
  sample: 0b3f6a2e-5c1d-4e8f-9a7b-2c4d6e8f0a1b
rotated:
  description: Why the secret was regenerated.
  returned: when the secret was regenerated (or would be, in check mode)
  type: str
diff:
  description: The managed options (C(enable), C(expire), C(comment)) before and after; a new secret shows as a
    masked C(secret) key in C(after).
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the token did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import MASK
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tokens import (
    join_comment,
    now_stamp,
    rotation_reason,
    split_comment,
)

# proxmox-backup's Userid (name@realm) and token name formats (pbs-api-types PROXMOX_TOKEN_NAME_REGEX).
USER_ID = re.compile(r'^[^\s:/@!]+@[A-Za-z0-9_][A-Za-z0-9._\-]*$')
TOKEN_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._\-]*$')
MANAGED = ('enable', 'expire', 'comment')


def shown(userid, tokenid, info):
    if info is None:
        return None
    text, when = split_comment(info.get('comment'))
    return {'userid': userid, 'tokenid': tokenid, 'full_tokenid': '{0}!{1}'.format(userid, tokenid),
            'enable': bool(info.get('enable', True)), 'expire': int(info.get('expire') or 0), 'comment': text,
            'created': when}


def managed(token, params):
    if token is None:
        return {}
    return dict((key, token[key]) for key in MANAGED if params.get(key) is not None)


def read_token(module, userid, path):
    """The token (GET of the item), None when it does not exist; a missing user fails with a message saying so."""
    try:
        return module.client.get(path)
    except ProxmoxError as error:
        text = str(error.message)
        if 'no such user' in text:
            raise ProxmoxConfigError('user {0!r} does not exist on Backup Server {1}: create it first, then its '
                                     'tokens'.format(userid, module.client.settings.url)) from None
        if 'no such token' in text or error.status_code == 404:
            return None
        raise


def run(module):
    params = module.params
    userid, tokenid = params['userid'], params['tokenid']
    full = '{0}!{1}'.format(userid, tokenid)
    if not USER_ID.match(userid):
        raise ProxmoxConfigError('user id {0!r} is not valid: write it as name@realm (sync@pbs)'.format(userid))
    if not TOKEN_NAME.match(tokenid):
        raise ProxmoxConfigError('token name {0!r} is not valid: letters, digits, ".", "-" and "_"'.format(tokenid))
    if params['max_age'] is not None and params['max_age'] < 1:
        raise ProxmoxConfigError('token {0!r}: max_age is a number of days, 1 or more'.format(full))
    if params['expire'] is not None and params['expire'] < 0:
        raise ProxmoxConfigError('token {0!r}: expire is a Unix time, 0 (never) or more'.format(full))
    client = module.client
    path = client.path('access', 'users', userid, 'token', tokenid)
    current = read_token(module, userid, path)
    before = shown(userid, tokenid, current)
    check = module.check_mode

    if params['state'] == 'absent':
        if current is None:
            return {'changed': False, 'token': None, 'diff': {'before': {}, 'after': {}}}
        if not check:
            client.delete(path)
        return {'changed': True, 'token': None, 'diff': {'before': managed(before, params), 'after': {}}}

    if current is None:
        create = {'comment': join_comment(params['comment'], now_stamp())}
        for key in ('enable', 'expire'):
            if params[key] is not None:
                create[key] = params[key]
        result = {'changed': True}
        if not check:
            answer = client.post(path, **create) or {}
            result['secret'] = answer.get('value')
        token = shown(userid, tokenid, create)
        after = managed(token, params)
        after['secret'] = MASK
        result.update(token=token, diff={'before': {}, 'after': after})
        return result

    text, when = split_comment(current.get('comment'))
    update = {}
    for key in ('enable', 'expire'):
        if params[key] is not None and params[key] != before[key]:
            update[key] = params[key]
    wanted_text = text if params['comment'] is None else (params['comment'].strip() or None)
    reason = rotation_reason(params['rotate'], params['max_age'], when)
    if reason:
        update['regenerate'] = True
        when = now_stamp()
    comment = join_comment(wanted_text, when)
    if comment != (current.get('comment') or ''):
        if comment:
            update['comment'] = comment
        else:
            update['delete'] = ['comment']
    if not update:
        return {'changed': False, 'token': before,
                'diff': {'before': managed(before, params), 'after': managed(before, params)}}
    final = dict(current)
    final.update((k, v) for k, v in update.items() if k in MANAGED)
    if 'delete' in update:
        final.pop('comment', None)
    result = {'changed': True}
    if not check:
        answer = client.put(path, **update) or {}
        if reason:
            result['secret'] = answer.get('secret') or answer.get('value')
    token = shown(userid, tokenid, final)
    after = managed(token, params)
    if reason:
        result['rotated'] = reason
        after['secret'] = MASK
    result.update(token=token, diff={'before': managed(before, params), 'after': after})
    return result


def main():
    spec = dict(
        userid=dict(type='str', required=True, aliases=['user']),
        tokenid=dict(type='str', required=True, aliases=['name'], no_log=False),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        enable=dict(type='bool'),
        expire=dict(type='int'),
        comment=dict(type='str'),
        rotate=dict(type='bool', default=False),
        max_age=dict(type='int'),
    )
    module = ProxmoxModule(service='PBS', argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'token {0!r}'.format('{0}!{1}'.format(m.params['userid'], m.params['tokenid'])))


if __name__ == '__main__':
    main()
