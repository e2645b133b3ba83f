# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_apply against the lab, on both clusters (Proxmox VE 9 and 8.4): an export applied right after it is no change
and reads each collection once; changes made through the API show as exactly that drift and are put back; prune
deletes only undeclared items of the pruned areas; an invalid declaration fails before any write, naming the file,
area and item; a failure mid-apply stops what comes after it, says what was and was not done, and a re-run
converges."""

import json
import os
import tempfile

import pytest
import yaml

from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import MODULES
from tests.integration.conftest import pve_vars
from tests.integration.least_privilege import least_privilege_token
from tests.integration.test_pve_export import api_of, guests, seed
from tests.lab.pytest_plugin import run_playbook

pytestmark = pytest.mark.lab(clusters=2, nodes=3, guests=8)
FAST = {'ANSIBLE_PIPELINING': '1'}
WRITES = ('POST', 'PUT', 'DELETE')

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ c.host }}"
      api_port: "{{ c.port }}"
      api_token_id: "{{ c.token_id }}"
      api_token_secret: "{{ c.token_secret }}"
      ca_path: "{{ c.ca_path }}"
  tasks:
    - name: Export
      proxfleet.proxmox.pve_export:
      register: exported
      when: declaration is not defined and src is not defined
    - name: Apply
      proxfleet.proxmox.pve_apply:
        declaration: "{{ omit if src is defined else declaration | default(exported.export) }}"
        src: "{{ src | default(omit) }}"
        prune: "{{ prune | default([]) }}"
'''


def writes(lab):
    """How many write requests each cluster has seen."""
    return [sum(1 for method, _path, _body in cluster.pve.requests if method in WRITES) for cluster in lab.clusters]


def apply(cluster, check=False, declaration=None, **extra):
    """pve_apply on cluster; a declaration is written as export.yml writes it (one file per area) and given as src:
    given inline, its template markers (a backup job's notes template) would be templated."""
    if declaration is not None:
        folder = tempfile.mkdtemp(prefix='declared-')
        for area, modules in MODULES.items():
            found = dict((m, declaration[m]) for m in modules if m in declaration)
            if found:
                with open(os.path.join(folder, area + '.yml'), 'w', encoding='utf-8') as out:
                    out.write(yaml.safe_dump(found).replace("'{{", "!unsafe '{{"))
        extra['src'] = folder
    run = run_playbook(PLAYBOOK, None, extra_vars=dict({'c': pve_vars(cluster)}, **extra), check=check, diff=True,
                       env=FAST)
    return run, run.result('Apply')


def export(cluster):
    run = run_playbook(PLAYBOOK.split('    - name: Apply', maxsplit=1)[0], None, extra_vars={'c': pve_vars(cluster)}, env=FAST)
    assert run.ok, run.explain()
    return run.result('Export')['export']


def ops(result):
    return sorted((op['module'], op['item'], op['op'], op['status']) for op in result['operations'])


def test_no_drift_then_exactly_the_drift_then_prune(lab_fn):
    for cluster in lab_fn.clusters:
        seed(cluster)
        declared = export(cluster)

        run, result = apply(cluster, check=True, declaration=declared)
        assert run.ok, run.explain()
        assert result['operations'] == [] and not result['changed']
        assert set(result['areas']) == {'storage', 'backup', 'ha', 'sdn', 'firewall', 'guests'}
        # The plan is the export's reads: one per collection, one per guest; no item needed its module.
        assert result['reads'] <= result['requests'] <= result['reads'] + 1

        api = api_of(cluster)
        vms = guests(cluster)
        api.cluster.backup('nightly').put(schedule='03:00')
        vm = cluster.pve.vm(vms[1])
        api.nodes(vm.node).qemu(vms[1]).config.put(cores=8)
        api.cluster.firewall.aliases('adminnet').put(cidr='10.0.1.0/24', comment='admins')
        api.cluster.sdn.vnets('vnet10').put(alias='eleven')
        api.cluster.sdn.put()
        before = writes(lab_fn)
        expected = [('pve_backup_job', 'nightly', 'update', 'planned'),
                    ('pve_firewall_alias', 'cluster adminnet', 'update', 'planned'),
                    ('pve_sdn_vnet', 'vnet10', 'update', 'planned'),
                    ('pve_vm', str(vms[1]), 'update', 'planned')]
        run, result = apply(cluster, check=True, declaration=declared)
        assert run.ok, run.explain()
        assert writes(lab_fn) == before
        assert ops(result) == expected
        assert result['counts']['backup'] == {'create': 0, 'update': 1, 'delete': 0}
        assert result['counts']['storage'] == {'create': 0, 'update': 0, 'delete': 0}
        by_module = dict((op['module'], op) for op in result['operations'])
        assert by_module['pve_backup_job']['keys'] == ['schedule']
        assert by_module['pve_backup_job']['diff']['before']['schedule'] == '03:00'
        assert by_module['pve_backup_job']['diff']['after']['schedule'] == '02:30'
        cores = next(v['cores'] for v in declared['pve_vm'] if v['vmid'] == vms[1])
        assert cores != 8
        assert (by_module['pve_vm']['diff']['before']['cores'], by_module['pve_vm']['diff']['after']['cores']) == (8, cores)
        # Applied in dependency order: SDN, guests, firewall, backup jobs.
        assert [op['module'] for op in result['operations']] == ['pve_sdn_vnet', 'pve_vm', 'pve_firewall_alias',
                                                                 'pve_backup_job']
        # The same drift the per-module diffs show, side by side in the task's diff.
        assert len(json.loads(json.dumps(result['diff']))) == 4

        run, result = apply(cluster, declaration=declared)
        assert run.ok, run.explain()
        assert ops(result) == [(m, i, o, 'done') for m, i, o, _s in expected]
        assert api.cluster.backup('nightly').get()['schedule'] == '02:30'
        assert int(api.nodes(vm.node).qemu(vms[1]).config.get()['cores']) == cores
        run, result = apply(cluster, check=True, declaration=declared)
        assert run.ok, run.explain()
        assert result['operations'] == []

        # Prune: only the undeclared items of the areas named, and only those.
        api.cluster.backup.post(id='extra', schedule='05:00', storage='nfs-backup', all=1)
        api.cluster.sdn.zones.post(zone='zextra', type='simple')
        api.cluster.sdn.put()
        pruned = dict(declared, pve_backup_job=[j for j in declared['pve_backup_job'] if j['id'] != 'weekly'])
        run, result = apply(cluster, check=True, declaration=pruned, prune=['backup'])
        assert run.ok, run.explain()
        assert ops(result) == [('pve_backup_job', 'extra', 'delete', 'planned'),
                               ('pve_backup_job', 'weekly', 'delete', 'planned')]
        assert result['counts']['backup'] == {'create': 0, 'update': 0, 'delete': 2}
        assert set(j['id'] for j in api.cluster.backup.get()) >= {'extra', 'weekly'}
        run, result = apply(cluster, declaration=pruned, prune=['backup'])
        assert run.ok, run.explain()
        assert ops(result) == [('pve_backup_job', 'extra', 'delete', 'done'),
                               ('pve_backup_job', 'weekly', 'delete', 'done')]
        assert sorted(j['id'] for j in api.cluster.backup.get()) == ['nightly']
        # SDN was not pruned: the zone the declaration does not name is still there.
        assert 'zextra' in [z['zone'] for z in api.cluster.sdn.zones.get()]
        run, result = apply(cluster, check=True, declaration=pruned, prune=['backup'])
        assert run.ok and result['operations'] == [], run.explain()


def test_invalid_declaration_then_a_failure_mid_apply_then_a_rerun(lab_fn, tmp_path):
    for cluster in lab_fn.clusters:
        seed(cluster)
        declared = export(cluster)
        api = api_of(cluster)
        vms = guests(cluster)

        # Invalid: an unknown option in one file and an unknown module in another. Nothing is written, though the
        # valid items differ from the cluster.
        api.cluster.backup('nightly').put(schedule='03:00')
        folder = tmp_path / cluster.name
        folder.mkdir()
        (folder / 'backup.yml').write_text(yaml.safe_dump({'pve_backup_job': declared['pve_backup_job'] + [
            {'id': 'broken', 'schedul': '01:00'}]}))
        (folder / 'storage.yml').write_text(yaml.safe_dump({'pve_storage': declared['pve_storage'],
                                                            'pve_nothing': []}))
        before = writes(lab_fn)
        run, result = apply(cluster, src=str(folder))
        assert not run.ok
        assert writes(lab_fn) == before
        assert "{0}, area backup, pve_backup_job item 'broken'".format(folder / 'backup.yml') in result['msg']
        assert 'schedul' in result['msg']
        assert "{0}: 'pve_nothing' is no module".format(folder / 'storage.yml') in result['msg']
        assert api.cluster.backup('nightly').get()['schedule'] == '03:00'

        # A failure mid-apply: the storage update is refused (a proxy in front of the cluster answers 503 to it).
        api.storage('dir-x').put(content='backup')
        vm = cluster.pve.vm(vms[1])
        api.nodes(vm.node).qemu(vms[1]).config.put(cores=8)
        cluster.pve.throttle('PUT', '/storage/dir-x', status=503, retry_after='0', times=50)
        try:
            run, result = apply(cluster, declaration=declared)
        finally:
            cluster.pve.throttles[:] = []
        assert not run.ok
        assert ops(result) == [('pve_backup_job', 'nightly', 'update', 'not_done'),
                               ('pve_storage', 'dir-x', 'update', 'failed'),
                               ('pve_vm', str(vms[1]), 'update', 'not_done')]
        assert 'dir-x' in result['msg'] and '503' in result['msg']
        assert 'Not done: update pve_vm {0}, update pve_backup_job nightly'.format(vms[1]) in result['msg']
        # What comes after the failure was not done.
        assert int(api.nodes(vm.node).qemu(vms[1]).config.get()['cores']) == 8
        assert api.cluster.backup('nightly').get()['schedule'] == '03:00'

        run, result = apply(cluster, declaration=declared)
        assert run.ok, run.explain()
        assert ops(result) == [('pve_backup_job', 'nightly', 'update', 'done'),
                               ('pve_storage', 'dir-x', 'update', 'done'),
                               ('pve_vm', str(vms[1]), 'update', 'done')]
        run, result = apply(cluster, check=True, declaration=declared)
        assert run.ok and result['operations'] == [], run.explain()


def test_least_privilege_check_then_apply(lab_fn):
    """docs/privileges.md's row for pve_apply, tested (issue 13): a privilege-separated token holding only the read
    side (what the role PVEAuditor holds, on `/`) plans a whole cluster, with no drift and with drift in items
    whose modules read with audit privileges; a token holding the read side plus the rows of the modules whose
    items differ (pve_backup_job, pve_vm, pve_storage) applies them, on PVE 9 and PVE 8."""
    for cluster in lab_fn.clusters:
        seed(cluster)
        declared = export(cluster)
        reader = least_privilege_token(cluster, 'pve_apply', precise=True)
        run, result = apply(cluster, check=True, declaration=declared, c=reader)
        assert run.ok, run.explain()
        assert result['operations'] == [] and not result['changed']
        assert set(result['areas']) == {'storage', 'backup', 'ha', 'sdn', 'firewall', 'guests'}

        api = api_of(cluster)
        vms = guests(cluster)
        vm = cluster.pve.vm(vms[1])
        api.cluster.backup('nightly').put(schedule='03:00')
        api.nodes(vm.node).qemu(vms[1]).config.put(cores=8)
        before = writes(lab_fn)
        run, result = apply(cluster, check=True, declaration=declared, c=reader)
        assert run.ok, run.explain()
        assert writes(lab_fn) == before
        assert ops(result) == [('pve_backup_job', 'nightly', 'update', 'planned'),
                               ('pve_vm', str(vms[1]), 'update', 'planned')]

        api.storage('dir-x').put(content='backup')
        writer = least_privilege_token(cluster, 'pve_apply', precise=True, user='lp-pve-apply-write@pve',
                                       also=('pve_backup_job', 'pve_vm', 'pve_storage'), vmid=vms[1],
                                       storage=['nfs-backup', 'dir-x'])
        # The read side alone cannot write: the apply is refused at the first item, and says so.
        before = writes(lab_fn)
        run, result = apply(cluster, declaration=declared, c=reader)
        assert not run.ok
        assert writes(lab_fn) == before
        assert '403' in result['msg']
        run, result = apply(cluster, declaration=declared, c=writer)
        assert run.ok, run.explain()
        assert ops(result) == [('pve_backup_job', 'nightly', 'update', 'done'),
                               ('pve_storage', 'dir-x', 'update', 'done'),
                               ('pve_vm', str(vms[1]), 'update', 'done')]
        assert api.cluster.backup('nightly').get()['schedule'] == '02:30'
        assert int(api.nodes(vm.node).qemu(vms[1]).config.get()['cores']) != 8
        run, result = apply(cluster, check=True, declaration=declared, c=reader)
        assert run.ok and result['operations'] == [], run.explain()
