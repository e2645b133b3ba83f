# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Automatic vmids with many creators at once: pve_vm, pve_lxc, their clones and pve_restore against the lab.

One playbook run per case: as many inventory hosts as creators, as many forks, every host creating one guest on the
same cluster without a vmid, with 20 ms of latency on every answer (the field report's setting). Every creation
must succeed with a guest of its own, within the datacenter's next-id range when one is set.
"""

import json
import sys

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=4, latency=0.02, pbs=False)
FAST = {'ANSIBLE_PIPELINING': '1'}
TEMPLATE = 'vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'
OSTEMPLATE = 'local:' + TEMPLATE
TASKS = {'vm': 'Create a VM', 'ct': 'Create a container', 'vm_clone': 'Clone a VM template',
         'ct_clone': 'Clone a container template', 'restore': 'Restore a backup as a new guest'}
RESULT_KEY = {'vm': 'vm', 'ct': 'ct', 'vm_clone': 'vm', 'ct_clone': 'ct', 'restore': 'guest'}


def api(cluster, method, path, **params):
    answer = requests.request(method, cluster.url + '/api2/json' + path, data=params or None, timeout=30,
                              verify=cluster.ca_path, headers={'Authorization': 'PVEAPIToken={0}={1}'.format(
                                  cluster.token_id, cluster.token_secret)})
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def run_creators(lab, tmp_path, kind, count, **host_vars):
    """One playbook run with `count` hosts creating a guest each; returns (run, {host: vmid from its result})."""
    cluster = lab.clusters[0]
    hosts = {}
    for index in range(count):
        name = 'c{0:02d}'.format(index)
        hosts[name] = dict(host_vars, pve=pve_vars(cluster), kind=kind, guest_name='itest-{0}-{1}'.format(
            kind.replace('_', '-'), name), ansible_connection='local', ansible_python_interpreter=sys.executable)
    inventory = tmp_path / 'inventory-{0}.json'.format(kind)
    inventory.write_text(json.dumps({'creators': {'hosts': hosts}}))
    run = run_playbook(target('vmid_concurrency'), lab, env=FAST, timeout=900,
                       extra_args=['-i', str(inventory), '--forks', str(count)])
    made = {}
    for entry in run.results(TASKS[kind]):
        if entry['status'] in ('changed', 'ok'):
            made[entry['host']] = int(entry['result'][RESULT_KEY[kind]]['vmid'])
    return run, made


def guests_named(pve, prefix):
    return dict((guest.name, guest.vmid) for guest in list(pve.vms) + list(pve.cts)
                if (guest.name or '').startswith(prefix))


def check_distinct(run, made, pve, prefix, count):
    assert run.ok, run.explain()
    assert not run.failed
    assert len(made) == count
    assert len(set(made.values())) == count
    named = guests_named(pve, prefix)
    assert len(named) == count
    assert sorted(named.values()) == sorted(made.values())


def test_fifty_vms_at_once_within_the_next_id_range(lab_fn, tmp_path):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    api(cluster, 'PUT', '/cluster/options', **{'next-id': 'lower=2000,upper=2080'})
    run, made = run_creators(lab_fn, tmp_path, 'vm', 50)
    check_distinct(run, made, pve, 'itest-vm-', 50)
    assert all(2000 <= vmid < 2080 for vmid in made.values())
