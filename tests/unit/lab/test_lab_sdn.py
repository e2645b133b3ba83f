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
