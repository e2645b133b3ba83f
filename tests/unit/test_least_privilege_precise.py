# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The precise reading of docs/privileges.md rows: phrase by phrase, alternatives, abbreviations, optional cases."""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

pytest.importorskip('requests')
from tests.integration.least_privilege import acl_grants, privileges_row  # noqa: E402


def test_each_phrase_on_its_own_path():
    text = '`Sys.Audit` on `/` (cluster status), `VM.Audit` on the guest, `Datastore.Audit` on the target storages'
    assert acl_grants(text, precise=True, vmid=7, storage=['a', 'b']) == {
        '/': {'Sys.Audit'}, '/vms/7': {'VM.Audit'}, '/storage/a': {'Datastore.Audit'},
        '/storage/b': {'Datastore.Audit'}}
    # The old reading puts the whole clause on its first path.
    assert acl_grants(text, vmid=7, storage='a') == {'/': {'Sys.Audit', 'VM.Audit', 'Datastore.Audit'}}


def test_alternatives_abbreviations_and_remarks():
    text = ('`Datastore.Audit` or `Datastore.AllocateSpace` on the storages it checks; change: `VM.Config.CPU`, '
            '`.Memory`, `.Disk` (+ `Datastore.AllocateSpace`) as the keys need; `Sys.Audit` and `Sys.Modify` on `/`, '
            'or `Sys.AccessNetwork` on `/nodes/<node>`')
    assert acl_grants(text, precise=True, vmid=1, storage='s', node='n') == {
        '/storage/s': {'Datastore.Audit'}, '/vms/1': {'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Disk'},
        '/': {'Sys.Audit', 'Sys.Modify'}}
    assert acl_grants(text, precise=True, pick=1, vmid=1, storage='s', node='n') == {
        '/storage/s': {'Datastore.AllocateSpace'}, '/vms/1': {'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Disk'},
        '/nodes/n': {'Sys.AccessNetwork'}}


def test_alternative_paths_optional_cases_and_versions():
    text = ('create: `VM.Allocate` on `/vms/<vmid>` or `/pool/<pool>`, `SDN.Use` on `/sdn/zones/<zone>/<bridge>`; '
            'move into a pool: `Pool.Allocate` on `/pool/<pool>`; `Sys.Modify` on `/` for a privileged container; '
            '`VM.Monitor` (PVE 8) or `VM.GuestAgent.Audit` (PVE 9) on `/vms/<vmid>`')
    # No pool given: the pool's phrase does not apply; the VM's path is the one whose values are given.
    assert acl_grants(text, major=9, precise=True, skip=('privileged container',), vmid=5, zone='z',
                      bridge=['b1', 'b2']) == {
        '/vms/5': {'VM.Allocate', 'VM.GuestAgent.Audit'}, '/sdn/zones/z/b1': {'SDN.Use'},
        '/sdn/zones/z/b2': {'SDN.Use'}}
    assert acl_grants(text, major=8, precise=True, pool='web', zone='z', bridge='b') == {
        '/pool/web': {'VM.Allocate', 'Pool.Allocate'}, '/sdn/zones/z/b': {'SDN.Use'}, '/': {'Sys.Modify'}}


def test_qualified_rows():
    source = privileges_row('pve_migrate')
    target = privileges_row('pve_migrate (target cluster)')
    assert source != target and 'Sys.Incoming' in target[1] and 'Sys.Incoming' not in source[1]
    assert privileges_row('proxmox')[0].startswith('PVE:')
    grants = acl_grants(';'.join(target), major=9, precise=True, vmid=1102, storage='s', zone='localnetwork',
                        bridge='vmbr1')
    assert grants['/'] == {'Sys.Audit', 'Sys.Incoming'} and 'VM.Config.CDROM' in grants['/vms/1102']
