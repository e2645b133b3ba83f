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


def upgraded(cluster):
    """A PVE 9 cluster upgraded from PVE 8: groups.cfg still has two groups, two resources name the first."""
    pve = cluster.pve
    vms = sorted(vm.vmid for vm in pve.vms)[:3]
    n1, n2 = cluster.nodes[:2]
    pve.ha_seed_upgraded(
        {'pinned': {'nodes': '{0}:2,{1}'.format(n1, n2), 'restricted': 1, 'nofailback': 1},
         'unused': {'nodes': n2, 'comment': 'no resource'}},
        {'vm:{0}'.format(vms[0]): 'pinned', 'vm:{0}'.format(vms[1]): 'pinned'})
    return ['vm:{0}'.format(v) for v in vms]


def crm_rounds(pve, count):
    return [pve.ha_crm_round() for _round in range(count)]


def test_pve9_upgraded_keeps_groups_until_the_crm_migrates_them(lab_fn, api):
    cluster = lab_fn.clusters[0]
    assert cluster.version.startswith('9.')
    ha = api(cluster).cluster.ha
    sids = upgraded(cluster)
    n1, n2 = cluster.nodes[:2]
    # Not migrated: the groups API works, resources keep and take `group`.
    assert sorted(g['group'] for g in ha.groups.get()) == ['pinned', 'unused']
    ha.groups.post(group='more', nodes=n1)
    ha.resources.post(sid=sids[2], group='more')
    assert ha.resources(sids[0]).get()['group'] == 'pinned'
    # Rules show the groups' rules, made in memory; creating or updating a rule is refused.
    rules = dict((r['rule'], r) for r in ha.rules.get())
    assert sorted(rules) == ['ha-group-more', 'ha-group-pinned']
    assert rules['ha-group-pinned']['resources'] == ','.join(sorted(sids[:2]))
    assert rules['ha-group-pinned']['nodes'] == '{0}:2,{1}'.format(n1, n2)
    assert rules['ha-group-pinned']['comment'] == "Generated from HA group 'pinned'."
    assert ha.rules('ha-group-more').get()['type'] == 'node-affinity'
    assert cluster.pve.ha_rules == {}
    err = fails(ha.rules.post, rule='r1', type='node-affinity', resources=sids[0], nodes=n1)
    assert 'cannot create ha rule: ha groups have not been migrated yet' in err.content
    err = fails(ha.rules('ha-group-pinned').put, type='node-affinity', comment='x')
    assert 'cannot update ha rule: ha groups have not been migrated yet' in err.content
    assert cluster.pve.ha_rules == {}


@pytest.mark.parametrize('blocker', ['offline', 'maintenance'])
def test_pve9_group_migration_waits_for_every_node_and_lrm(lab_fn, blocker):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    upgraded(cluster)
    node = cluster.nodes[1]
    if blocker == 'offline':
        pve.set_node_offline(node)
        reason = "abort ha groups migration: node '{0}' is not online".format(node)
    else:
        pve.ha_lrm_mode[node] = 'maintenance'
        reason = "abort ha groups migration: lrm '{0}' is not in mode 'active'".format(node)
    assert crm_rounds(pve, 12) == [False] * 12
    assert pve.ha_rules == {} and sorted(pve.ha_groups) == ['pinned', 'unused']
    assert all(conf.get('group') == 'pinned' for conf in pve.ha_resources.values())
    # Tried on the third round, then every sixth.
    assert [m for _l, m in pve.ha_crm_log if m.startswith('abort')] == [reason] * 2
    if blocker == 'offline':
        pve.set_node_offline(node, offline=False)
    else:
        pve.ha_lrm_mode[node] = 'active'
    # Rounds 3 and 9 tried; the next try (round 15) migrates.
    assert crm_rounds(pve, 3) == [False, False, True]
    assert ('notice', 'ha groups migration successful') in pve.ha_crm_log


def test_pve9_group_migration_writes_rules_and_drops_group(lab_fn, api):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    sids = upgraded(cluster)
    n1, n2 = cluster.nodes[:2]
    # An idle LRM (no active service on its node) does not hold the migration back.
    assert crm_rounds(pve, 3) == [False, False, True]
    assert pve.ha_groups == {}
    rule = pve.ha_rules['ha-group-pinned']
    assert rule['type'] == 'node-affinity' and rule['resources'] == sorted(sids[:2])
    assert rule['nodes'] == {n1: 2, n2: None} and rule['strict'] == 1
    assert rule['comment'] == "Generated from HA group 'pinned'."
    # A group that no resource names is dropped with groups.cfg, without a rule.
    assert list(pve.ha_rules) == ['ha-group-pinned']
    for sid in sids[:2]:
        # nofailback became the resource's failback 0; the group is gone from the resource.
        assert pve.ha_resources[sid] == {'type': 'vm', 'failback': 0}
    ha = api(cluster).cluster.ha
    assert 'ha groups have been migrated to rules' in fails(ha.groups.get).content
    ha.rules('ha-group-pinned').put(type='node-affinity', comment='now a rule')
    assert pve.ha_rules['ha-group-pinned']['comment'] == 'now a rule'
    # Migrated: the CRM does nothing more.
    assert crm_rounds(pve, 7) == [False] * 7


def test_pve9_failback_stays_when_the_group_fails_back(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    sid = 'vm:{0}'.format(vm_of(cluster))
    pve.ha_seed_upgraded({'back': {'nodes': cluster.nodes[0], 'comment': 'mine'}}, {sid: 'back'})
    assert crm_rounds(pve, 3)[-1] is True
    assert pve.ha_resources[sid] == {'type': 'vm'}
    assert pve.ha_rules['ha-group-back']['comment'] == 'mine' and 'strict' not in pve.ha_rules['ha-group-back']
