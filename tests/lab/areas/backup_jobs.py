# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup jobs: /cluster/backup and /cluster/backup/{id} (vzdump schedules in jobs.cfg).

Follows pve-manager's PVE/API2/Backup.pm: the id is a UUID when the request names none, `starttime`
and `dow` become `schedule`, `enabled` defaults to 1, and an update takes a `delete` list. PVE's
backup jobs have no digest: the schema refuses one. Errors raised inside PVE's cfs locks carry the
lock's name, as PVE's do.
"""

import time
import uuid

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, param_error, split_list

from ._common import all_guests, cfs_locked, flatten, next_run

ALL_DAYS = 'mon,tue,wed,thu,fri,sat,sun'
ROOT_ONLY = ('tmpdir', 'dumpdir', 'script', 'job-id')
# Options an update may delete besides the vzdump options themselves.
DELETABLE = ('comment', 'repeat-missed')
NOT_VZDUMP = ('id', 'delete', 'schedule', 'starttime', 'dow', 'enabled', 'repeat-missed', 'comment', 'type')
NOTES_VARIABLES = ('cluster', 'guestname', 'node', 'vmid')
PRUNE_KEYS = ('keep-all', 'keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly')


def vzdump_option_exists(pve, key):
    """PVE::VZDump::option_exists: the key is one of vzdump's own options."""
    from fakepve import schema as pve_schema
    props = pve_schema.load().paths['/cluster/backup']['POST']['parameters']['properties']
    return key in props and key not in NOT_VZDUMP


def check_notes_template(template):
    """PVE::VZDump's notes template check; raises the parameter error PVE gives."""
    import re
    problems = []
    if '\n' in template:
        raise param_error(**{'notes-template': 'contains a line feed'})
    for found in re.finditer(r'\\(.)', template):
        if found.group(1) not in ('n', '\\'):
            problems.append("escape sequence '\\{0}' at char {1}".format(found.group(1), found.end() - 2))
    for found in re.finditer(r'\{\{([^\s{}]+)\}\}', template):
        if found.group(1) not in NOTES_VARIABLES:
            problems.append("variable '{0}' at char {1}".format(found.group(1), found.end() - 2 - len(found.group(1))))
    if problems:
        raise param_error(**{'notes-template': 'found unknown: ' + ', '.join(problems)})


def parse_prune(text, where='CLI parameters'):
    """A prune-backups property string as a dict of ints, or PVE's error."""
    out = {}
    for part in split_list(str(text or '').replace(',', ' ')):
        key, _sep, value = part.partition('=')
        if key not in PRUNE_KEYS or not value.isdigit():
            raise param_error(**{'prune-backups': "invalid format - {0}".format(where)})
        out[key] = int(value)
    if out.get('keep-all') and len([k for k in out if k != 'keep-all']) > 0:
        raise param_error(**{'prune-backups': 'keep-all cannot be set together with other options.'})
    return out


def verify_vzdump_parameters(param, check_missing=False):
    """PVE::VZDump::verify_vzdump_parameters: conflicts, templates, `all` implied by `exclude`."""
    for key in ('all', 'exclude', 'pool'):
        if param.get(key) and param.get('vmid'):
            raise param_error(**{key: "option conflicts with option 'vmid'"})
    if param.get('prune-backups'):
        parse_prune(param['prune-backups'])
    if param.get('notes-template'):
        check_notes_template(param['notes-template'])
    if param.get('exclude') is not None and not param.get('pool'):
        param['all'] = 1
    if check_missing and not (param.get('all') or param.get('stop') or param.get('pool')) and not param.get('vmid'):
        raise param_error(vmid='property is missing')


def storage_param(param):
    """PVE::VZDump::get_storage_param: the target storage (local by default), None with dumpdir."""
    if param.get('dumpdir'):
        return None
    return param.get('storage') or 'local'


def schedule_param_check(param, required):
    """Backup.pm's $schedule_param_check: starttime and dow become schedule."""
    if param.get('schedule') is not None:
        if param.get('starttime') is not None:
            raise param_error(starttime="'starttime' and 'schedule' cannot both be set")
    elif param.get('starttime') is None:
        if required:
            raise param_error(schedule="neither 'starttime' nor 'schedule' were set")
    else:
        dow = ','.join(split_list(param.get('dow')))
        param['schedule'] = param['starttime'] if not dow or dow == ALL_DAYS else '{0} {1}'.format(
            dow, param['starttime'])
    param.pop('starttime', None)
    param.pop('dow', None)


def included_guests(pve, job):
    """PVE::VZDump::get_included_guests: {node: [vmid, ...]} of a job or a vzdump request; '' for unknown ids."""
    by_id = dict((g.vmid, g) for g in all_guests(pve))
    if job.get('pool'):
        vmids = sorted(pve.pools.get(job['pool'], ()))
    elif job.get('vmid'):
        vmids = [int(x) for x in split_list(job['vmid'])]
    elif job.get('all'):
        exclude = set(int(x) for x in split_list(job.get('exclude')))
        vmids = [vmid for vmid in sorted(by_id) if vmid not in exclude]
    else:
        return {}
    out = {}
    for vmid in vmids:
        guest = by_id.get(vmid)
        if guest is not None and job.get('node') and job['node'] != guest.node:
            continue
        out.setdefault(guest.node if guest else '', []).append(vmid)
    return out


class BackupJobsArea(StatefulRoutes):
    """Mixin of the lab's PVE: vzdump backup jobs. `pve.backup_jobs` maps a job id to its jobs.cfg entry."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.backup_jobs = {}

    def _routes_backup_jobs(self):
        one = '/cluster/backup/{id}'
        return [('GET', '/cluster/backup', self._bj_index), ('POST', '/cluster/backup', self._bj_create),
                ('GET', one, self._bj_read), ('PUT', one, self._bj_update), ('DELETE', one, self._bj_delete),
                ('GET', '/cluster/backup-info/not-backed-up', self._bj_not_backed_up)]

    # ---------------------------------------------------------- permissions

    def _bj_perm_common(self, user, param, is_delete=False):
        """Backup.pm's assert_param_permission_common."""
        if user == 'root@pam':
            return
        for key in ROOT_ONLY:
            if key in param:
                raise param_error(**{key: 'Only root may set this option.'})
        if any(param.get(k) is not None for k in ('bwlimit', 'ionice', 'performance')):
            self.require(user, '/', 'Sys.Modify')
        if param.get('fleecing') and not is_delete:
            store = dict(p.partition('=')[::2] for p in str(param['fleecing']).split(',')).get('storage')
            if store:
                self.require(user, '/storage/' + store, 'Datastore.AllocateSpace')

    def _bj_check_pool(self, user, param):
        pool = param.get('pool')
        if pool:
            if pool not in self.pools:
                raise PveError(403, "Permission check failed (pool '{0}' does not exist)".format(pool))
            self.require(user, '/pool/' + pool, 'VM.Backup')

    # ------------------------------------------------------------- handlers

    def _bj_view(self, job_id, job):
        data = dict(job)
        data['id'] = job_id
        return data

    async def _bj_index(self, v, user):
        out = []
        now = time.time()
        for job_id, job in self.backup_jobs.items():
            data = self._bj_view(job_id, job)
            if job.get('schedule'):
                run = next_run(job['schedule'], now)
                if run is not None:
                    data['next-run'] = run
            out.append(data)
        return out

    async def _bj_not_backed_up(self, v, user):
        """BackupInfo.pm: the guests no backup job (enabled or not) includes, that the user may audit."""
        included = set()
        for job in self.backup_jobs.values():
            for vmids in included_guests(self, job).values():
                included.update(vmids)
        out = []
        for guest in all_guests(self):
            if guest.vmid in included or not self.allowed(user, '/vms/{0}'.format(guest.vmid), 'VM.Audit'):
                continue
            entry = {'vmid': guest.vmid, 'type': guest.guest.split('/')[0]}
            name = guest.config.get('name') if guest.guest.startswith('qemu/') else guest.config.get('hostname')
            if name is not None:
                entry['name'] = name
            out.append(entry)
        return out

    async def _bj_read(self, v, user):
        job = self.backup_jobs.get(v['id'])
        if job is None:
            raise param_error(id="No such job '{0}'".format(v['id']))
        return self._bj_view(v['id'], job)

    async def _bj_create(self, v, user):
        param = dict(v)
        self._bj_perm_common(user, param)
        if user != 'root@pam':
            store = storage_param(param)
            if store:
                self.require(user, '/storage/' + store, 'Datastore.Allocate')
        self._bj_check_pool(user, param)
        schedule_param_check(param, True)
        if param.get('enabled') is None:
            param['enabled'] = 1
        job_id = param.pop('id', None) or str(uuid.uuid4())
        self.need_quorum()
        try:
            if job_id in self.backup_jobs:
                raise PveError(500, "Job '{0}' already exists".format(job_id))
            verify_vzdump_parameters(param, True)
        except PveError as e:
            raise flatten(cfs_locked('jobs.cfg', e)) from None
        job = {'type': 'vzdump'}
        job.update(param)
        self.backup_jobs[job_id] = job

    async def _bj_update(self, v, user):
        param = dict(v)
        job_id = param.pop('id')
        deletes = split_list(param.pop('delete', None))
        self._bj_perm_common(user, param)
        self._bj_perm_common(user, dict.fromkeys(deletes, 1), True)
        if user != 'root@pam':
            if param.get('storage'):
                self.require(user, '/storage/' + param['storage'], 'Datastore.Allocate')
            elif 'storage' in deletes:
                self.require(user, '/storage/local', 'Datastore.Allocate')
        self._bj_check_pool(user, param)
        schedule_param_check(param, False)
        self.need_quorum()
        try:
            try:
                job = self._bj_apply(user, job_id, param, deletes)
            except PveError as e:
                raise flatten(cfs_locked('jobs.cfg', e)) from None
        except PveError as e:
            raise flatten(cfs_locked('vzdump.cron', e)) from None
        self.backup_jobs[job_id] = job

    def _bj_apply(self, user, job_id, param, deletes):
        """The work Backup.pm does under its locks; returns the new job."""
        if not param and not deletes:
            raise PveError(500, 'no options specified')
        verify_vzdump_parameters(param)
        current = self.backup_jobs.get(job_id)
        if current is None or current.get('type') != 'vzdump':
            raise PveError(500, 'no such vzdump job')
        if user != 'root@pam':
            if current.get('dumpdir'):
                raise PveError(500, "only root@pam may edit jobs with a 'dumpdir' option.")
            store = storage_param(current)
            if store:
                self.require(user, '/storage/' + store, 'Datastore.Allocate')
        job = dict(current)
        for key in deletes:
            if not vzdump_option_exists(self, key) and key not in DELETABLE:
                raise param_error(delete="unknown option '{0}'".format(key))
            job.pop(key, None)
        job.update(param)
        if job.get('exclude') is not None and job.get('pool') is None:
            job['all'] = 1
        if param.get('vmid') is not None:
            for key in ('all', 'exclude', 'pool'):
                job.pop(key, None)
        elif param.get('all'):
            job.pop('vmid', None)
            job.pop('pool', None)
        elif job.get('pool'):
            for key in ('vmid', 'all', 'exclude'):
                job.pop(key, None)
        verify_vzdump_parameters(job, True)
        return job

    async def _bj_delete(self, v, user):
        self.need_quorum()
        job_id = v['id']
        try:
            try:
                if job_id not in self.backup_jobs:
                    raise param_error(id="No such job '{0}'".format(job_id))
            except PveError as e:
                raise flatten(cfs_locked('jobs.cfg', e)) from None
        except PveError as e:
            raise flatten(cfs_locked('vzdump.cron', e)) from None
        del self.backup_jobs[job_id]
