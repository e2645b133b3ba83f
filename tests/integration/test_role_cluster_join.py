# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/cluster_join.yml (the cluster_join role) against standalone PVE 8 lab nodes, as is: settings refused
before any write, then a cluster of two nodes with an HA group (a real group on PVE 8), run twice."""

import os

import pytest

from tests.lab.areas.cluster_join import start_standalone_nodes, stop_standalone_nodes
from tests.lab.estate import REPO_ROOT
from tests.lab.pytest_plugin import run_playbook

PLAYBOOK = os.path.join(REPO_ROOT, 'playbooks', 'cluster_join.yml')


@pytest.fixture
def nodes(lab_fn):
    started = start_standalone_nodes(lab_fn, 2, version='8.4.14')
    started[0].pve.add_vm(100, 'ha-01', node=started[0].name, status='stopped',
                          config={'name': 'ha-01', 'memory': '1024', 'cores': 1, 'ostype': 'l26'})
    try:
        yield started
    finally:
        stop_standalone_nodes(lab_fn, started)


@pytest.mark.lab(clusters=1, nodes=1, guests=0, pbs=False)
def test_cluster_join_playbook(lab_fn, nodes):
    a, b = nodes
    lab = {'lab_standalone': [a.vars, b.vars]}
    ha = {'cluster_join_name': 'pb8', 'cluster_join_ha_resources': [{'sid': 'vm:100', 'state': 'stopped'}],
          'cluster_join_ha_groups': [{'name': 'prefer-a', 'nodes': [a.name + ':2', b.name + ':1'], 'resources': ['vm:100']}]}

    # Refused before any write: a Ceph without network, a node the cluster does not have.
    no_network = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(lab, cluster_join_name='pb8',
                                                                cluster_join_ceph={'monitors': [a.name]}))
    assert not no_network.ok
    assert 'cluster_join_ceph needs network' in no_network.result(
        'proxfleet.proxmox.cluster_join : Check the settings before anything changes')['msg']
    bad = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(lab, cluster_join_name='pb8',
                                                         cluster_join_ceph={'network': '10.0.0.0/24', 'monitors': ['nope']}))
    assert not bad.ok
    msg = bad.result('proxfleet.proxmox.cluster_join : Check the settings before anything changes')['msg']
    assert 'cluster_join_ceph names node nope, which is not in cluster_join_nodes' in msg
    assert a.pve.tasklog == [] and b.pve.tasklog == []
    for node in nodes:
        assert node.password not in no_network.stdout + bad.stdout

    # Check mode on the fresh nodes: the create, the join and the HA group are reported, nothing is written.
    checked = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(lab, **ha), check=True)
    assert checked.ok, checked.explain()
    changed = [t['task'] for t in checked.changed]
    for task in ('Create the cluster on the first node', 'Report the joins a check run cannot check before the cluster exists',
                 'Report the Ceph and HA settings a check run cannot check before the cluster exists'):
        assert 'proxfleet.proxmox.cluster_join : ' + task in changed, checked.explain()
    assert a.pve.tasklog == [] and b.pve.tasklog == [] and a.pve.cluster_name != 'pb8'

    first = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(lab, **ha))
    assert first.ok, first.explain()
    # One create on a, one join of b (the cluster's task list is shared once b has joined).
    assert sorted(t['type'] for t in a.pve.tasklog) == ['clustercreate', 'clusterjoin']
    assert [t['type'] for t in b.pve.tasklog] == ['clusterjoin']
    assert a.pve.cluster_name == 'pb8' and sorted(a.pve.nodes) == sorted([a.name, b.name])
    group = first.result('proxfleet.proxmox.cluster_join : Ensure the HA groups (node-affinity rules on Proxmox VE 9)')
    assert group['changed'] and group['results'][0]['managed_as'] == 'group'
    assert group['results'][0]['group']['resources'] == 'vm:100'
    # The root passwords never show.
    for node in nodes:
        assert node.password not in first.stdout and node.password not in first.stderr

    again = run_playbook(PLAYBOOK, lab_fn, extra_vars=dict(lab, **ha))
    assert again.ok, again.explain()
    assert not [t['task'] for t in again.changed if t['action'] != 'ansible.builtin.set_fact']
    assert sorted(t['type'] for t in a.pve.tasklog) == ['clustercreate', 'clusterjoin']
