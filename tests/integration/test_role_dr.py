# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""proxfleet.proxmox.dr beyond its molecule scenario (restore mode): bad settings refused before any change, the
drill with a point in time (the older of two backups) that leaves nothing behind, a drill refused on a taken vmid,
and a restore that skips a vmid another guest holds."""

import os
import re

import pytest

from tests.lab.estate import REPO_ROOT
from tests.lab.pytest_plugin import run_playbook

DR_PLAYBOOK = os.path.join(REPO_ROOT, 'playbooks', 'dr.yml')

REPORT_TASK = 'proxfleet.proxmox.dr : Sum up the run'

SETTINGS = '''
- name: The dr role with the test's settings
  hosts: localhost
  gather_facts: false
  roles:
    - role: proxfleet.proxmox.dr
'''

# The lab's first cluster backs up VM 100 twice (a second apart) on a datastore the second cluster reads through its
# own pbs storage; the snapshots are listed, oldest first, in dr_test_snapshots.
PREPARE = '''
- name: Two backups of VM 100 of the first cluster on PBS, readable from the second
  hosts: localhost
  gather_facts: false
  vars:
    pbs_conn: &pbs_conn
      api_host: "{{ lab_pbs.api_host }}"
      api_port: "{{ lab_pbs.api_port }}"
      api_token_id: "{{ lab_pbs.token_id }}"
      api_token_secret: "{{ lab_pbs.token_secret }}"
      ca_path: "{{ lab_pbs.ca_path }}"
  tasks:
    - name: The datastore
      proxfleet.proxmox.pbs_datastore:
        <<: *pbs_conn
        name: drtest
        path: /datastore/drtest

    - name: A pbs storage on both clusters
      proxfleet.proxmox.pve_storage:
        api_host: "{{ item.api_host }}"
        api_port: "{{ item.api_port }}"
        api_token_id: "{{ item.token_id }}"
        api_token_secret: "{{ item.token_secret }}"
        ca_path: "{{ item.ca_path }}"
        storage: pbs-drtest
        type: pbs
        server: "{{ lab_pbs.api_host }}"
        port: "{{ lab_pbs.api_port }}"
        datastore: drtest
        username: "{{ lab_pbs.token_id }}"
        password: "{{ lab_pbs.token_secret }}"
        pbs_fingerprint: "{{ lab_pbs.fingerprint }}"
        content: [backup]
      loop: "{{ lab_clusters }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Back up VM 100, twice, a second apart
      proxfleet.proxmox.pve_backup:
        api_host: "{{ lab_clusters[0].api_host }}"
        api_port: "{{ lab_clusters[0].api_port }}"
        api_token_id: "{{ lab_clusters[0].token_id }}"
        api_token_secret: "{{ lab_clusters[0].token_secret }}"
        ca_path: "{{ lab_clusters[0].ca_path }}"
        vmid: [100]
        storage: pbs-drtest
        mode: snapshot
      loop: [1, 2]
      loop_control:
        pause: 1.1
'''


def dr_vars(lab, **settings):
    one, two = lab.clusters
    pbs = lab.pbs
    variables = {
        'dr_cluster': {'name': two.name, 'api_host': two.host, 'api_port': two.port, 'api_token_id': two.token_id,
                       'api_token_secret': two.token_secret, 'ca_path': two.ca_path},
        'dr_pbs': {'api_host': pbs.host, 'api_port': pbs.port, 'api_token_id': pbs.token_id,
                   'api_token_secret': pbs.token_secret, 'ca_path': pbs.ca_path},
        'dr_datastore': 'drtest',
        'dr_backup_storage': 'pbs-drtest',
        'dr_agent_timeout': 30,
        'dr_agent_delay': 1,
    }
    variables.update(settings)
    return variables


def proxmox_tasks(run):
    return [t for t in run.tasks if str(t['action']).startswith('proxfleet.proxmox.')]


# Nothing listens there: a check that let anything through would fail on the connection instead.
UNREACHABLE = {'dr_cluster': {'name': 'dr', 'api_host': '127.0.0.1', 'api_port': 9, 'api_token_id': 'a@pve!b',
                              'api_token_secret': 'x'},
               'dr_pbs': {'api_host': '127.0.0.1', 'api_port': 9, 'api_token_id': 'a@pbs!b', 'api_token_secret': 'x'},
               'dr_datastore': 'main', 'dr_backup_storage': 'pbs-main'}


@pytest.mark.parametrize('settings, words', [
    ({}, 'no guest selected'),
    ({'dr_tags': ['prod']}, 'read the guests of dr_source_cluster'),
    ({'dr_guests': [{'vmid': 100}], 'dr_point_in_time': 'yesterday'}, 'dr_point_in_time yesterday is neither'),
    ({'dr_guests': [{'vmid': 100}], 'dr_mode': 'drill', 'dr_drill_bridge': 'isolated-net'}, 'cannot be an SDN VNet name'),
    ({'dr_guests': [{'vmid': 100, 'target_vmid': 900}, {'vmid': 101, 'target_vmid': 900}]}, 'same target_vmid'),
    ({'dr_guests': [{'name': 'web'}]}, 'needs the vmid of the backed-up guest'),
    ({'dr_guests': [{'vmid': 100}], 'dr_mode': 'rehearse'}, 'dr_mode'),
    ({'dr_guests': [{'vmid': 100}], 'dr_backup_storage': ''}, 'dr_backup_storage names no pbs storage'),
])
def test_bad_settings_fail_before_any_change(settings, words):
    variables = dict(UNREACHABLE)
    variables.update(settings)
    run = run_playbook(SETTINGS, None, extra_vars=variables)
    assert not run.ok, run.explain()
    assert words in run.stdout, run.explain()
    assert proxmox_tasks(run) == [], run.explain()


@pytest.mark.lab(clusters=2, nodes=2, guests=8)
def test_drill_at_a_point_in_time_leaves_nothing_behind(lab_fn):
    one, two = lab_fn.clusters
    prepared = run_playbook(PREPARE, lab_fn)
    assert prepared.ok, prepared.explain()
    assert len(lab_fn.pbs.pbs.datastores['drtest'].snapshots) == 2
    loop = prepared.result('Back up VM 100, twice, a second apart')
    times = sorted(backup['ctime'] for item in loop.get('results', [loop]) for backup in item['backups'])
    assert len(times) == 2 and times[0] < times[1]
    guests_before = sorted(vm.vmid for vm in two.pve.vms)

    # The older backup, chosen by a point in time between the two (epoch seconds); only a list, no source cluster.
    # Check mode first: the plan, and nothing created.
    drill = dr_vars(lab_fn, dr_mode='drill', dr_guests=[{'vmid': 100, 'target_vmid': 4100}],
                    dr_point_in_time=str(times[0]), dr_nodes=[two.nodes[1]])
    checked = run_playbook(SETTINGS, lab_fn, extra_vars=drill, check=True)
    assert checked.ok, checked.explain()
    planned = checked.result(REPORT_TASK)['ansible_facts']['dr_report']
    assert [(g['backup_time'], g['restored']) for g in planned['guests']] == [(times[0], False)]
    summary = checked.result(REPORT_TASK)['ansible_facts']['dr_summary']
    assert len(summary) == 1 and ': would be restored from pbs-drtest:backup/vm/100/' in summary[0], summary
    assert 'restored earlier' not in summary[0]
    assert sorted(vm.vmid for vm in two.pve.vms) == guests_before and 'drill' not in two.pve.sdn['zones']
    run = run_playbook(SETTINGS, lab_fn, extra_vars=drill)
    assert run.ok, run.explain()
    report = run.result(REPORT_TASK)['ansible_facts']['dr_report']
    guest = report['guests'][0]
    assert guest['backup_time'] == times[0]
    assert guest['archive'].startswith('pbs-drtest:backup/vm/100/')
    assert guest['restored'] and guest['removed'] and guest['status'] == 'running' and guest['agent'] is True
    assert guest['node'] == two.nodes[1] and guest['bridges'] == ['drillnet']
    assert guest['rpo_seconds'] >= 0 and guest['rto_seconds'] > 0
    # RPO and RTO in the unit that fits (seconds here), not 0.0 h.
    line = run.result(REPORT_TASK)['ansible_facts']['dr_summary'][0]
    assert re.search(r': RPO [0-9.]+ (s|min) \(backup .*\), RTO [0-9.]+ s, running, agent answers, removed$', line), line
    assert sorted(report['network_created']) == ['vnet', 'zone']
    # Nothing is left: the guest, the VNet and the zone are gone, the other guests are untouched.
    assert sorted(vm.vmid for vm in two.pve.vms) == guests_before
    assert 'drillnet' not in two.pve.sdn['vnets'] and 'drill' not in two.pve.sdn['zones']
    assert one.pve.vm(100).status == 'running'

    # A drill onto a vmid another guest holds is refused before anything is created.
    taken = run_playbook(SETTINGS, lab_fn, extra_vars=dr_vars(
        lab_fn, dr_mode='drill', dr_guests=[{'vmid': 100, 'target_vmid': 101}]))
    assert not taken.ok
    assert 'vmid 101 is taken on {0}'.format(two.name) in taken.stdout, taken.explain()
    assert [t['task'] for t in taken.changed] == []
    assert 'drill' not in two.pve.sdn['zones']

    # A restore onto that vmid skips it (dr_if_exists: skip), reports it, and leaves the guest alone; through
    # playbooks/dr.yml, the clusters and the Backup Server named, found in the lab's variables (lab_clusters, lab_pbs).
    config = dict(two.pve.vm(101).config)
    by_name = dict((key, value) for key, value in dr_vars(lab_fn).items() if key not in ('dr_cluster', 'dr_pbs'))
    by_name.update(dr_target=two.name, dr_backup_server=lab_fn.pbs.vars['name'],
                   dr_guests=[{'vmid': 100, 'target_vmid': 101}])
    skipped = run_playbook(DR_PLAYBOOK, lab_fn, extra_vars=by_name)
    assert skipped.ok, skipped.explain()
    assert [t['task'] for t in skipped.changed] == []
    entry = skipped.result(REPORT_TASK)['ansible_facts']['dr_report']['guests'][0]
    assert entry['action'] == 'skip' and not entry['restored']
    assert dict(two.pve.vm(101).config) == config

    # A restore of the guests tagged prod on the source cluster (106 has no backup: excluded), the source's local-lvm
    # mapped to a storage of the DR cluster: first in check mode (nothing is created), then for real.
    two.pve.storages['dr-dir'] = {'type': 'dir', 'path': '/srv/dr', 'content': 'images,rootdir', 'active': 1,
                                  'files': set(), 'volumes': {}, 'avail': 2 * 1024 ** 4}
    source = {'name': one.name, 'api_host': one.host, 'api_port': one.port, 'api_token_id': one.token_id,
              'api_token_secret': one.token_secret, 'ca_path': one.ca_path}
    settings = dr_vars(lab_fn, dr_source_cluster=source, dr_tags=['prod'], dr_exclude=[106], dr_vmid_offset=5000,
                       dr_storage_map={'local-lvm': 'dr-dir'}, dr_storage='local-lvm')
    checked = run_playbook(SETTINGS, lab_fn, extra_vars=settings, check=True)
    assert checked.ok, checked.explain()
    planned = checked.result(REPORT_TASK)['ansible_facts']['dr_report']['guests']
    assert [(g['source_vmid'], g['target_vmid'], g['storage'], g['restored']) for g in planned] == [
        (100, 5100, 'dr-dir', False)]
    assert two.pve.vm(5100) is None
    restored = run_playbook(SETTINGS, lab_fn, extra_vars=settings)
    assert restored.ok, restored.explain()
    guest = restored.result(REPORT_TASK)['ansible_facts']['dr_report']['guests'][0]
    assert guest['restored'] and guest['backup_time'] == times[1] and guest['rto_seconds'] > 0
    vm = two.pve.vm(5100)
    assert vm is not None and vm.status == 'running'
    assert vm.config['scsi0'].startswith('dr-dir:') and 'dr-restored' in vm.config['tags']


CLEANUP_PLAYBOOK = os.path.join(REPO_ROOT, 'playbooks', 'dr_cleanup.yml')

# Someone else's network of the same kind as a drill's: a simple zone with a VNet, on the DR cluster.
OTHER_NETWORK = '''
- name: A zone and a VNet that no drill made
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ lab_clusters[1].api_host }}"
      api_port: "{{ lab_clusters[1].api_port }}"
      api_token_id: "{{ lab_clusters[1].token_id }}"
      api_token_secret: "{{ lab_clusters[1].token_secret }}"
      ca_path: "{{ lab_clusters[1].ca_path }}"
  tasks:
    - name: Zone
      proxfleet.proxmox.pve_sdn_zone:
        zone: keepz
        type: simple
    - name: VNet
      proxfleet.proxmox.pve_sdn_vnet:
        vnet: keepnet
        zone: keepz
        alias: a drill network of ours
        apply: true
'''


@pytest.mark.lab(clusters=2, nodes=2, guests=8)
def test_leftovers_of_an_interrupted_drill_are_removed_and_nothing_else(lab_fn):
    one, two = lab_fn.clusters
    prepared = run_playbook(PREPARE, lab_fn)
    assert prepared.ok, prepared.explain()
    other = run_playbook(OTHER_NETWORK, lab_fn)
    assert other.ok, other.explain()
    # A guest with the drill tag that no drill restored (no mark in its notes) stays, as the zone and VNet above.
    two.pve.add_vm(4200, 'tagged-by-hand', node=two.nodes[0], status='stopped',
                   config={'name': 'tagged-by-hand', 'memory': '512', 'cores': 1, 'tags': 'dr-drill',
                           'description': 'proxfleet drill notes, by hand'})
    drill = dr_vars(lab_fn, dr_mode='drill', dr_guests=[{'vmid': 100, 'target_vmid': 4100}])

    # A drill that stops before its clean-up (as when interrupted): its guest and network stay, marked.
    kept = run_playbook(SETTINGS, lab_fn, extra_vars=dict(drill, dr_drill_cleanup=False))
    assert kept.ok, kept.explain()
    left = two.pve.vm(4100)
    assert left is not None and 'dr-drill' in left.config['tags']
    assert str(left.config['description']).startswith('proxfleet-drill ')
    assert two.pve.sdn['vnets']['drillnet']['alias'].startswith('proxfleet-drill ')
    assert str(two.pve.sdn['vnets']['drillnet']['alias']).endswith(' zone')

    # The next drill onto the same vmid: in check mode it plans the restore and lists what it would remove first.
    checked = run_playbook(SETTINGS, lab_fn, extra_vars=drill, check=True)
    assert checked.ok, checked.explain()
    found = checked.result('proxfleet.proxmox.dr : Pick what earlier drills marked')['ansible_facts']['dr_leftovers']
    assert [g['vmid'] for g in found['guests']] == [4100]
    assert found['vnets'] == ['drillnet'] and found['zones'] == ['drill']
    assert two.pve.vm(4100) is not None and 'drillnet' in two.pve.sdn['vnets']
    # For real: the leftovers go first, the drill runs and removes its own; the unmarked ones stay.
    again = run_playbook(SETTINGS, lab_fn, extra_vars=drill)
    assert again.ok, again.explain()
    guest = again.result(REPORT_TASK)['ansible_facts']['dr_report']['guests'][0]
    assert guest['restored'] and guest['removed']
    assert two.pve.vm(4100) is None and 'drillnet' not in two.pve.sdn['vnets'] and 'drill' not in two.pve.sdn['zones']
    assert two.pve.vm(4200) is not None and 'keepnet' in two.pve.sdn['vnets'] and 'keepz' in two.pve.sdn['zones']

    # playbooks/dr_cleanup.yml, the cluster named: removes the leftovers of an earlier drill (made here as a drill
    # marks them: a guest, a VNet and the zone it created), and nothing else.
    two.pve.add_vm(4300, 'web-01', node=two.nodes[1], status='running',
                   config={'name': 'web-01', 'memory': '512', 'cores': 1, 'tags': 'dr-drill',
                           'description': 'proxfleet-drill 20260101T000000Z\nweb server'})
    marked = run_playbook(OTHER_NETWORK.replace('keepz', 'oldz').replace('keepnet', 'oldnet').replace(
        'a drill network of ours', 'proxfleet-drill 20260101T000000Z zone'), lab_fn)
    assert marked.ok, marked.explain()
    cleaned = run_playbook(CLEANUP_PLAYBOOK, lab_fn, extra_vars={'dr_target': two.name})
    assert cleaned.ok, cleaned.explain()
    assert two.pve.vm(4300) is None and 'oldnet' not in two.pve.sdn['vnets'] and 'oldz' not in two.pve.sdn['zones']
    assert two.pve.vm(4200) is not None and 'keepnet' in two.pve.sdn['vnets'] and 'keepz' in two.pve.sdn['zones']
    # Nothing left to remove: a second clean-up changes nothing.
    again = run_playbook(CLEANUP_PLAYBOOK, lab_fn, extra_vars={'dr_target': two.name})
    assert again.ok, again.explain()
    assert [t['task'] for t in again.changed if t['action'] != 'ansible.builtin.set_fact'] == []
    assert one.pve.vm(100).status == 'running'
