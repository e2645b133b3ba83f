# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""POST /nodes/{node}/vzdump: a task that locks the guest and leaves an archive in the storage."""

import re

import pytest
from proxmoxer.core import ResourceException

SMALL = dict(clusters=1, nodes=2, guests=8)


def guests_of(lab, cluster=0):
    pve = lab.clusters[cluster].pve
    return pve, dict((g.vmid, g) for g in list(pve.vms) + list(pve.cts))


def finished(client, node, upid):
    status = client.nodes(node).tasks(upid).status.get()
    return status if status['status'] == 'stopped' else None


@pytest.mark.lab(**SMALL)
def test_backup_adds_an_archive_to_the_storage(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    pve, guests = guests_of(lab_fn)
    vm = guests[100]
    upid = client.nodes(vm.node).vzdump.post(vmid=100, storage='local', compress='zstd', protected=1,
                                             **{'notes-template': '{{guestname}} on {{node}} in {{cluster}}'})
    assert re.fullmatch(r'UPID:{0}:[0-9A-F]{{8}}:[0-9A-F]{{8}}:[0-9A-F]{{8}}:vzdump:100:root@pam!lab:'.format(
        vm.node), upid)
    status = finished(client, vm.node, upid)
    assert status['exitstatus'] == 'OK'
    log = [line['t'] for line in client.nodes(vm.node).tasks(upid).log.get()]
    assert log[0].startswith('INFO: starting new backup job: vzdump 100 ')
    assert 'INFO: Starting Backup of VM 100 (qemu)' in log
    assert log[-2:] == ['INFO: Backup job finished successfully', 'TASK OK']
    content = client.nodes(vm.node).storage('local').content.get(content='backup')
    assert len(content) == 1
    item = content[0]
    assert re.fullmatch(r'local:backup/vzdump-qemu-100-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.vma\.zst', item['volid'])
    assert item['content'] == 'backup' and item['vmid'] == 100 and item['format'] == 'vma.zst'
    assert item['size'] > 0 and item['ctime'] > 0 and item['protected'] == 1
    assert item['notes'] == '{0} on {1} in lab1'.format(vm.name, vm.node)
    assert vm.lock is None and 'lock' not in client.nodes(vm.node).qemu(100).config.get()
    # The archive is a volume like any other: its notes can change, and it can go (once unprotected).
    volume = client.nodes(vm.node).storage('local').content(item['volid'])
    volume.put(protected=0)
    volume.delete()
    assert client.nodes(vm.node).storage('local').content.get(content='backup') == []


@pytest.mark.lab(time_scale=0.001, **SMALL)
def test_the_guest_holds_the_backup_lock_while_the_task_runs(lab_fn, api, until):
    client = api(lab_fn.clusters[0])
    pve, guests = guests_of(lab_fn)
    vm = guests[100]
    gate = lab_fn.event()
    pve.backup_gate = gate
    upid = client.nodes(vm.node).vzdump.post(vmid=100, storage='local')
    node = client.nodes(vm.node)
    until(lambda: node.qemu(100).status.current.get().get('lock') == 'backup', 'the backup lock')
    assert node.qemu(100).config.get()['lock'] == 'backup'
    assert node.tasks(upid).status.get()['status'] == 'running'
    with pytest.raises(ResourceException) as caught:
        node.qemu(100).status.shutdown.post()
    assert caught.value.status_code == 500 and caught.value.content == 'VM is locked (backup)'
    lab_fn.set_event(gate)
    status = until(lambda: finished(client, vm.node, upid), 'the backup task')
    assert status['exitstatus'] == 'OK'
    assert 'lock' not in node.qemu(100).config.get()
    assert len(node.storage('local').content.get(content='backup', vmid=100)) == 1


@pytest.mark.lab(**SMALL)
def test_several_guests_containers_and_what_is_elsewhere(lab_fn, api, raw):
    client = api(lab_fn.clusters[0])
    pve, guests = guests_of(lab_fn)
    node = next(g.node for g in guests.values() if g.guest.startswith('lxc/'))
    here = sorted(vmid for vmid, g in guests.items() if g.node == node)
    elsewhere = sorted(vmid for vmid, g in guests.items() if g.node != node)
    assert any(g.guest.startswith('qemu/') for vmid, g in guests.items() if g.node == node)
    upid = client.nodes(node).vzdump.post(all=1, storage='nfs-backup', compress='gzip')
    assert ':vzdump::' in upid
    log = [line['t'] for line in client.nodes(node).tasks(upid).log.get()]
    # Through the API, the node is vzdump's `node` option as well: other nodes' guests are left out silently.
    assert not [line for line in log if 'skip external VMs' in line]
    assert sorted(int(m) for m in re.findall(r'Starting Backup of VM (\d+)', ' '.join(log))) == here
    content = client.nodes(node).storage('nfs-backup').content.get()
    assert sorted(item['vmid'] for item in content) == here
    for item in content:
        kind = 'qemu' if guests[item['vmid']].guest.startswith('qemu/') else 'lxc'
        assert item['volid'].endswith('.vma.gz' if kind == 'qemu' else '.tar.gz')
        assert '-{0}-{1}-'.format(kind, item['vmid']) in item['volid']
    # Only guests of other nodes: PVE answers OK and starts nothing.
    assert client.nodes(node).vzdump.post(vmid=elsewhere[0], storage='local') == 'OK'
    # Guests no job includes.
    cluster = lab_fn.clusters[0]
    missing = client.cluster('backup-info')('not-backed-up').get()
    assert sorted(g['vmid'] for g in missing) == sorted(guests)
    client.cluster.backup.post(schedule='daily', storage='local', all=1, exclude=str(elsewhere[0]), enabled=0)
    assert client.cluster('backup-info')('not-backed-up').get() == [
        {'vmid': elsewhere[0], 'type': 'qemu' if guests[elsewhere[0]].guest.startswith('qemu/') else 'lxc',
         'name': guests[elsewhere[0]].name}]
    assert raw(cluster, 'GET', '/cluster/backup-info/not-backed-up')[0] == 200


@pytest.mark.lab(**SMALL)
def test_prune_keeps_the_newest(lab_fn, api):
    client = api(lab_fn.clusters[0])
    node = guests_of(lab_fn)[1][101].node
    for _run in range(3):
        client.nodes(node).vzdump.post(vmid=101, storage='local', **{'prune-backups': 'keep-last=2'})
    content = client.nodes(node).storage('local').content.get(content='backup', vmid=101)
    assert len(content) == 2


@pytest.mark.lab(**SMALL)
def test_task_errors(lab_fn, api):
    client = api(lab_fn.clusters[0])
    pve, guests = guests_of(lab_fn)
    vm = guests[100]
    node = client.nodes(vm.node)

    def run(**params):
        upid = node.vzdump.post(**params)
        status = finished(client, vm.node, upid)
        return status['exitstatus'], [line['t'] for line in node.tasks(upid).log.get()]

    pve.snapshot_lock(100)
    exitstatus, log = run(vmid=100, storage='local')
    assert exitstatus == 'job errors'
    assert 'ERROR: Backup of VM 100 failed - VM is locked (snapshot)' in log
    pve.unlock(100)
    exitstatus, log = run(vmid=100, storage='local-lvm')
    assert exitstatus == ("could not get storage information for 'local-lvm': can't use storage 'local-lvm' for "
                          "backups - wrong content type")
    exitstatus, log = run(vmid=100, storage='nosuch')
    assert exitstatus == ("could not activate storage 'nosuch': storage 'nosuch' does not exist could not get "
                          "storage information for 'nosuch': storage 'nosuch' does not exist")
    exitstatus, log = run(vmid='100,999', storage='local')
    assert exitstatus == 'job errors' and "ERROR: Backup of VM 999 failed - unable to find VM '999'" in log


@pytest.mark.lab(**SMALL)
def test_parameter_errors(lab_fn, api, raw):
    cluster = lab_fn.clusters[0]
    node = cluster.nodes[0]
    client = api(cluster)
    with pytest.raises(ResourceException) as caught:
        client.nodes(node).vzdump.post(storage='local')
    assert caught.value.status_code == 400 and caught.value.errors == {'vmid': 'property is missing'}
    with pytest.raises(ResourceException) as caught:
        client.nodes(node).vzdump.post(vmid=100, all=1)
    assert caught.value.errors == {'all': "option conflicts with option 'vmid'"}
    with pytest.raises(ResourceException) as caught:
        client.nodes(node).vzdump.post(vmid=100, stdout=1)
    assert caught.value.errors == {'stdout': 'option is only allowed on the command line interface.'}
    cluster.pve.users['op@pve'] = 'op-secret'
    user = api(cluster, auth='ticket', user='op@pve', password='op-secret')
    with pytest.raises(ResourceException) as caught:
        user.nodes(node).vzdump.post(vmid=100, tmpdir='/tmp')
    assert caught.value.errors == {'tmpdir': 'Only root may set this option.'}
    with pytest.raises(ResourceException) as caught:
        user.nodes(node).vzdump.post(vmid=100, storage='local')
    assert caught.value.status_code == 403
    assert caught.value.content == 'Permission check failed (/storage/local, Datastore.AllocateSpace)'
