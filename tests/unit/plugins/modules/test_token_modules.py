# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pve_token, pbs_token and pve_access_info: how they show tokens, users and realms (pure logic). The modules run
against the lab in tests/integration/test_pve_access.py and test_pbs_token.py."""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.modules import pbs_token, pve_access_info, pve_token


def test_pve_token_shown_splits_the_stamp_off_and_never_has_a_secret():
    shown = pve_token.shown('ci@pve', 'runner', {'privsep': 0, 'comment': 'CI [created 2026-01-02T03:04:05Z]',
                                                 'value': 'secret-must-not-show'})
    assert shown == {'userid': 'ci@pve', 'tokenid': 'runner', 'full_tokenid': 'ci@pve!runner', 'privsep': False,
                     'expire': 0, 'comment': 'CI', 'created': '2026-01-02T03:04:05Z'}
    assert pve_token.managed(shown, {'comment': 'x', 'privsep': None, 'expire': None}) == {'comment': 'CI'}


def test_pbs_token_shown():
    shown = pbs_token.shown('sync@pbs', 'offsite', {'enable': False, 'expire': 5, 'comment': 'DR'})
    assert shown['enable'] is False and shown['expire'] == 5 and shown['comment'] == 'DR' and shown['created'] is None
    assert pbs_token.TOKEN_NAME.match('offsite') and not pbs_token.TOKEN_NAME.match('bad!name')


def test_access_info_user_token_realm():
    user = pve_access_info.user_of({'userid': 'a@pve', 'enable': 0, 'groups': 'ops,admins', 'email': 'a@x.org',
                                    'comment': '', 'realm-type': 'pve', 'keys': 'x'})
    assert user == {'userid': 'a@pve', 'enable': False, 'expire': 0, 'groups': ['admins', 'ops'],
                    'email': 'a@x.org', 'realm_type': 'pve'}
    token = pve_access_info.token_of('a@pve', {'tokenid': 't', 'comment': '[created 2026-01-02T03:04:05Z]'})
    assert token == {'full_tokenid': 'a@pve!t', 'userid': 'a@pve', 'tokenid': 't', 'privsep': True, 'expire': 0,
                     'comment': None, 'created': '2026-01-02T03:04:05Z'}
    assert pve_access_info.realm_of({'realm': 'pve', 'type': 'pve', 'comment': 'PVE', 'default': 1}) == {
        'realm': 'pve', 'type': 'pve', 'comment': 'PVE', 'default': True}
