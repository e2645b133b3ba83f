# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: the main job end to end on the lab, through this collection, as on a real estate.

    python -m tests.demo [--clusters 2] [--nodes 3] [--guests 12] [--keep-dir DIR]

1. starts the lab (clusters lab1 (PVE 9), lab2 (PVE 8) and more if asked, and a Proxmox Backup Server) in this
   process;
2. writes an inventory source of the proxfleet.proxmox.proxmox plugin for it, with the API token secrets vaulted,
   and a vaulted secrets file (the Backup Server's token for the clusters' pbs storage);
3. runs playbooks/site.yml with tests/demo/estate.yml: guests on both clusters, firewall, HA, the PBS datastore,
   storages and backup job, and a backup of every guest the job selects (the RPO check's catch-up);
4. runs playbooks/dr_drill.yml with tests/demo/drill.yml: the demo guests of lab1 restored from PBS onto lab2 on an
   isolated network, checked, RPO and RTO reported, then removed;
5. prints the inventory graph (ansible-inventory --graph through the plugin);
6. stops the lab, whatever happened.

The exit status is the first failing step's, 0 when every step passed.
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# The container template the lab's containers were made from, on each cluster's `local` storage.
TEMPLATE = 'vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'
PBS_NAME = 'backup'
STEP_TIMEOUT = 600


def vault_encrypt(text, password):
    """text encrypted with the vault password, as ansible-vault writes it."""
    from ansible.parsing.vault import VaultLib, VaultSecret
    vault = VaultLib([('default', VaultSecret(password.encode('utf-8')))])
    return vault.encrypt(text).decode('ascii')


def vaulted_scalar(text, password, indent):
    """A `!vault |` YAML scalar holding text, its lines indented by indent spaces."""
    pad = ' ' * indent
    return '!vault |\n' + '\n'.join(pad + line for line in vault_encrypt(text, password).splitlines())


def write_private(path, text):
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as out:
        out.write(text)


def inventory_source(lab, password):
    """The proxfleet.proxmox.proxmox inventory source of the lab: every cluster and the Backup Server, secrets
    vaulted."""
    lines = ['# The demo lab through the proxfleet.proxmox.proxmox inventory plugin; token secrets vaulted.',
             'plugin: proxfleet.proxmox.proxmox', 'clusters:']
    for cluster in lab.clusters:
        lines += ['  - name: {0}'.format(cluster.name),
                  '    api_host: {0}'.format(cluster.host),
                  '    api_port: {0}'.format(cluster.port),
                  '    api_token_id: "{0}"'.format(cluster.token_id),
                  '    api_token_secret: ' + vaulted_scalar(cluster.token_secret, password, 6),
                  '    ca_path: {0}'.format(cluster.ca_path)]
    pbs = lab.pbs
    lines += ['pbs_servers:',
              '  - name: {0}'.format(PBS_NAME),
              '    api_host: {0}'.format(pbs.host),
              '    api_port: {0}'.format(pbs.port),
              '    api_token_id: "{0}"'.format(pbs.token_id),
              '    api_token_secret: ' + vaulted_scalar(pbs.token_secret, password, 6),
              '    ca_path: {0}'.format(pbs.ca_path),
              '    fingerprint: "{0}"'.format(pbs.fingerprint),
              'want_nodes: true',
              'groups:',
              '  demo: "\'demo\' in proxmox_tags | default([])"',
              '']
    return '\n'.join(lines)


def secrets_file(lab, password):
    """The vaulted variables file: the Backup Server token the clusters' pbs storage logs in with."""
    pbs = lab.pbs
    plain = ('---\ndemo_pbs_token_id: "{0}"\ndemo_pbs_token_secret: "{1}"\n'.format(pbs.token_id, pbs.token_secret))
    return vault_encrypt(plain, password)


def add_templates(lab):
    """The container template on every cluster's local storage, as the lab's containers were created from it."""
    for cluster in lab.clusters:
        cluster.pve.storages['local'].setdefault('volumes', {})[TEMPLATE] = {
            'content': 'vztmpl', 'format': 'tzst', 'size': 130 * 1024 ** 2, 'ctime': 1767225600}


def environment(work):
    from tests.lab.playbook import collections_path
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_HOME': os.path.join(work, 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-tmp'),
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_CALLBACK_RESULT_FORMAT': 'yaml',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
    })
    return env


def tool(name):
    script = os.path.join(os.path.dirname(sys.executable), name)
    return script if os.path.exists(script) else shutil.which(name) or name


def step(title, command, env, cwd):
    """Run one step of the demo with a banner; returns its exit status."""
    print('\n' + '=' * 100 + '\n== ' + title + '\n' + '=' * 100, flush=True)
    started = time.monotonic()
    try:
        rc = subprocess.run(command, cwd=cwd, env=env, check=False, stdin=subprocess.DEVNULL,
                            timeout=STEP_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print('== {0}: no end after {1} s'.format(title, STEP_TIMEOUT), flush=True)
        return 124
    print('== {0}: {1} in {2:.0f} s'.format(title, 'done' if rc == 0 else 'FAILED (rc={0})'.format(rc),
                                            time.monotonic() - started), flush=True)
    return rc


def run(work, clusters, nodes, guests):
    from tests.lab.lab import Lab
    lab = Lab(os.path.join(work, 'lab'), clusters=clusters, nodes=nodes, guests=guests)
    try:
        add_templates(lab)
        password = secrets.token_urlsafe(24)
        vault_file = os.path.join(work, 'vault-password')
        write_private(vault_file, password + '\n')
        inventory = os.path.join(work, 'demo.proxmox.yml')
        write_private(inventory, inventory_source(lab, password))
        secrets_path = os.path.join(work, 'secrets.yml')
        write_private(secrets_path, secrets_file(lab, password))
        env = environment(work)
        common = ['-i', inventory, '--vault-password-file', vault_file, '-e', '@' + secrets_path]
        playbooks = os.path.join(REPO, 'playbooks')
        report = os.path.join(work, 'dr-drill-report.json')
        print('The lab: {0}; Backup Server {1}'.format(
            ', '.join('{0} (PVE {1}, {2} nodes) at {3}'.format(c.name, c.version, len(c.nodes), c.url) for c in lab.clusters),
            lab.pbs.url), flush=True)
        steps = [
            ('site.yml: guests on both clusters, firewall, HA, PBS backups configured and taken',
             [tool('ansible-playbook')] + common + ['-e', '@' + os.path.join(HERE, 'estate.yml'),
                                                    os.path.join(playbooks, 'site.yml')]),
            ('dr_drill.yml: the demo guests restored from PBS onto lab2, checked, RPO/RTO, removed',
             [tool('ansible-playbook')] + common + ['-e', '@' + os.path.join(HERE, 'drill.yml'),
                                                    '-e', 'dr_report_file=' + report,
                                                    os.path.join(playbooks, 'dr_drill.yml')]),
            ('ansible-inventory --graph: the estate through the proxfleet.proxmox.proxmox inventory plugin',
             [tool('ansible-inventory'), '-i', inventory, '--vault-password-file', vault_file, '--graph']),
        ]
        for title, command in steps:
            rc = step(title, command, env, work)
            if rc != 0:
                return rc
        return 0
    finally:
        lab.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.demo', description=__doc__.splitlines()[0])
    parser.add_argument('--clusters', type=int, default=2, help='clusters (at least 2: the demo uses lab1 and lab2)')
    parser.add_argument('--nodes', type=int, default=3, help='nodes per cluster (at least 2)')
    parser.add_argument('--guests', type=int, default=12, help='guests the lab starts with, over both clusters')
    parser.add_argument('--keep-dir', help='work in this directory and keep it (inventory, vault password, report)')
    args = parser.parse_args(argv)
    if args.clusters < 2:
        parser.error('--clusters: the demo restores the guests of lab1 onto lab2')
    if args.nodes < 2:
        parser.error('--nodes: the demo places guests on two nodes of each cluster')
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    if args.keep_dir:
        os.makedirs(args.keep_dir, exist_ok=True)
        return run(os.path.abspath(args.keep_dir), args.clusters, args.nodes, args.guests)
    with tempfile.TemporaryDirectory(prefix='proxfleet-demo-') as work:
        return run(work, args.clusters, args.nodes, args.guests)


if __name__ == '__main__':
    sys.exit(main())
