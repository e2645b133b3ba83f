# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_ha_resource, pve_ha_group and pve_ha_rule through ansible-playbook against the lab (PVE 9 and PVE 8).

Each module runs with a privilege-separated token holding only what docs/privileges.md lists for it
(least_privilege.py); the forks and the upgraded-cluster tests use root's.

Each test has its own estate (lab_fn): HA resources change how guests start, stop and migrate, which other
suites sharing the session's lab must not see. A playbook runs against both versions at once: the inventory has
one host per cluster (all local connections), so the clusters are worked on in parallel forks.
"""

import json
import sys

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

# Three clusters, so that a PVE 9 one (lab1) has containers too (every fourth guest is one); lab2 runs PVE 8.
pytestmark = pytest.mark.lab(clusters=3, nodes=3, guests=24)
# Local connections with pipelining: a module runs in one process, without a temporary directory made and
# removed through the shell around each task.
FAST = {'ANSIBLE_PIPELINING': '1'}


def guests(cluster):
    """(VM ids, container ids) of a cluster, lowest first."""
    return sorted(vm.vmid for vm in cluster.pve.vms), sorted(ct.vmid for ct in cluster.pve.cts)


def writes_to(cluster, ident):
    return [w for w in cluster.pve.ha_writes if w[1] == ident]


def inventory(tmp_path, hosts, group='ha_clusters', forks=5):
    """ansible-playbook arguments for an inventory of local hosts: {host: (cluster, host vars)}."""
    entries = {}
    for name, (cluster, host_vars) in hosts.items():
        entries[name] = dict(host_vars, pve=pve_vars(cluster), ansible_connection='local',
                             ansible_python_interpreter=sys.executable)
    path = tmp_path / 'inventory.json'
    path.write_text(json.dumps({group: {'hosts': entries}}))
    return ['-i', str(path), '--forks', str(forks)]


def lp_tokens(cluster, modules, vmid):
    """{module: the cluster with a privilege-separated token holding only what docs/privileges.md lists for it}, as
    the targets take them (`lp`)."""
    return dict((module, least_privilege_token(cluster, module, vmid=vmid)) for module in modules)


def both(lab):
    """The PVE 9 and the PVE 8 cluster of the estate."""
    pve9, pve8 = lab.clusters[0], lab.clusters[1]
    assert pve9.version.startswith('9.') and pve8.version.startswith('8.')
    return pve9, pve8


def test_resource_create_modify_delete(lab_fn, tmp_path):
    hosts = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        vms, cts = guests(cluster)
        hosts[name] = (cluster, {'sid': 'vm:{0}'.format(vms[0]), 'ct_vmid': cts[0], 'missing_vmid': 99999,
                                 'lp': lp_tokens(cluster, ['pve_ha_resource'], [vms[0], cts[0]])})
    run = run_playbook(target('pve_ha_resource'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    for name, (cluster, host_vars) in hosts.items():
        sid = host_vars['sid']
        assert run.result('Create', name)['diff']['before'] == {}
        # One create, one update, one delete: the idempotent runs and the refused ones wrote nothing.
        assert writes_to(cluster, sid) == [('resources', sid)] * 3
        assert writes_to(cluster, 'ct:{0}'.format(host_vars['ct_vmid'])) == []
        assert cluster.pve.ha_resources == {}
        assert cluster.pve.vm(int(sid.split(':')[1])).ha_state is None


def test_group_create_modify_delete(lab_fn, tmp_path):
    hosts = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        vms, _cts = guests(cluster)
        hosts[name] = (cluster, {'sid': 'vm:{0}'.format(vms[1]), 'group_name': 'it-group-' + name,
                                 'lp': lp_tokens(cluster, ['pve_ha_group', 'pve_ha_resource'], [vms[1]])})
    run = run_playbook(target('pve_ha_group'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    pve9, pve8 = hosts['pve9'][0], hosts['pve8'][0]
    # PVE 9: one rule written by create, one by modify, one by delete; nothing of the refused ones.
    assert writes_to(pve9, 'ha-group-it-group-pve9') == [('rules', 'ha-group-it-group-pve9')] * 3
    assert writes_to(pve8, 'it-group-pve8') == [('groups', 'it-group-pve8')] * 3
    for cluster in (pve9, pve8):
        assert writes_to(cluster, 'it-group-{0}-x'.format(cluster.version[0])) == []
        assert cluster.pve.ha_groups == {} and cluster.pve.ha_rules == {} and cluster.pve.ha_resources == {}


def test_rule_create_modify_delete_and_refused_on_pve8(lab_fn, tmp_path):
    hosts = {}
    for name, cluster in zip(('pve9', 'pve8'), both(lab_fn)):
        vms, _cts = guests(cluster)
        hosts[name] = (cluster, {'sids': ['vm:{0}'.format(v) for v in vms[2:5]], 'rule_name': 'it-rule-' + name,
                                 'lp': lp_tokens(cluster, ['pve_ha_rule', 'pve_ha_resource'], vms[2:5])})
    run = run_playbook(target('pve_ha_rule'), lab_fn, diff=True, extra_args=inventory(tmp_path, hosts), env=FAST)
    assert run.ok, run.explain()
    pve9, pve8 = hosts['pve9'][0], hosts['pve8'][0]
    # Create, modify, delete of the node-affinity rule; the refused calls wrote nothing.
    assert writes_to(pve9, 'it-rule-pve9') == [('rules', 'it-rule-pve9')] * 3
    assert writes_to(pve9, 'it-rule-pve9-x') == []
    assert pve8.pve.ha_writes == []
    assert pve9.pve.ha_rules == {} and pve9.pve.ha_resources == {}


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_five_forks_writing_at_once_lose_no_update(lab_fn, tmp_path, index):
    cluster = both(lab_fn)[index]
    vms, _cts = guests(cluster)
    hosts = dict(('writer{0}'.format(i), (cluster, {'index': i, 'sid': 'vm:{0}'.format(vms[i]),
                                                    'group_name': 'it-fork-{0}'.format(i)}))
                 for i in range(1, 6))
    run = run_playbook(target('pve_ha_forks'), lab_fn, env=FAST,
                       extra_args=inventory(tmp_path, hosts, group='ha_writers', forks=5))
    assert run.ok, run.explain()
    pve = cluster.pve
    nodes = cluster.nodes
    assert sorted(pve.ha_resources) == sorted('vm:{0}'.format(vms[i]) for i in range(1, 6))
    for i in range(1, 6):
        sid = 'vm:{0}'.format(vms[i])
        resource = pve.ha_resources[sid]
        assert (resource['state'], resource['comment']) == ('stopped', 'writer {0}'.format(i))
        assert int(resource['max_restart']) == int(resource['max_relocate']) == i + 1
        if index == 1:
            group = pve.ha_groups['it-fork-{0}'.format(i)]
            assert resource['group'] == 'it-fork-{0}'.format(i)
            assert int(group['restricted']) == 1
        else:
            group = pve.ha_rules['ha-group-it-fork-{0}'.format(i)]
            assert group['resources'] == [sid] and int(group['strict']) == 1
            group = dict(group, nodes=','.join('{0}:{1}'.format(n, p) for n, p in group['nodes'].items()))
        assert group['comment'] == 'group of writer {0}'.format(i)
        assert group['nodes'] == '{0}:{1}'.format(nodes[i % 3], i)
    assert len(pve.ha_groups if index == 1 else pve.ha_rules) == 5
    # How many updates met a stale digest (and were read, compared and sent again) depends on timing: shown, not
    # asserted.
    print('updates refused for a stale digest, then retried:', pve.ha_digest_refusals)


def exported_ha(cluster):
    """What pve_export's engine exports of the cluster's HA."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import Exporter

    client = ProxmoxClient(ConnectionSettings(cluster.host, port=cluster.port, token_id=cluster.token_id,
                                              token_secret=cluster.token_secret, ca_path=cluster.ca_path))
    return Exporter(client).ha()


@pytest.mark.lab(clusters=1, nodes=3, guests=4)
def test_upgraded_pve9_uses_groups_until_the_crm_migrates_them(lab_fn):
    cluster = lab_fn.clusters[0]
    assert cluster.version.startswith('9.')
    pve = cluster.pve
    vms, _cts = guests(cluster)
    member, other = 'vm:{0}'.format(vms[0]), 'vm:{0}'.format(vms[1])
    n1, n2 = cluster.nodes[:2]
    pve.ha_seed_upgraded({'legacy': {'nodes': '{0}:2,{1}'.format(n1, n2), 'restricted': 1, 'nofailback': 1}},
                         {member: 'legacy'})
    pve.ha_resources[other] = {'type': 'vm', 'state': 'stopped'}
    pve._ha_sync_guests()  # pylint: disable=protected-access
    # A node in maintenance holds the migration back: the first run sees groups.
    pve.ha_lrm_mode[cluster.nodes[2]] = 'maintenance'
    assert [pve.ha_crm_round() for _round in range(3)] == [False] * 3
    extra = {'pve': pve_vars(cluster), 'member': member, 'other': other}
    run = run_playbook(target('pve_ha_upgraded'), lab_fn, diff=True, env=FAST, extra_vars=dict(extra, phase='groups'))
    assert run.ok, run.explain()
    assert pve.ha_rules == {} and pve.ha_groups['legacy']['comment'] == 'kept from PVE 8'
    assert pve.ha_resources[other]['group'] == 'legacy'
    # pve_export reads the same state: the group and the resources' group, not the rules PVE shows for them.
    exported = exported_ha(cluster)
    assert [g['name'] for g in exported['pve_ha_group']] == ['legacy'] and exported['pve_ha_rule'] == []
    assert sorted(r.get('group') for r in exported['pve_ha_resource']) == ['legacy', 'legacy']
    # Out of maintenance: the CRM's next try migrates the group, its resources and its comment into a rule.
    pve.ha_lrm_mode[cluster.nodes[2]] = 'active'
    assert [pve.ha_crm_round() for _round in range(6)][-1] is True
    assert pve.ha_rules['ha-group-legacy']['resources'] == sorted([member, other])
    assert pve.ha_resources[other] == {'type': 'vm', 'state': 'stopped', 'failback': 0}
    run = run_playbook(target('pve_ha_upgraded'), lab_fn, diff=True, env=FAST, extra_vars=dict(extra, phase='rules'))
    assert run.ok, run.explain()
    assert pve.ha_rules['it-apart']['resources'] == sorted([member, other])
    assert pve.ha_groups == {}
    exported = exported_ha(cluster)
    assert exported['pve_ha_group'] == []
    assert sorted(r['name'] for r in exported['pve_ha_rule']) == ['ha-group-legacy', 'it-apart']
