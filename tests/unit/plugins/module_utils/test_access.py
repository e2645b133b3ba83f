# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.access: ACL paths normalised as PVE does, ids checked, and the plan of one path's entries."""

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils import access
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


def entry(ugid, role, path='/vms/100', kind='user', propagate=1):
    return {'path': path, 'type': kind, 'ugid': ugid, 'roleid': role, 'propagate': propagate}


@pytest.mark.parametrize('given, expected', [('/', '/'), ('//vms//100/', '/vms/100'), ('/storage/local', '/storage/local')])
def test_normalize_path(given, expected):
    assert access.normalize_path(given) == expected


def test_relative_path_is_refused():
    with pytest.raises(ProxmoxConfigError, match="ACL path 'vms/100' is not valid"):
        access.normalize_path('vms/100')


@pytest.mark.parametrize('kind, ident', [('user', 'alice'), ('token', 'alice@pve'), ('token', 'ansible'),
                                         ('group', 'a b')])
def test_bad_ids_are_refused(kind, ident):
    with pytest.raises(ProxmoxConfigError, match='is not valid'):
        access.check_ids(kind, [ident])


def test_present_entries_make_no_write():
    current = [entry('alice@pve', 'R'), entry('alice@pve!t', 'R', kind='token')]
    todo = access.plan(current, '/vms/100', ['R'], {'user': ['alice@pve'], 'token': ['alice@pve!t']})
    assert not todo.changed
    assert todo.before == todo.after


def test_missing_entry_is_one_put_of_every_pair():
    todo = access.plan([entry('alice@pve', 'R')], '/vms/100', ['R', 'S'], {'user': ['alice@pve'], 'group': ['ops']})
    assert todo.put == {'path': '/vms/100', 'roles': 'R,S', 'propagate': 1, 'users': 'alice@pve', 'groups': 'ops'}
    assert todo.deletes == []
    assert len(todo.after) == 4 and len(todo.before) == 1


def test_propagate_difference_is_an_update():
    todo = access.plan([entry('alice@pve', 'R')], '/vms/100', ['R'], {'user': ['alice@pve']}, propagate=False)
    assert todo.put['propagate'] == 0
    assert todo.before[0]['propagate'] is True and todo.after[0]['propagate'] is False


def test_other_entries_and_paths_are_left_alone_without_purge():
    current = [entry('bob@pve', 'R'), entry('alice@pve', 'R', path='/')]
    todo = access.plan(current, '/vms/100', ['R'], {'user': ['alice@pve']})
    assert todo.deletes == []
    assert [e['ugid'] for e in todo.final] == ['alice@pve', 'bob@pve']
    assert [e['ugid'] for e in todo.before + todo.after] == ['alice@pve']


def test_purge_removes_per_role_only_the_others_of_the_path():
    current = [entry('alice@pve', 'R'), entry('bob@pve', 'R'), entry('alice@pve', 'S'), entry('ops', 'S', kind='group'),
               entry('carol@pve', 'R', path='/')]
    todo = access.plan(current, '/vms/100', ['R'], {'user': ['alice@pve']}, purge=True)
    assert todo.put is None
    # One removal per role, so that no role x member pair the task keeps is ever named in a delete.
    assert todo.deletes == [{'path': '/vms/100', 'roles': 'R', 'delete': 1, 'users': 'bob@pve'},
                            {'path': '/vms/100', 'roles': 'S', 'delete': 1, 'groups': 'ops', 'users': 'alice@pve'}]
    assert todo.final == [access.canonical(entry('alice@pve', 'R'))]
    assert len(todo.before) == 4 and len(todo.after) == 1


def test_absent_removes_only_the_named_entries_that_exist():
    current = [entry('alice@pve', 'R'), entry('bob@pve', 'R')]
    todo = access.plan(current, '/vms/100', ['R', 'S'], {'user': ['alice@pve']}, state='absent')
    assert todo.deletes == [{'path': '/vms/100', 'roles': 'R', 'delete': 1, 'users': 'alice@pve'}]
    assert [e['ugid'] for e in todo.final] == ['bob@pve']
    assert todo.after == []
    assert not access.plan(current, '/vms/100', ['S'], {'user': ['alice@pve']}, state='absent').changed
