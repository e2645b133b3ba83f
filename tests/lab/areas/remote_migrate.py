# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote migration between lab clusters: POST /nodes/{node}/qemu/{vmid}/remote_migrate and .../lxc/{vmid}/...

Follows qemu-server's remote_migrate_vm (PVE/API2/Qemu.pm) with QemuMigrate, and pve-container's
remote_migrate_vm (PVE/API2/LXC.pm) with PVE::LXC::Migrate. Before the task, in the request: quorum, the
guest and its lock, HA (refused), the `target-endpoint` property string (host, port, apitoken, fingerprint),
the connection to the remote (its certificate against the pinned fingerprint, its API token), the storage
and bridge maps (PVE's parse_idmap; an identity storage map is refused) and the remote's local node. Then a
`qmigrate` (VMs) or `vzmigrate` (containers) task on the source node, holding the guest's `migrate` lock,
creates the guest on the remote with the target vmid, its disks on the mapped storages and its NICs on the
mapped bridges (the remote checks them, and the source's token's privileges there, as its mtunnel endpoint does),
and finally removes the source when
`delete` is set; otherwise the source stays, stopped and locked (`migrate`), as PVE leaves it.

The remote is found in-process: every running LabPve registers itself here by (host, port) when it starts.
"""

import hashlib
import re
import ssl

from fakepve import schema as pve_schema
from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, die, param_error

from ._common import set_lock, task_log
from .qemu_perms import key_privileges

# PVE seconds a remote migration takes.
REMOTE_MIGRATE_SECS = 8

# Running lab clusters by (host, port): the "network" a remote migration connects through.
RUNNING = {}

# PVE::JSONSchema's proxmox-remote format.
REMOTE_FORMAT = {
    'host': {'type': 'string'},
    'port': {'type': 'integer', 'optional': 1},
    'apitoken': {'type': 'string'},
    'fingerprint': {'type': 'string', 'optional': 1, 'pattern': '([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}'},
}
QEMU_DISK = re.compile(r'^(ide|sata|scsi|virtio|efidisk|tpmstate|unused)\d+$')
LXC_DISK = re.compile(r'^(rootfs|mp\d+|unused\d+)$')
ID_RE = {'pve-storage-id': re.compile(r'^[a-z][a-z0-9\-_.]*[a-z0-9]$', re.I),
         'pve-bridge-id': re.compile(r'^[-_.\w\d]+$')}


def registered(host, port):
    """The running LabPve serving host:port, or None."""
    return RUNNING.get((str(host), int(port)))


def certificate_fingerprint(pem):
    """SHA-256 of a PEM certificate as PVE shows it: colon-separated upper-case hex."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def parse_idmap(text, idformat):
    """PVE::JSONSchema::parse_idmap: {'entries': {src: dst}, 'default': id, 'identity': 1}; ValueError with PVE's words."""
    out = {}
    if not text:
        return None
    kind = 'storage' if idformat == 'pve-storage-id' else 'bridge'
    for entry in [item for item in re.split(r'[\s,;]+', str(text)) if item]:
        if entry == '1':
            out['identity'] = 1
        elif re.fullmatch(r'[^:]+:[^:]+', entry):
            source, target = entry.split(':')
            for item in (source, target):
                if not ID_RE[idformat].match(item):
                    raise ValueError("entry '{0}' contains invalid ID - invalid {1} ID '{2}'\n".format(entry, kind, item))
            if source in out.get('entries', {}):
                raise ValueError("duplicate mapping for source '{0}'\n".format(source))
            out.setdefault('entries', {})[source] = target
        else:
            if not ID_RE[idformat].match(entry):
                raise ValueError("entry '{0}' contains invalid ID - invalid {1} ID '{0}'\n".format(entry, kind))
            if 'default' in out:
                raise ValueError('default target ID can only be provided once\n')
            out['default'] = entry
    if out.get('identity') and (out.get('default') or out.get('entries')):
        raise ValueError('identity mapping cannot be combined with other mappings\n')
    return out


def map_id(idmap, source):
    """PVE::JSONSchema::map_id."""
    if not idmap:
        return source
    if source in idmap.get('entries', {}):
        return idmap['entries'][source]
    if idmap.get('default'):
        return idmap['default']
    return source


class RemoteMigrateArea(StatefulRoutes):
    """Mixin of the lab's PVE: guests move to another lab cluster."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remote_migrate_secs = REMOTE_MIGRATE_SECS
        # Bridges every node has (/sys/class/net/<bridge> on PVE); tests add more.
        self.bridges = {'vmbr0'}
        # An asyncio.Event (made on the lab's loop) a remote migration waits for while it holds the lock.
        self.remote_migrate_gate = None
        # Every remote migration request that got past the checks: (vmid, target host, target vmid).
        self.remote_migrations = []
        self.certificate_pem = getattr(self, 'certificate_pem', None)

    # ----------------------------------------------------------- lifecycle

    async def start(self, certfile, keyfile):
        await super().start(certfile, keyfile)
        RUNNING[(str(self.host), int(self.port))] = self

    async def stop(self):
        key = (str(self.host), int(self.port))
        if RUNNING.get(key) is self:
            del RUNNING[key]
        await super().stop()

    def _routes_remote_migrate(self):
        return [('POST', '/nodes/{node}/qemu/{vmid}/remote_migrate', self._rmig_qemu),
                ('POST', '/nodes/{node}/lxc/{vmid}/remote_migrate', self._rmig_lxc)]

    # ------------------------------------------------------------- helpers

    def _rmig_fingerprint(self):
        return certificate_fingerprint(self.certificate_pem) if self.certificate_pem else None

    def _rmig_connect(self, endpoint):
        """PVE::APIClient::LWP->new plus its first calls: the remote LabPve and its local node, or PVE's error."""
        why = pve_schema._property_string(REMOTE_FORMAT, endpoint, '')  # pylint: disable=protected-access
        if why:
            raise param_error(**{'target-endpoint': 'invalid format - ' + why})
        remote = dict(part.partition('=')[::2] for part in endpoint.split(',') if part.strip())
        host, port = remote['host'], int(remote.get('port') or 8006)
        target = registered(host, port)
        if target is None or target is self:
            raise die("500 Can't connect to {0}:{1} (Connection refused)\n".format(host, port))
        wanted = remote.get('fingerprint')
        # Without a pin the remote's certificate would have to chain to the system's CAs, which the lab CA is not.
        if not wanted or wanted.upper() != target._rmig_fingerprint():  # pylint: disable=protected-access
            raise die("500 Can't connect to {0}:{1} (certificate verify failed)\n".format(host, port))
        token = remote['apitoken']
        if not token.startswith('PVEAPIToken='):
            raise die('401 authentication failure\n')
        tokenid, _sep, secret = token[len('PVEAPIToken='):].partition('=')
        if not secret or target.apitokens.get(tokenid) != secret:
            raise die('401 authentication failure\n')
        nodes = sorted(target.nodes)
        return target, host, tokenid, nodes[0]

    def _rmig_maps(self, v):
        maps = {}
        for key, fmt, what in (('target-storage', 'pve-storage-id', 'storage'), ('target-bridge', 'pve-bridge-id', 'bridge')):
            try:
                maps[what] = parse_idmap(v.get(key), fmt)
            except ValueError as error:
                raise param_error(**{key: 'failed to parse {0} map: {1}'.format(what, error)}) from None
        if maps['storage'] and maps['storage'].get('identity'):
            raise die('remote migration requires explicit storage mapping!\n')
        return maps['storage'], maps['bridge']

    def _rmig_config(self, guest, vm, target_vmid, storagemap, bridgemap, lines):
        """The guest's config as the remote gets it: volumes renamed and on mapped storages, NICs on mapped bridges.

        Returns (config, {target storages}, {target bridges}).
        """
        config = dict((k, v) for k, v in guest.config.items() if k != 'lock')
        disk_re = QEMU_DISK if vm else LXC_DISK
        storages, bridges = set(), set()
        for key in sorted(config):
            value = str(config[key])
            if disk_re.match(key):
                volume, sep, rest = value.partition(',')
                if 'media=cdrom' in value or ':' not in volume:
                    continue
                store, name = volume.split(':', 1)
                target_store = map_id(storagemap, store)
                new_name = re.sub(r'^(base|vm|subvol)-{0}-'.format(guest.vmid), r'\g<1>-{0}-'.format(target_vmid), name)
                config[key] = '{0}:{1}{2}{3}'.format(target_store, new_name, sep, rest)
                storages.add(target_store)
                lines.append("mapped: {0} from {1} to {2}".format(key, volume, config[key].split(',')[0]))
            elif re.fullmatch(r'net\d+', key):
                found = re.search(r'(^|,)bridge=([^,]+)', value)
                if not found:
                    continue
                target_bridge = map_id(bridgemap, found.group(2))
                config[key] = value[:found.start(2)] + target_bridge + value[found.end(2):]
                bridges.add(target_bridge)
                lines.append('mapped: {0} from {1} to {2}'.format(key, found.group(2), target_bridge))
        return config, storages, bridges

    @staticmethod
    def _rmig_remote_checks(target, node, target_vmid, storages, bridges, vm):
        """What the remote's mtunnel endpoint checks before it creates the guest's config; PVE's words."""
        content = 'images' if vm else 'rootdir'
        for store in sorted(storages):
            scfg = target.storages.get(store)
            if scfg is None:
                return "storage '{0}' does not exist".format(store)
            if scfg.get('disable'):
                return "storage '{0}' is disabled".format(store)
            if content not in str(scfg.get('content', '')).replace(';', ',').split(','):
                return "storage '{0}' does not support {1}".format(store, 'vm images' if vm else 'CT rootdirs')
        for bridge in sorted(bridges):
            if bridge not in target.bridges:
                return "bridge '{0}' does not exist".format(bridge)
        try:
            target._check_vmid_unused(target_vmid)  # pylint: disable=protected-access
        except PveError as error:
            return '400 Parameter verification failed.\nvmid: unable to create empty VM config - {0}'.format(error.message)
        del node
        return None

    @staticmethod
    def _rmig_remote_perms(target, tokenid, target_vmid, config, storages, bridges, vm):
        """What the remote checks of the source's token (qemu-server PVE/API2/Qemu.pm `mtunnel`, pve-container
        src/PVE/API2/LXC.pm `mtunnel`): VM.Allocate on /vms/<target vmid> and Sys.Incoming on / (the method's
        permissions), Datastore.AllocateSpace on each target storage (`$check_storage_access_migrate`), SDN.Use on
        each target bridge (`check_bridge_access`); a VM's configuration then goes through update_vm_api, whose
        `check_vm_modify_config_perm` and per-key checks want each key's VM.Config.* privilege (a key only root@pam
        may set is refused). None, or PVE's words."""
        need = [('/vms/{0}'.format(target_vmid), ('VM.Allocate',)), ('/', ('Sys.Incoming',))]
        need += [('/storage/' + store, ('Datastore.AllocateSpace',)) for store in sorted(storages)]
        if vm:
            # mtunnel's `config` command drops these before update_vm_api.
            for key in sorted(k for k in config if k not in ('meta', 'vmgenid', 'digest', 'lock', 'snapshots', 'parent',
                                                             'pending')):
                privs = key_privileges(key, config[key])
                if privs is None:
                    return "only root can set '{0}' config".format(key)
                if privs:
                    need.append(('/vms/{0}'.format(target_vmid), privs))
        for path, privs in need:
            if not any(target.allowed(tokenid, path, priv) for priv in privs):
                return '403 Permission check failed ({0}, {1})'.format(path, '|'.join(privs))
        try:
            target._qp_bridges(tokenid, dict((key, value) for key, value in config.items()  # pylint: disable=protected-access
                                             if re.match(r'^net\d+$', key)))
        except PveError as error:
            return '403 ' + error.message
        del bridges
        return None

    # ------------------------------------------------------------ handlers

    async def _rmig_qemu(self, v, user):
        return await self._rmig(v, user, vm=True)

    async def _rmig_lxc(self, v, user):
        return await self._rmig(v, user, vm=False)

    async def _rmig(self, v, user, vm):
        node, vmid = v['node'], int(v['vmid'])
        target_vmid = int(v.get('target-vmid') or vmid)
        delete = bool(v.get('delete'))
        self.need_quorum()
        guest = self.find(node, vmid) if vm else self._find_ct(node, vmid)
        word = 'VM' if vm else 'CT'
        if guest.lock:
            raise die('{0} is locked ({1})'.format(word, guest.lock))
        running = guest.status == 'running'
        if not vm and running and not v.get('online') and not v.get('restart'):
            raise die("can't migrate running container without --online or --restart\n")
        sid = '{0}:{1}'.format('vm' if vm else 'ct', vmid)
        if sid in getattr(self, 'ha_resources', {}) or guest.ha_managed:
            raise param_error(vmid='cannot remote-migrate {0} that is configured for HA'.format(word))
        log = ["Establishing API connection with remote at '{0}'".format(
            re.sub(r'.*(^|,)host=([^,]*).*', r'\2', v['target-endpoint']))]
        target, host, tokenid, target_node = self._rmig_connect(v['target-endpoint'])
        online = bool(v.get('online'))
        if vm:
            if running and not online:
                raise die("can't migrate running VM without --online\n")
            if not running:
                online = False
        storagemap, bridgemap = self._rmig_maps(v)
        self.remote_migrations.append((vmid, host, target_vmid))

        async def body():
            lines = task_log(self, log[0])
            if not vm and running and online:
                raise TaskError('lxc live migration is currently not implemented')
            if not vm and running and not v.get('restart'):
                raise TaskError('running container can only be migrated in restart mode')
            lines.append("starting migration of {0} {1} to node '{2}' ({3})".format(word, vmid, target_node, host))
            set_lock(guest, 'migrate')
            done = False
            try:
                config, storages, bridges = self._rmig_config(guest, vm, target_vmid, storagemap, bridgemap, lines)
                # mtunnel: its own permissions, then the storages and bridges it is given, then the configuration.
                problem = self._rmig_remote_perms(target, tokenid, target_vmid, {}, (), (), vm) or \
                    self._rmig_remote_checks(target, target_node, target_vmid, storages, bridges, vm) or \
                    self._rmig_remote_perms(target, tokenid, target_vmid, config, storages, bridges, vm)
                if problem:
                    raise TaskError('migration aborted (duration 00:00:00): {0}'.format(problem.replace('\n', ' ')))
                if not vm and running:
                    lines.append('shutdown CT {0}'.format(vmid))
                    guest.status = 'stopped'
                await self.pause(self.remote_migrate_secs)
                if self.remote_migrate_gate is not None:
                    await self.remote_migrate_gate.wait()
                # The remote may have got a guest with that id while this one was copied.
                problem = self._rmig_remote_checks(target, target_node, target_vmid, set(), set(), vm)
                if problem:
                    raise TaskError('migration aborted (duration 00:00:00): {0}'.format(problem.replace('\n', ' ')))
                start = running and (online or bool(v.get('restart')))
                if vm:
                    target.add_vm(target_vmid, guest.name, node=target_node, status='running' if start else 'stopped',
                                  config=config)
                else:
                    target.add_ct(target_vmid, node=target_node, status='running' if start else 'stopped',
                                  config=config, defaults=False)
                if start:
                    lines.append('{0} {1} started on remote node {2}'.format(word, target_vmid, target_node))
                guest.status = 'stopped'
                done = True
            finally:
                if not done:
                    set_lock(guest, None)
                    if not vm and running:
                        guest.status = 'running'
            if delete:
                lines.append('removing source {0} {1}'.format(word, vmid))
                self._rmig_remove(guest, vm)
            return 'migration finished successfully (duration 00:00:{0:02d})'.format(min(int(self.remote_migrate_secs), 59))

        # PVE::GuestHelpers::guest_migration_lock: the task holds the guest's migration lock (the lab's config lock).
        return await self.task(node, 'qmigrate' if vm else 'vzmigrate', vmid, user, body, vm=guest, log=log)

    def _rmig_remove(self, guest, vm):
        if vm:
            if guest in self.vms:
                self.vms.remove(guest)
        elif guest in self.cts:
            self.cts.remove(guest)
        self._pool_leave(guest.vmid)
        if getattr(self, 'acl', None):
            for user_id, entries in self.acl.items():
                self.acl[user_id] = [e for e in entries if e[0] != '/vms/{0}'.format(guest.vmid)]
