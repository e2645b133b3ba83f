# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM configuration updates as qemu-server makes them, disk resize and unlink, nextid races, lock releases.

Follows qemu-server's PVE/API2/Qemu.pm (update_vm_api, resize_vm, unlink) and PVE::QemuServer's pending
handling:
- a config update allocates new disks (`storage:size`, `storage:0,import-from=...`, `storage:cloudinit`) before
  it writes them, gives a NIC without a MAC address a new one and makes tags unique and sorted;
- removing a drive detaches it: its volume becomes the next `unusedN` (a CD-ROM is simply dropped; with
  `force` the volume is destroyed); removing an `unusedN` destroys the volume; both are refused on a protected
  VM with PVE's words; a removed drive leaves the boot order;
- on a running VM, each key of an update is applied at once or left in the pending section as qemu-server's
  vmconfig_hotplug_pending decides (hotplug_decision, hotplug_delete_decision: $fast_plug_option and cloud-init
  keys at once, the `hotplug` features, vmconfig_update_disk / _net / _agent); a hot-plug QEMU refuses leaves the
  value pending and fails the update with `<key>: hotplug problem - <QEMU's words>` (update_vm_api's
  raise_param_exc: 400 for PUT, the qmconfig task's exit status for POST);
- an update of a stopped VM applies every pending change, older ones too (vmconfig_apply_pending);
- GET config answers the configuration with the pending changes applied unless `current=1` (load_current_config);
- `cipassword` is written at once, hashed as PVE stores it, and read back as asterisks: GET config answers
  `**********` and GET pending `**********` as the value and `********** ` (a trailing space) as a pending one
  (vm_config, vm_pending);
- PUT .../resize is a `resize` task that grows a disk to an absolute or `+`relative size, and fails with PVE's
  `shrinking disks is not supported`; PUT .../unlink detaches (or with `force` destroys) disks.
Scenario knobs: `qemu_refusals` ({vmid: {key: QEMU's error}}: hot-plugging that key fails with those words),
`secrets_in_clear` (GET config and pending answer cipassword as stored, as a fake, a proxy or an
older version may: readers must mask it themselves), `nextid_races` (a concurrent creation takes the id /cluster/nextid just handed out, that many
times), `lock_release_reads` ({vmid: n}: the VM's lock goes away after n reads of /cluster/resources);
GET /nodes/{node}/network lists the bridges in `pve.bridges` on every node.
"""

import hashlib
import json
import re
import secrets

from aiohttp import web
from fakepve.lxc import SIZE_UNITS, format_size
from fakepve.model import PveError, TaskError
from fakepve.qemu import DRIVE_KEY, NEW_DISK, is_cdrom, join_drive, split_drive, volume_ref, with_mac
from fakepve.routing import StatefulRoutes, param_error
from fakepve.server import USER, ok, params

from ._common import set_lock

_UNUSED = re.compile(r'^unused(\d+)$')
_SIZE = re.compile(r'^(\+)?(\d+(?:\.\d+)?)([KMGT])?$')
# What qemu-server answers for a cipassword it holds.
_HIDDEN = '**********'
# qemu-server's default `hotplug` (PVE/QemuServer.pm $confdesc, parse_hotplug_features).
_HOT_DEFAULT = 'network,disk,usb'
# PVE/QemuServer.pm $fast_plug_option, with every key of $confdesc_cloudinit: written at once, never fail.
_FAST_PLUG = ('description', 'hookscript', 'lock', 'migrate_downtime', 'migrate_speed', 'name', 'onboot', 'protection',
              'shares', 'startup', 'tags', 'vmstatestorage', 'citype', 'ciuser', 'cipassword', 'ciupgrade', 'cicustom',
              'searchdomain', 'nameserver', 'sshkeys')
# vmconfig_update_disk: a change of these drive options of an existing disk waits for the next start.
_DISK_COLD = ('aio', 'discard', 'iothread', 'queues', 'product', 'cache', 'ssd', 'vendor', 'ro')
# vmconfig_update_net: a change of these NIC options needs a hot-unplug and plug (the `network` feature).
_NET_REPLUG = ('model', 'macaddr', 'queues', 'mtu')
_NIC_MODELS = ('e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
               'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3')


def _hotplug_features(value):
    """parse_hotplug_features: `0` none, `1` (or unset) the default, else the listed features."""
    text = _HOT_DEFAULT if value is None or str(value) == '1' else str(value)
    if text == '0':
        return set()
    return set(f for f in re.split(r'[,;\s]+', text) if f)


def _fast_plug(key):
    return key in _FAST_PLUG or re.fullmatch(r'ipconfig\d+', key) is not None


def _props(value, default_key):
    out = {}
    for part in str(value or '').split(','):
        if not part:
            continue
        name, sep, val = part.partition('=')
        if not sep:
            name, val = default_key, name
        out[name] = val
    return out


def _net_props(value):
    props = _props(value, 'model')
    for model in _NIC_MODELS:
        if model in props:
            props['macaddr'] = props.pop(model)
            props['model'] = model
    return props


def _usb_hot(features, config):
    """is_usb_hotplug_supported (QEMU 7.1 or later assumed): the `usb` feature and a Linux or Windows 8+ guest."""
    ostype = str(config.get('ostype') or '')
    win = re.fullmatch(r'win(\d+)', ostype)
    return 'usb' in features and (ostype == 'l26' or (win is not None and int(win.group(1)) > 7))


def hotplug_decision(hotplug, key, old, new, config):
    """What vmconfig_hotplug_pending does with a new value of `key` on a running VM: 'fast' (written at once),
    'device' (applied through QEMU, which may refuse) or None (stays pending until the next start)."""
    features = _hotplug_features(hotplug)
    if _fast_plug(key):
        return 'fast'
    if key == 'hotplug':
        both = str(new) + ' ' + str(hotplug or '')
        return None if 'memory' in both or 'cpu' in both else 'fast'
    if key == 'tablet':
        return 'device' if 'usb' in features else None
    if re.fullmatch(r'usb\d+', key):
        return 'device' if _usb_hot(features, config) else None
    if key == 'vcpus':
        return 'device' if 'cpu' in features else None
    if key == 'memory':
        return 'device' if 'memory' in features else None
    if key == 'balloon':
        was_on = old is None or str(old) != '0'
        return 'fast' if was_on == (str(new) != '0') else None
    if key in ('cpuunits', 'cpulimit'):
        return 'fast'
    if key == 'agent':
        if not old:
            return None
        before, after = _props(old, 'enabled'), _props(new, 'enabled')
        for name in set(before) | set(after):
            if name != 'fstrim_cloned_disks' and before.get(name) != after.get(name):
                return None
        return 'fast'
    if re.fullmatch(r'net\d+', key):
        if old:
            was, now = _net_props(old), _net_props(new)
            if not any(was.get(o) != now.get(o) for o in _NET_REPLUG) and was.get('bridge') and now.get('bridge'):
                return 'fast'  # bridge, tag, trunks, firewall, rate, link_down: changed on the tap device
        return 'device' if 'network' in features else None
    if DRIVE_KEY.match(key):
        if key in ('efidisk0', 'tpmstate0'):
            return None
        if old:
            was_vol, was = split_drive(old)
            now_vol, now = split_drive(new)
            if (was.get('media') or 'disk') != (now.get('media') or 'disk'):
                return 'error:unable to change media type'
            if is_cdrom(was_vol, was):
                return 'device'  # change_medium
            if was_vol != now_vol:
                return 'device' if 'disk' in features and not re.match(r'^(ide|sata)\d+$', key) else None
            if any(was.get(o) != now.get(o) for o in _DISK_COLD):
                return None
            return 'fast'  # throttling and bookkeeping options (backup, replicate, size, ...)
        return 'device' if 'disk' in features and not re.match(r'^(ide|sata)\d+$', key) else None
    return None


def hotplug_delete_decision(hotplug, key, config):
    """What vmconfig_hotplug_pending does with a pending delete of `key` (same answers as hotplug_decision)."""
    features = _hotplug_features(hotplug)
    if key == 'hotplug':
        return None if re.search(r'cpu|memory', str(config.get('hotplug') or '')) else 'fast'
    if key == 'tablet':
        return 'device' if 'usb' in features else None
    if re.fullmatch(r'usb\d+', key):
        return 'device' if _usb_hot(features, config) else None
    if key == 'vcpus':
        return 'device' if 'cpu' in features else None
    if key == 'balloon':
        return None if str(config.get('balloon', '')) == '0' else 'fast'
    if _fast_plug(key) or key in ('cpuunits', 'cpulimit'):
        return 'fast'
    if re.fullmatch(r'net\d+', key):
        return 'device' if 'network' in features else None
    if DRIVE_KEY.match(key):
        return 'device' if 'disk' in features and not re.match(r'^(efidisk|ide|sata|tpmstate)\d+$', key) else None
    if key == 'memory':
        return 'device' if 'memory' in features else None
    return None


def _size_bytes(text):
    found = re.fullmatch(r'(\d+(?:\.\d+)?)([KMGT])?', str(text or ''))
    if not found:
        return 0
    return int(float(found.group(1)) * SIZE_UNITS.get(found.group(2) or 'B', 1))


def _hash_password(password):
    """The shape PVE::Tools::encrypt_pw stores ($5$salt$hash); never the clear text."""
    if re.match(r'^\$(?:[156]|2[ay])(\$.+){2}', password):
        return password
    salt = secrets.token_hex(8)
    return '$5${0}${1}'.format(salt, hashlib.sha256((salt + password).encode()).hexdigest())


class QemuExtraArea(StatefulRoutes):
    """Mixin of the lab's PVE: qemu-server's config update, resize and unlink, nextid races, lock releases."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.nextid_races = 0
        self.lock_release_reads = {}
        self.secrets_in_clear = False
        # {vmid: {key: QEMU's error}}: hot-plugging that key into that running VM fails with these words.
        self.qemu_refusals = {}
        if not hasattr(self, 'bridges'):
            self.bridges = {'vmbr0'}

    def _routes_qemu_extra(self):
        one = '/nodes/{node}/qemu/{vmid}'
        return [('PUT', one + '/resize', self._qx_resize), ('PUT', one + '/unlink', self._qx_unlink),
                ('GET', '/nodes/{node}/network', self._qx_network)]

    # ------------------------------------------------------------- scenario knobs

    async def _nextid(self, v, user):
        answer = await super()._nextid(v, user)
        if self.nextid_races > 0 and v.get('vmid') in (None, ''):
            # Someone else's create takes the id between the nextid call and ours.
            self.nextid_races -= 1
            self.add_vm(int(answer), 'racer-{0}'.format(answer), node=sorted(self.nodes)[0])
        return answer

    async def _resources(self, request):
        for vmid in list(self.lock_release_reads):
            self.lock_release_reads[vmid] -= 1
            if self.lock_release_reads[vmid] <= 0:
                del self.lock_release_reads[vmid]
                vm = self.vm(vmid)
                if vm is not None:
                    set_lock(vm, None)
        return await super()._resources(request)

    # ------------------------------------------------------------- reading a config

    async def _config_get(self, request):
        """qemu-server's vm_config: the configuration with the pending changes applied unless `current=1`
        (PVE::AbstractConfig::load_current_config); cipassword (kept hashed) is answered as asterisks."""
        response = await super()._config_get(request)
        current = str(request.query.get('current', '0')).lower() in ('1', 'true', 'yes', 'on')
        if response.status == 200 and not current:
            body = json.loads(response.body)
            vm = self.vm(int(request.match_info['vmid']))
            data = body.get('data') or {}
            for key, value in (vm.pending.items() if vm is not None else ()):
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = str(value) if key == 'memory' else value
            body['data'] = data
            response = web.json_response(body)
        return self._qx_hide_secrets(response, self._qx_hide_config)

    async def _config_post(self, request):
        """update_vm_api's asynchronous form: a qmconfig task; a parameter error (a failed hot-plug among them)
        ends the task with its message and every per-key error on one line, as fork_worker records it."""
        p = await params(request)
        self._verify(request, p)
        vm = self._vm(request)
        user = request[USER]
        self.need_quorum()

        async def body():
            try:
                await self._apply_config(vm, user, p)
            except PveError as e:
                words = [e.message] + ['{0}: {1}'.format(k, v) for k, v in sorted((e.errors or {}).items())]
                raise TaskError(' '.join(words)) from e
        return ok(await self.task(vm.node, 'qmconfig', vm.vmid, user, body))

    async def _pending(self, request):
        """qemu-server's vm_pending: the current cipassword as asterisks, a pending one as asterisks and a space."""
        return self._qx_hide_secrets(await super()._pending(request), self._qx_hide_pending)

    def _qx_hide_secrets(self, response, hide):
        if self.secrets_in_clear or response.status != 200:
            return response
        body = json.loads(response.body)
        body['data'] = hide(body.get('data'))
        return web.json_response(body)

    @staticmethod
    def _qx_hide_config(config):
        if isinstance(config, dict) and config.get('cipassword'):
            config['cipassword'] = _HIDDEN
        return config

    @staticmethod
    def _qx_hide_pending(items):
        for item in items or []:
            if isinstance(item, dict) and item.get('key') == 'cipassword':
                if item.get('value') is not None:
                    item['value'] = _HIDDEN
                if item.get('pending') is not None:
                    item['pending'] = _HIDDEN + ' '
        return items

    async def _qx_network(self, v, user):
        kind = v.get('type')
        data = []
        for idx, bridge in enumerate(sorted(self.bridges)):
            if kind in (None, 'bridge', 'any_bridge'):
                data.append({'iface': bridge, 'type': 'bridge', 'method': 'manual', 'method6': 'manual',
                             'families': ['inet'], 'priority': 3 + idx, 'active': 1, 'autostart': 1, 'exists': 1,
                             'bridge_ports': 'eno1' if bridge == 'vmbr0' else '', 'bridge_stp': 'off',
                             'bridge_fd': '0'})
        if kind in (None, 'eth'):
            data.append({'iface': 'eno1', 'type': 'eth', 'method': 'manual', 'method6': 'manual',
                         'families': ['inet'], 'priority': 2, 'active': 1, 'exists': 1})
        return data

    # ------------------------------------------------------------- cloud-init drive

    def _qm_new_drive(self, vmid, key, value, default):
        """PVE names a cloud-init volume vm-<vmid>-cloudinit (fakepve gives it the next disk name)."""
        volume, props = split_drive(value)
        if not volume.endswith(':cloudinit'):
            return super()._qm_new_drive(vmid, key, value, default)
        sid = volume_ref(volume)[0] or default
        store = self._store(sid)
        fmt = props.pop('format', None) or store.get('format') or 'raw'
        volname, fmt = self._volume_name(store, vmid, fmt, 'vm-{0}-cloudinit'.format(vmid))
        if volname in store.setdefault('volumes', {}):
            raise PveError(500, "unable to create cloud-init disk: volume '{0}:{1}' already exists".format(sid, volname))
        store['volumes'][volname] = {'content': 'images', 'format': fmt, 'size': 4 * 1024 ** 2, 'vmid': vmid}
        volid = '{0}:{1}'.format(sid, volname)
        props.update(media='cdrom')
        return join_drive(volid, props), [volid]

    # ------------------------------------------------------------- config update

    def _qx_hot(self, vm, what):
        return what in _hotplug_features(vm.config.get('hotplug'))

    def _qx_add_unused(self, vm, volume):
        taken = set(int(m.group(1)) for m in (_UNUSED.match(k) for k in vm.config) if m)
        n = 0
        while n in taken:
            n += 1
        vm.config['unused{0}'.format(n)] = volume

    def _qx_drop_from_boot(self, vm, key):
        boot = str(vm.config.get('boot') or '')
        if boot.startswith('order='):
            devices = [d for d in boot[len('order='):].split(';') if d]
            if key in devices:
                devices.remove(key)
                vm.config['boot'] = 'order=' + ';'.join(devices) if devices else ''
                if not vm.config['boot']:
                    vm.config.pop('boot')

    def _qx_delete_drive(self, vm, user, key, force, protected, errors):
        """A drive or unusedN named in `delete` (update_vm's delete loop); True when handled here."""
        value = vm.config.get(key, vm.pending.get(key))
        if value is None:
            return True  # PVE warns "cannot delete ... not set" and goes on
        volume, props = split_drive(value)
        if _UNUSED.match(key):
            if protected:
                raise PveError(500, "can't remove unused disk '{0}' - protection mode enabled".format(volume))
            self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.Config.Disk')
            self._qm_free(volume)
            vm.config.pop(key, None)
            vm.pending.pop(key, None)
            return True
        if not DRIVE_KEY.match(key):
            return False
        if protected:
            raise PveError(500, "can't remove drive '{0}' - protection mode enabled".format(key))
        self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.Config.Disk')
        if vm.status == 'running':
            if not self._qx_hot(vm, 'disk') or re.match(r'^(efidisk|ide|sata|tpmstate)\d+$', key):
                vm.pending[key] = None
                return True
            refused = self.qemu_refusals.get(vm.vmid, {}).get(key)
            if refused:
                vm.pending[key] = None
                errors[key] = 'hotplug problem - ' + refused
                return True
        vm.pending.pop(key, None)
        vm.config.pop(key, None)
        self._qx_drop_from_boot(vm, key)
        if not is_cdrom(volume, props) and volume_ref(volume)[0] is not None and not volume.endswith(':cloudinit') \
                and 'cloudinit' not in volume:
            if force:
                self._qm_free(volume)
            else:
                self._qx_add_unused(vm, volume)
        elif 'cloudinit' in volume:
            self._qm_free(volume)
        return True

    async def _apply_config(self, vm, user, p):
        p = dict(p)
        self.need_quorum()
        digest = p.pop('digest', None)
        if digest and digest != vm.digest():
            raise PveError(500, 'checksum mismatch (file change by other user?)')
        skiplock = p.get('skiplock')
        if skiplock and user != 'root@pam':
            raise param_error(skiplock='Only root may use this option.')
        force = str(p.pop('force', '0')) in ('1', 'true')
        if not skiplock:
            self._check_lock(vm)
        deletes = [k for k in re.split(r'[,;\s]+', str(p.pop('delete', '') or '')) if k]
        protected = str(vm.config.get('protection', '0')) in ('1', 'true')
        running = vm.status == 'running'
        errors = {}
        rest_deletes = [key for key in deletes if not self._qx_delete_drive(vm, user, key, force, protected, errors)]
        later = {}
        for key, value in p.items():
            if key == 'skiplock':
                later[key] = value
                continue
            value = str(value)
            if DRIVE_KEY.match(key):
                self._qm_check_drive(user, vm.vmid, None, key, value, None)
                volume, props = split_drive(value)
                new = bool(NEW_DISK.match(volume)) or volume.endswith(':cloudinit')
                if new:
                    if props.get('import-from') and NEW_DISK.match(volume):
                        source = self._qm_volume(props['import-from'])
                        value = join_drive(volume, dict((k, x) for k, x in props.items() if k != 'import-from'))
                        value, made = self._qm_new_drive(vm.vmid, key, value, None)
                        if source and source.get('size'):
                            vol = self._qm_volume(made[0])
                            if vol is not None:
                                vol['size'] = int(source['size'])
                            drive_volume, drive_props = split_drive(value)
                            drive_props['size'] = format_size(int(source['size']))
                            value = join_drive(drive_volume, drive_props)
                    else:
                        value, _made = self._qm_new_drive(vm.vmid, key, value, None)
                    old = vm.config.get(key)
                    if old and not is_cdrom(*split_drive(old)):
                        self._qx_add_unused(vm, split_drive(old)[0])
                    if not running:
                        self.require(user, '/vms/{0}'.format(vm.vmid), self._config_priv(key))
                        vm.config[key] = value
                        vm.pending.pop(key, None)
                        continue
                later[key] = value
            elif re.fullmatch(r'net\d+', key):
                later[key] = with_mac(value)
            elif key == 'tags':
                later[key] = ';'.join(sorted(set(t.lower() for t in re.split(r'[;, ]+', value) if t)))
            elif key == 'cipassword':
                self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.Config.Cloudinit')
                vm.config[key] = _hash_password(value)
            else:
                later[key] = value
        before = dict(vm.config)
        if later or rest_deletes:
            if rest_deletes:
                later['delete'] = ','.join(rest_deletes)
            await super()._apply_config(vm, user, later)
        if running:
            self._qx_hotplug_pending(vm, before, dict((k, str(v)) for k, v in later.items()
                                                      if k not in ('skiplock', 'delete')), rest_deletes, errors)
        elif vm.pending:
            # vmconfig_apply_pending: an update of a stopped VM applies every pending change, older ones included.
            vm.apply_pending()
        self._qx_cleanup_pending(vm)
        if errors:
            # update_vm_api: what could be applied stays applied, then raise_param_exc with every hot-plug error.
            raise PveError(400, 'Parameter verification failed.', errors)

    def _qx_hotplug_pending(self, vm, before, updates, deletes, errors):
        """qemu-server's vmconfig_hotplug_pending over the keys of this update: each key of a running VM is either
        applied at once or left in the pending section, by the rules of hotplug_decision(); a hot-plug QEMU refuses
        (the `qemu_refusals` knob) leaves the value pending and records `hotplug problem - <QEMU's words>`."""
        refusals = self.qemu_refusals.get(vm.vmid, {})
        for key, value in updates.items():
            decision = hotplug_decision(before.get('hotplug'), key, before.get(key), value, before)
            if decision == 'device' and refusals.get(key):
                decision = 'error:' + refusals[key]
            if decision and decision.startswith('error:'):
                errors[key] = 'hotplug problem - ' + decision[len('error:'):]
                decision = None
            if decision:
                vm.config[key] = value
                vm.pending.pop(key, None)
            else:
                vm.pending[key] = value
                if key in before:
                    vm.config[key] = before[key]
                else:
                    vm.config.pop(key, None)
        for key in deletes:
            decision = hotplug_delete_decision(before.get('hotplug'), key, before)
            if decision == 'device' and refusals.get(key):
                errors[key] = 'hotplug problem - ' + refusals[key]
                decision = None
            if decision:
                vm.config.pop(key, None)
                vm.pending.pop(key, None)
            elif key in before:
                vm.pending[key] = None
                vm.config[key] = before[key]
        vm.name = vm.config.get('name') or 'VM {0}'.format(vm.vmid)

    @staticmethod
    def _qx_cleanup_pending(vm):
        """What PVE::AbstractConfig::cleanup_pending does at the end of every config update: a pending value equal to
        the current one, and a pending delete of a key the config does not have, are dropped from the pending section."""
        for key, value in list(vm.pending.items()):
            if (key not in vm.config) if value is None else (str(value) == str(vm.config.get(key))):
                del vm.pending[key]

    # ------------------------------------------------------------- resize, unlink

    async def _qx_resize(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        disk, size, digest = v['disk'], str(v['size']), v.get('digest')
        skiplock = v.get('skiplock')
        if skiplock and user != 'root@pam':
            raise param_error(skiplock='Only root may use this option.')
        self.need_quorum()

        async def body():
            if digest and digest != vm.digest():
                raise TaskError('checksum mismatch (file change by other user?)')
            if vm.lock and not skiplock:
                raise TaskError('VM is locked ({0})'.format(vm.lock))
            value = vm.config.get(disk)
            if not value:
                raise TaskError("disk '{0}' does not exist".format(disk))
            volume, props = split_drive(value)
            if not volume:
                raise TaskError("disk '{0}' has no associated volume".format(disk))
            if is_cdrom(volume, props):
                raise TaskError("you can't resize a cdrom")
            sid = volume_ref(volume)[0]
            if sid:
                self.require(user, '/storage/' + sid, 'Datastore.AllocateSpace')
            record = self._qm_volume(volume)
            current = int(record['size']) if record and record.get('size') else _size_bytes(props.get('size'))
            found = _SIZE.fullmatch(size)
            if not found:
                raise TaskError('internal error')
            new = float(found.group(2)) * SIZE_UNITS.get(found.group(3) or 'B', 1)
            new = int(new + current if found.group(1) else new)
            if new < current:
                raise TaskError('shrinking disks is not supported')
            if new == current:
                return None
            store = self.storages.get(sid) if sid else None
            if store is not None and 'avail' in store:
                if new - current > store['avail']:
                    raise TaskError("unable to write to storage '{0}': No space left on device".format(sid))
                store['avail'] -= new - current
            if record is not None:
                record['size'] = new
            props['size'] = format_size(new)
            vm.config[disk] = join_drive(volume, props)
            return None
        return await self.task(vm.node, 'resize', vm.vmid, user, body, vm=vm)

    async def _qx_unlink(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        params = {'delete': v['idlist']}
        if v.get('force'):
            params['force'] = 1
        await self._apply_config(vm, user, params)
        return None
