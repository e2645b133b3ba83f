# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_snapshot through ansible-playbook against two lab clusters (PVE 9 and PVE 8).

A fresh 2 x 2 estate of 8 guests (lab_fn): lab1 has VMs 100 (running), 102, 104 and 106; lab2 has VMs 101,
105 (running) and containers 103 and 107.
"""

import pytest

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.areas._common import set_lock
from tests.lab.pytest_plugin import run_playbook


def tasks_of(cluster, kind, vmid):
    return [t for t in cluster.pve.tasklog if t['type'] == kind and str(t.get('id')) == str(vmid)]


@pytest.mark.lab(clusters=2, nodes=2, guests=8)
def test_take_prune_rollback_remove(lab_fn):
    one, two = lab_fn.clusters
    assert one.version.startswith('9.') and two.version.startswith('8.')
    vm = one.pve.vm(100)
    assert vm.status == 'running'
    ct = two.pve.ct(103)
    ct.status = 'stopped'
    # Another operation holds VM 104: the module refuses it before any write.
    set_lock(one.pve.vm(104), 'backup')
    # Privilege-separated tokens holding only what docs/privileges.md lists for pve_snapshot, on these guests.
    run = run_playbook(target('pve_snapshot'), lab_fn, diff=True, extra_vars={
        'one': least_privilege_token(one, 'pve_snapshot', vmid=[100, 102, 104]),
        'two': least_privilege_token(two, 'pve_snapshot', vmid=[103]), 'ct': 103, 'retained': 102, 'locked': 104,
        'vm': {'vmid': 100, 'name': vm.name, 'node': vm.node}})
    assert run.ok, run.explain()
    # The memory went into the snapshot of the running VM (the fake records where it would be kept).
    taken = run.result('Take')['snapshot']
    assert taken['vmstate'] is True
    # One snapshot task per snapshot taken: check mode and the repeated runs took none.
    assert len(tasks_of(one, 'qmsnapshot', 100)) == 1
    assert len(tasks_of(one, 'qmsnapshot', 102)) == 5
    assert tasks_of(one, 'qmsnapshot', 104) == [] and one.pve.vm(104).snapshots == {}
    # The retention removed nightly-1..3 (two in one run, one in the next) and nothing else.
    assert len(tasks_of(one, 'qmdelsnapshot', 102)) == 3 + 2  # + the cleanup of nightly-4 and keep-me
    assert len(tasks_of(two, 'vzrollback', 103)) == 1
    # The rollback started the container; the cleanup left no snapshot behind.
    assert two.pve.ct(103).status == 'running'
    assert vm.snapshots == {} and one.pve.vm(102).snapshots == {} and two.pve.ct(103).snapshots == {}
    assert one.pve.vm(104).lock == 'backup'
