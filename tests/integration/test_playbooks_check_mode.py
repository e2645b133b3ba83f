# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks not covered elsewhere, in check mode (--check) on a fresh estate: export.yml, apply_export.yml,
collect_logs.yml and fleet_report.yml (the roles and site/backup/dr/dr_drill/cluster_join have their own tests).

Each run must succeed, send no write request to any cluster, write no file on the controller (the export files, the
log bundle, the report), and report what it would do: the tasks that would write report a change naming the file.
One lab (2 clusters of PVE 9, 2 nodes) serves the whole file; the tests run in file order.
"""

import os

import pytest

from tests.integration.test_pve_export import seed
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
