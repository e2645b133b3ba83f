# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""What is specific to containers: their configuration keys, the rootfs/mpN/netN/features property strings,
checks of the user's options before any write, the plan of a change, and the container's IP addresses.

The life of a guest (locate, node auto, nextid, locks, power states, delete) is in guest_lifecycle.py; property
strings go through propstring.py. Formats and wording follow pve-container's LXC/Config.pm.

A desired configuration (desired_config()) maps config keys to values: a scalar (str/int), ABSENT (remove the
key), or a Props (sub-keys the user gave for a property string, merged over the current value: sub-keys the user
did not give are kept, as top-level keys are).
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Dict, List, NoReturn, Optional

from ansible_collections.proxfleet.proxmox.plugins.module_utils import membership, propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

GIB = 1024 ** 3
MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
MAX_NETS = 32
MAX_MOUNTS = 256

# LXC/Config.pm's $confdesc, plus the numbered keys; read-only or bookkeeping keys are refused in `config`.
SCALAR_KEYS = ('onboot', 'startup', 'arch', 'ostype', 'console', 'tty', 'cores', 'cpulimit', 'cpuunits', 'memory',
               'swap', 'hostname', 'description', 'searchdomain', 'nameserver', 'timezone', 'rootfs', 'cmode',
               'entrypoint', 'protection', 'features', 'env', 'hookscript', 'tags', 'debug')
READ_ONLY_KEYS = ('lock', 'template', 'parent', 'snaptime', 'digest', 'unprivileged')
_INDEXED_RE = re.compile(r'^(mp|net|dev|unused)(\d+)$')
_RAW_LXC_RE = re.compile(r'^lxc\.[a-z0-9_.]+$')

# Sub-keys of the property strings, with their kinds (bool sub-keys are compared as 0/1).
NET_KEYS = {'name': 'str', 'bridge': 'str', 'hwaddr': 'mac', 'ip': 'str', 'gw': 'str', 'ip6': 'str', 'gw6': 'str',
            'tag': 'int', 'firewall': 'bool', 'mtu': 'int', 'rate': 'num', 'trunks': 'list', 'link_down': 'bool',
            'host-managed': 'bool', 'type': 'str'}
MOUNT_KEYS = {'volume': 'str', 'mp': 'str', 'size': 'size', 'acl': 'bool', 'ro': 'bool', 'quota': 'bool',
              'backup': 'bool', 'replicate': 'bool', 'shared': 'bool', 'mountoptions': 'set', 'keepattrs': 'bool'}
FEATURE_KEYS = {'nesting': 'bool', 'keyctl': 'bool', 'fuse': 'bool', 'mount': 'set', 'mknod': 'bool',
                'force_rw_sys': 'bool'}
STARTUP_KEYS = {'order': 'int', 'up': 'int', 'down': 'int'}
PROP_FORMATS = {'net': (None, NET_KEYS), 'mount': ('volume', MOUNT_KEYS), 'features': (None, FEATURE_KEYS),
                'startup': (None, STARTUP_KEYS)}

# Module sub-options of a mount point -> the property string's keys.
MOUNT_OPTION_KEYS = {'path': 'mp', 'acl': 'acl', 'ro': 'ro', 'quota': 'quota', 'backup': 'backup',
                     'replicate': 'replicate', 'shared': 'shared', 'mountoptions': 'mountoptions',
                     'keepattrs': 'keepattrs'}
NET_OPTION_KEYS = ('name', 'bridge', 'hwaddr', 'ip', 'gw', 'ip6', 'gw6', 'tag', 'firewall', 'mtu', 'rate', 'trunks',
                   'link_down')
SIMPLE_OPTIONS = {
    # option: (config key, kind)
    'cores': ('cores', 'int'), 'cpulimit': ('cpulimit', 'num'),
    'cpuunits': ('cpuunits', 'int'), 'memory': ('memory', 'int'), 'swap': ('swap', 'int'),
    'onboot': ('onboot', 'bool'), 'protection': ('protection', 'bool'), 'description': ('description', 'text'),
    'searchdomain': ('searchdomain', 'str'), 'nameserver': ('nameserver', 'spaced'), 'tags': ('tags', 'tags'),
    'timezone': ('timezone', 'str'), 'ostype': ('ostype', 'str'), 'arch': ('arch', 'str'),
}
_NAME_RE = re.compile(r'^[-_.\w]+$')
_MAC_RE = re.compile(r'^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$')
_TAG_RE = re.compile(r'^[a-z0-9_][a-z0-9_\-+.]*$', re.IGNORECASE)
_FSTYPES_RE = re.compile(r'^[a-zA-Z0-9_; ]+$')
_HOSTNAME_RE = re.compile(r'^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
                          r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$')
_VOLID_RE = re.compile(r'^([A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]|[A-Za-z]):(.+)$')


class Props(dict):
    """Sub-keys of a property string that the user gave (merged over the current value)."""

    def __init__(self, kind, values):
        super().__init__(values)
        self.kind = kind
        # A mount's new volume: the storage it goes to and its size in bytes (None: an existing volume or a path).
        self.storage: Optional[str] = None
        self.size: Optional[int] = None


def key_kind(key):
    """'net', 'mount', 'features', 'startup' for property-string keys; 'scalar' otherwise."""
    if key == 'rootfs' or re.match(r'^mp\d+$', key):
        return 'mount'
    if re.match(r'^net\d+$', key):
        return 'net'
    if key in ('features', 'startup'):
        return key
    return 'scalar'


def option_exists(key):
    """True for a key a container's configuration can hold and a user may write."""
    found = _INDEXED_RE.match(key)
    if found:
        limit = MAX_NETS if found.group(1) == 'net' else MAX_MOUNTS
        return int(found.group(2)) < limit
    return key in SCALAR_KEYS or bool(_RAW_LXC_RE.match(key))


# ---------------------------------------------------------------- values

def _bool01(value):
    try:
        return '1' if propstring.to_bool(value) else '0'
    except ValueError:
        return str(value)


def _number(value):
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return str(value).strip()
    text = format(number.normalize(), 'f')
    return text


def _canonical_sub(kind, value):
    if value is None:
        return None
    if kind == 'bool':
        return _bool01(value)
    if kind == 'int' or kind == 'num':
        return _number(value)
    if kind == 'size':
        try:
            return propstring.parse_size(value, 'G')
        except ValueError:
            return str(value)
    if kind == 'set':
        return ';'.join(sorted(set(propstring.split_list(value, '; '))))
    if kind == 'list':
        return ';'.join(propstring.split_list(value, '; '))
    if kind == 'mac':
        return str(value).upper()
    return str(value)


def parse_props(kind, text):
    """A property string of a kind ('net', 'mount', 'features', 'startup') -> dict of str values."""
    default_key, _keys = PROP_FORMATS[kind]
    try:
        return propstring.parse(text, default_key)
    except propstring.PropertyStringError as error:
        raise ProxmoxConfigError(str(error)) from None


def canonical_props(kind, props):
    """A parsed property string made comparable: bools 0/1, numbers plain, sizes in bytes, lists sorted."""
    _default, keys = PROP_FORMATS[kind]
    out = {}
    for key, value in props.items():
        if value is None:
            continue
        out[key] = _canonical_sub(keys.get(key, 'str'), value)
    if kind == 'net':
        out.setdefault('type', 'veth')
    return out


def render_props(kind, props):
    """dict -> property string in PVE's order (the volume first for mounts, the name first for nets)."""
    default_key, _keys = PROP_FORMATS[kind]
    order = ['name'] if kind == 'net' else ['mp'] if kind == 'mount' else []
    values = dict((k, v) for k, v in props.items() if v is not None)
    return propstring.render(values, default_key=default_key, order=order)


def canonical(key, value):
    """A config value as compared: property strings key by key, lists sorted where order does not matter."""
    if value is None or value is ABSENT:
        return value
    kind = key_kind(key)
    if kind != 'scalar':
        parsed = value if isinstance(value, dict) else parse_props(kind, value)
        return canonical_props(kind, parsed)
    if key in ('onboot', 'protection', 'debug', 'console', 'template', 'unprivileged'):
        return _bool01(value)
    if key in ('cores', 'memory', 'swap', 'cpuunits', 'tty', 'cpulimit'):
        return _number(value)
    if key == 'tags':
        return sorted(set(t.lower() for t in propstring.split_list(value, ',; ')))
    if key == 'nameserver':
        return propstring.split_list(value, ' ,;')
    if key == 'description':
        return str(value).rstrip('\n')
    return propstring.stringify(value).strip()


def render_value(key, value):
    """A desired value as sent to the API."""
    kind = key_kind(key)
    if kind != 'scalar':
        return render_props(kind, value) if isinstance(value, dict) else str(value)
    if isinstance(value, bool):
        return 1 if value else 0
    if key == 'tags' and isinstance(value, (list, tuple, set)):
        return ';'.join(sorted(set(str(t) for t in value)))
    if key == 'nameserver' and isinstance(value, (list, tuple)):
        return ' '.join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def shown(key, value):
    """How a diff shows a config value (property strings rendered canonically)."""
    if value is None:
        return None
    if value is ABSENT:
        return None
    kind = key_kind(key)
    if kind != 'scalar':
        parsed = value if isinstance(value, dict) else parse_props(kind, value)
        props = canonical_props(kind, parsed)
        props.update(_size_shown(kind, parsed))
        return render_props(kind, props)
    return canonical(key, value)


def _size_shown(kind, parsed):
    if kind == 'mount' and parsed.get('size') is not None:
        try:
            return {'size': propstring.format_size(propstring.parse_size(parsed['size'], 'G'))}
        except ValueError:
            return {'size': parsed['size']}
    return {}


# ---------------------------------------------------------------- checks

def _fail(message: str) -> NoReturn:
    raise ProxmoxConfigError(message)


def check_ipv4(text, what):
    try:
        ipaddress.IPv4Address(str(text))
    except ValueError:
        _fail('{0}: {1!r} is not an IPv4 address'.format(what, text))


def check_ipv6(text, what):
    try:
        ipaddress.IPv6Address(str(text))
    except ValueError:
        _fail('{0}: {1!r} is not an IPv6 address'.format(what, text))


def _check_cidr(text, version, what, words):
    if str(text) in words:
        return
    try:
        iface = ipaddress.ip_interface(str(text))
    except ValueError:
        iface = None
    if iface is None or iface.version != version or '/' not in str(text):
        _fail('{0}: {1!r} is not {2} or an IPv{3} address with a prefix (CIDR, as 192.0.2.10/24)'.format(
            what, text, ', '.join(words), version) if version == 4 else
            '{0}: {1!r} is not {2} or an IPv6 address with a prefix (CIDR, as 2001:db8::10/64)'.format(
                what, text, ', '.join(words)))


def check_net(props, what):
    """Sub-keys of a netN (parsed): unknown keys, names, addresses, VLAN tag, MTU. ProxmoxConfigError if bad."""
    for key in props:
        if key not in NET_KEYS:
            _fail('{0}: unknown key {1!r} (known: {2})'.format(what, key, ', '.join(sorted(NET_KEYS))))
    for key in ('name', 'bridge'):
        if props.get(key) is not None and not _NAME_RE.match(str(props[key])):
            _fail('{0}: {1} {2!r} may hold only letters, digits, -, _ and .'.format(what, key, props[key]))
    if props.get('hwaddr') is not None and not _MAC_RE.match(str(props['hwaddr'])):
        _fail('{0}: hwaddr {1!r} is not a MAC address (XX:XX:XX:XX:XX:XX)'.format(what, props['hwaddr']))
    if props.get('hwaddr') is not None and int(str(props['hwaddr'])[:2], 16) & 1:
        _fail('{0}: hwaddr {1!r} is a multicast address; a network card needs a unicast one'.format(
            what, props['hwaddr']))
    if props.get('ip') is not None:
        _check_cidr(props['ip'], 4, what + ': ip', ('dhcp', 'manual'))
    if props.get('ip6') is not None:
        _check_cidr(props['ip6'], 6, what + ': ip6', ('auto', 'dhcp', 'manual'))
    if props.get('gw') is not None:
        check_ipv4(props['gw'], what + ': gw')
    if props.get('gw6') is not None:
        check_ipv6(props['gw6'], what + ': gw6')
    for key, low, high in (('tag', 1, 4094), ('mtu', 64, 65535)):
        if props.get(key) is not None:
            try:
                number = int(str(props[key]))
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                _fail('{0}: {1} must be a whole number from {2} to {3}, not {4!r}'.format(
                    what, key, low, high, props[key]))
    if props.get('rate') is not None:
        try:
            if float(str(props['rate'])) < 0:
                raise ValueError
        except ValueError:
            _fail('{0}: rate must be a number of MB/s, 0 or more, not {1!r}'.format(what, props['rate']))
    if props.get('trunks') is not None and not re.match(r'^\d+(?:;\d+)*$', propstring.stringify(props['trunks'])):
        _fail('{0}: trunks must be VLAN ids separated by ;, not {1!r}'.format(what, props['trunks']))
    if props.get('type') not in (None, 'veth'):
        _fail('{0}: type can only be veth'.format(what))


def check_net_string(text, what):
    """A netN value given as a string (in `config`): parsed and checked."""
    props = parse_props('net', text)
    check_net(props, what)
    return props


def mount_type(volume):
    """volume, bind (a host directory) or device (/dev/...), as LXC/Config.pm classifies a mount point."""
    volume = str(volume or '')
    if volume.startswith('/dev/'):
        return 'device'
    if volume.startswith('/'):
        return 'bind'
    return 'volume'


def _check_path(path, what):
    text = str(path)
    if not text.startswith('/') or re.search(r'/\.\.?(/|$)', text) or text.startswith('../'):
        _fail("{0}: path {1!r} must be an absolute path without '.' or '..' components".format(what, path))


def check_mount(props, what):
    """Sub-keys of a rootfs or mpN (parsed); ProxmoxConfigError if bad."""
    for key in props:
        if key not in MOUNT_KEYS:
            _fail('{0}: unknown key {1!r} (known: {2})'.format(what, key, ', '.join(sorted(MOUNT_KEYS))))
    if props.get('size') is not None:
        try:
            propstring.parse_size(props['size'], 'G')
        except ValueError as error:
            _fail('{0}: {1}'.format(what, error))
    if props.get('mp') is not None:
        _check_path(props['mp'], what)
    if props.get('mountoptions') is not None:
        for option in propstring.split_list(props['mountoptions'], '; '):
            if option not in ('noatime', 'lazytime', 'nodev', 'noexec', 'nosuid', 'discard'):
                _fail('{0}: mount option {1!r} is not one PVE allows (noatime, lazytime, nodev, noexec, nosuid, '
                      'discard)'.format(what, option))


# ---------------------------------------------------------------- the user's options

def check_hostname(name):
    if not _HOSTNAME_RE.match(str(name)):
        _fail('name {0!r} is not a valid hostname (letters, digits and -, in labels separated by .)'.format(name))
    return name


def size_bytes(value, what):
    """A size option (a number is GiB, as PVE's rootfs sizes) -> bytes."""
    try:
        size = propstring.parse_size(value, 'G')
    except ValueError as error:
        raise ProxmoxConfigError('{0}: {1}'.format(what, error)) from None
    if size <= 0:
        _fail('{0}: the size must be more than 0'.format(what))
    return size


def _mount_props(spec, what, rootfs=False):
    """Props of a rootfs/mpN option (module sub-options) -> (Props, new volume (storage, bytes) or None)."""
    props = {}
    for option, key in MOUNT_OPTION_KEYS.items():
        if spec.get(option) is not None:
            props[key] = spec[option]
    if rootfs and 'mp' in props:
        _fail('{0}: the root file system has no path'.format(what))
    if spec.get('mountoptions') is not None:
        props['mountoptions'] = ';'.join(spec['mountoptions']) if isinstance(spec['mountoptions'], list) \
            else spec['mountoptions']
    storage, volume, size = spec.get('storage'), spec.get('volume'), spec.get('size')
    if storage and volume:
        _fail('{0}: give storage (and size) for a new volume, or volume for an existing one or a bind mount, '
              'not both'.format(what))
    if volume is not None:
        props['volume'] = volume
        if mount_type(volume) != 'volume':
            _check_path(volume, what)
            if size is not None:
                _fail('{0}: a bind or device mount has no size'.format(what))
            for key in ('quota', 'replicate', 'backup'):
                if key in props:
                    _fail('{0}: {1} applies to volumes only, not to a bind or device mount'.format(what, key))
        elif not _VOLID_RE.match(str(volume)):
            _fail('{0}: volume {1!r} is not a volume id (storage:name) nor an absolute host path'.format(what, volume))
    props = Props('mount', props)
    props.storage = storage
    props.size = size_bytes(size, what) if size is not None else None
    check_mount(dict((k, v) for k, v in props.items()), what)
    return props


def _net_props(spec, what):
    props = dict((key, spec[key]) for key in NET_OPTION_KEYS if spec.get(key) is not None)
    if isinstance(props.get('trunks'), list):
        props['trunks'] = ';'.join(str(t) for t in props['trunks'])
    check_net(props, what)
    return Props('net', props)


def slot_key(slot, prefix, limit, what):
    """'mp0' or 'net1' from a slot given as such (or as a bare number); ProxmoxConfigError if out of range."""
    found = re.match(r'^(?:' + prefix + r')?(\d+)$', str(slot).strip())
    if not found or int(found.group(1)) >= limit:
        _fail('{0}: slot {1!r} is not one of {2}0 ... {2}{3}'.format(what, slot, prefix, limit - 1))
    return '{0}{1}'.format(prefix, int(found.group(1)))


def desired_config(params):
    """The desired configuration from the module's options (only what the user gave): key -> value, ABSENT or
    Props. Checks every option before any request; ProxmoxConfigError names the option."""
    desired = {}
    for option, (key, _kind) in SIMPLE_OPTIONS.items():
        value = params.get(option)
        if value is None:
            continue
        desired[key] = value
    for tag in params.get('tags') or []:
        if not _TAG_RE.match(str(tag)):
            _fail('tag {0!r} is not valid: letters, digits, _, -, + and ., starting with a letter, digit or _'.format(
                tag))
    for server in params.get('nameserver') or []:
        try:
            ipaddress.ip_address(str(server))
        except ValueError:
            _fail('nameserver {0!r} is not an IP address'.format(server))
    if params.get('cpulimit') is not None and not 0 <= float(params['cpulimit']) <= 8192:
        _fail('cpulimit must be from 0 to 8192 (0: no limit)')
    if params.get('cores') is not None and not 1 <= int(params['cores']) <= 8192:
        _fail('cores must be from 1 to 8192')
    if params.get('memory') is not None and int(params['memory']) < 16:
        _fail('memory is in MiB and must be at least 16')
    if params.get('swap') is not None and int(params['swap']) < 0:
        _fail('swap is in MiB and must be 0 or more')
    if params.get('features') is not None:
        features = dict((k, v) for k, v in params['features'].items() if v is not None)
        if isinstance(features.get('mount'), list):
            features['mount'] = ';'.join(features['mount'])
        if features.get('mount') is not None and features['mount'] != '' and \
                not _FSTYPES_RE.match(features['mount']):
            _fail('features.mount: file system types are letters, digits and _, not {0!r}'.format(features['mount']))
        desired['features'] = Props('features', features)
    if params.get('startup') is not None:
        startup = dict((k, v) for k, v in params['startup'].items() if v is not None)
        desired['startup'] = Props('startup', startup)
    if params.get('rootfs') is not None:
        desired['rootfs'] = _mount_props(params['rootfs'], 'rootfs', rootfs=True)
    for option, prefix, most, props in (('mounts', 'mp', MAX_MOUNTS, _mount_props), ('nets', 'net', MAX_NETS, _net_props)):
        for spec in params.get(option) or []:
            key = slot_key(spec['slot'], prefix, most, option)
            if key in desired:
                _fail('{0}: {1} is given twice'.format(option, key))
            desired[key] = ABSENT if spec.get('state') == 'absent' else props(spec, key)
    for key, value in sorted((params.get('config') or {}).items()):
        key = str(key)
        if key in READ_ONLY_KEYS:
            _fail('config: {0!r} cannot be set through config{1}'.format(
                key, ' (use the unprivileged option, on creation)' if key == 'unprivileged' else
                ' (use state: template)' if key == 'template' else ''))
        if not option_exists(key):
            _fail('config: unknown container option {0!r}'.format(key))
        if key in desired:
            _fail('config: {0!r} is also given by its own option; give it once'.format(key))
        if value is None:
            _fail('config: {0!r} has no value; list it in absent_keys to remove it'.format(key))
        kind = key_kind(key)
        if kind == 'net':
            check_net_string(value, 'config ' + key)
        elif kind == 'mount':
            check_mount(parse_props('mount', value), 'config ' + key)
        elif kind != 'scalar':
            parse_props(kind, value)
        desired[key] = propstring.stringify(value) if isinstance(value, (bool, float)) else value
    for key in params.get('absent_keys') or []:
        if not option_exists(key):
            _fail('absent_keys: unknown container option {0!r}'.format(key))
        if key in ('rootfs', 'memory', 'ostype', 'hostname', 'arch'):
            _fail('absent_keys: {0!r} is required and cannot be removed'.format(key))
        if key in desired:
            _fail('absent_keys: {0!r} is also given a value; give it or remove it'.format(key))
        desired[key] = ABSENT
    return desired


def bind_mounts(desired):
    """Keys of the desired mount points that are bind or device mounts."""
    return sorted(key for key, value in desired.items()
                  if key_kind(key) == 'mount' and isinstance(value, dict) and mount_type(value.get('volume')) != 'volume'
                  or key_kind(key) == 'mount' and isinstance(value, str) and
                  mount_type(parse_props('mount', value).get('volume')) != 'volume')


def storages_named(desired):
    """{storage: [keys]} of the storages new volumes go to."""
    out: Dict[str, List[str]] = {}
    for key, value in desired.items():
        if isinstance(value, Props) and value.kind == 'mount' and value.storage:
            out.setdefault(value.storage, []).append(key)
        elif key_kind(key) == 'mount' and isinstance(value, str):
            volume = parse_props('mount', value).get('volume') or ''
            found = re.match(r'^([^:\s]+):(\d+(?:\.\d+)?)$', volume)
            if found:
                out.setdefault(found.group(1), []).append(key)
    return out


def bridges_named(desired):
    """{bridge: [keys]} of the bridges the desired nets use."""
    out: Dict[str, List[str]] = {}
    for key, value in desired.items():
        if key_kind(key) != 'net' or value is ABSENT:
            continue
        props = value if isinstance(value, dict) else parse_props('net', value)
        if props.get('bridge'):
            out.setdefault(str(props['bridge']), []).append(key)
    return out


# ---------------------------------------------------------------- create

def new_volume(storage, size):
    """PVE's request for a new volume: 'storage:GiB' (GiB may be a fraction)."""
    gib = Decimal(size) / Decimal(GIB)
    return '{0}:{1}'.format(storage, format(gib.normalize(), 'f'))


def create_params(desired):
    """The configuration part of a create request. rootfs and mpN with storage and size become new volumes."""
    params = {}
    for key, value in desired.items():
        if value is ABSENT:
            continue
        if isinstance(value, Props) and value.kind == 'mount':
            props = dict(value)
            if value.storage:
                if value.size is None:
                    _fail('{0}: a new volume on storage {1!r} needs a size'.format(key, value.storage))
                props['volume'] = new_volume(value.storage, value.size)
            elif 'volume' not in props:
                _fail('{0}: give storage and size for a new volume, or volume'.format(key))
            if key != 'rootfs' and 'mp' not in props:
                _fail('{0}: a mount point needs a path'.format(key))
            params[key] = render_props('mount', props)
        elif isinstance(value, Props) and value.kind == 'net':
            if not value.get('name'):
                _fail('{0}: a new network device needs a name (as eth0)'.format(key))
            params[key] = render_props('net', value)
        else:
            params[key] = render_value(key, value)
    return params


def shown_new(desired, params):
    """How a diff shows the configuration of a create request: a new volume as 'storage:(new),size=8G'."""
    out = {}
    for key, value in params.items():
        want = desired.get(key)
        if isinstance(want, Props) and want.kind == 'mount' and want.storage:
            out[key] = render_props('mount', dict(want, volume=want.storage + ':(new)',
                                                  size=propstring.format_size(want.size)))
        else:
            out[key] = shown(key, value)
    return out


# ---------------------------------------------------------------- plan a change

class Plan(object):
    """What a change of an existing container takes: config params, keys to delete, volumes to grow, and the
    before/after of the keys that change or that the user manages."""

    def __init__(self):
        self.params = {}
        self.delete = []
        self.resize = []        # (key, bytes)
        self.before = {}
        self.after = {}

    @property
    def changed(self):
        return bool(self.params or self.delete or self.resize)


def _merge(kind, current_text, given):
    current = parse_props(kind, current_text) if current_text else {}
    merged = dict(current)
    for key, value in given.items():
        merged[key] = propstring.stringify(value) if not isinstance(value, str) else value
    return current, merged


def plan_change(desired, current, label='the container', tags_purge=False):
    """Compare desired with the current (effective) configuration; ProxmoxConfigError for a shrink, a volume on
    another storage, or a changed create-only value, before any write."""
    plan = Plan()
    for key in sorted(desired):
        want = desired[key]
        have = current.get(key)
        if want is ABSENT:
            if key in current:
                plan.delete.append(key)
                plan.before[key] = shown(key, have)
            continue
        kind = key_kind(key)
        if isinstance(want, Props) and kind == 'mount':
            _plan_mount(plan, key, want, have, label)
            continue
        if isinstance(want, Props):
            before, merged = _merge(kind, have, want)
            if kind == 'net' and not have and not merged.get('name'):
                _fail('{0}: a new network device needs a name (as eth0)'.format(key))
            plan.before[key] = shown(key, before) if have else None
            plan.after[key] = shown(key, merged)
            if canonical(key, merged) != canonical(key, before if have else None):
                plan.params[key] = render_props(kind, merged)
            continue
        if kind == 'mount':
            _plan_raw_mount(plan, key, want, have, label)
            continue
        if key == 'tags' and not tags_purge and have:
            want = sorted(membership.plan(canonical(key, have), canonical(key, want), label='tag').final)
        plan.before[key] = shown(key, have)
        plan.after[key] = shown(key, want)
        if canonical(key, want) != canonical(key, have):
            plan.params[key] = render_value(key, want)
    return plan


def _grow(plan, key, want_size, have_props, label):
    have_size = have_props.get('size')
    have_bytes = propstring.parse_size(have_size, 'G') if have_size else None
    if have_bytes is None or want_size == have_bytes:
        return
    if want_size < have_bytes:
        _fail('{0}: {1} is {2} and cannot shrink to {3} (PVE grows volumes only)'.format(
            label, key, propstring.format_size(have_bytes), propstring.format_size(want_size)))
    plan.resize.append((key, want_size))


def _plan_mount(plan, key, want, have, label):
    """A rootfs or mpN from module options."""
    if not have:
        if key == 'rootfs':
            _fail('{0} has no rootfs'.format(label))
        if not want.storage and 'volume' not in want:
            _fail('{0}: give storage and size for a new volume, or volume'.format(key))
        if 'mp' not in want:
            _fail('{0}: a mount point needs a path'.format(key))
        if want.storage and want.size is None:
            _fail('{0}: a new volume on storage {1!r} needs a size'.format(key, want.storage))
        props = dict(want)
        if want.storage:
            props['volume'] = new_volume(want.storage, want.size)
            shown_props = dict(want, volume=want.storage + ':(new)', size=propstring.format_size(want.size))
        else:
            shown_props = dict(want)
        plan.params[key] = render_props('mount', props)
        plan.before[key] = None
        plan.after[key] = render_props('mount', shown_props)
        return
    current = parse_props('mount', have)
    volume = current.get('volume', '')
    if want.get('volume') is not None and want['volume'] != volume:
        _fail('{0}: {1} is {2!r}, asked {3!r}: replacing or moving a mount point volume is not done by this '
              'module (delete it with state: absent, or move it with the API)'.format(label, key, volume, want['volume']))
    if want.storage and mount_type(volume) == 'volume' and volume.split(':', 1)[0] != want.storage:
        _fail('{0}: {1} is on storage {2!r}, asked {3!r}: moving a volume to another storage is not done by this '
              'module'.format(label, key, volume.split(':', 1)[0], want.storage))
    if want.size is not None:
        if mount_type(volume) != 'volume':
            _fail('{0}: {1} is a {2} mount and has no size'.format(label, key, mount_type(volume)))
        _grow(plan, key, want.size, current, label)
    merged = dict(current)
    merged.update((k, propstring.stringify(v) if not isinstance(v, str) else v) for k, v in want.items())
    plan.before[key] = shown(key, current)
    after = dict(merged)
    if want.size is not None:
        after['size'] = propstring.format_size(want.size)
    plan.after[key] = shown(key, after)
    if canonical(key, merged) != canonical(key, current):
        plan.params[key] = render_props('mount', merged)


def _plan_raw_mount(plan, key, want, have, label):
    """A rootfs or mpN given as a string in `config`: the volume must match; a size only grows."""
    wanted = parse_props('mount', want)
    if not have:
        plan.params[key] = str(want)
        plan.before[key] = None
        plan.after[key] = shown(key, wanted)
        return
    current = parse_props('mount', have)
    if wanted.get('volume') != current.get('volume'):
        _fail('{0}: {1} is {2!r}, asked {3!r}: replacing a mount point volume is not done by this module'.format(
            label, key, current.get('volume'), wanted.get('volume')))
    merged = dict(wanted)
    if wanted.get('size') is not None:
        _grow(plan, key, propstring.parse_size(wanted['size'], 'G'), current, label)
    if current.get('size') is not None:
        merged['size'] = current['size']
    plan.before[key] = shown(key, current)
    plan.after[key] = shown(key, dict(merged, size=wanted.get('size', current.get('size'))))
    if canonical(key, merged) != canonical(key, current):
        plan.params[key] = render_props('mount', merged)


# ---------------------------------------------------------------- results

def interfaces_from_config(config):
    """[{name, hwaddr, inet, inet6, bridge}] of the netN keys of a configuration (static addresses only)."""
    out = []
    for key in sorted((k for k in config if re.match(r'^net\d+$', k)), key=lambda k: int(k[3:])):
        try:
            props = parse_props('net', config[key])
        except ProxmoxConfigError:
            continue
        item = {'id': key, 'name': props.get('name'), 'hwaddr': props.get('hwaddr'), 'bridge': props.get('bridge')}
        for family, field in (('inet', 'ip'), ('inet6', 'ip6')):
            value = props.get(field)
            item[family] = value if value and '/' in value else None
            if value in ('dhcp', 'auto', 'manual'):
                item[family + '_method'] = value
        out.append(item)
    return out


def interfaces_from_api(answer):
    """[{name, hwaddr, inet, inet6}] from /interfaces of a running container (the loopback left out)."""
    out = []
    for item in answer or []:
        if not isinstance(item, dict) or item.get('name') == 'lo':
            continue
        entry = {'name': item.get('name'), 'hwaddr': item.get('hwaddr') or item.get('hardware-address'),
                 'inet': item.get('inet'), 'inet6': item.get('inet6')}
        addresses = []
        for address in item.get('ip-addresses') or []:
            if isinstance(address, dict) and address.get('ip-address'):
                addresses.append('{0}/{1}'.format(address['ip-address'], address.get('prefix'))
                                 if address.get('prefix') not in (None, '') else address['ip-address'])
        entry['addresses'] = addresses
        out.append(entry)
    return out


def ip_addresses(interfaces):
    """The addresses (without prefix) of a list of interfaces, IPv4 first."""
    found = []
    for item in interfaces:
        for value in list(item.get('addresses') or []) + [item.get('inet'), item.get('inet6')]:
            if not value:
                continue
            address = str(value).split('/', 1)[0]
            if address not in found:
                found.append(address)
    return sorted(found, key=lambda a: (':' in a, a))


def masked_config(config):
    """A configuration as results show it (the digest left out; nothing secret is in a container's config)."""
    return dict((k, v) for k, v in (config or {}).items() if k != 'digest')
