# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Snapshots of guests (VMs and containers): list them, name them and plan a retention. Waiting for a guest's
config lock (backup, snapshot, migrate, ...) to go away is guest_lifecycle.ensure_unlocked()."""

from __future__ import annotations

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

# PVE's pve-snapshot-name: a pve-configid (CONFIGID_RE) of at most 40 characters.
_SNAPNAME_RE = re.compile(r'^[a-z][a-z0-9_-]+$', re.I)
SNAPNAME_MAX = 40
# Names PVE reserves: 'current' is the "You are here!" entry of the list; containers reserve 'vzdump' (a backup's
# temporary snapshot) and VMs 'pending' in any case.
RESERVED = {'qemu': ('current',), 'lxc': ('current', 'vzdump')}
RESERVED_ANY_CASE = {'qemu': ('pending',), 'lxc': ()}


def check_snapname(name, kind=None):
    """The name as PVE takes it, or ProxmoxConfigError saying why not (before any request)."""
    text = str(name or '')
    if not _SNAPNAME_RE.match(text) or len(text) > SNAPNAME_MAX:
        raise ProxmoxConfigError('snapshot name {0!r} is not valid: 2 to {1} letters, digits, - and _, starting with a '
                                 'letter'.format(text, SNAPNAME_MAX))
    if text in RESERVED.get(kind, ('current',)) or text.lower() in RESERVED_ANY_CASE.get(kind, ()):
        raise ProxmoxConfigError('snapshot name {0!r} is reserved by Proxmox VE'.format(text))
    return text


def snapshot_path(client, guest, *rest):
    """/nodes/{node}/{qemu|lxc}/{vmid}/snapshot[/...] of a guest entry of /cluster/resources."""
    return client.path('nodes', guest['node'], guest['type'], int(guest['vmid']), 'snapshot', *rest)


def list_snapshots(client, guest):
    """The guest's snapshots (one read), without the 'current' entry, oldest first."""
    items = [item for item in client.get(snapshot_path(client, guest)) or []
             if isinstance(item, dict) and item.get('name') and item.get('name') != 'current']
    return oldest_first(items)


def oldest_first(items):
    """Snapshots by creation time; those taken in the same second by their place in the parent chain (a snapshot
    comes after its parent), then by name. Each item gets its `depth` in the chain."""
    parents = dict((item['name'], item.get('parent')) for item in items)

    def depth(name):
        seen = set()
        count = 0
        while parents.get(name) and name not in seen:
            seen.add(name)
            name = parents[name]
            count += 1
        return count
    return sorted(items, key=lambda item: (int(item.get('snaptime') or 0), depth(item['name']), str(item['name'])))


def snapshot_view(item):
    """A snapshot as the module returns it."""
    out = {'name': item['name'], 'description': str(item.get('description') or '').rstrip('\n'),
           'snaptime': int(item.get('snaptime') or 0), 'vmstate': bool(int(item.get('vmstate') or 0))}
    if item.get('parent'):
        out['parent'] = item['parent']
    if item.get('snapstate'):
        out['snapstate'] = item['snapstate']
    return out


def by_name(items):
    return dict((item['name'], item) for item in items)


def retention_plan(items, prefix, keep, planned=None):
    """Names of the snapshots a retention removes, oldest first.

    Of the snapshots whose names start with `prefix` (plus `planned`, the name of one about to be taken, which is
    the newest), the newest `keep` stay; older ones of that prefix go. Snapshots of other names are never touched,
    nor incomplete ones (a snapstate: PVE is still taking or deleting them).
    """
    if keep < 0:
        raise ProxmoxConfigError('retention must be 0 or more')
    mine = [item for item in oldest_first(items)
            if str(item.get('name')).startswith(prefix) and not item.get('snapstate')]
    names = [item['name'] for item in mine]
    if planned is not None and planned.startswith(prefix) and planned not in names:
        names.append(planned)
    drop = names[:max(0, len(names) - keep)]
    return [name for name in drop if name != planned]
