# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX / Automation Controller readiness: the execution environment builds its context, the credential type injects
what the plugins read, and ansible-runner (AWX's engine) runs the inventory and a playbook with credentials given
only as environment variables, none written to disk."""

import ast
import json
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


# ---------------------------------------------------------------- the estate credential: several clusters by name


def _lab_estate(lab):
    """The lab as an estate: both clusters and the Backup Server, by name, with their tokens."""
    clusters = dict((c.name, {'api_host': c.host, 'api_port': c.port, 'api_token_id': c.token_id,
                              'api_token_secret': c.token_secret, 'ca_path': c.ca_path}) for c in lab.clusters)
    pbs = lab.pbs
    return {'clusters': clusters,
            'pbs_servers': [{'name': pbs.name, 'api_host': pbs.host, 'api_port': pbs.port, 'api_token_id': pbs.token_id,
                             'api_token_secret': pbs.token_secret, 'ca_path': pbs.ca_path}]}


def _secrets(lab):
    return [c.token_secret for c in lab.clusters] + [lab.pbs.token_secret]


def _inject(credential_type, inputs, private_data_dir):
    """What AWX does with a custom credential type's injectors: each `file` template rendered into a file of mode
    0600 under the job's private data directory (env/), its path given to `env` templates as tower.filename.<name>;
    the rendered `env` goes to ansible-runner as envvars."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = os.path.join(private_data_dir, 'env')
    os.makedirs(env_dir, exist_ok=True)
    filenames = {}
    for label, template in credential_type['injectors'].get('file', {}).items():
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, 'w') as out:
            out.write(sandbox.from_string(template).render(**inputs))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        filenames[label.split('.', 1)[1]] = path
    namespace = dict(inputs, tower={'filename': filenames})
    return dict((name, sandbox.from_string(template).render(**namespace))
                for name, template in credential_type['injectors'].get('env', {}).items())


ESTATE_PLAYBOOK = '''
- name: A job template over two clusters and a Backup Server of one estate credential
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read the first cluster by name
      proxfleet.proxmox.pve_cluster_info:
        cluster: {first}
      register: first
    - name: Read the second cluster by name
      proxfleet.proxmox.pve_cluster_info:
        cluster: {second}
      register: second
    - name: Read the Backup Server by name
      proxfleet.proxmox.pbs_info:
        cluster: {pbs}
      register: backup
    - name: Nodes of both clusters through the lookup, reshaped with JMESPath
      ansible.builtin.set_fact:
        nodes: "{{{{ query('proxfleet.proxmox.pve_resources', 'node', clusters=['{first}', '{second}'], query='[].node') }}}}"
        vmid: "{{{{ lookup('proxfleet.proxmox.pve_nextid', cluster='{second}') }}}}"
    - name: Each task reached the cluster it named, and the inventory listed the whole estate
      ansible.builtin.assert:
        that:
          - first.cluster.name == "{first}"
          - second.cluster.name == "{second}"
          - backup.datastores | map(attribute='name') | list == {stores}
          - nodes | sort == {nodes}
          - vmid | int >= 100
          - groups["proxmox_cluster_{first}"] | length > 0
          - groups["proxmox_cluster_{second}"] | length > 0
          - groups["proxmox_pbs"] == ["{pbs}"]
    - name: An unknown name fails, listing the estate's names
      proxfleet.proxmox.pve_cluster_info:
        cluster: nowhere
      register: unknown
      ignore_errors: true
    - name: The failure named the clusters the estate holds
      ansible.builtin.assert:
        that:
          - unknown is failed
          - "'it names {first}, {second}' in unknown.msg"
'''


def test_ansible_runner_with_the_estate_credential(lab, tmp_path, monkeypatch):
    """Several clusters in one job through one credential: the estate credential type's injectors applied as AWX
    applies them, ansible-runner running the inventory plugin (every cluster of the estate) and modules and lookups
    naming clusters with `cluster`; no secret in the output (at -vvv), the events or the runner's artifacts."""
    import ansible_runner
    first, second = lab.clusters[0], lab.clusters[1]
    with open(os.path.join(REPO, 'extensions', 'awx', 'credential_types', 'proxmox_estate.yml')) as handle:
        credential_type = yaml.safe_load(handle)
    (field,) = credential_type['inputs']['fields']
    assert field['secret'] and field['multiline']
    private = tmp_path / 'runner'
    nodes = sorted(first.nodes + second.nodes)
    _write(private / 'project' / 'site.yml', ESTATE_PLAYBOOK.format(
        first=first.name, second=second.name, pbs=lab.pbs.name, nodes=nodes,
        stores=sorted(lab.pbs.pbs.datastores)))
    # The inventory source as AWX holds it: no connection at all, the estate comes with the credential.
    _write(private / 'inventory' / 'estate.proxmox.yml', 'plugin: proxfleet.proxmox.proxmox\n')
    envvars = _inject(credential_type, {field['id']: yaml.safe_dump(_lab_estate(lab))}, str(private))
    assert list(envvars) == ['PROXMOX_ESTATE_FILE'] and os.path.dirname(envvars['PROXMOX_ESTATE_FILE']) == str(private / 'env')
    assert stat.S_IMODE(os.stat(envvars['PROXMOX_ESTATE_FILE']).st_mode) == 0o600
    for name in list(os.environ):
        if name.startswith(('PROXMOX_', 'PBS_')):
            monkeypatch.delenv(name)
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', collections_path())
    monkeypatch.setenv('PATH', BIN + os.pathsep + os.environ.get('PATH', ''))
    artifacts = str(tmp_path / 'artifacts')
    envvars.update({'ANSIBLE_PYTHON_INTERPRETER': sys.executable, 'ANSIBLE_NOCOLOR': '1'})
    run = ansible_runner.run(private_data_dir=str(private), playbook='site.yml', quiet=True, suppress_env_files=True,
                             artifact_dir=artifacts, verbosity=3, envvars=envvars)
    output = run.stdout.read()
    events = list(run.events)
    assert run.status == 'successful' and run.rc == 0, output
    done = [e['event_data'].get('task') for e in events if e.get('event') == 'runner_on_ok']
    assert 'Read the second cluster by name' in done and 'Read the Backup Server by name' in done
    for secret in _secrets(lab):
        assert secret not in output
        assert secret not in json.dumps(events)
    # The environment holds only the file's path, so even the runner's own record of it has no secret.
    for root, _dirs, files in os.walk(artifacts):
        for name in files:
            with open(os.path.join(root, name), 'rb') as handle:
                content = handle.read()
            for secret in _secrets(lab):
                assert secret.encode() not in content, os.path.join(root, name)
    # The private data directory holds the secrets in the injected file only (AWX removes it with the job).
    for root, _dirs, files in os.walk(str(private)):
        for name in files:
            path = os.path.join(root, name)
            if path != envvars['PROXMOX_ESTATE_FILE']:
                with open(path, 'rb') as handle:
                    content = handle.read()
                for secret in _secrets(lab):
                    assert secret.encode() not in content, path


def test_the_same_playbook_from_the_cli_with_a_vaulted_estate(lab, tmp_path):
    """From the command line the estate is a vault-encrypted file: the inventory plugin and the lookups read it
    themselves (estate_file), modules get its content through `estate` (a module cannot decrypt vault)."""
    from tests.lab.playbook import run_playbook
    first, second = lab.clusters[0], lab.clusters[1]
    password = tmp_path / 'vault-password'
    password.write_text('proxfleet-estate-test\n')
    estate = tmp_path / 'estate.vault.yml'
    estate.write_text(yaml.safe_dump(_lab_estate(lab)))
    proc = subprocess.run([os.path.join(BIN, 'ansible-vault'), 'encrypt', '--vault-password-file', str(password), str(estate)],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert estate.read_text().startswith('$ANSIBLE_VAULT;')
    inventory = tmp_path / 'estate.proxmox.yml'
    inventory.write_text('plugin: proxfleet.proxmox.proxmox\nestate_file: {0}\nclusters: [{1}]\npbs_servers: []\n'.format(
        estate, second.name))
    playbook = '\n'.join([
        '- name: The CLI path',
        '  hosts: localhost',
        '  connection: local',
        '  gather_facts: false',
        '  module_defaults:',
        '    group/proxfleet.proxmox.proxmox:',
        '      estate: "{{{{ lookup(\'ansible.builtin.file\', \'{0}\') | from_yaml }}}}"'.format(estate),
        '  tasks:',
        '    - name: Read a cluster by name',
        '      proxfleet.proxmox.pve_cluster_info:',
        '        cluster: {0}'.format(first.name),
        '      register: facts',
        '    - name: A vaulted file given to a module directly is refused with what to do instead',
        '      proxfleet.proxmox.pve_cluster_info:',
        '        cluster: {0}'.format(first.name),
        '        estate: null',
        '        estate_file: {0}'.format(estate),
        '      register: vaulted',
        '      ignore_errors: true',
        '    - name: The module, the lookup and the inventory read the vaulted estate',
        '      ansible.builtin.assert:',
        '        that:',
        '          - facts.cluster.name == "{0}"'.format(first.name),
        '          - vaulted is failed and "vault-encrypted" in vaulted.msg and "estate option" in vaulted.msg',
        '          - groups["proxmox_cluster_{0}"] | length > 0'.format(second.name),
        '          - groups["proxmox_cluster_{0}"] | default([]) | length == 0'.format(first.name),
        '          - lookup("proxfleet.proxmox.pve_nextid", cluster="{0}", estate_file="{1}") | int >= 100'.format(
            second.name, estate),
        '',
    ])
    result = run_playbook(playbook, lab, verbosity=3, env={'PROXMOX_ESTATE_FILE': ''},
                          extra_args=['-i', str(inventory), '--vault-password-file', str(password)])
    assert result.ok, result.stdout + result.stderr
    for secret in _secrets(lab):
        assert secret not in result.stdout and secret not in result.stderr
