# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_ceph, pve_ceph_osd, pve_ceph_pool and pve_ceph_info through ansible-playbook, on a fresh lab cluster.

Ceph is cluster-wide and, once initialised, stays: the test gets an estate of its own. Each module runs with a
privilege-separated token holding only what docs/privileges.md lists for it (least_privilege.py); OSD create and
destroy log in as root@pam with its password, the only login PVE lets call them.
"""

import json
import uuid

import pytest
from fakepve.shapes import PRIVILEGES

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

FORCE_PLAY = '''
- name: Destroying a pool that holds data needs force
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ pve.host }}"
      api_port: "{{ pve.port }}"
      api_token_id: "{{ pve.token_id }}"
      api_token_secret: "{{ pve.token_secret }}"
      ca_path: "{{ pve.ca_path }}"
  tasks:
    - name: Without force
      proxfleet.proxmox.pve_ceph_pool: {node: "{{ pve.nodes[0] }}", name: "{{ pool }}", state: absent}
      register: no_force
      ignore_errors: true
    - name: With force (check mode)
      proxfleet.proxmox.pve_ceph_pool: {node: "{{ pve.nodes[0] }}", name: "{{ pool }}", state: absent, force: true}
      check_mode: true
      register: force_check
    - name: With force
      proxfleet.proxmox.pve_ceph_pool: {node: "{{ pve.nodes[0] }}", name: "{{ pool }}", state: absent, force: true}
      register: forced
    - name: Only force destroys it
      ansible.builtin.assert:
        that:
          - no_force is failed
          - no_force.msg is search('the pool holds data \\\\(1073741824 bytes used\\\\). set force. true')
          - force_check is changed
          - forced is changed
'''

RESIZE_PLAY = '''
- name: A size change resets min_size (Ceph); the diff shows it and a given min_size is set again
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ pve.host }}"
      api_port: "{{ pve.port }}"
      api_token_id: "{{ pve.token_id }}"
      api_token_secret: "{{ pve.token_secret }}"
      ca_path: "{{ pve.ca_path }}"
  vars:
    keep: &keep {node: "{{ pve.nodes[0] }}", name: "{{ pool }}", size: 4, min_size: 3}
    grow: &grow {node: "{{ pve.nodes[0] }}", name: "{{ pool }}", size: 5}
  tasks:
    - name: Size with the same min_size (check mode)
      proxfleet.proxmox.pve_ceph_pool: *keep
      check_mode: true
      register: keep_check
    - name: Size with the same min_size
      proxfleet.proxmox.pve_ceph_pool: *keep
      register: keep_real
    - name: Size with the same min_size again (check mode)
      proxfleet.proxmox.pve_ceph_pool: *keep
      check_mode: true
      register: keep_check_again
    - name: Size with the same min_size again
      proxfleet.proxmox.pve_ceph_pool: *keep
      register: keep_again
    - name: Size alone (check mode)
      proxfleet.proxmox.pve_ceph_pool: *grow
      check_mode: true
      register: grow_check
    - name: Size alone
      proxfleet.proxmox.pve_ceph_pool: *grow
      register: grow_real
    - name: Size alone again
      proxfleet.proxmox.pve_ceph_pool: *grow
      register: grow_again
    - name: The min_size Ceph resets shows, and a given one stays
      ansible.builtin.assert:
        that:
          - keep_check is changed and keep_real is changed
          - keep_check.diff == keep_real.diff
          - "keep_real.diff.before == {'size': 3, 'min_size': 3}"
          - "keep_real.diff.after == {'size': 4, 'min_size': 3}"
          - keep_real.pool.min_size == 3 and keep_real.pool.size == 4
          - keep_check_again is not changed and keep_again is not changed
          - grow_check is changed and grow_real is changed
          - grow_check.diff == grow_real.diff
          - "grow_real.diff.before == {'size': 4, 'min_size': 3}"
          - "grow_real.diff.after == {'size': 5, 'min_size': 2}"
          - grow_real.pool.min_size == 2
          - grow_again is not changed
'''


@pytest.mark.lab(clusters=1, nodes=3, guests=0)
def test_ceph(lab_fn):
    cluster = lab_fn.clusters[0]
    pool = 'it-' + uuid.uuid4().hex[:8]
    # An Administrator on / who is not root@pam: PVE still refuses them OSD create and destroy.
    admin = {'user': 'ceph-admin@pve', 'password': uuid.uuid4().hex}
    cluster.pve.users[admin['user']] = admin['password']
    cluster.pve.grant(admin['user'], '/', *PRIVILEGES)
    # The RBD storage pve_ceph_pool's add_storages makes is named after the pool.
    lp = dict((module, least_privilege_token(cluster, module, storage=[pool], node=cluster.nodes))
              for module in ('pve_ceph', 'pve_ceph_info', 'pve_ceph_pool', 'pve_ceph_osd'))
    run = run_playbook(target('pve_ceph'), lab_fn, extra_vars={'pve': pve_vars(cluster), 'lp': lp, 'pool': pool, 'admin': admin},
                       diff=True)
    assert run.ok, run.explain()
    # The OSD creates and destroys refused to the tokens (the least-privilege one of pve_ceph_osd) and to the
    # Administrator never reached the API: every such request made a task (a refused one would have made none).
    osd_writes = [(method, path) for method, path, _body in cluster.pve.requests
                  if (method == 'POST' and path.endswith('/ceph/osd')) or (method == 'DELETE' and '/ceph/osd/' in path)]
    osd_tasks = [t['type'] for t in cluster.pve.tasklog if t['type'] in ('cephcreateosd', 'cephdestroyosd')]
    assert sorted(m for m, _p in osd_writes) == sorted('POST' if t == 'cephcreateosd' else 'DELETE' for t in osd_tasks)
    assert osd_tasks
    # Neither the API token nor the Administrator made an OSD on /dev/sdc (the root@pam login made osd.0 to 2).
    sdc = [d for d in cluster.pve.ceph_disks(cluster.nodes[0]) if d['devpath'] == '/dev/sdc'][0]
    assert 'used' not in sdc
    # Neither password shows, not even in the tasks' results.
    for secret in (cluster.password, admin['password']):
        assert secret not in run.stdout + json.dumps(run.tasks)
    state = cluster.pve.cephx
    assert not [name for name in state['pools'] if name.startswith(pool)]
    assert not [name for name in cluster.pve.storages if name.startswith(pool)]
    assert state['scrubs'] == [(0, True)]
    assert sorted(state['osds']) == [1, 2]
    sdb = [d for d in cluster.pve.ceph_disks(cluster.nodes[0]) if d['devpath'] == '/dev/sdb'][0]
    assert 'used' not in sdb

    # A pool that holds data (made straight in the lab, with a GiB used) is destroyed only with force.
    pve, node = cluster.pve, cluster.nodes[0]
    lab_fn.call(pve._cx_pool_create({'node': node, 'name': pool + '-full'}, 'root@pam'))  # pylint: disable=protected-access
    pve.ceph_pool_usage(pool + '-full', 1024 ** 3)
    run = run_playbook(FORCE_PLAY, lab_fn, extra_vars={'pve': lp['pve_ceph_pool'], 'pool': pool + '-full'})
    assert run.ok, run.explain()
    assert pool + '-full' not in state['pools']

    # A pool of size 3 and min_size 3 (made straight in the lab) grows: Ceph resets min_size with each size change.
    lab_fn.call(pve._cx_pool_create({'node': node, 'name': pool + '-grow', 'size': 3, 'min_size': 3},  # pylint: disable=protected-access
                                    'root@pam'))
    assert state['pools'][pool + '-grow']['min_size'] == 3
    run = run_playbook(RESIZE_PLAY, lab_fn, extra_vars={'pve': lp['pve_ceph_pool'], 'pool': pool + '-grow'})
    assert run.ok, run.explain()
    assert (state['pools'][pool + '-grow']['size'], state['pools'][pool + '-grow']['min_size']) == (5, 2)
