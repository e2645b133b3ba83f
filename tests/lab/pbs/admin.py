# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's /admin area: job runs that do the work, datastore status, GC, snapshots, groups, namespaces.

As PBS (src/api2/admin/*.rs, src/server/*_job.rs): a sync copies snapshots from the remote's datastore (a remote
whose host and port belong to a FakePbs of this process, or this one), a verify marks snapshots verified (or
failed, for a corrupted chunk), a prune removes snapshots by the keep rules, garbage collection removes the chunks
no snapshot refers to and records its status. Usage and deduplication follow from the chunk store.
"""

import re

from . import specs
from .access import NS_PRIVS_OK, ns_acl_path
from .model import PbsError, ns_depth, ns_within, prune_marks, rfc3339

GC_EMPTY = {'index-file-count': 0, 'index-data-bytes': 0, 'disk-bytes': 0, 'disk-chunks': 0, 'removed-bytes': 0,
            'removed-chunks': 0, 'pending-bytes': 0, 'pending-chunks': 0, 'removed-bad': 0, 'still-bad': 0}


def ns_path(ns):
    """A namespace as PBS's display_as_path shows it in worker ids: a/b -> ns/a/ns/b (the root is empty)."""
    return '/'.join('ns/' + part for part in ns.split('/')) if ns else ''


def _group_filter_match(filters, snap):
    """PBS's group-filter: includes (any matches) then excludes; no include means everything."""
    def matches(spec):
        kind, _sep, value = spec.partition(':')
        group = '{0}/{1}'.format(snap.backup_type, snap.backup_id)
        if kind == 'type':
            return snap.backup_type == value
        if kind == 'group':
            return group == value
        return re.search(value, group) is not None
    includes, excludes = [], []
    for spec in filters or []:
        if spec.startswith('exclude:'):
            excludes.append(spec[len('exclude:'):])
        else:
            includes.append(spec[len('include:'):] if spec.startswith('include:') else spec)
    if includes and not any(matches(f) for f in includes):
        return False
    return not any(matches(f) for f in excludes)


class AdminArea(object):
    """Mixin of FakePbs: /admin/{sync,verify,prune}/{id}/run, /admin/gc, /admin/datastore/{store}/..."""

    def _routes_admin(self):
        base = '/admin/datastore/{store}'
        return [
            ('GET', '/admin/datastore', self._admin_ds_list),
            ('POST', '/admin/sync/{id}/run', self._run_sync),
            ('POST', '/admin/verify/{id}/run', self._run_verify),
            ('POST', '/admin/prune/{id}/run', self._run_prune),
            ('GET', '/admin/gc', self._gc_list),
            ('GET', base + '/status', self._ds_status),
            ('GET', base + '/gc', self._gc_read),
            ('POST', base + '/gc', self._gc_start),
            ('GET', base + '/snapshots', self._snapshots),
            ('DELETE', base + '/snapshots', self._snapshot_delete),
            ('GET', base + '/groups', self._groups),
            ('DELETE', base + '/groups', self._group_delete),
            ('GET', base + '/namespace', self._ns_list),
            ('POST', base + '/namespace', self._ns_create),
            ('DELETE', base + '/namespace', self._ns_delete),
            ('POST', base + '/prune-datastore', self._prune_datastore),
            ('POST', base + '/verify', self._verify_datastore),
        ]

    # --------------------------------------------------------------- status

    def _admin_ds_list(self, _values, auth):
        """src/api2/admin/datastore.rs get_datastore_list: stores with Datastore.Audit or Datastore.Backup, or a
        privilege on a namespace below (then without comment); the others are silently left out."""
        out = []
        for name in sorted(self.datastores):
            path = '/datastore/' + name
            allowed = bool(self.privs(auth, path) & {'Datastore.Audit', 'Datastore.Backup'})
            if allowed or self.any_privs_below(auth, path, NS_PRIVS_OK):
                item = {'store': name, 'backend-type': 'filesystem'}
                config = self.datastores[name].config
                if allowed and config.get('comment'):
                    item['comment'] = config['comment']
                if config.get('maintenance-mode'):
                    item['maintenance'] = config['maintenance-mode']
                out.append(item)
        return out

    @staticmethod
    def owns(owner, auth):
        """PBS's check_backup_owner: the owner itself, or the user of the owning token."""
        return owner == auth or ('!' in owner and owner.partition('!')[0] == auth)

    def _ds_status(self, values, auth):
        """src/api2/admin/datastore.rs status: usage with Datastore.Audit or .Backup, counts only with .Read
        or a privilege below (of the caller's groups without .Audit), 403 otherwise."""
        path = '/datastore/' + values['store']
        privs = self.privs(auth, path)
        stats = bool(privs & {'Datastore.Audit', 'Datastore.Backup'})
        if not stats and 'Datastore.Read' not in privs and not self.any_privs_below(auth, path, NS_PRIVS_OK):
            raise PbsError('permission check failed', 403)
        store = self._store(values['store'])
        out = store.status() if stats else {'total': 0, 'used': 0, 'avail': 0}
        out['backend-type'] = 'filesystem'
        if values.get('verbose'):
            if stats:
                out['gc-status'] = dict(store.gc or GC_EMPTY)
            if 'Datastore.Audit' in privs:
                out['counts'] = store.counts()
            else:
                out['counts'] = store.counts(lambda snap: self.owns(snap.owner, auth))
        return out

    def _gc_item(self, store):
        out = dict(GC_EMPTY)
        out.update(store.gc or {})
        out['store'] = store.name
        if store.config.get('gc-schedule'):
            out['schedule'] = store.config['gc-schedule']
        if store.gc:
            task = self.tasks.get(store.gc['upid'])
            if task is not None and not task.running:
                out['last-run-state'] = 'ok' if task.exitstatus == 'OK' else task.exitstatus
                out['last-run-endtime'] = task.endtime
                out['duration'] = task.endtime - task.starttime
        return out

    def _gc_read(self, values, _auth):
        return self._gc_item(self._store(values['store']))

    def _gc_list(self, values, auth):
        # Datastore.Audit or Datastore.Modify per datastore (the PBS 4 schema's words), the others left out
        names = [values['store']] if values.get('store') else sorted(self.datastores)
        return [self._gc_item(self._store(name)) for name in names
                if self.privs(auth, '/datastore/' + name) & {'Datastore.Audit', 'Datastore.Modify'}]

    def _gc_start(self, values, auth):
        store = self._store(values['store'])

        def work(task):
            self.garbage_collect(store, task)
        return self.start_task('garbage_collection', store.name, auth, work)

    def garbage_collect(self, store, task):
        """Mark the chunks snapshots use, sweep the rest; the status goes into store.gc."""
        task.log('starting garbage collection on store {0}'.format(store.name))
        task.log('Start GC phase1 (mark used chunks)')
        used = store.referenced()
        task.log('Start GC phase2 (sweep unused chunks)')
        removed = dict((d, s) for d, s in store.chunks.items() if d not in used)
        for digest in removed:
            del store.chunks[digest]
        bad = set(d for d in store.bad_chunks if d in store.chunks)
        status = {'upid': task.upid, 'index-file-count': store.index_files(), 'index-data-bytes': store.index_bytes(),
                  'disk-bytes': sum(store.chunks.values()), 'disk-chunks': len(store.chunks),
                  'removed-bytes': sum(removed.values()), 'removed-chunks': len(removed), 'pending-bytes': 0,
                  'pending-chunks': 0, 'removed-bad': 0, 'still-bad': len(bad)}
        task.log('Removed garbage: {0} B'.format(status['removed-bytes']))
        task.log('Removed chunks: {0}'.format(status['removed-chunks']))
        task.log('Original data usage: {0} B'.format(status['index-data-bytes']))
        if status['disk-bytes']:
            task.log('On-Disk usage: {0} B ({1:.2f}%)'.format(
                status['disk-bytes'], 100.0 * status['disk-bytes'] / max(status['index-data-bytes'], 1)))
            task.log('Deduplication factor: {0:.2f}'.format(
                float(status['index-data-bytes']) / status['disk-bytes']))
        task.log('On-Disk chunks: {0}'.format(status['disk-chunks']))
        store.gc = status

    # ------------------------------------------------------- snapshots, groups

    def _snapshots(self, values, auth):
        # list_snapshots: Datastore.Audit for every group, Datastore.Backup for the caller's own groups
        limited = self.check_ns_privs_full(auth, values['store'], values.get('ns', ''), ['Datastore.Audit'],
                                           ['Datastore.Backup'])
        store = self._store(values['store'])
        self._ns_exists(store, values.get('ns', ''))
        snaps = store.select(values.get('ns', ''), 0, values.get('backup-type'), values.get('backup-id'))
        return [s.item() for s in snaps if not limited or self.owns(s.owner, auth)]

    def _check_owner(self, limited, owner, auth):
        if limited and not self.owns(owner, auth):
            raise PbsError('backup owner check failed ({0} != {1})'.format(auth, owner))

    def _snapshot_delete(self, values, auth):
        limited = self.check_ns_privs_full(auth, values['store'], values.get('ns', ''), ['Datastore.Modify'],
                                           ['Datastore.Prune'])
        store = self._store(values['store'])
        key = (values.get('ns', ''), values['backup-type'], values['backup-id'], values['backup-time'])
        snap = store.snapshots.get(key)
        if snap is None:
            raise PbsError('backup dir {0} does not exist'.format(
                '{0}/{1}/{2}'.format(key[1], key[2], rfc3339(key[3]))), 404)
        self._check_owner(limited, snap.owner, auth)
        if snap.protected:
            raise PbsError('cannot remove protected snapshot')
        del store.snapshots[key]
        return None

    def _groups(self, values, auth):
        limited = self.check_ns_privs_full(auth, values['store'], values.get('ns', ''), ['Datastore.Audit'],
                                           ['Datastore.Backup'])
        store = self._store(values['store'])
        self._ns_exists(store, values.get('ns', ''))
        out = []
        for (_ns, kind, ident), snaps in sorted(store.groups(store.select(values.get('ns', ''), 0)).items()):
            last = max(snaps, key=lambda s: s.backup_time)
            if limited and not self.owns(last.owner, auth):
                continue
            out.append({'backup-type': kind, 'backup-id': ident, 'last-backup': last.backup_time,
                        'backup-count': len(snaps), 'files': sorted(last.files), 'owner': last.owner})
        return out

    def _group_delete(self, values, auth):
        limited = self.check_ns_privs_full(auth, values['store'], values.get('ns', ''), ['Datastore.Modify'],
                                           ['Datastore.Prune'])
        store = self._store(values['store'])
        group = (values.get('ns', ''), values['backup-type'], values['backup-id'])
        snaps = [s for s in store.snapshots.values() if s.group == group]
        if not snaps:
            raise PbsError('group {0}/{1} does not exist'.format(group[1], group[2]), 404)
        self._check_owner(limited, snaps[0].owner, auth)
        for snap in snaps:
            if not snap.protected:
                del store.snapshots[snap.key]
        if any(s.protected for s in snaps) and values.get('error-on-protected', True):
            raise PbsError('group only partially deleted due to protected snapshots')
        return None

    # ------------------------------------------------------------ namespaces

    @staticmethod
    def _ns_exists(store, ns):
        if ns and ns not in store.namespaces:
            raise PbsError("namespace '{0}' does not exist".format(ns), 404)

    def _ns_list(self, values, auth):
        """src/api2/admin/namespace.rs list_namespaces: the namespaces the caller has any of NS_PRIVS_OK on, 403
        when that is none and the parent is not accessible either."""
        store = self._store(values['store'])
        parent = values.get('parent', '')
        parent_access = bool(self.privs(auth, ns_acl_path(store.name, parent)) & NS_PRIVS_OK)
        if parent and parent not in store.namespaces and not parent_access:
            raise PbsError('permission check failed', 403)
        self._ns_exists(store, parent)
        depth = values.get('max-depth', 7)
        out = [{'ns': ns} for ns in sorted(store.namespaces) if ns_within(ns, parent, depth)
               and self.privs(auth, ns_acl_path(store.name, ns)) & NS_PRIVS_OK]
        if not out and not parent_access:
            raise PbsError('permission check failed', 403)
        return out

    def _ns_modify_access(self, auth, store, ns):
        """hierarchy.rs check_ns_modification_privs: Datastore.Modify on the namespace's parent."""
        parent = ns.rpartition('/')[0]
        self.check_ns_privs_full(auth, store, parent, ['Datastore.Modify'])

    def _ns_create(self, values, auth):
        parent = values.get('parent', '')
        self._ns_modify_access(auth, values['store'], '{0}/{1}'.format(parent, values['name']).strip('/'))
        store = self._store(values['store'])
        if parent and parent not in store.namespaces:
            raise PbsError("cannot create new namespace, parent {0} doesn't already exists".format(parent))
        child = '{0}/{1}'.format(parent, values['name']) if parent else values['name']
        if ns_depth(child) > 7:
            raise PbsError("namespace '{0}' too deep (max 7)".format(child))
        # an existing namespace is no error: PBS creates the directory if it is missing
        store.namespaces.add(child)
        return child

    def _ns_delete(self, values, auth):
        store = self._store(values['store'])
        ns = values['ns']
        if not ns:
            raise PbsError('cannot remove root namespace')
        self._ns_modify_access(auth, store.name, ns)
        self._ns_exists(store, ns)
        delete_groups = values.get('delete-groups', False)
        if delete_groups:
            for snap in store.select(ns):
                if not snap.protected:
                    del store.snapshots[snap.key]
        # namespaces left without snapshots (below them too) go; the others stay
        holding = set(s.ns for s in store.snapshots.values())
        for name in sorted((n for n in store.namespaces if ns_within(n, ns)), key=ns_depth, reverse=True):
            if not any(ns_within(h, name) for h in holding):
                store.namespaces.discard(name)
        if ns in store.namespaces:
            if not delete_groups:
                raise PbsError('only partially deleted due to existing groups but `delete-groups` not true ')
            if values.get('error-on-protected', True):
                raise PbsError('group only partially deleted due to protected snapshots')
        return None

    # ------------------------------------------------------------------ prune

    def prune(self, store, task, keep, ns='', max_depth=None, dry_run=False):
        """Apply the keep rules per group, logging each decision as PBS does."""
        removed = 0
        for group, snaps in sorted(store.groups(store.select(ns, max_depth)).items()):
            task.log('Pruning group {0}{1}/{2}'.format('ns {0}: '.format(group[0]) if group[0] else '', group[1],
                                                       group[2]))
            marks = prune_marks(snaps, keep)
            for snap in sorted(snaps, key=lambda s: s.backup_time, reverse=True):
                mark = marks[snap.key]
                task.log('{0} {1}'.format(snap.path(), mark))
                if mark == 'remove' and not dry_run:
                    del store.snapshots[snap.key]
                    removed += 1
        return removed

    def _prune_datastore(self, values, auth):
        self.check_privs(auth, ns_acl_path(values['store'], values.get('ns', '')),
                         ['Datastore.Modify', 'Datastore.Prune'], partial=True)
        store = self._store(values['store'])
        keep = dict((k, values[k]) for k in specs.KEEP_NAMES if k in values)
        ns = values.get('ns', '')
        self._ns_exists(store, ns)

        def work(task):
            task.log('Starting datastore prune on datastore \'{0}\', {1}'.format(
                store.name, 'root namespace' if not ns else "namespace '{0}'".format(ns)))
            self.prune(store, task, keep, ns, values.get('max-depth'), values.get('dry-run', False))
        return self.start_task('prune', '{0}:{1}'.format(store.name, ns), auth, work)

    def _run_prune(self, values, auth):
        job = self._job_lookup('prune', values['id'])
        self.check_job_access('prune', auth, job, write=True)
        store = self._store(job['store'])
        ns = job.get('ns', '')
        keep = dict((k, job[k]) for k in specs.KEEP_NAMES if k in job)
        worker_id = '{0}:{1}'.format(store.name, ns) if ns else store.name

        def work(task):
            self._ns_exists(store, ns)
            task.log('prune job \'{0}\''.format(values['id']))
            self.prune(store, task, keep, ns, job.get('max-depth'))
        return self.start_task('prunejob', worker_id, auth, work)

    # ----------------------------------------------------------------- verify

    def verify(self, store, task, snaps, ignore_verified=True, outdated_after=None):
        """Mark snapshots verified ('ok', or 'failed' when one of their chunks is corrupt)."""
        failed = []
        for snap in snaps:
            last = snap.verification
            if ignore_verified and last and last['state'] == 'ok':
                if outdated_after is None or self.now() - last.get('time', 0) < outdated_after * 86400:
                    task.log('SKIPPED: verify {0}:{1} (recently verified)'.format(store.name, snap.path()))
                    continue
            task.log('verify {0}:{1}'.format(store.name, snap.path()))
            bad = [d for d, _s in snap.chunks() if d in store.bad_chunks]
            state = 'failed' if bad else 'ok'
            for digest in bad:
                task.log('can\'t verify chunk {0} - corrupted'.format(digest))
            snap.verification = {'state': state, 'upid': task.upid, 'time': self.now()}
            if bad:
                failed.append(snap)
        if failed:
            task.log('Failed to verify the following snapshots/groups:')
            for snap in failed:
                task.log('\t{0}'.format(snap.path()))
            raise PbsError('verification failed - please check the log for details')

    def _verify_datastore(self, values, auth):
        # verify: Datastore.Verify for anything, Datastore.Backup for the caller's own groups
        limited = self.check_ns_privs_full(auth, values['store'], values.get('ns', ''), ['Datastore.Verify'],
                                           ['Datastore.Backup'])
        store = self._store(values['store'])
        ns = values.get('ns', '')
        self._ns_exists(store, ns)
        kind, ident, when = values.get('backup-type'), values.get('backup-id'), values.get('backup-time')
        if kind and ident and when is not None:
            key = (ns, kind, ident, when)
            if key not in store.snapshots:
                raise PbsError('backup dir {0}/{1}/{2} does not exist'.format(kind, ident, rfc3339(when)), 404)
            snaps, worker_type = [store.snapshots[key]], 'verify_snapshot'
            worker_id = '{0}:{1}/{2}/{3}/{4:08X}'.format(store.name, ns_path(ns), kind, ident, when)
        elif kind and ident and when is None:
            snaps, worker_type = store.select(ns, 0, kind, ident), 'verify_group'
            worker_id = '{0}:{1}/{2}/{3}'.format(store.name, ns_path(ns), kind, ident)
        elif not kind and not ident and when is None:
            snaps, worker_type = store.select(ns, values.get('max-depth', 7)), 'verify'
            worker_id = '{0}:{1}'.format(store.name, ns_path(ns)) if ns else store.name
        else:
            raise PbsError('parameters do not specify a backup group or snapshot')
        if limited and worker_type != 'verify':
            for snap in snaps[:1]:
                self._check_owner(limited, snap.owner, auth)
        elif limited:
            snaps = [snap for snap in snaps if self.owns(snap.owner, auth)]

        def work(task):
            self.verify(store, task, snaps, values.get('ignore-verified', True), values.get('outdated-after'))
        return self.start_task(worker_type, worker_id, auth, work)

    def _run_verify(self, values, auth):
        job = self._job_lookup('verification', values['id'])
        self.check_job_access('verification', auth, job, write=True)
        store = self._store(job['store'])
        ns = job.get('ns', '')

        def work(task):
            self._ns_exists(store, ns)
            task.log('Starting datastore verify job \'{0}:{1}\''.format(store.name, values['id']))
            snaps = store.select(ns, job.get('max-depth', 7))
            self.verify(store, task, snaps, job.get('ignore-verified', True), job.get('outdated-after'))
        return self.start_task('verificationjob', '{0}:{1}'.format(store.name, values['id']), auth, work)

    # ------------------------------------------------------------------- sync

    def resolve_remote(self, name):
        """(FakePbs, auth_id) of a remote: the fake listening on its host and port; PbsError otherwise."""
        from .server import FakePbs
        remote = self._remote_lookup(name)
        source = FakePbs.instances.get((remote['host'], remote.get('port', 8007)))
        if source is None:
            raise PbsError('error trying to connect: tcp connect error: Connection refused (os error 111)')
        auth_id = remote['auth-id']
        if '!' in auth_id:
            source.check_token('{0}:{1}'.format(auth_id, remote['password']))
        elif source.login(auth_id, remote['password']) is None:
            raise PbsError('authentication failed - invalid credentials')
        if remote.get('fingerprint') and source.fingerprint and \
                remote['fingerprint'].upper() != source.fingerprint.upper():
            raise PbsError('certificate validation failed - fingerprint mismatch')
        return source, auth_id

    def _run_sync(self, values, auth):
        job_id = values['id']
        job = self._job_lookup('sync', job_id)
        self.check_job_access('sync', auth, job, write=True)
        if not job.get('remote') and job['store'] == job['remote-store']:
            raise PbsError("can't sync to same datastore")
        worker_id = '{0}:{1}:{2}:{3}:{4}'.format(job.get('remote') or '-', job['remote-store'], job['store'],
                                                 job.get('ns', ''), job_id)

        def work(task):
            other, remote_auth = self.resolve_remote(job['remote']) if job.get('remote') else (self, auth)
            push = job.get('sync-direction', 'pull') == 'push'
            if push:
                source, src_name, src_ns = self, job['store'], job.get('ns', '')
                target, dst_name, dst_ns = other, job['remote-store'], job.get('remote-ns', '')
            else:
                source, src_name, src_ns = other, job['remote-store'], job.get('remote-ns', '')
                target, dst_name, dst_ns = self, job['store'], job.get('ns', '')
            src = source._store(src_name)
            dst = target._store(dst_name)
            task.log('Starting datastore sync job \'{0}\''.format(worker_id))
            task.log('sync datastore \'{0}\' {1} \'{2}/{3}\''.format(
                dst_name, 'to' if push else 'from', job.get('remote') or 'local', src_name))
            # pulled snapshots belong to the job's owner (root@pam by default); pushed ones to the remote's user
            owner = remote_auth if push else job.get('owner') or 'root@pam'
            keep = None
            if job.get('remote') and not push:
                # The remote answers with what the remote's auth id may see there: every group with
                # Datastore.Audit, its own groups with Datastore.Backup (list_groups), 403 otherwise.
                limited = source.check_ns_privs_full(remote_auth, src_name, src_ns, ['Datastore.Audit'],
                                                     ['Datastore.Backup'])
                if limited:
                    def keep(snap):
                        return source.owns(snap.owner, remote_auth)
            self._sync(task, job, src, src_ns, dst, dst_ns, owner, keep)
        return self.start_task('syncjob', worker_id, auth, work)

    def _sync(self, task, job, src, src_ns, dst, dst_ns, owner, keep=None):
        if src_ns and src_ns not in src.namespaces:
            raise PbsError("namespace '{0}' does not exist".format(src_ns))
        if dst_ns and dst_ns not in dst.namespaces:
            raise PbsError("namespace '{0}' does not exist".format(dst_ns))
        snaps = [s for s in src.select(src_ns, job.get('max-depth')) if _group_filter_match(job.get('group-filter'), s)
                 and (keep is None or keep(s))]
        groups = src.groups(snaps)
        copied = removed = 0
        for group, members in sorted(groups.items()):
            ns = dst_ns + group[0][len(src_ns):] if src_ns else (
                '{0}/{1}'.format(dst_ns, group[0]) if dst_ns and group[0] else dst_ns or group[0])
            ns = ns.strip('/')
            dst.namespaces.add(ns)
            task.log('sync group {0}/{1}'.format(group[1], group[2]))
            members = sorted(members, key=lambda s: s.backup_time)
            # what the source still has: remove-vanished keeps it even when transfer-last skips it
            wanted = set(s.backup_time for s in members)
            if job.get('transfer-last'):
                members = members[-job['transfer-last']:]
            for snap in members:
                key = (ns, snap.backup_type, snap.backup_id, snap.backup_time)
                if key in dst.snapshots:
                    continue
                task.log('sync snapshot {0}'.format(snap.path()))
                dst.add(snap.copy(ns, owner))
                copied += 1
            if job.get('remove-vanished'):
                for key in [k for k in dst.snapshots if k[:3] == (ns, group[1], group[2]) and k[3] not in wanted]:
                    task.log('delete vanished snapshot {0}'.format(dst.snapshots[key].path()))
                    del dst.snapshots[key]
                    removed += 1
        if job.get('remove-vanished'):
            synced = set((g[1], g[2]) for g in groups)
            for key in [k for k in dst.snapshots if ns_within(k[0], dst_ns) and (k[1], k[2]) not in synced]:
                task.log('delete vanished group {0}/{1}'.format(key[1], key[2]))
                del dst.snapshots[key]
                removed += 1
        task.log('Summary: sync job pulled {0} snapshots, removed {1}'.format(copied, removed))
