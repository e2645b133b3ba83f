# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""One cluster's summary for fleet views: nodes, guests, CPU, memory, storage, Ceph health, HA state and the
freshness of each guest's newest backup on the cluster's Proxmox Backup Server storages.

The reads (`read_cluster`) are few and fixed: /version, /cluster/resources, /cluster/status,
/cluster/ha/status/current, /cluster/ceph/status, plus one content listing per backup storage. Everything else is
pure functions over those answers, so it is unit-tested without a server.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils import backup
from ansible_collections.proxfleet.proxmox.plugins.module_utils.ceph import not_initialized
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxTLSError,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import settings_from_options

GUEST_TYPES = ('qemu', 'lxc')
BACKUP_STATES = ('fresh', 'stale', 'none')
# Storage types PVE always treats as shared, whatever their `shared` flag (pve-storage's @SHARED_STORAGE).
SHARED_TYPES = ('iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs')
# What the HA status text of an LRM says between the node name and the time: "lab1-n1 (idle, Sun ...)".
_LRM_STATE = re.compile(r'\(([^,()]+)')


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value):
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def fraction(used, total):
    """used / total rounded to 4 places; None without a total."""
    return round(float(used) / total, 4) if total else None


def iso_time(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------- nodes, CPU, memory

def summarize_nodes(resources, status=None):
    """Nodes from /cluster/resources (usage) and /cluster/status (membership, for nodes resources lack)."""
    usage = dict((item['node'], item) for item in resources if item.get('type') == 'node' and item.get('node'))
    members = dict((item['name'], item) for item in status or [] if item.get('type') == 'node' and item.get('name'))
    nodes = []
    for name in sorted(set(usage) | set(members)):
        item = usage.get(name, {})
        if item:
            online = item.get('status') == 'online'
        else:
            online = bool(members[name].get('online'))
        cpus = _int(item.get('maxcpu')) if online else 0
        nodes.append({
            'name': name,
            'online': online,
            'cpus': cpus,
            'cpu_used': round(_float(item.get('cpu')) * cpus, 2) if online else 0.0,
            'cpu_fraction': round(_float(item.get('cpu')), 4) if online else None,
            'memory_used': _int(item.get('mem')) if online else 0,
            'memory_total': _int(item.get('maxmem')) if online else 0,
            'uptime': _int(item.get('uptime')) if online else None,
        })
    return nodes


def summarize_capacity(nodes, guests):
    """CPU and memory of the online nodes: used, total, available; vCPUs and memory the running guests have."""
    online = [n for n in nodes if n['online']]
    running = [g for g in guests if g['status'] == 'running']
    cpu_total = sum(n['cpus'] for n in online)
    cpu_used = round(sum(n['cpu_used'] for n in online), 2)
    mem_total = sum(n['memory_total'] for n in online)
    mem_used = sum(n['memory_used'] for n in online)
    return {
        'cpu': {'total': cpu_total, 'used': cpu_used, 'available': round(max(0.0, cpu_total - cpu_used), 2),
                'fraction': fraction(cpu_used, cpu_total), 'allocated': sum(g['cpus'] for g in running)},
        'memory': {'total': mem_total, 'used': mem_used, 'available': max(0, mem_total - mem_used),
                   'fraction': fraction(mem_used, mem_total), 'allocated': sum(g['memory'] for g in running)},
    }


# ---------------------------------------------------------------- guests

def summarize_guests(resources):
    """Every VM and container (templates apart), sorted by vmid."""
    out = []
    for item in resources:
        if item.get('type') not in GUEST_TYPES or item.get('vmid') is None:
            continue
        out.append({
            'vmid': int(item['vmid']),
            'name': item.get('name') or '{0}-{1}'.format(item['type'], item['vmid']),
            'type': item['type'],
            'node': item.get('node'),
            'status': item.get('status') or 'unknown',
            'template': bool(_int(item.get('template'))),
            'cpus': _int(item.get('maxcpu')),
            'memory': _int(item.get('maxmem')),
            'disk': _int(item.get('maxdisk')),
            'pool': item.get('pool'),
            'tags': sorted(t for t in re.split(r'[;, ]+', str(item.get('tags') or '')) if t),
        })
    out.sort(key=lambda g: g['vmid'])
    return out


def count_guests(guests):
    real = [g for g in guests if not g['template']]
    running = sum(1 for g in real if g['status'] == 'running')
    stopped = sum(1 for g in real if g['status'] == 'stopped')
    return {'total': len(real), 'running': running, 'stopped': stopped, 'other': len(real) - running - stopped,
            'qemu': sum(1 for g in real if g['type'] == 'qemu'), 'lxc': sum(1 for g in real if g['type'] == 'lxc'),
            'templates': len(guests) - len(real)}


# ---------------------------------------------------------------- storage

def summarize_storage(resources):
    """Storages from /cluster/resources: a shared one once (its first available node's view), a local one per node.

    Totals count available storages only; a storage shared with another cluster counts in each of them.
    """
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for item in sorted((r for r in resources if r.get('type') == 'storage' and r.get('storage')),
                       key=lambda r: (r.get('storage'), r.get('node') or '')):
        shared = bool(_int(item.get('shared'))) or item.get('plugintype') in SHARED_TYPES
        key = item['storage'] if shared else '{0}/{1}'.format(item.get('node'), item['storage'])
        groups.setdefault(key, []).append(item)
    seen = {}
    for key, items in groups.items():
        item = next((i for i in items if i.get('status') == 'available'), items[0])
        shared = bool(_int(item.get('shared'))) or item.get('plugintype') in SHARED_TYPES
        available = item.get('status') == 'available'
        total, used = _int(item.get('maxdisk')), _int(item.get('disk'))
        seen[key] = {
            'storage': item['storage'], 'node': None if shared else item.get('node'),
            'nodes': sorted(set(i['node'] for i in items if i.get('node'))), 'type': item.get('plugintype'),
            'shared': shared, 'status': item.get('status') or 'unknown',
            'content': sorted(c for c in str(item.get('content') or '').split(',') if c),
            'total': total if available else 0, 'used': used if available else 0,
            'available': max(0, total - used) if available else 0,
            'fraction': fraction(used, total) if available else None,
        }
    storages = sorted(seen.values(), key=lambda s: (s['storage'], s['node'] or ''))
    counted = [s for s in storages if s['status'] == 'available']
    total = sum(s['total'] for s in counted)
    used = sum(s['used'] for s in counted)
    totals = {'total': total, 'used': used, 'available': max(0, total - used), 'fraction': fraction(used, total),
              'count': len(storages), 'unavailable': len(storages) - len(counted)}
    return totals, storages


# ---------------------------------------------------------------- Ceph and HA

def summarize_ceph(status, error=None):
    """Health, checks, monitors in quorum, OSDs and raw usage from the `ceph status` document."""
    if error is not None:
        if not_initialized(error):
            return {'initialized': False, 'health': None, 'checks': [], 'error': None}
        return {'initialized': True, 'health': 'unknown', 'checks': [], 'error': getattr(error, 'message', str(error))}
    status = status or {}
    health = status.get('health') or {}
    checks = []
    for code, check in sorted((health.get('checks') or {}).items()):
        summary = check.get('summary') or {}
        checks.append({'code': code, 'severity': check.get('severity'), 'message': summary.get('message')})
    osdmap = status.get('osdmap') or {}
    # Ceph before Reef nests the OSD counts one level deeper.
    osdmap = osdmap.get('osdmap', osdmap)
    pgmap = status.get('pgmap') or {}
    total, used = _int(pgmap.get('bytes_total')), _int(pgmap.get('bytes_used'))
    return {
        'initialized': True, 'health': health.get('status') or 'unknown', 'checks': checks, 'error': None,
        'monitors': len(status.get('quorum_names') or []),
        'osds': {'total': _int(osdmap.get('num_osds')), 'up': _int(osdmap.get('num_up_osds')),
                 'in': _int(osdmap.get('num_in_osds'))},
        'total': total, 'used': used, 'available': _int(pgmap.get('bytes_avail')), 'fraction': fraction(used, total),
    }


def summarize_ha(current):
    """Quorum, the active manager, each LRM's mode and the HA resources by state from /cluster/ha/status/current."""
    quorum: Dict[str, Any] = next((i for i in current if i.get('type') == 'quorum'), {})
    master = next((i for i in current if i.get('type') == 'master'), None)
    lrms = []
    for item in current:
        if item.get('type') != 'lrm':
            continue
        found = _LRM_STATE.search(str(item.get('status') or ''))
        lrms.append({'node': item.get('node'), 'state': found.group(1).strip() if found else 'unknown'})
    services = sorted(({'sid': i.get('sid'), 'node': i.get('node'), 'state': i.get('state') or 'unknown'}
                       for i in current if i.get('type') == 'service'), key=lambda s: str(s['sid']))
    by_state: Dict[str, int] = {}
    for service in services:
        by_state[service['state']] = by_state.get(service['state'], 0) + 1
    return {
        'quorate': bool(_int(quorum.get('quorate'))) if quorum else None,
        'manager': master.get('node') if master else None,
        'manager_status': master.get('status') if master else None,
        'lrm': sorted(lrms, key=lambda lrm: str(lrm['node'])),
        'resources': len(services), 'by_state': by_state, 'services': services,
    }


# ---------------------------------------------------------------- backups

def backup_storages(storages, wanted=None):
    """The backup storages to read: the named ones, else every available pbs storage."""
    if wanted is not None:
        return [s for s in storages if s['storage'] in wanted]
    return [s for s in storages if s['type'] == 'pbs' and s['status'] == 'available']


def summarize_backups(guests, items, now, max_age):
    """Newest backup of each guest among content items ({storage: [items]}) and whether it is fresh.

    fresh: not older than max_age seconds; stale: older; none: no backup found.
    """
    # vmid -> (ctime, storage, volid) of its newest backup
    newest: Dict[int, Tuple[int, str, Any]] = {}
    for storage, found in sorted(items.items()):
        for item in found:
            try:
                vmid = backup.backup_vmid(item)
            except ProxmoxError:
                continue
            if vmid is None:
                continue
            ctime = _int(item.get('ctime'))
            if vmid not in newest or ctime > newest[vmid][0]:
                newest[vmid] = (ctime, storage, item.get('volid'))
    out = []
    counts = dict((state, 0) for state in BACKUP_STATES)
    for guest in guests:
        if guest['template']:
            continue
        last = newest.get(guest['vmid'])
        if last is None:
            state, age = 'none', None
        else:
            age = max(0, int(now) - last[0])
            state = 'fresh' if age <= max_age else 'stale'
        counts[state] += 1
        out.append({'vmid': guest['vmid'], 'name': guest['name'], 'type': guest['type'], 'node': guest['node'],
                    'status': guest['status'], 'state': state, 'last_backup': last[0] if last else None,
                    'last_backup_iso': iso_time(last[0]) if last else None, 'age_seconds': age,
                    'storage': last[1] if last else None, 'volid': last[2] if last else None})
    return counts, out


# ---------------------------------------------------------------- the whole summary

def summarize(resources, status, ha_current, ceph_status, backup_items, now, max_age, version=None, url=None,
              ceph_error=None, backup_errors=None, storages_read=()):
    """One cluster's summary from its API answers (the module's `cluster` result)."""
    header: Dict[str, Any] = next((item for item in status or [] if item.get('type') == 'cluster'), {})
    nodes = summarize_nodes(resources, status)
    guests = summarize_guests(resources)
    storage, storages = summarize_storage(resources)
    counts, per_guest = summarize_backups(guests, backup_items or {}, now, max_age)
    result = {
        'name': header.get('name') or (nodes[0]['name'] if len(nodes) == 1 else None),
        'url': url,
        'version': (version or {}).get('version'),
        'quorate': bool(_int(header.get('quorate', 1))),
        'generated': int(now),
        'generated_iso': iso_time(now),
        'nodes': {'total': len(nodes), 'online': sum(1 for n in nodes if n['online'])},
        'node_list': nodes,
        'guests': count_guests(guests),
        'guest_list': guests,
        'storage': storage,
        'storage_list': storages,
        'ceph': summarize_ceph(ceph_status, ceph_error),
        'ha': summarize_ha(ha_current or []),
        'backups': dict(counts, max_age=int(max_age), storages=list(storages_read), errors=list(backup_errors or []),
                        guests=per_guest),
    }
    result.update(summarize_capacity(nodes, guests))
    return result


def connect_first(params, hosts):
    """A client for the first of hosts that answers /version, and that answer; every node's error when none does.

    Only connection and TLS failures move on to the next host: a refused login is the same on every node.
    """
    failures = []
    for host in hosts:
        client = ProxmoxClient(settings_from_options(dict(params, api_host=host)))
        try:
            return client, client.version()
        except (ProxmoxConnectionError, ProxmoxTLSError) as error:
            failures.append(error.describe())
            if host == hosts[-1] and len(hosts) == 1:
                raise
    raise ProxmoxConnectionError('no node of the cluster answered: {0}'.format('; '.join(failures)))


def read_cluster(client, now, max_age, wanted_storages=None, version=None):
    """Read one cluster with the fixed set of requests and summarise it."""
    version = version if version is not None else client.version()
    resources = client.get('/cluster/resources') or []
    status = client.get('/cluster/status') or []
    ha_current = client.get('/cluster/ha/status/current') or []
    ceph_status, ceph_error = None, None
    try:
        ceph_status = client.get('/cluster/ceph/status')
    except ProxmoxApiError as error:
        ceph_error = error
    _totals, storages = summarize_storage(resources)
    if wanted_storages is not None:
        missing = sorted(set(wanted_storages) - set(s['storage'] for s in storages))
        if missing:
            raise ProxmoxConfigError('backup_storages names storages the cluster does not have: {0} (its storages: {1})'.format(
                ', '.join(missing), ', '.join(sorted(set(s['storage'] for s in storages))) or 'none'), url=client.settings.url)
    online = set(n['name'] for n in summarize_nodes(resources, status) if n['online'])
    items: Dict[Any, Any] = {}
    errors: List[Any] = []
    read: List[Any] = []
    for store in backup_storages(storages, wanted_storages):
        # A local storage is read on its own node; a shared one on any node that lists it.
        node = next((n for n in ([store['node']] if store['node'] else store['nodes']) if n in online), None)
        if node is None:
            errors.append({'storage': store['storage'], 'message': 'no online node has this storage'})
            continue
        try:
            # A local storage is listed once per node, each with that node's backups: they all count, once named.
            items.setdefault(store['storage'], []).extend(backup.list_backups(client, node, store['storage']))
            if store['storage'] not in read:
                read.append(store['storage'])
        except ProxmoxApiError as error:
            errors.append({'storage': store['storage'], 'message': error.describe('storage {0}'.format(store['storage']))})
    return summarize(resources, status, ha_current, ceph_status, items, now, max_age, version=version,
                     url=client.settings.url, ceph_error=ceph_error, backup_errors=errors, storages_read=read)
