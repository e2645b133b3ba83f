# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/backup.yml (the backup role) against the lab, as is: the RPO check reports the guest without a backup,
and fails the play with backup_fail_on_rpo."""

import os
import time

import pytest

from tests.lab.estate import REPO_ROOT
from tests.lab.pytest_plugin import run_playbook

PLAYBOOK = os.path.join(REPO_ROOT, 'playbooks', 'backup.yml')
REPORT_TASK = "proxfleet.proxmox.backup : Compare each guest's newest backup with its RPO"


def settings(lab, fail):
    """Role variables: the lab's Backup Server by name only (its connection comes from lab_pbs, as from an
    inventory source), every lab cluster, a pbs storage and a job for VM 100 and container 103."""
    return {
        'backup_pbs_servers': [{'name': lab.pbs.vars['name'],
                                'datastores': [{'name': 'rpo-main', 'path': '/datastore/rpo-main', 'gc_schedule': 'daily'}]}],
        'backup_storages': [{'storage': 'pbs-rpo', 'pbs': lab.pbs.vars['name'], 'datastore': 'rpo-main',
                             'username': lab.pbs.token_id, 'password': lab.pbs.token_secret}],
        'backup_jobs': [{'id': 'rpo-job', 'storage': 'pbs-rpo', 'schedule': '*-*-* 02:00', 'vmid': [100, 103]}],
        'backup_rpo': '12h',
        'backup_fail_on_rpo': fail,
    }


BACKUP_100 = """
- name: Back up VM 100 now
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Backup
      proxfleet.proxmox.pve_backup:
        api_host: "{{ lab_clusters[0].api_host }}"
        api_token_id: "{{ lab_clusters[0].token_id }}"
        api_token_secret: "{{ lab_clusters[0].token_secret }}"
        ca_path: "{{ lab_clusters[0].ca_path }}"
        vmid: [100]
        storage: pbs-rpo
"""


def report(run):
    return run.result(REPORT_TASK)['ansible_facts']['backup_rpo_report']


@pytest.mark.lab(clusters=1, nodes=2, guests=4)
def test_rpo_reports_the_guest_without_a_backup(lab_fn):
    # Nothing backed up yet: both guests are reported, the play goes on (backup_fail_on_rpo false).
    first = run_playbook(PLAYBOOK, lab_fn, extra_vars=settings(lab_fn, fail=False))
    assert first.ok, first.explain()
    before = report(first)
    assert before['checked'] == 2 and before['ok'] == []
    assert sorted(v['vmid'] for v in before['violations']) == [100, 103]
    assert {v['backup_type'] for v in before['violations']} == {'vm', 'ct'}
    assert all(v['last_backup'] is None and v['reason'].startswith('no backup in') for v in before['violations'])

    backed_up = run_playbook(BACKUP_100, lab_fn)
    assert backed_up.ok, backed_up.explain()

    # VM 100 has a fresh backup now; container 103 still has none and is the one reported.
    second = run_playbook(PLAYBOOK, lab_fn, extra_vars=settings(lab_fn, fail=False))
    assert second.ok, second.explain()
    after = report(second)
    assert [g['vmid'] for g in after['ok']] == [100]
    assert after['ok'][0]['last_backup'] is not None and after['ok'][0]['age_seconds'] < 12 * 3600
    assert [v['vmid'] for v in after['violations']] == [103]
    assert 'no backup in' in after['violations'][0]['summary']
    assert not [t for t in second.changed if t['action'] != 'ansible.builtin.set_fact'], \
        [t['task'] for t in second.changed]

    # backup_fail_on_rpo: the play fails, naming the guest.
    failing = run_playbook(PLAYBOOK, lab_fn, extra_vars=settings(lab_fn, fail=True))
    assert not failing.ok
    failed = [t for t in failing.failed if t['task'] == 'proxfleet.proxmox.backup : Fail when a guest misses the RPO']
    assert failed, failing.explain()
    assert 'guest 103' in failed[0]['result']['msg'] and '1 of 2 guests miss the RPO' in failed[0]['result']['msg']
    # Container 103's newest backup is 45 minutes old, the RPO 30 minutes: both read in minutes, not as 0.8 h / 0.5 h.
    lab_fn.pbs.pbs.add_snapshot('rpo-main', 'ct', '103', int(time.time()) - 45 * 60)
    minutes = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(settings(lab_fn, fail=False), backup_rpo='30m'))
    assert minutes.ok, minutes.explain()
    late = report(minutes)['violations']
    assert [v['vmid'] for v in late] == [103]
    assert late[0]['reason'] == 'newest backup 45 min old, RPO 30 min', late[0]
    # Token secrets (the PBS token is also the storage's password) never show.
    secrets = [lab_fn.pbs.token_secret] + [c.token_secret for c in lab_fn.clusters]
    for run in (first, second, failing, minutes):
        assert not [s for s in secrets if s in run.stdout or s in run.stderr]


SCENARIO = os.path.join(REPO_ROOT, 'roles', 'backup', 'molecule', 'default', 'vars', 'scenario.yml')

# The molecule scenario's estate (datastores with prune and verify jobs, a remote and a sync job, a pbs storage, the
# RPO check with catch-up), its jobs replaced by the test's.
SCENARIO_PLAY = '''
- name: The backup role with the molecule scenario's settings
  hosts: localhost
  gather_facts: false
  vars_files:
    - {0}
  roles:
    - role: proxfleet.proxmox.backup
'''.format(SCENARIO)


@pytest.mark.lab(clusters=1, nodes=2, guests=4)
def test_check_mode_on_a_fresh_estate_then_catch_up_without_mode(lab_fn):
    cluster = lab_fn.clusters[0]
    # A job without mode (optional; PVE's default is snapshot), as in the docs' own example.
    jobs = {'backup_jobs': [{'id': 'no-mode', 'storage': 'pbs-mol', 'schedule': '*-*-* 02:00', 'vmid': [100]}]}

    # Check mode where nothing exists yet: what would be created is reported, nothing is written.
    checked = run_playbook(SCENARIO_PLAY, lab_fn, extra_vars=jobs, check=True)
    assert checked.ok, checked.explain()
    changed = [t['task'] for t in checked.changed]
    for task in ('Ensure the datastores and their GC schedules',
                 'Report the jobs that would be created with their new datastore or remote',
                 'Ensure the remotes (other Backup Servers this one syncs with)',
                 'Ensure the pbs storages', 'Ensure the backup jobs',
                 'Report the guests a backup now would catch up, on a pbs storage this run creates'):
        assert 'proxfleet.proxmox.backup : ' + task in changed, checked.explain()
    assert lab_fn.pbs.pbs.datastores == {} or not set(lab_fn.pbs.pbs.datastores) & {'mol-main', 'mol-offsite'}
    assert 'pbs-mol' not in cluster.pve.storages

    # For real: the catch-up backs up VM 100 with PVE's default mode, and the RPO check passes.
    real = run_playbook(SCENARIO_PLAY, lab_fn, extra_vars=jobs)
    assert real.ok, real.explain()
    catch_up = real.result('proxfleet.proxmox.backup : Back up now the guests that miss the RPO')
    assert catch_up['changed'], real.explain()
    assert len(lab_fn.pbs.pbs.datastores['mol-main'].snapshots) == 1
    assert report(real)['violations'] == []
