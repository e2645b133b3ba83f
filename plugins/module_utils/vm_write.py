# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""pve_vm's writing side: create, clone, write a plan, convert to a template, delete, and the re-read after writes.

vm.VmRun imports this module with its first write (vm._vw()), so that a run with nothing to change (the common
case: a playbook run again) reads, compares and answers without compiling any of it; it is bundled all the same.
Each function takes the VmRun as `run`.
"""

from __future__ import annotations

from typing import Any, Dict

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_lifecycle as gl, guest_state as gs, qemu
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError, ProxmoxTaskError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.vm import make_plan


def check_storages_and_bridges(module, node, disk_changes, net_changes, params):
    """New disks' storages exist on the node and take VM images; new or changed NICs' bridges exist there."""
    client = module.client
    url = module.target_url
    storages = set()
    for disk in params.get('disks') or []:
        change = disk_changes.get(disk['slot'])
        if change is not None and change.value and disk.get('storage') and not disk.get('volume'):
            storages.add(disk['storage'])
    clone = params.get('clone') or {}
    if clone.get('storage'):
        storages.add(clone['storage'])
    if storages:
        known = {}
        for item in client.get(client.path('nodes', node, 'storage')) or []:
            if isinstance(item, dict) and item.get('storage'):
                known[item['storage']] = item
        for store in sorted(storages):
            if store not in known:
                raise ProxmoxConfigError('storage {0!r} does not exist on node {1} (its storages: {2})'.format(
                    store, node, ', '.join(sorted(known)) or 'none'), url=url)
            content = str(known[store].get('content') or '')
            if content and 'images' not in content.replace(';', ',').split(','):
                raise ProxmoxConfigError('storage {0!r} on node {1} does not hold VM disks (content {2})'.format(
                    store, node, content), url=url)
    keys_by_bridge: Dict[str, Any] = {}
    for net in params.get('nets') or []:
        change = net_changes.get(net['slot'])
        if change is not None and change.value and net.get('bridge'):
            keys_by_bridge.setdefault(net['bridge'], []).append(net['slot'])
    gl.check_bridges(client, node, keys_by_bridge, url)


def pending_resizes(guest, config, pending, plan, after_reboot=False):
    """The resizes of `plan` that target a disk still pending (added to a running VM that could not hot-plug it):
    it is not attached yet, and Proxmox VE's resize only knows the disks of the current configuration. Without a
    reboot of this run to attach it first (after_reboot), refused before any write."""
    found = []
    for slot, size in plan.resize:
        change = pending.get(slot) or {}
        if 'pending' not in change:
            continue
        now = qemu.parse_drive(config[slot])[0] if config.get(slot) else None
        if now == qemu.parse_drive(change['pending'])[0]:
            continue
        if not after_reboot:
            raise ProxmoxConfigError(
                'disks: {0} of {1} is still pending (Proxmox VE attaches it at the next start or reboot) and cannot be '
                'resized before: apply the pending changes first (apply_pending: reboot, or restart the VM)'.format(
                    slot, guest.describe()))
        found.append((slot, size))
    return found


def create(run):
    params = run.params
    if not params.get('node'):
        raise ProxmoxConfigError('no such VM in the cluster: give node (or node: auto) to create it',
                                 url=run.url)
    if params['state'] in ('suspended', 'hibernated'):
        raise ProxmoxConfigError('a new VM cannot be {0}: create it started first'.format(params['state']),
                                 url=run.url)
    node = gl.pick_node(run.client, params['node'], run.url)
    plan = make_plan(params, {}, creating=True)
    if plan.destroy or plan.resize:
        plan.destroy, plan.resize = [], []
    check_storages_and_bridges(run.module, node, plan.disk_changes, plan.net_changes, params)
    send = dict(plan.params)
    if params.get('name'):
        send['name'] = params['name']
    if params.get('pool'):
        send['pool'] = params['pool']
    run.after = dict(plan.after, pool=params.get('pool')) if params.get('pool') else dict(plan.after)
    run.require_root(plan.params)
    run.actions.append('create')
    vmid = params.get('vmid')
    if run.module.check_mode:
        return run.result(None, {}, {}, created=True, node=node)

    def create(candidate):
        return run.client.post(run.client.path('nodes', node, 'qemu'), vmid=candidate, **send)

    vmid = gl.create_guest(run.module, create, vmid=vmid)
    guest = run.relocate(vmid)
    return run.finish(guest, created=True)


def clone(run, guests):
    params = run.params
    spec = params['clone']
    source = gl.clone_source(run.client, 'qemu', spec['source'], url=run.url, guests=guests)
    node = source.node
    if params.get('node'):
        node = gl.pick_node(run.client, params['node'], run.url)
    check_storages_and_bridges(run.module, node, {}, {}, params)
    send = {}
    if params.get('name'):
        send['name'] = params['name']
    if node != source.node:
        send['target'] = node
    for key in ('snapname', 'storage', 'format'):
        if spec.get(key):
            send[key] = spec[key]
    if spec.get('full') is not None:
        send['full'] = 1 if spec['full'] else 0
    if params.get('pool'):
        send['pool'] = params['pool']
    run.actions.append('clone')
    run.cloned = True
    run.after = {'clone_of': source.vmid, 'node': node}
    if run.module.check_mode:
        return None

    def clone(candidate):
        return run.client.post(source.path('clone'), newid=candidate, **send)

    try:
        vmid = gl.create_guest(run.module, clone, vmid=params.get('vmid'))
    except ProxmoxApiError as error:
        gl.raise_if_locked(error, source, run.url)
    return run.relocate(vmid)


def write(run, guest, plan):
    """The config update (one task), unlinks with destroy, resizes, the pool; nothing in check mode."""
    send = dict(plan.params)
    if plan.delete:
        send['delete'] = ','.join(plan.delete)
    if send:
        run.actions.append('config')
        try:
            gl.run_config_update(run.module, guest, send)
        except ProxmoxTaskError as error:
            run.hotplug_failed(guest, error)
    if plan.destroy:
        run.actions.append('destroy ' + ','.join(plan.destroy))
        if not run.module.check_mode:
            idlist = ','.join(plan.destroy)
            gl.guarded(run.module, guest, lambda: run.client.put(guest.path('unlink'), idlist=idlist, force=1))
    for slot, size in plan.resize:
        run.actions.append('resize ' + slot)
        gl.resize_disk(run.module, guest, slot, size)
    if plan.pool:
        run.actions.append('pool')
        if not run.module.check_mode:
            run.client.put(run.client.path('pools', plan.pool), vms=str(guest.vmid), **{'allow-move': 1})


def hotplug_failed(run, guest, error):
    """A config task that failed because QEMU refused a hot-plug (update_vm_api raises `hotplug problem - ...`
    after writing what it could): the refused values stay pending. With apply_pending=reboot the run goes on and
    the reboot applies them; otherwise the module fails with QEMU's words, the pending values and the diff."""
    if not guest.running or 'hotplug problem' not in ' '.join([str(error.message)] + list(error.log_tail or [])):
        raise error
    config, pending = run.read(guest)
    if run.applies_pending(guest):
        run.module.warn('{0}: {1}; the values stay pending and the reboot applies them'.format(
            guest.describe(), error.describe()))
        return
    error.message = '{0}; the values Proxmox VE could not hot-plug stay pending until the next start or reboot ' \
                    '(apply_pending: reboot applies them)'.format(error.message)
    run.module.fail_from(error, target=guest.describe(), changed=True, actions=run.actions,
                         pending=gs.mask_pending(pending, qemu.SECRET_KEYS),
                         vm=run.vm_view(guest, config),
                         diff={'before': run.before, 'after': run.after})


def template(run, guest):
    if guest.running:
        if not run.params['force']:
            raise ProxmoxConfigError('{0} is running: stop it first or set force to stop it before the conversion '
                                     'to a template'.format(guest.describe()), url=run.url)
        gl.power_action(run.module, guest, 'stop')
        run.actions.append('stop')
    run.actions.append('template')
    gl.make_template(run.module, guest)


def absent(run, guest):
    if guest is None:
        return {'changed': False, 'actions': [], 'diff': {'before': {}, 'after': {}}}
    config, _pending = run.read(guest)
    if guest.lock:
        guest = gl.ensure_unlocked(run.module, guest, run.params['lock_timeout'])
    actions = gl.destroy(run.module, guest, config=config, force=run.params['force'], purge=run.params['purge'],
                         destroy_unreferenced_disks=run.params['destroy_unreferenced_disks'],
                         unprotect=run.params.get('protection') is False)
    before = {'vmid': guest.vmid, 'node': guest.node, 'name': guest.name, 'status': guest.status}
    return {'changed': True, 'actions': actions, 'diff': {'before': before, 'after': {}}}


def finish(run, guest, created=False, cloned=False):
    """Re-read the VM after writes: the result shows what Proxmox VE holds, pending changes included."""
    config, pending = run.read(guest)
    if pending and run.applies_pending(guest):
        gl.power_action(run.module, guest, 'reboot', timeout=run.params['timeout'],
                        force_stop=run.params['force_stop'])
        run.actions.append('reboot')
        guest = run.relocate(guest.vmid)
        for slot, size in run.deferred:
            run.actions.append('resize ' + slot)
            gl.resize_disk(run.module, guest, slot, size)
        config, pending = run.read(guest)
    if created:
        state = run.params['state']
        if state == 'template':
            run.template(guest)
        elif state not in ('present',):
            run.actions.extend(gl.set_power(run.module, guest, state, timeout=run.params['timeout'],
                                            force_stop=run.params['force_stop']))
        if len(run.actions) > 1:
            guest = run.relocate(guest.vmid)
            config, pending = run.read(guest)
    qmpstatus = gs.qmp_status(run.client, guest).get('qmpstatus') if guest.running else None
    return run.result(guest, config, pending, qmpstatus=qmpstatus, changed=True, created=created or cloned)
