# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Groups as PVE/API2/Group.pm keeps them: update of the comment, PVE's words under the user.cfg lock, and the list
filtered to the groups the caller may see."""

import asyncio

import pytest
from fakepve.model import PveError

from tests.lab.pve import LabPve


@pytest.fixture
def pve():
    pve = LabPve(name='groups', nodes=('pve1',))
    pve.users['alice@pve'] = 'pw'
    pve.add_group('ops', users=('alice@pve',), comment='operators')
    pve.add_group('audit')
    return pve


def call(pve, handler, user='root@pam', **values):
    return asyncio.run(getattr(pve, handler)(values, user))


def test_update_sets_the_comment(pve):
    call(pve, '_grp_update', groupid='ops', comment='night shift')
    assert call(pve, '_grp_read', groupid='ops') == {'members': ['alice@pve'], 'comment': 'night shift'}


@pytest.mark.parametrize('handler, action', [('_grp_update', 'update'), ('_grp_delete', 'delete')])
def test_missing_group_in_pves_words(pve, handler, action):
    with pytest.raises(PveError) as caught:
        call(pve, handler, groupid='nope', comment='x')
    assert caught.value.message == "{0} group failed: group 'nope' does not exist".format(action)


def test_list_shows_only_the_groups_the_caller_may_see(pve):
    call(pve, '_acl_update', path='/access/groups/ops', roles='PVEAuditor', users='alice@pve')
    assert [g['groupid'] for g in call(pve, '_grp_index', user='alice@pve')] == ['ops']
    assert [g['groupid'] for g in call(pve, '_grp_index')] == ['audit', 'ops']
