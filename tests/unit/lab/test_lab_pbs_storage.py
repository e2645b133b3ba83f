# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE storages of type pbs on the lab's PBS fake: activation, content, vzdump to it, restores from it."""

import re

import pytest
from proxmoxer.core import ResourceException

SMALL = dict(clusters=2, nodes=2, guests=8)


def guests_of(lab, cluster=0):
    pve = lab.clusters[cluster].pve
    return pve, dict((g.vmid, g) for g in list(pve.vms) + list(pve.cts))


def add_pbs_storage(client, lab, name='pbsstore', namespace=None, **extra):
    pbs = lab.pbs
    params = dict(storage=name, type='pbs', server=pbs.host, datastore='store1', username=pbs.token_id,
                  password=pbs.token_secret, fingerprint=pbs.fingerprint, content='backup')
    if namespace:
        params['namespace'] = namespace
    params.update(extra)
    client.storage.post(**params)


def run_task(client, node, upid):
    status = client.nodes(node).tasks(upid).status.get()
    assert status['status'] == 'stopped'
    return status


def log_of(client, node, upid):
    return [line['t'] for line in client.nodes(node).tasks(upid).log.get()]


@pytest.mark.lab(**SMALL)
def test_backup_to_pbs_and_restore_on_the_other_cluster(lab_fn, api):
    one, two = (api(c) for c in lab_fn.clusters)
    add_pbs_storage(one, lab_fn)
    add_pbs_storage(two, lab_fn)
    pve, guests = guests_of(lab_fn)
    vm = guests[100]
    upid = one.nodes(vm.node).vzdump.post(vmid=100, storage='pbsstore', **{'notes-template': '{{guestname}}'})
    assert run_task(one, vm.node, upid)['exitstatus'] == 'OK', log_of(one, vm.node, upid)
    # On the PBS: a vm/100 snapshot with the guest's config.
    snaps = lab_fn.pbs.pbs.datastores['store1'].select('', 0, 'vm', '100')
    assert len(snaps) == 1 and 'qemu-server.conf.blob' in snaps[0].files
    assert 'memory: ' in snaps[0].blobs['qemu-server.conf.blob']
    # In PVE: the storage's content, on either cluster.
    for client, node in ((one, vm.node), (two, lab_fn.clusters[1].nodes[0])):
        content = client.nodes(node).storage('pbsstore').content.get()
        assert len(content) == 1
        item = content[0]
        assert re.fullmatch(r'pbsstore:backup/vm/100/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', item['volid'])
        assert item['format'] == 'pbs-vm' and item['subtype'] == 'qemu' and item['vmid'] == 100
        assert item['content'] == 'backup' and item['size'] > 0 and item['notes'] == vm.name
    volid = item['volid']
    # Restore onto the second cluster, with a new vmid, new MACs, and start it.
    node2 = lab_fn.clusters[1].nodes[0]
    upid = two.nodes(node2).qemu.post(vmid=900, archive=volid, storage='local-lvm', unique=1, start=1)
    assert ':qmrestore:900:' in upid
    assert run_task(two, node2, upid)['exitstatus'] == 'OK', log_of(two, node2, upid)
    config = two.nodes(node2).qemu(900).config.get()
    assert config['name'] == vm.name and str(config['memory']) == str(vm.config['memory'])
    assert config['scsi0'].startswith('local-lvm:vm-900-disk-0,')
    assert config['net0'] != vm.config['net0']
    assert two.nodes(node2).qemu(900).status.current.get()['status'] == 'running'
    # Over a running VM: refused, even with force (in the task, as PVE's worker checks).
    upid = two.nodes(node2).qemu.post(vmid=900, archive=volid, force=1)
    assert run_task(two, node2, upid)['exitstatus'] == 'unable to restore VM 900 - vm is running'
    with pytest.raises(ResourceException, match="VM 900 already exists on node"):
        two.nodes(node2).qemu.post(vmid=900, archive=volid)
    with pytest.raises(ResourceException, match="option conflicts with option 'archive'"):
        two.nodes(node2).qemu.post(vmid=901, archive=volid, scsi0='local-lvm:1')


@pytest.mark.lab(clusters=1, nodes=2, guests=4)
def test_container_backup_in_a_namespace_and_restore(lab_fn, api):
    one = api(lab_fn.clusters[0])
    lab_fn.pbs.pbs.datastores['store1'].namespaces.add('lab')
    add_pbs_storage(one, lab_fn, name='pbsns', namespace='lab')
    _pve, guests = guests_of(lab_fn)
    ct = guests[103]
    upid = one.nodes(ct.node).vzdump.post(vmid=103, storage='pbsns', protected=1)
    assert run_task(one, ct.node, upid)['exitstatus'] == 'OK', log_of(one, ct.node, upid)
    snaps = lab_fn.pbs.pbs.datastores['store1'].select('lab', 0, 'ct', '103')
    assert len(snaps) == 1 and snaps[0].protected and 'pct.conf.blob' in snaps[0].files
    item, = one.nodes(ct.node).storage('pbsns').content.get(vmid=103)
    assert item['format'] == 'pbs-ct' and item['subtype'] == 'lxc' and item['protected'] == 1
    upid = one.nodes(ct.node).lxc.post(vmid=950, ostemplate=item['volid'], restore=1, storage='local-lvm', unique=1)
    assert ':vzrestore:950:' in upid
    assert run_task(one, ct.node, upid)['exitstatus'] == 'OK', log_of(one, ct.node, upid)
    config = one.nodes(ct.node).lxc(950).config.get()
    assert config['hostname'] == ct.config['hostname']
    assert config['rootfs'].startswith('local-lvm:vm-950-disk-')
    assert config['net0'].split('hwaddr=')[1][:17] != ct.config['net0'].split('hwaddr=')[1][:17]
    # Notes and protection live on the PBS; a protected backup cannot go, an unprotected one can.
    volume = one.nodes(ct.node).storage('pbsns').content(item['volid'])
    volume.put(notes='kept', protected=1)
    assert snaps[0].comment == 'kept'
    upid = volume.delete()
    assert run_task(one, ct.node, upid)['exitstatus'] == "cannot remove protected volume '{0}' on 'pbsns'".format(
        item['volid'].split(':', 1)[1])
    volume.put(protected=0)
    assert run_task(one, ct.node, volume.delete())['exitstatus'] == 'OK'
    assert lab_fn.pbs.pbs.datastores['store1'].select('lab', 0) == []
    status = one.nodes(ct.node).storage('pbsns').status.get()
    assert status['active'] == 1 and status['total'] == lab_fn.pbs.pbs.capacity


@pytest.mark.lab(clusters=1, nodes=1, guests=2)
def test_activation_errors_use_pve_words(lab_fn, api):
    client = api(lab_fn.clusters[0])
    node = lab_fn.clusters[0].nodes[0]
    add_pbs_storage(client, lab_fn, name='nostore', datastore='missing')
    with pytest.raises(ResourceException, match="nostore: Cannot find datastore 'missing', check permissions"):
        client.nodes(node).storage('nostore').content.get()
    add_pbs_storage(client, lab_fn, name='badpw', password='wrong')
    with pytest.raises(ResourceException, match='badpw: error fetching datastores - 401'):
        client.nodes(node).storage('badpw').content.get()
    upid = client.nodes(node).vzdump.post(vmid=100, storage='badpw')
    status = run_task(client, node, upid)
    assert status['exitstatus'].startswith("could not activate storage 'badpw'")
    # A token with no ACL entry sees no datastore in PBS's GET /admin/datastore: the same words as a missing one.
    fake = lab_fn.pbs.pbs

    async def token():
        return fake.add_token('root@pam', 'noacl')
    secret = lab_fn.call(token())
    add_pbs_storage(client, lab_fn, name='noacl', username='root@pam!noacl', password=secret)
    with pytest.raises(ResourceException, match="noacl: Cannot find datastore 'store1', check permissions"):
        client.nodes(node).storage('noacl').content.get()


@pytest.mark.lab(clusters=1, nodes=1, guests=2)
def test_restore_from_a_vzdump_archive(lab_fn, api):
    client = api(lab_fn.clusters[0])
    node = lab_fn.clusters[0].nodes[0]
    upid = client.nodes(node).vzdump.post(vmid=101, storage='local')
    assert run_task(client, node, upid)['exitstatus'] == 'OK'
    item, = client.nodes(node).storage('local').content.get(content='backup')
    upid = client.nodes(node).qemu.post(vmid=101, archive=item['volid'], force=1)
    assert run_task(client, node, upid)['exitstatus'] == 'OK', log_of(client, node, upid)
    assert client.nodes(node).qemu(101).config.get()['scsi0'].startswith('local-lvm:vm-101-disk-')
