# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/qemu.py: drives, NICs, cloud-init and raw keys in canonical form, and what to send."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import qemu
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

DISK = 'local-lvm:vm-100-disk-0,iothread=1,size=32G'


def disk(**kw):
    spec = {'slot': 'scsi0', 'state': 'present', 'destroy': False, 'cloudinit': False}
    spec.update(kw)
    return spec


def net(**kw):
    spec = {'slot': 'net0', 'state': 'present'}
    spec.update(kw)
    return spec


# ---------------------------------------------------------------- drives

def test_parse_and_render_drive():
    volume, props = qemu.parse_drive(DISK)
    assert volume == 'local-lvm:vm-100-disk-0' and props == {'iothread': '1', 'size': '32G'}
    assert qemu.render_drive(volume, props) == DISK


@pytest.mark.parametrize('a,b', [
    ('local-lvm:vm-100-disk-0,size=32G', 'local-lvm:vm-100-disk-0,size=32768M'),
    ('local-lvm:vm-100-disk-0,ssd=1,size=1G', 'local-lvm:vm-100-disk-0,size=1G,ssd=on'),
    ('local-lvm:vm-100-disk-0,discard=ignore,backup=1', 'local-lvm:vm-100-disk-0'),
    ('local-lvm:vm-100-disk-0,iothread=0', 'file=local-lvm:vm-100-disk-0'),
])
def test_canonical_drive_equal(a, b):
    assert qemu.canonical_drive(a) == qemu.canonical_drive(b)


def test_new_disk_is_storage_and_gib():
    change = qemu.plan_disk(disk(storage='local-lvm', size='512M', ssd=True, discard='on'), None)
    assert change.value == 'local-lvm:0.5,discard=on,ssd=1'
    change = qemu.plan_disk(disk(storage='local-lvm', size=8), None)
    assert change.value == 'local-lvm:8'


def test_new_disk_variants():
    assert qemu.plan_disk(disk(slot='ide2', storage='local-lvm', cloudinit=True), None).value == 'local-lvm:cloudinit'
    assert qemu.plan_disk(disk(storage='local-lvm', import_from='local:import/x.qcow2'), None).value == \
        'local-lvm:0,import-from=local:import/x.qcow2'
    assert qemu.plan_disk(disk(slot='efidisk0', storage='local-lvm', options={'efitype': '4m'}), None).value == \
        'local-lvm:1,efitype=4m'
    assert qemu.plan_disk(disk(slot='ide2', media='cdrom', volume='local:iso/d.iso'), None).value == \
        'local:iso/d.iso,media=cdrom'


@pytest.mark.parametrize('spec,message', [
    (disk(size='8G'), 'give its storage'),
    (disk(storage='local-lvm'), 'give its size'),
    (disk(slot='scsi31', storage='x', size=1), 'not a disk slot'),
    (disk(volume='nostorage', storage=None), 'is not of the form storage:name'),
])
def test_new_disk_refused(spec, message):
    with pytest.raises(ProxmoxConfigError, match=message):
        qemu.plan_disk(spec, None)


def test_existing_disk_unchanged_grows_and_changes_options():
    assert not qemu.plan_disk(disk(size='32G', iothread=True, storage='local-lvm'), DISK).changed
    grown = qemu.plan_disk(disk(size='40G'), DISK)
    assert grown.resize == 40 * 1024 ** 3 and grown.value is None
    options = qemu.plan_disk(disk(cache='writeback', iothread=False), DISK)
    assert options.value == 'local-lvm:vm-100-disk-0,cache=writeback,iothread=0,size=32G'
    assert options.after == {'file': 'local-lvm:vm-100-disk-0', 'cache': 'writeback', 'size': 32 * 1024 ** 3}


def test_grow_with_an_option_change_sends_the_new_size():
    change = qemu.plan_disk(disk(size='40G', cache='writeback'), DISK)
    assert change.resize == 40 * 1024 ** 3
    assert change.value == 'local-lvm:vm-100-disk-0,cache=writeback,iothread=1,size=40G'


@pytest.mark.parametrize('spec,message', [
    (disk(size='16G'), 'scsi0 is 32G, asked 16G: disks never shrink'),
    (disk(storage='ceph'), "on storage 'local-lvm', not 'ceph'"),
    (disk(volume='local-lvm:vm-100-disk-9'), 'remove it first'),
    (disk(cloudinit=True), 'not a cloud-init drive'),
])
def test_existing_disk_refused(spec, message):
    with pytest.raises(ProxmoxConfigError, match=message):
        qemu.plan_disk(spec, DISK)


def test_disk_removal():
    detach = qemu.plan_disk(disk(state='absent'), DISK)
    assert detach.detach and not detach.destroy
    destroy = qemu.plan_disk(disk(state='absent', destroy=True), DISK)
    assert destroy.destroy and not destroy.detach
    assert not qemu.plan_disk(disk(state='absent'), None).changed


def test_cdrom_swap_and_cloudinit_drive_kept():
    change = qemu.plan_disk(disk(slot='ide2', media='cdrom', volume='local:iso/new.iso'), 'none,media=cdrom')
    assert change.value == 'local:iso/new.iso,media=cdrom'
    assert not qemu.plan_disk(disk(slot='ide2', media='cdrom', volume='none'), 'none,media=cdrom').changed
    assert not qemu.plan_disk(disk(slot='ide2', storage='local-lvm', cloudinit=True),
                              'local-lvm:vm-100-cloudinit,media=cdrom').changed


# ---------------------------------------------------------------- NICs

NET = 'virtio=BC:24:11:2A:96:6B,bridge=vmbr0,firewall=1'


def test_parse_net():
    assert qemu.parse_net(NET) == {'model': 'virtio', 'macaddr': 'BC:24:11:2A:96:6B', 'bridge': 'vmbr0',
                                   'firewall': '1'}


def test_net_keeps_mac_and_unnamed_options():
    assert not qemu.plan_net(net(bridge='vmbr0'), NET).changed
    assert not qemu.plan_net(net(firewall=True, model='virtio'), NET).changed
    tagged = qemu.plan_net(net(tag=30), NET)
    assert tagged.value == 'virtio=BC:24:11:2A:96:6B,bridge=vmbr0,firewall=1,tag=30'
    untagged = qemu.plan_net(net(tag=0, firewall=False), tagged.value)
    assert untagged.value == 'virtio=BC:24:11:2A:96:6B,bridge=vmbr0'
    mac = qemu.plan_net(net(mac='bc:24:11:00:00:01'), NET)
    assert mac.value.startswith('virtio=BC:24:11:00:00:01,')


def test_new_net_and_removal():
    assert qemu.plan_net(net(bridge='vmbr1', model='e1000'), None).value == 'e1000,bridge=vmbr1'
    assert qemu.plan_net(net(state='absent'), NET).delete
    assert not qemu.plan_net(net(state='absent'), None).changed


@pytest.mark.parametrize('spec,message', [
    (net(), 'give its bridge'),
    (net(bridge='vmbr0', model='bogus'), 'model'),
    (net(bridge='vmbr0', mac='zz'), 'not a MAC address'),
    (net(bridge='vmbr0', options={'speed': 1}), "'speed' is not an option"),
    (net(slot='net32', bridge='vmbr0'), 'not a network device slot'),
])
def test_net_refused(spec, message):
    with pytest.raises(ProxmoxConfigError, match=message):
        qemu.plan_net(spec, None)


# ---------------------------------------------------------------- cloud-init, tags, other keys

KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq admin@example.com'


def test_sshkeys_encodings_compare_equal():
    encoded = qemu.encode_sshkeys([KEY])
    assert ' ' not in encoded and unquote(encoded) == KEY + '\n'
    assert qemu.decode_sshkeys(encoded) == [KEY]
    assert qemu.decode_sshkeys(KEY + '\n') == [KEY]
    assert qemu.decode_sshkeys(['  ' + KEY.replace(' ', '   ') + ' ']) == [KEY]


@given(st.lists(st.from_regex(r'ssh-ed25519 [A-Za-z0-9+/]{8,20} [a-z]{1,8}@[a-z]{1,8}\.com', fullmatch=True),
                min_size=1, max_size=4))
def test_sshkeys_round_trip(keys):
    assert qemu.decode_sshkeys(qemu.encode_sshkeys(keys)) == keys


@pytest.mark.parametrize('wanted,current,purge,send,after', [
    (['Web', 'lab'], 'lab;web', False, None, ['lab', 'web']),
    (['extra'], 'lab;web', False, 'extra;lab;web', ['extra', 'lab', 'web']),
    (['lab'], 'lab;web', True, 'lab', ['lab']),
    ([], 'lab', True, ABSENT, []),
    (['a', 'b'], None, False, 'a;b', ['a', 'b']),
])
def test_tags_plan(wanted, current, purge, send, after):
    got_send, _before, got_after = qemu.tags_plan(wanted, current, purge)
    assert got_send == send and got_after == after


def test_config_fields_compare_canonically():
    current = {'memory': 'current=2048', 'agent': '1', 'boot': 'order=scsi0;net0', 'onboot': 1, 'cores': '2',
               'nameserver': '192.0.2.53 192.0.2.54', 'sshkeys': qemu.encode_sshkeys([KEY]),
               'cpu': 'cputype=host,flags=+aes'}
    desired = {'memory': 2048, 'agent': 'enabled=true', 'boot': 'order=scsi0;net0', 'onboot': True, 'cores': 2,
               'nameserver': '192.0.2.53,192.0.2.54', 'sshkeys': [KEY], 'cpu': 'host,flags=+aes'}
    changes = compare(qemu.config_fields(), desired, current)
    assert not changes.changed, changes.params


def test_cipassword_is_write_only():
    fields = qemu.config_fields()
    assert compare(fields, {'cipassword': 'x'}, {'cipassword': '$5$abc$def'}).params == {}
    assert compare(fields, {'cipassword': 'x'}, {}, creating=True).params == {'cipassword': 'x'}
    assert compare(fields, {'cipassword': 'x'}, {}, send_secrets=True).params == {'cipassword': 'x'}


@pytest.mark.parametrize('key,a,b', [
    ('ipconfig0', 'ip=dhcp', {'ip': 'dhcp'}),
    ('ipconfig0', 'ip=198.51.100.2/24,gw=198.51.100.1', 'gw=198.51.100.1,ip=198.51.100.2/24'),
    ('hookscript', 'local:snippets/h.pl', 'local:snippets/h.pl'),
    ('tags', 'a;b', 'B,a'),
])
def test_canonical_raw(key, a, b):
    assert qemu.canonical_raw(key, a) == qemu.canonical_raw(key, b)


def test_slot_values_and_keys():
    assert qemu.slot_values('ipconfig', {0: {'ip': 'dhcp'}, 'ipconfig1': 'absent'}, r'^ipconfig\d+$', 'ipconfig') == {
        'ipconfig0': 'ip=dhcp', 'ipconfig1': ABSENT}
    with pytest.raises(ProxmoxConfigError, match='not a serialN key'):
        qemu.slot_values('serial', {'usb0': 'socket'}, r'^serial[0-3]$', 'serial')
    assert qemu.check_key('hookscript') == 'hookscript'
    with pytest.raises(ProxmoxConfigError, match='not a configuration key'):
        qemu.check_key('no_such_key')


def test_mask_config():
    shown = qemu.mask_config({'cipassword': '$5$x$y', 'sshkeys': qemu.encode_sshkeys([KEY]), 'digest': 'abc',
                              'cores': 2})
    assert shown == {'cipassword': '********', 'sshkeys': KEY, 'cores': 2}


@pytest.mark.parametrize('given,sent', [('True', 1), ('no', 0), ('enabled=1,fstrim_cloned_disks=1', 'enabled=1,fstrim_cloned_disks=1'),
                                        ({'enabled': True, 'type': 'virtio'}, '1,type=virtio')])
def test_agent_is_sent_as_pve_writes_it(given, sent):
    changes = compare(qemu.config_fields(), {'agent': given}, {}, creating=True)
    assert changes.params == {'agent': sent}


# ---------------------------------------------------------------- idempotency, whatever the options

_BOOL = st.none() | st.booleans()
DISK_SPECS = st.fixed_dictionaries({
    'size': st.none() | st.sampled_from(['32G', '40G', 48, '64G', '33554432K']),
    'cache': st.none() | st.sampled_from(['none', 'writeback', 'unsafe']),
    'discard': st.none() | st.sampled_from(['on', 'ignore']),
    'ssd': _BOOL, 'iothread': _BOOL, 'backup': _BOOL, 'replicate': _BOOL,
    'options': st.none() | st.fixed_dictionaries({'aio': st.sampled_from(['native', 'io_uring'])}),
})


def _applied(current, change):
    """The drive value after PVE took the change: the value sent, then the resize."""
    value = change.value or current
    if change.resize:
        volume, props = qemu.parse_drive(value)
        props['size'] = qemu.propstring.format_size(change.resize)
        value = qemu.render_drive(volume, props)
    return value


@given(DISK_SPECS, st.sampled_from([DISK, 'local-lvm:vm-100-disk-0,cache=writeback,discard=on,size=32G,ssd=1']))
def test_an_existing_disk_converges_in_one_run(options, current):
    spec = disk(**dict((k, v) for k, v in options.items() if v is not None))
    change = qemu.plan_disk(spec, current)
    again = qemu.plan_disk(spec, _applied(current, change))
    assert not again.changed, (change.value, again.value, again.resize)


NET_SPECS = st.fixed_dictionaries({
    'model': st.none() | st.sampled_from(['virtio', 'e1000']),
    'bridge': st.none() | st.sampled_from(['vmbr0', 'vmbr1']),
    'tag': st.none() | st.sampled_from([0, 30, 4094]),
    'firewall': _BOOL, 'link_down': _BOOL,
    'mtu': st.none() | st.sampled_from([0, 1, 9000]),
    'rate': st.none() | st.sampled_from([0, 12.5, 100]),
    'queues': st.none() | st.sampled_from([0, 4]),
    'mac': st.none() | st.just('BC:24:11:00:00:01'),
})


@given(NET_SPECS, st.sampled_from([None, NET, 'e1000=BC:24:11:2A:96:6B,bridge=vmbr1,tag=5,link_down=1']))
def test_a_nic_converges_in_one_run(options, current):
    spec = net(**dict((k, v) for k, v in options.items() if v is not None))
    if current is None and not spec.get('bridge'):
        spec['bridge'] = 'vmbr0'
    change = qemu.plan_net(spec, current)
    value = change.value or current
    if 'macaddr' not in qemu.parse_net(value):  # PVE gives a new NIC its address
        model = qemu.parse_net(value)['model']
        value = value.replace(model, model + '=BC:24:11:99:99:99', 1)
    assert not qemu.plan_net(spec, value).changed
    if current is not None and not spec.get('mac'):
        assert qemu.parse_net(value)['macaddr'] == qemu.parse_net(current)['macaddr']


FIELD_VALUES = st.fixed_dictionaries({}, optional={
    'cores': st.integers(1, 64), 'sockets': st.integers(1, 4), 'memory': st.integers(64, 65536),
    'balloon': st.integers(0, 4096), 'numa': st.booleans(), 'onboot': st.booleans(), 'protection': st.booleans(),
    'agent': st.sampled_from(['1', '0', 'True', 'enabled=1,fstrim_cloned_disks=1']),
    'boot': st.sampled_from([['scsi0'], ['scsi0', 'net0'], 'order=virtio0;ide2']),
    'cpu': st.sampled_from(['host', 'x86-64-v2-AES', 'cputype=host,flags=+aes']),
    'startup': st.sampled_from(['order=1', 'order=2,up=30,down=60']),
    'vga': st.sampled_from(['std', 'type=virtio,memory=64']),
    'nameserver': st.sampled_from(['192.0.2.53', '192.0.2.53 192.0.2.54']),
    'sshkeys': st.lists(st.sampled_from([KEY, KEY.replace('admin', 'ops')]), min_size=1, max_size=2, unique=True),
    'description': st.text(alphabet=st.characters(codec='utf-8', exclude_categories=('Cs', 'Cc')), max_size=30)
    .map(str.strip).filter(bool),
})


@given(FIELD_VALUES, st.sampled_from([str, lambda value: value]))
def test_options_converge_in_one_run(desired, stored_as):
    fields = qemu.config_fields()
    desired = dict(desired)
    if 'boot' in desired:
        desired['boot'] = qemu.boot_option(desired['boot'])
    changes = compare(fields, desired, {})
    # PVE keeps what was sent (numbers may come back as numbers or strings).
    config = dict((key, stored_as(value)) for key, value in changes.params.items())
    assert not compare(fields, desired, config).changed


# ---------------------------------------------------------------- hot-plug forecast (vmconfig_hotplug_pending)

RUNNING = {'memory': '2048', 'agent': '1', 'ostype': 'l26', 'scsi0': DISK, 'ide2': 'none,media=cdrom',
           'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0', 'balloon': '1024'}


@pytest.mark.parametrize('value,features', [
    (None, {'network', 'disk', 'usb'}), ('1', {'network', 'disk', 'usb'}), ('0', set()),
    ('disk,cpu,memory', {'disk', 'cpu', 'memory'}),
])
def test_hotplug_features(value, features):
    assert qemu.hotplug_features(value) == features


@pytest.mark.parametrize('key,new,extra,live', [
    ('name', 'x', {}, True), ('shares', '500', {}, True), ('vmstatestorage', 'local', {}, True),
    ('migrate_speed', '100', {}, True), ('ipconfig3', 'ip=dhcp', {}, True), ('ciupgrade', '0', {}, True),
    ('hookscript', 'local:snippets/h.pl', {}, True),
    ('memory', '4096', {}, False), ('memory', '4096', {'hotplug': 'memory'}, True),
    ('cores', '4', {'hotplug': '1'}, False), ('vcpus', '2', {}, False), ('vcpus', '2', {'hotplug': 'cpu'}, True),
    ('cpuunits', '200', {'hotplug': '0'}, True), ('cpulimit', '2', {}, True),
    ('balloon', '512', {}, True), ('balloon', '0', {}, False),
    ('agent', '1,fstrim_cloned_disks=1', {}, True), ('agent', 'enabled=1,type=isa', {}, False),
    ('agent', '1', {'agent': None}, False),
    ('usb0', 'host=1-1', {}, True), ('usb0', 'host=1-1', {'ostype': 'win7'}, False),
    ('usb0', 'host=1-1', {'ostype': 'win11'}, True), ('tablet', '0', {'hotplug': 'disk'}, False),
    ('scsi1', 'local-lvm:1', {}, True), ('scsi1', 'local-lvm:1', {'hotplug': 'network'}, False),
    ('ide1', 'local-lvm:1', {}, False), ('sata1', 'local-lvm:1', {}, False), ('efidisk0', 'local-lvm:1', {}, False),
    ('tpmstate0', 'local-lvm:1,version=v2.0', {}, False),
    ('scsi0', DISK + ',backup=0,mbps_rd=10', {}, True), ('scsi0', DISK + ',cache=writeback', {}, False),
    ('ide2', 'local:iso/x.iso,media=cdrom', {'hotplug': '0'}, True),
    ('net1', 'virtio,bridge=vmbr0', {}, True), ('net1', 'virtio,bridge=vmbr0', {'hotplug': 'disk'}, False),
    ('net0', 'virtio=BC:24:11:00:00:01,bridge=vmbr1,tag=5', {'hotplug': '0'}, True),
    ('net0', 'e1000=BC:24:11:00:00:01,bridge=vmbr0', {'hotplug': 'disk'}, False),
    ('net0', 'virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=1400', {}, True),
    ('hotplug', 'disk,network', {}, True), ('hotplug', 'disk,memory', {}, False),
    ('bios', 'ovmf', {}, False), ('machine', 'q35', {}, False),
])
def test_hotplugs(key, new, extra, live):
    config = dict(RUNNING, **extra)
    config = dict((k, v) for k, v in config.items() if v is not None)
    assert qemu.hotplugs(config, key, new) is live


@pytest.mark.parametrize('key,extra,live', [
    ('vcpus', {'vcpus': '2'}, False), ('vcpus', {'vcpus': '2', 'hotplug': 'cpu'}, True), ('shares', {}, True),
    ('balloon', {}, True), ('balloon', {'balloon': '0'}, False), ('ide2', {}, False), ('scsi0', {}, True),
    ('net0', {'hotplug': 'disk'}, False), ('cpulimit', {}, True), ('numa', {}, False),
])
def test_hot_unplugs(key, extra, live):
    assert qemu.hot_unplugs(dict(RUNNING, **extra), key) is live


def test_predict_pending():
    pending = {'cores': {'value': '2', 'pending': '4'}}
    out = qemu.predict_pending(dict(RUNNING, cores='2', numa='1'), pending,
                               {'memory': 4096, 'description': 'x', 'scsi1': 'local-lvm:1', 'ide1': 'local-lvm:1',
                                'cores': '2'}, ['numa'])
    # cores written back to its current value: cleanup_pending drops it.
    assert out == {'memory': {'value': '2048', 'pending': '4096'}, 'ide1': {'value': None, 'pending': 'local-lvm:1'},
                   'numa': {'value': '1', 'delete': True}}
    assert qemu.predict_pending(RUNNING, {}, {}, ['nonexistent']) == {}
