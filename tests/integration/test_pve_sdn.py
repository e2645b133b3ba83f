# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_sdn_zone, pve_sdn_vnet and pve_sdn_subnet through ansible-playbook against both lab clusters (PVE 9 and 8)."""

import json
import sys
import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def unique(prefix):
    """An SDN name: at most 8 letters and digits."""
    return prefix + uuid.uuid4().hex[:6]


def gone(cluster, **names):
    """Nothing of these objects is left, configured, running or locked."""
    for kind, name in names.items():
        assert name not in cluster.pve.sdn[kind] and name not in (cluster.pve.sdn_running or {}).get(kind, {})
    assert cluster.pve.sdn_lock is None


def test_zone(lab):
    cluster = lab.clusters[0]
    zone = unique('z')
    # A privilege-separated token holding only what docs/privileges.md lists for pve_sdn_zone.
    pve = least_privilege_token(cluster, 'pve_sdn_zone', zone=zone)
    run = run_playbook(target('pve_sdn_zone'), lab, extra_vars={'pve': pve, 'zone': zone}, diff=True)
    assert run.ok, run.explain()
    gone(cluster, zones=zone)


def test_vnet_and_subnet(lab):
    cluster = lab.clusters[0]
    zone, vnet = unique('z'), unique('v')
    # Only what docs/privileges.md lists for pve_sdn_vnet (its zone comes first, with the same token).
    pve = least_privilege_token(cluster, 'pve_sdn_vnet', zone=zone, vnet=vnet)
    run = run_playbook(target('pve_sdn_vnet'), lab, extra_vars={'pve': pve, 'zone': zone, 'vnet': vnet}, diff=True)
    assert run.ok, run.explain()
    gone(cluster, zones=zone, vnets=vnet)


def test_pve8_without_lock(lab):
    cluster = lab.clusters[1]
    assert cluster.version.startswith('8.')
    zone, vnet = unique('z'), unique('v')
    # Only what docs/privileges.md lists for pve_sdn_subnet, on PVE 8.
    pve = least_privilege_token(cluster, 'pve_sdn_subnet', zone=zone, vnet=vnet)
    run = run_playbook(target('pve_sdn_pve8'), lab, extra_vars={'pve': pve, 'zone': zone, 'vnet': vnet})
    assert run.ok, run.explain()
    gone(cluster, zones=zone, vnets=vnet)
    # Nothing asked PVE 8 for the lock it does not have.
    assert not [path for _method, path, _body in cluster.pve.requests if '/cluster/sdn/lock' in path]


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_five_forks_lose_no_update(lab, index, tmp_path):
    cluster = lab.clusters[index]
    zone = unique('z')
    hosts = ['fork{0}'.format(n) for n in range(1, 6)]
    vnets = dict((host, unique('v')) for host in hosts)
    inventory = tmp_path / 'forks.json'
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    inventory.write_text(json.dumps({'all': {'children': {'forks': {'hosts': dict((h, local) for h in hosts)}}}}))
    extra = {'pve': pve_vars(cluster), 'zone': zone, 'vnets': vnets}
    # The zone, pending, and the cleanup go straight to the fake: only the five forks are under test.
    cluster.pve.sdn['zones'][zone] = {'type': 'vxlan', 'peers': '192.0.2.1,192.0.2.2'}
    seen = len(cluster.pve.requests)
    try:
        run = run_playbook(target('pve_sdn_forks'), lab, extra_vars=extra, extra_args=['-i', str(inventory), '--forks', '5'])
        assert run.ok, run.explain()
        if index == 0:
            # On PVE 9 every fork wrote under the lock it took (and others may have waited for it).
            requests = cluster.pve.requests[seen:]
            assert len([r for r in requests if r[0] == 'POST' and r[1].endswith('/cluster/sdn/lock')]) >= 5
            writes = [body for method, path, body in requests if method == 'POST' and path.endswith('/cluster/sdn/vnets')]
            assert len(writes) == 5 and all(b'lock-token=' in body for body in writes)
        assert sorted(r['host'] for r in run.results('Create this host\'s vnet and apply')) == hosts
        for name in vnets.values():
            assert cluster.pve.sdn['vnets'][name]['zone'] == zone
            assert cluster.pve.sdn_running['vnets'][name] == cluster.pve.sdn['vnets'][name]
        assert cluster.pve.sdn_running['zones'][zone] == cluster.pve.sdn['zones'][zone]
        assert cluster.pve.sdn_lock is None
    finally:
        for config in (cluster.pve.sdn, cluster.pve.sdn_running or {}):
            for name in vnets.values():
                config.get('vnets', {}).pop(name, None)
            config.get('zones', {}).pop(zone, None)


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_failed_apply(lab, index):
    """PVE 9: a failed apply rolls the pending changes back and releases the lock; PVE 8 can only leave them."""
    cluster = lab.clusters[index]
    zone = unique('z')
    cluster.pve.fail('PUT', '/cluster/sdn', error='no_quorum', times=1)
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - proxfleet.proxmox.pve_sdn_zone:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        zone: "{{ zone }}"
        type: simple
      register: made
      ignore_errors: true
"""
    run = run_playbook(play, lab, extra_vars={'pve': pve_vars(cluster), 'zone': zone})
    result = run.tasks[0]['result']
    assert run.tasks[0]['status'] == 'ignored', run.explain()
    assert result['status_code'] == 500
    assert "sdn zone '{0}' on https://".format(zone) in result['msg']
    assert 'PUT /cluster/sdn: 500 cluster not ready - no quorum?' in result['msg']
    if index == 0:
        assert 'rolled back' in result['msg']
        gone(cluster, zones=zone)
    else:
        assert 'stay pending' in result['msg']
        assert zone in cluster.pve.sdn['zones']
        cluster.pve.sdn['zones'].pop(zone)


LOCKED = 'could not acquire lock for SDN config: invalid lock token provided! at /usr/share/perl5/PVE/Network/SDN.pm line 278.'
ZONE_TASK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - proxfleet.proxmox.pve_sdn_zone:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        zone: "{{ zone }}"
        type: simple
        timeout: "{{ timeout }}"
      ignore_errors: true
"""


def test_waits_for_the_lock_another_client_holds(lab):
    """PVE 9: while another client holds the SDN lock the module waits (within its timeout), then goes on."""
    cluster = lab.clusters[0]
    zone = unique('z')
    extra = {'pve': pve_vars(cluster), 'zone': zone}
    key = ('POST', '/cluster/sdn/lock')
    try:
        # Held for good: the timeout runs out, with what to do about a lock nobody holds.
        cluster.pve.fail(*key, status=500, message=LOCKED)
        run = run_playbook(ZONE_TASK, lab, extra_vars=dict(extra, timeout=1))
        result = run.tasks[0]['result']
        assert run.tasks[0]['status'] == 'ignored', run.explain()
        assert 'stayed locked by another client for the whole 1 s timeout' in result['msg']
        assert 'pvesh delete /cluster/sdn/lock --force 1' in result['msg']
        assert zone not in cluster.pve.sdn['zones']
        # Released after three refusals: the module waited and then wrote.
        cluster.pve.fail(*key, status=500, message=LOCKED, times=3)
        run = run_playbook(ZONE_TASK, lab, extra_vars=dict(extra, timeout=60))
        assert run.tasks[0]['status'] == 'changed', run.explain()
        assert key not in cluster.pve.failures
        assert cluster.pve.sdn_running['zones'][zone] == {'type': 'simple'}
        assert cluster.pve.sdn_lock is None
    finally:
        cluster.pve.failures.pop(key, None)
        for config in (cluster.pve.sdn, cluster.pve.sdn_running or {}):
            config.get('zones', {}).pop(zone, None)


def test_refused_write_releases_the_lock(lab):
    """PVE 9: a write PVE refuses fails with PVE's words, writes nothing and leaves the lock free."""
    cluster = lab.clusters[0]
    zone, first, second = unique('z'), unique('v'), unique('v')
    cluster.pve.sdn['zones'][zone] = {'type': 'vlan', 'bridge': 'vmbr0'}
    cluster.pve.sdn['vnets'][first] = {'type': 'vnet', 'zone': zone, 'tag': 5}
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - proxfleet.proxmox.pve_sdn_vnet:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        vnet: "{{ vnet }}"
        zone: "{{ zone }}"
        tag: 5
        apply_foreign_pending: true
      ignore_errors: true
"""
    try:
        run = run_playbook(play, lab, extra_vars={'pve': pve_vars(cluster), 'zone': zone, 'vnet': second})
        result = run.tasks[0]['result']
        assert run.tasks[0]['status'] == 'ignored', run.explain()
        assert result['status_code'] == 500
        assert "sdn vnet '{0}' on https://".format(second) in result['msg']
        assert ('POST /cluster/sdn/vnets: 500 create sdn vnet object failed: 400 Parameter verification failed.; '
                'tag: tag 5 already exist in vnet {0}'.format(first)) in result['msg']
        assert second not in cluster.pve.sdn['vnets'] and cluster.pve.sdn_lock is None
    finally:
        cluster.pve.sdn['vnets'].pop(first, None)
        cluster.pve.sdn['zones'].pop(zone, None)


ZONE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - proxfleet.proxmox.pve_sdn_zone:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        zone: "{{ zone }}"
        type: simple
        mtu: "{{ mtu | default(omit) }}"
        apply: "{{ apply | default(true) }}"
        apply_foreign_pending: "{{ foreign | default(false) }}"
        break_lock: "{{ break_lock | default(false) }}"
        timeout: "{{ timeout | default(60) }}"
      check_mode: "{{ check | default(false) }}"
      ignore_errors: true
"""


def zone_run(lab, cluster, zone, **extra):
    run = run_playbook(ZONE_PLAY, lab, extra_vars=dict(extra, pve=pve_vars(cluster), zone=zone))
    return run.tasks[0]['status'], run.tasks[0]['result'], run


def forget(cluster, *zones):
    for config in (cluster.pve.sdn, cluster.pve.sdn_running or {}):
        for zone in zones:
            config.get('zones', {}).pop(zone, None)


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_applied_means_every_node_reloaded(lab, index):
    """The apply task ends OK even when a node's reload fails (PVE only logs it): the module waits for every node
    and fails naming each node that did not reload, with the reason."""
    cluster = lab.clusters[index]
    first, broken, away = sorted(cluster.pve.nodes)
    zone = unique('z')
    try:
        cluster.pve.fail_sdn_reload(broken, 'ifreload')
        cluster.pve.fail_sdn_reload(away, 'unreachable')
        status, result, run = zone_run(lab, cluster, zone)
        assert status == 'ignored', run.explain()
        assert 'was committed (UPID:' in result['msg'] and 'but not reloaded on every node' in result['msg']
        assert "node {0}: command 'ifreload -a' failed: exit code 1".format(broken) in result['msg']
        assert ("node {0}: ssh: connect to host {0} port 22: No route to host".format(away)) in result['msg']
        assert ("command 'pvesh set /nodes/{0}/network --regenerate-frr 0' failed: exit code 255".format(away)
                in result['msg'])
        assert '(reloaded on {0})'.format(first) in result['msg']
        assert sorted(result['errors']) == sorted([away, broken])
        assert [(t['type'], t['exitstatus']) for t in result['tasks']] == [('reloadnetworkall', 'OK')]
        # Committed all the same (a reload cannot be rolled back), and the lock is free.
        assert cluster.pve.sdn_running['zones'][zone] == {'type': 'simple'}
        assert cluster.pve.sdn_lock is None
        # Healed, the next apply reaches every node and says so.
        cluster.pve.fail_sdn_reload(broken, None)
        cluster.pve.fail_sdn_reload(away, None)
        status, result, run = zone_run(lab, cluster, zone, mtu=1400)
        assert status == 'changed', run.explain()
        assert result['sdn']['applied'] is True
        assert result['sdn']['nodes'] == {first: 'available', broken: 'available', away: 'available'}
    finally:
        cluster.pve.fail_sdn_reload(broken, None)
        cluster.pve.fail_sdn_reload(away, None)
        forget(cluster, zone)


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_pending_changes_of_others_are_neither_applied_nor_rolled_back(lab, index):
    cluster = lab.clusters[index]
    theirs, ours = unique('z'), unique('z')
    # Another client's zone, pending (written, not applied).
    cluster.pve.sdn['zones'][theirs] = {'type': 'simple'}
    try:
        for check in (True, False):
            status, result, run = zone_run(lab, cluster, ours, check=check)
            assert status == 'ignored', run.explain()
            assert ('other SDN changes are pending, made before this run and not by it: zone {0!r} (new)'.format(theirs)
                    in result['msg'])
            assert '`apply_foreign_pending: true`' in result['msg'] and '`apply: false`' in result['msg']
            # Refused before any write: neither zone applied, ours not even written, the lock free.
            assert ours not in cluster.pve.sdn['zones']
            assert theirs not in (cluster.pve.sdn_running or {}).get('zones', {})
            assert cluster.pve.sdn_lock is None
        # Leaving ours pending too is fine.
        status, result, run = zone_run(lab, cluster, ours, apply=False)
        assert status == 'changed' and result['sdn'] == {'pending': 'new', 'applied': False, 'nodes': {}}, run.explain()
        # Allowed, and the apply refused: nothing is rolled back, since other changes were pending before the run.
        cluster.pve.fail('PUT', '/cluster/sdn', error='no_quorum', times=1)
        status, result, run = zone_run(lab, cluster, ours, mtu=1400, foreign=True)
        assert status == 'ignored', run.explain()
        assert 'PUT /cluster/sdn: 500 cluster not ready - no quorum?' in result['msg']
        assert 'rolled back (POST' not in result['msg']
        if index == 0:
            assert 'SDN changes were already pending before this run, so nothing was rolled back' in result['msg']
        assert cluster.pve.sdn['zones'][theirs] == {'type': 'simple'}
        assert cluster.pve.sdn['zones'][ours]['mtu'] == 1400
        assert cluster.pve.sdn_lock is None
        # Allowed: both applied.
        status, result, run = zone_run(lab, cluster, ours, mtu=1400, foreign=True)
        assert status == 'changed' and result['sdn']['applied'] is True, run.explain()
        assert theirs in cluster.pve.sdn_running['zones'] and cluster.pve.sdn_running['zones'][ours]['mtu'] == 1400
    finally:
        cluster.pve.failures.pop(('PUT', '/cluster/sdn'), None)
        forget(cluster, theirs, ours)


def test_a_lock_left_by_a_killed_run(lab):
    """PVE 9: a lock nobody holds any more is reported with how to release it, and break_lock releases it."""
    cluster = lab.clusters[0]
    zone = unique('z')
    stale = str(uuid.uuid4())
    cluster.pve.sdn_lock = stale  # taken by a run that was killed before it released it
    try:
        status, result, run = zone_run(lab, cluster, zone, timeout=1)
        assert status == 'ignored', run.explain()
        assert 'stayed locked by another client for the whole 1 s timeout' in result['msg']
        assert 'PVE does not say who holds the lock or since when' in result['msg']
        assert '`pvesh delete /cluster/sdn/lock --force 1`' in result['msg']
        assert '`DELETE /cluster/sdn/lock` with `force=1`' in result['msg']
        assert '`break_lock: true`' in result['msg']
        assert cluster.pve.sdn_lock == stale and zone not in cluster.pve.sdn['zones']
        status, result, run = zone_run(lab, cluster, zone, break_lock=True)
        assert status == 'changed', run.explain()
        assert any('released the SDN lock another client held' in w for w in result.get('warnings', []))
        assert cluster.pve.sdn_lock is None and zone in cluster.pve.sdn_running['zones']
    finally:
        cluster.pve.sdn_lock = None
        forget(cluster, zone)
