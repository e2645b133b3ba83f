# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/cluster/sdn: zones, vnets, subnets, pending versus running, apply, and PVE 9's lock and rollback.

One estate of two single-node clusters for the module (PVE 9 and PVE 8); each test uses its own names.
"""

import uuid

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=2, nodes=1, guests=0, versions=['9.0.10', '8.4.14'])


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


def text(error):
    """The whole message of an API error (proxmoxer's str() keeps only its first line)."""
    return '{0} {1} {2}'.format(error, error.content, error.errors)


def name(prefix):
    return prefix + uuid.uuid4().hex[:5]


@pytest.fixture
def pve9(lab_fn, api):
    return lab_fn.clusters[0], api(lab_fn.clusters[0])


@pytest.fixture
def pve8(lab_fn, api):
    return lab_fn.clusters[1], api(lab_fn.clusters[1])


def test_zone_pending_until_applied_then_running(pve9):
    cluster, api = pve9
    zone = name('z')
    api.cluster.sdn.zones.post(zone=zone, type='vlan', bridge='vmbr0', mtu=1500, nodes=cluster.nodes[0])
    pending = api.cluster.sdn.zones(zone).get(pending=1)
    assert pending['state'] == 'new' and pending['type'] == 'vlan'
    assert pending['pending'] == {'bridge': 'vmbr0', 'mtu': 1500, 'nodes': cluster.nodes[0]}
    assert 'digest' not in pending
    assert api.cluster.sdn.zones(zone).get()['bridge'] == 'vmbr0'
    assert zone not in [z['zone'] for z in api.cluster.sdn.zones.get(running=1)]
    upid = api.cluster.sdn.put()
    assert ':reloadnetworkall:' in upid
    status = api.nodes(cluster.nodes[0]).tasks(upid).status.get()
    assert status['exitstatus'] == 'OK'
    applied = api.cluster.sdn.zones(zone).get(pending=1)
    assert 'state' not in applied and 'pending' not in applied and applied['bridge'] == 'vmbr0'
    assert [z for z in api.cluster.sdn.zones.get(running=1) if z['zone'] == zone][0]['mtu'] == 1500
    # A change and a removed key show under pending, the running values at the top.
    api.cluster.sdn.zones(zone).put(mtu=9000, delete='nodes')
    changed = api.cluster.sdn.zones(zone).get(pending=1)
    assert changed['state'] == 'changed' and changed['mtu'] == 1500
    assert changed['pending'] == {'mtu': 9000, 'nodes': 'deleted'}
    api.cluster.sdn.zones(zone).delete()
    deleted = [z for z in api.cluster.sdn.zones.get(pending=1) if z['zone'] == zone][0]
    assert deleted['state'] == 'deleted' and deleted['pending'] == {}
    api.cluster.sdn.put()
    assert zone not in [z['zone'] for z in api.cluster.sdn.zones.get(pending=1)]


def test_zone_type_fields_and_references(pve9):
    cluster, api = pve9
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='simple', bridge='vmbr0')
    assert error.status_code == 500 and "unexpected property 'bridge'" in text(error)
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='vlan')
    assert "missing value for required option 'bridge'" in text(error)
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='evpn', controller='nope', **{'vrf-vxlan': 10})
    assert 'create sdn zone object failed: controller nope don\'t exist' in text(error)
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='vxlan')
    # The field errors follow on further lines of the message, which proxmoxer does not keep.
    assert 'create sdn zone object failed: 400 Parameter verification failed.' in text(error)
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='simple', dns='nodns')
    assert 'create sdn zone object failed: 400' in text(error)
    cluster.pve.add_sdn_controller('evpnctl', asn=65000, peers='10.0.0.1')
    zone = name('e')
    api.cluster.sdn.zones.post(zone=zone, type='evpn', controller='evpnctl', **{'vrf-vxlan': 4000})
    assert api.cluster.sdn.zones(zone).get()['mac'].startswith('BC:24:11:')
    error = fails(api.cluster.sdn.zones.post, zone=zone, type='simple')
    assert "sdn zone object ID '{0}' already defined".format(zone) in text(error)
    error = fails(api.cluster.sdn.zones(zone).put, bridge='vmbr0')
    assert "update sdn zone object failed: unexpected property 'bridge'" in text(error)
    error = fails(api.cluster.sdn.zones('nozone').get)
    assert error.status_code == 500 and "sdn zone 'nozone' does not exist" in text(error)


def test_vnets_and_subnets(pve9):
    cluster, api = pve9
    zone, vnet = name('z'), name('v')
    api.cluster.sdn.zones.post(zone=zone, type='vlan', bridge='vmbr0')
    error = fails(api.cluster.sdn.vnets.post, vnet=vnet, zone='nozone')
    assert "create sdn vnet object failed: unknown section type ''" in text(error)
    error = fails(api.cluster.sdn.vnets.post, vnet=vnet, zone=zone)
    assert 'create sdn vnet object failed: 400 Parameter verification failed.' in text(error)
    api.cluster.sdn.vnets.post(vnet=vnet, zone=zone, tag=100, alias='web tier')
    error = fails(api.cluster.sdn.vnets.post, vnet=name('v'), zone=zone, tag=100)
    assert cluster.pve.sdn['vnets'][vnet]['tag'] == 100 and 'create sdn vnet object failed' in text(error)
    subnets = api.cluster.sdn.vnets(vnet).subnets
    error = fails(subnets.post, subnet='10.1.0.0/24', type='subnet', gateway='10.2.0.1')
    assert 'create sdn subnet object failed: 400 Parameter verification failed.' in text(error)
    error = fails(subnets.post, subnet='10.1.0.0/33', type='subnet')
    assert error.status_code == 400 and 'valid CIDR' in text(error)
    subnets.post(subnet='10.1.0.0/24', type='subnet', gateway='10.1.0.1', snat=1,
                 **{'dhcp-range': ['start-address=10.1.0.100,end-address=10.1.0.200']})
    listed = subnets.get()
    assert len(listed) == 1 and listed[0]['subnet'] == '{0}-10.1.0.0-24'.format(zone)
    assert listed[0]['cidr'] == '10.1.0.0/24' and listed[0]['snat'] == 1
    assert listed[0]['dhcp-range'] == [{'start-address': '10.1.0.100', 'end-address': '10.1.0.200'}]
    pending = subnets.get(pending=1)[0]
    assert pending['state'] == 'new' and pending['pending']['gateway'] == '10.1.0.1'
    error = fails(api.cluster.sdn.vnets(vnet).delete)
    assert 'delete sdn vnet object failed: 400 Parameter verification failed.' in text(error)
    error = fails(api.cluster.sdn.zones(zone).delete)
    assert 'zone {0} is used by vnet {1}'.format(zone, vnet) in text(error)
    subnets('{0}-10.1.0.0-24'.format(zone)).put(delete='snat', vnet=vnet)
    assert 'snat' not in subnets('{0}-10.1.0.0-24'.format(zone)).get()
    subnets('{0}-10.1.0.0-24'.format(zone)).delete()
    api.cluster.sdn.vnets(vnet).delete()
    api.cluster.sdn.zones(zone).delete()


def test_lock_apply_and_rollback_on_pve9(pve9):
    cluster, api = pve9
    zone = name('z')
    api.cluster.sdn.put()
    token = api.cluster.sdn.lock.post()
    assert cluster.pve.sdn_lock == token
    # Without the token every write fails, as does a second lock.
    error = fails(api.cluster.sdn.zones.post, zone=zone, type='simple')
    assert 'create sdn zone object failed: invalid lock token provided!' in text(error)
    error = fails(api.cluster.sdn.lock.post)
    assert 'could not acquire lock for SDN config: invalid lock token provided!' in text(error)
    api.cluster.sdn.zones.post(zone=zone, type='simple', **{'lock-token': token})
    api.cluster.sdn.rollback.post(**{'lock-token': token})
    assert cluster.pve.sdn_lock is None and zone not in cluster.pve.sdn['zones']
    # Pending changes refuse the lock unless allowed.
    api.cluster.sdn.zones.post(zone=zone, type='simple')
    error = fails(api.cluster.sdn.lock.post)
    assert 'configuration has pending changes' in text(error)
    token = api.cluster.sdn.lock.post(**{'allow-pending': 1})
    api.cluster.sdn.put(**{'lock-token': token})
    assert cluster.pve.sdn_lock is None and zone in cluster.pve.sdn_running['zones']
    token = api.cluster.sdn.lock.post()
    api.cluster.sdn.put(**{'lock-token': token, 'release-lock': 0})
    assert cluster.pve.sdn_lock == token
    api.cluster.sdn.lock.delete(**{'lock-token': token})
    assert cluster.pve.sdn_lock is None
    api.cluster.sdn.lock.post()
    api.cluster.sdn.lock.delete(force=1)
    assert cluster.pve.sdn_lock is None


def test_pve8_has_no_lock(pve8):
    cluster, api = pve8
    error = fails(api.cluster.sdn.lock.post)
    assert error.status_code == 501 and "Method 'POST /api2/json/cluster/sdn/lock' not implemented" in text(error)
    error = fails(api.cluster.sdn.rollback.post)
    assert error.status_code == 501
    error = fails(api.cluster.sdn.zones.post, zone=name('z'), type='simple', **{'lock-token': 'x'})
    assert error.status_code == 400 and 'lock-token' in text(error)
    zone = name('z')
    api.cluster.sdn.zones.post(zone=zone, type='simple')
    assert api.cluster.sdn.zones(zone).get(pending=1)['state'] == 'new'
    api.cluster.sdn.put()
    assert 'state' not in api.cluster.sdn.zones(zone).get(pending=1)


def stopped(client, upid):
    """The task's status once it stopped (the lab may run tasks in scaled real time)."""
    node = upid.split(':')[1]
    while True:
        status = client.nodes(node).tasks(upid).status.get()
        if status['status'] == 'stopped':
            return status


@pytest.mark.lab(clusters=1, nodes=3, guests=0, versions=['9.0.10'])
def test_apply_reloads_each_node_and_only_logs_a_failed_one(lab_fn, api):
    """reloadnetworkall runs each node's reload in turn and only warns about a node that fails (the task ends OK);
    each node's /nodes/{node}/sdn/zones then says whether it runs the configuration."""
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    first, broken, away = sorted(cluster.pve.nodes)
    zone, vnet = name('z'), name('v')
    # Never applied: no status anywhere.
    assert client.nodes(first).sdn.zones.get() == []
    client.cluster.sdn.zones.post(zone=zone, type='simple')
    client.cluster.sdn.vnets.post(vnet=vnet, zone=zone)
    cluster.pve.fail_sdn_reload(broken, 'ifreload')
    cluster.pve.fail_sdn_reload(away, 'unreachable')
    upid = client.cluster.sdn.put()
    assert stopped(client, upid)['exitstatus'] == 'OK'
    log = [line['t'] for line in client.nodes(first).tasks(upid).log.get(limit=100)]
    assert log[0] == '{0}: reloading network config'.format(first)
    assert log[1:3] == ['{0}: reloading network config'.format(broken), "command 'ifreload -a' failed: exit code 1"]
    assert "command 'pvesh set /nodes/{0}/network --regenerate-frr 0' failed: exit code 255".format(away) in log
    assert log[-1] == 'TASK OK'
    reloads = dict((t['node'], t.get('exitstatus')) for t in cluster.pve.tasklog if t['type'] == 'srvreload')
    assert reloads == {first: 'OK', broken: "command 'ifreload -a' failed: exit code 1"}
    assert client.nodes(first).sdn.zones.get() == [{'zone': zone, 'status': 'available'}]
    assert client.nodes(broken).sdn.zones.get() == [{'zone': zone, 'status': 'error'}]
    assert client.nodes(broken).sdn.zones(zone).content.get() == [
        {'vnet': vnet, 'status': 'error', 'statusmsg': 'error {0}'.format(vnet)}]
    assert client.nodes(away).sdn.zones.get() == [{'zone': zone, 'status': 'pending'}]
    assert client.nodes(away).sdn.zones(zone).content.get() == [
        {'vnet': vnet, 'status': 'pending',
         'statusmsg': 'local sdn network configuration is not yet generated, please reload'}]
    # Healed, the next apply reaches every node; a zone limited to some nodes is listed only there.
    cluster.pve.fail_sdn_reload(broken, None)
    cluster.pve.fail_sdn_reload(away, None)
    only = name('z')
    client.cluster.sdn.zones.post(zone=only, type='simple', nodes=first)
    assert stopped(client, client.cluster.sdn.put())['exitstatus'] == 'OK'
    for node in (first, broken, away):
        listed = dict((z['zone'], z['status']) for z in client.nodes(node).sdn.zones.get())
        assert listed.get(zone) == 'available'
        assert (only in listed) == (node == first)


@pytest.mark.lab(clusters=1, nodes=2, guests=0, versions=['9.0.10'])
def test_a_lock_left_behind_is_released_only_with_force(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    client.cluster.sdn.lock.post()  # and the client that took it goes away
    error = fails(client.cluster.sdn.lock.delete)
    assert 'could not release lock: invalid lock token provided!' in text(error)
    error = fails(client.cluster.sdn.lock.delete, **{'lock-token': 'not-it'})
    assert 'could not release lock: invalid lock token provided!' in text(error)
    client.cluster.sdn.lock.delete(force=1)
    assert cluster.pve.sdn_lock is None
