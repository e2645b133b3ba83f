# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_lxc through ansible-playbook against the lab: PVE 9 and PVE 8 clusters worked on in parallel.

Each test has its own estate (lab_fn): containers are created, locked, slowed down and deleted. The lab's `local`
storage is given the Debian template the playbooks create containers from (PVE lists it as storage content).
"""

import json
import sys
import threading

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

pytestmark = pytest.mark.lab(clusters=2, nodes=2, guests=8, pbs=False)
FAST = {'ANSIBLE_PIPELINING': '1'}
TEMPLATE = 'vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'
OSTEMPLATE = 'local:' + TEMPLATE
WRITES = ('POST', 'PUT', 'DELETE')


def both(lab):
    pve9, pve8 = lab.clusters[0], lab.clusters[1]
    assert pve9.version.startswith('9.') and pve8.version.startswith('8.')
    return pve9, pve8


def add_template(cluster):
    cluster.pve.storages['local'].setdefault('volumes', {})[TEMPLATE] = {
        'content': 'vztmpl', 'format': 'tzst', 'size': 130 * 1024 ** 2, 'ctime': 1767225600}


def add_container(cluster, vmid, name, node=None, status='stopped'):
    """A container of the lab's own (the estate's lab1 has none), with a network device on vmbr0."""
    return cluster.pve.add_ct(vmid, name, node=node or cluster.nodes[0], status=status, config={
        'net0': 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:09:{0:02X},ip=dhcp,type=veth'.format(vmid % 256)},
        ostemplate=OSTEMPLATE)


def inventory(tmp_path, hosts, group='lxc_clusters'):
    entries = {}
    for name, (cluster, host_vars) in hosts.items():
        entries[name] = dict(dict({'pve': pve_vars(cluster)}, **host_vars), ansible_connection='local',
                             ansible_python_interpreter=sys.executable)
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps({group: {'hosts': entries}}))
    return ['-i', str(path), '--forks', '5']


def api(cluster, method, path, **params):
    answer = requests.request(method, cluster.url + '/api2/json' + path, data=params or None, timeout=30,
                              verify=cluster.ca_path, headers={'Authorization': 'PVEAPIToken={0}={1}'.format(
                                  cluster.token_id, cluster.token_secret)})
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def writes(cluster, since=0):
    """The lab's write requests (method, path, body) from position `since` of its request log."""
    return [(m, p, b) for m, p, b in cluster.pve.requests[since:] if m in WRITES]


def next_free(cluster):
    taken = set(g.vmid for g in list(cluster.pve.vms) + list(cluster.pve.cts))
    return next(vmid for vmid in range(100, 1000) if vmid not in taken)


def test_create_modify_start_pending_restart_delete_template_clone(lab_fn, tmp_path):
    hosts = {}
    jobs = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        add_template(cluster)
        new, other = next_free(cluster), min(g.vmid for g in cluster.pve.vms)
        # Two backup jobs: one lists only the new container, one lists it with another guest; purge fixes both.
        only = api(cluster, 'POST', '/cluster/backup', vmid=str(new), schedule='daily', storage='local', id='it-only')
        shared = api(cluster, 'POST', '/cluster/backup', vmid='{0},{1}'.format(new, other), schedule='daily',
                     storage='local', id='it-shared')
        assert only is None and shared is None
        jobs[name] = (new, other)
        hosts[name] = (cluster, {'ct_name': 'it-ct-' + name, 'ostemplate': OSTEMPLATE})
    run = run_playbook(target('pve_lxc'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    for name, (cluster, _host_vars) in hosts.items():
        new, other = jobs[name]
        assert run.result('Create', name)['ct']['vmid'] == new
        puts = [(p, b) for m, p, b in cluster.pve.requests if m == 'PUT' and p.endswith('/lxc/{0}/config'.format(new))]
        # The one-field change sent that field only; root@pam the feature and the bind mount; start the new nameserver
        # only (the resize is its own call).
        assert puts[0][1] == b'memory=2048'
        assert puts[1][1] == b'features=keyctl%3D1%2Cnesting%3D1&mp1=%2Fsrv%2Fshare%2Cmp%3D%2Fshare%2Cro%3D1'
        assert puts[2][1] == b'nameserver=192.0.2.54'
        resizes = [b for m, p, b in cluster.pve.requests if m == 'PUT' and p.endswith('/lxc/{0}/resize'.format(new))]
        assert resizes == [b'disk=rootfs&size=6G']
        # The create request carried the password (redacted in the lab's log) and the SSH key.
        create = [b for m, p, b in cluster.pve.requests if m == 'POST' and p.endswith('/lxc') and
                  b'it-ct-' + name.encode() + b'&' in b + b'&']
        assert create and b'ssh-public-keys=' in create[0] and b'it-Secret-9' not in create[0]
        # purge took the container out of the backup jobs: the job of it alone is gone.
        assert 'it-only' not in cluster.pve.backup_jobs
        assert cluster.pve.backup_jobs['it-shared']['vmid'] == str(other)
        assert cluster.pve.ct(new) is None
        assert not [ct for ct in cluster.pve.cts if ct.name.startswith('it-ct-')]


def test_bad_input_fails_before_any_write(lab_fn, tmp_path):
    hosts = {}
    marks = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        add_template(cluster)
        existing = add_container(cluster, 890, 'it-existing')
        # Two containers with one hostname: naming it is ambiguous.
        twin = cluster.pve.add_ct(900, 'it-twin', node=cluster.nodes[0])
        cluster.pve.add_ct(901, 'it-twin', node=cluster.nodes[1])
        assert twin.name == 'it-twin'
        hosts[name] = (cluster, {'ct_vmid': existing.vmid, 'ostemplate': OSTEMPLATE, 'ct_name': 'it-bad-' + name})
        marks[name] = len(cluster.pve.requests)
    run = run_playbook(target('pve_lxc_bad'), lab_fn, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    for name, (cluster, _host_vars) in hosts.items():
        assert writes(cluster, marks[name]) == []
        assert not [ct for ct in cluster.pve.cts if ct.name.startswith('it-bad-')]


def test_lock_and_slow_shutdown(lab_fn, tmp_path):
    cluster = both(lab_fn)[0]
    ct = add_container(cluster, 890, 'it-busy', status='running')
    ct.lock = 'backup'
    # Shutting it down takes longer than any timeout the playbook gives.
    ct.shutdown_secs = 10 ** 6
    mark = len(cluster.pve.requests)
    hosts = {'pve9': (cluster, {'ct_vmid': ct.vmid})}

    # The lock goes away once the module has looked at the container three times while it was locked: the
    # second task, which waits with lock_timeout, must have waited for it.
    seen = threading.Event()

    def release():
        while not seen.is_set():
            looks = [p for m, p, _b in cluster.pve.requests[mark:] if m == 'GET' and p.endswith('/cluster/resources')]
            if len(looks) >= 3:
                ct.lock = None
                return
            seen.wait(0.05)
    watcher = threading.Thread(target=release, daemon=True)
    watcher.start()
    try:
        run = run_playbook(target('pve_lxc_faults'), lab_fn, extra_args=inventory(tmp_path, hosts), env=FAST)
    finally:
        seen.set()
        watcher.join(5)
    assert run.ok, run.explain()
    assert run.result('A locked container, no waiting')['msg'].count('locked (backup)') == 1
    # Nothing was written while it was locked; the shutdown that timed out left it running; force_stop stopped it.
    assert ct.status == 'stopped'
    shutdowns = [b for m, p, b in cluster.pve.requests[mark:] if m == 'POST' and p.endswith('/status/shutdown')]
    assert len(shutdowns) == 2 and b'forceStop=1' in shutdowns[1] and b'forceStop' not in shutdowns[0]


def test_least_privilege_life_cycle(lab_fn, tmp_path):
    """The life cycle above (create, change, start, pending change, restart, delete, template, linked clone) with a
    privilege-separated token holding only what docs/privileges.md lists for pve_lxc, on the ids the runs get,
    local-lvm, the template's storage and vmbr0 (the bind mount stays root@pam's, with its password). The guests
    already there are invisible to it and untouched."""
    hosts = {}
    before = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        add_template(cluster)
        taken = set(g.vmid for g in list(cluster.pve.vms) + list(cluster.pve.cts))
        ids = [vmid for vmid in range(100, 1000) if vmid not in taken][:3]
        token = least_privilege_token(cluster, 'pve_lxc', precise=True, skip=('privileged container',), vmid=ids,
                                      source=ids, storage=['local-lvm', 'local'], zone='localnetwork',
                                      bridge='vmbr0')
        # PVE deletes the ACL entries of a destroyed guest: the template and the clone get ids of their own.
        hosts[name] = (cluster, {'ct_name': 'it-lp-' + name, 'ostemplate': OSTEMPLATE, 'pve': token,
                                 'tpl_vmid': ids[1], 'clone_vmid': ids[2]})
        before[name] = dict((g.vmid, dict(g.config)) for g in list(cluster.pve.vms) + list(cluster.pve.cts))
    run = run_playbook(target('pve_lxc'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    for name, (cluster, host_vars) in hosts.items():
        assert not [ct for ct in cluster.pve.cts if ct.name.startswith('it-lp-')]
        users = set(task['user'] for task in cluster.pve.tasklog)
        assert host_vars['pve']['token_id'] in users
        assert users <= {host_vars['pve']['token_id'], 'root@pam'}
        assert dict((g.vmid, dict(g.config)) for g in list(cluster.pve.vms) + list(cluster.pve.cts)) == before[name]
