# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_backup and pve_restore through ansible-playbook: two lab clusters (PVE 9 and 8) and the lab's PBS.

A fresh estate (lab_fn): guests are created. Guests of a 2 x 2 estate with 8 guests: lab1 has VMs 100 (running,
n1), 102, 104 and 106; lab2 has VMs 101, 105 (running) and containers 103 and 107.
"""

import re
import uuid

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.areas._common import set_lock
from tests.lab.pytest_plugin import run_playbook


def api(cluster, path, **params):
    answer = requests.get(cluster.url + '/api2/json' + path, params=params or None, timeout=30, verify=cluster.ca_path,
                          headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id, cluster.token_secret)})
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


@pytest.mark.lab(clusters=2, nodes=2, guests=8)
def test_backup_to_pbs_and_restore_on_the_other_cluster(lab_fn):
    one, two = lab_fn.clusters
    pbs = lab_fn.pbs
    sid = 'it-' + uuid.uuid4().hex[:8]
    ns = 'ns-' + sid
    store = pbs.pbs.datastores['store1']
    store.namespaces.add(ns)
    pbs_vars = {'host': pbs.host, 'token_id': pbs.token_id, 'token_secret': pbs.token_secret,
                'fingerprint': pbs.fingerprint}
    # A guest another operation holds: backing it up fails before any write.
    set_lock(one.pve.vm(104), 'snapshot')
    vzdumps = len([t for t in one.pve.tasklog if t['type'] == 'vzdump'])
    run = run_playbook(target('pve_backup'), lab_fn, diff=True, extra_vars={
        'one': pve_vars(one), 'two': pve_vars(two), 'pbs': pbs_vars, 'sid': sid, 'ns': ns})
    assert run.ok, run.explain()
    backup = run.result('Back up VM 100 now')['backups'][0]
    # On the PBS: one snapshot of VM 100 and one of CT 103, in the namespace, with their configurations.
    vm_snaps = store.select(ns, 0, 'vm', '100')
    ct_snaps = store.select(ns, 0, 'ct', '103')
    assert len(vm_snaps) == 1 and len(ct_snaps) == 1 and ct_snaps[0].protected
    assert 'qemu-server.conf.blob' in vm_snaps[0].files and 'pct.conf.blob' in ct_snaps[0].files
    assert backup['volid'] == '{0}:backup/{1}'.format(sid, vm_snaps[0].path())
    # Only the one vzdump on the first cluster: the failing runs started none.
    assert len([t for t in one.pve.tasklog if t['type'] == 'vzdump']) == vzdumps + 1
    # The restored guests: VM 900 on lab2 (new disks, new MAC, running) and CT 950 on lab1.
    vm = two.pve.vm(900)
    assert vm.status == 'running' and vm.node == two.nodes[0]
    assert vm.config['name'] == one.pve.vm(100).config['name']
    assert re.match(r'local-lvm:vm-900-disk-0,', vm.config['scsi0'])
    assert vm.config['net0'] != one.pve.vm(100).config['net0']
    ct = one.pve.ct(950)
    assert ct.config['hostname'] == two.pve.ct(103).config['hostname']
    # The cleanup removed the storages and the job; the backups stay on the PBS.
    assert sid not in one.pve.storages and sid not in two.pve.storages
    assert len(store.select(ns, 0)) == 2


LEAST_PLAY = '''
- name: Pve_backup and pve_restore with least-privilege tokens
  hosts: localhost
  gather_facts: false
  vars:
    backup_token: &backup_token
      api_host: "{{ backup.host }}"
      api_port: "{{ backup.port }}"
      api_token_id: "{{ backup.token_id }}"
      api_token_secret: "{{ backup.token_secret }}"
      ca_path: "{{ backup.ca_path }}"
    restore_args: &restore_args
      api_host: "{{ restore.host }}"
      api_port: "{{ restore.port }}"
      api_token_id: "{{ restore.token_id }}"
      api_token_secret: "{{ restore.token_secret }}"
      ca_path: "{{ restore.ca_path }}"
      vmid: 900
      source_vmid: "{{ source }}"
      latest: true
      backup_storage: nfs-backup
      node: "{{ node }}"
      storage: local-lvm
      unique: true
      start: true
  tasks:
    - name: Back up now (check mode)
      proxfleet.proxmox.pve_backup: &backup_args
        <<: *backup_token
        vmid: ["{{ source }}"]
        storage: nfs-backup
        mode: snapshot
      check_mode: true
      register: backup_check

    - name: Back up now
      proxfleet.proxmox.pve_backup: *backup_args
      register: backed_up

    - name: Restore it as a new VM (check mode)
      proxfleet.proxmox.pve_restore: *restore_args
      check_mode: true
      register: restore_check

    - name: Restore it as a new VM
      proxfleet.proxmox.pve_restore: *restore_args
      register: restored

    - name: Restore again (check mode)
      proxfleet.proxmox.pve_restore: *restore_args
      check_mode: true
      register: restore_check_again

    - name: Restore again
      proxfleet.proxmox.pve_restore: *restore_args
      register: restored_again

    - name: One backup, one restore, then no change
      ansible.builtin.assert:
        that:
          - backup_check is changed and backed_up is changed
          - backed_up.backups | length == 1
          - restore_check is changed and restored is changed
          - restore_check_again is not changed and restored_again is not changed
'''


@pytest.mark.lab(clusters=1, nodes=2, guests=6, pbs=False)
def test_least_privilege_backup_and_restore(lab_fn):
    """Privilege-separated tokens holding only what docs/privileges.md lists for pve_backup (on the guest and the
    backup storage) and pve_restore (on the new id, the backed-up guest, the backup and the target storage)."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    source = next(vm for vm in pve.vms if not vm.lock)
    backup = least_privilege_token(cluster, 'pve_backup', precise=True, skip=('prune setting',),
                                   vmid=[source.vmid], storage=['nfs-backup'])
    restore = least_privilege_token(cluster, 'pve_restore', precise=True, skip=('HA-managed', 'privileged container'),
                                    vmid=[900], source=[source.vmid], storage=['nfs-backup', 'local-lvm'])
    run = run_playbook(LEAST_PLAY, lab_fn, extra_vars={'backup': backup, 'restore': restore, 'source': source.vmid,
                                                       'node': cluster.nodes[0]})
    assert run.ok, run.explain()
    vm = pve.vm(900)
    assert vm is not None and vm.status == 'running' and vm.config['name'] == source.config['name']
    assert [t['user'] for t in pve.tasklog if t['type'] == 'vzdump'] == [backup['token_id']]
    assert [t['user'] for t in pve.tasklog if t['type'] == 'qmrestore'] == [restore['token_id']]
