# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Backups of guests: the storages they go to, the backup volumes in a storage's content (vzdump archives and
Proxmox Backup Server snapshots alike), the newest backup of a guest, and which volumes a backup run added."""

from __future__ import annotations

import re
from typing import Any, Dict, List

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

# Backup volume formats: vzdump archives (vma, tar, with compression) and PBS snapshots.
_VZDUMP_KIND = re.compile(r'(?:^|/)vzdump-(qemu|lxc|openvz)-(\d+)-')
_PBS_KIND = re.compile(r'^backup/(vm|ct)/(\d+)/')
_VOLID = re.compile(r'^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$', re.I)
BACKUP_KEYS = ('volid', 'vmid', 'format', 'size', 'ctime', 'notes', 'protected', 'subtype', 'verification')


def split_volid(volid, what='archive'):
    """(storage, volume name) of a volume id, or ProxmoxConfigError."""
    found = _VOLID.match(str(volid or ''))
    if not found:
        raise ProxmoxConfigError('{0} {1!r} is not a volume id (storage:volume, for example '
                                 'pbs:backup/vm/100/2026-01-01T00:00:00Z or local:backup/vzdump-qemu-100-....vma.zst)'.format(
                                     what, volid))
    return found.group(1), found.group(2)


def backup_kind(item):
    """'qemu' or 'lxc' for a backup volume (a content item or a volume id); None when its name does not tell."""
    if isinstance(item, dict):
        subtype = item.get('subtype')
        if subtype in ('qemu', 'lxc'):
            return subtype
        fmt = str(item.get('format') or '')
        if fmt in ('pbs-vm', 'pbs-ct'):
            return 'qemu' if fmt == 'pbs-vm' else 'lxc'
        volid = item.get('volid')
    else:
        volid = item
    _storage, volname = split_volid(volid)
    found = _PBS_KIND.match(volname)
    if found:
        return 'qemu' if found.group(1) == 'vm' else 'lxc'
    found = _VZDUMP_KIND.search(volname)
    if found:
        return 'qemu' if found.group(1) == 'qemu' else 'lxc'
    return None


def backup_vmid(item):
    """The vmid a backup volume belongs to, or None."""
    if item.get('vmid') is not None:
        return int(item['vmid'])
    _storage, volname = split_volid(item.get('volid'))
    found = _PBS_KIND.match(volname) or _VZDUMP_KIND.search(volname)
    return int(found.group(2)) if found else None


def storages(client):
    """{storage id: its configuration} from /storage (one read)."""
    return dict((item['storage'], item) for item in client.get('/storage') or []
                if isinstance(item, dict) and item.get('storage'))


def content_types(storage):
    return set(c for c in str(storage.get('content') or '').replace(';', ',').split(',') if c)


def check_storage(known, name, content, url, purpose):
    """The storage's configuration: it exists and holds this content type; ProxmoxConfigError otherwise."""
    if name not in known:
        # /storage lists only what the user may audit (Datastore.Audit or Datastore.AllocateSpace on it).
        raise ProxmoxConfigError('storage {0!r} does not exist in the cluster, or this user may not see it (it needs '
                                 'Datastore.Audit or Datastore.AllocateSpace on /storage/{0}; the storages it sees: '
                                 '{1})'.format(name, ', '.join(sorted(known)) or 'none'), url=url)
    store = known[name]
    if content not in content_types(store):
        raise ProxmoxConfigError('storage {0!r} cannot be used for {1}: its content is {2}, not {3}'.format(
            name, purpose, ','.join(sorted(content_types(store))) or 'none', content), url=url)
    if store.get('disable') in (1, '1', True):
        raise ProxmoxConfigError('storage {0!r} is disabled'.format(name), url=url)
    return store


def check_storage_on_node(store, node, url):
    nodes = [n for n in str(store.get('nodes') or '').replace(';', ',').split(',') if n]
    if nodes and node not in nodes:
        raise ProxmoxConfigError('storage {0!r} is not available on node {1!r} (only on {2})'.format(
            store.get('storage'), node, ', '.join(nodes)), url=url)


def backup_view(item, node=None):
    """A backup volume as the modules return it."""
    view = dict((key, item[key]) for key in BACKUP_KEYS if item.get(key) is not None)
    view['storage'] = split_volid(item['volid'])[0]
    kind = backup_kind(item)
    if kind:
        view['type'] = kind
    if view.get('vmid') is None and backup_vmid(item) is not None:
        view['vmid'] = backup_vmid(item)
    if 'protected' in view:
        view['protected'] = bool(int(view['protected']))
    if node:
        view['node'] = node
    return view


def list_backups(client, node, storage, vmid=None):
    """The backup volumes of a storage as the node sees them (GET .../content?content=backup)."""
    params: Dict[str, Any] = {'content': 'backup'}
    if vmid is not None:
        params['vmid'] = int(vmid)
    return [item for item in client.get(client.path('nodes', node, 'storage', storage, 'content'), **params) or []
            if isinstance(item, dict) and item.get('volid')]


def newest_backup(items, vmid=None):
    """The newest backup (by ctime, then volume id) of a guest among content items, or None."""
    mine = [item for item in items if vmid is None or backup_vmid(item) == int(vmid)]
    if not mine:
        return None
    return max(mine, key=lambda item: (int(item.get('ctime') or 0), str(item['volid'])))


def added_backups(before, after):
    """Items of `after` whose volume ids `before` did not have, oldest first."""
    known = set(item['volid'] for item in before)
    return sorted((item for item in after if item['volid'] not in known),
                  key=lambda item: (int(item.get('ctime') or 0), str(item['volid'])))


def select_guests(guests, vmids=None, pool=None, all_guests=False, exclude=None, url=None):
    """The guests (from /cluster/resources) a backup is for: by vmid list, pool or all but `exclude`.

    Every vmid must exist: ProxmoxConfigError naming the missing ones otherwise.
    """
    by_id = dict((int(guest['vmid']), guest) for guest in guests)
    if vmids:
        missing = sorted(set(int(v) for v in vmids) - set(by_id))
        if missing:
            raise ProxmoxConfigError('no guest with vmid {0} in the cluster (nothing was backed up)'.format(
                ', '.join(str(v) for v in missing)), url=url)
        return [by_id[v] for v in sorted(set(int(v) for v in vmids))]
    if pool is not None:
        return [by_id[v] for v in sorted(by_id) if by_id[v].get('pool') == pool]
    if all_guests:
        skip = set(int(v) for v in exclude or [])
        return [by_id[v] for v in sorted(by_id) if v not in skip]
    return []


def by_node(guests):
    """{node: [vmid, ...]} of guests."""
    out: Dict[str, List[int]] = {}
    for guest in guests:
        out.setdefault(guest.get('node'), []).append(int(guest['vmid']))
    return out
