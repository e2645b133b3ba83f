#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_token
short_description: Manage a Proxmox VE API token, returning its secret once
version_added: 0.1.0
description:
  - Creates an API token of a user, sets its privilege separation, expiry and comment, rotates its secret when
    asked, or removes it.
  - B(The secret exists only in the answer of the call that creates or regenerates the token.) The module returns it
    in C(secret) on that run only; no later run can read it (Proxmox VE keeps only a hash). Register the result and
    store the secret (an ansible-vault file, a secret store) in the same play.
  - Whenever the result carries a secret, the module's action plugin marks the whole task result C(no_log), so the
    secret never reaches the output at any verbosity (C(-vvv) included) nor a callback; the registered variable
    still holds it. Tasks that use it should set C(no_log) themselves.
  - Proxmox VE keeps no creation time for a token. The module writes one at the end of the comment,
    C([created <UTC time>]), when it creates or rotates a token, and keeps it when O(comment) changes. O(max_age)
    reads it. A token without it (made by hand) has an unknown age and is rotated under O(max_age).
  - Rotation regenerates the secret in place (the token keeps its ACL entries); this needs Proxmox VE 9 (its
    C(regenerate) parameter). On Proxmox VE 8 the module refuses before any write; remove and recreate the token
    there (its ACL entries go with it).
  - Removing a token removes its ACL entries too (Proxmox VE does).
  - "Privileges: the user itself, or C(User.Modify) on a group the user is in (C(/access/groups/<group>)), for every
    call: read, create, change, rotate, remove."
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
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
      - The token's user, C(name@realm). It must exist (see M(proxfleet.proxmox.pve_user)).
    type: str
    required: true
    aliases: [user]
  tokenid:
    description:
      - The token's name (a letter, then letters, digits, V(.), V(-) and V(_)); the full id is C(userid!tokenid).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the token; V(absent) removes it with its ACL entries.
    type: str
    choices: [present, absent]
    default: present
  privsep:
    description:
      - Privilege separation. V(true) (the Proxmox VE default on create) gives the token only what its own ACL
        entries grant, within its user's privileges; V(false) gives it its user's privileges. Left out, it is not
        managed.
    type: bool
  expire:
    description:
      - Expiry as a Unix time (seconds); V(0) never expires. Left out, it is not managed (a new token then expires
        with its user).
    type: int
  comment:
    description:
      - Description of the token. Left out, it is not managed. The creation stamp the module keeps after it is
        not part of it.
    type: str
  rotate:
    description:
      - Regenerate the secret of an existing token and return the new one. Each run with V(true) rotates, so use
        it in a task that runs on purpose, or use O(max_age).
    type: bool
    default: false
  max_age:
    description:
      - Regenerate the secret when the token is this many days old or older, by its creation stamp (see above).
    type: int
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A token for the monitoring system, rotated every 90 days
      proxfleet.proxmox.pve_token:
        userid: monitoring@pve
        tokenid: prometheus
        privsep: true
        comment: read-only metrics
        max_age: 90
      register: monitoring_token

    - name: Keep a new secret in a vault file (the result only has one when the token was made or rotated)
      ansible.builtin.copy:
        content: "{{ {'vault_monitoring_token_secret': monitoring_token.secret} | to_nice_yaml }}"
        dest: group_vars/monitoring/token.yml
        mode: "0600"
      when: monitoring_token.secret is defined
      no_log: true
      delegate_to: localhost

    - name: Rotate it now
      proxfleet.proxmox.pve_token:
        userid: monitoring@pve
        tokenid: prometheus
        rotate: true
      register: rotated

    - name: Remove it (and its ACL entries)
      proxfleet.proxmox.pve_token:
        userid: monitoring@pve
        tokenid: prometheus
        state: absent
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
    privsep:
      description: Whether privilege separation is on.
      type: bool
    expire:
      description: Expiry (Unix time), 0 or absent for none of its own.
      type: int
    comment:
      description: The comment, without the creation stamp.
      type: str
    created:
      description: The creation stamp (UTC, C(YYYY-MM-DDTHH:MM:SSZ)), null when the token has none.
      type: str
  sample:
    userid: monitoring@pve
    tokenid: prometheus
    full_tokenid: monitoring@pve!prometheus
    privsep: true
    expire: 0
    comment: read-only metrics
    created: "2026-12-08T01:02:03Z"
secret:
  description:
    - The token's secret (a UUID), on the run that created or rotated it only, outside check mode. The task's
      result is then hidden from every output (no_log); no later run can return it again.
  returned: when the token was created or rotated
  type: str
  sample: 0b3f6a2e-5c1d-4e8f-9a7b-2c4d6e8f0a1b
rotated:
  description: Why the secret was regenerated (V(rotate), or its age under O(max_age)); absent when it was not.
  returned: when the secret was regenerated (or would be, in check mode)
  type: str
diff:
  description: The managed options (C(privsep), C(expire), C(comment)) before and after; a new secret shows as a
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils.access import TOKEN_ID, USER_ID
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import MASK
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tokens import (
    join_comment,
    now_stamp,
    rotation_reason,
    split_comment,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.versions import check as check_version

MANAGED = ('privsep', 'expire', 'comment')


def shown(userid, tokenid, info):
    """A token of the API (privsep, expire, comment with its stamp) as results show it."""
    if info is None:
        return None
    text, when = split_comment(info.get('comment'))
    return {'userid': userid, 'tokenid': tokenid, 'full_tokenid': '{0}!{1}'.format(userid, tokenid),
            'privsep': bool(int(info.get('privsep', 1))), 'expire': int(info.get('expire') or 0),
            'comment': text, 'created': when}


def managed(token, params):
    """The managed options of a shown token (only those the task gives)."""
    if token is None:
        return {}
    return dict((key, token[key]) for key in MANAGED if params.get(key) is not None)


def read_tokens(module, userid):
    """The user's tokens (one list call); a missing user fails with a message that says so."""
    client = module.client
    try:
        return client.get(client.path('access', 'users', userid, 'token')) or []
    except ProxmoxError as error:
        if 'no such user' in str(error.message):
            raise ProxmoxConfigError('user {0!r} does not exist on cluster {1}: create it first '
                                     '(proxfleet.proxmox.pve_user), then its tokens'.format(userid, client.settings.url)) from None
        raise


def run(module):
    params = module.params
    userid, tokenid = params['userid'], params['tokenid']
    if not USER_ID.match(userid):
        raise ProxmoxConfigError('user id {0!r} is not valid: write it as name@realm (alice@pve, root@pam)'.format(userid))
    full = '{0}!{1}'.format(userid, tokenid)
    if not TOKEN_ID.match(full):
        raise ProxmoxConfigError('token id {0!r} is not valid: a letter, then letters, digits, ".", "-" and "_"'.format(
            tokenid))
    if params['max_age'] is not None and params['max_age'] < 1:
        raise ProxmoxConfigError('token {0!r}: max_age is a number of days, 1 or more'.format(full))
    if params['expire'] is not None and params['expire'] < 0:
        raise ProxmoxConfigError('token {0!r}: expire is a Unix time, 0 (never) or more'.format(full))
    client = module.client
    path = client.path('access', 'users', userid, 'token', tokenid)
    current = None
    for item in read_tokens(module, userid):
        if item.get('tokenid') == tokenid:
            current = item
    before = shown(userid, tokenid, current)
    check = module.check_mode

    if params['state'] == 'absent':
        if current is None:
            return {'changed': False, 'token': None, 'diff': {'before': {}, 'after': {}}}
        if not check:
            client.delete(path)
        return {'changed': True, 'token': None, 'diff': {'before': managed(before, params), 'after': {}}}

    if current is None:
        when = now_stamp()
        create = {'comment': join_comment(params['comment'], when)}
        if params['privsep'] is not None:
            create['privsep'] = 1 if params['privsep'] else 0
        if params['expire'] is not None:
            create['expire'] = params['expire']
        final = dict(create)
        result = {'changed': True}
        if not check:
            answer = client.post(path, **create) or {}
            final = answer.get('info') or final
            final['comment'] = final.get('comment', create['comment'])
            result['secret'] = answer.get('value')
        token = shown(userid, tokenid, final)
        after = managed(token, params)
        after['secret'] = MASK
        result.update(token=token, diff={'before': {}, 'after': after})
        return result

    text, when = split_comment(current.get('comment'))
    update = {}
    if params['privsep'] is not None and bool(params['privsep']) != before['privsep']:
        update['privsep'] = 1 if params['privsep'] else 0
    if params['expire'] is not None and params['expire'] != before['expire']:
        update['expire'] = params['expire']
    wanted_text = text
    if params['comment'] is not None:
        wanted_text = params['comment'].strip() or None
    reason = rotation_reason(params['rotate'], params['max_age'], when)
    if reason:
        update['regenerate'] = 1
        when = now_stamp()
    comment = join_comment(wanted_text, when)
    if comment != (current.get('comment') or ''):
        if comment:
            update['comment'] = comment
        else:
            update['delete'] = 'comment'
    if not update:
        return {'changed': False, 'token': before,
                'diff': {'before': managed(before, params), 'after': managed(before, params)}}
    # Rotation on a release without `regenerate` fails here, before any write, in check mode too.
    check_version(client, 'PUT', '/access/users/{0}/token/{1}'.format(userid, tokenid), update)
    final = dict(current)
    final.update((k, v) for k, v in update.items() if k in MANAGED)
    if 'delete' in update:
        final.pop('comment', None)
    result = {'changed': True}
    if not check:
        answer = client.put(path, **update) or {}
        if reason:
            result['secret'] = answer.get('value')
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
        privsep=dict(type='bool'),
        expire=dict(type='int'),
        comment=dict(type='str'),
        rotate=dict(type='bool', default=False),
        max_age=dict(type='int'),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'token {0!r}'.format('{0}!{1}'.format(m.params['userid'], m.params['tokenid'])))


if __name__ == '__main__':
    main()
