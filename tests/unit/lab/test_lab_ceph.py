# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ceph: init, mon/mgr/mds, flags, pools with status and usage, OSDs in/out and up/down, the disk list."""

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=1, nodes=3, guests=0)


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


def test_before_init_nothing_works(lab_fn, api):
    client = api(lab_fn.clusters[0])
    node = lab_fn.clusters[0].nodes[0]
    error = fails(client.nodes(node).ceph.pool.get)
    assert error.status_code == 500 and 'pveceph configuration not initialized' in error.content
    error = fails(client.cluster.ceph.status.get)
    assert 'pveceph configuration not initialized' in error.content


def test_init_mons_mgrs_mds_flags(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    n1, n2 = cluster.nodes[0], cluster.nodes[1]
    ceph = client.nodes(n1).ceph
    assert ceph.init.post(network='10.10.10.0/24', size=2, min_size=1) is None
    # No monitor yet: no RADOS connection.
    assert 'rados_connect failed' in fails(ceph.pool.get).content
    ceph.mon(n1).post()
    # The first monitor brings a manager with it.
    assert [m['name'] for m in ceph.mgr.get()] == [n1]
    mons = ceph.mon.get()
    assert mons[0]['name'] == n1 and mons[0]['quorum'] == 1 and mons[0]['addr'].startswith('10.10.10.11')
    assert "monitor '{0}' already exists".format(n1) in fails(ceph.mon(n1).post, **{'mon-address': '10.10.10.99'}).content
    assert "can't remove last monitor" in fails(ceph.mon(n1).delete).content
    client.nodes(n2).ceph.mon(n2).post()
    client.nodes(n2).ceph.mgr(n2).post()
    client.nodes(n2).ceph.mds(n2).post()
    assert 'already referenced in ceph config' in fails(client.nodes(n2).ceph.mds(n2).post).content
    assert [m['state'] for m in ceph.mgr.get()] == ['active', 'standby']
    values = ceph.cfg.value.get(**{'config-keys': 'global:public_network;global:osd_pool_default_size'})
    assert values == {'global': {'public_network': '10.10.10.0/24', 'osd_pool_default_size': '2'}}
    # A second init keeps size but takes the networks.
    ceph.init.post(network='10.20.0.0/16', size=3, **{'cluster-network': '10.30.0.0/16'})
    values = ceph.cfg.value.get(**{'config-keys': 'global:public_network;global:cluster_network;'
                                   'global:osd_pool_default_size'})
    assert values['global'] == {'public_network': '10.20.0.0/16', 'cluster_network': '10.30.0.0/16',
                                'osd_pool_default_size': '2'}
    # Flags: a task for many, a plain call for one; the status reports them.
    client.cluster.ceph.flags.put(noout=1, noscrub=1)
    flags = dict((f['name'], f['value']) for f in client.cluster.ceph.flags.get())
    assert flags['noout'] == 1 and flags['noscrub'] == 1 and flags['pause'] == 0
    client.cluster.ceph.flags('noscrub').put(value=0)
    status = client.cluster.ceph.status.get()
    assert status['health']['checks']['OSDMAP_FLAGS']['summary']['message'] == 'noout flag(s) set'
    assert status['quorum_names'] == sorted([n1, n2])


def _ready(lab_fn, api, osds=True):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    node = cluster.nodes[0]
    client.nodes(node).ceph.init.post(network='10.10.10.0/24')
    client.nodes(node).ceph.mon(node).post()
    if osds:
        # OSD create and destroy are the root@pam login's alone (see test_lab_ceph_privileges.py).
        root = api(cluster, auth='ticket')
        for name in cluster.nodes:
            root.nodes(name).ceph.osd.post(dev='/dev/sdb')
    return cluster, client, node


def test_pools(lab_fn, api):
    cluster, client, node = _ready(lab_fn, api)
    pools = client.nodes(node).ceph.pool
    pools.post(name='vm-pool', add_storages=1, pg_num=32, application='rbd')
    listed = pools.get()
    assert listed[0]['pool_name'] == 'vm-pool' and listed[0]['size'] == 3 and listed[0]['pg_num'] == 32
    assert listed[0]['pg_autoscale_mode'] == 'warn' and listed[0]['application_metadata'] == {'rbd': {}}
    assert client.storage('vm-pool').get()['pool'] == 'vm-pool'
    pools('vm-pool').put(size=2, min_size=1, target_size='100G')
    status = pools('vm-pool').status.get(verbose=1)
    assert status['size'] == 2 and status['min_size'] == 1 and status['target_size'] == 100 * 1024 ** 3
    # Ceph refuses min_size above size: the task fails with PVE's words.
    upid = pools('vm-pool').put(min_size=3)
    task = client.nodes(node).tasks(upid).status.get()
    assert task['exitstatus'] == 'Could not set: min_size'
    assert [r['name'] for r in client.nodes(node).ceph.rules.get()] == ['replicated_rule']
    upid = pools('vm-pool').put(crush_rule='fast-only')
    assert client.nodes(node).tasks(upid).status.get()['exitstatus'] == 'Could not set: crush_rule'
    # Ceph does not switch a pool's application without --yes-i-really-mean-it.
    upid = pools('vm-pool').put(application='cephfs')
    task = client.nodes(node).tasks(upid).status.get()
    assert task['exitstatus'] == 'Could not set: application'
    log = [line['t'] for line in client.nodes(node).tasks(upid).log.get()]
    assert any('already has an enabled application' in line for line in log)
    cluster.pve.ceph_pool_usage('vm-pool', 1024 ** 3)
    assert pools.get()[0]['bytes_used'] == 1024 ** 3
    # A storage that still holds disks keeps its pool unless forced.
    cluster.pve.storages['vm-pool']['volumes']['vm-100-disk-0'] = {'content': 'images', 'size': 1, 'vmid': 100}
    upid = pools('vm-pool').delete(remove_storages=1)
    task = client.nodes(node).tasks(upid).status.get()
    assert task['exitstatus'] == "ceph pool 'vm-pool' still in use by storage 'vm-pool'"
    pools('vm-pool').delete(remove_storages=1, force=1)
    assert pools.get() == [] and 'vm-pool' not in cluster.pve.storages


def test_osds(lab_fn, api):
    cluster, client, node = _ready(lab_fn, api, osds=False)
    ceph = client.nodes(node).ceph
    root = api(cluster, auth='ticket')
    root_ceph = root.nodes(node).ceph
    disks = dict((d['devpath'], d) for d in client.nodes(node).disks.list.get())
    assert disks['/dev/sda']['used'] == 'LVM' and 'used' not in disks['/dev/sdb']
    assert "device '/dev/sda' is already in use" in fails(root_ceph.osd.post, dev='/dev/sda').content
    assert "unable to get device info for '/dev/sdz'" in fails(root_ceph.osd.post, dev='/dev/sdz').content
    root_ceph.osd.post(dev='/dev/sdb', **{'crush-device-class': 'fast', 'db_dev': '/dev/nvme0n1'})
    disks = dict((d['devpath'], d) for d in client.nodes(node).disks.list.get())
    assert disks['/dev/sdb']['osdid'] == 0 and disks['/dev/sdb']['used'] == 'LVM'
    host = ceph.osd.get()['root']['children'][0]['children'][0]
    osd = host['children'][0]
    assert host['name'] == node and osd['name'] == 'osd.0' and osd['status'] == 'up' and osd['in'] == 1
    assert osd['device_class'] == 'fast' and osd['dbdev'] == '/dev/nvme0n1'
    assert fails(root_ceph.osd(0).delete).content.startswith('osd is in use (in == 1)')
    ceph.osd(0).out.post()
    assert fails(root_ceph.osd(0).delete).content.startswith('osd is still running (up == 1)')
    ceph.stop.post(service='osd.0')
    osd = ceph.osd.get()['root']['children'][0]['children'][0]['children'][0]
    assert osd['status'] == 'down' and osd['in'] == 0
    assert client.cluster.ceph.status.get()['health']['checks']['OSD_DOWN']['summary']['count'] == 1
    other = cluster.nodes[1]
    assert 'does not belong to node' in fails(root.nodes(other).ceph.osd(0).delete).content
    ceph.osd(0).scrub.post(deep=1)
    assert cluster.pve.cephx['scrubs'] == [(0, True)]
    root_ceph.osd(0).delete(cleanup=1)
    disks = dict((d['devpath'], d) for d in client.nodes(node).disks.list.get())
    assert 'used' not in disks['/dev/sdb'] and disks['/dev/sdb']['osdid'] == -1
    assert "no such OSD '0'" in fails(ceph.osd(0).__getattr__('in').post).content


def test_pool_size_resets_min_size(lab_fn, api):
    cluster, client, node = _ready(lab_fn, api)
    pools = client.nodes(node).ceph.pool
    pools.post(name='resets', pg_num=32, size=4, min_size=3)
    assert pools('resets').status.get()['min_size'] == 3
    # A size change alone: Ceph sets min_size to osd_pool_default_min_size (2, from PVE's init) capped at size.
    pools('resets').put(size=5)
    assert (pools('resets').status.get()['size'], pools('resets').status.get()['min_size']) == (5, 2)
    pools('resets').put(size=1)
    assert pools('resets').status.get()['min_size'] == 1
    pools('resets').put(size=3, min_size=3)
    assert pools('resets').status.get()['min_size'] == 3
    # set_pool applies size first and skips a min_size equal to the one it read before: the reset stays.
    upid = pools('resets').put(size=4, min_size=3)
    assert pools('resets').status.get()['min_size'] == 2
    log = [line['t'] for line in client.nodes(node).tasks(upid).log.get()]
    assert "skipping 'min_size', did not change" in log
    # Sent again on its own, it applies.
    pools('resets').put(min_size=3)
    assert pools('resets').status.get()['min_size'] == 3


def test_pool_size_reset_follows_the_configured_default(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    node = cluster.nodes[0]
    client.nodes(node).ceph.init.post(network='10.10.10.0/24', min_size=1)
    client.nodes(node).ceph.mon(node).post()
    pools = client.nodes(node).ceph.pool
    pools.post(name='conf', pg_num=32, min_size=1)
    pools('conf').put(size=4)
    assert pools('conf').status.get()['min_size'] == 1
