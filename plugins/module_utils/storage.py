# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox VE storage definitions (storage.cfg, the /storage API): which option belongs to which storage type.

The tables follow pve-storage's plugins (PVE/Storage/*Plugin.pm, their options()): an option a type does not list
is refused by PVE ("unexpected property"), a `fixed` one can only be set on creation, and one that is neither
optional nor fixed-optional is required on creation. Checking them here lets a module fail before any write with
a message that names the option and the type.
"""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource

_FILE = ('nodes', 'disable', 'content', 'prune_backups', 'max_protected_backups', 'format', 'create_base_path',
         'create_subdirs', 'preallocation')

# type -> (options, create-only options, options required on creation). Option names are the module's.
TYPES = {
    'dir': (_FILE + ('path', 'shared', 'is_mountpoint'), ('path',), ('path',)),
    'nfs': (_FILE + ('path', 'server', 'export', 'options'), ('path', 'server', 'export'), ('server', 'export')),
    'cifs': (_FILE + ('path', 'server', 'share', 'subdir', 'username', 'password', 'domain', 'smbversion', 'options'),
             ('path', 'server', 'share'), ('server', 'share')),
    'lvm': (('nodes', 'disable', 'content', 'vgname', 'shared', 'base', 'saferemove', 'tagged_only'),
            ('vgname', 'base'), ('vgname',)),
    'lvmthin': (('nodes', 'disable', 'content', 'vgname', 'thinpool'), ('vgname', 'thinpool'), ('vgname', 'thinpool')),
    'zfspool': (('nodes', 'disable', 'content', 'pool', 'blocksize', 'sparse', 'mountpoint'), ('pool',), ('pool',)),
    'rbd': (('nodes', 'disable', 'content', 'monhost', 'pool', 'data_pool', 'namespace', 'username', 'krbd',
             'keyring'), (), ()),
    'cephfs': (('nodes', 'disable', 'content', 'prune_backups', 'max_protected_backups', 'path', 'monhost', 'subdir',
                'username', 'keyring', 'fuse', 'fs_name', 'options', 'create_base_path', 'create_subdirs'),
               ('path',), ()),
    'pbs': (('nodes', 'disable', 'content', 'prune_backups', 'max_protected_backups', 'server', 'datastore',
             'namespace', 'port', 'username', 'password', 'encryption_key', 'master_pubkey', 'pbs_fingerprint'),
            ('server', 'datastore'), ('server', 'datastore')),
}

# Content types each type can hold (PVE drops the others with a warning, so asking for them is a mistake).
CONTENT = {
    'dir': ('images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import', 'none'),
    'nfs': ('images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'),
    'cifs': ('images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'),
    'lvm': ('images', 'rootdir'),
    'lvmthin': ('images', 'rootdir'),
    'zfspool': ('images', 'rootdir'),
    'rbd': ('images', 'rootdir'),
    'cephfs': ('vztmpl', 'iso', 'backup', 'snippets', 'import'),
    'pbs': ('backup',),
}

# Every type-specific option the modules know (the common ones, name, type, state ... are not in here).
TYPE_OPTIONS = sorted(set(name for opts, _fixed, _req in TYPES.values() for name in opts))

# Never read back from the API: PVE keeps them outside storage.cfg (extract_sensitive_params).
WRITE_ONLY = ('password', 'keyring', 'encryption_key', 'master_pubkey')

PRUNE_KEYS = ('keep_all', 'keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly')


def prune_props(value):
    """prune-backups as a dict of ints, whether the API gives a string or the module a dict."""
    parsed = propstring.parse(value)
    return dict((key, int(propstring.pve_bool(val)) if key == 'keep-all' else int(val)) for key, val in parsed.items())


def prune_serialize(value):
    return propstring.render(prune_props(value))


def prune_desired(prune):
    """The module's prune_backups dict -> API keys, or ABSENT for an empty dict (None when not given)."""
    if prune is None:
        return None
    keys = dict((key.replace('_', '-'), val) for key, val in prune.items() if val is not None)
    if keys.get('keep-all') and len(keys) > 1:
        raise ProxmoxConfigError('prune_backups: keep_all cannot be set together with other keep options')
    return keys or ABSENT


def check_options(kind, given, creating):
    """Fail before any write when an option does not belong to the storage type or a required one is missing.

    given: option names the user set (not None). kind: the storage type the options apply to.
    """
    if kind not in TYPES:
        raise ProxmoxConfigError('type {0!r} is not managed by this module (one of {1})'.format(
            kind, ', '.join(sorted(TYPES))))
    allowed, _fixed, required = TYPES[kind]
    foreign = sorted(opt for opt in given if opt in TYPE_OPTIONS and opt not in allowed)
    if foreign:
        owners = dict((opt, sorted(t for t, spec in TYPES.items() if opt in spec[0])) for opt in foreign)
        raise ProxmoxConfigError('it is of type {0!r}, which has no option {1} ({2})'.format(
            kind, ', '.join(foreign),
            '; '.join('{0} is for {1}'.format(opt, ', '.join(owners[opt])) for opt in foreign)))
    if creating:
        missing = [opt for opt in required if opt not in given]
        if missing:
            raise ProxmoxConfigError('a {0} storage needs {1} to be created'.format(
                kind, ' and '.join(missing)))


def check_content(kind, content):
    if not content:
        return
    valid = CONTENT[kind]
    wrong = [c for c in content if c not in valid]
    if wrong:
        raise ProxmoxConfigError('a {0} storage cannot hold content {1} (it holds {2})'.format(
            kind, ', '.join(wrong), ', '.join(valid)))
    if 'none' in content and len(content) > 1:
        raise ProxmoxConfigError("content 'none' cannot be combined with other content types")


def check_nodes(client, nodes):
    """Fail when a node the user names is not a node of the cluster (PVE itself would accept it silently)."""
    if not nodes:
        return
    known = set(item.get('node') for item in client.get(client.path('nodes')) or [])
    unknown = sorted(set(nodes) - known)
    if unknown:
        raise ProxmoxConfigError('no such cluster node {0} (the cluster has {1})'.format(
            ', '.join(unknown), ', '.join(sorted(known))))


def check_mutable(fields, desired, current):
    """Fail, before any write, when a create-only option would change (the message names no target: the module's
    error report puts the storage in front)."""
    changes = compare(fields, desired, current)
    if changes.immutable:
        detail = '; '.join('{0} is {1!r}, asked {2!r}'.format(n, have, want) for n, have, want in changes.immutable)
        raise ProxmoxConfigError('these options can only be set on creation: {0}. Remove and recreate the storage to '
                                 'change them.'.format(detail))


class StorageResource(ConfigResource):
    """A storage.cfg entry. prefetch() reads it for validation; the engine's first read then reuses that answer,
    so a run makes one GET before it writes (and a fresh one after)."""

    _prefetched = False
    # What the create call answered under `config` (a PBS storage's generated encryption key), else None.
    created_config = None

    def _finish(self, answer):
        if isinstance(answer, dict) and answer.get('config'):
            self.created_config = answer['config']
        super()._finish(answer)

    def prefetch(self):
        super().read()
        self._prefetched = True
        return self.current

    def read(self):
        if self._prefetched:
            self._prefetched = False
            return self.current
        return super().read()
