# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/export.yml and playbooks/apply_export.yml against the lab, through the inventory plugin.

Both clusters (PVE 9 and PVE 8) get storages, backup jobs, HA, SDN and firewall configuration through the API, as
an administrator would make them. The export playbook writes them as vars files; the apply playbook in check mode
with diff then finds nothing to change. After changes made through the API, the check shows exactly those items,
a real apply puts the cluster back, and a second check finds nothing again.
"""

import os
import time

import proxmoxer
import pytest
import yaml

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORT = os.path.join(REPO, 'playbooks', 'export.yml')
APPLY = os.path.join(REPO, 'playbooks', 'apply_export.yml')
FAST = {'ANSIBLE_PIPELINING': '1'}
AREAS = ('storage', 'backup', 'ha', 'sdn', 'firewall', 'guests')

pytestmark = pytest.mark.lab(clusters=2, nodes=3, guests=8)


class _Loader(yaml.SafeLoader):
    """Reads vars files as Ansible does, !unsafe strings included."""


_Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))


def load(path):
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader with one more tag


def api_of(cluster):
    user, token = cluster.token_id.split('!')
    return proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, user=user, token_name=token,
                                token_value=cluster.token_secret, verify_ssl=cluster.ca_path)


def guests(cluster):
    return sorted(vm.vmid for vm in cluster.pve.vms)


def seed(cluster):
    """One of everything the export covers, made through the API."""
    api = api_of(cluster)
    vms = guests(cluster)
    n1, n2 = cluster.nodes[0], cluster.nodes[1]
    api.storage.post(storage='cifs-iso', type='cifs', server='192.0.2.60', share='iso', username='svc',
                     password='s3cret', content='iso,vztmpl', nodes='{0},{1}'.format(n1, n2))
    api.storage.post(storage='dir-x', type='dir', path='/srv/x', content='backup,images', shared=1,
                     **{'prune-backups': 'keep-daily=3,keep-weekly=2', 'max-protected-backups': 2})
    api.cluster.backup.post(id='nightly', schedule='02:30', storage='nfs-backup', vmid='{0},{1}'.format(*vms[:2]),
                            mode='snapshot', compress='zstd', enabled=1, comment='nightly job', mailto='ops@example.com',
                            **{'prune-backups': 'keep-last=3', 'notes-template': '{{guestname}} nightly'})
    api.cluster.backup.post(id='weekly', schedule='sun 04:00', storage='nfs-backup', all=1, exclude=str(vms[0]),
                            mode='stop', enabled=0)
    api.cluster.ha.resources.post(sid='vm:{0}'.format(vms[0]), state='started', max_restart=2, comment='ha vm')
    api.cluster.ha.resources.post(sid='vm:{0}'.format(vms[1]), state='stopped')
    if cluster.version.startswith('9.'):
        api.cluster.ha.rules.post(rule='pin', type='node-affinity', resources='vm:{0}'.format(vms[0]),
                                  nodes='{0}:2,{1}'.format(n1, n2), strict=1, comment='pin it')
        api.cluster.ha.rules.post(rule='apart', type='resource-affinity', affinity='negative',
                                  resources='vm:{0},vm:{1}'.format(vms[0], vms[1]))
    else:
        api.cluster.ha.groups.post(group='prefer1', nodes='{0}:2,{1}'.format(n1, n2), restricted=1, comment='grp')
        api.cluster.ha.resources('vm:{0}'.format(vms[0])).put(group='prefer1')
    api.cluster.sdn.zones.post(zone='zvlan', type='vlan', bridge='vmbr0', mtu=1450)
    api.cluster.sdn.zones.post(zone='zsimple', type='simple')
    api.cluster.sdn.vnets.post(vnet='vnet10', zone='zvlan', tag=10, alias='ten')
    api.cluster.sdn.vnets.post(vnet='vnets', zone='zsimple')
    dhcp = {'dhcp-range': ['start-address=10.9.0.100,end-address=10.9.0.150']}
    api.cluster.sdn.vnets('vnets').subnets.post(subnet='10.9.0.0/24', type='subnet', gateway='10.9.0.1', snat=1, **dhcp)
    api.cluster.sdn.put()
    fw = api.cluster.firewall
    fw.aliases.post(name='adminnet', cidr='10.0.0.0/24', comment='admins')
    fw.ipset.post(name='mgmt', comment='management')
    fw.ipset('mgmt').post(cidr='10.1.0.0/24')
    fw.ipset('mgmt').post(cidr='10.1.0.5', nomatch=1, comment='not this')
    fw.groups.post(group='webs', comment='web servers')
    fw.groups('webs').post(type='in', action='ACCEPT', proto='tcp', dport='80,443', enable=1)
    fw.rules.post(type='in', action='ACCEPT', macro='SSH', source='adminnet', enable=1, comment='[id=ssh] admins')
    fw.rules.post(type='in', action='DROP', proto='tcp', dport='8000:8100', enable=0, log='info')
    fw.options.put(enable=1, policy_in='DROP')
    api.nodes(n1).firewall.options.put(enable=1, nosmurfs=1, log_level_in='info')
    api.nodes(n1).firewall.rules.post(type='in', action='ACCEPT', proto='icmp', enable=1)
    vnet = api.cluster.sdn.vnets('vnet10').firewall
    vnet.options.put(enable=1, policy_forward='DROP')
    vnet.rules.post(type='forward', action='ACCEPT', proto='tcp', dport='22', enable=1, comment='[id=ssh-fwd]')
    guest = api.nodes(cluster.pve.vm(vms[0]).node).qemu(vms[0]).firewall
    guest.options.put(enable=1, dhcp=1, policy_in='REJECT')
    guest.rules.post(type='group', action='webs', enable=1)
    guest.aliases.post(name='gw', cidr='192.0.2.1')


# The options that name an item of each module.
IDENTITY = {'pve_storage': ('storage',), 'pve_backup_job': ('id',), 'pve_ha_resource': ('sid',), 'pve_ha_rule': ('name',),
            'pve_ha_group': ('name',), 'pve_sdn_zone': ('zone',), 'pve_sdn_vnet': ('vnet',),
            'pve_sdn_subnet': ('vnet', 'cidr'), 'pve_firewall_alias': ('level', 'vmid', 'name'),
            'pve_firewall_ipset': ('level', 'vmid', 'name'), 'pve_firewall_group': ('name',),
            'pve_firewall_options': ('level', 'node', 'vmid', 'vnet'),
            'pve_firewall_rule': ('level', 'node', 'vmid', 'vnet'),
            'pve_vm': ('vmid',), 'pve_lxc': ('vmid',)}


def key(task, **identity):
    """A loop item of a task, by the options that name it."""
    return (task, tuple(sorted(identity.items())))


def wait_moved(cluster, vmid, node):
    """Wait for the lab's migration task to have moved the guest (its pace is the lab's time scale)."""
    for _attempt in range(600):
        guest = cluster.pve.vm(vmid)
        if guest.node == node and not getattr(guest, 'lock', None):
            return
        time.sleep(0.1)
    raise AssertionError('VM {0} did not move to {1}'.format(vmid, node))


def drift(cluster):
    """Change one item of each kind through the API; returns the (task, item label) the check must show."""
    api = api_of(cluster)
    vms = guests(cluster)
    api.storage('dir-x').put(content='backup')
    api.cluster.backup('nightly').put(schedule='03:00')
    api.cluster.ha.resources('vm:{0}'.format(vms[0])).put(max_restart=3)
    if cluster.version.startswith('9.'):
        api.cluster.ha.rules('pin').put(type='node-affinity', comment='moved')
        ha = key('HA rules (Proxmox VE 9) (pve_ha_rule)', name='pin')
    else:
        api.cluster.ha.groups('prefer1').put(comment='moved')
        ha = key('HA groups (Proxmox VE 8) (pve_ha_group)', name='prefer1')
    api.cluster.sdn.vnets('vnet10').put(alias='eleven')
    api.cluster.sdn.vnets('vnet10').firewall.rules(0).put(dport='2222')
    api.cluster.sdn.put()
    fw = api.cluster.firewall
    fw.options.put(policy_in='ACCEPT')
    fw.rules.post(type='out', action='ACCEPT', proto='udp', dport='53', enable=1)
    fw.ipset('mgmt')('10.1.0.0/24').delete()
    fw.aliases('adminnet').put(cidr='10.0.1.0/24', comment='admins')
    api.nodes(cluster.pve.vm(vms[0]).node).qemu(vms[0]).firewall.options.put(policy_in='DROP')
    vm = cluster.pve.vm(vms[1])
    api.nodes(vm.node).qemu(vms[1]).config.put(cores=8)
    if len(vms) > 2:
        # A VM moved to another node (as HA or a migration moves it) is no drift.
        moved = cluster.pve.vm(vms[2])
        target_node = next(n for n in cluster.nodes if n != moved.node)
        api.nodes(moved.node).qemu(vms[2]).migrate.post(target=target_node)
        wait_moved(cluster, vms[2], target_node)
    guests_changed = {key('VMs (pve_vm)', vmid=vms[1])}
    for ct in sorted(cluster.pve.cts, key=lambda c: c.vmid)[:1]:
        api.nodes(ct.node).lxc(ct.vmid).config.put(memory=1024)
        guests_changed.add(key('Containers (pve_lxc)', vmid=ct.vmid))
    return guests_changed | {
        key('Storages (pve_storage)', storage='dir-x'),
        key('Backup jobs (pve_backup_job)', id='nightly'),
        key('HA resources (pve_ha_resource)', sid='vm:{0}'.format(vms[0])),
        ha,
        key('SDN vnets (pve_sdn_vnet)', vnet='vnet10'),
        key('Firewall options (pve_firewall_options)', level='cluster'),
        key('Firewall options (pve_firewall_options)', level='vm', vmid=vms[0]),
        key('Firewall rules (pve_firewall_rule)', level='cluster'),
        key('Firewall rules (pve_firewall_rule)', level='vnet', vnet='vnet10'),
        key('Firewall IP sets (pve_firewall_ipset)', level='cluster', name='mgmt'),
        key('Firewall aliases (pve_firewall_alias)', level='cluster', name='adminnet'),
    }


def _vaulted(value, password_file, tmp_path):
    import subprocess
    import sys
    tool = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    proc = subprocess.run([tool, 'encrypt_string', '--vault-password-file', str(password_file), value],
                          capture_output=True, text=True, check=False, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                          env=dict(os.environ, ANSIBLE_HOME=str(tmp_path / 'home')))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def estate(lab, tmp_path):
    """An inventory of the proxfleet.proxmox.proxmox plugin (nodes as hosts) with the playbooks' connection
    variables per cluster in group_vars, the token secrets vaulted. Returns ansible-playbook arguments."""
    password_file = tmp_path / 'vault-password'
    password_file.write_text('export-vault\n')
    inventory_dir = tmp_path / 'inventory'
    (inventory_dir / 'group_vars').mkdir(parents=True)
    lines = ['plugin: proxfleet.proxmox.proxmox', 'want_nodes: true', 'clusters:']
    for cluster in lab.clusters:
        secret = _vaulted(cluster.token_secret, password_file, tmp_path)
        lines += ['  - name: {0}'.format(cluster.name),
                  '    api_host: {0}'.format(cluster.host),
                  '    api_port: {0}'.format(cluster.port),
                  '    api_token_id: "{0}"'.format(cluster.token_id),
                  '    api_token_secret: ' + secret.replace('\n', '\n    '),
                  '    ca_path: {0}'.format(cluster.ca_path)]
        (inventory_dir / 'group_vars' / 'proxmox_cluster_{0}.yml'.format(cluster.name)).write_text('\n'.join([
            '---',
            'pve_api_host: {0}'.format(cluster.host),
            'pve_api_port: {0}'.format(cluster.port),
            'pve_api_token_id: "{0}"'.format(cluster.token_id),
            'pve_api_token_secret: ' + secret.replace('\n', '\n  '),
            'pve_ca_path: {0}'.format(cluster.ca_path),
            '']))
    (inventory_dir / 'estate.proxmox.yml').write_text('\n'.join(lines) + '\n')
    return ['-i', str(inventory_dir / 'estate.proxmox.yml'), '--vault-password-file', str(password_file),
            '-e', 'export_dir={0}'.format(tmp_path / 'export')]


# The task each module's items ran under when apply_export.yml had one task per module: the keys drift() returns.
TASKS = {'pve_storage': 'Storages (pve_storage)', 'pve_backup_job': 'Backup jobs (pve_backup_job)',
         'pve_ha_resource': 'HA resources (pve_ha_resource)', 'pve_ha_rule': 'HA rules (Proxmox VE 9) (pve_ha_rule)',
         'pve_ha_group': 'HA groups (Proxmox VE 8) (pve_ha_group)', 'pve_sdn_zone': 'SDN zones (pve_sdn_zone)',
         'pve_sdn_vnet': 'SDN vnets (pve_sdn_vnet)', 'pve_sdn_subnet': 'SDN subnets (pve_sdn_subnet)',
         'pve_firewall_alias': 'Firewall aliases (pve_firewall_alias)',
         'pve_firewall_ipset': 'Firewall IP sets (pve_firewall_ipset)',
         'pve_firewall_group': 'Firewall security groups (pve_firewall_group)',
         'pve_firewall_options': 'Firewall options (pve_firewall_options)',
         'pve_firewall_rule': 'Firewall rules (pve_firewall_rule)', 'pve_vm': 'VMs (pve_vm)',
         'pve_lxc': 'Containers (pve_lxc)'}


def applied(run):
    """The pve_apply results of the run (one per cluster)."""
    return [entry['result'] for entry in run.tasks if entry['action'] == 'proxfleet.proxmox.pve_apply'
            and entry['status'] != 'skipped']


def changed_items(run):
    """{(task, item label)} of every operation pve_apply planned or did, and the diffs by the same key."""
    changed, diffs = set(), {}
    for result in applied(run):
        for op in result['operations']:
            if op['status'] in ('planned', 'done'):
                names = IDENTITY[op['module']]
                found = key(TASKS[op['module']], **dict((k, v) for k, v in op['id'].items() if k in names))
                changed.add(found)
                diffs[found] = op.get('diff')
    return changed, diffs


def test_export_then_check_shows_no_change_then_exactly_the_drift(lab_fn, tmp_path):
    for cluster in lab_fn.clusters:
        seed(cluster)
    args = estate(lab_fn, tmp_path)

    run = run_playbook(EXPORT, lab_fn, extra_args=args, env=FAST)
    assert run.ok, run.explain()
    exported = {}
    for cluster in lab_fn.clusters:
        folder = tmp_path / 'export' / cluster.name
        assert sorted(os.listdir(folder)) == sorted(['cluster.yml'] + ['{0}.yml'.format(a) for a in AREAS])
        data = {}
        for area in AREAS:
            data.update(load(folder / '{0}.yml'.format(area)))
        exported[cluster.name] = data
        storages = dict((s['storage'], s) for s in data['pve_storage'])
        # No secret is written, and the one a CIFS storage needs elsewhere is named.
        assert 'password' not in storages['cifs-iso'] and 's3cret' not in (folder / 'storage.yml').read_text()
        info = load(folder / 'cluster.yml')
        assert {'module': 'pve_storage', 'item': 'cifs-iso', 'options': ['password']} in info['export_secrets_needed']
        assert storages['dir-x']['prune_backups'] == {'keep_daily': 3, 'keep_weekly': 2}
        # A value with template markers is written as !unsafe, so that loading the file does not template it.
        assert '!unsafe "{{guestname}} nightly"' in (folder / 'backup.yml').read_text()
    # One node per cluster did the export; the others skipped it.
    assert len([t for t in run.results('Read the cluster') if t['status'] != 'skipped']) == len(lab_fn.clusters)
    pve9, pve8 = lab_fn.clusters
    vms9 = guests(pve9)
    assert exported[pve9.name]['pve_ha_group'] == []
    assert dict((r['name'], r) for r in exported[pve9.name]['pve_ha_rule'])['pin'] == {
        'name': 'pin', 'type': 'node-affinity', 'resources': ['vm:{0}'.format(vms9[0])],
        'nodes': ['{0}:2'.format(pve9.nodes[0]), pve9.nodes[1]], 'strict': True, 'affinity': 'positive',
        'comment': 'pin it'}
    assert exported[pve8.name]['pve_ha_rule'] == []
    assert exported[pve8.name]['pve_ha_resource'][0]['group'] == 'prefer1'

    check = run_playbook(APPLY, lab_fn, extra_args=args, env=FAST, check=True, diff=True)
    assert check.ok, check.explain()
    assert changed_items(check)[0] == set()
    results = applied(check)
    assert len(results) == len(lab_fn.clusters)
    # One read of each cluster, all areas: no item needed its module's own read.
    for result in results:
        assert result['counts'] and all(c == {'create': 0, 'update': 0, 'delete': 0} for c in result['counts'].values())
        assert result['operations'] == []
        # Only the reads of the plan (and the version, read once).
        assert result['reads'] <= result['requests'] <= result['reads'] + 1

    expected = set()
    for cluster in lab_fn.clusters:
        expected |= drift(cluster)
    check = run_playbook(APPLY, lab_fn, extra_args=args, env=FAST, check=True, diff=True)
    assert check.ok, check.explain()
    changed, diffs = changed_items(check)
    assert changed == expected
    assert diffs[key('Backup jobs (pve_backup_job)', id='nightly')]['before']['schedule'] == '03:00'
    assert diffs[key('Backup jobs (pve_backup_job)', id='nightly')]['after']['schedule'] == '02:30'
    assert diffs[key('Storages (pve_storage)', storage='dir-x')]['after']['content'] == ['backup', 'images']
    vm_diff = diffs[key('VMs (pve_vm)', vmid=guests(pve9)[1])]
    assert (vm_diff['before']['cores'], vm_diff['after']['cores']) == (8, 2)

    real = run_playbook(APPLY, lab_fn, extra_args=args, env=FAST, diff=True)
    assert real.ok, real.explain()
    assert changed_items(real)[0] == expected
    for cluster in lab_fn.clusters:
        assert api_of(cluster).cluster.backup('nightly').get()['schedule'] == '02:30'
        assert api_of(cluster).cluster.firewall.aliases('adminnet').get()['cidr'] == '10.0.0.0/24'
    again = run_playbook(APPLY, lab_fn, extra_args=args, env=FAST, check=True, diff=True)
    assert again.ok, again.explain()
    assert changed_items(again)[0] == set()


def test_the_module_reads_the_same_in_check_mode_and_by_area(lab_fn):
    cluster = lab_fn.clusters[1]
    variables = dict(pve_vars(cluster), guests=len(cluster.pve.vms) + len(cluster.pve.cts))
    run = run_playbook(target('pve_export'), lab_fn, extra_vars={'pve': variables}, env=FAST)
    assert run.ok, run.explain()


EXPORT_PLAY = '''
- name: Pve_export on a degraded cluster
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
    - name: Export everything
      proxfleet.proxmox.pve_export:
      register: full
      ignore_errors: true

    - name: Export what no node holds
      proxfleet.proxmox.pve_export:
        areas: [storage, backup, ha]
      register: cluster_wide
'''


def test_an_offline_node_fails_the_export_naming_it_and_secrets_never_leave(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    # Whatever the API returns: this one answers cipassword as stored (PVE itself answers asterisks).
    pve.secrets_in_clear = True
    for vm in pve.vms:
        vm.config['cipassword'] = 'clear-text-from-the-api'
    run = run_playbook(EXPORT_PLAY, lab_fn, extra_vars={'pve': pve_vars(cluster)}, env=FAST, verbosity=3)
    assert run.ok and not run.failed, run.explain()
    assert 'clear-text-from-the-api' not in run.stdout + run.stderr
    full = run.result('Export everything')
    assert sorted(vm['vmid'] for vm in full['export']['pve_vm']) == sorted(vm.vmid for vm in pve.vms)
    assert all('cipassword' not in vm and 'cipassword' not in vm.get('config', {}) for vm in full['export']['pve_vm'])
    assert sorted(s['item'] for s in full['secrets'] if s['module'] == 'pve_vm') == sorted(str(vm.vmid) for vm in pve.vms)

    down = next(node for node in reversed(cluster.nodes) if [g for g in pve.vms if g.node == node])
    held = sorted(g.vmid for g in list(pve.vms) + list(pve.cts) if g.node == down)
    pve.set_node_offline(down)
    run = run_playbook(EXPORT_PLAY, lab_fn, extra_vars={'pve': pve_vars(cluster)}, env=FAST)
    assert run.ok, run.explain()
    assert [t['task'] for t in run.failed] == ['Export everything'], run.explain()
    failed = run.result('Export everything')
    assert 'export' not in failed, failed
    message = failed['msg']
    assert 'the export would be incomplete' in message and 'node {0} ('.format(down) in message, message
    assert '595' in message and "firewall of node '{0}'".format(down) in message, message
    for vmid in held:
        assert ' {0}'.format(vmid) in message, (vmid, message)
    # The areas no node holds are still read.
    assert run.result('Export what no node holds')['export']['pve_storage']


LEAST_PLAY = '''
- name: Pve_export with the lab's root token and with a least-privilege token
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Export as root
      proxfleet.proxmox.pve_export:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
      register: as_root

    - name: Export with the least-privilege token
      proxfleet.proxmox.pve_export:
        api_host: "{{ least.host }}"
        api_port: "{{ least.port }}"
        api_token_id: "{{ least.token_id }}"
        api_token_secret: "{{ least.token_secret }}"
        ca_path: "{{ least.ca_path }}"
      register: as_least
'''


def test_least_privilege_exports_the_same(lab_fn):
    """A privilege-separated token holding only what docs/privileges.md lists for pve_export (on every guest, node
    and storage) exports the same as root, on PVE 9 and PVE 8."""
    for cluster in lab_fn.clusters:
        seed(cluster)
        pve = cluster.pve
        token = least_privilege_token(cluster, 'pve_export', precise=True, node=cluster.nodes,
                                      vmid=[g.vmid for g in list(pve.vms) + list(pve.cts)], storage=sorted(pve.storages))
        run = run_playbook(LEAST_PLAY, lab_fn, extra_vars={'pve': pve_vars(cluster), 'least': token}, env=FAST)
        assert run.ok, run.explain()
        full = run.result('Export as root')['export']
        assert full['pve_vm'] and full['pve_storage'] and full['pve_firewall_rule'] and full['pve_sdn_zone']
        assert run.result('Export with the least-privilege token')['export'] == full
