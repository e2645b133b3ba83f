# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_backup_job through ansible-playbook against both lab clusters (PVE 9 and 8), with a privilege-separated token
holding only what docs/privileges.md lists for the module (least_privilege.py)."""

import uuid

import pytest
import requests

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

POOL_PLAY = '''
- name: A job that backs up a pool (VM.Backup on the pool)
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
    job: &job {id: "{{ job_id }}", schedule: "sun 03:00", storage: local, pool: "{{ pool }}"}
  tasks:
    - name: Create (check mode)
      proxfleet.proxmox.pve_backup_job: *job
      check_mode: true
      register: create_check
    - name: Create
      proxfleet.proxmox.pve_backup_job: *job
      register: created
    - name: Create again
      proxfleet.proxmox.pve_backup_job: *job
      register: create_again
    - name: Modify
      proxfleet.proxmox.pve_backup_job: {id: "{{ job_id }}", pool: "{{ pool }}", schedule: "sun 04:00"}
      register: modified
    - name: Remove
      proxfleet.proxmox.pve_backup_job: {id: "{{ job_id }}", state: absent}
      register: removed
    - name: Created, changed and removed once
      ansible.builtin.assert:
        that:
          - create_check is changed and created is changed and create_check.diff == created.diff
          - created.job.pool == pool
          - create_again is not changed
          - modified is changed and removed is changed
'''


def make_pool(cluster, name):
    """A resource pool, made through the API with root's token."""
    answer = requests.post(cluster.url + '/api2/json/pools', data={'poolid': name}, timeout=30, verify=cluster.ca_path,
                           headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id,
                                                                                  cluster.token_secret)})
    answer.raise_for_status()


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_create_modify_delete(lab, index):
    cluster = lab.clusters[index]
    job_id = 'it-' + uuid.uuid4().hex[:8]
    pool = 'lp-' + uuid.uuid4().hex[:8]
    make_pool(cluster, pool)
    # A privilege-separated token holding only what docs/privileges.md lists for pve_backup_job (the jobs' storage
    # is `local`; the second play's job backs up the pool).
    token = least_privilege_token(cluster, 'pve_backup_job', storage='local', pool=pool)
    run = run_playbook(target('pve_backup_job'), lab, extra_vars={'pve': token, 'job_id': job_id}, diff=True)
    assert run.ok, run.explain()
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # The cleanup removed it from the cluster's jobs.cfg.
    assert job_id not in cluster.pve.backup_jobs
    # Backup.pm checks VM.Backup on a job's pool.
    run = run_playbook(POOL_PLAY, lab, extra_vars={'pve': token, 'job_id': job_id + '-pool', 'pool': pool}, diff=True)
    assert run.ok, run.explain()
    assert job_id + '-pool' not in cluster.pve.backup_jobs
