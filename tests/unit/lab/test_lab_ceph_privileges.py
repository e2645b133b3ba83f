# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ceph OSD create and destroy: the root@pam login's alone, as in pve-manager's PVE/API2/Ceph/OSD.pm (no
`permissions`, so RPCEnvironment::check_api2_permissions lets only `root@pam` through: no token, not even root's)."""

import pytest

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=0)

REFUSED = (403, 'Permission check failed (user != root@pam)')


def _ceph_with_mon(cluster, api):
    client = api(cluster)
    node = cluster.nodes[0]
    client.nodes(node).ceph.init.post(network='10.10.10.0/24')
    client.nodes(node).ceph.mon(node).post()
    return client, node


def test_tokens_are_refused_before_anything_else(lab_fn, api, raw):
    cluster = lab_fn.clusters[0]
    _client, node = _ceph_with_mon(cluster, api)
    osd = '/nodes/{0}/ceph/osd'.format(node)

    def refused(method, path, token=None, **params):
        status, body = raw(cluster, method, path, token=token, **params)
        return status, body.get('message', '').strip()

    # The lab's own token: root@pam!lab, without privilege separation (it holds every privilege of root).
    assert refused('POST', osd, dev='/dev/sdb') == REFUSED
    # The permission check comes before the parameters and the node, as on PVE.
    assert refused('POST', osd) == REFUSED
    assert refused('POST', '/nodes/no-such-node/ceph/osd', dev='/dev/sdb') == REFUSED
    assert refused('DELETE', osd + '/0') == REFUSED
    # A root token with privilege separation and Administrator on / is no root login either.
    secret = cluster.pve.add_token('root@pam', 'sep', privsep=1)
    cluster.pve.grant('root@pam!sep', '/', 'Sys.Modify', 'Sys.Audit', 'Datastore.Audit')
    assert refused('POST', osd, token=('root@pam!sep', secret), dev='/dev/sdb') == REFUSED
    # Nothing was made and the device is still free.
    assert cluster.pve.cephx['osds'] == {}
    assert 'used' not in [d for d in cluster.pve.ceph_disks(node) if d['devpath'] == '/dev/sdb'][0]


def test_other_users_are_refused_root_login_is_not(lab_fn, api):
    from proxmoxer.core import ResourceException
    cluster = lab_fn.clusters[0]
    client, node = _ceph_with_mon(cluster, api)
    cluster.pve.users['admin@pve'] = 'admin-secret'
    client.access.acl.put(path='/', roles='Administrator', users='admin@pve')
    admin = api(cluster, auth='ticket', user='admin@pve', password='admin-secret')
    # Administrator on / reads the OSD tree (Sys.Audit) but may not create an OSD.
    assert admin.nodes(node).ceph.osd.get()['root']
    with pytest.raises(ResourceException) as caught:
        admin.nodes(node).ceph.osd.post(dev='/dev/sdb')
    assert (caught.value.status_code, caught.value.content) == REFUSED
    # root@pam, logged in with its password, creates and destroys.
    root = api(cluster, auth='ticket')
    root.nodes(node).ceph.osd.post(dev='/dev/sdb')
    assert sorted(cluster.pve.cephx['osds']) == [0]
    # Out and stop are Sys.Modify: a token may do them.
    client.nodes(node).ceph.osd(0).out.post()
    client.nodes(node).ceph.stop.post(service='osd.0')
    with pytest.raises(ResourceException) as caught:
        client.nodes(node).ceph.osd(0).delete()
    assert (caught.value.status_code, caught.value.content) == REFUSED
    root.nodes(node).ceph.osd(0).delete(cleanup=1)
    assert cluster.pve.cephx['osds'] == {}


def test_pool_storages_need_datastore_allocate_on_storage(lab_fn, api, raw):
    """Pool.pm createpool with add_storages and destroypool with remove_storages check `Datastore.Allocate` on
    /storage (they write storage.cfg) besides the method's `Sys.Modify` on /."""
    cluster = lab_fn.clusters[0]
    _client, node = _ceph_with_mon(cluster, api)
    pools = '/nodes/{0}/ceph/pool'.format(node)
    secret = cluster.pve.add_token('root@pam', 'pools', privsep=1)
    token = ('root@pam!pools', secret)
    cluster.pve.grant('root@pam!pools', '/', 'Sys.Modify', 'Sys.Audit')

    def call(method, path, **params):
        status, body = raw(cluster, method, path, token=token, **params)
        return status, (body.get('message') or '').strip()

    refused = (403, 'Permission check failed (/storage, Datastore.Allocate)')
    assert call('POST', pools, name='lp-a', add_storages=1) == refused
    assert 'lp-a' not in cluster.pve.cephx['pools'] and 'lp-a' not in cluster.pve.storages
    # Without storages, Sys.Modify on / is all a pool needs.
    assert call('POST', pools, name='lp-b')[0] == 200
    assert 'lp-b' in cluster.pve.cephx['pools']
    cluster.pve.grant('root@pam!pools', '/storage', 'Datastore.Allocate')
    assert call('POST', pools, name='lp-a', add_storages=1)[0] == 200
    assert cluster.pve.storages['lp-a']['type'] == 'rbd'
    cluster.pve.acl['root@pam!pools'] = [e for e in cluster.pve.acl['root@pam!pools'] if e[0] != '/storage']
    assert call('DELETE', pools + '/lp-a', remove_storages=1) == refused
    assert 'lp-a' in cluster.pve.cephx['pools']
    assert call('DELETE', pools + '/lp-a')[0] == 200
    assert 'lp-a' not in cluster.pve.cephx['pools'] and 'lp-a' in cluster.pve.storages
