# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE storages of type `pbs` wired to the lab's Proxmox Backup Server fake, and restores from backups.

Follows pve-storage's PVE/Storage/PBSPlugin.pm and qemu-server's / pve-container's create with an archive:

- a `pbs` storage resolves its `server` and `port` (8007) to a FakePbs of this process (`FakePbs.instances`), logs
  in with `username` and `password` (the password, or a token's secret for `user@realm!token`), checks a configured
  `fingerprint`, and needs its `datastore` there (PBSPlugin's activate_storage and its words);
- its content is the datastore's snapshots in the storage's `namespace` (list_volumes): volumes
  `<storage>:backup/<vm|ct>/<vmid>/<YYYY-MM-DDTHH:MM:SSZ>` with format `pbs-vm` / `pbs-ct`, subtype, ctime, size,
  notes (the snapshot's comment), verification and protected;
- a vzdump to it (tests/lab/areas/vzdump.py) adds a snapshot through `FakePbs.add_snapshot`, recording the guest's
  configuration as the content of its `qemu-server.conf.blob` / `pct.conf.blob`; a vzdump archive on a file storage
  records it with the volume;
- POST /nodes/{node}/qemu with `archive` (a `qmrestore` task) and POST /nodes/{node}/lxc with `restore=1` and
  `ostemplate` (a `vzrestore` task) create the guest from that configuration, with new disks on `storage` (else the
  disks' own storages), `unique` new MAC addresses, `force` to overwrite an existing guest on that node (not a
  running one), and `start`.

PVE keeps a pbs storage's password apart from storage.cfg (`priv/storage/<id>.pw`); the lab keeps it in
`pbs_passwords`.
"""

import calendar
import re
import time

from fakepve.lxc import random_mac
from fakepve.model import FakeVm, PveError, TaskError
from fakepve.qemu import DRIVE_KEY, split_drive, with_mac
from fakepve.routing import die, param_error

from ..pbs.model import PbsError, chunk_digest
from ..pbs.server import FakePbs
from ._common import set_lock

PBS_VOLNAME = re.compile(r'^backup/([^\s_/]+)/([^\s_/]+)/([^\s_/]+)$')
CONF_BLOB = {'vm': 'qemu-server.conf.blob', 'ct': 'pct.conf.blob'}
# Config keys a restore does not take from the backup.
RESTORE_SKIP = ('lock', 'digest', 'snapshots', 'parent', 'snaptime', 'vmstate', 'snapstate', 'pending')
MOUNT = re.compile(r'^(rootfs|mp\d+)$')
UNITS = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


def rfc3339(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(epoch)))


def parse_rfc3339(text):
    try:
        return calendar.timegm(time.strptime(text, '%Y-%m-%dT%H:%M:%SZ'))
    except ValueError:
        return None


def config_text(config):
    """A guest config as its .conf file holds it (`key: value` lines, sorted)."""
    return ''.join('{0}: {1}\n'.format(k, config[k]) for k in sorted(config) if k not in RESTORE_SKIP)


def parse_config_text(text):
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(': ')
        if sep and key:
            out[key] = int(value) if re.fullmatch(r'-?\d+', value) else value
    return out


def size_bytes(value):
    found = re.search(r'(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)', str(value))
    if not found:
        return 0
    return int(float(found.group(1)) * UNITS.get(found.group(2), 1))


class PbsStorageArea(object):
    """Mixin of LabPve (before the storage and guest code of FakePve): pbs storages, backups to them, restores."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # storage id -> the password (or token secret) PVE keeps in priv/storage/<id>.pw
        self.pbs_passwords = {}

    # ------------------------------------------------------------ storage.cfg

    async def _sc_create(self, v, user):
        result = await super()._sc_create(v, user)
        if v.get('type') == 'pbs' and v.get('password') is not None:
            self.pbs_passwords[v['storage']] = v['password']
        return result

    async def _sc_update(self, v, user):
        result = await super()._sc_update(v, user)
        store = self.storages.get(v['storage']) or {}
        if store.get('type') == 'pbs':
            if v.get('password') is not None:
                self.pbs_passwords[v['storage']] = v['password']
            if 'password' in (v.get('delete') or '').replace(';', ',').split(','):
                self.pbs_passwords.pop(v['storage'], None)
        return result

    async def _sc_delete(self, v, user):
        result = await super()._sc_delete(v, user)
        self.pbs_passwords.pop(v['storage'], None)
        return result

    # ------------------------------------------------------- the PBS behind it

    def pbs_server(self, sid):
        """(FakePbs, Datastore) behind a pbs storage, as activate_storage reaches it; PveError otherwise."""
        store = self.storages[sid]
        host, port = store.get('server'), int(store.get('port') or 8007)
        pbs = FakePbs.instances.get((host, port))
        fail = '{0}: error fetching datastores - '.format(sid)
        if pbs is None:
            raise die(fail + "500 Can't connect to {0}:{1} (Connection refused)".format(host, port))
        wanted = str(store.get('fingerprint') or '').upper()
        if wanted and pbs.fingerprint and wanted != pbs.fingerprint.upper():
            raise die(fail + "fingerprint '{0}' not verified, abort!".format(pbs.fingerprint))
        username, password = str(store.get('username') or ''), self.pbs_passwords.get(sid)
        refused = die(fail + '401 Unauthorized')
        if not username or password is None:
            raise refused
        if '!' in username:
            try:
                pbs.check_token('{0}:{1}'.format(username, password))
            except PbsError:
                raise refused from None
        elif pbs.login(username, password) is None:
            raise refused
        datastore = pbs.datastores.get(store.get('datastore'))
        # PBSPlugin looks for it in GET /admin/datastore, which lists only what the login may see there.
        visible = set(item['store'] for item in pbs._admin_ds_list({}, username))
        if datastore is None or datastore.name not in visible:
            raise die("{0}: Cannot find datastore '{1}', check permissions and existence!".format(
                sid, store.get('datastore')))
        return pbs, datastore

    def _active_store(self, name, node):
        store = super()._active_store(name, node)
        if store.get('type') == 'pbs':
            self.pbs_server(name)
        return store

    def _pbs_snapshots(self, sid):
        """{volname: (snapshot)} of the storage's namespace; empty when the PBS cannot be reached."""
        try:
            _pbs, datastore = self.pbs_server(sid)
        except PveError:
            return {}
        ns = self.storages[sid].get('namespace') or ''
        out = {}
        for snap in datastore.select(ns, 0):
            if snap.backup_type in ('vm', 'ct') and re.fullmatch(r'\d+', snap.backup_id):
                out['backup/{0}/{1}/{2}'.format(snap.backup_type, snap.backup_id, rfc3339(snap.backup_time))] = snap
        return out

    def _volumes(self, name):
        store = self.storages[name]
        if store.get('type') != 'pbs':
            return super()._volumes(name)
        out = {}
        for volname, snap in self._pbs_snapshots(name).items():
            vol = {'content': 'backup', 'format': 'pbs-' + snap.backup_type, 'size': snap.size or 1,
                   'vmid': int(snap.backup_id), 'ctime': snap.backup_time,
                   'subtype': 'qemu' if snap.backup_type == 'vm' else 'lxc'}
            if snap.comment is not None:
                vol['notes'] = snap.comment
            if snap.protected:
                vol['protected'] = True
            if snap.verification is not None:
                vol['verification'] = dict(snap.verification)
            out[volname] = vol
        return out

    def _parse_volname(self, store, volname):
        if store.get('type') != 'pbs':
            return super()._parse_volname(store, volname)
        found = PBS_VOLNAME.match(volname)
        if not found:
            raise die("unable to parse PBS volume name '{0}'".format(volname))
        owner = int(found.group(2)) if re.fullmatch(r'\d+', found.group(2)) else None
        return 'backup', owner, 'pbs-' + found.group(1)

    def _item(self, name, volname, vol):
        item = super()._item(name, volname, vol)
        for key in ('subtype', 'verification'):
            if vol.get(key) is not None:
                item[key] = vol[key]
        return item

    def _space(self, store):
        """A pbs storage's usage is its datastore's (PBSPlugin's status); nothing while it cannot be reached."""
        if store.get('type') != 'pbs':
            return super()._space(store)
        sid = next((name for name, other in self.storages.items() if other is store), None)
        try:
            _pbs, datastore = self.pbs_server(sid)
        except PveError:
            return 0, 0, 0
        status = datastore.status()
        return status['total'], status['used'], status['avail']

    def _pbs_volume(self, sid, volname):
        snap = self._pbs_snapshots(sid).get(volname)
        if snap is None:
            raise die('{0}: backup dir {1} does not exist'.format(sid, volname.split('/', 1)[1]))
        return snap

    async def _content_put(self, v, user):
        sid, volname, volid, store, vtype, owner, _fmt = self._volume_target(v)
        if store.get('type') != 'pbs':
            return await super()._content_put(v, user)
        self._check_access(user, sid, vtype, owner, volid)
        self.pbs_server(sid)
        snap = self._pbs_volume(sid, volname)
        if 'notes' in v:
            snap.comment = v['notes'] if v['notes'] != '' else None
        if 'protected' in v:
            snap.protected = str(v['protected']) not in ('0', 'false', 'False', '')
        return None

    async def _content_delete(self, v, user):
        sid, volname, volid, store, vtype, owner, _fmt = self._volume_target(v)
        if store.get('type') != 'pbs':
            return await super()._content_delete(v, user)
        if vtype == 'backup' and owner:
            self.require(user, '/storage/' + sid, 'Datastore.AllocateSpace')
            self.require(user, '/vms/{0}'.format(owner), 'VM.Backup')
        else:
            self.require(user, '/storage/' + sid, 'Datastore.Allocate')

        async def body():
            try:
                _pbs, datastore = self.pbs_server(sid)
                snap = self._pbs_volume(sid, volname)
            except PveError as e:
                raise TaskError(e.message) from None
            if snap.protected:
                raise TaskError("cannot remove protected volume '{0}' on '{1}'".format(volname, sid))
            datastore.snapshots.pop(snap.key, None)
            return "Removed volume '{0}'".format(volid)
        ident = '{0}@{1}'.format(owner, sid) if owner is not None else sid
        upid = await self.task(v['node'], 'imgdel', ident, user, body, lock=False)
        record = self.tasks[upid]
        if v.get('delay') and record['status'] == 'stopped':
            if record['exitstatus'] == 'OK':
                return None
            raise die(record['exitstatus'])
        return upid

    # ----------------------------------------------------------------- vzdump

    def pbs_backup(self, guest, kind, vmid, sid, store, notes, protected, log):
        """What vzdump leaves on a pbs storage: a snapshot (with the guest's config); returns its volume name."""
        pbs, datastore = self.pbs_server(sid)
        btype = 'vm' if kind == 'qemu' else 'ct'
        ns = store.get('namespace') or ''
        stamp = int(time.time())
        while (ns, btype, str(vmid), stamp) in datastore.snapshots:
            stamp += 1
        conf = config_text(guest.config)
        files = {CONF_BLOB[btype]: len(conf), 'index.json.blob': 512}
        disks = [(k, size_bytes(x)) for k, x in sorted(guest.config.items())
                 if (DRIVE_KEY.match(k) or MOUNT.match(k)) and 'media=cdrom' not in str(x)]
        if btype == 'vm':
            for key, size in disks:
                files['drive-{0}.img.fidx'.format(key)] = [
                    (chunk_digest((self.cluster_name, vmid, key, stamp)), max(size // 8, 4 * 1024 ** 2))]
        else:
            total = sum(size for _key, size in disks)
            files['root.pxar.didx'] = [(chunk_digest((self.cluster_name, vmid, 'root', stamp)),
                                        max(total // 8, 4 * 1024 ** 2))]
        path = '{0}/{1}/{2}'.format(btype, vmid, rfc3339(stamp))
        log.append("INFO: creating Proxmox Backup Server archive '{0}'".format(path))
        owner = store.get('username')
        try:
            snap = pbs.add_snapshot(datastore.name, btype, str(vmid), stamp, ns=ns or None, files=files,
                                    owner=owner, comment=notes, protected=bool(protected))
        except PbsError as e:
            raise TaskError('{0}: {1}'.format(sid, e)) from None
        snap.blobs = {CONF_BLOB[btype]: conf}
        if notes:
            log.append('INFO: adding notes to backup')
        if protected:
            log.append('INFO: marking backup as protected')
        return 'backup/' + path

    # ---------------------------------------------------------------- restore

    def backup_config(self, volid):
        """(kind 'qemu'/'lxc', the guest config recorded in the backup) of a backup volume; PveError if none."""
        sid, _sep, volname = str(volid).partition(':')
        store = self.storages.get(sid)
        if store is None:
            raise die("storage '{0}' does not exist".format(sid))
        if store.get('type') == 'pbs':
            snap = self._pbs_snapshots(sid).get(volname)
            if snap is None:
                raise die("volume '{0}' does not exist".format(volid))
            blob = CONF_BLOB[snap.backup_type]
            text = getattr(snap, 'blobs', {}).get(blob)
            if text is None:
                raise die("unable to restore '{0}' - backup has no configuration ({1})".format(volid, blob))
            return ('qemu' if snap.backup_type == 'vm' else 'lxc'), parse_config_text(text)
        vol = (store.get('volumes') or {}).get(volname)
        if vol is None or vol.get('content') != 'backup':
            raise die("volume '{0}' does not exist".format(volid))
        if vol.get('config') is None:
            raise die("unable to restore '{0}' - backup has no configuration".format(volid))
        return vol.get('subtype') or ('qemu' if '-qemu-' in volname else 'lxc'), dict(vol['config'])

    def _restore_target(self, sid, original):
        store = sid or original
        if store not in self.storages:
            raise TaskError("storage '{0}' does not exist".format(store))
        return store

    async def _qm_create(self, v, user):
        if not v.get('archive'):
            return await super()._qm_create(v, user)
        node, vmid = v['node'], int(v['vmid'])
        self.need_quorum()
        force, storage, pool = bool(v.get('force')), v.get('storage'), v.get('pool')
        existing = self.vm(vmid)
        if pool and pool not in self.pools:
            raise PveError(403, "Permission check failed (pool '{0}' does not exist)".format(pool))
        if storage:
            self.require(user, '/storage/' + storage, 'Datastore.AllocateSpace')
        if not (self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Allocate')
                or (pool and self.allowed(user, '/pool/' + pool, 'VM.Allocate'))
                or (force and existing is not None and existing.node == node
                    and self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Backup'))):
            raise PveError(403, 'Permission check failed')
        override = dict((k, x) for k, x in v.items() if k not in (
            'node', 'vmid', 'archive', 'storage', 'force', 'unique', 'live-restore', 'pool', 'bwlimit', 'start',
            'ha-managed', 'import-working-storage'))
        for key in sorted(override):
            if DRIVE_KEY.match(key):
                raise param_error(**{key: "option conflicts with option 'archive'"})
        archive = v['archive']
        sid, _sep, volname = archive.partition(':')
        store = self._store(sid)
        vtype, _owner, _fmt = self._parse_volname(store, volname)
        if vtype != 'backup':
            raise die("unable to restore VM {0} - volume '{1}' is not a backup".format(vmid, archive))
        emsg = 'unable to restore VM {0} -'.format(vmid)
        # create_and_lock_config($vmid, $force)
        other = self.guest(vmid) if existing is None else None
        if other is not None or (existing is not None and not force):
            holder = existing or other
            raise PveError(500, "{0} {1} {2} already exists on node '{3}'".format(
                emsg, 'VM' if existing else 'CT', vmid, holder.node))
        if existing is not None and existing.node != node:
            raise PveError(500, "{0} Configuration file 'nodes/{1}/qemu-server/{2}.conf' does not exist".format(
                emsg, node, vmid))
        if existing is not None and existing.lock:
            raise PveError(500, '{0} VM is locked ({1})'.format(emsg, existing.lock))
        vm = existing
        if vm is None:
            vm = FakeVm(vmid, 'VM {0}'.format(vmid), node=node)
            vm.config = {}
            self.vms.append(vm)
        set_lock(vm, 'create')
        self.nodes.setdefault(node, {'online': True})
        log = ['restore {0} to VM {1}'.format(archive, vmid)]

        async def body():
            try:
                if vm.config.get('protection') in (1, '1', True):
                    raise TaskError('{0} - protection mode enabled'.format(emsg[:-2]))
                if vm.status == 'running':
                    raise TaskError('{0} vm is running'.format(emsg))
                try:
                    kind, conf = self.backup_config(archive)
                except PveError as e:
                    raise TaskError('{0} {1}'.format(emsg, e.message)) from None
                if kind != 'qemu':
                    raise TaskError("{0} backup '{1}' is not a VM backup".format(emsg, archive))
                if storage and 'images' not in str(self.storages.get(storage, {}).get('content', '')).split(','):
                    raise TaskError("{0} storage '{1}' does not support vm images".format(emsg, storage))
                await self.pause(self.backup_secs)
                vm.snapshots = {}
                # The old disks go, the backup's come back on new volumes.
                for key, value in list(vm.config.items()):
                    if DRIVE_KEY.match(key) or re.fullmatch(r'unused\d+', key):
                        volume = split_drive(value)[0]
                        if ':' in volume and 'media=cdrom' not in str(value):
                            self._qm_free(volume)
                new = {}
                for key, value in sorted(conf.items()):
                    if key in RESTORE_SKIP or re.fullmatch(r'unused\d+', key):
                        continue
                    if DRIVE_KEY.match(key) and 'media=cdrom' not in str(value):
                        volume, props = split_drive(value)
                        target = self._restore_target(storage, volume.split(':')[0] if ':' in volume else None)
                        props = dict(props)
                        props.pop('size', None)
                        size = size_bytes(value) or 1024 ** 3
                        volid, _fmt = self._qm_alloc(target, vmid, None, size)
                        log.append("map '{0}' to '{1}'".format(key, volid))
                        new[key] = ','.join([volid] + ['{0}={1}'.format(k, props[k]) for k in sorted(props)]
                                            + ['size={0}'.format(_format_size(size))])
                    elif re.fullmatch(r'net\d+', key) and v.get('unique'):
                        new[key] = with_mac(value, fresh=True)
                    else:
                        new[key] = value
                new.update(override)
                vm.config = new
            except (PveError, TaskError) as e:
                set_lock(vm, None)
                raise TaskError(getattr(e, 'message', None) or str(e)) from None
            vm.name = new.get('name') or 'VM {0}'.format(vmid)
            set_lock(vm, None)
            if pool:
                self._pool_join(pool, vmid)
            if v.get('start'):
                vm.status = vm.qmpstatus = 'running'
                vm.started_at = time.time()
            log.append('restore of {0} finished'.format(archive))
            return None
        return await self.task(node, 'qmrestore', vmid, user, body, log=log)

    async def _lxc_create(self, user, v):
        if not v.get('restore'):
            return await super()._lxc_create(user, v)
        archive = str(v.get('ostemplate') or '')
        sid, colon, volname = archive.partition(':')
        if colon and self.storages.get(sid, {}).get('type') == 'pbs':
            self._parse_volname(self.storages[sid], volname)
        try:
            kind, conf = self.backup_config(archive)
        except PveError as e:
            raise PveError(500, 'unable to restore CT {0} - {1}'.format(v['vmid'], e.message)) from None
        if kind != 'lxc':
            raise PveError(500, "unable to restore CT {0} - backup '{1}' is not a container backup".format(
                v['vmid'], archive))
        merged = dict(v)
        for key, value in sorted(conf.items()):
            if key in RESTORE_SKIP or key in merged or key in ('ostype', 'arch') or re.fullmatch(r'unused\d+', key):
                continue
            if MOUNT.match(key):
                first = str(value).split(',', 1)
                target = v.get('storage') or first[0].split(':')[0]
                gib = max(size_bytes(value) / float(UNITS['G']), 0.001)
                rest = [p for p in (first[1].split(',') if len(first) > 1 else []) if not p.startswith('size=')]
                merged[key] = ','.join(['{0}:{1:g}'.format(target, gib)] + rest)
            elif re.fullmatch(r'net\d+', key) and v.get('unique'):
                merged[key] = re.sub(r'hwaddr=[0-9A-Fa-f:]+', 'hwaddr=' + random_mac(), str(value))
            else:
                merged[key] = value
        return await super()._lxc_create(user, merged)


def _format_size(size):
    for unit in ('T', 'G', 'M', 'K'):
        if size % UNITS[unit] == 0:
            return '{0}{1}'.format(size // UNITS[unit], unit)
    return str(size)
