# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/fleet.py: one cluster summed up from its API answers; and the fleet report's HTML template
(playbooks/templates/fleet_report.html.j2) rendered from such summaries, untrusted names escaped."""

from __future__ import annotations

import os
import re

import jinja2
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import fleet
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError

GIB = 1024 ** 3
NOW = 1795327338
HOUR = 3600
TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'playbooks', 'templates',
                        'fleet_report.html.j2')


def node(name, online=True, cpu=0.25, maxcpu=8, mem=4 * GIB, maxmem=16 * GIB):
    item = {'type': 'node', 'node': name, 'id': 'node/' + name, 'status': 'online' if online else 'offline'}
    if online:
        item.update(cpu=cpu, maxcpu=maxcpu, mem=mem, maxmem=maxmem, uptime=7200)
    return item


def guest(vmid, status='stopped', kind='qemu', node_name='n1', template=0, maxcpu=2, maxmem=2 * GIB, name=None):
    return {'type': kind, 'vmid': vmid, 'node': node_name, 'status': status, 'template': template, 'maxcpu': maxcpu,
            'maxmem': maxmem, 'maxdisk': 32 * GIB, 'name': name or 'g{0}'.format(vmid), 'tags': 'b;a'}


def storage(sid, node_name, kind='dir', shared=0, status='available', disk=10 * GIB, maxdisk=100 * GIB):
    return {'type': 'storage', 'storage': sid, 'node': node_name, 'plugintype': kind, 'shared': shared,
            'status': status, 'content': 'images,backup', 'disk': disk, 'maxdisk': maxdisk}


RESOURCES = [
    node('n1'), node('n2', cpu=0.5), node('n3', online=False),
    guest(100, 'running', maxcpu=4, maxmem=8 * GIB), guest(101), guest(102, 'running', 'lxc', maxcpu=1, maxmem=GIB),
    guest(103, 'unknown', node_name='n3'), guest(900, template=1),
    storage('local', 'n1'), storage('local', 'n2', disk=20 * GIB),
    storage('nfs', 'n1', 'nfs', shared=1, disk=50 * GIB, maxdisk=500 * GIB),
    storage('nfs', 'n2', 'nfs', shared=1, disk=50 * GIB, maxdisk=500 * GIB),
    # PVE treats pbs storages as shared whatever their flag says.
    storage('pbs', 'n1', 'pbs', disk=GIB, maxdisk=10 * GIB), storage('pbs', 'n2', 'pbs', disk=GIB, maxdisk=10 * GIB),
    storage('gone', 'n2', 'dir', status='unknown'),
]
STATUS = [{'type': 'cluster', 'name': 'prod', 'quorate': 1, 'nodes': 3},
          {'type': 'node', 'name': 'n1', 'online': 1}, {'type': 'node', 'name': 'n2', 'online': 1},
          {'type': 'node', 'name': 'n3', 'online': 0}]


# ---------------------------------------------------------------- nodes, guests, capacity

def test_nodes_and_capacity():
    nodes = fleet.summarize_nodes(RESOURCES, STATUS)
    assert [(n['name'], n['online']) for n in nodes] == [('n1', True), ('n2', True), ('n3', False)]
    assert nodes[1]['cpu_used'] == 4.0 and nodes[2]['cpus'] == 0 and nodes[2]['uptime'] is None
    guests = fleet.summarize_guests(RESOURCES)
    capacity = fleet.summarize_capacity(nodes, guests)
    assert capacity['cpu'] == {'total': 16, 'used': 6.0, 'available': 10.0, 'fraction': 0.375, 'allocated': 5}
    assert capacity['memory'] == {'total': 32 * GIB, 'used': 8 * GIB, 'available': 24 * GIB, 'fraction': 0.25,
                                  'allocated': 9 * GIB}


def test_a_node_only_the_cluster_status_knows():
    nodes = fleet.summarize_nodes([node('n1')], STATUS)
    assert [(n['name'], n['online']) for n in nodes] == [('n1', True), ('n2', True), ('n3', False)]
    # Online by corosync but without usage figures: counted with nothing.
    assert nodes[1]['cpus'] == 0 and nodes[1]['memory_total'] == 0


def test_capacity_without_nodes_online():
    capacity = fleet.summarize_capacity(fleet.summarize_nodes([node('n1', online=False)]), [])
    assert capacity['cpu']['fraction'] is None and capacity['memory'] == {
        'total': 0, 'used': 0, 'available': 0, 'fraction': None, 'allocated': 0}


def test_guests_counted_templates_apart():
    guests = fleet.summarize_guests(RESOURCES)
    assert [g['vmid'] for g in guests] == [100, 101, 102, 103, 900]
    assert guests[0]['tags'] == ['a', 'b']
    assert fleet.count_guests(guests) == {'total': 4, 'running': 2, 'stopped': 1, 'other': 1, 'qemu': 3, 'lxc': 1,
                                          'templates': 1}


def test_a_guest_without_name():
    guests = fleet.summarize_guests([{'type': 'lxc', 'vmid': 7, 'status': 'stopped'}])
    assert guests[0]['name'] == 'lxc-7' and guests[0]['cpus'] == 0


# ---------------------------------------------------------------- storage

def test_storage_shared_once_local_per_node():
    totals, storages = fleet.summarize_storage(RESOURCES)
    assert [(s['storage'], s['node'], s['shared']) for s in storages] == [
        ('gone', 'n2', False), ('local', 'n1', False), ('local', 'n2', False), ('nfs', None, True), ('pbs', None, True)]
    assert storages[3]['nodes'] == ['n1', 'n2']
    assert storages[0]['total'] == 0 and storages[0]['fraction'] is None
    assert totals == {'total': 710 * GIB, 'used': 81 * GIB, 'available': 629 * GIB,
                      'fraction': round(81 / 710, 4), 'count': 5, 'unavailable': 1}


def test_a_shared_storage_is_read_where_it_is_available():
    _totals, storages = fleet.summarize_storage([storage('nfs', 'n1', 'nfs', 1, status='unknown'),
                                                 storage('nfs', 'n2', 'nfs', 1)])
    assert len(storages) == 1 and storages[0]['status'] == 'available' and storages[0]['total'] == 100 * GIB


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['a', 'b', 'c']), st.sampled_from(['n1', 'n2']),
                          st.sampled_from(['dir', 'nfs', 'lvmthin']), st.booleans(),
                          st.integers(0, 10 ** 12), st.integers(0, 10 ** 12)), max_size=12))
def test_storage_totals_are_the_sum_of_the_available_ones(items):
    resources = [storage(sid, n, kind, status='available' if up else 'unknown', disk=min(used, size), maxdisk=size)
                 for sid, n, kind, up, used, size in items]
    totals, storages = fleet.summarize_storage(resources)
    listed = [s for s in storages if s['status'] == 'available']
    assert totals['total'] == sum(s['total'] for s in listed)
    assert totals['used'] == sum(s['used'] for s in listed)
    assert totals['available'] == totals['total'] - totals['used']
    keys = [(s['storage'], s['node']) for s in storages]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------- Ceph, HA

def test_ceph_not_initialized_and_unreadable():
    error = ProxmoxApiError("pveceph configuration not initialized - missing '/etc/pve/ceph.conf'", status_code=500)
    assert fleet.summarize_ceph(None, error) == {'initialized': False, 'health': None, 'checks': [], 'error': None}
    down = fleet.summarize_ceph(None, ProxmoxApiError('rados_connect failed - Connection timed out', status_code=500))
    assert down['initialized'] and down['health'] == 'unknown' and 'rados_connect' in down['error']


@pytest.mark.parametrize('nested', [False, True], ids=['reef', 'quincy'])
def test_ceph_status(nested):
    osdmap = {'num_osds': 6, 'num_up_osds': 5, 'num_in_osds': 6}
    status = {'health': {'status': 'HEALTH_WARN', 'checks': {
        'OSD_DOWN': {'severity': 'HEALTH_WARN', 'summary': {'message': '1 osds down'}}}},
        'quorum_names': ['n1', 'n2', 'n3'], 'osdmap': {'osdmap': osdmap} if nested else osdmap,
        'pgmap': {'bytes_total': 400, 'bytes_used': 100, 'bytes_avail': 300}}
    ceph = fleet.summarize_ceph(status)
    assert ceph['health'] == 'HEALTH_WARN' and ceph['monitors'] == 3
    assert ceph['checks'] == [{'code': 'OSD_DOWN', 'severity': 'HEALTH_WARN', 'message': '1 osds down'}]
    assert ceph['osds'] == {'total': 6, 'up': 5, 'in': 6} and ceph['fraction'] == 0.25


def test_ha_status():
    current = [
        {'id': 'quorum', 'type': 'quorum', 'node': 'n1', 'quorate': 1, 'status': 'OK'},
        {'id': 'master', 'type': 'master', 'node': 'n1', 'status': 'n1 (active, Sun Nov 22 06:02:18 2026)'},
        {'id': 'lrm:n2', 'type': 'lrm', 'node': 'n2', 'status': 'n2 (idle, Sun Nov 22 06:02:18 2026)'},
        {'id': 'lrm:n1', 'type': 'lrm', 'node': 'n1', 'status': 'n1 (active, Sun Nov 22 06:02:18 2026)'},
        {'id': 'lrm:n3', 'type': 'lrm', 'node': 'n3', 'status': 'n3 (old timestamp - dead?, Sun Nov 22 2026)'},
        {'id': 'service:vm:101', 'type': 'service', 'sid': 'vm:101', 'node': 'n1', 'state': 'started'},
        {'id': 'service:ct:100', 'type': 'service', 'sid': 'ct:100', 'node': 'n2', 'state': 'error'},
        {'id': 'service:vm:102', 'type': 'service', 'sid': 'vm:102', 'node': 'n1', 'state': 'started'},
    ]
    ha = fleet.summarize_ha(current)
    assert ha['quorate'] is True and ha['manager'] == 'n1'
    assert ha['lrm'] == [{'node': 'n1', 'state': 'active'}, {'node': 'n2', 'state': 'idle'},
                         {'node': 'n3', 'state': 'old timestamp - dead?'}]
    assert ha['resources'] == 3 and ha['by_state'] == {'started': 2, 'error': 1}
    assert [s['sid'] for s in ha['services']] == ['ct:100', 'vm:101', 'vm:102']


def test_ha_without_anything():
    assert fleet.summarize_ha([]) == {'quorate': None, 'manager': None, 'manager_status': None, 'lrm': [],
                                      'resources': 0, 'by_state': {}, 'services': []}


# ---------------------------------------------------------------- backups

def content(vmid, ctime, sid='pbs', kind='vm'):
    return {'volid': '{0}:backup/{1}/{2}/x'.format(sid, kind, vmid), 'vmid': vmid, 'ctime': ctime, 'format': 'pbs-' + kind}


def test_backup_freshness():
    guests = fleet.summarize_guests(RESOURCES)
    items = {
        'pbs': [content(100, NOW - 30 * HOUR), content(100, NOW - HOUR), content(101, NOW - 26 * HOUR),
                content(102, NOW - 26 * HOUR - 1, kind='ct'), content(555, NOW), content(900, NOW)],
        'other': [content(101, NOW - 40 * HOUR, 'other')],
    }
    counts, per_guest = fleet.summarize_backups(guests, items, NOW, 26 * HOUR)
    assert counts == {'fresh': 2, 'stale': 1, 'none': 1}
    by_vmid = dict((g['vmid'], g) for g in per_guest)
    assert sorted(by_vmid) == [100, 101, 102, 103]  # the template is not a guest to back up
    assert by_vmid[100]['state'] == 'fresh' and by_vmid[100]['age_seconds'] == HOUR
    assert by_vmid[100]['volid'] == 'pbs:backup/vm/100/x' and by_vmid[100]['storage'] == 'pbs'
    assert by_vmid[101]['state'] == 'fresh'  # exactly the limit
    assert by_vmid[102]['state'] == 'stale' and by_vmid[102]['last_backup_iso'] == fleet.iso_time(NOW - 26 * HOUR - 1)
    assert by_vmid[103] == dict(by_vmid[103], state='none', last_backup=None, age_seconds=None, storage=None)


def test_a_backup_named_only_by_its_volume_counts():
    guests = fleet.summarize_guests([guest(100)])
    item = {'volid': 'nfs:backup/vzdump-qemu-100-2026_11_20-01_00_00.vma.zst', 'ctime': NOW - HOUR}
    counts, _per_guest = fleet.summarize_backups(guests, {'nfs': [item, {'volid': 'garbage', 'ctime': NOW}]}, NOW, HOUR)
    assert counts == {'fresh': 1, 'stale': 0, 'none': 0}


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(100, 110), st.integers(0, 200 * HOUR)), max_size=30), st.integers(1, 100))
def test_every_guest_is_in_one_backup_state(backups, max_hours):
    guests = fleet.summarize_guests([guest(vmid) for vmid in range(100, 106)])
    items = {'pbs': [content(vmid, NOW - age) for vmid, age in backups]}
    counts, per_guest = fleet.summarize_backups(guests, items, NOW, max_hours * HOUR)
    assert sum(counts.values()) == len(guests) == len(per_guest)
    for entry in per_guest:
        ages = [age for vmid, age in backups if vmid == entry['vmid']]
        assert entry['age_seconds'] == (min(ages) if ages else None)
        assert entry['state'] == ('none' if not ages else 'fresh' if min(ages) <= max_hours * HOUR else 'stale')


def test_backup_storages_chosen():
    _totals, storages = fleet.summarize_storage(RESOURCES)
    assert [s['storage'] for s in fleet.backup_storages(storages)] == ['pbs']
    assert [s['storage'] for s in fleet.backup_storages(storages, ['nfs', 'local'])] == ['local', 'local', 'nfs']
    assert fleet.backup_storages(storages, []) == []


def test_summary():
    items = {'pbs': [content(100, NOW - HOUR)]}
    summary = fleet.summarize(RESOURCES, STATUS, [], None, items, NOW, 26 * HOUR, version={'version': '9.0.10'},
                              url='https://pve:8006', storages_read=['pbs'])
    assert summary['name'] == 'prod' and summary['quorate'] and summary['version'] == '9.0.10'
    assert summary['nodes'] == {'total': 3, 'online': 2}
    assert summary['generated_iso'] == fleet.iso_time(NOW)
    assert summary['backups']['fresh'] == 1 and summary['backups']['storages'] == ['pbs']
    assert summary['ceph']['initialized'] is True and summary['ceph']['health'] == 'unknown'


def test_a_standalone_node_is_named_after_itself():
    summary = fleet.summarize([node('solo')], [{'type': 'node', 'name': 'solo', 'online': 1}], [], None, {}, NOW, HOUR)
    assert summary['name'] == 'solo' and summary['quorate'] is True


# ---------------------------------------------------------------- the HTML template

def totals(clusters):
    def add(section, key):
        return sum(c[section][key] for c in clusters)
    out = {'clusters': len(clusters), 'clusters_failed': 0,
           'ceph': {'clusters': 0, 'healthy': 0, 'warning': 0, 'error': 0, 'unknown': 0},
           'ha': {'quorate': len(clusters), 'resources': add('ha', 'resources')}}
    for section, keys in (('nodes', ('total', 'online')),
                          ('guests', ('total', 'running', 'stopped', 'other', 'qemu', 'lxc', 'templates')),
                          ('cpu', ('total', 'used', 'available', 'allocated')),
                          ('memory', ('total', 'used', 'available', 'allocated')),
                          ('storage', ('total', 'used', 'available')), ('backups', ('fresh', 'stale', 'none'))):
        out[section] = dict((key, add(section, key)) for key in keys)
    return out


def render(report):
    with open(TEMPLATE, encoding='utf-8') as handle:
        source = handle.read()
    # As ansible.builtin.template renders (trim_blocks), but strict: a missing key fails the test.
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(source).render(fleet_report=report)


EVIL = '<script>alert(1)</script>"\'&{{ x }}'


def evil_cluster(label):
    current = [{'id': 'quorum', 'type': 'quorum', 'quorate': 1},
               {'id': 'master', 'type': 'master', 'node': EVIL, 'status': EVIL},
               {'id': 'service:vm:100', 'type': 'service', 'sid': EVIL, 'node': EVIL, 'state': EVIL}]
    ceph = {'health': {'status': 'HEALTH_ERR', 'checks': {EVIL: {'severity': EVIL, 'summary': {'message': EVIL}}}}}
    resources = RESOURCES + [guest(120, name=EVIL, node_name=EVIL), storage(EVIL, EVIL, EVIL)]
    summary = fleet.summarize(resources, STATUS, current, ceph, {}, NOW, HOUR, version={'version': EVIL}, url=EVIL,
                              backup_errors=[{'storage': EVIL, 'message': EVIL}])
    summary['label'] = label
    return summary


def test_the_page_escapes_every_value():
    clusters = [evil_cluster(EVIL), evil_cluster('second')]
    report = {'generated': EVIL, 'backup_max_age_hours': 26, 'clusters': clusters, 'totals': totals(clusters),
              'errors': [{'name': EVIL, 'kind': 'cluster', 'message': EVIL}],
              'backup_servers': [{'label': EVIL, 'version': {'version': EVIL, 'release': EVIL}, 'datastores': [
                  {'name': EVIL, 'total': 100, 'used': 25, 'avail': 75, 'groups': 1, 'snapshots': 2,
                   'deduplication_factor': None}]}]}
    html = render(report)
    assert '<script' not in html.lower() and '"\'&{{' not in html
    assert html.count('&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;{{ x }}') >= 10
    # Nothing the page could fetch, and a policy that forbids it anyway.
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"" in html
    assert not re.search(r'''(src|href)\s*=\s*["']?(https?:)?//''', html, re.I)
    assert 'url(' not in html and '@import' not in html
    # The datastore's usage bar: a quarter of 360.
    assert 'data-chart="datastores"' in html and 'class="bar" data-series="used" x="180" y="4" width="90.0"' in html


def test_the_page_draws_a_chart_per_section():
    clusters = [fleet.summarize(RESOURCES, STATUS, [], None, {'pbs': [content(100, NOW)]}, NOW, HOUR)]
    clusters[0]['label'] = 'prod'
    report = {'generated': '2026-11-22T06:00:00Z', 'backup_max_age_hours': 1, 'clusters': clusters,
              'totals': totals(clusters), 'errors': []}
    html = render(report)
    for chart in ('fleet-guests', 'fleet-backups', 'cpu', 'memory', 'storage', 'guests', 'backups'):
        assert 'data-chart="{0}"'.format(chart) in html
    # Fleet and cluster rows of the guests chart: running 2, stopped 1, other 1 of 4 on a 360-wide bar.
    assert html.count('class="bar" data-series="running" x="180.0" y="4" width="180.0"') == 1
    assert html.count('data-series="other"') == 2 + 1  # two bars and the fleet donut's arc
    # Memory: 8 of 32 GiB -> a quarter of the bar.
    assert 'class="bar" data-series="used" x="180" y="4" width="90.0"' in html
    assert 'could not be read</h2>' not in html
    assert 'Backup Servers</h2>' not in html


def test_a_fleet_nobody_could_read():
    report = {'generated': '2026-11-22T06:00:00Z', 'backup_max_age_hours': 26, 'clusters': [], 'totals': totals([]),
              'errors': [{'name': 'prod', 'kind': 'cluster', 'message': 'no node answered'},
                         {'name': 'pbs1', 'kind': 'backup_server', 'message': 'refused'}]}
    html = render(report)
    assert 'could not be read</h2>' in html and 'cluster <strong>prod</strong>: no node answered' in html
    assert 'Backup Server <strong>pbs1</strong>: refused' in html
    assert 'data-chart="guests"' in html


class _Client(object):
    """Answers read_cluster's fixed requests from a dict of paths; records the content reads."""

    class settings(object):  # noqa: N801 - the client's attribute name
        url = 'https://pve.example:8006'

    def __init__(self, answers):
        self.answers = answers
        self.content_reads = []

    @staticmethod
    def path(*parts):
        return '/' + '/'.join(str(part) for part in parts)

    def get(self, path, **params):
        if path.endswith('/content'):
            self.content_reads.append(path)
        return self.answers.get(path)


def test_read_cluster_reads_a_local_storage_on_each_of_its_nodes():
    resources = [
        {'type': 'node', 'node': 'n1', 'status': 'online', 'maxcpu': 4, 'maxmem': GIB},
        {'type': 'node', 'node': 'n2', 'status': 'online', 'maxcpu': 4, 'maxmem': GIB},
        {'type': 'qemu', 'vmid': 100, 'node': 'n1', 'status': 'running', 'name': 'a'},
        {'type': 'qemu', 'vmid': 101, 'node': 'n2', 'status': 'running', 'name': 'b'},
        {'type': 'storage', 'storage': 'local', 'node': 'n1', 'shared': 0, 'status': 'available', 'plugintype': 'dir'},
        {'type': 'storage', 'storage': 'local', 'node': 'n2', 'shared': 0, 'status': 'available', 'plugintype': 'dir'},
    ]
    client = _Client({
        '/cluster/resources': resources,
        '/nodes/n1/storage/local/content': [{'volid': 'local:backup/vzdump-qemu-100-2026_12_01-00_00_00.vma.zst',
                                             'vmid': 100, 'ctime': 1000}],
        '/nodes/n2/storage/local/content': [{'volid': 'local:backup/vzdump-qemu-101-2026_12_01-00_00_00.vma.zst',
                                             'vmid': 101, 'ctime': 2000}],
    })
    summary = fleet.read_cluster(client, 3000, 10 ** 6, wanted_storages=['local'], version={'version': '9.0.10'})
    # Each node's own local storage was read once, and both guests' backups count.
    assert sorted(client.content_reads) == ['/nodes/n1/storage/local/content', '/nodes/n2/storage/local/content']
    assert summary['backups']['storages'] == ['local']
    assert summary['backups']['fresh'] == 2 and summary['backups']['none'] == 0
