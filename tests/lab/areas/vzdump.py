# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups: POST /nodes/{node}/vzdump.

Follows pve-manager's PVE/API2/VZDump.pm and PVE/VZDump.pm: the guests of the request that live on
the node are backed up in one `vzdump` task (its id is the vmid when there is one guest); each guest
holds the `backup` lock while its backup runs, and the archive lands in the storage's content as
`<storage>:backup/vzdump-<qemu|lxc>-<vmid>-<YYYY_MM_DD-HH_MM_SS>.<vma|tar>[.zst|.gz|.lzo]`, with notes
from `notes-template`, `protected`, and pruning by `prune-backups` keep-last. A guest that is locked
fails alone (`ERROR: Backup of VM 100 failed - VM is locked (snapshot)`), and the task ends with
`job errors`. When nothing on the node is to be backed up, the answer is `OK` instead of a UPID.
"""

import re
import shlex
import time

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, param_error, split_list

from ._common import all_guests, is_vm, set_lock, task_log
from .backup_jobs import ROOT_ONLY, included_guests, parse_prune, storage_param, verify_vzdump_parameters

COMPRESS_EXT = {'1': 'lzo', 'lzo': 'lzo', 'gzip': 'gz', 'zstd': 'zst'}
# PVE seconds a backup of one guest takes (scaled by the fake's time_scale).
BACKUP_SECS = 10


def _disk_bytes(guest):
    """Bytes of the guest's disks, from their size= (a backup is a fraction of that)."""
    total = 0
    units = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}
    for key, value in guest.config.items():
        if not re.match(r'^(scsi|virtio|sata|ide|efidisk|tpmstate|rootfs|mp)\d*$', key):
            continue
        found = re.search(r'size=(\d+(?:\.\d+)?)([KMGT]?)', str(value))
        if found and 'media=cdrom' not in str(value):
            total += int(float(found.group(1)) * units.get(found.group(2), 1))
    return total


class VzdumpArea(StatefulRoutes):
    """Mixin of the lab's PVE: vzdump backups into a storage's content."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # PVE seconds each guest's backup takes.
        self.backup_secs = BACKUP_SECS
        # An asyncio.Event (made on the lab's loop) that each guest's backup waits for while it holds the
        # backup lock: tests see the task running. None: no waiting.
        self.backup_gate = None

    def _routes_vzdump(self):
        return [('POST', '/nodes/{node}/vzdump', self._vzdump)]

    async def _vzdump(self, v, user):
        param = dict(v)
        node = param.pop('node')
        if param.get('stdout'):
            raise param_error(stdout='option is only allowed on the command line interface.')
        if user != 'root@pam':
            for key in ROOT_ONLY:
                if key in param:
                    raise param_error(**{key: 'Only root may set this option.'})
            if any(param.get(k) is not None for k in ('bwlimit', 'ionice', 'performance')):
                self.require(user, '/', 'Sys.Modify')
            if param.get('prune-backups') is not None and storage_param(param):
                self.require(user, '/storage/' + storage_param(param), 'Datastore.Allocate')
        verify_vzdump_parameters(param, True)
        # The request's node is vzdump's `node` option too: guests elsewhere are left out, silently.
        per_node = included_guests(self, dict(param, node=node))
        local = per_node.pop(node, []) + per_node.pop('', [])
        skipped = sorted(vmid for ids in per_node.values() for vmid in ids)
        if param.get('stop'):
            self.require(user, '/nodes/' + node, 'Sys.Modify')
            if not local:
                return 'OK'
        if not local and not param.get('all'):
            return 'OK'
        store_id = storage_param(param)
        if store_id and user != 'root@pam':
            self.require(user, '/storage/' + store_id, 'Datastore.AllocateSpace')
        local = sorted(local)
        task_id = local[0] if len(local) == 1 else ''
        cmdline = 'vzdump ' + ' '.join(
            [str(x) for x in local] + ['--{0} {1}'.format(k, shlex.quote(str(param[k]))) for k in sorted(param)
                                       if k not in ('vmid', 'all', 'exclude', 'pool')])
        log = ['INFO: starting new backup job: ' + cmdline]
        if skipped:
            log.append('INFO: skip external VMs: ' + ', '.join(str(x) for x in skipped))

        async def body():
            try:
                return await self._vz_run(task_log(self, log[0]), node, user, param, store_id, local)
            except PveError as e:
                # Inside PVE's worker every error ends the task; none reaches the HTTP answer.
                raise TaskError(e.message) from None
        return await self.task(node, 'vzdump', task_id, user, body, lock=False, log=log)

    def _vz_storage(self, store_id, node):
        """VZDump->new's storage checks, as the task's error."""
        store = self.storages.get(store_id)
        if store is None:
            # Both of VZDump->new's checks fail; PVE's worker turns the error's line feeds into spaces.
            raise TaskError("could not activate storage '{0}': storage '{0}' does not exist "
                            "could not get storage information for '{0}': storage '{0}' does not exist".format(
                                store_id))
        try:
            self._active_store(store_id, node)
        except PveError as e:
            raise TaskError("could not activate storage '{0}': {1}".format(store_id, e.message)) from None
        if 'backup' not in split_list(store.get('content')):
            raise TaskError("could not get storage information for '{0}': can't use storage '{0}' for backups - "
                            "wrong content type".format(store_id))
        return store

    async def _vz_run(self, log, node, user, param, store_id, vmids):
        store = self._vz_storage(store_id, node) if store_id else None
        prune = parse_prune(param.get('prune-backups') or (store or {}).get('prune-backups') or 'keep-all=1',
                            'storage configuration')
        by_id = dict((g.vmid, g) for g in all_guests(self))
        errors = 0
        for vmid in vmids:
            guest = by_id.get(vmid)
            if guest is not None and not self.allowed(user, '/vms/{0}'.format(vmid), 'VM.Backup'):
                if param.get('all'):
                    continue
                raise TaskError('Permission check failed (/vms/{0}, VM.Backup)'.format(vmid))
            try:
                await self._vz_guest(log, guest, vmid, node, param, store_id, store, prune)
            except TaskError as e:
                errors += 1
                log.append('ERROR: Backup of VM {0} failed - {1}'.format(vmid, e))
        log.append('INFO: Backup job finished with errors' if errors else 'INFO: Backup job finished successfully')
        if errors:
            raise TaskError('job errors')

    async def _vz_guest(self, log, guest, vmid, node, param, store_id, store, prune):
        if guest is None:
            raise TaskError("unable to find VM '{0}'".format(vmid))
        kind = 'qemu' if is_vm(guest) else 'lxc'
        log.append('INFO: Starting Backup of VM {0} ({1})'.format(vmid, kind))
        if guest.lock:
            raise TaskError('{0} is locked ({1})'.format('VM' if is_vm(guest) else 'CT', guest.lock))
        mode = param.get('mode') or 'snapshot'
        if mode == 'stop' and guest.ha_managed and guest.ha_state == 'started':
            raise TaskError('Cannot execute a backup with stop mode on a HA managed and enabled Service. '
                            'Use snapshot mode or disable the Service.')
        log.append('INFO: status = {0}'.format(guest.status))
        log.append('INFO: backup mode: {0}'.format(mode))
        set_lock(guest, 'backup')
        try:
            await self.pause(self.backup_secs)
            if self.backup_gate is not None:
                await self.backup_gate.wait()
            if store is not None:
                volname = self._vz_store(guest, kind, vmid, node, param, store_id, store, log)
                if str(param.get('remove', 1)) not in ('0', 'false'):
                    self._vz_prune(store, kind, vmid, prune, volname, log)
        finally:
            set_lock(guest, None)
        log.append('INFO: Finished Backup of VM {0} (00:00:{1:02d})'.format(vmid, min(int(self.backup_secs), 59)))

    def _vz_store(self, guest, kind, vmid, node, param, store_id, store, log):
        """Put the archive into the storage's content; returns its volume name."""
        if store.get('type') == 'pbs':
            # A snapshot on the Proxmox Backup Server behind the storage (tests/lab/areas/pbs_storage.py).
            template = param.get('notes-template')
            notes = self._vz_notes(template, guest, vmid, node) if template else None
            return self.pbs_backup(guest, kind, vmid, store_id, store, notes, param.get('protected'), log)
        volumes = store.setdefault('volumes', {})
        ext = '.vma' if kind == 'qemu' else '.tar'
        comp = COMPRESS_EXT.get(str(param.get('compress') or '0'))
        if comp:
            ext += '.' + comp
        stamp = int(time.time())
        # Two backups of a guest cannot start in the same second on PVE; with tasks that take no time they could.
        while True:
            name = 'backup/vzdump-{0}-{1}-{2}{3}'.format(kind, vmid, time.strftime('%Y_%m_%d-%H_%M_%S',
                                                                                   time.localtime(stamp)), ext)
            if name not in volumes:
                break
            stamp += 1
        size = max(_disk_bytes(guest) // 8, 1024 * 1024)
        if 'avail' in store:
            if size > store['avail']:
                raise TaskError("unable to write to storage '{0}': No space left on device".format(store_id))
            store['avail'] -= size
        vol = {'content': 'backup', 'format': ext[1:], 'size': size, 'vmid': vmid, 'ctime': stamp,
               'subtype': kind, 'config': dict(guest.config)}
        log.append("INFO: creating vzdump archive '/var/lib/vz/dump/{0}'".format(name.split('/', 1)[1]))
        template = param.get('notes-template')
        if template:
            log.append('INFO: adding notes to backup')
            vol['notes'] = self._vz_notes(template, guest, vmid, node)
        if param.get('protected'):
            log.append('INFO: marking backup as protected')
            vol['protected'] = True
        volumes[name] = vol
        return name

    def _vz_notes(self, template, guest, vmid, node):
        values = {'cluster': self.cluster_name, 'guestname': guest.name if guest.name else 'VM {0}'.format(vmid),
                  'node': node, 'vmid': str(vmid)}
        text = re.sub(r'\{\{(cluster|guestname|node|vmid)\}\}', lambda m: values[m.group(1)], template)
        return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), text)

    def _vz_prune(self, store, kind, vmid, prune, keep_name, log):
        """Prune the guest's older backups by keep-last (the other keep-* options keep everything here)."""
        if prune.get('keep-all') or not prune.get('keep-last'):
            return
        volumes = store.get('volumes', {})
        mine = sorted((vol['ctime'], name) for name, vol in volumes.items()
                      if vol.get('content') == 'backup' and vol.get('vmid') == vmid
                      and name.startswith('backup/vzdump-{0}-'.format(kind)) and not vol.get('protected'))
        doomed = [name for _ctime, name in mine[:-prune['keep-last']] if name != keep_name]
        if not doomed:
            return
        log.append('INFO: prune older backups with retention: keep-last={0}'.format(prune['keep-last']))
        for name in doomed:
            vol = volumes.pop(name)
            if 'avail' in store:
                store['avail'] += int(vol.get('size') or 0)
            log.append("INFO: delete old backup '/var/lib/vz/dump/{0}'".format(name.split('/', 1)[1]))
        log.append('INFO: pruned {0} backup(s)'.format(len(doomed)))
