# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxfleet.proxmox.proxmox inventory against both lab clusters, through ansible-inventory and ansible-playbook."""

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.playbook import collections_path

BIN = os.path.dirname(sys.executable)


def _run(tool, args, cwd, env=None):
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_HOME=str(cwd / 'home'), ANSIBLE_LOCAL_TEMP=str(cwd / 'tmp'))
    environ.update(env or {})
    return subprocess.run([os.path.join(BIN, tool)] + list(args), cwd=str(cwd), env=environ, capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=300)


def _vaulted(value, password_file, cwd):
    """The `!vault |` block ansible-vault encrypt_string prints for value."""
    proc = _run('ansible-vault', ['encrypt_string', '--vault-password-file', str(password_file), value], cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _inventory(lab, tmp_path, cluster_b_host=None, extra=''):
    one, two = lab.clusters
    password_file = tmp_path / 'vault-password'
    password_file.write_text('inventory-vault\n')
    secret = _vaulted(two.password, password_file, tmp_path)
    text = '\n'.join([
        'plugin: proxfleet.proxmox.proxmox',
        'clusters:',
        '  - name: {0}'.format(one.name),
        # The first node does not answer: the plugin fails over to the next.
        '    api_host: [127.0.0.1, {0}]'.format(one.host),
        '    api_token_id: "{0}"'.format(one.token_id),
        '    api_token_secret: "{{ lookup(\'ansible.builtin.env\', \'LAB_TOKEN\') }}"',
        '    ca_path: {0}'.format(one.ca_path),
        '  - name: {0}'.format(two.name),
        '    api_host: {0}'.format(cluster_b_host or two.host),
        '    api_user: root@pam',
        '    api_password: ' + secret.replace('\n', '\n    '),
        '    fingerprint: "{0}"'.format(two.fingerprint),
        '    validate_certs: false',
        'want_nodes: true',
        'address_order: [config, agent, name]',
        'config_keys: [ostype, cores]',
        'keyed_groups:',
        '  - key: proxmox_config.ostype',
        '    prefix: os',
        'groups:',
        '  webs: "\'web\' in proxmox_tags"',
        'compose:',
        '  guest_label: proxmox_name ~ "@" ~ proxmox_cluster',
        extra,
    ])
    path = tmp_path / 'lab.proxmox.yml'
    path.write_text(text)
    env = {'LAB_TOKEN': one.token_secret}
    return path, password_file, env


def _plain(node):
    """ansible-inventory --list keeps the unsafe marks of the plugin's data ({'__ansible_unsafe': value}): drop them."""
    if isinstance(node, dict):
        if list(node) == ['__ansible_unsafe']:
            return node['__ansible_unsafe']
        return dict((k, _plain(v)) for k, v in node.items())
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _list(lab, tmp_path, env=None, **kwargs):
    path, password_file, inventory_env = _inventory(lab, tmp_path, **kwargs)
    inventory_env.update(env or {})
    return _run('ansible-inventory', ['-i', str(path), '--vault-password-file', str(password_file), '--list'], tmp_path,
                inventory_env)


def test_every_guest_of_every_cluster(lab, tmp_path):
    proc = _list(lab, tmp_path)
    assert proc.returncode == 0, proc.stderr
    inventory = _plain(json.loads(proc.stdout))
    hostvars = inventory['_meta']['hostvars']
    for cluster in lab.clusters:
        guests = dict((vm.name, vm) for vm in cluster.pve.vms)
        guests.update((ct.name, ct) for ct in cluster.pve.cts)
        members = set(inventory['proxmox_cluster_' + cluster.name]['hosts'])
        assert set(guests) | set(cluster.nodes) == members
        for name, guest in guests.items():
            host = hostvars[name]
            assert (host['proxmox_cluster'], host['proxmox_node'], host['proxmox_vmid']) == (cluster.name, guest.node, guest.vmid)
            assert host['proxmox_status'] == guest.status
            assert host['guest_label'] == '{0}@{1}'.format(name, cluster.name)
            assert name in inventory['proxmox_node_' + guest.node.replace('-', '_')]['hosts']
            for tag in host['proxmox_tags']:
                assert name in inventory['proxmox_tag_' + tag]['hosts']
    # ansible_host: a static cloud-init address wins, then what the agent reports, then the name.
    vms = [vm for cluster in lab.clusters for vm in cluster.pve.vms]
    static = [vm for vm in vms if 'ipconfig0' in vm.config]
    agent_only = [vm for vm in vms if 'ipconfig0' not in vm.config and vm.status == 'running']
    neither = [vm for vm in vms if 'ipconfig0' not in vm.config and vm.status != 'running']
    assert static and agent_only and neither
    for vm in static:
        assert hostvars[vm.name]['ansible_host'] == vm.config['ipconfig0'].split(',')[0][3:].split('/')[0]
    for vm in agent_only:
        assert hostvars[vm.name]['ansible_host'].startswith('203.0.113.')
    for vm in neither:
        assert hostvars[vm.name]['ansible_host'] == vm.name
    assert set(inventory['webs']['hosts']) == set(n for n, v in hostvars.items() if 'web' in v.get('proxmox_tags', []))
    assert inventory['os_l26']['hosts'] and inventory['proxmox_type_lxc']['hosts']
    for cluster in lab.clusters:
        assert cluster.password not in proc.stdout and cluster.token_secret not in proc.stdout


def test_an_unreachable_cluster_is_skipped_or_fatal_with_strict(lab, tmp_path, unused_port):
    proc = _list(lab, tmp_path, cluster_b_host='127.0.0.1')
    assert proc.returncode == 0, proc.stderr
    inventory = json.loads(proc.stdout)
    assert 'proxmox_cluster_' + lab.clusters[0].name in inventory
    assert 'proxmox_cluster_' + lab.clusters[1].name not in inventory
    assert 'cluster {0}'.format(lab.clusters[1].name) in proc.stderr and 'skipped' in proc.stderr
    # strict: the whole source fails, which Ansible reports, and makes fatal with inventory_any_unparsed_is_failed.
    strict = _list(lab, tmp_path, cluster_b_host='127.0.0.1', extra='strict: true')
    assert 'proxmox_cluster_' + lab.clusters[0].name not in json.loads(strict.stdout)
    assert 'no node answered' in strict.stderr
    fatal = _list(lab, tmp_path, cluster_b_host='127.0.0.1', extra='strict: true',
                  env={'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': '1'})
    assert fatal.returncode != 0
    assert 'no node answered' in fatal.stderr and 'Traceback' not in fatal.stderr


def test_cache_serves_the_last_listing(lab, tmp_path):
    cache = 'cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {0}\ncache_timeout: 600'.format(tmp_path / 'cache')
    first = _list(lab, tmp_path, extra=cache)
    assert first.returncode == 0, first.stderr
    assert os.listdir(str(tmp_path / 'cache'))
    # The second cluster is now unreachable, but the cached listing still has it.
    second = _list(lab, tmp_path, extra=cache, cluster_b_host='127.0.0.1')
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)['proxmox_cluster_' + lab.clusters[1].name]['hosts']


def test_a_playbook_targets_inventory_groups(lab, tmp_path):
    path, password_file, env = _inventory(lab, tmp_path)
    proc = _run('ansible-playbook', ['-i', str(path), '--vault-password-file', str(password_file),
                                     target('inventory_proxmox')], tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'ok=' in proc.stdout and 'failed=0' in proc.stdout


@pytest.mark.parametrize('content, words', [
    ('plugin: proxfleet.proxmox.proxmox\nclusters: []\n', 'clusters lists no cluster'),
    ('plugin: proxfleet.proxmox.proxmox\nclusters:\n  - name: a\n', 'needs a name and an api_host'),
    ('plugin: proxfleet.proxmox.proxmox\nclusters:\n  - {name: a, api_host: h, api_pasword: x}\n', 'unknown options api_pasword'),
])
def test_bad_configuration_is_refused(tmp_path, content, words):
    path = tmp_path / 'bad.proxmox.yml'
    path.write_text(content)
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path, {'ANSIBLE_INVENTORY_UNPARSED_FAILED': '1'})
    assert proc.returncode != 0
    assert words in proc.stderr


def test_requests_stay_per_cluster_not_per_guest(lab, tmp_path):
    """Default options: one /cluster/resources per cluster, per-guest reads only for running guests' interfaces."""
    one = lab.clusters[0]
    text = ('plugin: proxfleet.proxmox.proxmox\nclusters:\n  - name: {0}\n    api_host: {1}\n    api_token_id: "{2}"\n'
            '    api_token_secret: "{3}"\n    ca_path: {4}\nfilters:\n  - proxmox_type == "qemu"\n').format(
                one.name, one.host, one.token_id, one.token_secret, one.ca_path)
    path = tmp_path / 'one.proxmox.yml'
    path.write_text(text)
    before = len(one.pve.requests)
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path)
    assert proc.returncode == 0, proc.stderr
    made = [(method, p) for method, p, _body in one.pve.requests[before:]]
    guests = list(one.pve.vms) + list(one.pve.cts)
    running = [g for g in guests if g.status == 'running']
    per_guest = [p for _m, p in made if '/qemu/' in p or '/lxc/' in p]
    assert [p for _m, p in made if p.endswith('/cluster/resources')] == ['/api2/json/cluster/resources']
    assert not [p for p in per_guest if p.endswith('/config')]
    assert len(per_guest) == len(running)
    hostvars = _plain(json.loads(proc.stdout))['_meta']['hostvars']
    assert set(hostvars) == set(vm.name for vm in one.pve.vms)


def test_pbs_servers_are_hosts(lab, tmp_path):
    one, pbs = lab.clusters[0], lab.pbs
    text = '\n'.join([
        'plugin: proxfleet.proxmox.proxmox',
        'clusters:',
        '  - {{name: {0}, api_host: {1}, api_token_id: "{2}", api_token_secret: "{3}", ca_path: {4}}}'.format(
            one.name, one.host, one.token_id, one.token_secret, one.ca_path),
        'pbs_servers:',
        '  - name: backup1',
        '    api_host: [127.0.0.1, {0}]'.format(pbs.host),
        '    api_token_id: "{0}"'.format(pbs.token_id),
        '    api_token_secret: "{{ lookup(\'ansible.builtin.env\', \'LAB_PBS_TOKEN\') }}"',
        '    fingerprint: "{0}"'.format(pbs.fingerprint),
        '',
    ])
    path = tmp_path / 'pbs.proxmox.yml'
    path.write_text(text)
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path, {'LAB_PBS_TOKEN': pbs.token_secret})
    assert proc.returncode == 0, proc.stderr
    inventory = _plain(json.loads(proc.stdout))
    assert inventory['proxmox_pbs']['hosts'] == ['backup1']
    host = inventory['_meta']['hostvars']['backup1']
    assert host['proxmox_type'] == 'pbs' and host['ansible_host'] == pbs.host
    assert host['proxmox_version'] == pbs.pbs.version
    assert set(host['proxmox_datastores']) == set(pbs.pbs.datastores)
    assert pbs.token_secret not in proc.stdout


def _plain_config(lab, extra=''):
    """Both clusters of a lab_fn estate, token and CA, no vault: the readers' tests below."""
    lines = ['plugin: proxfleet.proxmox.proxmox', 'clusters:']
    for cluster in lab.clusters:
        lines.append('  - {{name: {0}, api_host: {1}, api_token_id: "{2}", api_token_secret: "{3}", ca_path: {4}}}'.format(
            cluster.name, cluster.host, cluster.token_id, cluster.token_secret, cluster.ca_path))
    return '\n'.join(lines + [extra, ''])


@pytest.mark.lab(clusters=2, nodes=2, guests=4, pbs=False)
def test_a_name_in_two_clusters_keeps_the_guests_address(lab_fn, tmp_path):
    one, two = lab_fn.clusters
    first = one.pve.vms[0]
    other = two.pve.vms[0]
    other.name = other.config['name'] = first.name
    path = tmp_path / 'twice.proxmox.yml'
    path.write_text(_plain_config(lab_fn, 'address_order: [config, name]'))
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path)
    assert proc.returncode == 0, proc.stderr
    hostvars = _plain(json.loads(proc.stdout))['_meta']['hostvars']
    suffixed = '{0}.{1}'.format(first.name, two.name)
    assert hostvars[first.name]['proxmox_vmid'] == first.vmid and hostvars[suffixed]['proxmox_vmid'] == other.vmid
    # The address is the guest's (its name here, as neither has a static address), never the suffixed host name.
    assert 'ipconfig0' not in other.config
    assert hostvars[suffixed]['ansible_host'] == first.name
    assert hostvars[suffixed]['proxmox_name'] == first.name


@pytest.mark.lab(clusters=2, nodes=2, guests=4, pbs=False)
def test_config_keys_mask_secrets_and_keep_the_guests_of_an_offline_node(lab_fn, tmp_path):
    one = lab_fn.clusters[0]
    up, down = one.nodes[0], one.nodes[1]
    on_up = [vm for vm in one.pve.vms if vm.node == up]
    on_down = [g for g in list(one.pve.vms) + list(one.pve.cts) if g.node == down]
    assert on_up and on_down
    # Whatever the API returns: this one answers cipassword as stored (PVE itself answers asterisks).
    one.pve.secrets_in_clear = True
    for vm in on_up:
        vm.config['cipassword'] = 'clear-text-from-the-api'
        # A change waiting for the next start: the inventory shows the values in effect (current=1).
        vm.pending['memory'] = '65536'
    one.pve.set_node_offline(down)
    path = tmp_path / 'degraded.proxmox.yml'
    path.write_text(_plain_config(lab_fn, 'config_keys: [cipassword, memory]'))
    listing = tmp_path / 'listing.json'
    proc = _run('ansible-inventory', ['-i', str(path), '--list', '-vvv', '--output', str(listing)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'clear-text-from-the-api' not in proc.stdout + proc.stderr + listing.read_text()
    hostvars = _plain(json.loads(listing.read_text()))['_meta']['hostvars']
    for vm in on_up:
        assert hostvars[vm.name]['proxmox_config'] == {'cipassword': '********', 'memory': vm.config['memory']}
    # The guests of the offline node stay hosts, without configuration variables, and one warning names the node.
    for guest in on_down:
        assert hostvars[guest.name]['proxmox_config'] == {} and hostvars[guest.name]['proxmox_status'] == 'unknown'
    stderr = ' '.join(proc.stderr.split())
    assert 'cluster {0}: the configuration of guests {1} on node {2} could not be read'.format(
        one.name, ', '.join(str(g.vmid) for g in sorted(on_down, key=lambda g: g.vmid)), down) in stderr, proc.stderr


@pytest.mark.lab(clusters=2, nodes=2, guests=4, pbs=False)
def test_strict_puts_its_own_error_first(lab_fn, tmp_path):
    one, two = lab_fn.clusters
    text = _plain_config(lab_fn, 'strict: true\nconfig_keys: [memory]').replace(
        'api_host: {0},'.format(two.host), 'api_host: 127.0.0.1, api_timeout: 2,')
    path = tmp_path / 'strict.proxmox.yml'
    path.write_text(text)
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path)
    first = next(line for line in proc.stderr.splitlines() if line.strip())
    assert first.startswith('[ERROR]: proxfleet.proxmox.proxmox inventory {0} failed (strict: true)'.format(path)), proc.stderr
    assert '1 of 2 clusters could not be read: cluster {0}: no node answered'.format(two.name) in first, first
    assert 'proxmox_cluster_' + one.name not in json.loads(proc.stdout)


@pytest.mark.lab(clusters=2, nodes=2, guests=8, pbs=False)
def test_least_privilege(lab_fn, tmp_path):
    """Tokens holding only what docs/privileges.md lists for the inventory (PVE side), on half the guests of each
    cluster (PVE 9 and PVE 8): those guests with their configuration keys and agent addresses, every node, and
    nothing of the guests the tokens cannot audit."""
    lines = ['plugin: proxfleet.proxmox.proxmox', 'clusters:']
    seen = {}
    for cluster in lab_fn.clusters:
        pve = cluster.pve
        guests = sorted(list(pve.vms) + list(pve.cts), key=lambda guest: guest.vmid)
        seen[cluster.name] = guests[::2]
        token = least_privilege_token(cluster, 'proxmox', precise=True, vmid=[g.vmid for g in guests[::2]])
        lines.append('  - {{name: {0}, api_host: {1}, api_token_id: "{2}", api_token_secret: "{3}", ca_path: {4}}}'
                     .format(cluster.name, cluster.host, token['token_id'], token['token_secret'], cluster.ca_path))
    lines += ['want_nodes: true', 'address_order: [agent, name]', 'config_keys: [ostype, cores]', '']
    path = tmp_path / 'least.proxmox.yml'
    path.write_text('\n'.join(lines))
    proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '[WARNING]' not in proc.stderr, proc.stderr
    inventory = _plain(json.loads(proc.stdout))
    hostvars = inventory['_meta']['hostvars']
    for cluster in lab_fn.clusters:
        members = set(inventory['proxmox_cluster_' + cluster.name]['hosts'])
        assert members == set(g.name for g in seen[cluster.name]) | set(cluster.nodes)
        for guest in seen[cluster.name]:
            host = hostvars[guest.name]
            assert host['proxmox_vmid'] == guest.vmid and host['proxmox_config']['cores']
            running_vm = guest in cluster.pve.vms and guest.status == 'running' and guest.agent
            if running_vm:
                assert host['ansible_host'].startswith('203.0.113.'), host
        assert any(g in cluster.pve.vms and g.status == 'running' for g in seen[cluster.name])
