# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""What is specific to QEMU VMs: drives, NICs, cloud-init and the other configuration keys, in canonical form.

Drives, NICs, the hot-plug rules and the root-only keys live in qemu_devices, loaded the first time one of their
names is asked of this module (qemu.plan_disk, `from ...qemu import plan_net`): a no-change run that names no disk
or NIC does not compile them. Import those names through qemu all the same.

Parsing and formatting go through propstring. The functions here are pure: they take the user's options and the
VM's current configuration, and say what to send (config parameters, keys to delete, disks to resize, disks to
destroy), failing with ProxmoxConfigError before any write when the request cannot be met (a disk shrink, a
move to another storage, an unknown key).
"""

from __future__ import annotations

import re
from typing import Any, Dict
from urllib.parse import quote, unquote

from ansible_collections.proxfleet.proxmox.plugins.module_utils import membership, propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

DISK_SLOT_RE = re.compile(r'^(ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0|tpmstate0)$')
NET_SLOT_RE = re.compile(r'^net([0-9]|[1-2][0-9]|3[01])$')
UNUSED_RE = re.compile(r'^unused\d+$')
NET_MODELS = ('e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
              'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3')
# The keys of a VM's configuration (qemu-server's schema): checked before any write, so a typo fails early.
_KEY_PATTERNS = (
    r'acpi|affinity|agent|allow-ksm|amd-sev|arch|args|audio0|autostart|balloon|bios|boot|bootdisk|cdrom|cicustom|'
    r'cipassword|citype|ciupgrade|ciuser|cores|cpu|cpulimit|cpuunits|description|efidisk0|freeze|hookscript|'
    r'hotplug|hugepages|intel-tdx|ivshmem|keephugepages|keyboard|kvm|localtime|lock|machine|memory|migrate_downtime|'
    r'migrate_speed|name|nameserver|numa|onboot|ostype|protection|reboot|rng0|scsihw|searchdomain|shares|smbios1|'
    r'smp|sockets|spice_enhancements|sshkeys|startdate|startup|tablet|tags|tdf|template|tpmstate0|vcpus|vga|'
    r'vmgenid|vmstatestorage|watchdog|'
    r'ide[0-3]|sata[0-5]|scsi(?:[0-9]|[12][0-9]|30)|virtio(?:[0-9]|1[0-5])|unused\d+|net\d+|numa\d+|'
    r'hostpci\d+|usb\d+|serial[0-3]|parallel[0-2]|ipconfig\d+|virtiofs\d+')
# KNOWN_KEY_RE, the compiled pattern, is made on first use (see __getattr__): a run that gives no raw key never
# pays for compiling it.
# Keys a module option manages (raw `config` may not name them: one way to set each).
DRIVE_BOOL_OPTIONS = ('ssd', 'iothread', 'backup', 'replicate', 'ro', 'shared')
# Values PVE takes when an option is missing: a missing key and its default compare equal.
DRIVE_DEFAULTS = {'ssd': '0', 'iothread': '0', 'discard': 'ignore', 'backup': '1', 'replicate': '1', 'ro': '0',
                  'shared': '0'}
NET_DEFAULTS = {'firewall': '0', 'link_down': '0'}
NET_BOOL_OPTIONS = ('firewall', 'link_down')
NET_NUMBER_OPTIONS = ('tag', 'mtu', 'rate', 'queues')
# The secret keys of a configuration: the same list as redact.GUEST_SECRET_KEYS (a unit test keeps them equal; not
# imported from redact, whose log patterns a VM run does not need at start-up).
SECRET_KEYS = ('cipassword',)
# The options of a network device other than its model and MAC (qemu-server's net format).
NET_OPTION_KEYS = ('bridge', 'firewall', 'link_down', 'mtu', 'queues', 'rate', 'tag', 'trunks')


_LAZY: Dict[str, Any] = {}


def _known_key_re():
    if 'KNOWN_KEY_RE' not in _LAZY:
        _LAZY['KNOWN_KEY_RE'] = re.compile('^(?:' + _KEY_PATTERNS + ')$')
    return _LAZY['KNOWN_KEY_RE']


def _devices():
    """qemu_devices, imported on first use (it imports this module's constants)."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import qemu_devices
    return qemu_devices


def __getattr__(name):
    """qemu.KNOWN_KEY_RE, and every name of qemu_devices (drives, NICs, hot-plug, root-only keys), on first use."""
    if name == 'KNOWN_KEY_RE':
        return _known_key_re()
    if name.startswith('__'):
        raise AttributeError(name)
    try:
        return getattr(_devices(), name)
    except AttributeError:
        raise AttributeError('module {0!r} has no attribute {1!r}'.format(__name__, name)) from None


def check_key(key, where='config'):
    if not _known_key_re().match(str(key)):
        raise ProxmoxConfigError('{0}: {1!r} is not a configuration key of a Proxmox VE VM'.format(where, key))
    return key


# ---------------------------------------------------------------- cloud-init and other keys

def encode_sshkeys(keys):
    """Public keys (a list, or text with one key a line) -> the URI-encoded text PVE takes and stores."""
    return quote('\n'.join(decode_sshkeys(keys)) + '\n', safe='')


def decode_sshkeys(value):
    """The key lines of an sshkeys value (URI-encoded as PVE stores it, or plain), trimmed, empty lines dropped."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        lines = []
        for item in value:
            lines.extend(str(item).splitlines())
    else:
        text = str(value)
        if '%' in text and ' ' not in text:
            text = unquote(text)
        lines = text.splitlines()
    return [re.sub(r'\s+', ' ', line.strip()) for line in lines if line.strip()]


def _memory(value):
    """memory: '2048' or PVE 8.1+'s 'current=2048' -> 2048."""
    props = propstring.parse(value, default_key='current') if isinstance(value, str) else {'current': value}
    current = props.get('current')
    if current is None:
        return propstring.stringify(value)
    try:
        return int(float(current))
    except (TypeError, ValueError):
        return propstring.stringify(value)


def _props_normalizer(default_key=None, lists=(), bools=()):
    def normalize(value):
        if isinstance(value, dict):
            props = dict((str(k), propstring.stringify(v)) for k, v in value.items() if v is not None)
        else:
            props = propstring.parse(value, default_key)
        for key in lists:
            if key in props:
                props[key] = propstring.split_list(props[key], ';, ')
        for key in bools:
            if key in props:
                try:
                    props[key] = propstring.to_bool(props[key])
                except ValueError:
                    pass
        return props
    return normalize


def _props_serializer(default_key=None):
    def serialize(value):
        if isinstance(value, dict):
            return propstring.render(dict((str(k), v) for k, v in value.items() if v is not None),
                                     default_key=default_key)
        return value
    return serialize


def _lower_set(value):
    return sorted(set(item.lower() for item in propstring.split_list(value, ',; ')))


def _sshkeys_field():
    return Field('sshkeys', normalize=decode_sshkeys, serialize=encode_sshkeys)


def _text_list(value):
    return propstring.split_list(value, ', ;')


def config_fields():
    """The compare Fields of the first-class options that map to one configuration key each."""
    return [
        Field('name'), Field('description'),
        Field('cores', kind='int'), Field('sockets', kind='int'),
        Field('cpu', normalize=_props_normalizer('cputype', lists=('flags',)), serialize=_props_serializer('cputype')),
        Field('memory', normalize=_memory, serialize=str),
        Field('balloon', kind='int'), Field('numa', kind='bool'),
        Field('machine', normalize=_props_normalizer('type'), serialize=_props_serializer('type')),
        Field('bios'), Field('ostype'), Field('scsihw'),
        Field('boot', normalize=_props_normalizer('legacy', lists=('order',)), serialize=_boot_serialize),
        Field('agent', normalize=_props_normalizer('enabled', bools=('enabled', 'fstrim_cloned_disks', 'freeze-fs-on-backup')),
              serialize=_agent_serialize),
        Field('onboot', kind='bool'),
        Field('startup', normalize=_props_normalizer(), serialize=_props_serializer()),
        Field('protection', kind='bool'),
        Field('vga', normalize=_props_normalizer('type'), serialize=_props_serializer('type')),
        Field('ciuser'), Field('cipassword', write_only=True),
        _sshkeys_field(),
        Field('nameserver', normalize=_text_list, serialize=lambda v: ' '.join(_text_list(v))),
        Field('searchdomain', normalize=_text_list, serialize=lambda v: ' '.join(_text_list(v))),
        Field('cicustom', normalize=_props_normalizer(), serialize=_props_serializer()),
        Field('citype'), Field('ciupgrade', kind='bool'),
    ]


def _agent_serialize(value):
    """agent: a plain boolean (True, 'yes', 'on' ...) is sent as PVE writes it, 1 or 0."""
    try:
        return propstring.pve_bool(value)
    except ValueError:
        return _props_serializer('enabled')(value)


def _boot_serialize(value):
    if isinstance(value, dict):
        value = dict(value)
        if isinstance(value.get('order'), (list, tuple)):
            value['order'] = ';'.join(value['order'])
        return propstring.render(value, default_key='legacy')
    if isinstance(value, (list, tuple)):
        return 'order=' + ';'.join(value)
    return value


def boot_option(value):
    """The boot option as given: a list of devices is the boot order."""
    if isinstance(value, (list, tuple)):
        return 'order=' + ';'.join(str(v) for v in value)
    return value


def tags_plan(wanted, current, purge=False):
    """(value to send or None, before, after) for tags: a set (order and case ignored); additive unless purge."""
    have = _lower_set(current) if current else []
    after = sorted(membership.plan(have, _lower_set(wanted), exact=purge, label='tag').final)
    if after == have:
        return None, have, after
    return (';'.join(after) if after else ABSENT), have, after


def canonical_raw(key, value):
    """A raw `config` value in canonical form: property strings key by key, booleans as 1/0, else text."""
    if value is None:
        return None
    if key == 'sshkeys':
        return decode_sshkeys(value)
    if key == 'tags':
        return _lower_set(value)
    if DISK_SLOT_RE.match(key):
        return _devices().canonical_drive(value)
    if NET_SLOT_RE.match(key):
        return _devices().canonical_net(value)
    if isinstance(value, dict):
        return dict((str(k), propstring.stringify(v)) for k, v in value.items() if v is not None)
    text = propstring.stringify(value).strip()
    if '=' in text:
        try:
            return propstring.parse(text, default_key='_')
        except ValueError:
            return text
    return text


def raw_value(key, value):
    """A raw `config` value as sent: dicts rendered as property strings, lists joined, booleans as 1/0."""
    if key == 'sshkeys':
        return encode_sshkeys(value)
    if isinstance(value, dict):
        return propstring.render(dict((str(k), v) for k, v in value.items() if v is not None))
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, (list, tuple)):
        return ','.join(propstring.stringify(v) for v in value)
    return value


def slot_values(option, values, pattern, prefix):
    """A dict option of slot -> value (ipconfig, serial, hostpci, usb): {'ipconfig0': ...}; keys may be the bare
    index ('0'). Values may be dicts (rendered as property strings) or strings; '' or 'absent' removes."""
    out = {}
    for key, value in (values or {}).items():
        key = str(key)
        if key.isdigit():
            key = prefix + key
        if not re.match(pattern, key):
            raise ProxmoxConfigError('{0}: {1!r} is not a {2}N key'.format(option, key, prefix))
        if value in ('', 'absent') or value is None:
            out[key] = ABSENT
        elif isinstance(value, dict):
            out[key] = propstring.render(dict((str(k), v) for k, v in value.items() if v is not None))
        else:
            out[key] = propstring.stringify(value)
    return out


def mask_config(config):
    """A config for results: secrets masked, sshkeys decoded."""
    out = {}
    for key, value in (config or {}).items():
        if key in SECRET_KEYS:
            out[key] = '********'
        elif key == 'sshkeys':
            out[key] = '\n'.join(decode_sshkeys(value))
        elif key == 'digest':
            continue
        else:
            out[key] = value
    return out
