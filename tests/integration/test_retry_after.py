# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retry-After end to end: a rate-limiting proxy in front of a lab cluster (LabPve.throttle) answers 429 and 503 with
Retry-After; a module waits what the server asks, within its timeout, and sends a refused write again exactly once."""

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook

ESTATE = dict(clusters=1, nodes=1, guests=2)


def config_writes(pve, vmid, since):
    return [(method, path) for method, path, _body in pve.requests[since:]
            if method in ('POST', 'PUT') and path.endswith('/qemu/{0}/config'.format(vmid))]


@pytest.mark.lab(**ESTATE)
def test_reads_and_writes_wait_for_retry_after(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    vm = [vm for vm in pve.vms if not vm.lock and not vm.template and vm.status != 'running'][0]
    memory = int(str(vm.config.get('memory') or 2048)) + 512
    # The guest list (a read) is refused once with 503, the config update (a write) once with 429, each with
    # a Retry-After of one second.
    pve.throttle('GET', '/cluster/resources', status=503, retry_after='1')
    pve.throttle('POST', '/qemu/{0}/config'.format(vm.vmid), status=429, retry_after='1')
    pve.throttle('PUT', '/qemu/{0}/config'.format(vm.vmid), status=429, retry_after='1')
    since = len(pve.requests)
    run = run_playbook(target('retry_after'), lab_fn, extra_vars={
        'pve': pve_vars(cluster), 'vm': {'vmid': vm.vmid, 'memory': memory}})
    assert run.ok, run.explain()
    refused = [(method, path.split('/api2/json', 1)[-1]) for method, path in pve.throttled]
    assert ('GET', '/cluster/resources') in refused
    assert [m for m, p in refused if p.endswith('/config')], refused
    # The write the proxy refused reached the API once, after the wait.
    assert len(config_writes(pve, vm.vmid, since)) == 1
    assert int(str(vm.config['memory'])) == memory


@pytest.mark.lab(**ESTATE)
def test_a_retry_after_beyond_the_timeout_fails_at_once(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    vm = [vm for vm in pve.vms if not vm.lock and not vm.template and vm.status != 'running'][0]
    before = str(vm.config.get('memory'))
    for method in ('POST', 'PUT'):
        pve.throttle(method, '/qemu/{0}/config'.format(vm.vmid), status=429, retry_after='3600')
    since = len(pve.requests)
    run = run_playbook(target('retry_after'), lab_fn, extra_vars={
        'pve': pve_vars(cluster), 'vm': {'vmid': vm.vmid, 'memory': int(before or 2048) + 512},
        'throttle_long': True})
    assert run.ok, run.explain()
    assert len(pve.throttled) == 1
    assert config_writes(pve, vm.vmid, since) == []
    assert str(vm.config.get('memory')) == before
