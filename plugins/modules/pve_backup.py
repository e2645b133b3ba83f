#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_backup
short_description: Back up Proxmox VE guests now (vzdump) to a storage
version_added: 0.1.0
description:
  - Backs up VMs and containers at once, as C(vzdump) (Datacenter, Backup, Run now) does, to a storage that holds
    backups, for example a Proxmox Backup Server storage (type C(pbs)) or a directory or NFS storage.
  - The guests are chosen by exactly one of O(vmid), O(pool) or O(all). Every guest named in O(vmid) must exist,
    the storage must exist and hold backups, O(pool) must exist, and the guests must not be locked (by another
    backup, a migration, a snapshot) nor on an offline node; otherwise the module fails before starting anything.
  - The module starts one C(vzdump) task per node the guests are on, waits for all of them within O(timeout), and
    returns the backup volumes the run added to the storage.
  - A backup is an action, not a state; every run that backs up at least one guest reports C(changed). Use a
    scheduled job (M(proxfleet.proxmox.pve_backup_job)) for regular backups.
  - Needs C(VM.Backup) on each guest and C(Datastore.AllocateSpace) on the storage; C(Datastore.Audit) on the
    storage to read its content.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: Reports which guests would be backed up on which node, and starts nothing.
  diff_mode:
    support: full
    details: The diff shows the backup volumes of the guests before and after the run.
options:
  vmid:
    description:
      - Guests (VMs and containers) to back up, by id.
      - Mutually exclusive with O(pool) and O(all).
    type: list
    elements: int
  pool:
    description:
      - Back up every guest of this resource pool.
      - Mutually exclusive with O(vmid) and O(all).
    type: str
  all:
    description:
      - Back up every guest of the cluster, except those in O(exclude).
      - Mutually exclusive with O(vmid) and O(pool).
    type: bool
  exclude:
    description:
      - Guests to leave out with O(all).
    type: list
    elements: int
  storage:
    description:
      - Storage the backups are written to. It must hold backups (content C(backup)).
    type: str
    required: true
  mode:
    description:
      - How the guests are backed up. Proxmox VE's default is V(snapshot).
    type: str
    choices: [snapshot, suspend, stop]
  compress:
    description:
      - Compression of vzdump archives (V('0') for none). Backups to a Proxmox Backup Server are always compressed,
        and this option is not sent for them.
    type: str
    choices: ['0', '1', gzip, lzo, zstd]
  notes_template:
    description:
      - Template for the notes of each backup, with C({{guestname}}), C({{vmid}}), C({{node}}) and C({{cluster}}).
    type: str
  protected:
    description:
      - Mark the new backups protected (not pruned, not removable).
    type: bool
  timeout:
    description:
      - Seconds to wait for all backup tasks together.
    type: int
    default: 1800
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Back up two VMs to the Proxmox Backup Server storage before an upgrade
      proxfleet.proxmox.pve_backup:
        vmid: [100, 101]
        storage: pbs-main
        mode: snapshot
        notes_template: "before upgrade of {{ '{{guestname}}' }}"
      register: backup

    - name: Show the new backups
      ansible.builtin.debug:
        msg: "{{ backup.backups | map(attribute='volid') }}"

    - name: Back up a pool to a directory storage, compressed
      proxfleet.proxmox.pve_backup:
        pool: production
        storage: local
        compress: zstd
        protected: true

    - name: Back up everything but two templates
      proxfleet.proxmox.pve_backup:
        all: true
        exclude: [9000, 9001]
        storage: nfs-backup
'''

RETURN = r'''
backups:
  description:
    - The backup volumes the run added to the storage, oldest first (empty in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    volid:
      description: Volume id, for M(proxfleet.proxmox.pve_restore)'s O(proxfleet.proxmox.pve_restore#module:archive).
      type: str
    vmid:
      description: The guest the backup is of.
      type: int
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node the guest was backed up on.
      type: str
    storage:
      description: The storage.
      type: str
    format:
      description: The volume's format (V(pbs-vm), V(pbs-ct), V(vma.zst), V(tar.zst), ...).
      type: str
    size:
      description: Size in bytes.
      type: int
    ctime:
      description: Creation time (epoch seconds).
      type: int
    notes:
      description: The backup's notes, when it has some.
      type: str
    protected:
      description: Whether the backup is protected.
      type: bool
  sample:
    - volid: pbs-main:backup/vm/100/2026-11-22T03:00:00Z
      vmid: 100
      type: qemu
      node: pve1
      storage: pbs-main
      format: pbs-vm
      size: 4294967296
      ctime: 1795316400
plan:
  description: The guests backed up (or, in check mode, to back up) by node.
  returned: success
  type: dict
  sample:
    pve1: [100]
    pve2: [101]
diff:
  description: The guests' backup volume ids on the storage before and after the run.
  returned: when the run changed something or diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run (in check mode, the same as before plus the planned guests).
      type: dict
tasks:
  description: The vzdump tasks the module waited for.
  returned: when a task ran
  type: list
  elements: dict
  contains:
    upid:
      description: The task's UPID.
      type: str
    node:
      description: The node the task ran on, from the UPID.
      type: str
    type:
      description: The task type from the UPID, for example V(vzdump).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:pve1:00001A2B:0003C4D5:6756A1B0:vzdump:100:automation@pve!ansible:"
      node: pve1
      type: vzdump
      id: "100"
      exitstatus: OK
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import backup as b, guests as g
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import is_upid


def check_pool(client, pool, url):
    pools = [item.get('poolid') for item in client.get('/pools') or [] if isinstance(item, dict)]
    if pool not in pools:
        raise ProxmoxConfigError('resource pool {0!r} does not exist (pools: {1})'.format(
            pool, ', '.join(sorted(p for p in pools if p)) or 'none'), url=url)


def of_guest(items, vmid):
    return [item for item in items if b.backup_vmid(item) == vmid]


def volids(items):
    return sorted(item['volid'] for item in items)


def run(module):
    params = module.params
    client, url = module.client, module.target_url
    if params.get('exclude') and not params.get('all'):
        raise ProxmoxConfigError('exclude applies only with all: true')
    if params.get('all') is False:
        raise ProxmoxConfigError('all: false selects no guest; give vmid, pool or all: true')
    storage = b.check_storage(b.storages(client), params['storage'], 'backup', url, 'backups')
    if params.get('pool') is not None:
        check_pool(client, params['pool'], url)
    guests = b.select_guests(g.list_guests(client), vmids=params.get('vmid'), pool=params.get('pool'),
                             all_guests=bool(params.get('all')), exclude=params.get('exclude'), url=url)
    plan = b.by_node(guests)
    nodes = g.cluster_nodes(client)
    for node in sorted(plan):
        b.check_storage_on_node(storage, node, url)
        if node in nodes and not nodes[node]['online']:
            raise ProxmoxConfigError('node {0!r} is offline: guests {1} cannot be backed up (nothing was backed up)'.format(
                node, ', '.join(str(v) for v in plan[node])), url=url)
    locked = [guest for guest in guests if guest.get('lock')]
    if locked:
        raise ProxmoxConfigError('{0} (nothing was backed up)'.format('; '.join(
            '{0} is locked ({1})'.format(g.describe_guest(guest), guest['lock']) for guest in locked)), url=url)
    if not plan:
        return {'changed': False, 'backups': [], 'plan': {}, 'msg': 'no guest selected: nothing to back up'}
    # One read of the storage's backups per node (a local storage differs from node to node).
    before = dict((node, b.list_backups(client, node, params['storage'])) for node in sorted(plan))
    diff_before = dict((str(vmid), volids(of_guest(before[node], vmid))) for node in plan for vmid in plan[node])
    if module.check_mode:
        after = dict((key, value + ['(new backup)']) for key, value in diff_before.items())
        return {'changed': True, 'backups': [], 'plan': plan, 'diff': {'before': diff_before, 'after': after}}
    data = {'storage': params['storage']}
    for option, key in (('mode', 'mode'), ('notes_template', 'notes-template')):
        if params.get(option) is not None:
            data[key] = params[option]
    if params.get('compress') is not None and storage.get('type') != 'pbs':
        data['compress'] = params['compress']
    if params.get('protected') is not None:
        data['protected'] = int(params['protected'])
    upids = []
    for node in sorted(plan):
        answer = client.post(client.path('nodes', node, 'vzdump'), vmid=','.join(str(v) for v in plan[node]), **data)
        if is_upid(answer):
            upids.append(answer)
    for upid in upids:
        module.wait_task(upid)
    added, diff_after = [], {}
    for node in sorted(plan):
        items = b.list_backups(client, node, params['storage'])
        for vmid in plan[node]:
            mine = of_guest(items, vmid)
            added.extend(b.backup_view(item, node) for item in b.added_backups(of_guest(before[node], vmid), mine))
            diff_after[str(vmid)] = volids(mine)
    added.sort(key=lambda item: (item.get('ctime') or 0, item['volid']))
    return {'changed': True, 'backups': added, 'plan': plan, 'diff': {'before': diff_before, 'after': diff_after}}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            vmid=dict(type='list', elements='int'),
            pool=dict(type='str'),
            all=dict(type='bool'),
            exclude=dict(type='list', elements='int'),
            storage=dict(type='str', required=True),
            mode=dict(type='str', choices=['snapshot', 'suspend', 'stop']),
            compress=dict(type='str', choices=['0', '1', 'gzip', 'lzo', 'zstd']),
            notes_template=dict(type='str'),
            protected=dict(type='bool'),
            timeout=dict(type='int', default=1800),
        ),
        required_one_of=[('vmid', 'pool', 'all')],
        mutually_exclusive=[('vmid', 'pool', 'all')],
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'backup to storage {0!r}'.format(m.params.get('storage')))


if __name__ == '__main__':
    main()
