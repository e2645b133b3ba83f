# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Users as PVE/API2/User.pm keeps them: create, read, update (groups replaced or appended), delete (with group
memberships, ACL entries and tokens), PVE's words, and the list filtered by the caller's privileges."""

import asyncio

import pytest
from fakepve.model import PveError

from tests.lab.pve import LabPve


@pytest.fixture
def pve():
    pve = LabPve(name='users', nodes=('pve1',))
    pve.add_group('ops')
    pve.add_group('audit')
    return pve


def call(pve, handler, user='root@pam', **values):
    return asyncio.run(getattr(pve, handler)(values, user))


def error(pve, handler, **values):
    with pytest.raises(PveError) as caught:
        call(pve, handler, **values)
    return caught.value.message


def test_create_read_update_delete(pve):
    call(pve, '_user_create', userid='alice@pve', password='secret-pw', groups='ops', email='a@example.com')
    assert pve.users['alice@pve'] == 'secret-pw'
    assert call(pve, '_user_read', userid='alice@pve') == {'enable': 1, 'expire': 0, 'email': 'a@example.com',
                                                           'groups': ['ops'], 'tokens': {}}
    call(pve, '_user_update', userid='alice@pve', groups='audit', append=1, enable=0)
    assert call(pve, '_user_read', userid='alice@pve')['groups'] == ['audit', 'ops']
    call(pve, '_user_update', userid='alice@pve', groups='audit')
    user = call(pve, '_user_read', userid='alice@pve')
    assert user['groups'] == ['audit'] and user['enable'] == 0
    pve.add_token('alice@pve', 'ci')
    call(pve, '_acl_update', path='/', roles='PVEAuditor', users='alice@pve', tokens='alice@pve!ci')
    call(pve, '_user_delete', userid='alice@pve')
    assert not pve.user_exists('alice@pve')
    assert pve.acl_entries == [] and 'alice@pve!ci' not in pve.apitokens
    assert 'alice@pve' not in pve.groups['audit']['users']


def test_pves_words(pve):
    call(pve, '_user_create', userid='alice@pve')
    assert error(pve, '_user_create', userid='alice@pve') == "create user failed: user 'alice@pve' already exists"
    assert error(pve, '_user_create', userid='bob@pve', groups='nope') == "create user failed: no such group 'nope'"
    assert error(pve, '_user_create', userid='bob@corp', password='secret-pw') == \
        "create user failed: auth domain 'corp' does not exist"
    assert error(pve, '_user_read', userid='bob@pve') == "no such user ('bob@pve')"
    assert error(pve, '_user_update', userid='bob@pve', comment='x') == "update user failed: no such user ('bob@pve')"
    assert error(pve, '_user_update', userid='alice@pve', groups='nope') == "update user failed: no such group 'nope'"
    assert error(pve, '_user_delete', userid='bob@pve') == "delete user failed: no such user ('bob@pve')"


def test_list_is_filtered_by_privileges(pve):
    for userid, group in (('alice@pve', 'ops'), ('bob@pve', 'audit'), ('carol@pve', None)):
        call(pve, '_user_create', userid=userid, groups=group)
    pve.users['alice@pve'] = 'pw'
    call(pve, '_acl_update', path='/access/groups/audit', roles='PVEUserAdmin', users='alice@pve')
    assert [u['userid'] for u in call(pve, '_user_index', user='alice@pve')] == ['alice@pve', 'bob@pve']
    assert {'alice@pve', 'bob@pve', 'carol@pve', 'root@pam'} <= set(u['userid'] for u in call(pve, '_user_index'))


def test_list_full_has_tokens_and_realms_are_those_of_a_fresh_install(pve):
    call(pve, '_user_create', userid='carol@pve')
    pve.add_token('carol@pve', 'ci', comment='runner')
    plain = [u for u in call(pve, '_user_index') if u['userid'] == 'carol@pve'][0]
    full = [u for u in call(pve, '_user_index', full=1) if u['userid'] == 'carol@pve'][0]
    assert 'tokens' not in plain
    assert full['tokens'] == [{'tokenid': 'ci', 'privsep': 1, 'comment': 'runner'}]
    realms = call(pve, '_realm_index')
    assert [(r['realm'], r['type']) for r in realms] == [('pam', 'pam'), ('pve', 'pve')]
    assert all(r['comment'] for r in realms)
