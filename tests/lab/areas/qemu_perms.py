# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM configuration keys only root@pam may set, as qemu-server's PVE/API2/Qemu.pm decides.

- `check_vm_modify_config_perm` (create, and update_vm_api for the keys set and the keys deleted, before the config
  lock and before the `qmconfig` task of the asynchronous form): every key outside its privilege groups (CPU,
  memory, hardware type, general options, power, disk options, network, cloud-init, vmstate) is the root@pam
  login's: `only root can set '<key>' config` (a `die`, so 500), e.g. `args`, `affinity`, `hookscript`,
  `hugepages`, `keephugepages`, `ivshmem`, `spice_enhancements`, `lock`. Drives, `cdrom`, `tags` and the
  value-dependent `serialN`, `usbN`, `hostpciN`, `virtiofsN` are left to their own checks;
- value-dependent checks inside the locked update (so inside the task of POST .../config): `serialN` other than
  `socket` (`only root can modify|delete '<key>' config for real devices`; on create `set`), `usbN` with a host
  device other than `spice` (`check_usb_perm`: `only root can set '<key>' config for real devices`), `hostpciN`
  with `host=` (`check_hostpci_perm`: `only root can set '<key>' config for non-mapped devices`; a `romfile` is
  root@pam's too); mapped devices need `Mapping.Use` on `/mapping/{usb,pci}/<name>` and `VM.Config.HWType`.
- `PVE::QemuServer::check_bridge_access` (create, update_vm_api before the lock, clone for the source's
  configuration; inside the update also the bridge a changed or deleted NIC had): pve-guest-common's
  `PVE::GuestHelpers::check_vnet_access`, `SDN.Use` on `/sdn/zones/<zone>/<bridge>` (the vnet's zone, else
  `localnetwork`), or on `.../<bridge>/<tag>` for each VLAN tag and trunk instead.
`root@pam` is compared whole, as `$authuser eq 'root@pam'`: every API token, root's own included, is refused.
"""

import re

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, die, param_error

ROOT_LOGIN = 'root@pam'
# The privilege groups of qemu-server's check_vm_modify_config_perm (key -> privileges needed, any of them when
# the tuple ends with 'any').
_GROUPS = (
    (('cores', 'cpu', 'runningcpu', 'cpulimit', 'cpuunits', 'numa', 'smp', 'sockets', 'vcpus'), ('VM.Config.CPU',)),
    (('memory', 'balloon', 'shares', 'allow-ksm'), ('VM.Config.Memory',)),
    (('acpi', 'hotplug', 'kvm', 'machine', 'runningmachine', 'scsihw', 'smbios1', 'tablet', 'vga', 'watchdog',
      'audio0', 'rng0'), ('VM.Config.HWType',)),
    (('agent', 'autostart', 'bios', 'description', 'keyboard', 'localtime', 'migrate_downtime', 'migrate_speed',
      'name', 'onboot', 'ostype', 'protection', 'reboot', 'startdate', 'startup', 'tdf', 'template'),
     ('VM.Config.Options',)),
    (('freeze',), ('VM.PowerMgmt',)),
    (('boot', 'bootdisk', 'vmstatestorage'), ('VM.Config.Disk',)),
    (('running-nets-host-mtu',), ('VM.Config.Network',)),
    (('cicustom', 'cipassword', 'citype', 'ciuser', 'ciupgrade', 'nameserver', 'searchdomain', 'sshkeys'),
     ('VM.Config.Cloudinit', 'VM.Config.Network')),
    (('vmstate',), ('VM.Config.Disk', 'VM.PowerMgmt')),
)
KNOWN_KEYS = frozenset(key for keys, _privs in _GROUPS for key in keys)
# PVE::QemuServer::is_valid_drivename, and the keys whose check depends on their value.
_DRIVE = re.compile(r'^(?:ide[0-3]|sata[0-5]|scsi(?:[0-9]|[1-2][0-9]|30)|virtio(?:[0-9]|1[0-5])|efidisk0|tpmstate0)$')
_ELSEWHERE = re.compile(r'^(?:unused|serial|usb|hostpci|virtiofs)\d+$')
_GROUPED = re.compile(r'^(?:numa|net|ipconfig)\d+$')
# Parameters of the create call that are not configuration keys.
_CREATE_ONLY = ('node', 'vmid', 'pool', 'storage', 'start', 'archive', 'unique', 'force', 'live-restore', 'bwlimit',
                'ha-managed')


def root_only_keys(keys):
    """The keys of `keys` only root@pam may set or delete, whatever their value (check_vm_modify_config_perm)."""
    return [key for key in keys if not (_DRIVE.match(key) or _ELSEWHERE.match(key) or _GROUPED.match(key)
                                        or key in ('cdrom', 'tags') or key in KNOWN_KEYS)]


def key_privileges(key, value):
    """The privileges (any of them) update_vm_api wants on the VM for setting key to value, or None for a key only
    root@pam may set; () for a key checked elsewhere (serialN, usbN, hostpciN, unusedN ...)."""
    if root_only_keys([key]):
        return None
    if _DRIVE.match(key):
        return ('VM.Config.CDROM',) if 'media=cdrom' in str(value) else ('VM.Config.Disk',)
    if key == 'cdrom':
        return ('VM.Config.CDROM',)
    if re.match(r'^net\d+$', key):
        return ('VM.Config.Network',)
    if re.match(r'^ipconfig\d+$', key):
        return ('VM.Config.Cloudinit', 'VM.Config.Network')
    if re.match(r'^numa\d+$', key):
        return ('VM.Config.CPU',)
    if key == 'tags':
        return ('VM.Config.Options',)
    for keys, privs in _GROUPS:
        if key in keys:
            return privs
    return ()


def _props(value):
    out = {}
    for part in str(value or '').split(','):
        name, sep, val = part.partition('=')
        if sep:
            out[name] = val
        elif name:
            out.setdefault('_default', name)
    return out


class QemuPermsArea(StatefulRoutes):
    """Mixin of the lab's PVE: the VM configuration keys only the root@pam login may set."""

    def _qp_require(self, user, path, priv):
        if not self.allowed(user, path, priv):
            raise PveError(403, 'Permission check failed ({0}, {1})'.format(path, priv))

    def _qp_keys(self, user, keys):
        if user == ROOT_LOGIN:
            return
        for key in root_only_keys(keys):
            raise die("only root can set '{0}' config".format(key))

    def _qp_usb(self, user, vmid, key, value):
        """qemu-server's check_usb_perm."""
        self._qp_require(user, '/vms/{0}'.format(vmid), 'VM.Config.HWType')
        device = _props(value)
        host = device.get('host', device.get('_default'))
        if host:
            if host.lower() != 'spice':
                raise die("only root can set '{0}' config for real devices".format(key))
        elif device.get('mapping'):
            self._qp_require(user, '/mapping/usb/' + device['mapping'], 'Mapping.Use')
        else:
            raise die("either 'host' or 'mapping' must be set.")

    def _qp_hostpci(self, user, vmid, key, value):
        """qemu-server's check_hostpci_perm."""
        device = _props(value)
        if device.get('host', device.get('_default')):
            raise die("only root can set '{0}' config for non-mapped devices".format(key))
        if device.get('mapping'):
            self._qp_require(user, '/mapping/pci/' + device['mapping'], 'Mapping.Use')
            self._qp_require(user, '/vms/{0}'.format(vmid), 'VM.Config.HWType')
        else:
            raise die("either 'host' or 'mapping' must be set.")
        if 'romfile' in device:
            raise param_error(**{key: "only root@pam can set 'romfile' option"})

    def _qp_values(self, user, vmid, values, deletes=(), current=None, creating=False):
        """The value-dependent checks of serialN, usbN and hostpciN (set and deleted)."""
        if user == ROOT_LOGIN:
            return
        current = current or {}
        for key in deletes:
            old = current.get(key)
            if old is None:
                continue
            if re.match(r'^serial\d+$', key):
                if old == 'socket':
                    self._qp_require(user, '/vms/{0}'.format(vmid), 'VM.Config.HWType')
                else:
                    raise die("only root can delete '{0}' config for real devices".format(key))
            elif re.match(r'^usb\d+$', key):
                self._qp_usb(user, vmid, key, old)
            elif re.match(r'^hostpci\d+$', key):
                self._qp_hostpci(user, vmid, key, old)
        for key in sorted(values):
            value = str(values[key])
            if re.match(r'^serial\d+$', key):
                if value == 'socket' and current.get(key, 'socket') == 'socket':
                    self._qp_require(user, '/vms/{0}'.format(vmid), 'VM.Config.HWType')
                else:
                    raise die("only root can {0} '{1}' config for real devices".format(
                        'set' if creating else 'modify', key))
            elif re.match(r'^usb\d+$', key):
                if current.get(key):
                    self._qp_usb(user, vmid, key, current[key])
                self._qp_usb(user, vmid, key, value)
            elif re.match(r'^hostpci\d+$', key):
                if current.get(key):
                    self._qp_hostpci(user, vmid, key, current[key])
                self._qp_hostpci(user, vmid, key, value)

    def _qp_bridges(self, user, conf):
        """check_bridge_access: SDN.Use on each NIC's bridge (or vnet), per VLAN tag and trunk when it has them."""
        if user == ROOT_LOGIN:
            return
        vnets = (getattr(self, 'sdn', None) or {}).get('vnets') or {}
        for key in sorted(conf):
            if not re.match(r'^net\d+$', key):
                continue
            net = _props(conf[key])
            bridge = net.get('bridge')
            if not bridge:
                continue
            zone = (vnets.get(bridge) or {}).get('zone') or 'localnetwork'
            base = '/sdn/zones/{0}/{1}'.format(zone, bridge)
            tags = [net['tag']] if net.get('tag') else []
            if net.get('trunks'):
                # get_tags_from_trunk: a range a-b stands for every tag in it.
                for part in net['trunks'].split(';'):
                    low, _sep, high = part.partition('-')
                    tags += [str(t) for t in range(int(low), int(high or low) + 1)]
            for path in ['{0}/{1}'.format(base, tag) for tag in sorted(set(tags), key=int)] or [base]:
                self._qp_require(user, path, 'SDN.Use')

    @staticmethod
    def _qp_split(p):
        deletes = [k for k in re.split(r'[,;\s]+', str(p.get('delete') or '')) if k]
        values = dict((k, v) for k, v in p.items()
                      if k not in ('delete', 'digest', 'skiplock', 'force', 'revert', 'background_delay'))
        return values, deletes

    # ------------------------------------------------------------------ create

    async def _qm_create(self, v, user):
        values = dict((k, x) for k, x in v.items() if k not in _CREATE_ONLY)
        self._qp_keys(user, values)
        self._qp_values(user, v['vmid'], values, creating=True)
        self._qp_bridges(user, values)
        return await super()._qm_create(v, user)

    async def _qm_clone(self, v, user):
        """clone_vm: the bridges of the configuration cloned (the source's, or its snapshot's)."""
        source = self.vm(int(v['vmid']))
        if source is not None and source.node == v['node']:
            conf = source.snapshots.get(v['snapname'], {}) if v.get('snapname') else source.config
            self._qp_bridges(user, conf)
        return await super()._qm_clone(v, user)

    # ------------------------------------------------------------------ update

    async def _config_put(self, request):
        """update_vm_api, synchronous: the key check before the lock; the value checks under it."""
        from fakepve.server import USER, params  # late: server imports the areas' base
        p = await params(request)
        self._verify(request, p)
        values, deletes = self._qp_split(p)
        self._qp_keys(request[USER], deletes)
        self._qp_keys(request[USER], values)
        self._qp_bridges(request[USER], values)
        return await super()._config_put(request)

    async def _config_post(self, request):
        """update_vm_api, asynchronous: the key check answers at once; the value checks fail the qmconfig task."""
        from fakepve.server import USER, params
        p = await params(request)
        self._verify(request, p)
        values, deletes = self._qp_split(p)
        self._qp_keys(request[USER], deletes)
        self._qp_keys(request[USER], values)
        self._qp_bridges(request[USER], values)
        return await super()._config_post(request)

    async def _apply_config(self, vm, user, p):
        values, deletes = self._qp_split(p)
        current = dict(vm.config)
        for key, value in (getattr(vm, 'pending', None) or {}).items():
            if value is not None and key not in current:
                current[key] = value
        # Inside the qmconfig task for POST: fakepve's task body turns the error into the task's exit status.
        self._qp_values(user, vm.vmid, values, deletes, current)
        # The bridge a NIC changed or deleted had (update_vm_api's loops over the deleted and the set keys).
        self._qp_bridges(user, dict((key, current[key]) for key in list(deletes) + list(values)
                                    if re.match(r'^net\d+$', key) and current.get(key)))
        return await super()._apply_config(vm, user, p)
