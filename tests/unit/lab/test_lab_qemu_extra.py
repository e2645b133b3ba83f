# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/lab/areas/qemu_extra.py: VM config updates, resize and unlink as qemu-server makes them, and the knobs.

A fresh estate (lab_fn) of one cluster with 6 guests: VM 100 runs on n1, VM 102 is stopped on n1 (scsi0 48G).
"""

import pytest
from proxmoxer.core import ResourceException

from tests.lab.areas._common import set_lock

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=6, pbs=False)


def vm_api(lab_fn, api, vmid):
    cluster = lab_fn.clusters[0]
    vm = cluster.pve.vm(vmid)
    return vm, api(cluster).nodes(vm.node).qemu(vmid)


def task_status(lab_fn, upid):
    return lab_fn.clusters[0].pve.tasks[upid]


def test_new_disk_is_allocated_and_nic_gets_a_mac(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    qm.config.put(scsi1='local-lvm:2', net1='virtio,bridge=vmbr0', tags='B;a,b')
    assert vm.config['scsi1'] == 'local-lvm:vm-102-disk-1,size=2G'
    assert vm.config['net1'].startswith('virtio=BC:24:11:') and vm.config['net1'].endswith(',bridge=vmbr0')
    assert vm.config['tags'] == 'a;b'
    volumes = lab_fn.clusters[0].pve.storages['local-lvm']['volumes']
    assert volumes['vm-102-disk-1']['size'] == 2 * 1024 ** 3


def test_removed_disk_becomes_unused_then_unlink_destroys_it(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    qm.config.put(scsi1='local-lvm:1', scsi2='local-lvm:1')
    qm.config.put(delete='scsi1')
    assert 'scsi1' not in vm.config and vm.config['unused0'] == 'local-lvm:vm-102-disk-1'
    qm.unlink.put(idlist='scsi2', force=1)
    assert 'scsi2' not in vm.config and 'unused1' not in vm.config
    qm.unlink.put(idlist='unused0')
    assert 'unused0' not in vm.config
    volumes = lab_fn.clusters[0].pve.storages['local-lvm']['volumes']
    assert 'vm-102-disk-1' not in volumes and 'vm-102-disk-2' not in volumes


def test_protection_refuses_disk_removal(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    vm.config['protection'] = 1
    with pytest.raises(ResourceException, match="can't remove drive 'scsi0' - protection mode enabled"):
        qm.config.put(delete='scsi0')
    assert 'scsi0' in vm.config


def test_running_vm_keeps_memory_pending_and_hotplugs_nics(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    qm.config.put(memory='4096', net1='e1000,bridge=vmbr0')
    assert vm.pending == {'memory': '4096'} and vm.config['net1'].startswith('e1000=')
    assert [item for item in qm.pending.get() if item['key'] == 'memory'] == [
        {'key': 'memory', 'value': vm.config['memory'], 'pending': '4096'}]


def test_pending_equal_to_current_is_cleaned_up(lab_fn, api):
    # PVE's cleanup_pending after an update: writing back the current value, or deleting a key the config does not
    # have, leaves nothing pending on a running VM.
    vm, qm = vm_api(lab_fn, api, 100)
    current = vm.config['memory']
    qm.config.put(memory='4096')
    assert vm.pending == {'memory': '4096'}
    qm.config.put(memory=current)
    assert vm.pending == {} and vm.config['memory'] == current
    qm.config.put(delete='balloon')
    assert 'balloon' not in vm.config and not [item for item in qm.pending.get() if 'pending' in item or 'delete' in item]


def test_cipassword_is_stored_hashed(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    qm.config.put(cipassword='clear-text')
    assert vm.config['cipassword'].startswith('$5$') and 'clear-text' not in vm.config['cipassword']


def test_cipassword_is_read_back_as_asterisks_unless_the_knob_says_clear(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    qm.config.put(cipassword='clear-text')
    vm.pending['cipassword'] = '$5$next$hash'
    assert qm.config.get()['cipassword'] == '**********'
    pending = next(item for item in qm.pending.get() if item['key'] == 'cipassword')
    assert pending == {'key': 'cipassword', 'value': '**********', 'pending': '********** '}
    lab_fn.clusters[0].pve.secrets_in_clear = True
    assert qm.config.get(current=1)['cipassword'] == vm.config['cipassword']
    assert qm.config.get()['cipassword'] == '$5$next$hash'
    assert next(item for item in qm.pending.get() if item['key'] == 'cipassword')['pending'] == '$5$next$hash'


@pytest.mark.parametrize('size,exitstatus,after', [
    ('+2G', 'OK', 'size=50G'), ('64G', 'OK', 'size=64G'), ('48G', 'OK', 'size=48G'),
    ('10G', 'shrinking disks is not supported', 'size=48G')])
def test_resize(lab_fn, api, size, exitstatus, after):
    vm, qm = vm_api(lab_fn, api, 102)
    upid = qm.resize.put(disk='scsi0', size=size)
    assert task_status(lab_fn, upid)['exitstatus'] == exitstatus
    assert vm.config['scsi0'].endswith(after)


def test_resize_refuses_a_locked_vm_and_a_cdrom(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    assert task_status(lab_fn, qm.resize.put(disk='ide2', size='+1G'))['exitstatus'] == "you can't resize a cdrom"
    set_lock(vm, 'backup')
    assert task_status(lab_fn, qm.resize.put(disk='scsi0', size='+1G'))['exitstatus'] == 'VM is locked (backup)'


def test_nextid_race_and_lock_release(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    cluster.pve.nextid_races = 1
    first = int(client.cluster.nextid.get())
    assert cluster.pve.vm(first).name == 'racer-{0}'.format(first)
    assert int(client.cluster.nextid.get()) == first + 1
    set_lock(cluster.pve.vm(102), 'backup')
    cluster.pve.lock_release_reads = {102: 2}
    locks = [[g.get('lock') for g in client.cluster.resources.get(type='vm') if g['vmid'] == 102][0] for _read in range(2)]
    assert locks == ['backup', None]


def test_node_bridges(lab_fn, api):
    cluster = lab_fn.clusters[0]
    cluster.pve.bridges.add('vmbr7')
    bridges = api(cluster).nodes(cluster.nodes[0]).network.get(type='any_bridge')
    assert sorted(item['iface'] for item in bridges) == ['vmbr0', 'vmbr7']


# ------------------------------------------------------------- hot-plug as qemu-server does (vmconfig_hotplug_pending)

def test_fast_plug_and_cloud_init_keys_apply_at_once_on_a_running_vm(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    qm.config.put(name='renamed', shares='500', vmstatestorage='local-lvm', migrate_downtime='0.5', ciuser='ops',
                  ipconfig0='ip=dhcp', nameserver='192.0.2.53', cores='4', sockets='2', cpu='host')
    assert vm.config['name'] == 'renamed' and vm.config['shares'] == '500'
    assert vm.config['vmstatestorage'] == 'local-lvm' and vm.config['migrate_downtime'] == '0.5'
    assert vm.config['ciuser'] == 'ops' and vm.config['ipconfig0'] == 'ip=dhcp'
    assert vm.config['nameserver'] == '192.0.2.53'
    assert vm.pending == {'cores': '4', 'sockets': '2', 'cpu': 'host'}


def test_agent_stays_pending_except_fstrim_cloned_disks(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    vm.config.pop('agent', None)
    qm.config.put(agent='1')
    assert vm.pending == {'agent': '1'} and 'agent' not in vm.config
    vm.apply_pending()
    qm.config.put(agent='1,fstrim_cloned_disks=1')
    assert vm.config['agent'] == '1,fstrim_cloned_disks=1' and vm.pending == {}
    qm.config.put(agent='enabled=1,fstrim_cloned_disks=1,type=isa')
    assert vm.pending == {'agent': 'enabled=1,fstrim_cloned_disks=1,type=isa'}


@pytest.mark.parametrize('hotplug,hot', [
    (None, set()), ('network,disk,usb,cpu', {'vcpus'}), ('memory', {'memory'}), ('0', set()), ('1', set()),
])
def test_memory_and_vcpus_follow_the_hotplug_option(lab_fn, api, hotplug, hot):
    vm, qm = vm_api(lab_fn, api, 100)
    if hotplug is not None:
        vm.config['hotplug'] = hotplug
    qm.config.put(memory='8192', vcpus='1', cpuunits='200')
    assert vm.config['cpuunits'] == '200'  # a cgroup change, always live
    assert set(k for k in ('memory', 'vcpus') if k not in vm.pending) == hot


def test_drives_ide_sata_efidisk_tpmstate_stay_pending(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    qm.config.put(scsi5='local-lvm:1', ide1='local-lvm:1', sata1='local-lvm:1', efidisk0='local-lvm:1',
                  tpmstate0='local-lvm:1')
    assert vm.config['scsi5'].startswith('local-lvm:vm-100-disk-')
    assert sorted(vm.pending) == ['efidisk0', 'ide1', 'sata1', 'tpmstate0']
    assert [k for k in ('ide1', 'sata1', 'efidisk0', 'tpmstate0') if k in vm.config] == []


def test_changed_disk_options_cold_or_live(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    qm.config.put(scsi5='local-lvm:1')
    base = vm.config['scsi5']
    qm.config.put(scsi5=base + ',backup=0,mbps_rd=100')  # bookkeeping and throttling: live
    assert vm.config['scsi5'] == base + ',backup=0,mbps_rd=100' and vm.pending == {}
    qm.config.put(scsi5=base + ',backup=0,mbps_rd=100,cache=writeback')  # a cache mode: next start
    assert vm.pending == {'scsi5': base + ',backup=0,mbps_rd=100,cache=writeback'}


def test_nic_bridge_change_is_live_model_change_needs_network_hotplug(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    vm.config['hotplug'] = 'disk'
    qm.config.put(net5='virtio=BC:24:11:00:00:05,bridge=vmbr0')
    assert vm.pending == {'net5': 'virtio=BC:24:11:00:00:05,bridge=vmbr0'}  # a new NIC needs `network`
    vm.apply_pending()
    qm.config.put(net5='virtio=BC:24:11:00:00:05,bridge=vmbr0,tag=20')
    assert vm.config['net5'].endswith('tag=20') and vm.pending == {}
    qm.config.put(net5='e1000=BC:24:11:00:00:05,bridge=vmbr0,tag=20')
    assert vm.pending == {'net5': 'e1000=BC:24:11:00:00:05,bridge=vmbr0,tag=20'}


def test_pending_deletes_follow_the_same_rules(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    vm.config.update(vcpus='1', shares='100', ide1='local-lvm:vm-100-disk-9,size=1G', cpulimit='2')
    qm.config.put(delete='vcpus,shares,ide1,cpulimit')
    assert 'shares' not in vm.config and 'cpulimit' not in vm.config
    assert vm.pending == {'vcpus': None, 'ide1': None}
    assert vm.config['vcpus'] == '1' and vm.config['ide1'].startswith('local-lvm:')


def test_failed_hotplug_fails_the_task_and_stays_pending(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    refusal = "VM 100 qmp command 'device_add' failed - Bus 'pci.0' does not support hotplugging"
    lab_fn.clusters[0].pve.qemu_refusals = {100: {'scsi6': refusal}}
    upid = qm.config.post(scsi6='local-lvm:1', description='applied anyway')
    task = task_status(lab_fn, upid)
    assert task['exitstatus'] == 'Parameter verification failed. scsi6: hotplug problem - ' + refusal
    assert 'scsi6' not in vm.config and vm.pending['scsi6'].startswith('local-lvm:vm-100-disk-')
    assert vm.config['description'] == 'applied anyway'
    with pytest.raises(ResourceException, match='hotplug problem') as raised:
        qm.config.put(net6='virtio,bridge=vmbr0', **{'scsi6': vm.pending['scsi6']})
    assert raised.value.status_code == 400 and raised.value.errors == {'scsi6': 'hotplug problem - ' + refusal}
    assert vm.config['net6'].startswith('virtio=')  # what could be plugged was plugged
    lab_fn.clusters[0].pve.qemu_refusals = {}
    vm.apply_pending()
    assert vm.config['scsi6'].startswith('local-lvm:vm-100-disk-')


def test_get_config_applies_pending_unless_current(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 100)
    vm.config['numa'] = '1'
    qm.config.put(memory='8192', delete='numa')
    assert vm.pending == {'memory': '8192', 'numa': None}
    merged = qm.config.get()
    assert merged['memory'] == '8192' and 'numa' not in merged
    current = qm.config.get(current=1)
    assert current['memory'] == str(vm.config['memory']) and current['numa'] == '1'


def test_get_ct_config_applies_pending_unless_current(lab_fn, api):
    cluster = lab_fn.clusters[0]
    ct = cluster.pve.cts[0]
    lxc = api(cluster).nodes(ct.node).lxc(ct.vmid)
    ct.pending['memory'] = '2048'
    assert lxc.config.get()['memory'] == '2048'
    assert lxc.config.get(current=1).get('memory') == ct.config.get('memory')


def test_cloud_init_drive_is_named_as_pve_names_it(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    qm.config.put(ide2='local-lvm:cloudinit')
    assert vm.config['ide2'] == 'local-lvm:vm-102-cloudinit,media=cdrom'
    assert 'vm-102-cloudinit' in lab_fn.clusters[0].pve.storages['local-lvm']['volumes']


def test_an_update_of_a_stopped_vm_applies_every_pending_change(lab_fn, api):
    vm, qm = vm_api(lab_fn, api, 102)
    vm.pending = {'cores': '4', 'numa': None}
    vm.config['numa'] = '1'
    qm.config.put(description='any change')
    assert vm.pending == {} and vm.config['cores'] == '4' and 'numa' not in vm.config
