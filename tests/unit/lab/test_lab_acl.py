# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACLs as pve-access-control computes them: PVE/AccessControl.pm `roles` (walk from `/` down, the most specific
path wins, user entries override group entries on the same path, `propagate`, NoAccess) and PVE/RPCEnvironment.pm
`permissions` / compile_acl_path (pool roles, privilege-separated tokens get the intersection with their user)."""

import pytest

from tests.lab.areas.tokens import AclEntry, acl_levels
from tests.lab.pve import LabPve


@pytest.fixture
def pve():
    pve = LabPve(name='acl', nodes=('pve1',))
    pve.users['alice@pve'] = 'pw'
    pve.users['bob@pve'] = 'pw'
    return pve


def put(pve, path, role, propagate=1, **who):
    """PUT /access/acl as its handler does (no HTTP)."""
    import asyncio
    values = dict(path=path, roles=role, propagate=propagate, **who)
    asyncio.run(pve._acl_update(values, 'root@pam'))  # pylint: disable=protected-access


def test_levels():
    assert acl_levels('/') == ['/']
    assert acl_levels('/vms/100') == ['/', '/vms', '/vms/100']


def test_most_specific_path_wins(pve):
    put(pve, '/', 'PVEVMAdmin', users='alice@pve')
    put(pve, '/vms/100', 'PVEAuditor', users='alice@pve')
    assert pve.allowed('alice@pve', '/vms/101', 'VM.PowerMgmt')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    # The more specific entry replaces the one on / (they do not add up).
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.PowerMgmt')


def test_noaccess_hides_a_guest_despite_a_role_above(pve):
    put(pve, '/', 'PVEVMAdmin', users='alice@pve')
    put(pve, '/vms/100', 'NoAccess', users='alice@pve')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    assert pve.allowed('alice@pve', '/vms/101', 'VM.Audit')
    # NoAccess wins over any other role on the same path.
    put(pve, '/vms/101', 'NoAccess', users='alice@pve')
    put(pve, '/vms/101', 'PVEVMAdmin', users='alice@pve')
    assert not pve.allowed('alice@pve', '/vms/101', 'VM.Audit')


def test_propagate_zero_counts_on_its_own_path_only(pve):
    put(pve, '/vms', 'PVEVMAdmin', propagate=0, users='alice@pve')
    assert pve.allowed('alice@pve', '/vms', 'VM.Allocate')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    # A non-propagating entry below does not hide a propagating one above on deeper paths.
    put(pve, '/', 'PVEAuditor', users='bob@pve')
    put(pve, '/vms', 'PVEVMAdmin', propagate=0, users='bob@pve')
    assert pve.allowed('bob@pve', '/vms/100', 'VM.Audit')
    assert not pve.allowed('bob@pve', '/vms/100', 'VM.PowerMgmt')


def test_groups_and_user_entries_override_them(pve):
    pve.add_group('ops', users=['alice@pve', 'bob@pve'])
    put(pve, '/', 'PVEVMAdmin', groups='ops')
    assert pve.allowed('bob@pve', '/vms/100', 'VM.PowerMgmt')
    # alice's own entry on the same path overrides the group's.
    put(pve, '/', 'PVEAuditor', users='alice@pve')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.PowerMgmt')
    # A group entry deeper down still replaces the user's entry above (most specific first).
    put(pve, '/vms/100', 'PVEVMAdmin', groups='ops')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.PowerMgmt')


def test_privilege_separated_token_gets_the_intersection(pve):
    pve.add_token('alice@pve', 'ci', privsep=1)
    pve.add_token('alice@pve', 'full', privsep=0)
    put(pve, '/', 'PVEVMAdmin', users='alice@pve')
    put(pve, '/vms/100', 'NoAccess', users='alice@pve')
    put(pve, '/', 'Administrator', tokens='alice@pve!ci')
    # The token's Administrator is cut down to what alice holds.
    assert pve.allowed('alice@pve!ci', '/vms/101', 'VM.PowerMgmt')
    assert not pve.allowed('alice@pve!ci', '/', 'Sys.Modify')
    assert not pve.allowed('alice@pve!ci', '/vms/100', 'VM.Audit')
    # Without privilege separation the token is its user.
    assert pve.allowed('alice@pve!full', '/vms/101', 'VM.PowerMgmt')
    assert not pve.allowed('alice@pve!full', '/vms/100', 'VM.Audit')
    # The token's own most specific entry counts too.
    put(pve, '/vms/101', 'PVEAuditor', tokens='alice@pve!ci')
    assert not pve.allowed('alice@pve!ci', '/vms/101', 'VM.PowerMgmt')


def test_pool_roles(pve):
    pve.pools['web'] = {100}
    pve.pool_info['web'] = {'storage': set()}
    put(pve, '/pool/web', 'PVEVMAdmin', users='alice@pve')
    assert pve.allowed('alice@pve', '/vms/100', 'VM.PowerMgmt')
    assert not pve.allowed('alice@pve', '/vms/101', 'VM.Audit')
    # A NoAccess on the guest is never trumped by its pool.
    put(pve, '/vms/100', 'NoAccess', users='alice@pve')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.Audit')
    # A NoAccess on the pool trumps the guest's own entries.
    put(pve, '/pool/web', 'NoAccess', users='bob@pve')
    put(pve, '/vms/100', 'PVEVMAdmin', users='bob@pve')
    assert not pve.allowed('bob@pve', '/vms/100', 'VM.Audit')


def test_grant_entries_follow_the_same_rule(pve):
    pve.grant('alice@pve', '/', 'VM.Audit', 'VM.PowerMgmt')
    pve.grant('alice@pve', '/vms/100', 'VM.Audit')
    assert not pve.allowed('alice@pve', '/vms/100', 'VM.PowerMgmt')
    assert isinstance(pve.acl['alice@pve'][0], tuple) and not isinstance(pve.acl['alice@pve'][0], AclEntry)


@pytest.mark.lab(clusters=1, nodes=1, guests=2)
def test_lists_leave_out_what_the_caller_may_not_see(lab_fn, api):
    cluster = lab_fn.clusters[0]
    root = api(cluster)
    first, second = sorted(vm.vmid for vm in cluster.pve.vms)[:2]
    cluster.pve.users['viewer@pve'] = 'viewer-secret'
    root.access.groups.post(groupid='viewers')
    cluster.pve.groups['viewers']['users'].add('viewer@pve')
    root.access.acl.put(path='/', roles='PVEAuditor', groups='viewers')
    root.access.acl.put(path='/vms/{0}'.format(first), roles='NoAccess', users='viewer@pve')
    viewer = api(cluster, auth='ticket', user='viewer@pve', password='viewer-secret')
    vmids = [g['vmid'] for g in viewer.cluster.resources.get(type='vm')]
    assert first not in vmids and second in vmids
    # Storage lists too.
    root.access.acl.put(path='/storage/local', roles='NoAccess', users='viewer@pve')
    assert 'local' not in [s['storage'] for s in viewer.storage.get()]
    assert 'local-lvm' in [s['storage'] for s in viewer.storage.get()]
    node = cluster.nodes[0]
    assert 'local' not in [s['storage'] for s in viewer.nodes(node).storage.get()]
    assert 'local-lvm' in [s['storage'] for s in viewer.nodes(node).storage.get()]
    assert root.access.groups.get() == [{'groupid': 'viewers', 'users': 'viewer@pve'}]
    # Removing the group removes its ACL entries.
    root.access.groups('viewers').delete()
    assert not [e for e in root.access.acl.get() if e['type'] == 'group']
    assert viewer.cluster.resources.get(type='vm') == []
