# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/plugin_utils/dr.py and plugins/filter/dr.py: the dr role's plan (selection, backup, node, storage and
bridge maps, what the run does with each guest, the problems that stop it) and its report lines."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.proxfleet.proxmox.plugins.filter.dr import FilterModule
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils import dr

SNAPSHOTS = [
    {'backup_type': 'vm', 'backup_id': '100', 'backup_time': 1000, 'backup_time_iso': '2026-12-01T10:00:00Z',
     'path': 'vm/100/2026-12-01T10:00:00Z', 'comment': 'web'},
    {'backup_type': 'vm', 'backup_id': '100', 'backup_time': 2000, 'backup_time_iso': '2026-12-02T10:00:00Z',
     'path': 'vm/100/2026-12-02T10:00:00Z', 'comment': 'web'},
    {'backup_type': 'ct', 'backup_id': '100', 'backup_time': 3000, 'backup_time_iso': '2026-12-03T10:00:00Z',
     'path': 'ct/100/2026-12-03T10:00:00Z', 'comment': 'other'},
    {'backup_type': 'ct', 'backup_id': '101', 'backup_time': 1500, 'backup_time_iso': '2026-12-01T20:00:00Z',
     'path': 'ct/101/2026-12-01T20:00:00Z', 'comment': ''},
]
SOURCE = [
    {'vmid': 100, 'type': 'qemu', 'name': 'web', 'tags': ['prod', 'dr'], 'pool': ''},
    {'vmid': 101, 'type': 'lxc', 'name': 'db', 'tags': None, 'pool': 'prod'},
    {'vmid': 102, 'type': 'qemu', 'name': 'test', 'tags': ['test'], 'pool': 'lab'},
]


def settings(**extra):
    base = {'selected': [100], 'source_guests': SOURCE, 'target_guests': [], 'nodes': ['pve1', 'pve2'],
            'snapshots': SNAPSHOTS, 'backup_storage': 'pbs-dr', 'tag': 'dr-restored', 'drill': False,
            'if_exists': 'skip', 'datastore': 'main', 'cluster_name': 'dr', 'storage': ''}
    base.update(extra)
    return base


def one(**extra):
    result = dr.plan(settings(**extra))
    assert len(result['guests']) == 1
    return result['guests'][0], result['problems']


# ------------------------------------------------------------------ selection

@pytest.mark.parametrize('kwargs, vmids', [
    ({'tags': ['dr']}, [100]),
    ({'tags': ['dr', 'test']}, [100, 102]),
    ({'pool': 'prod'}, [101]),
    ({'tags': ['test'], 'pool': 'prod'}, [101, 102]),
    ({'tags': ['dr'], 'dr_guests': [{'vmid': '300'}, {'vmid': 100}]}, [100, 300]),
    ({'tags': ['dr', 'test'], 'pool': 'prod', 'exclude': [101, '102']}, [100]),
    ({}, []),
    ({'tags': [], 'pool': ''}, []),
])
def test_select(kwargs, vmids):
    dr_guests = kwargs.pop('dr_guests', [])
    assert dr.select(SOURCE, dr_guests, **kwargs) == vmids


def test_select_refuses_a_vmid_that_is_no_number():
    with pytest.raises(dr.DrPlanError, match='needs|must be a number'):
        dr.select([], [{'vmid': 'web'}])


# ------------------------------------------------------------------ the backup

def test_the_newest_backup_of_the_guests_type():
    item, problems = one()
    assert problems == []
    # The ct backup of an unrelated guest 100 is newer but not of the source guest's type.
    assert item['archive'] == 'pbs-dr:backup/vm/100/2026-12-02T10:00:00Z'
    assert (item['backup_time'], item['backup_time_iso']) == (2000, '2026-12-02T10:00:00Z')
    assert item['type'] == 'qemu' and item['name'] == 'web'


def test_without_the_source_any_type_and_the_comment_as_name():
    item, _problems = one(source_guests=[])
    assert item['archive'] == 'pbs-dr:backup/ct/100/2026-12-03T10:00:00Z'
    assert item['type'] == 'lxc' and item['name'] == 'other'


def test_an_empty_comment_gives_no_name():
    item, _problems = one(selected=[101], source_guests=[])
    assert item['name'] is None and item['type'] == 'lxc'


@pytest.mark.parametrize('point, path', [
    ('2026-12-01T10:00:00Z', 'vm/100/2026-12-01T10:00:00Z'),
    ('2026-12-01T23:59:00Z', 'vm/100/2026-12-01T10:00:00Z'),
    ('2026-12-02T10:00:00Z', 'vm/100/2026-12-02T10:00:00Z'),
    ('', 'vm/100/2026-12-02T10:00:00Z'),
    (None, 'vm/100/2026-12-02T10:00:00Z'),
])
def test_point_in_time(point, path):
    item, problems = one(point_in_time_iso=point)
    assert item['archive'] == 'pbs-dr:backup/' + path and problems == []


def test_no_backup_at_or_before_the_point_in_time():
    item, problems = one(point_in_time_iso='2026-11-30T00:00:00Z', namespace='site-a')
    assert item['archive'] is None and item['backup_time'] is None and item['backup_time_iso'] is None
    assert problems == ['guest 100 (web): no backup in main namespace site-a taken at or before 2026-11-30T00:00:00Z']


def test_no_backup_at_all():
    item, problems = one(selected=[555])
    assert item['name'] is None and item['type'] is None
    assert problems == ['guest 555: no backup in main']


def test_no_backup_is_no_problem_for_a_guest_converged_or_skipped():
    _item, problems = one(selected=[555], target_guests=[{'vmid': 555, 'node': 'pve2', 'tags': ['dr-restored']}])
    assert problems == []
    _item, problems = one(selected=[555], target_guests=[{'vmid': 555, 'node': 'pve2', 'tags': []}])
    assert problems == []


# ------------------------------------------------------------------ where

def test_target_vmid_offset_and_entry():
    item, _problems = one(vmid_offset=1000)
    assert (item['source_vmid'], item['target_vmid']) == (100, 1100)
    item, _problems = one(vmid_offset=1000, dr_guests=[{'vmid': '100', 'target_vmid': '900'}])
    assert item['target_vmid'] == 900


def test_nodes_in_turn_and_from_the_entry():
    result = dr.plan(settings(selected=[100, 101, 102], dr_guests=[{'vmid': 102, 'node': 'pve9'}]))
    assert [g['node'] for g in result['guests']] == ['pve1', 'pve2', 'pve9']


def test_no_node():
    item, problems = one(nodes=[])
    assert item['node'] is None
    assert problems == ['guest 100 (web): no online node of dr to restore onto']


@pytest.mark.parametrize('config, storage_map, storage, expected_source, expected', [
    ({'scsi0': 'ceph:vm-100-disk-0,size=8G'}, {'ceph': 'local-lvm'}, 'fallback', 'ceph', 'local-lvm'),
    ({'scsi0': 'ceph:vm-100-disk-0'}, {'other': 'x'}, 'fallback', 'ceph', 'fallback'),
    ({'scsi0': 'ceph:vm-100-disk-0'}, {}, '', 'ceph', ''),
    # The root file system first, else the first disk key in order; CD-ROMs and values without a storage ignored.
    ({'scsi1': 'b:x', 'rootfs': 'c:subvol', 'ide0': 'a:y'}, {'c': 'C', 'a': 'A'}, '', 'c', 'C'),
    ({'scsi1': 'b:x', 'ide2': 'iso:cd.iso,media=cdrom', 'virtio0': 'v:x'}, {'b': 'B'}, '', 'b', 'B'),
    ({'scsi10': 'ten:x', 'scsi2': 'two:x'}, {'ten': 'T'}, '', 'ten', 'T'),
    ({'efidisk0': 'e:x', 'net0': 'virtio=AA,bridge=vmbr0', 'unused0': 'u:x'}, {'e': 'E'}, '', 'e', 'E'),
    ({'scsi0': 'none'}, {}, 'fallback', None, 'fallback'),
    ({}, {}, 'fallback', None, 'fallback'),
])
def test_storage_map(config, storage_map, storage, expected_source, expected):
    item, _problems = one(source_configs=[{'vmid': 100, 'config': config}], storage_map=storage_map, storage=storage)
    assert (item['source_storage'], item['storage']) == (expected_source, expected)


def test_storage_from_the_entry_wins():
    item, _problems = one(source_configs=[{'vmid': 100, 'config': {'scsi0': 'ceph:x'}}], storage_map={'ceph': 'm'},
                          dr_guests=[{'vmid': 100, 'storage': 'mine'}])
    assert item['storage'] == 'mine'


def test_bridge_map_with_the_entry_over_it():
    item, _problems = one(bridge_map={'vmbr0': 'vmbr1', 'vmbr2': 'vmbr3'},
                          dr_guests=[{'vmid': 100, 'bridges': {'vmbr2': 'vnet9'}}])
    assert item['bridges'] == {'vmbr0': 'vmbr1', 'vmbr2': 'vnet9'}


# ------------------------------------------------------------------ what the run does

def test_a_free_vmid_is_restored():
    item, _problems = one()
    assert (item['action'], item['op'], item['existing']) == ('restore', 'create', None)


def test_a_guest_of_an_earlier_run_is_converged_on_its_node():
    existing = {'vmid': 100, 'name': 'web', 'node': 'pve2', 'tags': ['dr-restored']}
    item, problems = one(target_guests=[existing])
    assert (item['action'], item['op'], item['node'], item['existing']) == ('converge', 'update', 'pve2', existing)
    assert problems == []


def test_another_guest_is_skipped():
    item, problems = one(target_guests=[{'vmid': 100, 'name': 'other', 'node': 'pve1', 'tags': None}])
    assert (item['action'], item['op']) == ('skip', None) and problems == []


def test_another_guest_is_refused_with_if_exists_fail():
    item, problems = one(if_exists='fail', target_guests=[{'vmid': 100, 'name': 'other', 'node': 'pve1'}])
    assert (item['action'], item['op']) == ('refuse', None)
    assert problems == ['guest 100 (web): vmid 100 is taken on dr by other (without tag dr-restored) and '
                        'dr_if_exists is fail']


def test_a_drill_refuses_any_taken_vmid():
    item, problems = one(drill=True, tag='dr-drill', target_guests=[{'vmid': 100, 'node': 'pve1'}])
    assert item['action'] == 'refuse'
    assert problems == ['guest 100 (web): vmid 100 is taken on dr by a guest (without tag dr-drill): a drill restores '
                        'only to free vmids (dr_vmid_offset or target_vmid)']


def test_a_drill_refuses_a_tagged_guest_without_the_mark():
    item, problems = one(drill=True, tag='dr-drill', target_guests=[{'vmid': 100, 'node': 'pve1', 'tags': ['dr-drill']}])
    assert item['action'] == 'refuse'
    assert problems == ['guest 100 (web): vmid 100 on dr has the drill tag dr-drill but not the mark a drill sets '
                        '(proxfleet-drill in its notes): remove it or the tag first']


def test_a_drill_plans_a_leftover_as_gone():
    item, problems = one(drill=True, tag='dr-drill', leftover_vmids=[100],
                         target_guests=[{'vmid': 100, 'node': 'pve2', 'tags': ['dr-drill']}])
    assert (item['action'], item['op'], item['node'], item['existing']) == ('restore', 'create', 'pve1', None)
    assert problems == []


def test_a_refused_guest_without_a_backup_says_both():
    _item, problems = one(selected=[555], if_exists='fail', target_guests=[{'vmid': 555, 'node': 'pve1', 'name': 'x'}])
    assert problems == ['guest 555: no backup in main',
                        'guest 555: vmid 555 is taken on dr by x (without tag dr-restored) and dr_if_exists is fail']


# ------------------------------------------------------------------ the plan's problems

@pytest.mark.parametrize('tags, pool, words', [
    (['prod', 'dr'], '', 'no guest selected: none of the source guests has prod, dr, and dr_guests is empty'),
    ([], 'prod', 'no guest selected: none of the source guests has the tags or is in pool prod, and dr_guests is empty'),
])
def test_nothing_selected(tags, pool, words):
    assert dr.plan(settings(selected=[], tags=tags, pool=pool)) == {'guests': [], 'problems': [words]}


def test_two_guests_onto_one_vmid():
    result = dr.plan(settings(selected=[100, 101], dr_guests=[{'vmid': 100, 'target_vmid': 101}]))
    assert result['problems'] == ['two guests would be restored to the same vmid (101, 101)']


# ------------------------------------------------------------------ network devices

@pytest.mark.parametrize('config, bridges, drill_bridge, expected', [
    ({'net0': 'virtio=AA,bridge=vmbr0', 'net1': 'virtio=BB,bridge=vmbr9'}, {'vmbr0': 'vmbr1'}, None,
     [{'slot': 'net0', 'bridge': 'vmbr1'}]),
    ({'net0': 'virtio=AA,bridge=vmbr0,firewall=1'}, {'vmbr0': 'vmbr0'}, None, []),
    ({'net0': 'virtio=AA,bridge=vmbr0', 'net1': 'virtio=BB,bridge=vmbr9', 'net2': 'virtio=CC'}, {}, 'drillnet',
     [{'slot': 'net0', 'bridge': 'drillnet'}, {'slot': 'net1', 'bridge': 'drillnet'},
      {'slot': 'net2', 'bridge': 'drillnet'}]),
    ({'net0': 'virtio=AA,bridge=drillnet'}, {}, 'drillnet', []),
    ({'net0': 'virtio=CC'}, {'vmbr0': 'vmbr1'}, None, []),
    ({'net0': 'name=eth0,bridge=vmbr0,ip=dhcp', 'netx': 'bridge=vmbr0', 'scsi0': 'bridge=vmbr0'}, {'vmbr0': 'v1'}, '',
     [{'slot': 'net0', 'bridge': 'v1'}]),
    ({}, {'vmbr0': 'v1'}, None, []),
])
def test_nets(config, bridges, drill_bridge, expected):
    assert dr.nets(config, bridges, drill_bridge) == expected


# ------------------------------------------------------------------ report lines

BASE = {'source_vmid': 100, 'target_vmid': 1100, 'name': 'web', 'node': 'pve1', 'action': 'restore',
        'restored': True, 'archive': 'pbs-dr:backup/vm/100/x', 'backup_time_iso': '2026-12-02T10:00:00Z',
        'status': 'running', 'agent': True, 'rpo_seconds': 2700.0, 'rto_seconds': 12.3, 'error': None}


def line(removed=(), check_mode=False, **extra):
    item = dict(BASE)
    item.update(extra)
    return dr.summary([item], list(removed), check_mode)[0]


def test_summary_restored():
    assert line() == ('guest 100 (web) -> 1100 on pve1: RPO 45 min (backup 2026-12-02T10:00:00Z), RTO 12 s, running, '
                      'agent answers')
    assert line(agent=False, name=None, status=None, removed=[1100]) == (
        'guest 100 -> 1100 on pve1: RPO 45 min (backup 2026-12-02T10:00:00Z), RTO 12 s, not started, agent SILENT, '
        'removed')
    assert line(agent=None).endswith('RTO 12 s, running')


def test_summary_failed_skipped_earlier_and_check_mode():
    assert line(error='Restore the backup x: boom') == 'guest 100 (web) -> 1100 on pve1: FAILED: Restore the backup x: boom'
    assert line(action='skip', restored=False) == 'guest 100 (web) -> 1100 on pve1: skipped, the vmid is taken by another guest'
    assert line(restored=False, check_mode=True) == (
        'guest 100 (web) -> 1100 on pve1: would be restored from pbs-dr:backup/vm/100/x (backup 2026-12-02T10:00:00Z, '
        'check mode)')
    # Not in check mode, a restore that did not restore (a skipped task) reads as one restored earlier.
    assert line(restored=False) == 'guest 100 (web) -> 1100 on pve1: restored earlier, running'
    assert line(action='converge', restored=False, status=None, check_mode=True) == (
        'guest 100 (web) -> 1100 on pve1: restored earlier, not checked')


def test_summary_of_nothing():
    assert dr.summary([], [], True) == []


# ------------------------------------------------------------------ the filters

def test_filters_are_registered_and_fail_readably():
    filters = FilterModule().filters()
    assert sorted(filters) == ['dr_nets', 'dr_plan', 'dr_select', 'dr_summary']
    assert filters['dr_select'](SOURCE, [], tags=['dr']) == [100]
    assert filters['dr_plan'](settings())['guests'][0]['op'] == 'create'
    assert filters['dr_nets']({'net0': 'virtio=AA,bridge=vmbr0'}, {}, 'drillnet') == [{'slot': 'net0', 'bridge': 'drillnet'}]
    assert filters['dr_summary']([BASE], [], False)[0].startswith('guest 100 (web)')
    with pytest.raises(AnsibleFilterError, match='dr_select: .*must be a number'):
        filters['dr_select']([], [{'vmid': 'web'}])
    with pytest.raises(AnsibleFilterError, match='dr_plan: expected a dict'):
        filters['dr_plan']([1])
