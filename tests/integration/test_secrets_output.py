# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret of the lab reaches ansible-playbook's output: every role (backup, dr, cluster_join) and every playbook
(site, backup, dr, dr_drill, cluster_join, export, apply_export, fleet_report, collect_logs) run at -vvv against one
lab, with runs where a loop item fails (a failed item prints its whole loop item at normal verbosity), and the
output (stdout and stderr) searched for every password, token secret and vaulted value the lab and the runs use.

Secrets reach the playbooks as an inventory source in plain text (as a lookup or a templated value would give
them), as role variables (PBS storage passwords, remote passwords, root passwords of joining nodes) and as
export_secrets.
"""

import json
import os
import secrets

import pytest

from tests.demo.__main__ import add_templates
from tests.integration.test_pve_export import api_of
from tests.integration.test_role_dr import PREPARE
from tests.lab.areas.cluster_join import start_standalone_nodes, stop_standalone_nodes
from tests.lab.estate import REPO_ROOT
from tests.lab.lab import Lab
from tests.lab.pytest_plugin import run_playbook

PLAYBOOKS = os.path.join(REPO_ROOT, 'playbooks')
CHECK_TASK = "proxfleet.proxmox.cluster_join : Stop, having changed nothing, unless every node's login and fingerprint are right"
VERBOSE = 3

# Secrets the runs add to the lab's own: a container's root password, a CIFS password given through
# export_secrets, wrong passwords, and the key material of a pbs storage's encryption key.
EXTRA = {name: '{0}-{1}'.format(name, secrets.token_urlsafe(12))
         for name in ('ct_password', 'cifs_password', 'wrong_password')}
EXTRA['encryption key'] = secrets.token_hex(32)
ENCRYPTION_KEY = json.dumps({'kdf': None, 'created': '2026-01-01T00:00:00+00:00', 'modified': '2026-01-01T00:00:00+00:00',
                             'data': EXTRA['encryption key'], 'fingerprint': ':'.join(['5A'] * 32)})


def playbook(name):
    return os.path.join(PLAYBOOKS, name + '.yml')


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """One lab for the module: two clusters of two nodes, four guests each, and the Backup Server."""
    started = Lab(str(tmp_path_factory.mktemp('lab-secrets')), clusters=2, nodes=2, guests=4)
    add_templates(started)
    try:
        yield started
    finally:
        started.stop()


def lab_secrets(lab, *more):
    """Every secret of the lab (name -> value): root passwords and token secrets of the clusters and of the Backup
    Server, the values the runs add, and those of the given standalone nodes."""
    found = {'pbs password': lab.pbs.password, 'pbs token secret': lab.pbs.token_secret}
    for cluster in lab.clusters:
        found[cluster.name + ' password'] = cluster.password
        found[cluster.name + ' token secret'] = cluster.token_secret
    for node in more:
        found[node.name + ' password'] = node.password
        found[node.name + ' token secret'] = node.token_secret
    found.update(EXTRA)
    return found


def assert_no_secret(run, known):
    """No value of known (name -> secret) in the run's stdout or stderr; else each place it shows: the secret's
    name, the task it shows under and the line (the secret masked)."""
    places = []
    for stream in (run.stdout, run.stderr):
        task = '(before any task)'
        for line in stream.splitlines():
            if line.startswith('TASK ['):
                task = line
            for name, value in known.items():
                if value in line:
                    places.append('{0} under {1}: {2}'.format(name, task, line.replace(value, '<' + name + '>')[:300]))
    assert not places, '{0} shows secrets:\n{1}'.format(run.command, '\n'.join(places))


@pytest.fixture(scope='module')
def inventory(lab, tmp_path_factory):
    """A proxfleet.proxmox.proxmox inventory source with the credentials in plain text, nodes as hosts."""
    folder = tmp_path_factory.mktemp('secrets-inventory')
    lines = ['plugin: proxfleet.proxmox.proxmox', 'want_nodes: true', 'want_guests: false', 'clusters:']
    for cluster in lab.clusters:
        lines += ['  - name: {0}'.format(cluster.name), '    api_host: {0}'.format(cluster.host),
                  '    api_port: {0}'.format(cluster.port), '    api_token_id: "{0}"'.format(cluster.token_id),
                  '    api_token_secret: "{0}"'.format(cluster.token_secret), '    ca_path: {0}'.format(cluster.ca_path)]
    pbs = lab.pbs
    lines += ['pbs_servers:', '  - name: {0}'.format(pbs.name), '    api_host: {0}'.format(pbs.host),
              '    api_port: {0}'.format(pbs.port), '    api_token_id: "{0}"'.format(pbs.token_id),
              '    api_token_secret: "{0}"'.format(pbs.token_secret), '    ca_path: {0}'.format(pbs.ca_path),
              '    fingerprint: "{0}"'.format(pbs.fingerprint), '']
    path = folder / 'estate.proxmox.yml'
    path.write_text('\n'.join(lines))
    group_vars = folder / 'group_vars'
    group_vars.mkdir()
    for cluster in lab.clusters:
        (group_vars / 'proxmox_cluster_{0}.yml'.format(cluster.name)).write_text('\n'.join([
            '---', 'pve_api_host: {0}'.format(cluster.host), 'pve_api_port: {0}'.format(cluster.port),
            'pve_api_user: root@pam', 'pve_api_password: "{0}"'.format(cluster.password),
            'pve_ca_path: {0}'.format(cluster.ca_path), '']))
    return ['-i', str(path)]


def backup_settings(lab, **storage):
    """The backup role's settings: a datastore, a remote (the Backup Server itself, with its root password), a
    sync job, a pbs storage on every cluster (the token secret as its password, an encryption key) and a job."""
    pbs = lab.pbs
    entry = {'storage': 'pbs-sec', 'pbs': pbs.name, 'datastore': 'sec', 'username': pbs.token_id,
             'password': pbs.token_secret, 'encryption_key': ENCRYPTION_KEY}
    entry.update(storage)
    return {
        'backup_pbs_servers': [{'name': pbs.name,
                                'datastores': [{'name': 'sec', 'path': '/datastore/sec'},
                                               {'name': 'sec-copy', 'path': '/datastore/sec-copy'}],
                                'remotes': [{'name': 'self', 'host': pbs.host, 'port': pbs.port, 'auth_id': pbs.user,
                                             'password': pbs.password, 'fingerprint': pbs.fingerprint}],
                                'sync_jobs': [{'id': 'sec-pull', 'store': 'sec-copy', 'remote': 'self',
                                               'remote_store': 'sec', 'schedule': 'hourly'}]}],
        'backup_storages': [entry],
        'backup_jobs': [{'id': 'sec-job', 'storage': 'pbs-sec', 'schedule': '02:00', 'vmid': [100]}],
        'backup_fail_on_rpo': False,
    }


def test_backup_playbook(lab, inventory):
    known = lab_secrets(lab)
    # The connections from the inventory source only (lab None: not the lab's variables as well).
    run = run_playbook(playbook('backup'), None, extra_vars=backup_settings(lab), verbosity=VERBOSE,
                       extra_args=inventory)
    assert run.ok, run.explain()
    assert_no_secret(run, known)
    assert lab.clusters[0].pve.storages['pbs-sec'].get('encryption-key')

    # A failing item (the storage refused), at -vvv (a failed item shows the same at normal verbosity).
    failing = run_playbook(playbook('backup'), None, verbosity=VERBOSE, extra_args=inventory,
                           extra_vars=backup_settings(lab, storage='pbs-bad', content=['images'],
                                                      password=EXTRA['wrong_password']))
    assert not failing.ok, failing.explain()
    assert [t for t in failing.failed if 'storages' in t['task']], failing.explain()
    assert_no_secret(failing, known)


def test_site_playbook(lab):
    """site.yml: firewall, a VM, a container with a root password, HA and the backup role through it."""
    known = lab_secrets(lab)
    one = lab.clusters[0]
    pbs = lab.pbs
    settings = backup_settings(lab)
    settings.update({
        'site_pbs_servers': [{'name': pbs.name, 'api_host': pbs.host, 'api_port': pbs.port, 'api_token_id': pbs.token_id,
                              'api_token_secret': pbs.token_secret, 'ca_path': pbs.ca_path,
                              'fingerprint': pbs.fingerprint}],
        'site_backup_servers': settings.pop('backup_pbs_servers'),
        'site_firewall': [{'cluster': one.name, 'aliases': [{'name': 'sec-alias', 'cidr': '192.0.2.7'}]}],
        'site_guests': [
            {'cluster': one.name, 'vmid': 700, 'name': 'sec-vm', 'node': one.nodes[0], 'memory': 512, 'cores': 1},
            {'cluster': one.name, 'type': 'lxc', 'vmid': 701, 'name': 'sec-ct', 'node': one.nodes[0],
             'ostemplate': 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', 'password': EXTRA['ct_password'],
             'memory': 256, 'rootfs': {'storage': 'local-lvm', 'size': '2G'}}],
        'site_ha': [{'cluster': one.name, 'resources': [{'sid': 'vm:700', 'state': 'stopped'}]}],
    })
    run = run_playbook(playbook('site'), lab, extra_vars=settings, verbosity=VERBOSE)
    assert run.ok, run.explain()
    assert_no_secret(run, known)
    assert one.pve.ct(701) is not None


def test_dr_and_drill_playbooks(lab):
    known = lab_secrets(lab)
    one, two = lab.clusters
    prepared = run_playbook(PREPARE, lab)
    assert prepared.ok, prepared.explain()
    common = {'dr_target': two.name, 'dr_source': one.name, 'dr_backup_server': lab.pbs.name,
              'dr_datastore': 'drtest', 'dr_backup_storage': 'pbs-drtest', 'dr_agent_timeout': 30, 'dr_agent_delay': 1}
    drill = run_playbook(playbook('dr_drill'), lab, verbosity=VERBOSE,
                         extra_vars=dict(common, dr_guests=[{'vmid': 100, 'target_vmid': 4100}]))
    assert drill.ok, drill.explain()
    assert_no_secret(drill, known)
    # dr_drill.yml is dr.yml with dr_mode drill; dr.yml itself, restoring, with a Backup Server whose token secret
    # is wrong: the run fails.
    wrong = dict(common, dr_guests=[{'vmid': 100, 'target_vmid': 4300}])
    wrong.pop('dr_backup_server')
    wrong['dr_pbs'] = {'api_host': lab.pbs.host, 'api_port': lab.pbs.port, 'api_token_id': lab.pbs.token_id,
                       'api_token_secret': EXTRA['wrong_password'], 'ca_path': lab.pbs.ca_path}
    failing = run_playbook(playbook('dr'), lab, verbosity=VERBOSE, extra_vars=wrong)
    assert not failing.ok, failing.explain()
    assert_no_secret(failing, known)


def test_export_apply_fleet_report_and_logs(lab, inventory, tmp_path):
    known = lab_secrets(lab)
    one = lab.clusters[0]
    # A CIFS storage: its password is not exported, apply_export takes it from export_secrets.
    api_of(one).storage.post(storage='sec-cifs', type='cifs', server='192.0.2.60', share='iso', username='svc',
                             password=EXTRA['cifs_password'], content='iso')
    export_dir = ['-e', 'export_dir={0}'.format(tmp_path / 'export')]
    exported = run_playbook(playbook('export'), lab, verbosity=VERBOSE, extra_args=inventory + export_dir)
    assert exported.ok, exported.explain()
    assert_no_secret(exported, known)
    applied = run_playbook(playbook('apply_export'), lab, verbosity=VERBOSE, check=True, diff=True,
                           extra_args=inventory + export_dir,
                           extra_vars={'export_secrets': {'pve_storage': {'sec-cifs': {'password': EXTRA['cifs_password']}}}})
    assert applied.ok, applied.explain()
    assert_no_secret(applied, known)
    # Failing items: a password for storages that take none.
    failing = run_playbook(playbook('apply_export'), lab, check=True, extra_args=inventory + export_dir,
                           extra_vars={'export_secrets': {'pve_storage': {'local': {'password': EXTRA['wrong_password']}}}})
    assert not failing.ok and failing.failed, failing.explain()
    assert_no_secret(failing, known)
    report = run_playbook(playbook('fleet_report'), lab, verbosity=VERBOSE, extra_args=inventory,
                          extra_vars={'fleet_report_dir': str(tmp_path / 'report')})
    assert report.ok, report.explain()
    assert_no_secret(report, known)
    logs = run_playbook(playbook('collect_logs'), lab, verbosity=VERBOSE, extra_args=inventory + ['-l', one.nodes[0]],
                        extra_vars={'logs_dir': str(tmp_path / 'logs')})
    assert logs.ok, logs.explain()
    assert_no_secret(logs, known)


@pytest.fixture
def standalone(lab):
    started = start_standalone_nodes(lab, 3, version='8.4.14')
    try:
        yield started
    finally:
        stop_standalone_nodes(lab, started)


def test_cluster_join_checks_every_node_first_and_shows_no_password(lab, standalone):
    known = lab_secrets(lab, *standalone)
    first, second, third = standalone
    nodes = [node.vars for node in standalone]
    # A wrong root password for the second joining node: refused before the cluster is created on the first node,
    # at -vvv in check mode (which checks the same before planning anything) ...
    wrong = [dict(node) for node in nodes]
    wrong[2]['password'] = EXTRA['wrong_password']
    refused = run_playbook(playbook('cluster_join'), lab, verbosity=VERBOSE, check=True,
                           extra_vars={'lab_standalone': wrong, 'cluster_join_name': 'sec'})
    assert not refused.ok, refused.explain()
    assert_no_secret(refused, known)
    msg = refused.result(CHECK_TASK)['msg']
    assert 'nothing was changed' in msg and 'node {0}: '.format(third.name) in msg, refused.explain()
    assert 'node {0}:'.format(first.name) not in msg and 'node {0}:'.format(second.name) not in msg
    assert all(node.pve.tasklog == [] and node.pve.cluster_name is None for node in standalone)

    # ... and for real at normal verbosity, with a wrong fingerprint for the first node as well: both are named.
    wrong[0]['fingerprint'] = ':'.join(['AB'] * 32)
    refused = run_playbook(playbook('cluster_join'), lab, extra_vars={'lab_standalone': wrong, 'cluster_join_name': 'sec'})
    assert not refused.ok, refused.explain()
    assert_no_secret(refused, known)
    msg = refused.result(CHECK_TASK)['msg']
    assert 'node {0}: '.format(first.name) in msg and 'fingerprint' in msg.split('node ' + third.name)[0], refused.explain()
    assert 'node {0}: '.format(third.name) in msg and 'node {0}:'.format(second.name) not in msg
    assert all(node.pve.tasklog == [] and node.pve.cluster_name is None for node in standalone)

    # The cluster of three, at -vvv; then check mode finds nothing to change (every login still right).
    joined = run_playbook(playbook('cluster_join'), lab, verbosity=VERBOSE,
                          extra_vars={'lab_standalone': nodes, 'cluster_join_name': 'sec'})
    assert joined.ok, joined.explain()
    assert_no_secret(joined, known)
    assert sorted(first.pve.nodes) == sorted(node.name for node in standalone)
    checked = run_playbook(playbook('cluster_join'), lab, check=True, verbosity=VERBOSE,
                           extra_vars={'lab_standalone': nodes, 'cluster_join_name': 'sec'})
    assert checked.ok, checked.explain()
    assert not [t['task'] for t in checked.changed if t['action'] != 'ansible.builtin.set_fact']
    assert_no_secret(checked, known)
