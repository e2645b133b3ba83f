# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_migrate through ansible-playbook against the lab: within a cluster, via HA, and across two clusters.

Each test has its own estate (lab_fn): guests move, which the suites sharing the session's lab must not see.
Guests of a 2 x 4 estate with 6 guests: lab1 (PVE 9) has VMs 100 (running, n1), 102 (n2) and 104 (n3); lab2
(PVE 8) has VMs 101 (n1) and 105 (running, n3) and container 103 (n2); lab2-n4 has no guest.
"""

import json
import sys

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

ESTATE = dict(clusters=2, nodes=4, guests=6)


def api(cluster, method, path, **params):
    answer = requests.request(method, cluster.url + '/api2/json' + path, data=params or None, timeout=30,
                              headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id, cluster.token_secret)},
                              verify=cluster.ca_path)
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def guest_entry(vmid, cluster, target_node):
    guest = cluster.pve.guest(vmid)
    return {'vmid': vmid, 'name': guest.name, 'node': guest.node, 'target': target_node}


def inventory(tmp_path, hosts, forks=4):
    """ansible-playbook arguments for an inventory of local hosts in the group `guests`: {host: host vars}."""
    entries = dict((name, dict(host_vars, ansible_connection='local', ansible_python_interpreter=sys.executable))
                   for name, host_vars in hosts.items())
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps({'guests': {'hosts': entries}}))
    return ['-i', str(path), '--forks', str(forks)]


@pytest.mark.lab(**ESTATE)
def test_within_a_cluster(lab_fn, tmp_path):
    cluster = lab_fn.clusters[1]
    ct = cluster.pve.ct(103)
    api(cluster, 'POST', '/nodes/{0}/lxc/103/status/start'.format(ct.node))
    assert ct.status == 'running'
    cluster.pve.set_node_offline('lab2-n4')
    before = len(cluster.pve.tasklog)
    pve = pve_vars(cluster)
    hosts = {
        'vm_offline': {'guest': guest_entry(101, cluster, 'lab2-n2'), 'by_name': False,
                       'expect': {'params': {'target': 'lab2-n2'}, 'task': 'qmigrate', 'status': 'stopped'}},
        'vm_online': {'guest': guest_entry(105, cluster, 'lab2-n1'), 'by_name': True,
                      'expect': {'params': {'target': 'lab2-n1', 'online': 1, 'with-local-disks': 1}, 'task': 'qmigrate',
                                 'status': 'running'}},
        'ct_restart': {'guest': guest_entry(103, cluster, 'lab2-n3'), 'by_name': False,
                       'expect': {'params': {'target': 'lab2-n3', 'restart': 1, 'timeout': 30}, 'task': 'vzmigrate',
                                  'status': 'running'}},
        # A running VM that stays where it is; lab2-n4 is offline.
        'bad_input': {'guest': guest_entry(105, cluster, 'lab2-n3'), 'offline_node': 'lab2-n4', 'missing_vmid': 99999},
    }
    for host_vars in hosts.values():
        host_vars['pve'] = pve
    run = run_playbook(target('pve_migrate'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts))
    assert run.ok, run.explain()
    assert (cluster.pve.vm(101).node, cluster.pve.vm(105).node, ct.node) == ('lab2-n2', 'lab2-n1', 'lab2-n3')
    assert cluster.pve.vm(105).status == 'running' and ct.status == 'running'
    # One task per guest: the check-mode runs, the second runs and the refused ones started none.
    started = sorted((t['type'], t['id']) for t in cluster.pve.tasklog[before:])
    assert started == [('qmigrate', '101'), ('qmigrate', '105'), ('vzmigrate', '103')]


@pytest.mark.lab(**ESTATE)
def test_within_a_cluster_with_least_privilege(lab_fn, tmp_path):
    """test_within_a_cluster's moves with a token holding only what docs/privileges.md lists for pve_migrate, on the
    three guests and local-lvm (PVE 8)."""
    cluster = lab_fn.clusters[1]
    ct = cluster.pve.ct(103)
    api(cluster, 'POST', '/nodes/{0}/lxc/103/status/start'.format(ct.node))
    cluster.pve.set_node_offline('lab2-n4')
    token = least_privilege_token(cluster, 'pve_migrate', precise=True, skip=('through HA', 'another cluster'),
                                  vmid=[101, 103, 105], storage=['local-lvm'])
    hosts = {
        'vm_offline': {'guest': guest_entry(101, cluster, 'lab2-n2'), 'by_name': False,
                       'expect': {'params': {'target': 'lab2-n2'}, 'task': 'qmigrate', 'status': 'stopped'}},
        'vm_online': {'guest': guest_entry(105, cluster, 'lab2-n1'), 'by_name': True,
                      'expect': {'params': {'target': 'lab2-n1', 'online': 1, 'with-local-disks': 1}, 'task': 'qmigrate',
                                 'status': 'running'}},
        'ct_restart': {'guest': guest_entry(103, cluster, 'lab2-n3'), 'by_name': False,
                       'expect': {'params': {'target': 'lab2-n3', 'restart': 1, 'timeout': 30}, 'task': 'vzmigrate',
                                  'status': 'running'}},
        'bad_input': {'guest': guest_entry(105, cluster, 'lab2-n3'), 'offline_node': 'lab2-n4', 'missing_vmid': 99999},
    }
    for host_vars in hosts.values():
        host_vars['pve'] = token
    run = run_playbook(target('pve_migrate'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts))
    assert run.ok, run.explain()
    assert (cluster.pve.vm(101).node, cluster.pve.vm(105).node, ct.node) == ('lab2-n2', 'lab2-n1', 'lab2-n3')
    assert set(t['user'] for t in cluster.pve.tasklog if t['type'] in ('qmigrate', 'vzmigrate')) == {token['token_id']}


@pytest.mark.lab(**ESTATE)
def test_ha_managed_vm_moves_through_ha(lab_fn):
    cluster = lab_fn.clusters[0]
    run = run_playbook(target('pve_migrate', 'ha.yml'), lab_fn, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'vm': guest_entry(100, cluster, 'lab1-n2')})
    assert run.ok, run.explain()
    assert cluster.pve.vm(100).node == 'lab1-n2'
    assert not [t for t in cluster.pve.tasklog if t['type'] == 'qmigrate']


@pytest.mark.lab(**ESTATE)
def test_across_clusters(lab_fn):
    source, remote = lab_fn.clusters
    remote.pve.bridges.add('vmbr1')
    name = source.pve.vm(102).name
    run = run_playbook(target('pve_migrate', 'remote.yml'), lab_fn, diff=True, verbosity=3, extra_vars={
        'pve': pve_vars(source), 'remote': pve_vars(remote),
        'vm': guest_entry(102, source, None), 'vm_kept': guest_entry(104, source, None),
        'vm_running': guest_entry(100, source, None),
        'target_vmid': 1102})
    assert run.ok, run.explain()
    moved = remote.pve.vm(1102)
    assert moved is not None and moved.name == name and moved.node == 'lab2-n1'
    assert 'bridge=vmbr1' in moved.config['net0'] and moved.config['scsi0'].startswith('local-lvm:vm-1102-disk-0,')
    # Deleted only after success; the failed migration kept its source (unlocked) and made nothing on the target.
    assert source.pve.vm(102) is None
    kept = source.pve.vm(104)
    assert kept is not None and kept.lock is None and remote.pve.vm(1104) is None
    assert source.pve.remote_migrations == [(102, remote.host, 1102), (100, remote.host, 100), (104, remote.host, 1104)]
    # Without delete_source the source stays, stopped and locked, as PVE leaves it; the copy runs on the target.
    assert (source.pve.vm(100).status, source.pve.vm(100).lock) == ('stopped', 'migrate')
    assert remote.pve.vm(100).status == 'running'
    # The token secret appears nowhere in what ansible-playbook printed, even at -vvv.
    assert remote.token_secret not in run.stdout and remote.token_secret not in run.stderr


ESTATE_MOVE = '''
- name: Pve_migrate between two clusters of an estate, both named
  hosts: localhost
  gather_facts: false
  vars:
    move: &move
      cluster: {source}
      vmid: {vmid}
      target_cluster:
        cluster: {target}
      target_vmid: {target_vmid}
      target_storage: local-lvm
      target_bridge: vmbr1
      timeout: 60
  tasks:
    - name: A target without a token fails before anything moves
      proxfleet.proxmox.pve_migrate:
        cluster: {source}
        vmid: {vmid}
        target_cluster:
          api_host: 127.0.0.1
        target_storage: local-lvm
      register: no_token
      ignore_errors: true
    - name: An unknown target name fails, listing the estate's clusters
      proxfleet.proxmox.pve_migrate:
        cluster: {source}
        vmid: {vmid}
        target_cluster:
          cluster: nowhere
        target_storage: local-lvm
      register: unknown
      ignore_errors: true
    - name: By name (check mode)
      proxfleet.proxmox.pve_migrate: *move
      check_mode: true
      register: check
    - name: By name
      proxfleet.proxmox.pve_migrate: *move
      register: moved
    - name: By name again (check mode)
      proxfleet.proxmox.pve_migrate: *move
      check_mode: true
      register: check_again
    - name: By name again
      proxfleet.proxmox.pve_migrate: *move
      register: again
    - name: The estate gave both ends
      ansible.builtin.assert:
        that:
          - no_token is failed and 'target_cluster needs api_token_id, api_token_secret' in no_token.msg
          - unknown is failed and "cluster 'nowhere' is not in the clusters of estate" in unknown.msg
          - "'it names {source}, {target}' in unknown.msg"
          - check is changed and moved is changed
          - check_again is not changed and again is not changed
          - moved.plan.target_cluster == "{target_url}"
'''


@pytest.mark.lab(**ESTATE)
def test_across_clusters_named_in_an_estate(lab_fn, tmp_path):
    """source and target both by name from the estate file PROXMOX_ESTATE_FILE names (as the AWX estate credential
    injects it); the target's token secret never printed."""
    import yaml
    source, remote = lab_fn.clusters
    remote.pve.bridges.add('vmbr1')
    estate = tmp_path / 'estate.yml'
    estate.write_text(yaml.safe_dump({'clusters': dict(
        (c.name, {'api_host': c.host, 'api_port': c.port, 'api_token_id': c.token_id,
                  'api_token_secret': c.token_secret, 'ca_path': c.ca_path}) for c in (source, remote))}))
    estate.chmod(0o600)
    name = source.pve.vm(102).name
    run = run_playbook(ESTATE_MOVE.format(source=source.name, target=remote.name, vmid=102, target_vmid=1102,
                                          target_url=remote.url),
                       lab_fn, verbosity=3, env={'PROXMOX_ESTATE_FILE': str(estate)})
    assert run.ok, run.explain()
    moved = remote.pve.vm(1102)
    assert moved is not None and moved.name == name
    assert source.pve.remote_migrations == [(102, remote.host, 1102)]
    for secret in (source.token_secret, remote.token_secret):
        assert secret not in run.stdout and secret not in run.stderr


@pytest.mark.lab(**ESTATE)
def test_across_clusters_with_least_privilege(lab_fn):
    """test_across_clusters with tokens holding only what docs/privileges.md lists: the source's pve_migrate row on
    the three VMs, the target's `pve_migrate (target cluster)` row on their target ids, local-lvm, vmbr1 and vmbr0 (the
    running VM keeps its bridge)."""
    source, remote = lab_fn.clusters
    remote.pve.bridges.add('vmbr1')
    name = source.pve.vm(102).name
    token = least_privilege_token(source, 'pve_migrate', precise=True, skip=('through HA',), vmid=[100, 102, 104],
                                  storage=['local-lvm'])
    target_token = least_privilege_token(remote, 'pve_migrate (target cluster)', precise=True,
                                         vmid=[100, 1102, 1104], storage=['local-lvm'], zone='localnetwork',
                                         bridge=['vmbr1', 'vmbr0'])
    run = run_playbook(target('pve_migrate', 'remote.yml'), lab_fn, diff=True, extra_vars={
        'pve': token, 'remote': target_token,
        'vm': guest_entry(102, source, None), 'vm_kept': guest_entry(104, source, None),
        'vm_running': guest_entry(100, source, None),
        'target_vmid': 1102})
    assert run.ok, run.explain()
    moved = remote.pve.vm(1102)
    assert moved is not None and moved.name == name and source.pve.vm(102) is None
    assert remote.pve.vm(100).status == 'running' and remote.pve.vm(1104) is None


@pytest.mark.lab(**ESTATE)
def test_across_clusters_the_target_refuses_a_token_without_its_row(lab_fn):
    """The target's token lacks one privilege of its row (VM.Config.Memory): PVE's update_vm_api refuses the
    configuration in the tunnel, the migration fails and the source stays where it was."""
    source, remote = lab_fn.clusters
    remote.pve.bridges.add('vmbr1')
    token = least_privilege_token(source, 'pve_migrate', precise=True, skip=('through HA',), vmid=[102],
                                  storage=['local-lvm'])
    target_token = least_privilege_token(remote, 'pve_migrate (target cluster)', precise=True, skip=('.Memory',),
                                         vmid=[1102], storage=['local-lvm'], zone='localnetwork', bridge='vmbr1')
    assert not remote.pve.allowed(target_token['token_id'], '/vms/1102', 'VM.Config.Memory')
    moving = {'pve': token, 'remote': target_token, 'vmid': 102, 'target_vmid': 1102}
    run = run_playbook(MOVE_ONE, lab_fn, extra_vars=moving)
    assert not run.ok
    failed = run.result('Move it')
    assert 'Permission check failed (/vms/1102, VM.Config.Memory)' in failed['msg']
    assert source.pve.vm(102) is not None and source.pve.vm(102).lock is None and remote.pve.vm(1102) is None


MOVE_ONE = '''
- name: Pve_migrate moves one VM to another cluster
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Move it
      proxfleet.proxmox.pve_migrate:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        vmid: "{{ vmid }}"
        target_cluster:
          api_host: "{{ remote.host }}"
          api_port: "{{ remote.port }}"
          api_token_id: "{{ remote.token_id }}"
          api_token_secret: "{{ remote.token_secret }}"
          fingerprint: "{{ remote.fingerprint }}"
        target_vmid: "{{ target_vmid }}"
        target_storage: local-lvm
        target_bridge: vmbr1
        delete_source: true
        timeout: 60
'''
