# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""A live cluster as the option dicts of our own modules: the reverse of what the modules send.

Each function here turns one item as the API lists it into the options of the module that manages it, so that the
module, given those options, finds nothing to change. The conversions reuse what the modules compare with: the HA
specs and node lists of ha.py, SDN's effective configuration and DHCP ranges (sdn.py), the firewall's rule fields,
comment markers, port lists and per-level options (firewall.py), storage types, write-only options and retention
(storage.py). Option types follow the modules' argument specs (the unit tests hold the two together).

Only what the API returns is exported: a key the cluster leaves unset stays unmanaged. Secrets are never exported
(the API does not return them); `secrets` says which options a user must supply to create an item elsewhere.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils import (
    firewall,
    guest_lifecycle,
    ha,
    lxc,
    propstring,
    qemu,
    sdn,
    storage,
    versions,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError, is_not_found
from ansible_collections.proxfleet.proxmox.plugins.module_utils.redact import GUEST_SECRET_KEYS

# What PVE's API proxy answers when the node a request is for does not answer (595 No route to host, Connection
# refused; 596 Connection timed out).
UNREACHABLE_STATUS = (595, 596)
AREAS = ('storage', 'backup', 'ha', 'sdn', 'firewall', 'guests')

# Result keys: the module each list of option dicts is for, in the order they are applied.
MODULES = {
    'storage': ('pve_storage',),
    'backup': ('pve_backup_job',),
    'ha': ('pve_ha_group', 'pve_ha_resource', 'pve_ha_rule'),
    'sdn': ('pve_sdn_zone', 'pve_sdn_vnet', 'pve_sdn_subnet'),
    'firewall': ('pve_firewall_alias', 'pve_firewall_ipset', 'pve_firewall_group', 'pve_firewall_options',
                 'pve_firewall_rule'),
    'guests': ('pve_vm', 'pve_lxc'),
}

# Keys every list answer carries that are no module option (ids are mapped separately).
_BOOKKEEPING = ('digest', 'pending', 'state', 'type')


# ------------------------------------------------------------------------------------------------ values

def option_value(kind, value, elements=None):
    """An API value as a module option of this argument-spec type takes it ('str', 'int', 'bool', 'list')."""
    if kind == 'bool':
        return propstring.to_bool(value)
    if kind == 'int':
        return int(float(value))
    if kind == 'list':
        items = propstring.split_list(value, ',; ')
        return [int(item) for item in items] if elements == 'int' else items
    return propstring.stringify(value)


def api_name(option):
    """The API key of an option, as compare.Field names it by default."""
    return option.replace('_', '-')


def prune_options(value):
    """`keep-last=7,keep-daily=3` (or the API's dict) -> the modules' prune_backups dict."""
    out = {}
    for key, val in storage.prune_props(value).items():
        name = key.replace('-', '_')
        out[name] = bool(val) if name == 'keep_all' else int(val)
    return out


def _typed(item, table, skip=()):
    """Options of `table` (option -> (api name, kind, elements)) that the API item has; and the keys left over."""
    out = {}
    used = set(skip)
    for option, (key, kind, elements) in table.items():
        used.add(key)
        if item.get(key) in (None, ''):
            continue
        out[option] = option_value(kind, item[key], elements)
    rest = sorted(k for k in item if k not in used and k not in _BOOKKEEPING)
    return out, rest


class Skipped(object):
    """What an export left out, and why: reported next to the export, never silently dropped."""

    def __init__(self):
        self.items = []

    def add(self, module, item, reason, keys=None):
        entry = {'module': module, 'item': str(item), 'reason': reason}
        if keys:
            entry['keys'] = sorted(keys)
        self.items.append(entry)


# ------------------------------------------------------------------------------------------------ storage

# pve_storage's option types (its argument spec); every other type option is a string.
STORAGE_KINDS = {
    'content': ('list', 'str'), 'nodes': ('list', 'str'), 'monhost': ('list', 'str'),
    'shared': ('bool', None), 'disable': ('bool', None), 'saferemove': ('bool', None), 'tagged_only': ('bool', None),
    'sparse': ('bool', None), 'krbd': ('bool', None), 'fuse': ('bool', None), 'create_base_path': ('bool', None),
    'create_subdirs': ('bool', None),
    'max_protected_backups': ('int', None), 'port': ('int', None),
}
# storage.cfg keys that differ from option name with _ as -.
STORAGE_API_NAMES = {'tagged_only': 'tagged_only', 'is_mountpoint': 'is_mountpoint', 'pbs_fingerprint': 'fingerprint'}
# Network storages are always shared: PVE reports `shared` for them, which is no option of theirs.
STORAGE_ALWAYS_SHARED = ('nfs', 'cifs', 'rbd', 'cephfs', 'pbs')
# Secrets a storage of a type needs to be created again, and when (the API never returns them).
STORAGE_SECRETS = {'cifs': ('password',), 'pbs': ('password',)}


def storage_options(item, skipped=None):
    """One entry of GET /storage -> pve_storage options, or None when the module does not manage its type."""
    skipped = skipped if skipped is not None else Skipped()
    name, kind = item.get('storage'), item.get('type')
    if kind not in storage.TYPES:
        skipped.add('pve_storage', name, 'storage type {0!r} is not managed by pve_storage'.format(kind))
        return None
    allowed = storage.TYPES[kind][0]
    table = {}
    for option in allowed:
        if option in storage.WRITE_ONLY or option == 'prune_backups':
            continue
        kind_of, elements = STORAGE_KINDS.get(option, ('str', None))
        table[option] = (STORAGE_API_NAMES.get(option, api_name(option)), kind_of, elements)
    skip = ('storage', 'prune-backups') + tuple(api_name(o) for o in storage.WRITE_ONLY)
    if kind in STORAGE_ALWAYS_SHARED:
        skip += ('shared',)
    out, rest = _typed(item, table, skip=skip)
    if 'prune_backups' in allowed and item.get('prune-backups') not in (None, ''):
        out['prune_backups'] = prune_options(item['prune-backups'])
    options = {'storage': name, 'type': kind}
    options.update(out)
    if rest:
        skipped.add('pve_storage', name, 'not options of pve_storage for a {0} storage'.format(kind), rest)
    return options


def storage_secrets(options):
    """The write-only options a storage needs to be created elsewhere (none of them is ever exported)."""
    needed = list(STORAGE_SECRETS.get(options.get('type'), ()))
    if options.get('type') in ('rbd', 'cephfs') and options.get('monhost'):
        needed.append('keyring')
    if options.get('type') == 'cifs' and not options.get('username'):
        needed = []
    return needed


# ------------------------------------------------------------------------------------------------ backup jobs

# pve_backup_job's options: option -> (API key, argument-spec type, elements).
BACKUP_JOB_OPTIONS = {
    'schedule': ('schedule', 'str', None),
    'storage': ('storage', 'str', None),
    'vmid': ('vmid', 'list', 'int'),
    'all': ('all', 'bool', None),
    'pool': ('pool', 'str', None),
    'exclude': ('exclude', 'list', 'int'),
    'node': ('node', 'str', None),
    'mode': ('mode', 'str', None),
    'compress': ('compress', 'str', None),
    'enabled': ('enabled', 'bool', None),
    'comment': ('comment', 'str', None),
    'notes_template': ('notes-template', 'str', None),
    'protected': ('protected', 'bool', None),
    'repeat_missed': ('repeat-missed', 'bool', None),
    'mailto': ('mailto', 'list', 'str'),
    'notification_mode': ('notification-mode', 'str', None),
    'bwlimit': ('bwlimit', 'int', None),
}
# What /cluster/backup adds to a job that is no configuration.
_BACKUP_COMPUTED = ('id', 'next-run', 'prune-backups')


def backup_job_options(item, skipped=None):
    """One entry of GET /cluster/backup -> pve_backup_job options."""
    skipped = skipped if skipped is not None else Skipped()
    out, rest = _typed(item, BACKUP_JOB_OPTIONS, skip=_BACKUP_COMPUTED)
    if item.get('all') is not None and not out.get('all'):
        # all=0 is the same as leaving it out; exporting it would clash with vmid or pool.
        out.pop('all', None)
    if out.get('vmid'):
        out['vmid'] = sorted(set(out['vmid']))
    if item.get('prune-backups') not in (None, '', {}):
        out['prune_backups'] = prune_options(item['prune-backups'])
    options = {'id': item.get('id')}
    options.update(out)
    if rest:
        skipped.add('pve_backup_job', item.get('id'), 'not options of pve_backup_job', rest)
    return options


# ------------------------------------------------------------------------------------------------ HA

def _from_spec(spec, item, options, defaults=None):
    """Options from an HA item through the spec's own Field normalisers (with PVE's defaults filled in as the
    modules read them): node lists as `node:priority` entries, sets as sorted lists, flags as booleans."""
    item = dict(item)
    for key, value in (defaults or {}).items():
        item.setdefault(key, value)
    out = {}
    for field in spec.fields:
        if field.name not in options or item.get(field.api_name) in (None, ''):
            continue
        value = field.canonical(item[field.api_name])
        if field.name == 'nodes':
            value = ha.format_nodes(value).split(',')
        elif field.kind == 'bool':
            value = bool(value)
        out[field.name] = value
    return out


def ha_resource_options(item, uses_rules):
    """One entry of GET /cluster/ha/resources -> pve_ha_resource options. On PVE 9 rule membership is exported
    with the rules (pve_ha_rule's resources), and a resource's failback has no pve_ha_resource option."""
    names = ('state', 'max_restart', 'max_relocate', 'comment') + (() if uses_rules else ('group',))
    options = {'sid': str(item['sid'])}
    options.update(_from_spec(ha.RESOURCE_SPEC, item, names, ha.RESOURCE_DEFAULTS))
    return options


def ha_group_options(item):
    """One entry of GET /cluster/ha/groups (PVE 8, or 9 before the migration) -> pve_ha_group options (members are the resources' group)."""
    options = {'name': str(item['group'])}
    options.update(_from_spec(ha.GROUP_SPEC, item, ('nodes', 'restricted', 'nofailback', 'comment'),
                              ha.GROUP_DEFAULTS))
    return options


def ha_rule_options(item):
    """One entry of GET /cluster/ha/rules (PVE 9) -> pve_ha_rule options, the migrated `ha-group-*` rules too."""
    kind = item.get('type')
    names: Tuple[str, ...] = ('type', 'resources', 'affinity', 'disable', 'comment')
    defaults = {}
    if kind == 'node-affinity':
        names += ('nodes', 'strict')
        defaults = ha.RULE_DEFAULTS
    options: Dict[str, Any] = {'name': str(item['rule'])}
    options.update(_from_spec(ha.RULE_SPEC, item, names, defaults))
    if options.get('disable') is False:
        options.pop('disable')
    return options


# ------------------------------------------------------------------------------------------------ SDN

# pve_sdn_zone's options besides type: option -> argument-spec type (list elements are strings).
SDN_ZONE_KINDS = {
    'bridge': 'str', 'bridge_disable_mac_learning': 'bool', 'tag': 'int', 'vlan_protocol': 'str', 'peers': 'list',
    'vxlan_port': 'int', 'controller': 'str', 'vrf_vxlan': 'int', 'exitnodes': 'list', 'exitnodes_primary': 'str',
    'exitnodes_local_routing': 'bool', 'advertise_subnets': 'bool', 'disable_arp_nd_suppression': 'bool',
    'rt_import': 'list', 'mac': 'str', 'mtu': 'int', 'ipam': 'str', 'dns': 'str', 'reversedns': 'str',
    'dnszone': 'str', 'dhcp': 'str', 'nodes': 'list',
}
SDN_VNET_KINDS = {'zone': 'str', 'tag': 'int', 'alias': 'str', 'vlanaware': 'bool', 'isolate_ports': 'bool'}


def sdn_zone_options(item, skipped=None):
    """One zone of GET /cluster/sdn/zones?pending=1 -> pve_sdn_zone options (its configuration once applied)."""
    skipped = skipped if skipped is not None else Skipped()
    config = sdn.effective(item)
    kind = config.get('type')
    if kind not in sdn.ZONE_TYPE_OPTIONS:
        skipped.add('pve_sdn_zone', config.get('zone'), 'zone type {0!r} is not managed by pve_sdn_zone'.format(kind))
        return None
    table = dict((name, (api_name(name), SDN_ZONE_KINDS[name], 'str')) for name in sdn.ZONE_TYPE_OPTIONS[kind])
    out, rest = _typed(config, table, skip=('zone',))
    options = {'zone': config['zone'], 'type': kind}
    options.update(out)
    if rest:
        skipped.add('pve_sdn_zone', config['zone'], 'not options of pve_sdn_zone for a {0} zone'.format(kind), rest)
    return options


def sdn_vnet_options(item, skipped=None):
    """One vnet of GET /cluster/sdn/vnets?pending=1 -> pve_sdn_vnet options."""
    skipped = skipped if skipped is not None else Skipped()
    config = sdn.effective(item)
    table = dict((name, (api_name(name), kind, None)) for name, kind in SDN_VNET_KINDS.items())
    out, rest = _typed(config, table, skip=('vnet',))
    options = {'vnet': config['vnet']}
    options.update(out)
    if rest:
        skipped.add('pve_sdn_vnet', config['vnet'], 'not options of pve_sdn_vnet', rest)
    return options


def sdn_subnet_options(vnet, item, skipped=None):
    """One subnet of GET /cluster/sdn/vnets/{vnet}/subnets?pending=1 -> pve_sdn_subnet options."""
    skipped = skipped if skipped is not None else Skipped()
    config = sdn.effective(item)
    cidr = config.get('cidr') or _subnet_cidr(config.get('subnet'))
    options = {'vnet': vnet, 'cidr': cidr}
    table = {'gateway': ('gateway', 'str', None), 'snat': ('snat', 'bool', None),
             'dhcp_dns_server': ('dhcp-dns-server', 'str', None), 'dnszoneprefix': ('dnszoneprefix', 'str', None)}
    out, rest = _typed(config, table, skip=('subnet', 'cidr', 'vnet', 'zone', 'network', 'mask', 'dhcp-range', 'id'))
    options.update(out)
    if config.get('dhcp-range'):
        ranges = []
        for text in sdn.dhcp_ranges(config['dhcp-range']):
            parsed = propstring.parse(text)
            ranges.append({'start': parsed['start-address'], 'end': parsed['end-address']})
        options['dhcp_ranges'] = ranges
    if rest:
        skipped.add('pve_sdn_subnet', cidr, 'not options of pve_sdn_subnet', rest)
    return options


def _subnet_cidr(ident):
    """`zone-10.0.0.0-24` (a subnet's id) -> 10.0.0.0/24."""
    text = str(ident or '')
    _zone, _sep, rest = text.partition('-')
    address, _sep, prefix = rest.rpartition('-')
    return '{0}/{1}'.format(address, prefix) if address else text


# ------------------------------------------------------------------------------------------------ firewall

def rule_options(rule, level_kind=None):
    """One rule of a rules list -> an entry of pve_firewall_rule's (or pve_firewall_group's) `rules`.

    Values stay as Proxmox VE stores them (a macro keeps its spelling); port lists become lists, the
    `[id=...]` marker in the comment becomes rule_id, and `enable` becomes enabled."""
    out = {}
    for key in firewall.MATCH_FIELDS + ('enable', 'log'):
        value = rule.get(key)
        if value in (None, ''):
            continue
        if key == 'iface' and level_kind == 'group':
            continue
        name = firewall.option_name(key)
        if key in ('dport', 'sport'):
            out[name] = firewall.parse_ports(value, key)
        elif key == 'enable':
            out[name] = bool(firewall.canonical('enable', value))
        elif key == 'type':
            out[name] = str(value).lower()
        else:
            out[name] = propstring.stringify(value).strip()
    rule_id, comment = firewall.split_comment(rule.get('comment'))
    if rule_id:
        out['rule_id'] = rule_id
    if comment:
        out['comment'] = comment
    return out


def duplicate_rules(rules):
    """Indexes of exported rules the module would refuse as the same rule twice (no rule_id, same match fields)."""
    seen: Dict[Tuple[Any, ...], int] = {}
    twice = []
    for index, rule in enumerate(rules):
        if rule.get('rule_id'):
            continue
        key = tuple(firewall.canonical(k, rule.get(firewall.option_name(k))) for k in firewall.MATCH_FIELDS)
        if key in seen:
            twice.append((seen[key], index))
        else:
            seen[key] = index
    return twice


def level_params(level):
    """The options that name a firewall level in the modules (the guest's node is left out: it moves)."""
    if level.kind == 'cluster':
        return {'level': 'cluster'}
    if level.kind == 'node':
        return {'level': 'node', 'node': level.node}
    if level.kind == 'vnet':
        return {'level': 'vnet', 'vnet': level.vnet}
    return {'level': level.kind, 'vmid': int(level.vmid)}


def options_options(level_kind, current):
    """GET .../firewall/options of a level -> pve_firewall_options options (the ones the level has and sets), through
    the level's own compare Fields: flags as booleans (the cluster's `enable`, which may hold the time it was
    switched on, is on above 0), numbers as numbers."""
    out = {}
    for field in firewall.options_fields(level_kind):
        value = current.get(field.api_name)
        if value in (None, ''):
            continue
        canonical = field.canonical(value)
        out[field.name] = bool(canonical) if firewall.OPTIONS[field.name][0] == 'bool' else canonical
    return out


def ipset_entry(entry):
    out = {'cidr': str(entry['cidr'])}
    if entry.get('comment'):
        out['comment'] = entry['comment']
    if entry.get('nomatch') not in (None, '', 0, '0'):
        out['nomatch'] = propstring.to_bool(entry['nomatch'])
    return out


def alias_options(alias):
    out = {'name': alias['name'], 'cidr': alias['cidr']}
    if alias.get('comment'):
        out['comment'] = alias['comment']
    return out


# ------------------------------------------------------------------------------------------------ guests

# pve_vm's first-class options (qemu.config_fields(), as pve_vm's argument spec types them); citype and ciupgrade
# have no option and config refuses them.
VM_OPTION_KINDS = {
    'name': 'str', 'description': 'str', 'cores': 'int', 'sockets': 'int', 'cpu': 'str', 'memory': 'memory',
    'balloon': 'int', 'numa': 'bool', 'machine': 'str', 'bios': 'str', 'ostype': 'str', 'scsihw': 'str',
    'boot': 'str', 'agent': 'str', 'onboot': 'bool', 'startup': 'str', 'protection': 'bool', 'vga': 'str',
    'ciuser': 'str', 'sshkeys': 'sshkeys', 'nameserver': 'str', 'searchdomain': 'str', 'cicustom': 'str',
}
VM_SLOT_OPTIONS = (('ipconfig', re.compile(r'^ipconfig\d+$')), ('serial', re.compile(r'^serial[0-3]$')),
                   ('hostpci', re.compile(r'^hostpci\d+$')), ('usb', re.compile(r'^usb\d+$')))
# Keys PVE generates or keeps for itself: never exported, never reported.
VM_BOOKKEEPING = ('digest', 'lock', 'meta', 'vmgenid', 'template')
# Keys exported by no option of pve_vm (config refuses them): reported.
VM_UNEXPORTABLE = ('citype', 'ciupgrade', 'smbios1')
_VM_FIELDS = dict((field.name, field) for field in qemu.config_fields())
DRIVE_FLAGS = ('ssd', 'iothread', 'backup', 'replicate')
NET_INTS = ('tag', 'mtu', 'queues')


def _drive_options(slot, value):
    """A drive of a VM's configuration -> an entry of pve_vm's `disks` that keeps it as it is."""
    volume, props = qemu.parse_drive(value)
    out = {'slot': slot}
    if qemu.is_cloudinit(volume):
        # PVE makes the drive (a CD-ROM) and its content; the storage is all there is to say.
        out.update(cloudinit=True, storage=qemu.volume_storage(volume))
        return out
    if qemu.is_cdrom(volume, props):
        out.update(media='cdrom', volume=volume)
        props.pop('media', None)
        props.pop('size', None)
    elif qemu.volume_storage(volume):
        out['storage'] = qemu.volume_storage(volume)
        if props.get('size') and slot not in ('efidisk0', 'tpmstate0'):
            out['size'] = propstring.format_size(propstring.parse_size(props['size'], 'B'))
        if props.get('format'):
            out['format'] = props['format']
    else:
        out['volume'] = volume
    props.pop('size', None)
    props.pop('format', None)
    props.pop('media', None)
    if props.get('cache'):
        out['cache'] = props.pop('cache')
    if props.get('discard'):
        out['discard'] = props.pop('discard')
    for name in DRIVE_FLAGS:
        if name in props:
            out[name] = propstring.to_bool(props.pop(name))
    if props:
        out['options'] = props
    return out


def _vm_net_options(slot, value):
    """A NIC of a VM's configuration -> an entry of pve_vm's `nets`."""
    props = qemu.parse_net(value)
    out = {'slot': slot}
    if props.get('model'):
        out['model'] = props.pop('model')
    if props.get('macaddr'):
        out['mac'] = props.pop('macaddr')
    if props.get('bridge'):
        out['bridge'] = props.pop('bridge')
    for name in ('firewall', 'link_down'):
        if name in props:
            out[name] = propstring.to_bool(props.pop(name))
    for name in NET_INTS:
        if name in props:
            out[name] = int(props.pop(name))
    if 'rate' in props:
        out['rate'] = float(props.pop('rate'))
    if props:
        out['options'] = props
    return out


def _guest_identity(guest):
    """The options that name a guest and place it, from its /cluster/resources entry (pve_vm and pve_lxc alike)."""
    out = {'vmid': int(guest['vmid']), 'node': guest['node']}
    if guest.get('pool'):
        out['pool'] = guest['pool']
    return out


def vm_options(guest, config, skipped=None):
    """A VM (its /cluster/resources entry and effective configuration) -> pve_vm options."""
    skipped = skipped if skipped is not None else Skipped()
    out = _guest_identity(guest)
    vmid = out['vmid']
    config = dict(config)
    for name, kind in VM_OPTION_KINDS.items():
        value = config.pop(name, None)
        if value in (None, ''):
            continue
        if kind == 'memory':
            out[name] = int(_VM_FIELDS['memory'].canonical(value))
        elif kind == 'sshkeys':
            out[name] = qemu.decode_sshkeys(value)
        else:
            out[name] = option_value(kind, value)
    if config.get('tags'):
        out['tags'] = propstring.split_list(config.pop('tags'), ',; ')
        out['purge_tags'] = True
    config.pop('tags', None)
    disks, nets, raw, left = [], [], {}, []
    slots: Dict[str, Dict[str, Any]] = dict((option, {}) for option, _pattern in VM_SLOT_OPTIONS)
    for key in sorted(config, key=_slot_order):
        value = config[key]
        if key in VM_BOOKKEEPING or key in GUEST_SECRET_KEYS or key == 'smbios1' and _only_uuid(value):
            continue
        if qemu.DISK_SLOT_RE.match(key):
            disks.append(_drive_options(key, value))
        elif qemu.NET_SLOT_RE.match(key):
            nets.append(_vm_net_options(key, value))
        elif any(pattern.match(key) for _option, pattern in VM_SLOT_OPTIONS):
            option = next(option for option, pattern in VM_SLOT_OPTIONS if pattern.match(key))
            slots[option][key] = propstring.stringify(value)
        elif key in VM_UNEXPORTABLE or qemu.UNUSED_RE.match(key) or not qemu.KNOWN_KEY_RE.match(key):
            left.append(key)
        else:
            raw[key] = propstring.stringify(value)
    if disks:
        out['disks'] = disks
    if nets:
        out['nets'] = nets
    for option, values in slots.items():
        if values:
            out[option] = values
    if raw:
        out['config'] = raw
    if left:
        skipped.add('pve_vm', vmid, 'no option of pve_vm sets them (unusedN: detached volumes)', left)
    return out


def _only_uuid(smbios1):
    """True when smbios1 holds nothing but the uuid PVE generated."""
    try:
        return set(propstring.parse(smbios1)) <= {'uuid'}
    except ValueError:
        return False


def _slot_order(key):
    """Keys sorted with numbered ones in number order (scsi2 before scsi10)."""
    found = re.match(r'^([a-z_]+?)(\d+)$', key)
    return (found.group(1), int(found.group(2))) if found else (key, -1)


def _mount_options(value, rootfs=False):
    """A rootfs or mpN of a container -> pve_lxc's rootfs or an entry of its mounts."""
    props = lxc.parse_props('mount', value)
    volume = props.pop('volume', '')
    out = {}
    if not rootfs and props.get('mp'):
        out['path'] = props.pop('mp')
    if lxc.mount_type(volume) == 'volume':
        out['storage'] = volume.split(':', 1)[0]
        if props.get('size'):
            out['size'] = propstring.format_size(propstring.parse_size(props['size'], 'G'))
    else:
        out['volume'] = volume
    props.pop('size', None)
    for key, kind in lxc.MOUNT_KEYS.items():
        if key not in props or key in ('volume', 'mp', 'size'):
            continue
        value = props.pop(key)
        if kind == 'bool':
            out[key] = propstring.to_bool(value)
        elif kind == 'set':
            out[key] = propstring.split_list(value, '; ')
        else:
            out[key] = value
    return out, sorted(props)


def _ct_net_options(slot, value):
    props = lxc.parse_props('net', value)
    out = {'slot': slot}
    for key in lxc.NET_OPTION_KEYS:
        if key not in props:
            continue
        kind = lxc.NET_KEYS.get(key, 'str')
        raw = props.pop(key)
        if kind == 'bool':
            out[key] = propstring.to_bool(raw)
        elif kind == 'int':
            out[key] = int(raw)
        elif kind == 'num':
            out[key] = float(raw)
        elif kind == 'list':
            out[key] = [int(t) for t in propstring.split_list(raw, '; ')]
        else:
            out[key] = raw
    props.pop('type', None)
    return out, sorted(props)


# pve_lxc's simple options, as its argument spec types them.
CT_OPTION_KINDS = {'cores': 'int', 'cpulimit': 'float', 'cpuunits': 'int', 'memory': 'int', 'swap': 'int',
                   'onboot': 'bool', 'protection': 'bool', 'description': 'str', 'searchdomain': 'str',
                   'nameserver': 'list', 'timezone': 'str', 'ostype': 'str', 'arch': 'str'}
CT_BOOKKEEPING = ('digest', 'lock', 'template', 'parent', 'snaptime')


def ct_options(guest, config, skipped=None):
    """A container (its /cluster/resources entry and effective configuration) -> pve_lxc options."""
    skipped = skipped if skipped is not None else Skipped()
    out = _guest_identity(guest)
    vmid = out['vmid']
    config = dict(config)
    left = []
    if config.get('hostname'):
        out['name'] = config.pop('hostname')
    if config.get('unprivileged') is not None:
        out['unprivileged'] = propstring.to_bool(config.pop('unprivileged'))
    for name, kind in CT_OPTION_KINDS.items():
        value = config.pop(name, None)
        if value in (None, ''):
            continue
        if kind == 'float':
            out[name] = float(value)
        elif name == 'nameserver':
            out[name] = propstring.split_list(value, ' ,;')
        else:
            out[name] = option_value(kind, value)
    if config.get('tags'):
        out['tags'] = propstring.split_list(config.pop('tags'), ',; ')
        out['purge_tags'] = True
    config.pop('tags', None)
    if config.get('features'):
        features = {}
        for key, value in lxc.parse_props('features', config.pop('features')).items():
            feature_kind = lxc.FEATURE_KEYS.get(key)
            if feature_kind == 'bool':
                features[key] = propstring.to_bool(value)
            elif feature_kind == 'set':
                features[key] = propstring.split_list(value, '; ')
            else:
                left.append('features.' + key)
        out['features'] = features
    if config.get('startup'):
        out['startup'] = dict((key, int(value)) for key, value in
                              lxc.parse_props('startup', config.pop('startup')).items())
    if config.get('rootfs'):
        out['rootfs'], extra = _mount_options(config.pop('rootfs'), rootfs=True)
        left.extend('rootfs.' + key for key in extra)
    mounts, nets, raw = [], [], {}
    for key in sorted(config, key=_slot_order):
        value = config[key]
        found = re.match(r'^(mp|net)(\d+)$', key)
        if key in CT_BOOKKEEPING or key in GUEST_SECRET_KEYS:
            continue
        if found and found.group(1) == 'mp':
            mount, extra = _mount_options(value)
            mounts.append(dict(slot=key, **mount))
            left.extend('{0}.{1}'.format(key, k) for k in extra)
        elif found:
            net, extra = _ct_net_options(key, value)
            nets.append(net)
            left.extend('{0}.{1}'.format(key, k) for k in extra)
        elif lxc.option_exists(key) and not key.startswith('unused'):
            raw[key] = propstring.stringify(value)
        else:
            left.append(key)
    if mounts:
        out['mounts'] = mounts
    if nets:
        out['nets'] = nets
    if raw:
        out['config'] = raw
    if left:
        skipped.add('pve_lxc', vmid, 'no option of pve_lxc sets them (unusedN: detached volumes)', left)
    return out


# ------------------------------------------------------------------------------------------------ reading a cluster

# What of a firewall level can be read, in the order it is read.
FIREWALL_PARTS = ('options', 'rules', 'aliases', 'ipsets')


class Exporter(object):
    """Reads a cluster (list calls) and builds the export: {module name: [options, ...]}."""

    def __init__(self, client, warn=None, concurrency=1):
        self.client = client
        self.skipped = Skipped()
        self.secrets = []
        self.reads = 0
        self._reads_lock = threading.Lock()
        self.warn = warn or (lambda message: None)
        self._guests = None
        # How many independent reads (one guest's configuration, one level's firewall, one vnet's subnets) run at
        # once. 1 (pve_export): one after another. Whatever it is, the export is the same: answers are put together
        # in the order a sequential read would, and warnings and unreachable nodes are recorded in that order.
        self.concurrency = max(1, int(concurrency or 1))
        # The guest-level firewalls read: None, every guest's, whole; else {vmid: the parts to read}, parts among
        # FIREWALL_PARTS. pve_apply reads only the levels, and the parts of them, a declaration names unless it
        # prunes the firewall.
        self.firewall_guests = None
        # {node: [what could not be read there]}: the reads an unreachable node (PVE's proxy answers 595/596)
        # refused. The export fails at the end naming them all, rather than leave them out silently.
        self.unreachable = {}

    def get(self, path, **params):
        self.count_read()
        return self.client.get(path, **params)

    def count_read(self):
        with self._reads_lock:
            self.reads += 1

    def parallel(self, calls):
        """[call() for call in calls], up to `concurrency` at a time, answers in the calls' order. When calls
        fail, every call still runs to its end and the error of the first failing one (in the calls' order) is
        raised, so the outcome does not depend on which finished first."""
        calls = list(calls)
        if self.concurrency <= 1 or len(calls) <= 1:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls))) as pool:
            futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]

    @staticmethod
    def node_call(call):
        """call, made safe to run in parallel: () -> (answer, None), or (None, error) when its node does not
        answer. record() then files the error in `unreachable`, in order."""
        def run():
            try:
                return call(), None
            except ProxmoxError as error:
                if error.status_code not in UNREACHABLE_STATUS:
                    raise
                return None, error
        return run

    def record(self, node, what, outcome):
        answer, error = outcome
        if error is not None:
            self.unreachable.setdefault(str(node), []).append((what, error))
            return None
        return answer

    def get_optional(self, path, **params):
        """A list that may not exist on this version or setup (SDN without the package, ...): [] then."""
        try:
            return self.get(path, **params) or []
        except ProxmoxError as error:
            if is_not_found(error) or error.status_code in (501,):
                return []
            raise

    def check_complete(self):
        """ProxmoxError naming every node that did not answer and what it held, when any did not."""
        if not self.unreachable:
            return
        parts = []
        for node, missed in sorted(self.unreachable.items()):
            parts.append('node {0} ({1}): {2}'.format(node, missed[0][1].describe(), ', '.join(what for what, _e in missed)))
        raise ProxmoxError(
            'the export would be incomplete, some nodes did not answer: {0}. An export without them would leave '
            'them out of the files, unmanaged by apply_export: export again when the nodes are back, or leave out '
            'the areas that read them (areas)'.format('; '.join(parts)), url=self.client.settings.url)

    # ------------------------------------------------------------ metadata

    def cluster(self):
        status = self.get('/cluster/status') or []
        header: Dict[str, Any] = next((item for item in status if item.get('type') == 'cluster'), {})
        version = self.client.version()
        return {'name': header.get('name'), 'version': version.get('version'), 'url': self.client.settings.url}

    def guests_list(self):
        if self._guests is None:
            self._guests = sorted((item for item in self.get('/cluster/resources', type='vm') or []
                                   if item.get('vmid') is not None and item.get('type') in ('qemu', 'lxc')),
                                  key=lambda item: int(item['vmid']))
        return self._guests

    # ------------------------------------------------------------ areas

    def storage(self):
        out = []
        for item in sorted(self.get('/storage') or [], key=lambda i: str(i.get('storage'))):
            options = storage_options(item, self.skipped)
            if options is None:
                continue
            out.append(options)
            needed = storage_secrets(options)
            if needed:
                self.secrets.append({'module': 'pve_storage', 'item': options['storage'], 'options': needed})
        return {'pve_storage': out}

    def backup(self):
        jobs = sorted(self.get('/cluster/backup') or [], key=lambda i: str(i.get('id')))
        return {'pve_backup_job': [backup_job_options(job, self.skipped) for job in jobs]}

    def ha(self):
        # Groups or rules by the cluster's state: an upgraded PVE 9 keeps its groups until the CRM migrates them.
        model, groups = ha.read_model(self.client, self.get)
        uses_rules = model == 'rules'
        resources = sorted(self.get('/cluster/ha/resources') or [], key=lambda i: str(i.get('sid')))
        out: Dict[str, List[Dict[str, Any]]] = {'pve_ha_group': [], 'pve_ha_resource': [], 'pve_ha_rule': []}
        for item in resources:
            out['pve_ha_resource'].append(ha_resource_options(item, uses_rules))
            if uses_rules and item.get('failback') is not None and not propstring.to_bool(item['failback']):
                self.skipped.add('pve_ha_resource', item['sid'], 'pve_ha_resource has no option for failback',
                                 ['failback'])
        if uses_rules:
            rules = sorted(self.get('/cluster/ha/rules') or [], key=lambda i: str(i.get('rule')))
            out['pve_ha_rule'] = [ha_rule_options(rule) for rule in rules]
        else:
            if groups is None:
                groups = dict((str(i.get('group')), i) for i in self.get('/cluster/ha/groups') or [])
            out['pve_ha_group'] = [ha_group_options(groups[name]) for name in sorted(groups)]
        return out

    def sdn(self):
        out: Dict[str, List[Dict[str, Any]]] = {'pve_sdn_zone': [], 'pve_sdn_vnet': [], 'pve_sdn_subnet': []}
        for item in sorted(self.get_optional('/cluster/sdn/zones', pending=1), key=lambda i: str(i.get('zone'))):
            if item.get('state') == sdn.DELETED:
                continue
            options = sdn_zone_options(item, self.skipped)
            if options is not None:
                out['pve_sdn_zone'].append(options)
        vnets = [item for item in sorted(self.get_optional('/cluster/sdn/vnets', pending=1), key=lambda i: str(i.get('vnet')))
                 if item.get('state') != sdn.DELETED]
        answers = self.parallel(
            lambda vnet=str(item['vnet']): self.get_optional(self.client.path('cluster', 'sdn', 'vnets', vnet, 'subnets'),
                                                             pending=1)
            for item in vnets)
        for item, subnets in zip(vnets, answers):
            out['pve_sdn_vnet'].append(sdn_vnet_options(item, self.skipped))
            vnet = str(item['vnet'])
            for subnet in sorted(subnets, key=lambda i: str(i.get('subnet'))):
                if subnet.get('state') != sdn.DELETED:
                    out['pve_sdn_subnet'].append(sdn_subnet_options(vnet, subnet, self.skipped))
        return out

    def running_vnets(self):
        """The vnets SDN runs (a vnet's firewall exists from Proxmox VE 8.3 on, once the vnet is applied)."""
        if not versions.has_path(self.client, '/cluster/sdn/vnets/x/firewall/rules'):
            return []
        vnets = self.get_optional('/cluster/sdn/vnets', pending=1)
        return sorted(str(item['vnet']) for item in vnets if item.get('state') not in ('new', sdn.DELETED))

    def _level_firewall(self, level, parts):
        """One level's firewall: (found, params, rules, {module: [items]}, [warnings]); found when the level has
        anything. parts: what to read of it, among FIREWALL_PARTS (rules is None when they are not read). Nothing
        is recorded here, so levels can be read in parallel and put together in order."""
        client = self.client
        params = level_params(level)
        out: Dict[str, List[Dict[str, Any]]] = dict((name, []) for name in MODULES['firewall'])
        warnings: List[str] = []
        read = self.get_optional if level.kind == 'vnet' else self.get
        found = False
        if 'options' in parts:
            options = options_options(level.kind, read(level.path(client, 'options')) or {})
            if options:
                out['pve_firewall_options'].append(dict(params, **options))
                found = True
        rules = None
        if 'rules' in parts:
            rules = [rule_options(rule, level.kind) for rule in read(level.rules_path(client)) or []]
            warnings.extend(self._duplicates(level.label, rules))
            found = found or bool(rules)
        if 'aliases' in parts:
            for alias in sorted(self.get(level.path(client, 'aliases')) or [], key=lambda a: str(a.get('name'))):
                out['pve_firewall_alias'].append(dict(params, **alias_options(alias)))
                found = True
        if 'ipsets' in parts:
            for ipset in sorted(self.get(level.path(client, 'ipset')) or [], key=lambda s: str(s.get('name'))):
                entries = self.get(level.path(client, 'ipset', ipset['name'])) or []
                item = dict(params, name=ipset['name'])
                if ipset.get('comment'):
                    item['comment'] = ipset['comment']
                item['entries'] = sorted((ipset_entry(e) for e in entries), key=lambda e: e['cidr'])
                item['purge'] = True
                out['pve_firewall_ipset'].append(item)
                found = True
        return found, params, rules, out, warnings

    def _merge(self, out, read):
        """A level read by _level_firewall into out, its warnings given: (found, params, rules)."""
        found, params, rules, level_out, warnings = read
        for name, items in level_out.items():
            out[name].extend(items)
        for message in warnings:
            self.warn(message)
        return found, params, rules

    @staticmethod
    def _duplicates(label, rules):
        return ['rules {0} and {1} of the {2} match the same traffic and have no rule_id: the firewall modules '
                'cannot tell them apart, so applying the export fails there; give them a rule_id (an [id=...] '
                'marker in the comment)'.format(first, second, label) for first, second in duplicate_rules(rules)]

    def firewall(self):
        client = self.client
        out: Dict[str, List[Dict[str, Any]]] = dict((name, []) for name in MODULES['firewall'])
        cluster = firewall.Level('cluster', ('cluster', 'firewall'), 'cluster firewall')
        _found, params, rules = self._merge(out, self._level_firewall(cluster, FIREWALL_PARTS))
        groups = sorted(self.get('/cluster/firewall/groups') or [], key=lambda g: str(g.get('group')))
        levels = [firewall.Level('group', ('cluster', 'firewall', 'groups', g['group']),
                                 'security group {0!r}'.format(g['group']), group=g['group']) for g in groups]
        answers = self.parallel(lambda level=level: self.get(level.rules_path(client)) for level in levels)
        for group, level, answer in zip(groups, levels, answers):
            group_rules = [rule_options(rule, 'group') for rule in answer or []]
            for message in self._duplicates(level.label, group_rules):
                self.warn(message)
            item = {'name': group['group']}
            if group.get('comment'):
                item['comment'] = group['comment']
            item.update(rules=group_rules, purge=True)
            out['pve_firewall_group'].append(item)
        # Every rule list of the cluster and its nodes is exported, empty ones too: with purge, a rule added
        # later shows as drift.
        out['pve_firewall_rule'].append(dict(params, rules=rules, purge=True))
        # The nodes', vnets' and guests' levels are independent of each other: read in parallel (up to
        # `concurrency`), put together in this order.
        reads: List[Tuple[Any, Any, Tuple[str, ...], bool]] = []  # (node or None, level, parts, always)
        for node in sorted(str(item['node']) for item in self.get('/nodes') or [] if item.get('node')):
            level = firewall.Level('node', ('nodes', node, 'firewall'), 'firewall of node {0!r}'.format(node), node=node)
            reads.append((node, level, ('options', 'rules'), True))
        for vnet in self.running_vnets():
            level = firewall.Level('vnet', ('cluster', 'sdn', 'vnets', vnet, 'firewall'),
                                   'firewall of vnet {0!r}'.format(vnet), vnet=vnet)
            reads.append((None, level, ('options', 'rules'), False))
        for guest in self.guests_list():
            vmid, node = int(guest['vmid']), guest['node']
            parts: Tuple[str, ...] = FIREWALL_PARTS
            if self.firewall_guests is not None:
                parts = tuple(part for part in FIREWALL_PARTS if part in self.firewall_guests.get(vmid, ()))
                if not parts:
                    continue
            kind = 'ct' if guest['type'] == 'lxc' else 'vm'
            level = firewall.Level(kind, ('nodes', node, guest['type'], vmid, 'firewall'),
                                   'firewall of {0} {1}'.format('container' if kind == 'ct' else 'VM', vmid),
                                   node=node, vmid=vmid)
            # A level read whole is exported when it has anything; a level read for a declaration's parts is
            # compared with what it declares, so its rule list (read) is always there.
            reads.append((node, level, parts, self.firewall_guests is not None))
        calls = [(lambda level=level, parts=parts: self._level_firewall(level, parts)) for _n, level, parts, _a in reads]
        answers = self.parallel(self.node_call(call) if node is not None else call
                                for (node, _l, _p, _a), call in zip(reads, calls))
        for (node, level, _parts, always), answer in zip(reads, answers):
            if node is not None:
                answer = self.record(node, level.label, answer)
                if answer is None:
                    continue
            found, params, rules = self._merge(out, answer)
            if rules is not None and (found or always):
                out['pve_firewall_rule'].append(dict(params, rules=rules, purge=True))
        return out

    def guests(self):
        """Every VM and container, from its effective configuration (one read of /pending each, up to
        `concurrency` at once)."""
        out: Dict[str, List[Dict[str, Any]]] = {'pve_vm': [], 'pve_lxc': []}
        entries = self.guests_list()
        guests = [guest_lifecycle.Guest(entry) for entry in entries]

        def read(guest):
            self.count_read()
            return guest_lifecycle.read_pending(self.client, guest)

        answers = self.parallel(self.node_call(lambda guest=guest: read(guest)) for guest in guests)
        for entry, guest, answer in zip(entries, guests, answers):
            what = '{0} {1}'.format('VM' if guest.kind == 'qemu' else 'container', guest.vmid)
            read_ = self.record(entry['node'], what, answer)
            if read_ is None:
                continue
            config = guest_lifecycle.effective(*read_)
            if guest.kind == 'qemu':
                out['pve_vm'].append(vm_options(entry, config, self.skipped))
                secret = [key for key in GUEST_SECRET_KEYS if config.get(key) not in (None, '')]
                if secret:
                    self.secrets.append({'module': 'pve_vm', 'item': str(guest.vmid), 'options': secret})
            else:
                out['pve_lxc'].append(ct_options(entry, config, self.skipped))
        return out

    # ------------------------------------------------------------ all

    def export(self, areas):
        result = {}
        for area in AREAS:
            if area not in areas:
                continue
            result.update(getattr(self, area)())
        self.check_complete()
        return result
