# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The run of proxfleet.proxmox.pve_vm: input checks, the plan against the VM's configuration, and the run itself
(read, converge, create, clone, delete, power).

It lives here rather than in the module file for start-up's sake: Python compiles a module file from its AnsiballZ
zip twice per run and a module_util once (pve_vm installs _zipimport first), so the module keeps only its
documentation and argument spec. The reading side is all a run that changes nothing loads (guest_state, qemu);
guest_lifecycle comes with the first write, qemu_devices with the first disk or NIC.
"""

from __future__ import annotations

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_state as gs, qemu
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import require_root_login
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guests import list_guests

FIELDS = qemu.config_fields()
FIELD_NAMES = set(f.name for f in FIELDS)
# Text options where an empty string removes the key.
EMPTY_REMOVES = ('description', 'machine', 'startup', 'vga', 'ciuser', 'nameserver', 'searchdomain', 'cicustom',
                 'cpu', 'agent')
SLOT_OPTIONS = (('serial', r'^serial[0-3]$', 'serial'), ('hostpci', r'^hostpci\d+$', 'hostpci'),
                ('usb', r'^usb\d+$', 'usb'), ('ipconfig', r'^ipconfig\d+$', 'ipconfig'))
RESERVED_RAW = FIELD_NAMES | {'tags', 'pool', 'lock', 'digest', 'template', 'meta', 'vmgenid', 'smbios1'}


def _gl():
    """guest_lifecycle (create, clone, locks, power, destroy), imported with the first write: a run that changes
    nothing reads through guest_state alone and never compiles the writing side."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_lifecycle
    return guest_lifecycle


def _vw():
    """vm_write (create, clone, write a plan, template, delete), imported with the first write, like _gl()."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import vm_write
    return vm_write


def label(params):
    if params.get('vmid') is not None:
        return 'VM {0}'.format(params['vmid'])
    return 'VM {0!r}'.format(params.get('name'))


# ---------------------------------------------------------------- input, before any request

def check_input(params):
    """Everything that can be checked without the API; ProxmoxConfigError before any request."""
    if params.get('vmid') is None and not params.get('name'):
        raise ProxmoxConfigError('give vmid or name')
    seen = set()
    for disk in params.get('disks') or []:
        if disk['slot'] in seen:
            raise ProxmoxConfigError('disks: slot {0} is listed twice'.format(disk['slot']))
        seen.add(disk['slot'])
        if not qemu.DISK_SLOT_RE.match(disk['slot']):
            raise ProxmoxConfigError('disks: {0!r} is not a disk slot (ide0-3, sata0-5, scsi0-30, virtio0-15, '
                                     'efidisk0, tpmstate0)'.format(disk['slot']))
        if disk.get('size') is not None:
            qemu.size_bytes(disk['size'])
    for net in params.get('nets') or []:
        if net['slot'] in seen:
            raise ProxmoxConfigError('nets: slot {0} is listed twice'.format(net['slot']))
        seen.add(net['slot'])
        if net.get('state') != 'absent':
            # The model, MAC and slot are checked here; the bridge against the node later.
            qemu.plan_net(dict(net, bridge=net.get('bridge') or 'unchecked'), None)
    for key in (params.get('config') or {}):
        qemu.check_key(key)
        if key in RESERVED_RAW or qemu.DISK_SLOT_RE.match(key) or qemu.NET_SLOT_RE.match(key) or \
                any(re.match(pattern, key) for _opt, pattern, _p in SLOT_OPTIONS):
            raise ProxmoxConfigError('config: {0!r} has its own option (disks, nets, tags, pool or {0}): give it '
                                     'there'.format(key))
    for key in params.get('absent_keys') or []:
        qemu.check_key(key, 'absent_keys')
        if qemu.DISK_SLOT_RE.match(key) or qemu.NET_SLOT_RE.match(key):
            raise ProxmoxConfigError('absent_keys: remove {0} with state: absent in disks or nets'.format(key))
    for option, pattern, prefix in SLOT_OPTIONS:
        qemu.slot_values(option, params.get(option), pattern, prefix)
    if params['state'] == 'absent' and params.get('clone'):
        raise ProxmoxConfigError('clone and state: absent do not go together')


def desired_fields(params):
    desired = {}
    for field in FIELDS:
        value = params.get(field.name)
        if value is None:
            continue
        if field.name in EMPTY_REMOVES and value == '' or field.name == 'sshkeys' and value == []:
            value = ABSENT
        elif field.name == 'boot':
            value = qemu.boot_option(value)
        desired[field.name] = value
    return desired


# ---------------------------------------------------------------- the plan

class Plan(object):
    """What the run sends to one VM: config params and deletes, unlinks, resizes, the pool, with the diff."""

    def __init__(self):
        self.params = {}
        self.delete = []
        self.destroy = []
        self.resize = []
        self.pool = None
        self.before = {}
        self.after = {}
        self.disk_changes = {}
        self.net_changes = {}

    @property
    def changed(self):
        return bool(self.params or self.delete or self.destroy or self.resize or self.pool)


def make_plan(params, config, creating=False, pool=None):
    """Compare the user's options with `config` (the configuration the VM gets at its next start)."""
    plan = Plan()
    changes = compare(FIELDS, desired_fields(params), config if not creating else None, creating=creating,
                      send_secrets=params['update_password'] == 'always')
    plan.params.update(changes.params)
    plan.delete.extend(changes.delete)
    plan.before.update(changes.before)
    plan.after.update(changes.after)
    if params.get('tags') is not None or (params.get('purge_tags') and not creating):
        send, before, after = qemu.tags_plan(params.get('tags') or [], config.get('tags'), params['purge_tags'])
        plan.before['tags'] = before
        plan.after['tags'] = after
        if send is ABSENT:
            plan.delete.append('tags')
        elif send is not None:
            plan.params['tags'] = send
    for disk in params.get('disks') or []:
        change = qemu.plan_disk(disk, config.get(disk['slot']))
        plan.disk_changes[disk['slot']] = change
        plan.before[disk['slot']] = change.before
        plan.after[disk['slot']] = change.after
        if change.value:
            plan.params[disk['slot']] = change.value
        if change.detach:
            plan.delete.append(disk['slot'])
        if change.destroy:
            plan.destroy.append(disk['slot'])
        if change.resize:
            plan.resize.append((disk['slot'], change.resize))
    for net in params.get('nets') or []:
        change = qemu.plan_net(net, config.get(net['slot']))
        plan.net_changes[net['slot']] = change
        plan.before[net['slot']] = change.before
        plan.after[net['slot']] = change.after
        if change.value:
            plan.params[net['slot']] = change.value
        if change.delete:
            plan.delete.append(net['slot'])
    for option, pattern, prefix in SLOT_OPTIONS:
        for key, value in qemu.slot_values(option, params.get(option), pattern, prefix).items():
            _raw(plan, key, value, config)
    for key, value in (params.get('config') or {}).items():
        _raw(plan, key, ABSENT if value is None else qemu.raw_value(key, value), config)
    for key in params.get('absent_keys') or []:
        _raw(plan, key, ABSENT, config)
    if params.get('pool') and params['pool'] != pool:
        plan.pool = params['pool']
        plan.before['pool'] = pool
        plan.after['pool'] = params['pool']
    both = sorted(set(plan.params) & set(plan.delete))
    if both:
        raise ProxmoxConfigError('{0}: given a value and named absent in the same task'.format(', '.join(both)))
    return plan


def _raw(plan, key, value, config):
    have = config.get(key)
    if value is ABSENT:
        if have is not None and key not in plan.delete:
            plan.delete.append(key)
            plan.before[key] = qemu.canonical_raw(key, have)
            plan.after[key] = None
        return
    plan.before[key] = qemu.canonical_raw(key, have)
    plan.after[key] = qemu.canonical_raw(key, value)
    if plan.before[key] != plan.after[key]:
        plan.params[key] = value


# ---------------------------------------------------------------- the run

class VmRun(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.url = module.target_url
        self.actions = []
        self.cloned = False
        self.deferred = []
        self.before = {}
        self.after = {}

    # ------------------------------------------------------------ reads

    def read(self, guest):
        config, pending = gs.read_pending(self.client, guest)
        return config, pending

    def vm_view(self, guest, config, qmpstatus=None):
        status = guest.status
        if status == 'running' and qmpstatus in ('paused', 'suspended'):
            status = 'paused'
        if gs.hibernated(guest):
            status = 'hibernated'
        return {'vmid': guest.vmid, 'node': guest.node, 'name': config.get('name', guest.name), 'status': status,
                'template': bool(int(config.get('template') or 0)) or guest.template,
                'config': qemu.mask_config(config)}

    # ------------------------------------------------------------ main

    def run(self):
        check_input(self.params)
        guests = list_guests(self.client)
        guest = gs.locate(self.client, 'qemu', vmid=self.params.get('vmid'), name=self.params.get('name'),
                          url=self.url, guests=guests)
        if guest is not None:
            # Failures from here on name the VM as the cluster knows it: 'VM 100 (web)'.
            self.module.guest_label = guest.describe(node=False)
        state = self.params['state']
        if state == 'absent':
            return self.absent(guest)
        if guest is None:
            if self.params.get('clone'):
                guest = self.clone(guests)
                if guest is None:  # check mode
                    return self.result(None, {}, {}, created=True)
            else:
                return self.create()
        elif self.params.get('node') not in (None, 'auto', guest.node):
            raise ProxmoxConfigError('{0} is on node {1}, not {2}: move it with proxfleet.proxmox.pve_migrate'.format(
                guest.describe(node=False), guest.node, self.params['node']), url=self.url)
        return self.converge(guest)

    # ------------------------------------------------------------ create

    def create(self):
        return _vw().create(self)

    # ------------------------------------------------------------ clone

    def clone(self, guests):
        return _vw().clone(self, guests)

    def relocate(self, vmid):
        guest = gs.locate(self.client, 'qemu', vmid=vmid, url=self.url)
        if guest is None:
            raise ProxmoxConfigError('VM {0} is not in the cluster after its creation'.format(vmid), url=self.url)
        return guest

    # ------------------------------------------------------------ converge

    def converge(self, guest):
        params = self.params
        config, pending = self.read(guest)
        target = gs.effective(config, pending)
        plan = make_plan(params, target, pool=guest.entry.get('pool'))
        if self.cloned:
            # A clone of this run: nothing was there before; after is the clone with its converged keys.
            self.after.update(plan.after)
        else:
            self.before = plan.before
            self.after = plan.after
        qmpstatus = None
        power_state = params['state'] if params['state'] not in ('present', 'template') else None
        if power_state and gs.needs_qmpstatus(guest, power_state):
            qmpstatus = gs.qmp_status(self.client, guest).get('qmpstatus')
        power = gs.plan_power(guest, power_state, qmpstatus) if power_state else []
        to_template = params['state'] == 'template' and not (guest.template or int(config.get('template') or 0))
        if (plan.changed or power or to_template) and guest.lock and guest.lock != 'suspended':
            guest = _gl().ensure_unlocked(self.module, guest, params['lock_timeout'])
            config, pending = self.read(guest)
            target = gs.effective(config, pending)
            plan = make_plan(params, target, pool=guest.entry.get('pool'))
            self.after.update(plan.after)
        if plan.changed:
            self.require_root(plan.params, plan.delete, target)
            _vw().check_storages_and_bridges(self.module, guest.node, plan.disk_changes, plan.net_changes, params)
            # A pending disk is resized after the reboot that attaches it (apply_pending: reboot), never before.
            self.deferred = _vw().pending_resizes(guest, config, pending, plan, after_reboot=self.applies_pending(guest))
            plan.resize = [item for item in plan.resize if item not in self.deferred]
            self.write(guest, plan)
        if to_template:
            self.template(guest)
        elif power:
            if plan.changed and not self.module.check_mode:
                guest = self.relocate(guest.vmid)
            self.actions.extend(_gl().set_power(self.module, guest, power_state, timeout=params['timeout'],
                                                force_stop=params['force_stop'], qmpstatus=qmpstatus))
        # Check mode's forecast of the pending section, by qemu-server's hot-plug rules (qemu.predict_pending).
        predicted = pending
        if not power and (plan.params or plan.delete):
            # A stopped VM's config update applies every pending change (vmconfig_apply_pending).
            predicted = qemu.predict_pending(config, pending, plan.params, plan.delete) if guest.running else {}
        if self.applies_pending(guest) and not power:
            if self.module.check_mode and predicted:
                self.actions.append('reboot')
                self.actions.extend('resize ' + slot for slot, _size in self.deferred)
                predicted = {}
            elif not self.actions and pending:
                return self.finish(guest)
        changed = bool(self.actions)
        if not changed:
            return self.result(guest, config, pending, qmpstatus=qmpstatus)
        if self.module.check_mode:
            return self.result(guest, config, predicted, qmpstatus=qmpstatus, changed=True, created=self.cloned)
        return self.finish(self.relocate(guest.vmid), created=False, cloned=self.cloned)

    def require_root(self, send, delete=(), current=None):
        """Refuse, before any write (check mode too), what Proxmox VE lets only the root@pam login set."""
        found = qemu.root_only_changes(send, delete, current)
        if found:
            require_root_login(self.client.settings, ' and '.join(found))

    def applies_pending(self, guest):
        """True when pending changes of this run are to be applied by a reboot (apply_pending: reboot, a running VM,
        no power state that acts on its own)."""
        wanted = self.params['apply_pending'] == 'reboot'
        return wanted and guest.running and self.params['state'] in ('present', 'started')

    def write(self, guest, plan):
        return _vw().write(self, guest, plan)

    def hotplug_failed(self, guest, error):
        return _vw().hotplug_failed(self, guest, error)

    def template(self, guest):
        return _vw().template(self, guest)

    # ------------------------------------------------------------ delete

    def absent(self, guest):
        return _vw().absent(self, guest)

    # ------------------------------------------------------------ results

    def finish(self, guest, created=False, cloned=False):
        return _vw().finish(self, guest, created, cloned)

    def result(self, guest, config, pending, qmpstatus=None, created=False, changed=None, node=None):
        if guest is None:
            view = {'vmid': self.params.get('vmid'), 'node': node or self.params.get('node'),
                    'name': self.params.get('name'), 'status': None, 'template': self.params['state'] == 'template',
                    'config': {}}
        else:
            view = self.vm_view(guest, config, qmpstatus)
        changed = bool(self.actions) if changed is None else changed
        diff = {'before': self.before if not created else {}, 'after': self.after}
        return {'changed': changed, 'vm': view, 'pending': gs.mask_pending(pending, qemu.SECRET_KEYS),
                'actions': self.actions, 'diff': diff}


def run(module):
    return VmRun(module).run()
