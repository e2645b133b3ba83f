#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_snapshot
short_description: Take, remove and roll back snapshots of Proxmox VE VMs and containers
version_added: 0.1.0
description:
  - Takes a snapshot of a guest (VM or container) when it does not have one of that name (O(state=present)),
    removes one (O(state=absent)), or rolls the guest back to one (O(state=rollback)).
  - The guest is named by O(vmid) or O(name); the cluster tells whether it is a VM or a container and which node it
    is on (one read of C(/cluster/resources)). Its snapshots are read once.
  - Snapshots are identified by name. A snapshot that exists is left alone, except for its description when
    O(description) is given and differs.
  - O(retention) keeps the newest O(retention) snapshots whose names start with O(prefix) and removes the older
    ones of that prefix. Snapshots of other names are never removed by a retention.
  - A guest locked by another operation (a backup, another snapshot, a migration) is reported with the lock's name
    before any write; O(lock_timeout) waits for such a lock to go away first.
  - Every task (snapshot, delete, rollback) is waited for within O(timeout).
  - Needs C(VM.Snapshot) on C(/vms/{vmid}), C(VM.Snapshot.Rollback) to roll back and C(VM.PowerMgmt) for
    O(start).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: Reads the guest and its snapshots, makes every check and reports what would be taken, removed or rolled
      back; writes nothing.
  diff_mode:
    support: full
    details: The guest's snapshots (name and description) before and after.
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details: Taking and removing snapshots is idempotent by name; a rollback rolls back on every run.
options:
  vmid:
    description:
      - Id of the guest. Mutually exclusive with O(name).
    type: int
  name:
    description:
      - Name of the guest (a VM's name or a container's hostname); it must be unique in the cluster.
      - Mutually exclusive with O(vmid).
    type: str
  snapname:
    description:
      - Name of the snapshot (letters, digits, C(-) and C(_), starting with a letter, at most 40 characters).
      - Required for O(state=absent) and O(state=rollback), and for O(state=present) unless only O(retention) is
        applied.
    type: str
  state:
    description:
      - V(present) takes the snapshot when the guest has none of that name.
      - V(absent) removes it when it exists.
      - V(rollback) rolls the guest back to it (it must exist); the guest's current state is lost. A VM is stopped
        for the rollback unless the snapshot holds its memory (O(vmstate)).
    type: str
    choices: [present, absent, rollback]
    default: present
  description:
    description:
      - Description of the snapshot. Updated on an existing snapshot when it differs; left alone when not given.
    type: str
  vmstate:
    description:
      - Include the memory of a running VM in the snapshot, so that a rollback resumes it running.
      - VMs only; ignored by Proxmox VE for a VM that is not running.
    type: bool
  start:
    description:
      - With O(state=rollback), start the guest after the rollback.
    type: bool
  retention:
    description:
      - With O(state=present), keep the newest O(retention) snapshots whose names start with O(prefix) (counting the
        one O(snapname) takes) and remove the older ones of that prefix.
      - V(0) removes every snapshot of the prefix (except one O(snapname) takes in the same run).
    type: int
  prefix:
    description:
      - Name prefix of the snapshots O(retention) applies to. Required with O(retention), and O(snapname), when
        given, must start with it.
    type: str
  lock_timeout:
    description:
      - Seconds to wait for a lock another operation holds on the guest (C(backup), C(snapshot), C(migrate), ...) to
        go away before failing. V(0) fails at once, naming the lock.
    type: int
    default: 0
  timeout:
    description:
      - Seconds to wait for all the run's tasks together.
    type: int
    default: 600
notes:
  - Snapshots need storages that support them (qcow2 on directory storages, LVM-thin, ZFS, Ceph RBD, ...); Proxmox VE
    refuses a snapshot otherwise and the module fails with its words.
  - Templates have no snapshots; the module fails before any write for one.
'''

EXAMPLES = r'''
- name: Snapshot and prune, under one set of connection options
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Take a snapshot of web-01 before the upgrade, with its memory
      proxfleet.proxmox.pve_snapshot:
        name: web-01
        snapname: before-upgrade
        description: before the 2026-11 upgrade
        vmstate: true

    - name: A nightly snapshot of VM 100, keeping the seven newest nightly ones
      proxfleet.proxmox.pve_snapshot:
        vmid: 100
        snapname: "nightly-{{ now(utc=true, fmt='%Y%m%d') }}"
        prefix: nightly-
        retention: 7
        lock_timeout: 300

    - name: Roll container 103 back and start it
      proxfleet.proxmox.pve_snapshot:
        vmid: 103
        snapname: before-upgrade
        state: rollback
        start: true

    - name: Remove the snapshot
      proxfleet.proxmox.pve_snapshot:
        name: web-01
        snapname: before-upgrade
        state: absent
'''

RETURN = r'''
guest:
  description: The guest the snapshots belong to.
  returned: success
  type: dict
  contains:
    vmid:
      description: Its id.
      type: int
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node it is on.
      type: str
    name:
      description: Its name.
      type: str
  sample: {vmid: 100, type: qemu, node: pve1, name: web-01}
snapshot:
  description:
    - The snapshot O(snapname) after the run (in check mode, as it would be); null when it does not exist (after
      O(state=absent)) or no O(snapname) was given.
  returned: success
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    description:
      description: Its description.
      type: str
    snaptime:
      description: When it was taken (epoch seconds; 0 in check mode for one not taken yet).
      type: int
    vmstate:
      description: Whether it holds the VM's memory.
      type: bool
    parent:
      description: The snapshot it was taken after, if any.
      type: str
  sample: {name: before-upgrade, description: before the upgrade, snaptime: 1795316400, vmstate: false}
snapshots:
  description: Names of the guest's snapshots after the run, oldest first.
  returned: success
  type: list
  elements: str
  sample: [nightly-20261120, nightly-20261121, before-upgrade]
removed:
  description: Names of the snapshots the run removed (or would), oldest first.
  returned: success
  type: list
  elements: str
  sample: [nightly-20261113]
diff:
  description: The guest's snapshots, name to description, before and after.
  returned: when the run changed something or diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
tasks:
  description: The tasks the module waited for, oldest first.
  returned: when a task ran
  type: list
  elements: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_lifecycle as gl, guests as g, snapshots as s
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

ACTIONS = {'present': 'take a snapshot of', 'absent': 'remove a snapshot of', 'rollback': 'roll back'}


def check_options(params):
    state = params['state']
    if state in ('absent', 'rollback') and not params.get('snapname'):
        raise ProxmoxConfigError('state: {0} needs snapname, the snapshot to {1}'.format(
            state, 'remove' if state == 'absent' else 'roll back to'))
    if state == 'present' and not params.get('snapname') and params.get('retention') is None:
        raise ProxmoxConfigError('state: present needs snapname, retention with prefix, or both')
    if (params.get('retention') is None) != (params.get('prefix') is None):
        raise ProxmoxConfigError('retention and prefix go together: retention keeps the newest snapshots whose '
                                 'names start with prefix')
    if params.get('retention') is not None:
        if state != 'present':
            raise ProxmoxConfigError('retention applies with state: present only')
        if params['retention'] < 0:
            raise ProxmoxConfigError('retention must be 0 or more')
        if not params['prefix']:
            raise ProxmoxConfigError('prefix must not be empty: a retention removes only snapshots of its prefix')
        if params.get('snapname') and not params['snapname'].startswith(params['prefix']):
            raise ProxmoxConfigError('snapname {0!r} does not start with prefix {1!r}: the retention would not count '
                                     'it'.format(params['snapname'], params['prefix']))
    if state != 'present':
        for option in ('description', 'vmstate'):
            if params.get(option) is not None:
                raise ProxmoxConfigError('{0} applies with state: present only'.format(option))
    if state != 'rollback' and params.get('start') is not None:
        raise ProxmoxConfigError('start applies with state: rollback only')
    if params.get('snapname'):
        s.check_snapname(params['snapname'])


def guest_view(guest):
    out = {'vmid': int(guest['vmid']), 'type': guest['type'], 'node': guest['node']}
    if guest.get('name'):
        out['name'] = guest['name']
    return out


def listing(items):
    return dict((item['name'], str(item.get('description') or '').rstrip('\n')) for item in items)


def run(module):
    params = module.params
    client, url = module.client, module.target_url
    check_options(params)
    guest = g.find_guest(g.list_guests(client), vmid=params.get('vmid'), name=params.get('name'), url=url)
    what = g.describe_guest(guest)
    state, snapname = params['state'], params.get('snapname')
    if snapname:
        s.check_snapname(snapname, guest['type'])
    if params.get('vmstate') and guest['type'] != 'qemu':
        raise ProxmoxConfigError('vmstate applies to VMs only; {0} is a container'.format(what), url=url)
    if guest.get('template') in (1, '1', True):
        raise ProxmoxConfigError('{0} is a template: templates have no snapshots'.format(what), url=url)
    items = s.list_snapshots(client, guest)
    current = s.by_name(items)
    before = listing(items)
    result = {'guest': guest_view(guest), 'removed': []}
    writes = []  # (client method, path parts below .../snapshot, data)
    after = dict(before)
    final = None

    if state == 'present':
        if snapname and snapname not in current:
            data = {'snapname': snapname}
            if params.get('description') is not None:
                data['description'] = params['description']
            if params.get('vmstate'):
                data['vmstate'] = 1
            writes.append(('post', (), data))
            after[snapname] = params.get('description') or ''
            final = {'name': snapname, 'description': params.get('description') or '', 'snaptime': 0,
                     'vmstate': bool(params.get('vmstate')) and guest.get('status') == 'running'}
        elif snapname:
            final = s.snapshot_view(current[snapname])
            wanted = params.get('description')
            if wanted is not None and wanted.rstrip('\n') != final['description']:
                writes.append(('put', (snapname, 'config'), {'description': wanted}))
                after[snapname] = wanted.rstrip('\n')
                final['description'] = wanted.rstrip('\n')
        if params.get('retention') is not None:
            removed = s.retention_plan(items, params['prefix'], params['retention'], planned=snapname)
            for name in removed:
                writes.append(('delete', (name,), {}))
                after.pop(name, None)
            result['removed'] = removed
    elif state == 'absent':
        if snapname in current:
            writes.append(('delete', (snapname,), {}))
            after.pop(snapname)
            result['removed'] = [snapname]
    else:
        if snapname not in current:
            raise ProxmoxConfigError('{0} has no snapshot {1!r} to roll back to (its snapshots: {2})'.format(
                what, snapname, ', '.join(item['name'] for item in items) or 'none'), url=url)
        if current[snapname].get('snapstate'):
            raise ProxmoxConfigError('snapshot {0!r} of {1} is incomplete (snapstate {2}): cannot roll back to '
                                     'it'.format(snapname, what, current[snapname]['snapstate']), url=url)
        data = {}
        if params.get('start') is not None:
            data['start'] = int(params['start'])
        writes.append(('post', (snapname, 'rollback'), data))
        final = s.snapshot_view(current[snapname])

    changed = bool(writes)
    diff = {'before': {'snapshots': before}, 'after': {'snapshots': after}}
    if changed and not module.check_mode:
        guest = gl.ensure_unlocked(module, gl.Guest(guest), params['lock_timeout'], action=ACTIONS[state]).entry
        for method, parts, data in writes:
            answer = getattr(client, method)(s.snapshot_path(client, guest, *parts), **data)
            if answer:
                module.wait_task(answer)
        items = s.list_snapshots(client, guest)
        current = s.by_name(items)
        diff['after'] = {'snapshots': listing(items)}
        if snapname and snapname in current:
            final = s.snapshot_view(current[snapname])
        elif state != 'rollback':
            final = None
    elif changed:
        # Check mode: the lock is reported as a real run would meet it (without waiting for it to go).
        if not params['lock_timeout']:
            gl.ensure_unlocked(module, gl.Guest(guest), 0, action=ACTIONS[state])
    if state == 'absent':
        final = None
    if changed and not module.check_mode:
        names = [item['name'] for item in items]
    else:
        names = [item['name'] for item in items if item['name'] in after]
        names += [name for name in after if name not in names]
    result.update(changed=changed, snapshot=final, snapshots=names)
    if changed or module._diff:
        result['diff'] = diff
    return result


def describe_target(module):
    params = module.params
    guest = 'guest {0}'.format(params['vmid']) if params.get('vmid') is not None else 'guest {0!r}'.format(
        params.get('name'))
    if params.get('snapname'):
        return 'snapshot {0!r} of {1}'.format(params['snapname'], guest)
    return 'snapshots of {0}'.format(guest)


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            vmid=dict(type='int'),
            name=dict(type='str'),
            snapname=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent', 'rollback'], default='present'),
            description=dict(type='str'),
            vmstate=dict(type='bool'),
            start=dict(type='bool'),
            retention=dict(type='int'),
            prefix=dict(type='str'),
            lock_timeout=dict(type='int', default=0),
            timeout=dict(type='int', default=600),
        ),
        required_one_of=[('vmid', 'name')],
        mutually_exclusive=[('vmid', 'name')],
        supports_check_mode=True,
    )
    module.run(run, target=describe_target)


if __name__ == '__main__':
    main()
