# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The one version gate: API keys that only some Proxmox VE releases have.

Proxmox VE refuses a parameter its schema does not have ("property is not defined in schema ..."), and a key
of a property string it does not know ("invalid key in comma-separated list property"). Every PVE write of the
collection goes through ProxmoxClient.request, which calls check() before it sends anything: a key the
cluster's release does not have fails there, naming the key, the cluster's version and the version needed.
Code that writes several times (the resource engine, guests) calls check() on every write it plans before the
first one, and in check mode too, so a run fails before any write. Keys a module adds by itself ask
supports() and are left out where the cluster does not have them.

GATED is small and hand-checked: the keys our modules can send whose presence differs between PVE 8.4 and
PVE 9 (found with tests/tools/pve_schema_diff.py, which diffs the PVE 8.4 API schema against PVE 9's).
The cluster's version is read (GET /version, once per client) only when a request carries a gated key.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

QEMU_CONFIG = ('/nodes/{node}/qemu', '/nodes/{node}/qemu/{vmid}/config')
LXC_CONFIG = ('/nodes/{node}/lxc', '/nodes/{node}/lxc/{vmid}/config')
HA_RESOURCE = ('/cluster/ha/resources', '/cluster/ha/resources/{sid}')
STORAGE = ('/storage', '/storage/{storage}')
BACKUP_JOB = ('/cluster/backup', '/cluster/backup/{id}', '/nodes/{node}/vzdump')
SDN_WRITES = ('/cluster/sdn/zones', '/cluster/sdn/zones/{zone}', '/cluster/sdn/vnets', '/cluster/sdn/vnets/{vnet}',
              '/cluster/sdn/vnets/{vnet}/subnets', '/cluster/sdn/vnets/{vnet}/subnets/{subnet}',
              '/cluster/sdn/controllers', '/cluster/sdn/controllers/{controller}', '/cluster/sdn/ipams',
              '/cluster/sdn/ipams/{ipam}', '/cluster/sdn/dns', '/cluster/sdn/dns/{dns}', '/cluster/sdn')

NINE = (9, 0)
# (API paths, parameter, key inside its property string or None, first release with it, first release without it)
GATED = (
    (QEMU_CONFIG, 'allow-ksm', None, NINE, None),
    (QEMU_CONFIG, 'intel-tdx', None, NINE, None),
    (QEMU_CONFIG, 'agent', 'freeze-fs', NINE, None),
    (QEMU_CONFIG, 'agent', 'guest-fsfreeze', NINE, None),
    (QEMU_CONFIG, 'net[n]', 'host-tunnel', NINE, None),
    (QEMU_CONFIG, 'efidisk0', 'ms-cert', NINE, None),
    (QEMU_CONFIG, 'tpmstate0', 'format', NINE, None),
    (QEMU_CONFIG, 'machine', 'aw-bits', NINE, None),
    (('/nodes/{node}/qemu/{vmid}/status/start',), 'nets-host-mtu', None, NINE, None),
    (('/nodes/{node}/qemu/{vmid}/migrate', '/nodes/{node}/qemu/{vmid}/status/start'), 'with-conntrack-state', None,
     NINE, None),
    (('/nodes/{node}/qemu', '/nodes/{node}/lxc'), 'ha-managed', None, NINE, None),
    (LXC_CONFIG, 'entrypoint', None, NINE, None),
    (LXC_CONFIG, 'env', None, NINE, None),
    (LXC_CONFIG, 'net[n]', 'host-managed', NINE, None),
    (LXC_CONFIG, 'mp[n]', 'keepattrs', NINE, None),
    (LXC_CONFIG, 'mp[n]', 'idmap', NINE, None),
    (LXC_CONFIG, 'rootfs', 'idmap', NINE, None),
    (HA_RESOURCE, 'failback', None, NINE, None),
    (HA_RESOURCE, 'auto-rebalance', None, NINE, None),
    (('/cluster/ha/resources/{sid}',), 'purge', None, NINE, None),
    (STORAGE, 'snapshot-as-volume-chain', None, NINE, None),
    (STORAGE, 'saferemove-stepsize', None, NINE, None),
    (STORAGE, 'zfs-base-path', None, NINE, None),
    (SDN_WRITES, 'lock-token', None, NINE, None),
    (('/cluster/sdn',), 'release-lock', None, NINE, None),
    (('/access/users/{userid}/token/{tokenid}',), 'regenerate', None, NINE, None),
    (BACKUP_JOB, 'notification-policy', None, None, NINE),
    (BACKUP_JOB, 'notification-target', None, None, NINE),
    (BACKUP_JOB + STORAGE, 'maxfiles', None, None, NINE),
)

# API paths only some releases have: (paths, first release with them, first release without them).
GATED_PATHS = (
    (('/cluster/ha/rules', '/cluster/ha/rules/{rule}'), NINE, None),
    (('/cluster/sdn/lock', '/cluster/sdn/rollback'), NINE, None),
    (('/cluster/sdn/vnets/{vnet}/firewall', '/cluster/sdn/vnets/{vnet}/firewall/options',
      '/cluster/sdn/vnets/{vnet}/firewall/rules', '/cluster/sdn/vnets/{vnet}/firewall/rules/{pos}'), (8, 3), None),
)


def _path_re(templates):
    return re.compile('^(?:' + '|'.join(re.sub(r'\\\{[^/]+?\\\}', '[^/]+', re.escape(t)) for t in templates) + ')/?$')


def _key_re(key):
    return re.compile('^' + re.escape(key).replace(re.escape('[n]'), r'\d+') + '$')


# GATED and GATED_PATHS as patterns, compiled on the first write a run checks (_rules()), not at import: every
# module imports this one through the client, and a run that only reads (a task with nothing to change) has no use
# for the 60-odd patterns, whose compiling was a large part of such a run's start-up.
_COMPILED: List[Any] = []


def _rules():
    """(rules for keys, rules for paths), compiled once."""
    if not _COMPILED:
        _COMPILED.append([(_path_re(paths), _key_re(key), key, sub, since, until)
                          for paths, key, sub, since, until in GATED])
        _COMPILED.append([(_path_re(paths), since, until) for paths, since, until in GATED_PATHS])
    return _COMPILED[0], _COMPILED[1]


def release_of(version):
    """The /version answer ({'version': '8.4.14', ...}) as a tuple (8, 4, 14); () when it names none."""
    text = str((version or {}).get('version') or (version or {}).get('release') or '')
    found = re.match(r'^(\d+)(?:\.(\d+))?(?:\.(\d+))?', text)
    return tuple(int(part) for part in found.groups() if part is not None) if found else ()


def _text(release):
    return '.'.join(str(part) for part in release)


def _has_subkey(value, sub):
    if isinstance(value, dict):
        return sub in value
    try:
        # A bare first item (a volume, a model=MAC) is some format's default key, never a gated one.
        return sub in propstring.parse(propstring.stringify(value), default_key=' default')
    except (ValueError, TypeError, propstring.PropertyStringError):
        return False


def gated(path, params):
    """The gated path and keys of a request: [(shown name, since, until)], whatever the cluster's version."""
    rules, path_rules = _rules()
    out: List[Tuple[Any, Optional[Tuple[int, int]], Optional[Tuple[int, int]]]] = [
        (path, since, until) for path_re, since, until in path_rules if path_re.match(path)]
    for path_re, key_re, _key, sub, since, until in rules:
        if not path_re.match(path):
            continue
        for name, value in (params or {}).items():
            if value is None or not key_re.match(str(name)):
                continue
            if sub is None:
                out.append((str(name), since, until))
            elif _has_subkey(value, sub):
                out.append(('{0} key {1}'.format(name, sub), since, until))
    return out


def refusal(name, since, until, release):
    """Why `name` cannot be sent to a cluster of `release` (a tuple), or None when it can."""
    if not release:
        return None
    if since is not None and release < since:
        return '{0} exists from Proxmox VE {1} on; this cluster runs Proxmox VE {2}'.format(
            name, _text(since), _text(release))
    if until is not None and release >= until:
        return '{0} exists only before Proxmox VE {1} (it removed it); this cluster runs Proxmox VE {2}'.format(
            name, _text(until), _text(release))
    return None


def _is_pve(client):
    return str(getattr(getattr(client, 'settings', None), 'service', 'PVE')).upper() == 'PVE'


def check(client, method, path, params):
    """Raise ProxmoxConfigError, before anything is sent, when a PVE write carries a key the cluster's release
    does not have. Reads the version (once per client) only when the request carries a gated key."""
    found = gated(path, params) if method != 'GET' else None
    if not found or not _is_pve(client):
        return
    release = release_of(client.version())
    why = [text for text in (refusal(name, since, until, release) for name, since, until in found) if text]
    if why:
        raise ProxmoxConfigError('; '.join(why), url=client.settings.url, method=method, path=path)


def supports(client, path, key, sub=None):
    """Whether the cluster's release has `key` (or `sub` inside it) on `path`: for keys a module adds itself."""
    found = gated(path, {key: {sub: 1} if sub else 1})
    if not found or not _is_pve(client):
        return True
    release = release_of(client.version())
    return not any(refusal(name, since, until, release) for name, since, until in found)


def has_path(client, path):
    """Whether the cluster's release has the API path `path` (/cluster/ha/rules, /cluster/sdn/lock, ...)."""
    found = [(name, since, until) for name, since, until in gated(path, {}) if name == path]
    if not found or not _is_pve(client):
        return True
    release = release_of(client.version())
    return not any(refusal(name, since, until, release) for name, since, until in found)
