# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_vm through ansible-playbook against the lab: life cycle, power states, bad input, faults, clones.

The life cycle and bad-input tests use the session's estate (unique names, everything they make is removed); the
tests that change the lab's behaviour (locks, slow shutdowns, nextid races) or convert VMs have their own estate.
Beyond the playbooks' own assertions, the lab's state and the requests it received are checked here: a changed
field is the only one sent, bad input writes nothing, a no-change run on a running VM reads at most three times.
"""

from urllib.parse import parse_qs

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.areas._common import set_lock
from tests.lab.pytest_plugin import run_playbook

# lab1 (PVE 9) of a 1 x 2 estate with 6 guests: VMs 100 (running) and 102 on n1, 101 and 105 (running) on n2,
# 104 on n1; 103 is a container.
ESTATE = dict(clusters=1, nodes=2, guests=6)


def writes(pve, since):
    """The requests other than GET the lab received since index `since`."""
    return [(method, path, body) for method, path, body in pve.requests[since:] if method != 'GET']


def form(body):
    return dict((key, values[0]) for key, values in parse_qs(body.decode() if isinstance(body, bytes) else body).items())


@pytest.mark.parametrize('cluster_index', [0, 1], ids=['pve9', 'pve8'])
def test_life_cycle(lab, cluster_index):
    cluster = lab.clusters[cluster_index]
    pve = cluster.pve
    name = 'itest-vm-life-{0}'.format(cluster.name)
    since = len(pve.requests)
    run = run_playbook(target('pve_vm'), lab, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'vm_name': name, 'node': cluster.nodes[1]})
    assert run.ok, run.explain()
    assert not [vm for vm in pve.vms if vm.name == name]
    sent = writes(pve, since)
    created = [form(body) for method, path, body in sent if method == 'POST' and path.endswith('/qemu')]
    assert len(created) == 1
    vmid = created[0]['vmid']
    # The cloud-init password went to the API once (creation), never on the runs that gave another one.
    config_writes = [form(body) for method, path, body in sent
                     if path.endswith('/qemu/{0}/config'.format(vmid)) and method in ('POST', 'PUT')]
    # The memory change sent the memory and nothing else.
    assert config_writes[0] == {'memory': '4096'}
    assert not [body for body in config_writes if 'cipassword' in body]
    # The disk to destroy went to unlink with force (PVE then destroys the volume instead of keeping unusedN).
    unlinks = [form(body) for method, path, body in sent if path.endswith('/qemu/{0}/unlink'.format(vmid))]
    assert unlinks == [{'idlist': 'virtio1', 'force': '1'}]
    resizes = [form(body) for method, path, body in sent if path.endswith('/qemu/{0}/resize'.format(vmid))]
    assert resizes == [{'disk': 'scsi0', 'size': '10G'}]
    # The volume of the unused disk is destroyed, and so are the others with the VM.
    assert not [vol for store in pve.storages.values() for vol in store.get('volumes', {}).values()
                if str(vol.get('vmid')) == vmid]


def test_no_change_on_a_running_vm_reads_three_times_at_most(lab):
    cluster = lab.clusters[0]
    pve = cluster.pve
    running = [vm for vm in pve.vms if vm.status == 'running' and not vm.lock and not vm.template][0]
    play = target('pve_vm', 'started.yml')
    since = len(pve.requests)
    run = run_playbook(play, lab, extra_vars={'pve': pve_vars(cluster), 'vm': {
        'vmid': running.vmid, 'memory': int(str(running.config['memory']))}})
    assert run.ok, run.explain()
    requests = [(method, path) for method, path, _body in pve.requests[since:]]
    assert [method for method, _path in requests] == ['GET'] * len(requests)
    assert len(requests) <= 3, requests


def test_bad_input_fails_before_any_write(lab):
    cluster = lab.clusters[0]
    pve = cluster.pve
    existing = [vm for vm in pve.vms if 'scsi0' in vm.config and not vm.lock][0]
    twins = [pve.add_vm(vmid, 'itest-vm-twin', node=cluster.nodes[idx]) for idx, vmid in enumerate((990, 991))]
    try:
        since = len(pve.requests)
        run = run_playbook(target('pve_vm', 'bad_input.yml'), lab, extra_vars={
            'pve': pve_vars(cluster), 'node': cluster.nodes[0], 'twin_name': 'itest-vm-twin',
            'existing': {'vmid': existing.vmid, 'name': existing.name, 'node': existing.node}})
        assert run.ok, run.explain()
        assert writes(pve, since) == []
    finally:
        for twin in twins:
            pve.vms.remove(twin)


def test_power_states(lab):
    cluster = lab.clusters[0]
    pve = cluster.pve
    name = 'itest-vm-power'
    run = run_playbook(target('pve_vm', 'power.yml'), lab, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'vm_name': name, 'node': cluster.nodes[0]})
    assert run.ok, run.explain()
    assert not [vm for vm in pve.vms if vm.name == name]
    kinds = [task['type'] for task in pve.tasklog]
    assert 'qmsuspend' in kinds and 'qmreboot' in kinds and 'qmshutdown' in kinds


@pytest.mark.lab(**ESTATE)
def test_locks_slow_shutdowns_and_nextid_races(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    set_lock(pve.vm(101), 'backup')
    set_lock(pve.vm(102), 'backup')
    # The backup of 102 ends after three more reads of the cluster's guests: the module must wait for it.
    pve.lock_release_reads = {102: 3}
    pve.vm(100).shutdown_secs = 3600
    pve.nextid_races = 2
    taken = [vm.vmid for vm in pve.vms]
    run = run_playbook(target('pve_vm', 'faults.yml'), lab_fn, extra_vars={
        'pve': pve_vars(cluster), 'node': cluster.nodes[0], 'vm_name': 'itest-vm-raced',
        'locked': {'vmid': 101, 'memory': int(pve.vm(101).config['memory'])}, 'released': {'vmid': 102},
        'slow': {'vmid': 100}})
    assert run.ok, run.explain()
    assert pve.vm(101).lock == 'backup' and pve.vm(101).config['memory'] != '3072'
    assert pve.vm(102).lock is None and pve.vm(102).config['memory'] == '3072'
    assert pve.vm(100).status == 'stopped'
    # Two ids went to the racers; the module's VM got another free one (and was removed again).
    racers = sorted(vm.vmid for vm in pve.vms if vm.name.startswith('racer-'))
    assert len(racers) == 2 and not set(racers) & set(taken)
    created = [int(task['id']) for task in pve.tasklog if task['type'] == 'qmcreate']
    assert len(created) == 1 and created[0] not in set(racers) | set(taken)


@pytest.mark.lab(**ESTATE)
def test_template_and_clones(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    cluster.pve.pools['itest-pool'] = set()
    run = run_playbook(target('pve_vm', 'clone.yml'), lab_fn, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'node': cluster.nodes[0], 'prefix': 'itest-vm', 'full_vmid': 950,
        'pool': 'itest-pool'})
    assert run.ok, run.explain()
    pool_updates = [(path, form(body)) for method, path, body in cluster.pve.requests if method == 'PUT' and '/pools' in path]
    assert pool_updates == [('/api2/json/pools/itest-pool', {'vms': '950', 'allow-move': '1'})]
    assert [task['type'] for task in pve.tasklog].count('qmclone') == 2
    assert not [vm for vm in pve.vms if vm.name.startswith('itest-vm')]


@pytest.mark.lab(**ESTATE)
def test_delete_honours_protection_and_running_vms(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    pve.vm(101).config['protection'] = 1
    pve.vm(105).ha_state = 'started'
    volumes = pve.storages['local-lvm'].setdefault('volumes', {})
    for vmid in (101, 105):
        volumes['vm-{0}-disk-9'.format(vmid)] = {'content': 'images', 'format': 'raw', 'size': 1024 ** 3, 'vmid': vmid}
    since = len(pve.requests)
    run = run_playbook(target('pve_vm', 'delete.yml'), lab_fn, extra_vars={
        'pve': pve_vars(cluster), 'protected': {'vmid': 101}, 'running': {'vmid': 105}})
    assert run.ok, run.explain()
    assert pve.vm(101) is None and pve.vm(105) is None
    # Only the delete that asked for it destroyed the volume no configuration referred to.
    assert 'vm-101-disk-9' not in volumes and 'vm-105-disk-9' in volumes
    deletes = [(path, body) for method, path, body in writes(pve, since) if method == 'DELETE']
    assert [path.rsplit('/', 1)[-1] for path, _body in deletes] == ['101', '105']
    # purge (a query parameter of the DELETE) took the HA-managed VM out of HA, as the task log says.
    destroyed = [task for task in pve.tasklog if task['type'] == 'qmdestroy' and task['id'] == '105']
    assert any('removed VM 105 from HA resource configuration' in line for line in destroyed[0]['log'])


@pytest.mark.lab(**ESTATE)
def test_hotplug_pending_and_refused_hotplug(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    vm = pve.vm(100)
    refusal = "VM 100 qmp command 'device_add' failed - Bus 'scsihw0' does not support hotplugging"
    pve.qemu_refusals = {100: {'scsi5': refusal, 'scsi6': refusal}}
    # A stopped VM with a change left pending from when it ran.
    pve.vm(102).pending = {'cores': '4'}
    since = len(pve.requests)
    run = run_playbook(target('pve_vm', 'hotplug.yml'), lab_fn, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'vmid': 100, 'stopped_vmid': 102, 'refusal': refusal})
    assert run.ok, run.explain()
    # The pending disk's resize was refused before any write, then made once, after the reboot that attached it.
    calls = [path for method, path, _body in pve.requests[since:] if method != 'GET']
    resizes = [i for i, path in enumerate(calls) if path.endswith('/resize')]
    reboots = [i for i, path in enumerate(calls) if path.endswith('/status/reboot')]
    assert len(resizes) == 1 and reboots and reboots[0] < resizes[0], calls
    assert vm.pending == {} and vm.config['memory'] == '3072'
    assert pve.vm(102).pending == {} and str(pve.vm(102).config['cores']) == '4'
    warned = run.result('A refused hot-plug with apply_pending reboot is applied by the reboot').get('warnings') or []
    assert [w for w in warned if 'hotplug problem - ' + refusal in w and 'the reboot applies them' in w], warned


@pytest.mark.lab(**ESTATE)
def test_least_privilege_life_cycle_power_and_clones(lab_fn):
    """A privilege-separated token holding only what docs/privileges.md lists for pve_vm, on the ids the runs may
    get (106 and up from nextid, 950 for the full clone), local-lvm, vmbr0 and the pool: create, change, power,
    template, clone and remove. The guests already there are invisible to it and untouched."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    pve.pools['itest-pool'] = set()
    before = dict((vm.vmid, dict(vm.config)) for vm in pve.vms)
    ids = list(range(106, 112)) + [950]
    users = []
    # PVE deletes a destroyed guest's ACL entries: each play (whose ids nextid hands out again) gets its own token.
    for play, extra in (('playbook.yml', {'vm_name': 'itest-vm-lp', 'node': cluster.nodes[1]}),
                        ('power.yml', {'vm_name': 'itest-vm-lp-power', 'node': cluster.nodes[0]}),
                        ('clone.yml', {'node': cluster.nodes[0], 'prefix': 'itest-vm-lp', 'full_vmid': 950,
                                       'pool': 'itest-pool'})):
        users.append('lp-vm-{0}@pve'.format(play.split('.', maxsplit=1)[0]))
        token = least_privilege_token(cluster, 'pve_vm', precise=True, user=users[-1], vmid=ids, source=ids,
                                      storage='local-lvm', zone='localnetwork', bridge='vmbr0', pool='itest-pool')
        run = run_playbook(target('pve_vm', play), lab_fn, diff=True, extra_vars=dict(extra, pve=token))
        assert run.ok, (play, run.explain())
    # The destroyed guests' ACL entries went with them (remove_vm_access).
    assert not [e for e in pve.acl_entries if e['path'] in ('/vms/106', '/vms/950')]
    assert not [vm for vm in pve.vms if vm.name.startswith('itest-vm-lp')]
    kinds = [task['type'] for task in pve.tasklog]
    assert 'qmcreate' in kinds and 'qmclone' in kinds and 'qmdestroy' in kinds and 'qmreboot' in kinds
    assert set(task['user'].partition('!')[0] for task in pve.tasklog) == set(users)
    assert dict((vm.vmid, dict(vm.config)) for vm in pve.vms) == before
