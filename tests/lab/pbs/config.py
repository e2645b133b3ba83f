# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's /config area: datastores (created and removed by tasks), remotes, sync / verify / prune jobs.

As PBS (src/api2/config/*.rs): digests of each config file in the answers' envelope, `digest` checked on updates
and deletes, `delete` lists, keep options given to a new datastore become a prune job, removing a datastore
removes its jobs unless `keep-job-configs`.
"""

import uuid

from . import specs
from .access import ns_acl_path
from .model import Datastore, PbsError, digest_of, param_error

SECTION = {'sync': 'sync', 'verification': 'verification', 'prune': 'prune'}


class ConfigArea(object):
    """Mixin of FakePbs: /config/datastore, /config/remote, /config/{sync,verify,prune}."""

    def _routes_config(self):
        routes = [
            ('GET', '/config/datastore', self._ds_list),
            ('POST', '/config/datastore', self._ds_create),
            ('GET', '/config/datastore/{name}', self._ds_read),
            ('PUT', '/config/datastore/{name}', self._ds_update),
            ('DELETE', '/config/datastore/{name}', self._ds_delete),
            ('GET', '/config/remote', self._remote_list),
            ('POST', '/config/remote', self._remote_create),
            ('GET', '/config/remote/{name}', self._remote_read),
            ('PUT', '/config/remote/{name}', self._remote_update),
            ('DELETE', '/config/remote/{name}', self._remote_delete),
        ]
        for path, kind in (('sync', 'sync'), ('verify', 'verification'), ('prune', 'prune')):
            routes += [
                ('GET', '/config/' + path, self._job_lister(kind)),
                ('POST', '/config/' + path, self._job_creator(kind)),
                ('GET', '/config/' + path + '/{id}', self._job_reader(kind)),
                ('PUT', '/config/' + path + '/{id}', self._job_updater(kind)),
                ('DELETE', '/config/' + path + '/{id}', self._job_deleter(kind)),
            ]
        return routes

    # ------------------------------------------------------------- digests

    def datastore_digest(self):
        return digest_of('datastore', dict((n, d.config) for n, d in self.datastores.items()))

    def remote_digest(self):
        return digest_of('remote', self.remotes)

    def job_digest(self, kind):
        return digest_of(SECTION[kind], self.jobs[kind])

    def _check_digest(self, values, current):
        if values.get('digest') and values['digest'] != current:
            raise PbsError('detected modified configuration - file changed by other user? Try again.')

    @staticmethod
    def _apply(entry, values, skip=(), delete_map=None):
        """Apply an update: `delete` first, then the given values (a blank comment removes it, as PBS does)."""
        for name in values.get('delete', []):
            entry.pop((delete_map or {}).get(name, name), None)
        for key, value in values.items():
            if key in skip or key in ('delete', 'digest'):
                continue
            if key == 'comment':
                value = value.strip()
                if not value:
                    entry.pop('comment', None)
                    continue
            entry[key] = value

    # ------------------------------------------------------------ datastores

    def _ds_item(self, name):
        return dict(self.datastores[name].config, name=name)

    def _ds_list(self, _values, auth):
        from .server import Answer
        # src/api2/config/datastore.rs list_datastores: only those with Datastore.Audit, silently
        names = [n for n in sorted(self.datastores) if 'Datastore.Audit' in self.privs(auth, '/datastore/' + n)]
        return Answer([self._ds_item(n) for n in names], digest=self.datastore_digest())

    def _ds_read(self, values, _auth):
        from .server import Answer
        self._store(values['name'])
        return Answer(self._ds_item(values['name']), digest=self.datastore_digest())

    def _ds_create(self, values, auth):
        name, path = values['name'], values['path']
        if name in self.datastores:
            raise param_error('name', "datastore '{0}' already exists.".format(name))
        for other in self.datastores.values():
            if other.config['path'].rstrip('/') == path.rstrip('/'):
                raise param_error('path', "path '{0}' is already in use by datastore '{1}'".format(path, other.name))
        keep = dict((k, values[k]) for k in specs.KEEP_NAMES if k in values)
        prune_schedule = values.get('prune-schedule')
        config = dict((k, v) for k, v in values.items()
                      if k not in ('name', 'prune-schedule', 'overwrite-in-use', 'reuse-datastore')
                      and k not in specs.KEEP_NAMES)

        def work(task):
            if not path.startswith('/'):
                raise PbsError('expected absolute path - got "{0}"'.format(path))
            existing = self.chunk_stores.get(path.rstrip('/') or '/')
            store = Datastore(name, config, self.capacity)
            if existing is not None:
                if not values.get('reuse-datastore'):
                    raise PbsError('datastore path not empty')
                task.log('reusing existing chunk store at "{0}"'.format(path))
                store.snapshots, store.chunks, store.namespaces = existing.snapshots, existing.chunks, existing.namespaces
            else:
                for pct in (0, 25, 50, 75, 99):
                    task.log('Chunkstore create: {0}%'.format(pct))
            self.datastores[name] = store
            self.chunk_stores[path.rstrip('/') or '/'] = store
            if prune_schedule:
                job_id = 'default-{0}-{1}'.format(name, uuid.uuid4())[:32]
                self.jobs['prune'][job_id] = dict(keep, store=name, schedule=prune_schedule)
                task.log('Prune job created: {0}'.format(job_id))
        return self.start_task('create-datastore', name, auth, work)

    def _ds_update(self, values, _auth):
        store = self._store(values['name'])
        self._check_digest(values, self.datastore_digest())
        for key in specs.KEEP_NAMES + ('prune-schedule',):
            if key in values:
                raise param_error(key, 'datastore prune settings have been replaced by prune jobs')
        self._apply(store.config, values, skip=('name',))
        return None

    def _ds_delete(self, values, auth):
        name = values['name']
        self._check_digest(values, self.datastore_digest())
        if name not in self.datastores:
            raise PbsError("datastore '{0}' does not exist.".format(name), 404)
        if not values.get('keep-job-configs'):
            for kind in ('verification', 'sync', 'prune'):
                for job_id in [j for j, conf in self.jobs[kind].items() if conf.get('store') == name]:
                    del self.jobs[kind][job_id]
        destroy = values.get('destroy-data', False)

        def work(task):
            store = self.datastores.pop(name)
            path = store.config['path'].rstrip('/') or '/'
            if destroy:
                task.log('Deleting datastore data ...')
                task.log('removed {0} snapshots and {1} chunks'.format(len(store.snapshots), len(store.chunks)))
                self.chunk_stores.pop(path, None)
            else:
                task.log('keeping the data of datastore {0} at "{1}"'.format(name, path))
        return self.start_task('delete-datastore', name, auth, work)

    # --------------------------------------------------------------- remotes

    def _remote_item(self, name):
        item = dict((k, v) for k, v in self.remotes[name].items() if k != 'password')
        item['name'] = name
        return item

    def _remote_list(self, _values, auth):
        from .server import Answer
        # src/api2/config/remote.rs list_remotes: only those with Remote.Audit, silently
        names = [n for n in sorted(self.remotes) if 'Remote.Audit' in self.privs(auth, '/remote/' + n)]
        return Answer([self._remote_item(n) for n in names], digest=self.remote_digest())

    def _remote_lookup(self, name):
        if name not in self.remotes:
            raise PbsError("no such remote '{0}'".format(name))
        return self.remotes[name]

    def _remote_read(self, values, _auth):
        from .server import Answer
        self._remote_lookup(values['name'])
        return Answer(self._remote_item(values['name']), digest=self.remote_digest())

    def _remote_create(self, values, _auth):
        name = values['name']
        if name in self.remotes:
            raise param_error('name', "remote '{0}' already exists.".format(name))
        entry = {}
        self._apply(entry, values, skip=('name',))
        self.remotes[name] = entry
        return None

    def _remote_update(self, values, _auth):
        self._check_digest(values, self.remote_digest())
        entry = self._remote_lookup(values['name'])
        self._apply(entry, values, skip=('name',))
        return None

    def _remote_delete(self, values, _auth):
        name = values['name']
        for job_id, job in sorted(self.jobs['sync'].items()):
            if job.get('remote') == name:
                raise param_error('name', "remote '{0}' is used by sync job '{1}' (datastore '{2}')".format(
                    name, job_id, job['store']))
        self._check_digest(values, self.remote_digest())
        if self.remotes.pop(name, None) is None:
            raise PbsError("remote '{0}' does not exist.".format(name), 404)
        return None

    # ------------------------------------------------------------------ jobs

    def _job_item(self, kind, job_id):
        return dict(self.jobs[kind][job_id], id=job_id)

    def _job_lookup(self, kind, job_id):
        if job_id not in self.jobs[kind]:
            raise PbsError("no such {0} '{1}'".format(SECTION[kind], job_id))
        return self.jobs[kind][job_id]

    # ------------------------------------------------- job permissions

    def sync_read_access(self, auth, job):
        """src/api2/config/sync.rs check_sync_job_read_access."""
        if 'Datastore.Audit' not in self.privs(auth, ns_acl_path(job['store'], job.get('ns'))):
            return False
        if job.get('remote'):
            return 'Remote.Audit' in self.privs(auth, '/remote/' + job['remote'])
        return 'Datastore.Audit' in self.privs(auth, '/datastore/' + job['remote-store'])

    def sync_modify_access(self, auth, job):
        """src/api2/config/sync.rs check_sync_job_modify_access (pull jobs)."""
        privs = self.privs(auth, ns_acl_path(job['store'], job.get('ns')))
        if 'Datastore.Backup' not in privs:
            return False
        if job.get('remove-vanished') and 'Datastore.Prune' not in privs:
            return False
        owner = job.get('owner')
        if owner:
            correct_owner = owner == auth or ('!' in owner and '!' not in auth and owner.partition('!')[0] == auth)
        else:
            correct_owner = auth == 'root@pam'
        if not correct_owner and 'Datastore.Modify' not in privs:
            return False
        if job.get('remote'):
            return 'Remote.Read' in self.privs(auth, '/remote/{0}/{1}'.format(job['remote'], job['remote-store']))
        return True

    def job_visible(self, kind, auth, job):
        """Whether a list shows the job (config/{sync,verify,prune}.rs list_*)."""
        if kind == 'sync':
            return self.sync_read_access(auth, job)
        wanted = {'Datastore.Audit', 'Datastore.Verify'} if kind == 'verification' else {'Datastore.Audit'}
        return bool(self.privs(auth, ns_acl_path(job['store'], job.get('ns'))) & wanted)

    def check_job_access(self, kind, auth, job, write):
        """The check a read or a write of one job makes (read_*, create_*, update_*, delete_*, run_*)."""
        path = ns_acl_path(job.get('store', ''), job.get('ns'))
        if kind == 'sync':
            allowed = self.sync_modify_access(auth, job) if write else self.sync_read_access(auth, job)
            if not allowed:
                raise PbsError('permission check failed')
        elif kind == 'verification':
            self.check_privs(auth, path, ['Datastore.Verify'] if write else ['Datastore.Audit', 'Datastore.Verify'],
                             partial=True)
        else:
            self.check_privs(auth, path, ['Datastore.Modify'] if write else ['Datastore.Audit'], partial=True)

    def _job_lister(self, kind):
        def handler(values, auth):
            from .server import Answer
            items = [self._job_item(kind, j) for j in sorted(self.jobs[kind])
                     if self.job_visible(kind, auth, self.jobs[kind][j])]
            if kind == 'sync':
                direction = values.get('sync-direction', 'pull')
                if direction != 'all':
                    items = [j for j in items if j.get('sync-direction', 'pull') == direction]
            return Answer(items, digest=self.job_digest(kind))
        return handler

    def _job_reader(self, kind):
        def handler(values, auth):
            from .server import Answer
            self.check_job_access(kind, auth, self._job_lookup(kind, values['id']), write=False)
            return Answer(self._job_item(kind, values['id']), digest=self.job_digest(kind))
        return handler

    def _check_job(self, kind, entry):
        if kind == 'sync':
            if not entry.get('remote') and entry.get('store') == entry.get('remote-store'):
                raise PbsError("source and target datastore can't be the same")
            depth = entry.get('max-depth')
            for key in ('ns', 'remote-ns'):
                if depth is not None and entry.get(key) and entry[key].count('/') + 1 + depth > 7:
                    raise PbsError("namespace '{0}' too deep ({1}) for max-depth {2} (max 7)".format(
                        entry[key], entry[key].count('/') + 1, depth))

    def _job_creator(self, kind):
        def handler(values, auth):
            entry = {}
            self._apply(entry, values, skip=('id',))
            self.check_job_access(kind, auth, entry, write=True)
            self._check_job(kind, entry)
            if values['id'] in self.jobs[kind]:
                raise param_error('id', "job '{0}' already exists.".format(values['id']))
            self.jobs[kind][values['id']] = entry
            return None
        return handler

    def _job_updater(self, kind):
        def handler(values, auth):
            self._check_digest(values, self.job_digest(kind))
            entry = dict(self._job_lookup(kind, values['id']))
            if kind != 'sync':
                self.check_job_access(kind, auth, entry, write=True)
            self._apply(entry, values, skip=('id',))
            self.check_job_access(kind, auth, entry, write=True)
            self._check_job(kind, entry)
            self.jobs[kind][values['id']] = entry
            return None
        return handler

    def _job_deleter(self, kind):
        def handler(values, auth):
            self._check_digest(values, self.job_digest(kind))
            if values['id'] not in self.jobs[kind]:
                raise PbsError("job '{0}' does not exist.".format(values['id']), 404)
            self.check_job_access(kind, auth, self.jobs[kind][values['id']], write=True)
            del self.jobs[kind][values['id']]
            return None
        return handler
