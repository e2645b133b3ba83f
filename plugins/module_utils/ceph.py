# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox VE's hyper-converged Ceph (pve-manager's /nodes/{node}/ceph and /cluster/ceph APIs).

What the Ceph modules share: the node check, the pool list as the modules compare it, the OSD tree flattened to a
list, the devices of a node, the RBD storages that use a pool, and the flags.
"""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError

FLAGS = ('nobackfill', 'nodeep-scrub', 'nodown', 'noin', 'noout', 'norebalance', 'norecover', 'noscrub',
         'notieragent', 'noup', 'pause')


def not_initialized(error):
    """True when PVE says Ceph is not set up on the cluster (or not installed on the node)."""
    text = str(getattr(error, 'message', '') or '')
    return isinstance(error, ProxmoxApiError) and (
        'not initialized' in text or 'binary not installed' in text or 'not fully configured' in text)


def min_size_after_resize(size, configured):
    """The min_size Ceph gives a pool whose size is set (OSDMonitor's `osd pool set <pool> size`, through
    md_config_t::get_osd_pool_default_min_size): osd_pool_default_min_size capped at the size, or size - size/2
    when that option is 0 or unset."""
    size = int(size)
    configured = int(configured or 0)
    return min(configured, size) if configured else size - size // 2


class CephApi(object):
    """The Ceph calls of one node of a cluster."""

    def __init__(self, client, node):
        self.client = client
        self.node = node

    def path(self, *segments):
        return self.client.path('nodes', self.node, 'ceph', *segments)

    def check_node(self):
        """Fail before any write when the node is not a node of the cluster."""
        nodes = self.client.get(self.client.path('nodes')) or []
        names = sorted(item.get('node') for item in nodes)
        if self.node not in names:
            raise ProxmoxConfigError('no such cluster node {0!r} (the cluster has {1})'.format(
                self.node, ', '.join(names)))
        return nodes

    # ---------------------------------------------------------------- pools

    def pools(self):
        return self.client.get(self.path('pool')) or []

    def pool(self, name):
        for pool in self.pools():
            if pool.get('pool_name') == name:
                return pool
        return None

    def default_min_size(self):
        """osd_pool_default_min_size of ceph.conf's global section (0 when unset), or None when it cannot be read
        (it needs Sys.Audit on /)."""
        try:
            data = self.client.get(self.path('cfg', 'value'),
                                   **{'config-keys': 'global:osd_pool_default_min_size'}) or {}
        except ProxmoxApiError as error:
            if error.status_code in (403, 501):
                return None
            raise
        return int((data.get('global') or {}).get('osd_pool_default_min_size') or 0)

    def rules(self):
        """Names of the cluster's CRUSH rules."""
        return sorted(item['name'] for item in self.client.get(self.path('rules')) or [])

    def pool_status(self, name):
        return self.client.get(self.path('pool', name, 'status'), verbose=1)

    def storages_of_pool(self, name):
        """Ids of the RBD storages of this cluster whose pool (or data pool) is `name` (PVE's default pool: rbd)."""
        out = []
        for store in self.client.get(self.client.path('storage'), type='rbd') or []:
            if store.get('monhost'):
                continue
            if store.get('pool', 'rbd') == name or store.get('data-pool') == name:
                out.append(store['storage'])
        return sorted(out)

    # ---------------------------------------------------------------- OSDs and devices

    def osd_tree(self):
        return self.client.get(self.path('osd')) or {}

    def osds(self, tree=None):
        """The OSD tree as a flat list: id, name, host, status (up/down), in, device_class, devices, usage."""
        out = []

        def walk(item, host=None):
            if item.get('type') == 'osd':
                osd = dict((k, v) for k, v in item.items() if k != 'children')
                osd.setdefault('host', host)
                osd['id'] = int(osd['id'])
                osd['up'] = osd.get('status') == 'up'
                osd['in'] = bool(int(osd.get('in', 0) or 0))
                out.append(osd)
            for child in item.get('children') or []:
                walk(child, item.get('name') if item.get('type') == 'host' else host)
        walk((tree if tree is not None else self.osd_tree()).get('root') or {})
        return sorted(out, key=lambda osd: osd['id'])

    def disks(self):
        return self.client.get(self.client.path('nodes', self.node, 'disks', 'list')) or []

    def disk(self, dev, disks=None):
        for disk in disks if disks is not None else self.disks():
            if disk.get('devpath') == dev:
                return disk
        return None

    # ---------------------------------------------------------------- flags

    def flags(self):
        """Names of the flags that are set."""
        return sorted(item['name'] for item in self.client.get(self.client.path('cluster', 'ceph', 'flags')) or []
                      if int(item.get('value') or 0))


def disk_osds(disk):
    """Ids of the OSDs on a device of the disk list (none: [])."""
    if not disk:
        return []
    ids = disk.get('osdid-list')
    if ids:
        return sorted(int(i) for i in ids)
    osdid = disk.get('osdid')
    if osdid is not None and int(osdid) >= 0:
        return [int(osdid)]
    return []


def size_bytes(value):
    """A pool target size ('100G', 1073741824) in bytes, or None."""
    if value in (None, ''):
        return None
    return propstring.parse_size(value)
