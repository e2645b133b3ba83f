#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_snapshot_info
short_description: List the backup snapshots of a Proxmox Backup Server datastore
version_added: 0.1.0
description:
  - Lists the snapshots of one namespace of a datastore, newest first, optionally of one backup type and guest,
    with size, owner, verification state and protection.
  - Needs C(Datastore.Audit) on the datastore (or C(Datastore.Backup) to see only the groups one owns). With
    C(Datastore.Backup) alone Proxmox Backup Server leaves out silently the groups of other owners; the module then
    says so in RV(incomplete) and in a warning.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection.PBS
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  datastore:
    description:
      - The datastore.
    type: str
    required: true
  ns:
    description:
      - Namespace (V(a/b)); the root namespace when unset.
    type: str
  backup_type:
    description:
      - Only snapshots of this type.
    type: str
    choices: [vm, ct, host]
  backup_id:
    description:
      - Only snapshots of this guest (its VMID) or host name.
    type: str
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pbs1.example.com
      api_token_id: audit@pbs!ansible
      api_token_secret: "{{ vault_pbs_token_secret }}"
  block:
    - name: The snapshots of VM 100
      proxfleet.proxmox.pbs_snapshot_info:
        datastore: backups
        backup_type: vm
        backup_id: "100"
      register: found

    - name: The newest one must be verified
      ansible.builtin.assert:
        that: found.snapshots[0].verification == 'ok'
'''

RETURN = r'''
snapshots:
  description: The snapshots, newest first.
  returned: success
  type: list
  elements: dict
  contains:
    datastore:
      description: The datastore.
      type: str
    ns:
      description: The namespace (empty for the root).
      type: str
    backup_type:
      description: V(vm), V(ct) or V(host).
      type: str
    backup_id:
      description: The guest's VMID or the host's name.
      type: str
    backup_time:
      description: When the backup was taken, in seconds since the epoch.
      type: int
    backup_time_iso:
      description: The same time in RFC 3339 (UTC).
      type: str
    path:
      description: The snapshot as Proxmox Backup Server names it (V(vm/100/2026-01-01T00:00:00Z)).
      type: str
    size:
      description: Size of the snapshot's files in bytes.
      type: int
    owner:
      description: Owner of the backup group.
      type: str
    comment:
      description: The snapshot's comment (notes), or null.
      type: str
    protected:
      description: Whether the snapshot is protected from pruning and removal.
      type: bool
    verification:
      description: V(ok), V(failed), or V(none) when never verified.
      type: str
    verification_upid:
      description: The task of the last verification, or null.
      type: str
    files:
      description: The snapshot's files.
      type: list
      elements: str
incomplete:
  description:
    - A note when the list holds only the login's own backup groups (no C(Datastore.Audit) on the datastore or
      namespace), naming the missing privilege and path; empty when the list is complete. Also given as a warning.
  returned: success
  type: list
  elements: str
  version_added: 0.1.0
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import snapshot_list_gap, snapshots


def run(module):
    params = module.params
    found = snapshots(module.client, params['datastore'], params.get('ns'), params.get('backup_type'),
                      params.get('backup_id'))
    gap = snapshot_list_gap(module.client, params['datastore'], params.get('ns'))
    if gap:
        module.warn(gap)
    return {'snapshots': found, 'incomplete': [gap] if gap else []}


def main():
    module = ProxmoxModule(
        service='PBS',
        argument_spec=dict(
            datastore=dict(type='str', required=True),
            ns=dict(type='str'),
            backup_type=dict(type='str', choices=['vm', 'ct', 'host']),
            backup_id=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'datastore {0!r}'.format(m.params['datastore']))


if __name__ == '__main__':
    main()
