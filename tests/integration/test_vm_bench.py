# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM benchmark's pve_vm path on a small estate, so the script does not rot (no peer, no timing assertions).

benchmarks/vm_bench.py creates VMs with pve_vm, then measures no-change runs with the lab's request log; here it
runs on three VMs once, and the numbers it reports are checked against the lab's own log.
"""

import os

import pytest

from benchmarks import vm_bench
from benchmarks._common import RequestLog, by_kind, shape

# One PVE 9 cluster of two nodes with no guest: the benchmark makes its own VMs.
pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=0, versions=['9.0.10'], pbs=False)


def test_pve_vm_path_of_the_vm_benchmark(lab_fn, tmp_path):
    pve = lab_fn.clusters[0].pve
    found = vm_bench.bench(lab_fn, str(tmp_path), count=3, runs=1, latencies=(0.0,), say=lambda _text: None)
    # The first run created and started the three VMs: the writes were counted (creates and starts).
    converge = found['converge'][vm_bench.OURS]
    assert converge['changed'] == 3
    posts = [path for method, path, _body in converge['writes'] if method == 'POST']
    assert len([p for p in posts if p.endswith('/qemu')]) == 3
    assert len([p for p in posts if p.endswith('/status/start')]) == 3
    created = dict((vm.vmid, vm) for vm in pve.vms if vm.vmid >= vm_bench.FIRST_VMID)
    assert sorted(created) == [vm_bench.FIRST_VMID + idx for idx in range(3)]
    assert all(vm.status == 'running' for vm in created.values())
    assert created[vm_bench.FIRST_VMID].config['ide2'].startswith('local-lvm:vm-{0}-cloudinit'.format(
        vm_bench.FIRST_VMID))
    # The measured run changed nothing, wrote nothing, and its counts add up to the requests the lab answered.
    [row] = found['rows']
    assert row['label'] == vm_bench.OURS
    assert row['changed'] == 0
    assert row['writes'] == 0
    assert row['requests'] > 0
    assert sum(row['by_kind'].values()) == row['requests']
    assert all(method == 'GET' for method, _path in row['by_kind'])
    assert row['by_kind'][('GET', '/api2/json/nodes/{node}/qemu/{vmid}/pending')] == 3
    text = vm_bench.report(found)
    assert '| 0 ms | {0} | 3 | 0 |'.format(vm_bench.OURS) in text
    assert '`/api2/json/nodes/{node}/qemu/{vmid}/pending` | 1 |' in text


def test_request_log_counts_what_the_lab_answers_from_the_mark(lab_fn):
    pve = lab_fn.clusters[0].pve
    log = RequestLog(lab_fn)
    pve.requests.append(('GET', '/api2/json/nodes/lab1-n1/qemu/100/status/current', b''))
    pve.requests.append(('PUT', '/api2/json/nodes/lab1-n2/qemu/100/config', b'memory=1'))
    assert log.count() == 2
    assert by_kind(log.since(), lab_fn.clusters[0].nodes) == {
        ('GET', '/api2/json/nodes/{node}/qemu/{vmid}/status/current'): 1,
        ('PUT', '/api2/json/nodes/{node}/qemu/{vmid}/config'): 1}
    log.mark()
    assert log.since() == []


@pytest.mark.parametrize('path, expected', [
    ('/api2/json/nodes/pve1/qemu/2000/pending', '/api2/json/nodes/{node}/qemu/{vmid}/pending'),
    ('/api2/json/nodes/pve1', '/api2/json/nodes/{node}'),
    ('/api2/json/nodes/pve10/lxc/101', '/api2/json/nodes/{node}/lxc/{vmid}'),
    ('/api2/json/nodes/pve1/tasks/UPID:pve1:0001:0002:0003:qmstart:2000:root@pam:/status',
     '/api2/json/nodes/{node}/tasks/{upid}/status'),
    ('/api2/json/cluster/resources', '/api2/json/cluster/resources'),
    ('/api2/json/nodes/other/qemu', '/api2/json/nodes/other/qemu'),
])
def test_shape(path, expected):
    assert shape(path, ['pve1', 'pve10']) == expected


def test_speed_path_of_the_vm_benchmark(lab_fn, tmp_path):
    """--speed without the peer: two VMs made with cores and memory, then one round of the no-change pve_vm and
    the ansible.builtin.ping floor, checked against the lab's own log."""
    pve = lab_fn.clusters[0].pve
    found = vm_bench.speed(lab_fn, str(tmp_path), count=2, rounds=1, say=lambda _text: None)
    made = found['converge'][vm_bench.SPEED_OURS]
    assert made['changed'] == 2
    created = dict((vm.vmid, vm) for vm in pve.vms if vm.vmid >= vm_bench.SPEED_FIRST_VMID)
    assert sorted(created) == [vm_bench.SPEED_FIRST_VMID, vm_bench.SPEED_FIRST_VMID + 1]
    assert all(int(vm.config['cores']) == 2 and int(vm.config['memory']) == 2048 for vm in created.values())
    rows = dict((row['label'], row) for row in found['rows'])
    assert sorted(rows) == sorted([vm_bench.SPEED_OURS, vm_bench.FLOOR])
    ours, floor = rows[vm_bench.SPEED_OURS], rows[vm_bench.FLOOR]
    assert ours['changed'] == 0 and ours['writes'] == 0
    assert ours['by_kind'] == {('GET', '/api2/json/cluster/resources'): 2,
                               ('GET', '/api2/json/nodes/{node}/qemu/{vmid}/pending'): 2}
    assert floor['requests'] == 0 and floor['changed'] == 0
    # Only the ratios whose two sides ran; each has its median and range over the rounds.
    assert [(r['top'], r['bottom']) for r in found['ratios']] == [(vm_bench.SPEED_OURS, vm_bench.FLOOR)]
    median, low, high = found['ratios'][0]['cpu']
    assert low <= median <= high and median > 0
    text = vm_bench.speed_report(found)
    assert '| {0} | 2 | 0 | 2 | 0 |'.format(vm_bench.SPEED_OURS) in text
    assert '{0} / {1}'.format(vm_bench.SPEED_OURS, vm_bench.FLOOR) in text


def test_speed_path_with_a_baseline_runs_the_same_task_from_that_commit(lab_fn, tmp_path):
    """--speed --baseline HEAD: the same no-change pve_vm from the commit's collection (git archive) in each round,
    with the before / after ratios."""
    found = vm_bench.speed(lab_fn, str(tmp_path), count=1, rounds=1, say=lambda _text: None, baseline='HEAD')
    base = os.path.join(str(tmp_path), 'baseline-collections', 'ansible_collections', 'proxfleet', 'proxmox')
    assert os.path.isfile(os.path.join(base, 'plugins', 'modules', 'pve_vm.py'))
    assert os.path.isfile(os.path.join(base, 'galaxy.yml'))
    rows = dict((row['label'], row) for row in found['rows'])
    assert rows[vm_bench.SPEED_BASE]['changed'] == 0 and rows[vm_bench.SPEED_BASE]['writes'] == 0
    assert rows[vm_bench.SPEED_BASE]['by_kind'] == rows[vm_bench.SPEED_OURS]['by_kind']
    pairs = [(r['top'], r['bottom']) for r in found['ratios']]
    assert (vm_bench.SPEED_OURS, vm_bench.SPEED_BASE) in pairs and (vm_bench.SPEED_BASE, vm_bench.FLOOR) in pairs
    assert 'Baseline: pve_vm at HEAD.' in vm_bench.speed_report(found)
