# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version gate (plugins/module_utils/versions.py) through ansible-playbook: PVE 9 options on a PVE 8.4
cluster fail before any write, in check mode too, with a message naming the key and both versions; the same
playbook applies them on PVE 9, and ordinary options work on both."""

import json
import sys

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook

pytestmark = pytest.mark.lab(clusters=2, nodes=2, guests=4, versions=['9.0.10', '8.4.14'])
WRITES = ('POST', 'PUT', 'DELETE')


def outcome(run, task, host):
    """(failed, result) of a task on a host."""
    entry = run.results(task, host)[-1]
    return entry['failed'], entry['result']


def test_pve9_options_fail_on_84_before_any_write_and_apply_on_9(lab_fn, tmp_path):
    hosts, marks = {}, {}
    for name, cluster in zip(('pve9', 'pve84'), lab_fn.clusters):
        vm = min(cluster.pve.vms, key=lambda v: v.vmid)
        ct = cluster.pve.add_ct(950, 'it-gate', node=cluster.nodes[0])
        hosts[name] = dict(pve=pve_vars(cluster), vm_vmid=vm.vmid, ct_vmid=ct.vmid, ansible_connection='local',
                           ansible_python_interpreter=sys.executable)
        marks[name] = len(cluster.pve.requests)
    inventory = tmp_path / 'inventory.json'
    inventory.write_text(json.dumps({'gate_clusters': {'hosts': hosts}}))
    run = run_playbook(target('pve_version_gate'), lab_fn, extra_args=['-i', str(inventory)])
    assert run.ok, run.explain()
    pve9, pve84 = lab_fn.clusters

    needs9 = 'exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'
    for task in ('A VM\'s allow-ksm, check mode', 'A VM\'s allow-ksm'):
        failed, result = outcome(run, task, 'pve84')
        assert failed and 'allow-ksm ' + needs9 in result['msg'], result
        assert pve84.url in result['msg']
    failed, result = outcome(run, 'A container\'s mount point with keepattrs', 'pve84')
    assert failed and 'mp0 key keepattrs ' + needs9 in result['msg'], result
    # Before any write: the 8.4 cluster saw only the description change of the last task.
    written = [(m, p, b) for m, p, b in pve84.pve.requests[marks['pve84']:] if m in WRITES]
    assert len(written) == 1 and b'description=version+gate' in written[0][2], written
    assert 'allow-ksm' not in pve84.pve.vm(hosts['pve84']['vm_vmid']).config

    # PVE 9 takes the same options: check mode and the first run change, the second does not.
    assert run.result('A VM\'s allow-ksm, check mode', host='pve9')['changed']
    assert run.result('A VM\'s allow-ksm', host='pve9')['changed']
    assert not run.result('A VM\'s allow-ksm again', host='pve9')['changed']
    failed, result = outcome(run, 'A container\'s mount point with keepattrs', 'pve9')
    assert not failed and result['changed'], result
    assert 'keepattrs=1' in str(pve9.pve.ct(950).config['mp0'])
    for name in ('pve9', 'pve84'):
        assert run.result('A VM\'s ordinary option, on both versions', host=name)['changed']
