#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_restore
short_description: Restore a Proxmox VE VM or container from a backup
version_added: 0.1.0
description:
  - Restores a guest from a backup volume, a Proxmox Backup Server snapshot (storage of type C(pbs)) or a vzdump
    archive, onto O(node) of the cluster as guest O(vmid), with its disks on O(storage).
  - The backup is named by O(archive), or found with O(latest=true) as the newest backup of guest O(source_vmid) on
    O(backup_storage). The backup tells whether the guest is a VM or a container.
  - When guest O(vmid) already exists, nothing is restored unless O(force=true), which replaces it; see
    O(if_exists). A guest is never overwritten without O(force). O(force) does not stop a running guest; stop it
    first (the module fails before any write otherwise).
  - Idempotence follows from that; restoring to a new vmid creates the guest once; the next run finds it and reports
    no change. A run with O(force=true) restores every time.
  - Without O(vmid), the guest is restored as a new guest with a free id of the datacenter's next-id range, claimed
    as M(proxfleet.proxmox.pve_vm) does (reliable with many restores at once). Nothing then identifies an earlier
    copy, so every such run restores a new guest; give O(vmid) for an idempotent restore.
  - Needs C(VM.Allocate) on C(/vms/{vmid}) (or C(VM.Backup) to restore over an existing guest),
    C(Datastore.AllocateSpace) on O(storage), C(Datastore.AllocateSpace) on the backup's storage and C(VM.Backup) on
    the backed-up guest (to read the backup), and C(VM.PowerMgmt) for O(start).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: Finds the backup, makes every check and reports what it would restore; starts nothing.
  diff_mode:
    support: full
    details: The guest (node, type, backup) before and after.
options:
  vmid:
    description:
      - Id of the guest to restore to, a new id, or an existing guest's (only with O(force=true)).
      - Without it, a free id is claimed from C(/cluster/nextid) and every run restores a new guest (see above);
        O(latest) then needs O(source_vmid).
    type: int
  node:
    description:
      - Node to restore onto. Restoring over an existing guest needs the node it is on.
    type: str
    required: true
  archive:
    description:
      - Volume id of the backup, as M(proxfleet.proxmox.pve_backup) returns it or the storage's content lists it
        (V(pbs-main:backup/vm/100/2026-11-22T03:00:00Z), V(local:backup/vzdump-qemu-100-2026_11_22-03_00_00.vma.zst)).
      - Mutually exclusive with O(latest).
    type: str
  latest:
    description:
      - Restore the newest backup of guest O(source_vmid) on O(backup_storage) (by creation time).
      - Mutually exclusive with O(archive).
    type: bool
  backup_storage:
    description:
      - Storage to find the newest backup on, with O(latest=true).
    type: str
  source_vmid:
    description:
      - The backed-up guest whose newest backup O(latest) picks. Defaults to O(vmid).
    type: int
  storage:
    description:
      - Storage for the restored guest's disks. Without it, each disk goes back to the storage it was on, which must
        then exist on this cluster.
    type: str
  force:
    description:
      - Replace an existing guest O(vmid) (its disks are removed). It must be stopped, on O(node), and of the same type
        (VM or container) as the backup.
    type: bool
    default: false
  if_exists:
    description:
      - What to do when guest O(vmid) exists and O(force) is false.
      - V(skip) leaves it alone and reports no change, with a message; V(fail) fails.
    type: str
    choices: [skip, fail]
    default: skip
  unique:
    description:
      - Give the restored guest new MAC addresses instead of the backup's, for a copy next to the original.
    type: bool
  start:
    description:
      - Start the guest after restoring it.
    type: bool
  pool:
    description:
      - Add the restored guest to this resource pool.
    type: str
  timeout:
    description:
      - Seconds to wait for the restore task (and, without O(vmid), to claim a free id before it).
    type: int
    default: 1800
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve-dr.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_dr_token_secret }}"
  block:
    - name: Restore the newest backup of VM 100 on the other cluster as VM 900, with new MACs, and start it
      proxfleet.proxmox.pve_restore:
        vmid: 900
        source_vmid: 100
        latest: true
        backup_storage: pbs-main
        node: dr1
        storage: local-lvm
        unique: true
        start: true

    - name: Restore a given backup over the (stopped) original
      proxfleet.proxmox.pve_restore:
        vmid: 100
        node: pve1
        archive: pbs-main:backup/vm/100/2026-11-22T03:00:00Z
        force: true

    - name: Restore a container's vzdump archive as a new container
      proxfleet.proxmox.pve_restore:
        vmid: 950
        node: pve2
        archive: local:backup/vzdump-lxc-103-2026_11_22-03_00_00.tar.zst
        storage: local-lvm

    - name: Restore the newest backup of VM 100 as a copy with a free id, for a drill (every run makes a new copy)
      proxfleet.proxmox.pve_restore:
        source_vmid: 100
        latest: true
        backup_storage: pbs-main
        node: dr1
        unique: true
      register: drill_copy
'''

RETURN = r'''
guest:
  description:
    - The guest after the run (in check mode, as it would be).
  returned: success
  type: dict
  contains:
    vmid:
      description: The guest's id (null in check mode without O(vmid), as the id is claimed when restoring).
      type: int
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node it is on.
      type: str
    name:
      description: Its name (a container's hostname), once it exists.
      type: str
    status:
      description: V(running) or V(stopped), once it exists.
      type: str
    archive:
      description: The backup it was restored from (when this run restored it, or would).
      type: str
  sample:
    vmid: 900
    type: qemu
    node: dr1
    name: web-01
    status: running
    archive: pbs-main:backup/vm/100/2026-11-22T03:00:00Z
backup:
  description:
    - The backup volume restored (or that would be), from the storage's content.
    - Null when the guest already existed and the backup is no longer there.
  returned: success
  type: dict
  sample:
    volid: pbs-main:backup/vm/100/2026-11-22T03:00:00Z
    vmid: 100
    type: qemu
    storage: pbs-main
    format: pbs-vm
    size: 4294967296
    ctime: 1795316400
msg:
  description: Why nothing was restored, when the guest already existed.
  returned: when the guest exists and O(force) is false
  type: str
  sample: "VM 4100 (web-01) already exists on node 'pve2': not restored (force: true replaces it with the backup)"
diff:
  description: The guest before and after (null when it does not exist).
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
  description: The restore task the module waited for.
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
      description: The task type from the UPID, for example V(qmrestore).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:pve2:00001A2B:0003C4D5:6756A1B0:qmrestore:4100:automation@pve!ansible:"
      node: pve2
      type: qmrestore
      id: "4100"
      exitstatus: OK
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import backup as b, guests as g, vmid_alloc
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

GUEST_KEYS = ('vmid', 'type', 'node', 'name', 'status')


def check_options(params):
    if params.get('latest') is False:
        raise ProxmoxConfigError('latest: false names no backup; give archive or latest: true')
    if params.get('latest') and not params.get('backup_storage'):
        raise ProxmoxConfigError('latest: true needs backup_storage, the storage to look for backups on')
    if params.get('archive') and (params.get('backup_storage') or params.get('source_vmid') is not None):
        raise ProxmoxConfigError('backup_storage and source_vmid apply only with latest: true; archive names the '
                                 'backup itself')
    if params.get('vmid') is None:
        if params.get('force'):
            raise ProxmoxConfigError('force replaces guest vmid: give vmid')
        if params.get('latest') and params.get('source_vmid') is None:
            raise ProxmoxConfigError('latest: true without vmid needs source_vmid, the guest whose newest backup to '
                                     'restore')
    elif not 100 <= params['vmid'] <= 999999999:
        raise ProxmoxConfigError('vmid must be between 100 and 999999999')
    if params.get('archive'):
        b.split_volid(params['archive'])


def check_node(client, node, url):
    nodes = g.cluster_nodes(client)
    if node not in nodes:
        raise ProxmoxConfigError('the cluster has no node {0!r} (its nodes: {1})'.format(
            node, ', '.join(sorted(nodes))), url=url)
    if not nodes[node]['online']:
        raise ProxmoxConfigError('node {0!r} is offline'.format(node), url=url)


def find_backup(client, params, known, url):
    """The backup's content item, from one read of its storage's content on the node."""
    node = params['node']
    if params.get('archive'):
        source, _volname = b.split_volid(params['archive'])
    else:
        source = params['backup_storage']
    b.check_storage_on_node(b.check_storage(known, source, 'backup', url, 'backups'), node, url)
    if params.get('archive'):
        items = b.list_backups(client, node, source)
        found = [item for item in items if item['volid'] == params['archive']]
        if not found:
            raise ProxmoxConfigError('backup {0!r} is not in the content of storage {1!r} (seen from node {2!r})'.format(
                params['archive'], source, node), url=url)
        return found[0]
    wanted = params['source_vmid'] if params.get('source_vmid') is not None else params['vmid']
    item = b.newest_backup(b.list_backups(client, node, source, wanted), wanted)
    if item is None:
        raise ProxmoxConfigError('no backup of guest {0} on storage {1!r} (seen from node {2!r})'.format(
            wanted, source, node), url=url)
    return item


def check_target_storage(params, known, kind, url):
    if not params.get('storage'):
        return
    content = 'images' if kind == 'qemu' else 'rootdir'
    store = b.check_storage(known, params['storage'], content, url,
                            'VM disks' if kind == 'qemu' else 'container volumes')
    b.check_storage_on_node(store, params['node'], url)


def check_overwrite(existing, kind, params, url):
    """Restoring over an existing guest: it is stopped, on the node, and of the backup's type."""
    what = g.describe_guest(existing)
    if existing.get('type') != kind:
        raise ProxmoxConfigError('{0} exists and the backup is of a {1}: a restore replaces a guest of the same type '
                                 'only'.format(what, 'VM' if kind == 'qemu' else 'container'), url=url)
    if existing.get('node') != params['node']:
        # The target names the node asked for.
        raise ProxmoxConfigError('{0} is on node {1!r}: restore over it on its own node'.format(
            what, existing.get('node')), url=url)
    if existing.get('status') == 'running':
        raise ProxmoxConfigError('{0} is running: stop it before restoring over it (force does not stop it)'.format(
            what), url=url)
    if existing.get('lock'):
        raise ProxmoxConfigError('{0} is locked ({1})'.format(what, existing['lock']), url=url)
    if existing.get('template') in (1, '1', True):
        raise ProxmoxConfigError('{0} is a template: remove it first to restore over it'.format(what), url=url)


def view(guest):
    out = dict((key, guest.get(key)) for key in GUEST_KEYS if guest.get(key) is not None)
    out['vmid'] = int(out['vmid'])
    return out


def leave_alone(module, client, params, known, existing, before, url):
    """Guest vmid exists and force is false: nothing is restored (or, with if_exists=fail, the module fails).

    The backup is looked up for the result, but a backup pruned since the guest was restored is no error.
    """
    message = ('{0} already exists on node {1!r}: not restored (force: true replaces it with the backup)'.format(
        g.describe_guest(existing), existing.get('node')))
    if params['if_exists'] == 'fail':
        raise ProxmoxConfigError(message, url=url)
    try:
        backup = b.backup_view(find_backup(client, params, known, url))
    except ProxmoxConfigError:
        backup = None
    result = {'changed': False, 'guest': before, 'backup': backup, 'msg': message}
    if module._diff:
        result['diff'] = {'before': before, 'after': before}
    return result


def run(module):
    params = module.params
    client, url = module.client, module.target_url
    check_options(params)
    check_node(client, params['node'], url)
    vmid = params.get('vmid')
    existing = None
    if vmid is not None:
        existing = next((guest for guest in g.list_guests(client) if int(guest['vmid']) == vmid), None)
    before = view(existing) if existing else None
    known = b.storages(client)
    if existing is not None and not params['force']:
        return leave_alone(module, client, params, known, existing, before, url)
    item = find_backup(client, params, known, url)
    kind = b.backup_kind(item)
    if kind is None:
        raise ProxmoxConfigError('cannot tell whether backup {0!r} is of a VM or a container'.format(item['volid']),
                                 url=url)
    check_target_storage(params, known, kind, url)
    backup = b.backup_view(item)
    if existing is not None:
        check_overwrite(existing, kind, params, url)
    if params.get('pool') is not None:
        pools = [p.get('poolid') for p in client.get('/pools') or [] if isinstance(p, dict)]
        if params['pool'] not in pools:
            raise ProxmoxConfigError('resource pool {0!r} does not exist'.format(params['pool']), url=url)
    planned = {'vmid': vmid, 'type': kind, 'node': params['node'], 'archive': item['volid']}
    diff = {'before': before, 'after': planned}
    if module.check_mode:
        return {'changed': True, 'guest': planned, 'backup': backup, 'diff': diff}
    data = {}
    for option in ('storage', 'pool'):
        if params.get(option) is not None:
            data[option] = params[option]
    for option in ('unique', 'start'):
        if params.get(option) is not None:
            data[option] = int(params[option])
    if params['force']:
        data['force'] = 1
    if kind == 'qemu':
        def restore(new):
            return client.post(client.path('nodes', params['node'], 'qemu'), vmid=new, archive=item['volid'], **data)
    else:
        def restore(new):
            return client.post(client.path('nodes', params['node'], 'lxc'), vmid=new, ostemplate=item['volid'],
                               restore=1, **data)
    vmid = vmid_alloc.create_guest(module, restore, vmid=vmid)
    restored = next((guest for guest in g.list_guests(client) if int(guest['vmid']) == vmid), None) or \
        dict(planned, vmid=vmid)
    guest = dict(view(restored), archive=item['volid'])
    diff['after'] = guest
    return {'changed': True, 'guest': guest, 'backup': backup, 'diff': diff}


def describe_target(module):
    if module.params.get('vmid') is None:
        return 'restore of a new guest to node {0!r}'.format(module.params.get('node'))
    return 'restore of guest {0} to node {1!r}'.format(module.params.get('vmid'), module.params.get('node'))


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            vmid=dict(type='int'),
            node=dict(type='str', required=True),
            archive=dict(type='str'),
            latest=dict(type='bool'),
            backup_storage=dict(type='str'),
            source_vmid=dict(type='int'),
            storage=dict(type='str'),
            force=dict(type='bool', default=False),
            if_exists=dict(type='str', choices=['skip', 'fail'], default='skip'),
            unique=dict(type='bool'),
            start=dict(type='bool'),
            pool=dict(type='str'),
            timeout=dict(type='int', default=1800),
        ),
        required_one_of=[('archive', 'latest')],
        mutually_exclusive=[('archive', 'latest')],
        supports_check_mode=True,
    )
    module.run(run, target=describe_target)


if __name__ == '__main__':
    main()
