# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""What is specific to the Proxmox Backup Server: its config resources (datastores, remotes, sync / verify /
prune jobs) declared on the engine, the checks made before any write, and the read-only views (datastore usage,
deduplication, GC status, snapshots newest first).

PBS differs from PVE in ways the engine already knows (the digest beside `data`, `delete` as an array); here is
what it does not: a datastore's keep options exist only on creation (PBS makes them a prune job), a job's type
picks its API path and fields, and calendar events, datastores and remotes are checked before anything is sent.
"""

from __future__ import annotations

import datetime
import re
from typing import Dict, List, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError, is_not_found
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

KEEP_OPTIONS = ('keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly')

# ------------------------------------------------------------------ checks before any write

_CALENDAR_WORDS = {'minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly',
                   'semiannually', 'semi-annually'}
_DAY = r'(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?'
_CAL_TOKEN = re.compile(r'^(?:{0}(?:\.\.{0})?(?:,{0}(?:\.\.{0})?)*|[0-9*/.,~:\-]+)$'.format(_DAY), re.I)


def calendar_problem(value):
    """Why a value cannot be a systemd-style calendar event (None when it looks like one).

    A light check, so that a schedule PBS would refuse fails before any write (in check mode too); PBS parses the
    event fully when it is sent.
    """
    text = str(value).strip()
    if text.lower() in _CALENDAR_WORDS:
        return None
    tokens = text.split()
    if tokens and len(tokens) <= 3 and all(_CAL_TOKEN.match(token) for token in tokens):
        return None
    return ('{0!r} is not a calendar event: use a word (daily, weekly, hourly ...), weekdays, a date and/or a time, '
            'e.g. "daily", "sat 02:00", "mon..fri 21:30", "*-*-01 03:00"'.format(value))


def check_calendar(label, option, value):
    if value not in (None, '') and calendar_problem(value):
        raise ProxmoxConfigError('{0}: {1}: {2}'.format(label, option, calendar_problem(value)))


def _names(client, collection, key='name'):
    return sorted(str(item.get(key)) for item in client.get(collection) or [])


def datastores(client):
    """The datastores' configurations (one read)."""
    return client.get('/config/datastore') or []


# What each list PBS filters silently needs to be complete: (ACL path, privileges of which one is enough), all of
# them propagated from that path (src/api2/config/{datastore,remote,sync,verify,prune}.rs list_*).
LIST_NEEDS: Dict[str, List[Tuple[str, Tuple[str, ...]]]] = {
    'datastores': [('/datastore', ('Datastore.Audit',))],
    'remotes': [('/remote', ('Remote.Audit',))],
    'sync jobs': [('/datastore', ('Datastore.Audit',)), ('/remote', ('Remote.Audit',))],
    'verify jobs': [('/datastore', ('Datastore.Audit', 'Datastore.Verify'))],
    'prune jobs': [('/datastore', ('Datastore.Audit',))],
}


def own_permissions(client, path=None):
    """{ACL path: {privilege: propagated}} of the logged-in user or token (GET /access/permissions, open to all)."""
    return client.get('/access/permissions', **({'path': path} if path else {})) or {}


def holds(permissions, path, privileges, propagated=False):
    """Whether one of privileges is held on path (and, with propagated, below it too)."""
    here = permissions.get(path) or {}
    return any(name in here and (here[name] or not propagated) for name in privileges)


def list_gaps(client, names, permissions=None):
    """{list name: note} for each list that may be incomplete because PBS leaves out silently what the
    login may not see; empty when every list is complete."""
    permissions = own_permissions(client) if permissions is None else permissions
    gaps = {}
    for name in names:
        missing = ['{0} on {1}'.format(' or '.join(privs), path) for path, privs in LIST_NEEDS[name]
                   if not holds(permissions, path, privs, propagated=True)]
        if missing:
            gaps[name] = ('{0} may be incomplete: {1} has no {2} (propagated), and Proxmox Backup Server leaves out '
                          'silently what it may not see'.format(name, client.settings.auth_id, ', '.join(missing)))
    return gaps


def require_datastore(client, label, option, name, known=None):
    known = known if known is not None else [d.get('name') for d in datastores(client)]
    if name not in known:
        path = '/datastore/' + name
        if not holds(own_permissions(client, path), path, ('Datastore.Audit',)):
            raise ProxmoxConfigError(
                '{0}: {1}: datastore {2!r} is not in the list {3} may see: it has no Datastore.Audit on {4}, so '
                'Proxmox Backup Server leaves it out whether it exists or not; grant it there (see the privileges in '
                'docs/privileges.md)'.format(label, option, name, client.settings.auth_id, path))
        raise ProxmoxConfigError('{0}: {1}: datastore {2!r} does not exist on this Proxmox Backup Server (it has: {3})'.format(
            label, option, name, ', '.join(sorted(known)) or 'none'))


def require_remote(client, label, name):
    known = _names(client, '/config/remote')
    if name not in known:
        path = '/remote/' + name
        if not holds(own_permissions(client, path), path, ('Remote.Audit',)):
            raise ProxmoxConfigError(
                '{0}: remote {1!r} is not in the list {2} may see: it has no Remote.Audit on {3}, so Proxmox Backup '
                'Server leaves it out whether it exists or not; grant it there'.format(
                    label, name, client.settings.auth_id, path))
        raise ProxmoxConfigError('{0}: remote {1!r} does not exist (remotes: {2}); create it first with '
                                 'proxfleet.proxmox.pbs_remote'.format(label, name, ', '.join(known) or 'none'))


# ------------------------------------------------------------------ normalisers

def _text_or_absent(value):
    return ABSENT if value == '' else value


def _props(default_key=None):
    def normalize(value):
        return propstring.parse(value, default_key)
    return normalize


def _props_serialize(default_key=None):
    def serialize(value):
        return propstring.render(propstring.parse(value, default_key))
    return serialize


def _byte_text(value):
    """'10 MiB' and '10MiB' alike (PBS keeps a rate as the human byte size it was given)."""
    return re.sub(r'\s+', '', str(value))


def _str_list(value):
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


# ------------------------------------------------------------------ datastores

DATASTORE_SPEC = ResourceSpec(
    result_key='datastore',
    label='datastore',
    collection='/config/datastore',
    id_field='name',
    delete_as_list=True,
    fields=[
        Field('path', create_only=True),
        Field('comment'),
        Field('gc_schedule'),
        Field('verify_new', kind='bool'),
        Field('notification_mode'),
        Field('notify_user'),
        Field('notify', normalize=_props(), serialize=_props_serialize()),
        Field('tuning', normalize=_props(), serialize=_props_serialize()),
        Field('maintenance_mode', normalize=_props('type'), serialize=_props_serialize('type')),
    ],
)


class PbsResource(ConfigResource):
    """A ConfigResource whose first read may already have been made (by the checks before any write)."""

    _pre_read = None
    _have_pre_read = False

    def read(self):
        if self._have_pre_read:
            self._have_pre_read = False
            self.current = self._pre_read
            return self.current
        return super().read()

    def peek(self):
        """Read now (for the checks); ensure() then reuses this read instead of making a second one."""
        current = self.read()
        self._pre_read, self._have_pre_read = current, True
        return current


CREATE_ONLY = KEEP_OPTIONS + ('prune_schedule', 'reuse_datastore')
DATASTORE_CREATE_SPEC = ResourceSpec(
    result_key='datastore', label='datastore', collection='/config/datastore', id_field='name', delete_as_list=True,
    fields=DATASTORE_SPEC.fields + [Field(name, kind='int') for name in KEEP_OPTIONS] + [
        Field('prune_schedule'), Field('reuse_datastore', kind='bool')])


def datastore_desired(params):
    desired = dict((field.name, params.get(field.name)) for field in DATASTORE_SPEC.fields)
    for name in ('comment', 'gc_schedule', 'notify_user', 'maintenance_mode'):
        if params.get(name) == '':
            desired[name] = ABSENT
    for name in ('notify', 'tuning'):
        value = params.get(name)
        if value is not None:
            value = dict((k.replace('_', '-'), v) for k, v in value.items() if v is not None)
            desired[name] = value or ABSENT
    return desired


def ensure_datastore(module):
    params = module.params
    name = params['name']
    label = 'datastore {0!r}'.format(name)
    resource = PbsResource(module, DATASTORE_SPEC, name)
    if params['state'] == 'absent':
        delete = {}
        if params.get('destroy_data'):
            delete['destroy-data'] = True
        if params.get('keep_job_configs'):
            delete['keep-job-configs'] = True
        return resource.ensure('absent', {}, delete_params=delete)

    check_calendar(label, 'gc_schedule', params.get('gc_schedule'))
    check_calendar(label, 'prune_schedule', params.get('prune_schedule'))
    current = resource.peek()
    desired = datastore_desired(params)
    if current is None:
        path = params.get('path')
        if not path:
            raise ProxmoxConfigError('{0} does not exist: give its path to create it'.format(label))
        if not path.startswith('/'):
            raise ProxmoxConfigError('{0}: path must be absolute, got {1!r}'.format(label, path))
        for other in datastores(module.client):
            if str(other.get('path', '')).rstrip('/') == path.rstrip('/'):
                raise ProxmoxConfigError('{0}: path {1!r} is already in use by datastore {2!r}'.format(
                    label, path, other.get('name')))
        keep = dict((k, params.get(k)) for k in KEEP_OPTIONS if params.get(k) is not None)
        if keep and not params.get('prune_schedule'):
            raise ProxmoxConfigError('{0}: keep options become a prune job, which needs prune_schedule'.format(label))
        # Creation-only parameters: PBS turns keep options and prune-schedule into a prune job (default-<store>-...)
        # and keeps none of them in the datastore, so they are sent once and never compared.
        creating = PbsResource(module, DATASTORE_CREATE_SPEC, name)
        creating._pre_read, creating._have_pre_read = None, True
        for key in CREATE_ONLY:
            desired[key] = params.get(key) or None
        return creating.ensure('present', desired)
    return resource.ensure('present', desired)


# ------------------------------------------------------------------ remotes

REMOTE_SPEC = ResourceSpec(
    result_key='remote',
    label='remote',
    collection='/config/remote',
    id_field='name',
    delete_as_list=True,
    fields=[
        Field('host'),
        Field('port', kind='int'),
        Field('auth_id'),
        Field('password', write_only=True),
        Field('fingerprint', normalize=lambda v: str(v).strip().upper()),
        Field('comment'),
    ],
)


def ensure_remote(module):
    params = module.params
    resource = PbsResource(module, REMOTE_SPEC, params['name'])
    if params['state'] == 'absent':
        return resource.ensure('absent', {})
    desired = dict((field.name, params.get(field.name)) for field in REMOTE_SPEC.fields)
    for name in ('comment', 'fingerprint'):
        if params.get(name) == '':
            desired[name] = ABSENT
    current = resource.peek()
    if current is None:
        missing = [name for name in ('host', 'auth_id', 'password') if not params.get(name)]
        if missing:
            raise ProxmoxConfigError('remote {0!r} does not exist: give {1} to create it'.format(
                params['name'], ', '.join(missing)))
    return resource.ensure('present', desired, send_secrets=params.get('update_password') == 'always')


# ------------------------------------------------------------------ jobs

JOB_TYPES = {
    # type -> (config path, admin run path, option names of that type only)
    'sync': ('sync', ('remote', 'remote_store', 'remote_ns', 'owner', 'remove_vanished', 'group_filter', 'rate_in',
                      'burst_in', 'rate_out', 'burst_out', 'transfer_last', 'sync_direction')),
    'verify': ('verify', ('ignore_verified', 'outdated_after')),
    'prune': ('prune', KEEP_OPTIONS),
}
COMMON_JOB_FIELDS = [Field('store'), Field('schedule'), Field('comment'), Field('ns'), Field('max_depth', kind='int')]
TYPE_FIELDS = {
    'sync': [
        Field('remote'), Field('remote_store'), Field('remote_ns'), Field('owner'),
        Field('remove_vanished', kind='bool'),
        Field('group_filter', normalize=_str_list, serialize=_str_list),
        Field('rate_in', normalize=_byte_text), Field('burst_in', normalize=_byte_text),
        Field('rate_out', normalize=_byte_text), Field('burst_out', normalize=_byte_text),
        Field('transfer_last', kind='int'),
        Field('sync_direction'),
    ],
    'verify': [Field('ignore_verified', kind='bool'), Field('outdated_after', kind='int')],
    'prune': [Field(name, kind='int') for name in KEEP_OPTIONS],
}


def job_spec(job_type):
    path = JOB_TYPES[job_type][0]
    return ResourceSpec(result_key='job', label='{0} job'.format(job_type), collection='/config/' + path,
                        id_field='id', delete_as_list=True, fields=COMMON_JOB_FIELDS + TYPE_FIELDS[job_type])


def job_desired(params, spec):
    desired = dict((field.name, params.get(field.name)) for field in spec.fields)
    for name in ('comment', 'schedule', 'ns', 'remote_ns', 'owner', 'remote', 'rate_in', 'burst_in', 'rate_out',
                 'burst_out'):
        if name in desired and params.get(name) == '':
            desired[name] = ABSENT
    if 'group_filter' in desired and params.get('group_filter') == []:
        desired['group_filter'] = ABSENT
    return desired


def check_job(module, current):
    """Everything PBS would refuse that can be known before a write: wrong-type options, a bad schedule, a
    missing datastore or remote, a sync from a store to itself, a prune job without schedule."""
    params = module.params
    job_type = params['type']
    label = '{0} job {1!r}'.format(job_type, params['id'])
    foreign = [name for other, (_path, names) in JOB_TYPES.items() if other != job_type for name in names
               if name not in JOB_TYPES[job_type][1] and params.get(name) is not None]
    if foreign:
        raise ProxmoxConfigError('{0}: {1} do not apply to a {2} job'.format(label, ', '.join(sorted(set(foreign))), job_type))
    check_calendar(label, 'schedule', params.get('schedule'))
    if current is None:
        required = ['store'] + (['remote_store'] if job_type == 'sync' else []) + (['schedule'] if job_type == 'prune' else [])
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise ProxmoxConfigError('{0} does not exist: give {1} to create it'.format(label, ', '.join(missing)))
    merged = dict(current or {})
    for name in ('store', 'remote', 'remote_store'):
        if params.get(name) is not None:
            merged[name.replace('_', '-')] = params[name]
    known = None
    if params.get('store'):
        known = [d.get('name') for d in datastores(module.client)]
        require_datastore(module.client, label, 'store', params['store'], known)
    if job_type == 'sync':
        remote = merged.get('remote')
        if params.get('remote'):
            require_remote(module.client, label, params['remote'])
        elif not remote and params.get('remote_store'):
            # A local sync reads another datastore of this server.
            require_datastore(module.client, label, 'remote_store', params['remote_store'], known)
        if not remote and merged.get('store') and merged.get('store') == merged.get('remote-store'):
            raise ProxmoxConfigError("{0}: source and target datastore can't be the same ({1!r})".format(
                label, merged['store']))
    return label


def ensure_job(module):
    params = module.params
    spec = job_spec(params['type'])
    resource = PbsResource(module, spec, params['id'])
    if params['state'] == 'absent':
        if params.get('run'):
            raise ProxmoxConfigError('{0} job {1!r}: run needs state=present'.format(params['type'], params['id']))
        return resource.ensure('absent', {})
    current = resource.peek()
    check_job(module, current)
    desired = job_desired(params, spec)
    if desired.get('sync_direction') == 'pull' and current is not None and 'sync-direction' not in current:
        # PBS stores no direction for a pull job made without one: pull is what it means.
        desired['sync_direction'] = None
    result = resource.ensure('present', desired)
    if params.get('run'):
        result['changed'] = True
        if not module.check_mode:
            path = module.client.path('admin', JOB_TYPES[params['type']][0], params['id'], 'run')
            upid = module.client.post(path)
            task = module.wait_task(upid)
            result['run'] = task.as_dict()
        else:
            result['run'] = None
    return result


# ------------------------------------------------------------------ read-only views

def iso_time(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def datastore_usage(client, store):
    """Usage, GC status, deduplication factor and snapshot counts of one datastore (one status read)."""
    status = client.get(client.path('admin', 'datastore', store, 'status'), verbose=1) or {}
    gc_status = status.get('gc-status') or {}
    disk = gc_status.get('disk-bytes') or 0
    index = gc_status.get('index-data-bytes') or 0
    counts = status.get('counts') or {}
    total = status.get('total') or 0
    return {
        'total': total,
        'used': status.get('used'),
        'avail': status.get('avail'),
        'used_fraction': round(float(status.get('used') or 0) / total, 6) if total else None,
        # index data over unique chunk bytes as the last GC counted them; None before the first GC
        'deduplication_factor': round(float(index) / disk, 2) if disk else None,
        'gc_status': gc_status,
        'counts': counts,
        'groups': sum(int(c.get('groups') or 0) for c in counts.values() if isinstance(c, dict)),
        'snapshots': sum(int(c.get('snapshots') or 0) for c in counts.values() if isinstance(c, dict)),
    }


def has_push_sync(version):
    """Whether a PBS version (the /version answer) knows sync directions (3.3 and later)."""
    found = re.match(r'^(\d+)\.(\d+)', str(version.get('version') or ''))
    return not found or (int(found.group(1)), int(found.group(2))) >= (3, 3)


def server_info(client, only=None):
    version = client.get('/version') or {}
    stores = []
    for config in datastores(client):
        name = config.get('name')
        if only and name != only:
            continue
        entry = dict(config)
        entry.pop('digest', None)
        entry.update(datastore_usage(client, name))
        stores.append(entry)
    if only and not stores:
        path = '/datastore/' + only
        if not holds(own_permissions(client, path), path, ('Datastore.Audit',)):
            raise ProxmoxConfigError('datastore {0!r} is not visible to {1}: it has no Datastore.Audit on {2}, so '
                                     'Proxmox Backup Server leaves it out whether it exists or not'.format(
                                         only, client.settings.auth_id, path))
        raise ProxmoxConfigError('datastore {0!r} does not exist on this Proxmox Backup Server'.format(only))
    jobs = {}
    for job_type, (path, _names) in JOB_TYPES.items():
        # Push sync jobs (PBS 3.3 and later) are listed only when asked for; older servers have no such parameter.
        params = {'sync-direction': 'all'} if job_type == 'sync' and has_push_sync(version) else {}
        jobs[job_type] = [dict(j) for j in client.get('/config/' + path, **params) or []
                          if not only or j.get('store') == only]
    remotes = [dict((k, v) for k, v in r.items() if k != 'password') for r in client.get('/config/remote') or []]
    gaps = list_gaps(client, ['datastores', 'remotes', 'sync jobs', 'verify jobs', 'prune jobs'])
    if 'datastores' in gaps:
        # Datastores the login sees a trace of (GET /admin/datastore: Datastore.Backup, or a privilege on a
        # namespace) but may not audit: name them.
        listed = set(s['name'] for s in stores)
        hidden = sorted(item.get('store') for item in client.get('/admin/datastore') or []
                        if item.get('store') not in listed and (not only or item.get('store') == only))
        if hidden:
            gaps['datastores'] += ' (without Datastore.Audit: {0})'.format(', '.join(hidden))
    return {'version': version, 'datastores': stores, 'remotes': remotes, 'jobs': jobs,
            'incomplete': [gaps[name] for name in sorted(gaps)]}


def snapshot_entry(store, ns, item):
    verification = item.get('verification') or {}
    entry = {
        'datastore': store,
        'ns': ns or '',
        'backup_type': item.get('backup-type'),
        'backup_id': str(item.get('backup-id')),
        'backup_time': item.get('backup-time'),
        'backup_time_iso': iso_time(item.get('backup-time')),
        'size': item.get('size'),
        'protected': bool(item.get('protected')),
        'owner': item.get('owner'),
        'comment': item.get('comment'),
        'verification': verification.get('state') or 'none',
        'verification_upid': verification.get('upid'),
        'files': [f.get('filename') for f in item.get('files') or []],
    }
    entry['path'] = '{0}/{1}/{2}'.format(entry['backup_type'], entry['backup_id'], entry['backup_time_iso'])
    return entry


def snapshots(client, store, ns=None, backup_type=None, backup_id=None):
    """Snapshots of one namespace of a datastore, newest first; ProxmoxError when the store or namespace is missing."""
    params = {}
    if ns:
        params['ns'] = ns
    if backup_type:
        params['backup-type'] = backup_type
    if backup_id is not None:
        params['backup-id'] = str(backup_id)
    items = client.get(client.path('admin', 'datastore', store, 'snapshots'), **params) or []
    out = [snapshot_entry(store, ns, item) for item in items]
    out.sort(key=lambda s: (s['backup_time'], s['backup_type'], s['backup_id']), reverse=True)
    return out


def snapshot_list_gap(client, store, ns=None):
    """A note when a snapshot list of store (and ns) holds only the login's own groups: without Datastore.Audit
    there, Proxmox Backup Server lists with Datastore.Backup the groups the login owns and leaves out the others
    silently (src/api2/admin/datastore.rs list_snapshots); None when the list is complete."""
    path = '/datastore/{0}{1}'.format(store, '/' + ns if ns else '')
    if holds(own_permissions(client, path), path, ('Datastore.Audit',)):
        return None
    return ('snapshots of {0} may be incomplete: {1} has no Datastore.Audit on {0}, so Proxmox Backup Server lists '
            'only the backup groups it owns'.format(path, client.settings.auth_id))


def latest_snapshot(client, store, backup_type, backup_id, ns=None):
    """The newest snapshot of one guest, or None (a missing datastore or namespace is an error)."""
    try:
        found = snapshots(client, store, ns, backup_type, backup_id)
    except ProxmoxError as error:
        if is_not_found(error) and 'namespace' not in (error.message or '') and 'datastore' not in (error.message or ''):
            return None
        raise
    return found[0] if found else None
