# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_cluster_info through ansible-playbook against every lab cluster: facts, auth forms, TLS, failures, secrets."""

import json
import os
import subprocess
import sys

import pytest
import requests

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def _secrets(cluster):
    return [cluster.password, cluster.token_secret]


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_facts_auth_tls_and_failures(lab, unused_port, index):
    cluster = lab.clusters[index]
    run = run_playbook(target('pve_cluster_info'), lab, extra_vars={'pve': pve_vars(cluster), 'unused_port': unused_port})
    assert run.ok, run.explain()
    facts = run.result('Read the cluster with a ticket login, verifying TLS against the lab CA')
    assert facts['cluster']['name'] == cluster.name
    assert facts['cluster']['version'] == cluster.version
    assert [node['name'] for node in facts['nodes']] == sorted(cluster.nodes)
    assert len(run.failed) == 6  # the six expected failures, each ignored and checked by the playbook


def test_connection_from_environment_only(lab):
    cluster = lab.clusters[0]
    env = {'PROXMOX_HOST': cluster.host, 'PROXMOX_PORT': str(cluster.port), 'PROXMOX_TOKEN_ID': cluster.token_id,
           'PROXMOX_TOKEN_SECRET': cluster.token_secret, 'PROXMOX_CA_PATH': cluster.ca_path}
    run = run_playbook(target('pve_cluster_info', 'env.yml'), lab, extra_vars={'pve': pve_vars(cluster)}, env=env)
    assert run.ok, run.explain()
    assert run.result('Read the cluster with no connection option given')['cluster']['name'] == cluster.name


def test_vaulted_credentials(lab, tmp_path):
    cluster = lab.clusters[0]
    password_file = tmp_path / 'vault-password'
    password_file.write_text('lab-vault-password\n')
    vars_file = tmp_path / 'credentials.yml'
    credentials = {'vault_pve_host': cluster.host, 'vault_pve_port': cluster.port, 'vault_pve_token_id': cluster.token_id,
                   'vault_pve_token_secret': cluster.token_secret, 'vault_pve_ca_path': cluster.ca_path}
    vars_file.write_text(json.dumps(credentials))
    vault = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    subprocess.run([vault, 'encrypt', '--vault-password-file', str(password_file), str(vars_file)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    assert vars_file.read_text().startswith('$ANSIBLE_VAULT;')
    assert cluster.token_secret not in vars_file.read_text()
    run = run_playbook(target('pve_cluster_info', 'vault.yml'), lab,
                       extra_vars={'pve': pve_vars(cluster), 'vault_vars_file': str(vars_file)},
                       extra_args=['--vault-password-file', str(password_file)])
    assert run.ok, run.explain()
    assert run.result('Read the cluster with the vaulted API token')['cluster']['name'] == cluster.name


def test_no_secret_in_verbose_output(lab, unused_port):
    cluster = lab.clusters[0]
    extra = {'pve': pve_vars(cluster), 'unused_port': unused_port}
    runs = [run_playbook(target('pve_cluster_info'), lab, extra_vars=extra, verbosity=3)]
    env = {'PROXMOX_HOST': cluster.host, 'PROXMOX_PORT': str(cluster.port), 'PROXMOX_TOKEN_ID': cluster.token_id,
           'PROXMOX_TOKEN_SECRET': cluster.token_secret, 'PROXMOX_CA_PATH': cluster.ca_path}
    runs.append(run_playbook(target('pve_cluster_info', 'env.yml'), lab, extra_vars=extra, env=env, verbosity=3))
    for run in runs:
        assert run.ok, run.explain()
        output = run.stdout + run.stderr
        assert 'AnsiballZ_pve_cluster_info' in output or '<127.0.0.1>' in output or 'ESTABLISH' in output  # really -vvv
        for secret in _secrets(cluster) + ['wrong-password-f00d', '00000000-dead-beef-0000-000000000000']:
            assert secret not in output


def _plugins(folder):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return ['proxfleet.proxmox.' + name[:-3] for name in sorted(os.listdir(os.path.join(root, 'plugins', folder)))
            if name.endswith('.py') and not name.startswith('_')]


@pytest.mark.parametrize('kind, folder', [('module', 'modules'), ('lookup', 'lookup'), ('inventory', 'inventory')])
def test_ansible_doc_renders(kind, folder):
    """Every plugin's documentation parses and is complete (one ansible-doc run per kind)."""
    import json

    from tests.lab.playbook import collections_path
    names = _plugins(folder)
    doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([doc, '-t', kind, '--json'] + names, env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert '[WARNING]' not in proc.stderr and '[ERROR]' not in proc.stderr, proc.stderr
    docs = json.loads(proc.stdout)
    for name in names:
        entry = docs[name]
        assert entry['doc']['short_description'] and entry['examples'], name
        assert entry['doc']['version_added'] == '0.1.0', name
        if kind == 'module':
            assert 'api_token_secret' in entry['doc']['options'] and entry['return'], name


LEAST_PLAY = '''
- name: Pve_cluster_info with a least-privilege token
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the cluster
      proxfleet.proxmox.pve_cluster_info:
        api_host: "{{ pve.host }}"
        api_port: "{{ pve.port }}"
        api_token_id: "{{ pve.token_id }}"
        api_token_secret: "{{ pve.token_secret }}"
        ca_path: "{{ pve.ca_path }}"
      register: facts
'''


@pytest.mark.lab(clusters=2, nodes=2, guests=2)
def test_least_privilege(lab_fn):
    """A privilege-separated token holding only what docs/privileges.md lists for pve_cluster_info reads name,
    quorum, version and nodes; a node it may not audit (NoAccess there) is listed without its usage."""
    for cluster in lab_fn.clusters:
        one, two = sorted(cluster.nodes)
        token = least_privilege_token(cluster, 'pve_cluster_info', precise=True, node=[one])
        # The token's user is kept off the second node (most specific path wins).
        cluster.pve.add_group('lp-kept-out', users=['lp-pve-cluster-info@pve'])
        kept_out = {'path': '/nodes/' + two, 'roles': 'NoAccess', 'groups': 'lp-kept-out'}
        requests.put(cluster.url + '/api2/json/access/acl', data=kept_out, timeout=30, verify=cluster.ca_path,
                     headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id, cluster.token_secret)
                              }).raise_for_status()
        run = run_playbook(LEAST_PLAY, lab_fn, extra_vars={'pve': token})
        assert run.ok, run.explain()
        facts = run.result('Read the cluster')
        assert facts['cluster']['name'] == cluster.name and facts['cluster']['version'] == cluster.version
        assert facts['cluster']['quorate'] is True
        nodes = dict((node['name'], node) for node in facts['nodes'])
        assert sorted(nodes) == [one, two]
        assert nodes[one]['online'] and nodes[one]['memory_total'] > 0 and nodes[one]['cpus'] > 0
        assert nodes[two]['memory_total'] is None and nodes[two]['cpus'] is None
