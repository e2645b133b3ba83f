# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX / Automation Controller readiness: the execution environment builds its context, the credential type injects
what the plugins read, and ansible-runner (AWX's engine) runs the inventory and a playbook with credentials given
only as environment variables, none written to disk."""

import ast
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import yaml

from tests.lab.playbook import collections_path

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def test_execution_environment_context(tmp_path):
    context = tmp_path / 'context'
    proc = subprocess.run([os.path.join(BIN, 'ansible-builder'), 'create', '-f',
                           os.path.join(REPO, 'extensions', 'ee', 'execution-environment.yml'), '--context', str(context)],
                          cwd=REPO, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = context / '_build'
    assert 'proxmoxer' in (build / 'requirements.txt').read_text()
    assert 'jmespath' in (build / 'requirements.txt').read_text()
    assert 'proxfleet.proxmox' in (build / 'requirements.yml').read_text()
    assert (build / 'bindep.txt').exists()
    assert 'ansible-core' in (context / 'Dockerfile').read_text()
    meta = yaml.safe_load(open(os.path.join(REPO, 'meta', 'execution-environment.yml')))
    assert meta['dependencies'] == {'python': 'requirements.txt', 'system': 'bindep.txt'}


# Imported by plugins but installed with what the EE installs anyway.
PROVIDED = {'yaml': 'PyYAML, a dependency of ansible-core', 'urllib3': 'a dependency of requests'}


def _requirement_names(path):
    names = set()
    with open(path) as handle:
        for line in handle:
            line = line.split('#', 1)[0].strip()
            if line:
                names.add(re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0].lower().replace('_', '-'))
    return names


def test_execution_environment_installs_every_library_the_plugins_import():
    """Every third-party package a module or plugin imports (jmespath for pve_resources' query and json_query) is in
    the Python requirements the collection's EE metadata points ansible-builder at."""
    meta = yaml.safe_load(open(os.path.join(REPO, 'meta', 'execution-environment.yml')))
    required = _requirement_names(os.path.join(REPO, meta['dependencies']['python']))
    imported = {}
    for root, _dirs, files in os.walk(os.path.join(REPO, 'plugins')):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(root, name)
            with open(path) as handle:
                tree = ast.parse(handle.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    tops = [alias.name.split('.')[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    tops = [node.module.split('.')[0]]
                else:
                    continue
                for top in tops:
                    if top not in sys.stdlib_module_names and top not in ('ansible', 'ansible_collections', '__future__'):
                        imported.setdefault(top, os.path.relpath(path, REPO))
    assert 'jmespath' in imported
    missing = dict((top, where) for top, where in imported.items() if top.lower() not in required and top not in PROVIDED)
    assert not missing, 'imported but not in {0}: {1}'.format(meta['dependencies']['python'], missing)


def test_credential_type_injects_what_the_collection_reads():
    with open(os.path.join(REPO, 'extensions', 'awx', 'credential_types', 'proxmox.yml')) as handle:
        credential = yaml.safe_load(handle)
    fields = dict((f['id'], f) for f in credential['inputs']['fields'])
    assert fields['pve_token_secret'].get('secret') and fields['pbs_token_secret'].get('secret')
    with open(os.path.join(REPO, 'plugins', 'doc_fragments', 'connection.py')) as handle:
        documented = handle.read()
    for name, value in credential['injectors']['env'].items():
        assert 'E({0})'.format(name) in documented, name
        assert value.strip('{} ') in fields


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_ansible_runner_with_credentials_only_in_the_environment(lab, tmp_path, monkeypatch):
    import ansible_runner
    cluster = lab.clusters[0]
    private = tmp_path / 'runner'
    _write(private / 'project' / 'site.yml', '\n'.join([
        '- name: A job template',
        '  hosts: localhost',
        '  connection: local',
        '  gather_facts: false',
        '  tasks:',
        '    - name: Read the cluster with the injected credential',
        '      proxfleet.proxmox.pve_cluster_info:',
        '      register: facts',
        '    - name: The inventory and the module saw the same estate',
        '      ansible.builtin.assert:',
        '        that:',
        '          - facts.cluster.name == "{0}"'.format(cluster.name),
        '          - groups["proxmox_cluster_{0}"] | length > 0'.format(cluster.name),
        '',
    ]))
    # The inventory source as AWX would hold it: no secret in it, the credential arrives as environment variables.
    _write(private / 'inventory' / 'estate.proxmox.yml', '\n'.join([
        'plugin: proxfleet.proxmox.proxmox',
        'clusters:',
        '  - name: {0}'.format(cluster.name),
        '    api_host: "{{ lookup(\'ansible.builtin.env\', \'PROXMOX_HOST\') }}"',
        '    api_token_id: "{{ lookup(\'ansible.builtin.env\', \'PROXMOX_TOKEN_ID\') }}"',
        '    api_token_secret: "{{ lookup(\'ansible.builtin.env\', \'PROXMOX_TOKEN_SECRET\') }}"',
        '    fingerprint: "{{ lookup(\'ansible.builtin.env\', \'PROXMOX_FINGERPRINT\') }}"',
        '',
    ]))
    # What the credential type injects, in the environment of the runner process only.
    for name, value in (('PROXMOX_HOST', cluster.host), ('PROXMOX_TOKEN_ID', cluster.token_id),
                        ('PROXMOX_TOKEN_SECRET', cluster.token_secret), ('PROXMOX_FINGERPRINT', cluster.fingerprint)):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', collections_path())
    monkeypatch.setenv('PATH', BIN + os.pathsep + os.environ.get('PATH', ''))
    # suppress_env_files, as AWX sets it, keeps the runner from writing env/ files. ansible-runner still records
    # its whole environment in artifacts/<id>/command (mode 0600) whatever it is told: its artifact directory goes
    # on a memory file system (/dev/shm), as the collection's AWX notes advise, and is removed afterwards.
    artifacts = tempfile.mkdtemp(prefix='proxfleet-runner-', dir='/dev/shm' if os.path.isdir('/dev/shm') else None)
    try:
        run = ansible_runner.run(private_data_dir=str(private), playbook='site.yml', quiet=True, suppress_env_files=True,
                                 artifact_dir=artifacts,
                                 envvars={'ANSIBLE_PYTHON_INTERPRETER': sys.executable, 'ANSIBLE_NOCOLOR': '1'})
        output = run.stdout.read()
        events = list(run.events)
        for root, _dirs, files in os.walk(artifacts):
            for name in files:
                if name == 'command':
                    assert stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode) == 0o600
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)
    assert run.status == 'successful' and run.rc == 0, output
    assert any(e.get('event') == 'runner_on_ok' and e['event_data'].get('task') == 'Read the cluster with the injected credential'
               for e in events)
    assert cluster.token_secret not in output
    for root, _dirs, files in os.walk(str(private)):
        for name in files:
            with open(os.path.join(root, name), 'rb') as handle:
                assert cluster.token_secret.encode() not in handle.read(), os.path.join(root, name)
