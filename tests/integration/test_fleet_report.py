# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/fleet_report.yml through the inventory plugin against a two-cluster lab with a PBS, the report's
numbers checked against the lab's own state, and its HTML rendered in headless Chromium; pve_fleet_info's target.

The estate (lab_fn, 2 clusters x 3 nodes, 20 guests) is given: a pbs storage per cluster on the lab's PBS (each
in its own namespace) with backups of some guests, Ceph with a warning on lab1, an HA resource on lab2 and one
node of lab2 offline.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'fleet_report.yml')
HOUR = 3600
STORE = 'store1'
PBS_STORAGE = 'fleet-pbs'
OFFLINE = 'lab2-n3'


def api(cluster, method, path, **params):
    answer = requests.request(method, cluster.url + '/api2/json' + path, data=params or None, timeout=30,
                              verify=cluster.ca_path,
                              headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id, cluster.token_secret)})
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def wait_task(cluster, node, upid):
    for _attempt in range(600):
        status = api(cluster, 'GET', '/nodes/{0}/tasks/{1}/status'.format(node, upid))
        if status['status'] == 'stopped':
            assert status['exitstatus'] == 'OK', status
            return
        time.sleep(0.05)
    raise AssertionError('task {0} did not end'.format(upid))


def give_estate(lab):
    """The scenario of this module's docstring; returns {cluster name: {vmid: newest backup time}}."""
    one, two = lab.clusters
    pbs = lab.pbs
    store = pbs.pbs.datastores[STORE]
    now = int(time.time())
    backups = {}
    for cluster in lab.clusters:
        store.namespaces.add(cluster.name)
        api(cluster, 'POST', '/storage', storage=PBS_STORAGE, type='pbs', server=pbs.host, datastore=STORE,
            namespace=cluster.name, username=pbs.token_id, password=pbs.token_secret, fingerprint=pbs.fingerprint,
            content='backup')
        backups[cluster.name] = {}
    # lab1: VM 100 backed up an hour ago (an older one too), VM 102 five days ago; a backup of a vmid lab1 does not
    # have, and one in the root namespace, count for nobody.
    for vmid, ages in ((100, (1, 30)), (102, (120,))):
        for age in ages:
            pbs.pbs.add_snapshot(STORE, 'vm', str(vmid), now - age * HOUR, ns=one.name)
        backups[one.name][vmid] = now - min(ages) * HOUR
    pbs.pbs.add_snapshot(STORE, 'vm', '999', now - HOUR, ns=one.name)
    pbs.pbs.add_snapshot(STORE, 'vm', '104', now - HOUR)
    # lab2: VM 101 two hours ago, CT 103 three days ago; VM 105's backup sits in lab1's namespace: not lab2's.
    pbs.pbs.add_snapshot(STORE, 'vm', '101', now - 2 * HOUR, ns=two.name)
    pbs.pbs.add_snapshot(STORE, 'ct', '103', now - 72 * HOUR, ns=two.name)
    pbs.pbs.add_snapshot(STORE, 'vm', '105', now - HOUR, ns=one.name)
    backups[two.name].update({101: now - 2 * HOUR, 103: now - 72 * HOUR})
    # Ceph on lab1 (a monitor, so a status), with a warning.
    node = one.nodes[0]
    api(one, 'POST', '/nodes/{0}/ceph/init'.format(node), network='10.10.10.0/24')
    wait_task(one, node, api(one, 'POST', '/nodes/{0}/ceph/mon/{0}'.format(node)))
    one.pve.ceph_slow(0.0, 'HEALTH_WARN')
    # HA on lab2; a node of lab2 offline.
    api(two, 'POST', '/cluster/ha/resources', sid='vm:101', state='started')
    two.pve.set_node_offline(OFFLINE)
    return backups


def _vaulted(value, password_file):
    vault = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    proc = subprocess.run([vault, 'encrypt_string', '--vault-password-file', str(password_file), value],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def write_inventory(lab, tmp_path):
    """An inventory source as a real estate has one: a token from the environment, a vaulted password, a first
    api_host that does not answer."""
    one, two = lab.clusters
    password_file = tmp_path / 'vault-password'
    password_file.write_text('fleet-vault\n')
    text = '\n'.join([
        'plugin: proxfleet.proxmox.proxmox',
        'clusters:',
        '  - name: {0}'.format(one.name),
        '    api_host: [127.0.0.1, {0}]'.format(one.host),
        '    api_token_id: "{0}"'.format(one.token_id),
        '    api_token_secret: "{{ lookup(\'ansible.builtin.env\', \'FLEET_LAB_TOKEN\') }}"',
        '    ca_path: {0}'.format(one.ca_path),
        '  - name: {0}'.format(two.name),
        '    api_host: {0}'.format(two.host),
        '    api_user: root@pam',
        '    api_password: ' + _vaulted(two.password, password_file).replace('\n', '\n    '),
        '    fingerprint: "{0}"'.format(two.fingerprint),
        '    validate_certs: false',
        'pbs_servers:',
        '  - name: {0}'.format(lab.pbs.name),
        '    api_host: {0}'.format(lab.pbs.host),
        '    api_token_id: "{0}"'.format(lab.pbs.token_id),
        '    api_token_secret: ' + _vaulted(lab.pbs.token_secret, password_file).replace('\n', '\n    '),
        '    ca_path: {0}'.format(lab.pbs.ca_path),
        '',
    ])
    path = tmp_path / 'estate.proxmox.yml'
    path.write_text(text)
    return path, password_file, {'FLEET_LAB_TOKEN': one.token_secret}


def expected(cluster, backups, now):
    """What the report must say about a cluster, from the lab's own state."""
    pve = cluster.pve
    online = [n for n, s in pve.nodes.items() if s.get('online', True)]
    guests = list(pve.vms) + list(pve.cts)
    # A guest on an offline node has status unknown, as on PVE.
    status = dict((g.vmid, g.status if g.node in online else 'unknown') for g in guests)
    ages = dict((vmid, now - stamp) for vmid, stamp in backups.items())
    fresh = sum(1 for g in guests if g.vmid in ages and ages[g.vmid] <= 26 * HOUR)
    stale = sum(1 for g in guests if g.vmid in ages and ages[g.vmid] > 26 * HOUR)
    return {
        'nodes': {'total': len(pve.nodes), 'online': len(online)},
        'guests': {'total': len(guests), 'running': sum(1 for s in status.values() if s == 'running'),
                   'stopped': sum(1 for s in status.values() if s == 'stopped'),
                   'other': sum(1 for s in status.values() if s not in ('running', 'stopped')),
                   'qemu': len(pve.vms), 'lxc': len(pve.cts), 'templates': 0},
        'backups': {'fresh': fresh, 'stale': stale, 'none': len(guests) - fresh - stale},
        'status': status,
    }


@pytest.mark.lab(clusters=2, nodes=3, guests=20)
def test_fleet_report(lab_fn, tmp_path):
    lab = lab_fn
    one, two = lab.clusters
    backups = give_estate(lab)
    inventory, password_file, env = write_inventory(lab, tmp_path)
    out = tmp_path / 'report'
    started = time.time()
    run = run_playbook(PLAYBOOK, lab, extra_vars={'fleet_report_dir': str(out)}, env=env,
                       extra_args=['-i', str(inventory), '--vault-password-file', str(password_file)])
    assert run.ok, run.explain()
    # Secrets never show, not even in the loop's labels.
    for secret in (one.token_secret, two.password, lab.pbs.token_secret):
        assert secret not in run.stdout + run.stderr
        assert secret not in (out / 'fleet-report.json').read_text()
        assert secret not in (out / 'fleet-report.html').read_text()
    report = json.loads((out / 'fleet-report.json').read_text())
    assert report['errors'] == []
    assert [c['label'] for c in report['clusters']] == [one.name, two.name]
    by_name = dict((c['label'], c) for c in report['clusters'])
    for cluster in lab.clusters:
        got = by_name[cluster.name]
        want = expected(cluster, backups[cluster.name], started)
        assert got['name'] == cluster.name and got['version'] == cluster.version
        assert got['nodes'] == want['nodes']
        assert got['guests'] == want['guests']
        assert dict((g['vmid'], g['status']) for g in got['guest_list']) == want['status']
        assert dict((k, got['backups'][k]) for k in ('fresh', 'stale', 'none')) == want['backups']
        newest = dict((g['vmid'], g['last_backup']) for g in got['backups']['guests'] if g['last_backup'])
        assert newest == backups[cluster.name]
        assert got['backups']['storages'] == [PBS_STORAGE] and got['backups']['errors'] == []
        # CPU and memory: the online nodes' own usage, as the API reports it.
        nodes = [n for n in api(cluster, 'GET', '/nodes') if n['status'] == 'online']
        assert got['cpu']['total'] == sum(n['maxcpu'] for n in nodes)
        assert got['cpu']['used'] == pytest.approx(sum(n['cpu'] * n['maxcpu'] for n in nodes), abs=0.05)
        assert got['memory']['total'] == sum(n['maxmem'] for n in nodes)
        assert got['memory']['used'] == sum(n['mem'] for n in nodes)
        assert got['memory']['available'] == got['memory']['total'] - got['memory']['used']
        running = [g for g in list(cluster.pve.vms) + list(cluster.pve.cts) if want['status'][g.vmid] == 'running']
        assert got['cpu']['allocated'] == sum(int(g.config.get('cores', 1)) * int(g.config.get('sockets', 1)) for g in running)
        # Storage: local ones once per online node, shared ones (nfs-backup, the pbs storage) once.
        names = sorted((s['storage'], s['node']) for s in got['storage_list'])
        local = sorted(cluster.pve.nodes)
        assert names == sorted([('local', n) for n in local] + [('local-lvm', n) for n in local]
                               + [('nfs-backup', None), (PBS_STORAGE, None)])
        listed = [s for s in got['storage_list'] if s['status'] == 'available']
        assert got['storage']['total'] == sum(s['total'] for s in listed) > 0
        assert got['storage']['available'] == got['storage']['total'] - got['storage']['used']
    # Ceph: lab1 warns, lab2 has none. HA: lab2's resource and manager.
    assert by_name[one.name]['ceph']['initialized'] and by_name[one.name]['ceph']['health'] == 'HEALTH_WARN'
    assert by_name[one.name]['ceph']['monitors'] == 1
    assert [c['code'] for c in by_name[one.name]['ceph']['checks']] == ['LAB_SCENARIO']
    assert by_name[two.name]['ceph'] == {'initialized': False, 'health': None, 'checks': [], 'error': None}
    ha = by_name[two.name]['ha']
    assert ha['resources'] == 1 and ha['services'][0]['sid'] == 'vm:101' and ha['manager'] in two.nodes
    assert by_name[one.name]['ha']['resources'] == 0 and by_name[one.name]['ha']['quorate'] is True
    # Totals are the sums of the clusters.
    totals = report['totals']
    assert totals['clusters'] == 2 and totals['clusters_failed'] == 0
    for section, keys in (('nodes', ('total', 'online')), ('guests', ('total', 'running', 'stopped', 'other')),
                          ('memory', ('total', 'used', 'available')), ('storage', ('total', 'used', 'available')),
                          ('backups', ('fresh', 'stale', 'none'))):
        for key in keys:
            assert totals[section][key] == sum(c[section][key] for c in report['clusters']), (section, key)
    assert totals['guests']['total'] == 20 and totals['nodes'] == {'total': 6, 'online': 5}
    assert totals['cpu']['total'] == sum(c['cpu']['total'] for c in report['clusters'])
    assert totals['ceph'] == {'clusters': 1, 'healthy': 0, 'warning': 1, 'error': 0, 'unknown': 0}
    assert totals['ha'] == {'quorate': 2, 'resources': 1}
    # The Backup Server's datastores, as the PBS itself counts them.
    servers = report['backup_servers']
    assert [s['label'] for s in servers] == [lab.pbs.name]
    stores = dict((d['name'], d) for d in servers[0]['datastores'])
    assert sorted(stores) == sorted(lab.pbs.pbs.datastores)
    status = lab.pbs.pbs.datastores[STORE].status()
    assert (stores[STORE]['total'], stores[STORE]['used'], stores[STORE]['avail']) == (
        status['total'], status['used'], status['avail'])
    assert stores[STORE]['snapshots'] == len(lab.pbs.pbs.datastores[STORE].snapshots) == 8
    assert totals['backup_servers'] == {'servers': 1, 'failed': 0, 'datastores': len(stores),
                                        'total': sum(d['total'] for d in stores.values()),
                                        'used': sum(d['used'] for d in stores.values()),
                                        'available': sum(d['avail'] for d in stores.values()), 'snapshots': 8}
    check_html(out / 'fleet-report.html', report)


def test_unreadable_cluster_is_reported_then_fails(lab, tmp_path, unused_port):
    """fleet_clusters and fleet_pbs_servers instead of an inventory: a cluster or Backup Server that does not answer
    is in the report, and the play fails after writing it (or passes with fleet_report_fail_on_error=false)."""
    one = lab.clusters[0]
    clusters = [{'name': 'alive', 'api_host': one.host, 'api_token_id': one.token_id,
                 'api_token_secret': one.token_secret, 'ca_path': one.ca_path},
                {'name': 'gone', 'api_host': '127.0.0.1', 'api_port': unused_port, 'api_token_id': one.token_id,
                 'api_token_secret': one.token_secret, 'ca_path': one.ca_path}]
    for fail in (True, False):
        out = tmp_path / 'report-{0}'.format(fail)
        servers = [{'name': 'pbs-gone', 'api_host': '127.0.0.1', 'api_port': unused_port, 'api_token_id': 'a@pbs!b',
                    'api_token_secret': 'not-a-real-secret'}]
        run = run_playbook(PLAYBOOK, lab, extra_vars={'fleet_clusters': clusters, 'fleet_report_dir': str(out),
                                                      'fleet_pbs_servers': servers, 'fleet_report_fail_on_error': fail})
        assert run.ok is not fail, run.explain()
        report = json.loads((out / 'fleet-report.json').read_text())
        assert [c['label'] for c in report['clusters']] == ['alive']
        assert [(e['name'], e['kind']) for e in report['errors']] == [('gone', 'cluster'), ('pbs-gone', 'backup_server')]
        assert report['backup_servers'] == [] and report['totals']['backup_servers']['failed'] == 1
        assert str(unused_port) in report['errors'][0]['message']
        assert report['totals']['clusters_failed'] == 1
        assert one.token_secret not in run.stdout + run.stderr and 'not-a-real-secret' not in run.stdout + run.stderr
        assert 'gone' in (out / 'fleet-report.html').read_text()


def test_no_cluster_fails_with_advice(lab, tmp_path):
    run = run_playbook(PLAYBOOK, lab, extra_vars={'fleet_report_dir': str(tmp_path / 'none')})
    assert not run.ok
    assert 'proxmox.yml' in run.stdout and 'fleet_clusters' in run.stdout
    assert not (tmp_path / 'none').exists()


def test_pve_fleet_info_module(lab, unused_port):
    extra = {'pve': pve_vars(lab.clusters[0]), 'other': pve_vars(lab.clusters[1]), 'unused_port': unused_port}
    run = run_playbook(target('pve_fleet_info'), lab, extra_vars=extra)
    assert run.ok, run.explain()
    summary = run.result('Sum up the cluster')['cluster']
    cluster = lab.clusters[0]
    assert summary['name'] == cluster.name
    assert summary['guests']['total'] == len(cluster.pve.vms) + len(cluster.pve.cts)
    assert summary['backups']['storages'] == [] and summary['backups']['none'] == summary['guests']['total']
    assert len(run.failed) == 3  # the expected failures, each ignored and checked by the playbook


FLEET_INFO_PLAY = '''
- name: Pve_fleet_info with a least-privilege token
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Sum up the cluster
      proxfleet.proxmox.pve_fleet_info:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
        backup_storages: [local]
      register: summary
'''


@pytest.mark.lab(clusters=1, nodes=2, guests=6)
def test_pve_fleet_info_least_privilege(lab_fn):
    """A privilege-separated token holding only what docs/privileges.md lists for pve_fleet_info, on half the guests
    and one storage: the summary holds those, and leaves out silently what the token cannot audit."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    guests = sorted(list(pve.vms) + list(pve.cts), key=lambda guest: guest.vmid)
    seen = [guest.vmid for guest in guests[::2]]
    token = least_privilege_token(cluster, 'pve_fleet_info', precise=True, vmid=seen, storage=['local'],
                                  node=cluster.nodes)
    run = run_playbook(FLEET_INFO_PLAY, lab_fn, extra_vars={'pve': token})
    assert run.ok, run.explain()
    summary = run.result('Sum up the cluster')['cluster']
    assert summary['name'] == cluster.name and summary['quorate']
    assert summary['nodes']['total'] == len(cluster.nodes) and summary['cpu']['total'] > 0
    assert [guest['vmid'] for guest in summary['guest_list']] == seen
    assert sorted(set(item['storage'] for item in summary['storage_list'])) == ['local']
    assert summary['backups']['storages'] == ['local']


# ---------------------------------------------------------------- Chromium

def chromium():
    """The Chromium binary; a failure, never a skip, when it is missing (`make integration` installs it)."""
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail('chromium is not installed: `tests/tools/ensure_tools.sh chromium` installs it (`make integration` '
                'runs it), or install it yourself: apt-get install --no-install-recommends chromium fonts-dejavu-core')
    return None


def run_chromium(binary, *args):
    with tempfile.TemporaryDirectory(prefix='fleet-chromium-') as profile:
        command = [binary, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                   '--disable-background-networking', '--disable-component-update', '--disable-sync',
                   '--disable-dev-shm-usage', '--user-data-dir=' + profile] + list(args)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False,
                              stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=profile))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG: just what Chromium writes."""
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, header = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6), header
    step = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xff
            elif kind == 2:
                line[i] = (line[i] + up) & 0xff
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xff
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xff
        rows.append(bytes(line))
        previous = line
    return width, height, step, rows


def check_html(path, report):
    """Render the page in headless Chromium: charts drawn, nothing external, pixels on the screen."""
    html = path.read_text()
    # Self-contained: a policy that forbids every request, and nothing that would make one.
    assert "default-src 'none'" in html
    binary = chromium()
    dom = run_chromium(binary, '--dump-dom', path.as_uri()).stdout
    assert 'Proxmox fleet report' in dom
    lowered = dom.lower()
    for external in ('src="http', "src='http", 'href="http', 'src="//', '<script', '<link', '@import', 'url('):
        assert external not in lowered, external
    for chart in ('fleet-guests', 'fleet-backups', 'cpu', 'memory', 'storage', 'guests', 'backups', 'datastores'):
        assert 'data-chart="{0}"'.format(chart) in dom, chart
    # The stacked bars: one drawn segment per non-zero count, for the fleet and for each cluster.
    totals = report['totals']
    drawn = dom.count('class="bar" data-series="fresh"')
    assert drawn == 1 + sum(1 for c in report['clusters'] if c['backups']['fresh']) and totals['backups']['fresh']
    assert dom.count('class="bar" data-series="none"') == 1 + sum(1 for c in report['clusters'] if c['backups']['none'])
    for cluster in report['clusters']:
        assert '>{0}</text>'.format(cluster['label']) in dom
    # The screenshot: not blank, and the charts' colours on it.
    shot = path.parent / 'fleet-report.png'
    run_chromium(binary, '--hide-scrollbars', '--window-size=1280,2400', '--screenshot=' + str(shot), path.as_uri())
    width, height, step, rows = png_pixels(shot)
    assert (width, height) == (1280, 2400)
    colours = set()
    for row in rows[::2]:
        for x in range(0, width * step, step * 2):
            colours.add(tuple(row[x:x + 3]))
    assert len(colours) > 20, 'the screenshot is (nearly) blank'
    for colour in ((0x2e, 0x7d, 0x32), (0x15, 0x65, 0xc0), (0xc6, 0x28, 0x28)):
        assert any(max(abs(a - b) for a, b in zip(colour, seen)) <= 6 for seen in colours), colour
