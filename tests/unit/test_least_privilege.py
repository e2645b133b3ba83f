# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The least-privilege helper of the integration tests reads docs/privileges.md as a person would."""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

pytest.importorskip('requests')
from tests.integration.least_privilege import acl_grants, privileges_row  # noqa: E402


def test_the_snapshot_row():
    read, write = privileges_row('pve_snapshot')
    assert acl_grants(read + ';' + write, vmid=[100, 102]) == {
        '/vms/100': {'VM.Audit', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.PowerMgmt'},
        '/vms/102': {'VM.Audit', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.PowerMgmt'}}


def test_paths_words_and_kinds():
    text = ('`Sys.Audit` on `/` (cluster status); `VM.Audit` on the guests (`/cluster/resources`); '
            '`Sys.Syslog` on `/nodes/<node>`; `Datastore.AllocateSpace` on every storage; `Pool.Allocate`')
    assert acl_grants(text, vmid=7, node='pve1', storage='local', pool='web') == {
        '/': {'Sys.Audit'}, '/vms/7': {'VM.Audit'}, '/nodes/pve1': {'Sys.Syslog'},
        '/storage/local': {'Datastore.AllocateSpace'}, '/pool/web': {'Pool.Allocate'}}


def test_a_missing_row_or_value_is_an_error():
    with pytest.raises(KeyError):
        privileges_row('pve_no_such_module')
    with pytest.raises(KeyError):
        acl_grants('`VM.Audit` on `/vms/<vmid>`')


def test_privileges_of_one_version():
    read, _write = privileges_row('pve_guest_info')
    assert acl_grants(read, major=9, vmid=100) == {'/vms/100': {'VM.Audit', 'VM.GuestAgent.Audit'}}
    assert acl_grants(read, major=8, vmid=100) == {'/vms/100': {'VM.Audit', 'VM.Monitor'}}


def test_one_level_of_a_row():
    text = ('cluster and security group: `Sys.Audit` on `/`; node: `Sys.Audit` on `/nodes/<node>`; guest: '
            '`VM.Audit` on `/vms/<vmid>`; `Sys.Console` on `/` (every level)')
    where = dict(node='pve1', vmid=7)
    assert acl_grants(text, level='node', **where) == {'/nodes/pve1': {'Sys.Audit'}, '/': {'Sys.Console'}}
    assert acl_grants(text, level='group', **where) == {'/': {'Sys.Audit', 'Sys.Console'}}
    assert acl_grants(text, level='guest', **where) == {'/vms/7': {'VM.Audit'}, '/': {'Sys.Console'}}
    assert acl_grants(text, **where) == {'/': {'Sys.Audit', 'Sys.Console'}, '/nodes/pve1': {'Sys.Audit'},
                                         '/vms/7': {'VM.Audit'}}
    read, write = privileges_row('pve_firewall_options')
    assert acl_grants(read + ';' + write, level='vnet', zone='z1', vnet='v1') == {
        '/sdn/zones/z1/v1': {'SDN.Audit', 'SDN.Allocate'}}


def test_the_pbs_rows():
    from tests.integration.least_privilege_pbs import pbs_grants, smallest_roles
    assert pbs_grants('pbs_info') == {'/datastore': {'Datastore.Audit'}, '/remote': {'Remote.Audit'}}
    # pbs_job: one part per job type, and the conditional privileges only when asked for
    assert pbs_grants('pbs_job', ('prune',), store='s') == {'/datastore/s': {'Datastore.Audit', 'Datastore.Modify'}}
    sync = pbs_grants('pbs_job', ('sync', 'remove_vanished', 'other_owner'), store='s', remote='r', remote_store='x')
    assert sync['/datastore/s'] == {'Datastore.Audit', 'Datastore.Backup', 'Datastore.Prune', 'Datastore.Modify'}
    assert sync['/remote/r/x'] == {'Remote.Read'}
    # the inventory's PBS part only
    assert pbs_grants('proxmox') == {'/datastore': {'Datastore.Audit'}}
    # fixed roles: the exact pair rather than DatastoreAdmin; Admin only for Datastore.Allocate
    assert smallest_roles({'Datastore.Audit', 'Datastore.Backup'}) == ['DatastoreAudit', 'DatastoreBackup']
    assert smallest_roles({'Datastore.Allocate'}) == ['Admin']
