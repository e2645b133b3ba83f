# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The proxfleet.proxmox.dr role's plan, in Python (the filters dr_select, dr_plan and dr_summary call it).

Everything here is pure: it reads what the role's tasks read (the source cluster's guests and their configurations,
the DR cluster's nodes and guests, the Backup Server's snapshots) and the role's settings, and returns data.

- select(): the vmids the settings pick (dr_tags, dr_pool, dr_guests, minus dr_exclude), sorted.
- plan(): one entry per selected guest - where it goes (target vmid, node, storage via dr_storage_map, bridges via
  dr_bridge_map), from which backup (the newest, or the newest at or before dr_point_in_time), and what the run does
  with it: `action` restore (a free vmid), converge (restored by an earlier run), skip or refuse (another guest has
  the vmid) - and `op`, the operation in the shape every plan of this collection uses (create, update, or none) -
  plus the problems that stop the run before any change (no guest, no backup, no node, a vmid taken, two guests
  onto one vmid).
- nets(): the network devices of a restored guest to move, with their new bridge.
- summary(): the report's line per guest, in check mode too.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ansible_collections.proxfleet.proxmox.plugins.filter.duration import duration as format_duration

# PVE guest types of PBS backup types, and back.
GUEST_TYPES = {'vm': 'qemu', 'ct': 'lxc'}
BACKUP_TYPES = {'qemu': 'vm', 'lxc': 'ct'}
# The first word of a drill guest's notes and of a drill VNet's alias (tasks/leftovers.yml).
DRILL_MARKER = 'proxfleet-drill'
# The configuration keys of a guest's disks (a container's root file system first).
_DISK = re.compile(r'^(rootfs|scsi\d+|virtio\d+|sata\d+|ide\d+|efidisk0)$')
_NET = re.compile(r'^net[0-9]+$')
_BRIDGE = re.compile(r'(?:^|,)bridge=([^,]+)')
# The operation (pve_apply's op) of each action.
OPS = {'restore': 'create', 'converge': 'update', 'skip': None, 'refuse': None}


class DrPlanError(ValueError):
    """Settings the plan cannot be computed from."""


def _vmid(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise DrPlanError('{0}: a vmid must be a number, not {1!r}'.format(what, value))
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise DrPlanError('{0}: a vmid must be a number, not {1!r}'.format(what, value)) from None


def _list(value: Any) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _dict(value: Any) -> Dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def select(source_guests: Any, dr_guests: Any, tags: Any = None, pool: Any = None, exclude: Any = None) -> List[int]:
    """The vmids to restore: source guests with any of `tags` or in `pool`, and every dr_guests entry, less `exclude`."""
    wanted_tags = set(str(tag) for tag in _list(tags))
    out = set()
    for guest in _list(source_guests):
        guest = _dict(guest)
        has_tag = bool(wanted_tags) and bool(wanted_tags & set(str(tag) for tag in _list(guest.get('tags'))))
        in_pool = bool(pool) and (guest.get('pool') or '') == pool
        if has_tag or in_pool:
            out.add(_vmid(guest.get('vmid'), 'source guest'))
    for entry in _list(dr_guests):
        out.add(_vmid(_dict(entry).get('vmid'), 'dr_guests entry {0}'.format(entry)))
    excluded = set(_vmid(vmid, 'dr_exclude') for vmid in _list(exclude))
    return sorted(out - excluded)


def _same_vmid(value: Any, vmid: int) -> bool:
    try:
        return not isinstance(value, bool) and int(str(value).strip()) == vmid
    except (TypeError, ValueError):
        return False


def _first(items: List[Dict[str, Any]], key: str, value: Any) -> Optional[Dict[str, Any]]:
    return next((item for item in items if item.get(key) == value), None)


def source_storage(config: Any) -> Optional[str]:
    """The storage of a guest's first disk (its root file system for a container), None without one."""
    disks = dict((key, str(value)) for key, value in _dict(config).items()
                 if _DISK.match(key) and 'media=cdrom' not in str(value) and ':' in str(value))
    if not disks:
        return None
    key = 'rootfs' if 'rootfs' in disks else sorted(disks)[0]
    return disks[key].split(':')[0]


def newest_snapshot(snapshots: Any, vmid: int, guest_type: Optional[str] = None,
                    point_in_time_iso: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The newest backup of the guest (of its type when known), taken at or before point_in_time_iso when given."""
    types = [BACKUP_TYPES.get(guest_type)] if guest_type is not None else ['vm', 'ct']
    snaps = [snap for snap in (_dict(s) for s in _list(snapshots))
             if str(snap.get('backup_id')) == str(vmid) and snap.get('backup_type') in types]
    if point_in_time_iso:
        snaps = [snap for snap in snaps if str(snap.get('backup_time_iso')) <= point_in_time_iso]
    if not snaps:
        return None
    # The first of the newest (a stable sort), as the role's Jinja did.
    return sorted(snaps, key=lambda snap: snap.get('backup_time') or 0, reverse=True)[0]


def plan(settings: Dict[str, Any]) -> Dict[str, Any]:
    """{'guests': one entry per selected guest, 'problems': what stops the run before any change}.

    settings holds what the role read (selected, source_guests, source_configs, target_guests, nodes, snapshots,
    leftover_vmids) and its settings (dr_guests, vmid_offset, storage, storage_map, bridge_map, backup_storage,
    point_in_time_iso, tag, drill, if_exists, tags, pool, cluster_name, datastore, namespace).
    """
    settings = _dict(settings)
    drill = bool(settings.get('drill'))
    tag = settings.get('tag') or ''
    if_exists = settings.get('if_exists') or 'skip'
    nodes = [str(node) for node in _list(settings.get('nodes')) if node]
    entries = [_dict(entry) for entry in _list(settings.get('dr_guests'))]
    source_guests = [_dict(guest) for guest in _list(settings.get('source_guests'))]
    source_configs = [_dict(guest) for guest in _list(settings.get('source_configs'))]
    target_guests = [_dict(guest) for guest in _list(settings.get('target_guests'))]
    leftovers = set(_vmid(vmid, 'leftover') for vmid in _list(settings.get('leftover_vmids')))
    storage_map = _dict(settings.get('storage_map'))
    bridge_map = _dict(settings.get('bridge_map'))
    offset = int(settings.get('vmid_offset') or 0)
    point_in_time_iso = settings.get('point_in_time_iso') or None
    backup_storage = settings.get('backup_storage') or ''

    guests = []
    for index, vmid in enumerate(_vmid(v, 'selected') for v in _list(settings.get('selected'))):
        entry = next((e for e in entries if _same_vmid(e.get('vmid'), vmid)), {})
        source = _first(source_guests, 'vmid', vmid) or {}
        snap = newest_snapshot(settings.get('snapshots'), vmid, source.get('type') if 'type' in source else None,
                               point_in_time_iso)
        config = (_first(source_configs, 'vmid', vmid) or {}).get('config') or {}
        storage_of_source = source_storage(config)
        target = (_vmid(entry['target_vmid'], 'target_vmid of guest {0}'.format(vmid))
                  if entry.get('target_vmid') is not None else vmid + offset)
        existing = next((g for g in target_guests if g.get('vmid') == target and target not in leftovers), None)
        ours = existing is not None and tag in _list(existing.get('tags'))
        if existing is None:
            action = 'restore'
        elif ours and not drill:
            action = 'converge'
        elif if_exists == 'skip' and not drill:
            action = 'skip'
        else:
            action = 'refuse'
        if 'node' in entry:
            node = entry['node']
        elif existing is not None:
            node = existing.get('node')
        else:
            node = nodes[index % len(nodes)] if nodes else None
        if 'storage' in entry:
            storage = entry['storage']
        elif storage_of_source is not None and storage_of_source in storage_map:
            storage = storage_map[storage_of_source]
        else:
            storage = settings.get('storage') or ''
        bridges = dict(bridge_map)
        bridges.update(_dict(entry.get('bridges')))
        if 'name' in source:
            name = source['name']
        else:
            name = snap.get('comment') or None if snap else None
        guests.append({
            'source_vmid': vmid, 'target_vmid': target,
            'type': GUEST_TYPES.get(str(snap.get('backup_type'))) if snap else source.get('type'),
            'name': name, 'node': node, 'storage': storage, 'source_storage': storage_of_source,
            'bridges': bridges,
            'archive': '{0}:backup/{1}'.format(backup_storage, snap.get('path')) if snap else None,
            'backup_time': snap.get('backup_time') if snap else None,
            'backup_time_iso': snap.get('backup_time_iso') if snap else None,
            'existing': existing, 'action': action, 'op': OPS[action]})
    return {'guests': guests, 'problems': problems(guests, settings)}


def problems(guests: List[Dict[str, Any]], settings: Dict[str, Any]) -> List[str]:
    """What stops the run before any change, one sentence each."""
    drill = bool(settings.get('drill'))
    tag = settings.get('tag') or ''
    cluster = settings.get('cluster_name') or 'the DR cluster'
    namespace = settings.get('namespace') or ''
    point_in_time_iso = settings.get('point_in_time_iso') or ''
    out = []
    if not guests:
        tags = ', '.join(str(t) for t in _list(settings.get('tags')))
        pool = settings.get('pool') or ''
        out.append('no guest selected: none of the source guests has ' + (tags or 'the tags')
                   + (' or is in pool ' + pool if pool else '') + ', and dr_guests is empty')
    targets = [item['target_vmid'] for item in guests]
    if len(set(targets)) != len(targets):
        out.append('two guests would be restored to the same vmid ({0})'.format(', '.join(str(t) for t in targets)))
    for item in guests:
        what = 'guest {0}'.format(item['source_vmid']) + (' ({0})'.format(item['name']) if item['name'] else '')
        if item['archive'] is None and item['action'] in ('restore', 'refuse'):
            out.append(what + ': no backup in ' + str(settings.get('datastore') or '')
                       + (' namespace ' + namespace if namespace else '')
                       + (' taken at or before ' + point_in_time_iso if point_in_time_iso else ''))
        if item['node'] is None:
            out.append(what + ': no online node of ' + cluster + ' to restore onto')
        if item['action'] == 'refuse':
            existing = item['existing'] or {}
            if tag in _list(existing.get('tags')):
                out.append(what + ': vmid {0} on {1} has the drill tag {2} but not the mark a drill sets ({3} in its '
                           'notes): remove it or the tag first'.format(item['target_vmid'], cluster, tag, DRILL_MARKER))
            else:
                out.append(what + ': vmid {0} is taken on {1} by {2} (without tag {3})'.format(
                    item['target_vmid'], cluster, existing.get('name') or 'a guest', tag)
                    + (': a drill restores only to free vmids (dr_vmid_offset or target_vmid)' if drill
                       else ' and dr_if_exists is fail'))
    return out


def nets(config: Any, bridges: Any = None, drill_bridge: Optional[str] = None) -> List[Dict[str, str]]:
    """The netN of a guest's configuration to move: [{'slot', 'bridge'}] for each whose new bridge differs.

    In a drill (drill_bridge given) every device goes to drill_bridge; otherwise a device on a bridge `bridges` maps
    goes to the mapped one, the others stay.
    """
    mapping = _dict(bridges)
    out = []
    for key, value in _dict(config).items():
        if not _NET.match(key):
            continue
        found = _BRIDGE.search(str(value))
        bridge = found.group(1) if found else None
        wanted = drill_bridge if drill_bridge else mapping.get(bridge, bridge) if bridge is not None else None
        if wanted and wanted != bridge:
            out.append({'slot': key, 'bridge': wanted})
    return out


def summary(results: Any, removed: Any = None, check_mode: bool = False) -> List[str]:
    """The report's line per guest result of the role (dr_results)."""
    removed_vmids = set(str(vmid) for vmid in _list(removed))
    lines = []
    for item in (_dict(r) for r in _list(results)):
        what = ('guest {0}'.format(item.get('source_vmid')) + (' ({0})'.format(item['name']) if item.get('name') else '')
                + ' -> {0} on {1}'.format(item.get('target_vmid'), item.get('node')))
        if item.get('error'):
            lines.append(what + ': FAILED: ' + str(item['error']))
        elif item.get('action') == 'skip':
            lines.append(what + ': skipped, the vmid is taken by another guest')
        elif item.get('action') == 'restore' and not item.get('restored') and check_mode:
            lines.append(what + ': would be restored from {0} (backup {1}, check mode)'.format(
                item.get('archive'), item.get('backup_time_iso')))
        elif not item.get('restored'):
            lines.append(what + ': restored earlier, ' + (item.get('status') or 'not checked'))
        else:
            agent = item.get('agent')
            lines.append(what + ': RPO {0} (backup {1}), RTO {2}, {3}'.format(
                format_duration(item.get('rpo_seconds')), item.get('backup_time_iso'),
                format_duration(item.get('rto_seconds')), item.get('status') or 'not started')
                + (', agent answers' if agent else (', agent SILENT' if agent is False else ''))
                + (', removed' if str(item.get('target_vmid')) in removed_vmids else ''))
    return lines
