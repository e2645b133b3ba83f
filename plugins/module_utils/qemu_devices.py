# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""QEMU drives and NICs (parse, canonical form, plan), qemu-server's hot-plug rules and the keys only root@pam may set.

Part of qemu, loaded on first use: qemu gives every name here as its own (qemu.plan_disk, qemu.predict_pending ...),
so a run that names no disk or NIC and changes nothing never compiles this file (a module's module_utils are
compiled from its AnsiballZ zip at each run). Import these names through qemu.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.qemu import (
    DISK_SLOT_RE,
    DRIVE_BOOL_OPTIONS,
    DRIVE_DEFAULTS,
    NET_BOOL_OPTIONS,
    NET_DEFAULTS,
    NET_MODELS,
    NET_NUMBER_OPTIONS,
    NET_OPTION_KEYS,
    NET_SLOT_RE,
)

# ---------------------------------------------------------------- drives


def parse_drive(text):
    """'local-lvm:vm-100-disk-0,iothread=1,size=32G' -> ('local-lvm:vm-100-disk-0', {'iothread': '1', 'size': '32G'})."""
    props = propstring.parse(text, default_key='file')
    return props.pop('file', ''), props


def render_drive(volume, props):
    return propstring.render(dict(props, file=volume), default_key='file')


def volume_storage(volume):
    """The storage of a volume id ('local-lvm:vm-100-disk-0' -> 'local-lvm'); None for a path or a keyword."""
    if not volume or volume.startswith('/') or ':' not in volume:
        return None
    return volume.split(':', 1)[0]


def is_cdrom(volume, props):
    return props.get('media') == 'cdrom' or volume in ('cdrom',)


def is_cloudinit(volume):
    return bool(re.search(r'(?:^|[:/])vm-\d+-cloudinit(?:\.\w+)?$', volume or '')) or (volume or '').endswith(
        ':cloudinit')


def size_bytes(value, default_unit='G'):
    """A user's size (an int is GiB, as in PVE's storage:size) or PVE's size= value, in bytes."""
    if value is None:
        return None
    try:
        return propstring.parse_size(value, default_unit)
    except ValueError as error:
        raise ProxmoxConfigError(str(error)) from None


def _canon_drive_option(key, value):
    text = propstring.stringify(value).strip()
    if key in DRIVE_BOOL_OPTIONS:
        try:
            return '1' if propstring.to_bool(text) else '0'
        except ValueError:
            return text
    return text


def canonical_drive(text):
    """A drive value compared option by option: defaults dropped, booleans as 1/0, size in bytes."""
    volume, props = parse_drive(text)
    out = {'file': volume}
    for key, value in props.items():
        value = _canon_drive_option(key, value)
        if key == 'size':
            try:
                value = propstring.parse_size(value, 'B')
            except ValueError:
                pass
        if DRIVE_DEFAULTS.get(key) == value:
            continue
        out[key] = value
    return out


class DiskChange(object):
    """What one disk of the user's `disks` needs: a config value to send, a resize, a detach or a destroy."""

    def __init__(self, slot):
        self.slot = slot
        self.value = None        # config value to send (new disk, changed options)
        self.resize = None       # new size in bytes
        self.detach = False      # delete the slot: the volume becomes unusedN
        self.destroy = False     # delete the slot and destroy the volume
        self.before = None
        self.after = None

    @property
    def changed(self):
        return bool(self.value or self.resize or self.detach or self.destroy)


_DRIVE_OPTION_NAMES = ('cache', 'discard', 'ssd', 'iothread', 'backup', 'replicate', 'aio', 'ro', 'serial', 'media',
                       'format')


def _user_drive_options(spec):
    """The drive options the user gave (structured ones and the free `options` dict), as PVE's keys."""
    out = {}
    for name in _DRIVE_OPTION_NAMES:
        if name in ('format', 'media'):
            continue
        value = spec.get(name)
        if value is None:
            continue
        out[name] = _canon_drive_option(name, 'on' if value is True and name == 'discard' else value)
    for key, value in (spec.get('options') or {}).items():
        if value is not None:
            out[str(key)] = _canon_drive_option(str(key), value)
    if spec.get('media'):
        out['media'] = spec['media']
    return out


def _gib(num_bytes):
    """bytes -> the GiB number of PVE's storage:size (exact decimal, no trailing zeros)."""
    value = Decimal(int(num_bytes)) / Decimal(1024 ** 3)
    text = format(value.normalize(), 'f')
    return text


def plan_disk(spec, current, vmid=None):
    """The DiskChange for one entry of `disks`, given the current value of its slot (None when empty).

    spec: slot, state (present/absent), storage, size, format, cache, discard, ssd, iothread, backup, replicate,
    import_from, media, volume, cloudinit, destroy, options. Raises ProxmoxConfigError for a shrink, a disk on
    another storage than asked, a format change of an existing disk, or a new disk without a storage.
    """
    slot = spec['slot']
    if not DISK_SLOT_RE.match(slot):
        raise ProxmoxConfigError('disks: {0!r} is not a disk slot (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, '
                                 'tpmstate0)'.format(slot))
    change = DiskChange(slot)
    change.before = canonical_drive(current) if current else None
    if spec.get('state') == 'absent':
        if current:
            change.destroy = bool(spec.get('destroy'))
            change.detach = not change.destroy
        change.after = None
        return change
    wanted = _user_drive_options(spec)
    if current is None:
        change.value = _new_drive(spec, wanted, slot)
        after = canonical_drive(change.value)
        change.after = after
        return change
    volume, props = parse_drive(current)
    # An existing drive: the volume stays (moving disks is another task), options converge, the size grows.
    if spec.get('cloudinit'):
        if not is_cloudinit(volume):
            raise ProxmoxConfigError('disks: {0} holds {1!r}, not a cloud-init drive: remove it first (state: absent)'
                                     .format(slot, volume))
        change.after = change.before
        return change
    if spec.get('volume') is not None and (is_cdrom(volume, props) or spec.get('media') == 'cdrom'):
        if spec['volume'] != volume:
            wanted = dict(wanted, media='cdrom')
            merged = dict(props, **wanted)
            merged.pop('size', None)
            change.value = render_drive(spec['volume'], merged)
            change.after = canonical_drive(change.value)
            return change
    elif spec.get('volume') is not None and spec['volume'] != volume:
        raise ProxmoxConfigError('disks: {0} holds {1!r}, not {2!r}: remove it first (state: absent) to attach '
                                 'another volume'.format(slot, volume, spec['volume']))
    storage = spec.get('storage')
    if storage and volume_storage(volume) and storage != volume_storage(volume):
        raise ProxmoxConfigError('disks: {0} is on storage {1!r}, not {2!r}: pve_vm does not move disks (move it '
                                 'with the API or the GUI, or remove and recreate it)'.format(
                                     slot, volume_storage(volume), storage))
    if spec.get('format') and props.get('format') and spec['format'] != props['format']:
        raise ProxmoxConfigError('disks: {0} has format {1!r}, not {2!r}: a format is set when a disk is created'.format(
            slot, props['format'], spec['format']))
    merged = dict(props)
    merged.update(wanted)
    have_size = size_bytes(props.get('size'), 'B') if props.get('size') else None
    if spec.get('size') is not None and not is_cdrom(volume, props) and slot not in ('efidisk0', 'tpmstate0'):
        want_size = size_bytes(spec['size'])
        if have_size is not None and want_size < have_size:
            raise ProxmoxConfigError('disks: {0} is {1}, asked {2}: disks never shrink (shrinking disks is not '
                                     'supported)'.format(slot, propstring.format_size(have_size),
                                                         propstring.format_size(want_size)))
        if have_size is None or want_size > have_size:
            change.resize = want_size
    current_canon = canonical_drive(current)
    new_canon = canonical_drive(render_drive(volume, merged))
    if new_canon != current_canon:
        if change.resize:
            # The value sent with a grow carries the new size: a stale size= must not come back with a pending
            # change applied later.
            merged['size'] = propstring.format_size(change.resize)
        change.value = render_drive(volume, merged)
    after = dict(new_canon)
    if change.resize:
        after['size'] = change.resize
    change.after = after
    return change


def _new_drive(spec, wanted, slot):
    """The value that makes PVE allocate (or attach) a disk: storage:size[,import-from=...][,options]."""
    props = dict(wanted)
    if spec.get('format'):
        props['format'] = spec['format']
    if spec.get('volume') is not None:
        if spec['volume'] not in ('none', 'cdrom') and spec.get('media') != 'cdrom' and not volume_storage(spec['volume']):
            raise ProxmoxConfigError('disks: {0}: volume {1!r} is not of the form storage:name'.format(
                slot, spec['volume']))
        return render_drive(spec['volume'], props)
    storage = spec.get('storage')
    if not storage:
        raise ProxmoxConfigError('disks: {0} does not exist yet: give its storage'.format(slot))
    if spec.get('cloudinit'):
        props.pop('media', None)
        return render_drive('{0}:cloudinit'.format(storage), props)
    if spec.get('import_from'):
        props['import-from'] = spec['import_from']
        return render_drive('{0}:0'.format(storage), props)
    if slot in ('efidisk0', 'tpmstate0'):
        return render_drive('{0}:1'.format(storage), props)
    if spec.get('size') is None:
        raise ProxmoxConfigError('disks: {0} does not exist yet: give its size (or import_from)'.format(slot))
    return render_drive('{0}:{1}'.format(storage, _gib(size_bytes(spec['size']))), props)


# ---------------------------------------------------------------- NICs

def parse_net(text):
    """'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1' -> {'model': 'virtio', 'macaddr': 'BC:...', ...}."""
    # A bare first item is the model (PVE's default key): 'virtio,bridge=vmbr0' has no MAC address yet.
    props = propstring.parse(text, default_key='model')
    out = {}
    for key, value in props.items():
        if key == 'model':
            out['model'] = value
        elif key in NET_MODELS:
            out['model'] = key
            if value:
                out['macaddr'] = value.upper()
        elif key == 'macaddr':
            out['macaddr'] = value.upper()
        else:
            out[key] = value
    return out


def canonical_net(value):
    if value is None:
        return None
    props = parse_net(value) if isinstance(value, str) else dict(value)
    out = {}
    for key, item in props.items():
        item = propstring.stringify(item).strip()
        if key in NET_BOOL_OPTIONS:
            try:
                item = '1' if propstring.to_bool(item) else '0'
            except ValueError:
                pass
        if NET_DEFAULTS.get(key) == item:
            continue
        if key == 'macaddr':
            item = item.upper()
        out[key] = item
    return out


def render_net(props):
    props = dict(props)
    model = props.pop('model', 'virtio')
    mac = props.pop('macaddr', None)
    head = '{0}={1}'.format(model, mac) if mac else model
    rest = propstring.render(props)
    return head + (',' + rest if rest else '')


class NetChange(object):
    def __init__(self, slot):
        self.slot = slot
        self.value = None
        self.delete = False
        self.before = None
        self.after = None

    @property
    def changed(self):
        return bool(self.value or self.delete)


def plan_net(spec, current):
    """The NetChange for one entry of `nets`: options the user gave over the current ones, the MAC kept."""
    slot = spec['slot']
    if not NET_SLOT_RE.match(slot):
        raise ProxmoxConfigError('nets: {0!r} is not a network device slot (net0 ... net31)'.format(slot))
    change = NetChange(slot)
    change.before = canonical_net(current) if current else None
    if spec.get('state') == 'absent':
        change.delete = current is not None
        return change
    merged = parse_net(current) if current else {}
    if spec.get('model'):
        if spec['model'] not in NET_MODELS:
            raise ProxmoxConfigError('nets: {0}: model {1!r} is not one of {2}'.format(slot, spec['model'],
                                                                                       ', '.join(NET_MODELS)))
        merged['model'] = spec['model']
    merged.setdefault('model', 'virtio')
    if spec.get('mac'):
        if not re.match(r'^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$', spec['mac']):
            raise ProxmoxConfigError('nets: {0}: {1!r} is not a MAC address'.format(slot, spec['mac']))
        merged['macaddr'] = spec['mac'].upper()
    if spec.get('bridge') is not None:
        merged['bridge'] = spec['bridge']
    if current is None and not merged.get('bridge'):
        raise ProxmoxConfigError('nets: {0} does not exist yet: give its bridge'.format(slot))
    for name in NET_BOOL_OPTIONS:
        if spec.get(name) is not None:
            merged[name] = '1' if spec[name] else '0'
    for name in NET_NUMBER_OPTIONS:
        value = spec.get(name)
        if value is None:
            continue
        if value in (0, '0', ''):
            merged.pop(name, None)
        else:
            merged[name] = propstring.stringify(value)
    for key, value in (spec.get('options') or {}).items():
        if str(key) not in NET_OPTION_KEYS:
            raise ProxmoxConfigError('nets: {0}: {1!r} is not an option of a network device (options: {2})'.format(
                slot, key, ', '.join(NET_OPTION_KEYS)))
        if value is None or value == '':
            merged.pop(str(key), None)
        else:
            merged[str(key)] = propstring.stringify(value)
    # Options at PVE's default are left out, as PVE writes them.
    clean = dict((k, v) for k, v in merged.items() if k not in NET_BOOL_OPTIONS or canonical_net({k: v}))
    change.after = canonical_net(clean)
    if change.after != change.before:
        change.value = render_net(clean)
    return change


# ---------------------------------------------------------------- hot-plug: applied at once or pending

# What a running VM does with a configuration change, after qemu-server's PVE/QemuServer.pm
# (vmconfig_hotplug_pending, $fast_plug_option, parse_hotplug_features, vmconfig_update_disk, vmconfig_update_net,
# vmconfig_update_agent) and PVE/API2/Qemu.pm (update_vm_api: every change is written to the pending section, then
# hot-plugged; what cannot be stays pending until the next start or reboot).
HOTPLUG_DEFAULT = 'network,disk,usb'
# $fast_plug_option plus every cloud-init key ($confdesc_cloudinit): written at once, they cannot fail.
FAST_PLUG_KEYS = ('description', 'hookscript', 'lock', 'migrate_downtime', 'migrate_speed', 'name', 'onboot',
                  'protection', 'shares', 'startup', 'tags', 'vmstatestorage', 'citype', 'ciuser', 'cipassword',
                  'ciupgrade', 'cicustom', 'searchdomain', 'nameserver', 'sshkeys')
# Changed through cgroups (cpuunits, cpulimit) or a balloon target: live whatever `hotplug` says.
LIVE_RESOURCE_KEYS = ('cpuunits', 'cpulimit')
# vmconfig_update_disk: a change of one of these options of an attached disk waits for the next start.
COLD_DRIVE_OPTIONS = ('aio', 'discard', 'iothread', 'queues', 'product', 'cache', 'ssd', 'vendor', 'ro')
# vmconfig_update_net: a change of one of these needs the NIC unplugged and plugged again (the `network` feature).
REPLUG_NET_OPTIONS = ('model', 'macaddr', 'queues', 'mtu')
# vmconfig_update_agent: the only agent option a running VM takes at once.
LIVE_AGENT_OPTIONS = ('fstrim_cloned_disks',)


def hotplug_features(value):
    """parse_hotplug_features: the features of a `hotplug` value (unset or `1`: network, disk, usb; `0`: none)."""
    text = HOTPLUG_DEFAULT if value is None or str(value) == '1' else str(value)
    if text == '0':
        return frozenset()
    return frozenset(f for f in re.split(r'[,;\s]+', text) if f)


def _fast_plug(key):
    return key in FAST_PLUG_KEYS or re.match(r'^ipconfig\d+$', key) is not None


def _usb_hotplug(features, config):
    ostype = str(config.get('ostype') or '')
    found = re.match(r'^win(\d+)$', ostype)
    return 'usb' in features and (ostype == 'l26' or (found is not None and int(found.group(1)) > 7))


def _changed(old, new, names):
    return any(old.get(name) != new.get(name) for name in names)


def hotplugs(config, key, new):
    """True when a running VM with current configuration `config` takes `key`=`new` at once; False when the new
    value stays pending until the next start or reboot (a refused hot-plug stays pending too)."""
    features = hotplug_features(config.get('hotplug'))
    old = config.get(key)
    if _fast_plug(key) or key in LIVE_RESOURCE_KEYS:
        return True
    if key == 'hotplug':
        return not re.search(r'cpu|memory', '{0} {1}'.format(new, config.get('hotplug') or ''))
    if key == 'tablet':
        return 'usb' in features
    if re.match(r'^usb\d+$', key):
        return _usb_hotplug(features, config)
    if key in ('vcpus', 'memory'):
        return ('cpu' if key == 'vcpus' else 'memory') in features
    if key == 'balloon':
        return (old is None or str(old) != '0') == (str(new) != '0')
    if key == 'agent':
        if not old:
            return False
        before, after = propstring.parse(old, 'enabled'), propstring.parse(new, 'enabled')
        names = (set(before) | set(after)) - set(LIVE_AGENT_OPTIONS)
        return not _changed(before, after, names)
    if NET_SLOT_RE.match(key):
        if old:
            was, now = parse_net(old), parse_net(new)
            now.setdefault('macaddr', was.get('macaddr'))
            if not _changed(was, now, REPLUG_NET_OPTIONS) and was.get('bridge') and now.get('bridge'):
                return True
        return 'network' in features
    if DISK_SLOT_RE.match(key):
        if key in ('efidisk0', 'tpmstate0'):
            return False
        cold_slot = re.match(r'^(ide|sata)\d+$', key) is not None
        if old:
            was_volume, was = parse_drive(old)
            now_volume, now = parse_drive(new)
            if (was.get('media') or 'disk') != (now.get('media') or 'disk'):
                return False  # PVE refuses: unable to change media type
            if is_cdrom(was_volume, was):
                return True  # a new medium
            if was_volume != now_volume:
                return 'disk' in features and not cold_slot
            return not _changed(was, now, COLD_DRIVE_OPTIONS)
        return 'disk' in features and not cold_slot
    return False


def hot_unplugs(config, key):
    """True when a running VM removes `key` at once; False when the removal stays pending."""
    features = hotplug_features(config.get('hotplug'))
    if key == 'hotplug':
        return not re.search(r'cpu|memory', str(config.get('hotplug') or ''))
    if key == 'tablet':
        return 'usb' in features
    if re.match(r'^usb\d+$', key):
        return _usb_hotplug(features, config)
    if key == 'vcpus':
        return 'cpu' in features
    if key == 'balloon':
        return str(config.get('balloon', '')) != '0'
    if _fast_plug(key) or key in LIVE_RESOURCE_KEYS:
        return True
    if NET_SLOT_RE.match(key):
        return 'network' in features
    if DISK_SLOT_RE.match(key):
        return 'disk' in features and re.match(r'^(efidisk|ide|sata|tpmstate)\d+$', key) is None
    if key == 'memory':
        return 'memory' in features
    return False


def predict_pending(config, pending, params, delete):
    """The pending section a running VM will hold after a config update of `params` and `delete`: pending (as
    read_pending() gives it) with the keys of this update that stay pending added, those applied at once removed,
    and a pending value equal to the current one dropped (cleanup_pending)."""
    out = dict((k, dict(v)) for k, v in pending.items())
    for key, value in params.items():
        value = propstring.stringify(value)
        if hotplugs(config, key, value) or (key in config and propstring.stringify(config[key]) == value):
            out.pop(key, None)
        else:
            out[key] = {'value': config.get(key), 'pending': value}
    for key in delete:
        if key not in config:
            out.pop(key, None)
        elif hot_unplugs(config, key):
            out.pop(key, None)
        else:
            out[key] = {'value': config.get(key), 'delete': True}
    return out


# ---------------------------------------------------------------------- keys only root@pam may set
# qemu-server's check_vm_modify_config_perm (PVE/API2/Qemu.pm) gives every key a privilege group; a key outside
# them all is root@pam's alone ("only root can set '<key>' config"), and so are real serial ports, host USB devices
# and non-mapped PCI devices (check_usb_perm, check_hostpci_perm). PVE compares the whole login, so every API
# token, root@pam's included, is refused.
_PRIVILEGED_KEYS = frozenset((
    'cores', 'cpu', 'runningcpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus',
    'memory', 'balloon', 'shares', 'allow-ksm',
    'acpi', 'hotplug', 'kvm', 'machine', 'runningmachine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog', 'audio0',
    'rng0',
    'agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime', 'migrate_speed', 'name',
    'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf', 'template',
    'freeze', 'boot', 'bootdisk', 'vmstatestorage', 'running-nets-host-mtu',
    'cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys', 'vmstate',
    'cdrom', 'tags'))
_VALUE_CHECKED_RE = re.compile(r'^(?:unused|serial|usb|hostpci|virtiofs|numa|net|ipconfig)\d+$')


def _device(text):
    props = propstring.parse(propstring.stringify(text), default_key='host')
    return props


def _root_only_value(key, value):
    """Why setting (or removing) key with value needs root@pam, or None."""
    text = propstring.stringify(value).strip()
    if re.match(r'^serial\d+$', key):
        return None if text == 'socket' else '{0} as the real device {1!r}'.format(key, text)
    if re.match(r'^usb\d+$', key):
        host = _device(text).get('host')
        return '{0} as the host USB device {1!r}'.format(key, host) if host and host.lower() != 'spice' else None
    if re.match(r'^hostpci\d+$', key):
        props = _device(text)
        if props.get('host'):
            return '{0} as the non-mapped PCI device {1!r} (a resource mapping needs Mapping.Use instead)'.format(
                key, props['host'])
        if 'romfile' in props:
            return "{0} with 'romfile'".format(key)
    return None


def root_only_changes(params, delete=(), current=None):
    """What of a config write only root@pam may do in Proxmox VE, as phrases naming the key ([] when nothing).

    `params` are the keys to set, `delete` the keys to remove, `current` the VM's configuration (for what a removed
    serial port, USB or PCI device was).
    """
    current = current or {}
    found = []
    for key in sorted(params):
        if not (DISK_SLOT_RE.match(key) or _VALUE_CHECKED_RE.match(key) or key in _PRIVILEGED_KEYS):
            found.append("setting '{0}'".format(key))
            continue
        why = _root_only_value(key, params[key])
        if why is None and current.get(key) is not None and re.match(r'^(?:serial|usb|hostpci)\d+$', key):
            # Changing a serial port, USB or PCI device is checked against the old device as well.
            why = _root_only_value(key, current[key])
        if why:
            found.append('setting ' + why)
    for key in delete:
        if not (DISK_SLOT_RE.match(key) or _VALUE_CHECKED_RE.match(key) or key in _PRIVILEGED_KEYS):
            found.append("removing '{0}'".format(key))
        elif current.get(key) is not None:
            why = _root_only_value(key, current[key])
            if why:
                found.append('removing ' + why)
    return found
