#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_apply
short_description: Apply a declared state to a whole Proxmox VE cluster, in the format of pve_export
version_added: 0.1.0
description:
  - Takes the declared state of one cluster in the format M(proxfleet.proxmox.pve_export) returns (and
    C(playbooks/export.yml) writes as one file per area), plans everything against the cluster and applies the plan.
  - Reads the cluster once, the way M(proxfleet.proxmox.pve_export) does - one request per collection, plus one per
    guest for its configuration. An item whose declared options all equal what the cluster has needs nothing. Any
    other item is handed to the logic of the module that manages it (M(proxfleet.proxmox.pve_storage),
    M(proxfleet.proxmox.pve_vm), M(proxfleet.proxmox.pve_firewall_rule) ...), which compares, diffs and writes exactly
    as that module does, so the drift shown is the drift those modules show.
  - Applies in dependency order - storages, SDN zones, vnets and subnets, guests, firewall aliases, IP sets, security
    groups, firewall options and rules, HA groups, resources and rules, backup jobs - and deletes (see O(prune)) in
    the reverse order. Guests are changed in parallel, up to O(concurrency) at a time; every task is waited for within
    one O(timeout).
  - In check mode nothing is written and the plan is returned with a diff per item; an item whose SDN zone or vnet, or
    whose guest, the plan creates is reported as to be created, not checked against the cluster.
  - An invalid declaration (an unknown module, an option the module does not have, a wrong type, an item declared
    twice) fails before any request is written, naming the file, the area and the item.
  - When an operation fails, nothing after it is done; RV(operations) says what was done and what was not, and running
    again carries on from there.
  - Runs on the controller (it is an action plugin, and reuses the modules' own code); the connection comes from its
    options as for any module of this collection.
  - Needs the privileges of M(proxfleet.proxmox.pve_export) to plan, plus those of each module whose items change.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  src:
    description:
      - A directory written by C(playbooks/export.yml) for one cluster - its C(storage.yml), C(backup.yml), C(ha.yml),
        C(sdn.yml), C(firewall.yml) and C(guests.yml) (any of them; C(cluster.yml) is not read).
      - Each file maps module names of its area to lists of that module's options, as RV(proxfleet.proxmox.pve_export#module:export) does.
      - Exactly one of O(src) and O(declaration) is required.
    type: path
  declaration:
    description:
      - The declared state itself - module name (V(pve_storage), V(pve_vm) ...) to a list of that module's option
        dicts, as RV(proxfleet.proxmox.pve_export#module:export) returns it.
      - A module left out is not managed; a module with an empty list manages none of its items (with O(prune), deletes
        them all).
      - Items take no C(state) - a declared item is present; O(prune) removes the undeclared ones.
    type: dict
  prune:
    description:
      - Areas (V(storage), V(backup), V(ha), V(sdn), V(firewall), V(guests)) in which items the cluster has and the
        declaration does not name are deleted, as C(kubectl apply --prune) does. Only the kinds of those areas are
        touched. Firewall options and rule lists are not items of their own and are never deleted (a rule list with
        C(purge=true) removes the rules it does not name).
      - Pruning V(guests) destroys the guests the declaration does not name.
    type: list
    elements: str
    default: []
  guest_nodes:
    description:
      - V(auto) finds a guest on whatever node it runs on now (HA and migrations move guests, which is no drift), and
        creates one on the online node with the most free memory. V(exported) holds guests to the node declared.
    type: str
    choices: [auto, exported]
    default: auto
  concurrency:
    description:
      - How many guests are changed at the same time, and how many independent reads of the cluster (each guest's
        configuration, each firewall level) are made at the same time while planning.
      - C(1) reads and changes one at a time. The result does not depend on it.
    type: int
    default: 4
  secrets:
    description:
      - "Write-only options, needed only to create an item elsewhere (the export never holds them) -
        C({pve_storage: {<storage>: {password, keyring, encryption_key, master_pubkey}}, pve_vm: {<vmid>: {cipassword}},
        pve_lxc: {<vmid>: {password, ssh_public_keys}}})."
      - An item given a secret always goes to its module, which sends it only when it creates the item.
    type: dict
  timeout:
    description: Seconds the whole run may wait for its tasks.
    type: int
    default: 600
'''

EXAMPLES = r'''
- name: Show how a cluster drifted from its export (run with --check --diff)
  proxfleet.proxmox.pve_apply:
    src: /srv/proxmox-export/prod
  check_mode: true
  diff: true
  register: drift

- name: Make the cluster what its export says again, deleting SDN and HA items it does not name
  proxfleet.proxmox.pve_apply:
    src: /srv/proxmox-export/prod
    prune: [sdn, ha]
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!apply
      api_token_secret: "{{ vault_pve_token_secret }}"

- name: Declare a few items inline
  proxfleet.proxmox.pve_apply:
    declaration:
      pve_backup_job:
        - id: nightly
          schedule: "02:00"
          storage: nfs-backup
          all: true
      pve_storage:
        - storage: nfs-backup
          type: nfs
          server: 192.0.2.50
          export: /export/pve-backup
          content: [backup]
'''

RETURN = r'''
operations:
  description:
    - Every operation of the plan, in the order applied. Items a module found nothing to change in are not listed.
  returned: always
  type: list
  elements: dict
  contains:
    area:
      description: The area (V(storage), V(backup), V(ha), V(sdn), V(firewall), V(guests)).
      type: str
    module:
      description: The module whose logic the operation runs.
      type: str
    item:
      description: The item's name (its identifying options, space-separated).
      type: str
    id:
      description: The options that identify the item.
      type: dict
    op:
      description: V(create), V(update) or V(delete).
      type: str
    status:
      description:
        - V(planned) (check mode), V(done), V(failed), or V(not_done) (after a failure, left for the next run).
      type: str
    keys:
      description: For an update, the options it changes.
      type: list
      elements: str
      returned: for updates
    error:
      description: Why it failed.
      type: str
      returned: when it failed
    diff:
      description: The C(before) and C(after) of the options its module manages, as that module's diff shows them.
      type: dict
      returned: in diff mode, for operations planned or done
  sample:
    - {area: backup, module: pve_backup_job, item: nightly, id: {id: nightly}, op: update, status: done,
       keys: [schedule]}
counts:
  description: Per area, how many creates, updates and deletes the plan holds (planned or done).
  returned: success
  type: dict
  sample: {backup: {create: 0, update: 1, delete: 0}, storage: {create: 1, update: 0, delete: 0}}
areas:
  description: The areas read and managed.
  returned: success
  type: list
  elements: str
reads:
  description: The API reads the plan took.
  returned: success
  type: int
requests:
  description: Every API request of the run (reads, writes and task polls).
  returned: always
  type: int
tasks:
  description: The Proxmox tasks waited for.
  returned: when tasks ran
  type: list
  elements: dict
diff:
  description: Per operation, the before and after of the options its module manages.
  returned: in diff mode
  type: list
  elements: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import DEFAULT_TASK_TIMEOUT, ProxmoxModule


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            src=dict(type='path'),
            declaration=dict(type='dict'),
            prune=dict(type='list', elements='str', default=[]),
            guest_nodes=dict(type='str', choices=['auto', 'exported'], default='auto'),
            concurrency=dict(type='int', default=4),
            secrets=dict(type='dict', no_log=True),
            timeout=dict(type='int', default=DEFAULT_TASK_TIMEOUT),
        ),
        mutually_exclusive=[('src', 'declaration')],
        required_one_of=[('src', 'declaration')],
        supports_check_mode=True,
    )
    module.fail_json(msg='pve_apply runs on the controller, as the action plugin of the same name: call it as '
                         'proxfleet.proxmox.pve_apply from a task')


if __name__ == '__main__':
    main()
