# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/cluster/ha: groups (PVE 8), rules (PVE 9), resources with digests, status, and PVE's errors.

Each test has a fresh estate of two clusters: lab1 runs PVE 9, lab2 PVE 8.
"""

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=2, nodes=2, guests=8)


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


def vm_of(cluster):
    return min(vm.vmid for vm in cluster.pve.vms)


def test_pve8_groups_and_resources_with_digest(lab_fn, api):
    cluster = lab_fn.clusters[1]
    assert cluster.version.startswith('8.')
    ha = api(cluster).cluster.ha
    n1, n2 = cluster.nodes[:2]
    ha.groups.post(group='prefer1', nodes='{0}:2,{1}'.format(n1, n2), restricted=1, comment='first')
    group = ha.groups('prefer1').get()
    assert group['nodes'] == '{0}:2,{1}'.format(n1, n2) and group['restricted'] == 1 and group['type'] == 'group'
    assert len(group['digest']) == 40
    err = fails(ha.groups.post, group='prefer1', nodes=n1)
    assert err.status_code == 500 and "create ha group failed: error during cfs-locked 'domain-ha' operation: " \
        "ha group ID 'prefer1' already defined" in err.content
    vmid = vm_of(cluster)
    ha.resources.post(sid='vm:{0}'.format(vmid), group='prefer1', max_restart=2)
    res = ha.resources('vm:{0}'.format(vmid)).get()
    assert res['group'] == 'prefer1' and res['max_restart'] == 2 and res['type'] == 'vm'
    assert cluster.pve.vm(vmid).ha_state == 'started'
    # The HA stack starts a started resource's guest.
    assert cluster.pve.vm(vmid).status == 'running'
    hastate = [r for r in api(cluster).cluster.resources.get(type='vm') if r['vmid'] == vmid][0]['hastate']
    assert hastate == 'started'
    # A stale digest is refused under the lock, as PVE's assert_if_modified does.
    ha.resources('vm:{0}'.format(vmid)).put(state='stopped', digest=res['digest'])
    err = fails(ha.resources('vm:{0}'.format(vmid)).put, comment='x', digest=res['digest'])
    assert 'detected modified configuration - file changed by other user? Try again.' in err.content
    assert cluster.pve.vm(vmid).ha_state == 'stopped'
    # Starting an HA-managed VM asks the HA stack: the resource's requested state becomes started.
    node = api(cluster).nodes(cluster.pve.vm(vmid).node)
    node.qemu(vmid).status.start.post()
    assert ha.resources('vm:{0}'.format(vmid)).get()['state'] == 'started'
    node.qemu(vmid).status.stop.post()
    assert ha.resources('vm:{0}'.format(vmid)).get()['state'] == 'stopped'
    err = fails(ha.groups('prefer1').delete)
    assert "ha group is used by service 'vm:{0}'".format(vmid) in err.content
    err = fails(ha.resources.post, sid='vm:100', failback=0)
    assert err.status_code == 400 and 'failback' in err.errors
    # PVE 8 has no rules API.
    err = fails(ha.rules.get)
    assert err.status_code == 501
    ha.resources('vm:{0}'.format(vmid)).delete()
    assert cluster.pve.vm(vmid).ha_state is None
    ha.groups('prefer1').delete()
    assert ha.groups.get() == []


def test_pve9_groups_are_migrated_and_rules_need_resources(lab_fn, api, raw):
    cluster = lab_fn.clusters[0]
    ha = api(cluster).cluster.ha
    for call in (ha.groups.get, ha('groups')('g1').get):
        assert 'ha groups have been migrated to rules' in fails(call).content
    assert 'cannot create group: ha groups have been migrated to rules' in fails(
        ha.groups.post, group='g1', nodes=cluster.nodes[0]).content
    vmid = vm_of(cluster)
    sid = 'vm:{0}'.format(vmid)
    err = fails(ha.resources.post, sid=sid, group='g1')
    assert "invalid parameter 'group': ha groups have been migrated to rules" in err.content
    err = fails(ha.rules.post, rule='r1', type='node-affinity', resources=sid, nodes=cluster.nodes[0])
    assert 'cannot use unmanaged resource(s) {0}.'.format(sid) in err.content
    ha.resources.post(sid=sid, state='started', failback=0)
    err = fails(ha.rules.post, rule='r1', type='node-affinity', resources=sid, nodes='nosuchnode')
    assert 'cannot use non-existant node(s) nosuchnode.' in err.content
    ha.rules.post(rule='r1', type='node-affinity', resources=sid, nodes=cluster.nodes[0] + ':3', strict=1)
    rule = ha.rules('r1').get()
    assert rule['nodes'] == cluster.nodes[0] + ':3' and rule['strict'] == 1 and rule['affinity'] == 'positive'
    assert rule['order'] == 1 and len(rule['digest']) == 40
    # One resource, one node-affinity rule.
    status, body = raw(cluster, 'POST', '/cluster/ha/rules', rule='r2', type='node-affinity', resources=sid,
                       nodes=cluster.nodes[1])
    assert status == 500 and body['message'] == (
        "create ha rule failed: 400 Rule 'r2' is invalid.\n"
        "resources: resource '{0}' is already used in another node affinity rule\n".format(sid))
    err = fails(ha.rules('r1').put, comment='pinned')
    assert err.status_code == 400 and 'type' in err.errors
    ha.rules('r1').put(type='node-affinity', comment='pinned', digest=rule['digest'])
    err = fails(ha.rules('r1').put, type='node-affinity', comment='again', digest=rule['digest'])
    assert 'detected modified configuration' in err.content
    assert [r['rule'] for r in ha.rules.get(resource=sid)] == ['r1']
    status = ha.status.current.get()
    assert [s['sid'] for s in status if s['type'] == 'service'] == [sid]
    assert sid in ha.status.manager_status.get()['manager_status']['service_status']
    status, body = raw(cluster, 'POST', '/cluster/ha/rules', rule='alone', type='resource-affinity', resources=sid,
                       affinity='negative')
    assert status == 500 and 'resources: rule is ineffective as there are less than two resources' in body['message']
    # An ignored resource is not HA managed: no hastate, not in the manager's services.
    ha.resources(sid).put(state='ignored')
    assert cluster.pve.vm(vmid).ha_state is None
    assert sid not in ha.status.manager_status.get()['manager_status']['service_status']
    # Deleting the resource purges it from its rules, and a rule left without resources goes.
    ha.resources(sid).delete()
    assert ha.rules.get() == []


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_ha_migrate_moves_a_managed_guest(lab_fn, api, index):
    cluster = lab_fn.clusters[index]
    ha = api(cluster).cluster.ha
    vm = cluster.pve.vm(vm_of(cluster))
    sid = 'vm:{0}'.format(vm.vmid)
    target = [n for n in cluster.nodes if n != vm.node][0]
    err = fails(ha.resources(sid).migrate.post, node=target)
    assert err.status_code == 500 and "resource '{0}' is not HA managed".format(sid) in err.content
    ha.resources.post(sid=sid)
    answer = ha.resources(sid).migrate.post(node=target)
    assert vm.node == target
    if index == 0:
        assert answer['sid'] == sid and answer['requested-node'] == target
    else:
        assert answer is None
    err = fails(ha.resources(sid).migrate.post, node='nosuchnode')
    assert err.status_code == 400
