# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks not covered elsewhere, in check mode (--check) on a fresh estate: export.yml, apply_export.yml,
collect_logs.yml, fleet_report.yml and dr_cleanup.yml (the roles and site/backup/dr/dr_drill/cluster_join have their
own tests).

Each run must succeed, send no write request to any cluster, write no file on the controller (the export files, the
log bundle, the report), and report what it would do: the tasks that would write report a change naming the file.
One lab (2 clusters of PVE 9, 2 nodes) serves the whole file; the tests run in file order.
"""

import os

import pytest

from tests.integration.test_pve_export import api_of
from tests.lab.lab import Lab
from tests.lab.pytest_plugin import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, 'playbooks')
FAST = {'ANSIBLE_PIPELINING': '1'}
WRITES = ('POST', 'PUT', 'DELETE')
AREAS = ('storage', 'backup', 'ha', 'sdn', 'firewall', 'guests')


@pytest.fixture(scope='module')
def estate(tmp_path_factory):
    """The lab, and an inventory of the proxfleet.proxmox.proxmox plugin (nodes as hosts) with the export
    playbooks' connection variables per cluster in group_vars."""
    directory = tmp_path_factory.mktemp('lab-check')
    lab = Lab(str(directory / 'lab'), clusters=2, nodes=2, guests=4, versions=['9.0.10', '9.0.10'])
    try:
        inventory = directory / 'inventory'
        (inventory / 'group_vars').mkdir(parents=True)
        lines = ['plugin: proxfleet.proxmox.proxmox', 'want_nodes: true', 'clusters:']
        for cluster in lab.clusters:
            lines += ['  - name: {0}'.format(cluster.name),
                      '    api_host: {0}'.format(cluster.host),
                      '    api_port: {0}'.format(cluster.port),
                      '    api_token_id: "{0}"'.format(cluster.token_id),
                      '    api_token_secret: "{0}"'.format(cluster.token_secret),
                      '    ca_path: {0}'.format(cluster.ca_path)]
            (inventory / 'group_vars' / 'proxmox_cluster_{0}.yml'.format(cluster.name)).write_text('\n'.join([
                '---',
                'pve_api_host: {0}'.format(cluster.host),
                'pve_api_port: {0}'.format(cluster.port),
                'pve_api_token_id: "{0}"'.format(cluster.token_id),
                'pve_api_token_secret: "{0}"'.format(cluster.token_secret),
                'pve_ca_path: {0}'.format(cluster.ca_path),
                '']))
        (inventory / 'estate.proxmox.yml').write_text('\n'.join(lines) + '\n')
        lab.inventory_args = ['-i', str(inventory / 'estate.proxmox.yml')]
        yield lab
    finally:
        lab.stop()


def writes(lab):
    """How many write requests each cluster has seen."""
    return [sum(1 for method, _path, _body in cluster.pve.requests if method in WRITES) for cluster in lab.clusters]


def files_under(path):
    return sorted(os.path.join(d, f) for d, _dirs, names in os.walk(str(path)) for f in names)


def would_write(run, task):
    """The files a copy/template task reported it would write (changed), one per loop item or the task's own."""
    found = []
    for entry in run.results(task):
        result = entry['result']
        for one in result.get('results', [result]):
            if one.get('changed'):
                args = one.get('invocation', {}).get('module_args', {})
                found.append(one.get('dest') or args.get('dest') or one.get('path') or args.get('path'))
    return found


def seed(cluster):
    """What the export covers and names no guest (the other cluster has other guests): made through the API."""
    api = api_of(cluster)
    n1 = cluster.nodes[0]
    api.storage.post(storage='dir-x', type='dir', path='/srv/x', content='backup,images', shared=1,
                     **{'prune-backups': 'keep-daily=3,keep-weekly=2'})
    api.cluster.backup.post(id='weekly', schedule='sun 04:00', storage='dir-x', all=1, mode='stop', enabled=0)
    api.cluster.sdn.zones.post(zone='zvlan', type='vlan', bridge='vmbr0', mtu=1450)
    api.cluster.sdn.vnets.post(vnet='vnet10', zone='zvlan', tag=10, alias='ten')
    api.cluster.sdn.vnets('vnet10').subnets.post(subnet='10.9.0.0/24', type='subnet', gateway='10.9.0.1')
    api.cluster.sdn.put()
    fw = api.cluster.firewall
    fw.aliases.post(name='adminnet', cidr='10.0.0.0/24', comment='admins')
    fw.ipset.post(name='mgmt', comment='management')
    fw.ipset('mgmt').post(cidr='10.1.0.0/24')
    fw.groups.post(group='webs', comment='web servers')
    fw.groups('webs').post(type='in', action='ACCEPT', proto='tcp', dport='80,443', enable=1)
    fw.rules.post(type='in', action='ACCEPT', macro='SSH', source='adminnet', enable=1, comment='[id=ssh] admins')
    fw.options.put(enable=1, policy_in='DROP')
    api.nodes(n1).firewall.rules.post(type='in', action='ACCEPT', proto='icmp', enable=1)
    vnet = api.cluster.sdn.vnets('vnet10').firewall
    vnet.options.put(enable=1, policy_forward='DROP')
    vnet.rules.post(type='forward', action='ACCEPT', proto='tcp', dport='22', enable=1, comment='[id=ssh-fwd]')


def test_export_check_mode(estate, tmp_path):
    """export.yml --check reads each cluster, writes no export file, and names each file it would write."""
    before = writes(estate)
    out = tmp_path / 'export'
    run = run_playbook(os.path.join(PLAYBOOKS, 'export.yml'), estate, check=True, env=FAST,
                       extra_args=estate.inventory_args + ['-e', 'export_dir={0}'.format(out)])
    assert run.ok, run.explain()
    assert writes(estate) == before
    assert not out.exists()
    for cluster in estate.clusters:
        folder = out / cluster.name
        assert str(folder) in would_write(run, 'Make the cluster\'s export directory')
        written = would_write(run, 'Write one vars file per area') + would_write(
            run, 'Write the cluster, the secrets its items need elsewhere, and what the export left out')
        expected = [str(folder / '{0}.yml'.format(area)) for area in AREAS + ('cluster',)]
        assert sorted(f for f in written if f.startswith(str(folder) + os.sep)) == sorted(expected)


def test_apply_export_check_mode_onto_an_empty_cluster(estate, tmp_path):
    """apply_export.yml --check --diff with lab1's export (storages, backup jobs, HA, SDN, firewall) onto lab2, where
    none of it exists: every item shows as one it would create, with nothing written, and no task fails for want of
    an item an earlier task would have created (a vnet's zone, a subnet's vnet, a rule's security group)."""
    source, empty = estate.clusters
    seed(source)
    out = tmp_path / 'export'
    areas = '["storage", "backup", "ha", "sdn", "firewall"]'
    exported = run_playbook(os.path.join(PLAYBOOKS, 'export.yml'), estate, env=FAST,
                            extra_args=estate.inventory_args + ['-l', 'proxmox_cluster_{0}'.format(source.name),
                                                                '-e', 'export_dir={0}'.format(out),
                                                                '-e', '{{"export_areas": {0}}}'.format(areas)])
    assert exported.ok, exported.explain()
    # The nodes are named after their cluster: the export names lab2's nodes instead, as one moving it would.
    for path in files_under(out):
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text.replace(source.nodes[0], empty.nodes[0]).replace(source.nodes[1], empty.nodes[1]))
    files = files_under(out)
    before = writes(estate)
    run = run_playbook(os.path.join(PLAYBOOKS, 'apply_export.yml'), estate, check=True, diff=True, env=FAST,
                       extra_args=estate.inventory_args + ['-l', 'proxmox_cluster_{0}'.format(empty.name),
                                                           '-e', 'export_dir={0}'.format(out),
                                                           '-e', 'export_name={0}'.format(source.name)])
    assert run.ok, run.explain()
    assert writes(estate) == before
    assert files_under(out) == files
    ops = [op for entry in run.tasks if entry['action'] == 'proxfleet.proxmox.pve_apply' and entry['status'] != 'skipped'
           for op in entry['result']['operations']]
    assert all(op['status'] == 'planned' for op in ops), [(o['module'], o['item'], o['op'], o['status']) for o in ops]
    # The cluster's and nodes' options and rule lists exist (empty) everywhere: those are updates; the rest creates.
    assert set(o['module'] for o in ops if o['op'] != 'create') <= {'pve_firewall_options', 'pve_firewall_rule'}
    names = {}
    for op in ops:
        ident = op['id']
        names.setdefault(op['module'], []).append(str(ident.get('id') or ident.get('storage') or ident.get('vnet')
                                                      or ident.get('zone') or ident.get('name') or ident.get('level')))
    names = dict((module, sorted(items)) for module, items in names.items())
    assert names == {
        'pve_storage': ['dir-x'],
        'pve_backup_job': ['weekly'],
        'pve_sdn_zone': ['zvlan'],
        # Checked against a zone and a vnet that are not there yet: reported as to be created, not failed.
        'pve_sdn_vnet': ['vnet10'],
        'pve_sdn_subnet': ['vnet10'],
        'pve_firewall_alias': ['adminnet'],
        'pve_firewall_ipset': ['mgmt'],
        'pve_firewall_group': ['webs'],
        'pve_firewall_options': ['cluster', 'vnet10'],
        'pve_firewall_rule': ['cluster', 'node', 'vnet10'],
    }, names
    subnet = next(op for op in ops if op['module'] == 'pve_sdn_subnet')
    assert subnet['id'] == {'vnet': 'vnet10', 'cidr': '10.9.0.0/24'}
    assert empty.pve.sdn['zones'].get('zvlan') is None and 'vnet10' not in empty.pve.sdn['vnets']


def test_collect_logs_check_mode(estate, tmp_path):
    """collect_logs.yml --check reads the logs (a read is safe in check mode) and writes no file."""
    node = estate.clusters[0].nodes[0]
    before = writes(estate)
    out = tmp_path / 'logs'
    run = run_playbook(os.path.join(PLAYBOOKS, 'collect_logs.yml'), estate, check=True, env=FAST,
                       extra_args=estate.inventory_args + ['-l', node], extra_vars={'logs_dir': str(out)})
    assert run.ok, run.explain()
    assert writes(estate) == before
    assert not out.exists()
    folder = out / estate.clusters[0].name / node
    written = [f for entry in run.tasks if entry['action'] in ('ansible.builtin.copy', 'ansible.builtin.file')
               for f in would_write(run, entry['task'])]
    assert str(folder / 'summary.json') in written and str(folder / 'syslog.log') in written, written


def test_fleet_report_check_mode(estate, tmp_path):
    """fleet_report.yml --check reads every cluster and writes neither report, naming both."""
    before = writes(estate)
    out = tmp_path / 'report'
    run = run_playbook(os.path.join(PLAYBOOKS, 'fleet_report.yml'), estate, check=True, env=FAST,
                       extra_args=estate.inventory_args, extra_vars={'fleet_report_dir': str(out)})
    assert run.ok, run.explain()
    assert writes(estate) == before
    assert not out.exists()
    assert would_write(run, 'Write the report as JSON') == [str(out / 'fleet-report.json')]
    assert would_write(run, 'Write the report as HTML') == [str(out / 'fleet-report.html')]
    assert sorted(c['name'] for c in run.result('Sum up the fleet')['ansible_facts']['fleet_report']['clusters']) == \
        sorted(c.name for c in estate.clusters)


def test_dr_cleanup_check_mode(estate):
    """dr_cleanup.yml --check lists the leftovers of an earlier drill it would remove, and removes nothing. The
    leftover (a guest as a drill marks it) is put in the lab's model directly: no request to the API."""
    empty = estate.clusters[1]
    empty.pve.add_vm(4300, 'web-01', node=empty.nodes[1], status='running',
                     config={'name': 'web-01', 'memory': '512', 'cores': 1, 'tags': 'dr-drill',
                             'description': 'proxfleet-drill 20260101T000000Z\nweb server'})
    before = writes(estate)
    run = run_playbook(os.path.join(PLAYBOOKS, 'dr_cleanup.yml'), estate, check=True, env=FAST,
                       extra_vars={'dr_target': empty.name})
    assert run.ok, run.explain()
    assert writes(estate) == before
    assert empty.pve.vm(4300) is not None and empty.pve.vm(4300).status == 'running'
    found = run.result('proxfleet.proxmox.dr : Pick what earlier drills marked')['ansible_facts']['dr_leftovers']
    assert [g['vmid'] for g in found['guests']] == [4300], found
    removed = run.result('proxfleet.proxmox.dr : Remove the VMs of earlier drills')
    assert [r['dr_gone']['vmid'] for r in removed['results'] if r['changed']] == [4300]
