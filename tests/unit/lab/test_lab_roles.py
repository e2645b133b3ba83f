# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roles as pve-access-control keeps them: the built-in roles of PVE/AccessControl.pm create_roles, read-only, and
the custom ones of PVE/API2/Role.pm (create, read, update with `append`, delete), with PVE's words."""

import asyncio

import pytest
from fakepve.model import PveError

from tests.lab.areas.tokens import ROLES
from tests.lab.pve import LabPve


@pytest.fixture
def pve():
    pve = LabPve(name='roles', nodes=('pve1',))
    pve.users['alice@pve'] = 'pw'
    return pve


def call(pve, handler, **values):
    return asyncio.run(getattr(pve, handler)(values, 'root@pam'))


def error(pve, handler, **values):
    with pytest.raises(PveError) as caught:
        call(pve, handler, **values)
    return caught.value


def test_builtin_roles_follow_access_control():
    assert ROLES['PVESysAdmin'] == {'Sys.Audit', 'Sys.Console', 'Sys.Syslog'}
    assert ROLES['PVEVMUser'] == {'VM.Audit', 'VM.GuestAgent.Audit', 'VM.Config.CDROM', 'VM.Config.Cloudinit',
                                  'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileSystemMgmt',
                                  'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'}
    assert ROLES['PVETemplateUser'] == {'VM.Clone', 'VM.Audit'}
    assert ROLES['PVEAuditor'] == {'VM.Audit', 'VM.GuestAgent.Audit', 'Sys.Audit', 'Datastore.Audit', 'SDN.Audit',
                                   'Pool.Audit', 'Mapping.Audit'}
    # Root-only privileges and Mapping.Modify are not PVEAdmin's; no User role (its group has no user privileges).
    assert not ROLES['PVEAdmin'] & {'Sys.Modify', 'Sys.PowerMgmt', 'Realm.Allocate', 'Mapping.Modify',
                                    'Permissions.Modify'}
    assert 'PVEUserUser' not in ROLES and 'PVESysUser' not in ROLES
    assert ROLES['PVEUserAdmin'] == {'User.Modify', 'Group.Allocate', 'Realm.AllocateUser'}


def test_index_marks_builtin_roles_special(pve):
    call(pve, '_role_create', roleid='Snap', privs='VM.Snapshot,VM.Audit')
    roles = dict((role['roleid'], role) for role in call(pve, '_role_index'))
    assert roles['Snap'] == {'roleid': 'Snap', 'privs': 'VM.Audit,VM.Snapshot', 'special': 0}
    assert roles['PVETemplateUser'] == {'roleid': 'PVETemplateUser', 'privs': 'VM.Audit,VM.Clone', 'special': 1}
    assert call(pve, '_role_read', roleid='Snap') == {'VM.Audit': 1, 'VM.Snapshot': 1}


def test_builtin_roles_are_read_only(pve):
    assert error(pve, '_role_update', roleid='PVEAuditor', privs='VM.Audit').message == \
        "auto-generated role 'PVEAuditor' cannot be modified"
    assert error(pve, '_role_delete', roleid='NoAccess').message == "auto-generated role 'NoAccess' cannot be deleted"


def test_update_replaces_or_appends_and_checks_privileges(pve):
    call(pve, '_role_create', roleid='Snap', privs='VM.Snapshot')
    call(pve, '_role_update', roleid='Snap', privs='VM.Audit', append=1)
    assert pve.custom_roles['Snap'] == {'VM.Audit', 'VM.Snapshot'}
    call(pve, '_role_update', roleid='Snap', privs='Sys.Audit')
    assert pve.custom_roles['Snap'] == {'Sys.Audit'}
    assert error(pve, '_role_update', roleid='Snap', privs='VM.Teleport').message == \
        "update role failed: invalid privilege 'VM.Teleport'"
    assert error(pve, '_role_update', roleid='Nope', privs='VM.Audit').message == \
        "update role failed: role 'Nope' does not exist"


def test_holders_follow_a_role_change_and_its_removal(pve):
    call(pve, '_role_create', roleid='Snap', privs='VM.Snapshot')
    call(pve, '_acl_update', path='/vms', roles='Snap', users='alice@pve')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.Snapshot')
    call(pve, '_role_update', roleid='Snap', privs='VM.Audit')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.Snapshot')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    call(pve, '_role_delete', roleid='Snap')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    assert call(pve, '_acl_read') == []
    assert error(pve, '_role_delete', roleid='Snap').message == "delete role failed: role 'Snap' does not exist"
