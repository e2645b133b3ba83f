# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/nodes/{node}/qemu/{vmid}/migrate: the VM really moves, under the migrate lock, with PVE's checks."""

import pytest
from proxmoxer.core import ResourceException

SMALL = dict(clusters=1, nodes=3, guests=6)


def vm_of(lab, vmid):
    return lab.clusters[0].pve.vm(vmid)


def other_node(lab, vm):
    return next(n for n in lab.clusters[0].nodes if n != vm.node)


def wait_task(client, node, upid):
    status = client.nodes(node).tasks(upid).status.get()
    assert status['status'] == 'stopped'
    return status['exitstatus'], [line['t'] for line in client.nodes(node).tasks(upid).log.get()]


def refused(call, **params):
    with pytest.raises(ResourceException) as caught:
        call(**params)
    return caught.value.status_code, caught.value.content, caught.value.errors


@pytest.mark.lab(**SMALL)
def test_offline_migration_moves_the_vm(lab_fn, api):
    client = api(lab_fn.clusters[0])
    vm = vm_of(lab_fn, 101)
    source, target = vm.node, other_node(lab_fn, vm)
    assert vm.status == 'stopped'
    check = client.nodes(source).qemu(101).migrate.get(target=target)
    assert check['running'] == 0 and target in check['allowed_nodes'] and source not in check['allowed_nodes']
    assert check['local_disks'][0]['volid'] == 'local-lvm:vm-101-disk-0'
    upid = client.nodes(source).qemu(101).migrate.post(target=target)
    assert ':qmigrate:101:' in upid and upid.startswith('UPID:{0}:'.format(source))
    exitstatus, log = wait_task(client, source, upid)
    assert exitstatus == 'OK'
    # QemuMigrate names the target by the address the cluster knows it by, as /cluster/status shows it.
    address = next(i['ip'] for i in client.cluster.status.get() if i.get('type') == 'node' and i['name'] == target)
    assert log[0] == "starting migration of VM 101 to node '{0}' ({1})".format(target, address)
    assert log[-2].startswith('migration finished successfully')
    assert [g['node'] for g in client.cluster.resources.get(type='vm') if g['vmid'] == 101] == [target]
    assert client.nodes(target).qemu(101).config.get()['name'] == vm.name
    assert 101 not in [g['vmid'] for g in client.nodes(source).qemu.get()]
    with pytest.raises(ResourceException) as caught:
        client.nodes(source).qemu(101).config.get()
    assert caught.value.content == "Configuration file 'nodes/{0}/qemu-server/101.conf' does not exist".format(source)


@pytest.mark.lab(**SMALL)
def test_running_vm_needs_online_and_local_disks_need_with_local_disks(lab_fn, api):
    client = api(lab_fn.clusters[0])
    vm = vm_of(lab_fn, 100)
    assert vm.status == 'running'
    source, target = vm.node, other_node(lab_fn, vm)
    migrate = client.nodes(source).qemu(100).migrate
    assert refused(migrate.post, target=target)[:2] == (500, "can't migrate running VM without --online")
    exitstatus, _log = wait_task(client, source, migrate.post(target=target, online=1))
    assert exitstatus == ("migration aborted (duration 00:00:00): can't live migrate attached local disks without "
                          "with-local-disks option")
    assert vm.node == source and vm.lock is None
    exitstatus, log = wait_task(client, source, migrate.post(target=target, online=1, **{'with-local-disks': 1}))
    assert exitstatus == 'OK' and "starting VM 100 on remote node '{0}'".format(target) in log
    assert vm.node == target and vm.status == 'running'
    assert client.nodes(target).qemu(100).status.current.get()['status'] == 'running'


@pytest.mark.lab(**SMALL)
def test_checks_before_the_task(lab_fn, api):
    client = api(lab_fn.clusters[0])
    vm = vm_of(lab_fn, 101)
    migrate = client.nodes(vm.node).qemu(101).migrate
    assert refused(migrate.post, target=vm.node) == (400, 'Parameter verification failed.',
                                                     {'target': 'target is local node.'})
    assert refused(migrate.post, target='nosuchnode')[:2] == (500, "no such cluster node 'nosuchnode'")
    lab_fn.clusters[0].pve.snapshot_lock(101, 'backup')
    assert refused(migrate.post, target=other_node(lab_fn, vm))[:2] == (500, 'VM is locked (backup)')
    assert refused(migrate.get)[:2] == (500, 'VM is locked (backup)')
    lab_fn.clusters[0].pve.unlock(101)
    wrong = other_node(lab_fn, vm)
    assert refused(client.nodes(wrong).qemu(101).migrate.post, target=vm.node)[:2] == (
        500, "Configuration file 'nodes/{0}/qemu-server/101.conf' does not exist".format(wrong))


@pytest.mark.lab(**SMALL)
def test_offline_target_fails_the_task(lab_fn, api):
    client = api(lab_fn.clusters[0])
    vm = vm_of(lab_fn, 101)
    target = other_node(lab_fn, vm)
    lab_fn.clusters[0].pve.set_node_offline(target)
    exitstatus, _log = wait_task(client, vm.node, client.nodes(vm.node).qemu(101).migrate.post(target=target))
    assert exitstatus == "migration aborted (duration 00:00:00): Can't connect to destination address using public key"
    assert vm.node != target


@pytest.mark.lab(time_scale=0.001, **SMALL)
def test_the_vm_holds_the_migrate_lock_while_the_task_runs(lab_fn, api, until):
    client = api(lab_fn.clusters[0])
    pve = lab_fn.clusters[0].pve
    vm = vm_of(lab_fn, 101)
    source, target = vm.node, other_node(lab_fn, vm)
    gate = lab_fn.event()
    pve.migrate_gate = gate
    upid = client.nodes(source).qemu(101).migrate.post(target=target)
    until(lambda: client.nodes(source).qemu(101).config.get().get('lock') == 'migrate', 'the migrate lock')
    assert refused(client.nodes(source).qemu(101).migrate.post, target=target)[:2] == (500, 'VM is locked (migrate)')
    lab_fn.set_event(gate)
    until(lambda: client.nodes(source).tasks(upid).status.get()['status'] == 'stopped', 'the migration')
    assert client.nodes(source).tasks(upid).status.get()['exitstatus'] == 'OK'
    assert 'lock' not in client.nodes(target).qemu(101).config.get()
