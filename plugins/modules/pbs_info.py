#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_info
short_description: Read the state of a Proxmox Backup Server
version_added: 0.1.0
description:
  - Reads a Proxmox Backup Server - its version, every datastore with its configuration, usage, deduplication
    factor, garbage-collection status and snapshot counts, its remotes (without passwords) and its sync, verify
    and prune jobs.
  - The deduplication factor is the last garbage collection's logical index data over the bytes of the unique
    chunks on disk; it is null until a garbage collection has run.
  - Needs C(Datastore.Audit) on C(/datastore) and C(Remote.Audit) on C(/remote) to see everything. Proxmox Backup
    Server leaves out silently the datastores, remotes and jobs a login may not see; the module then says so in
    RV(incomplete) and in a warning, naming the privilege and path that are missing, instead of reporting an empty
    list as if there were nothing.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection.PBS
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  datastore:
    description:
      - Read only this datastore (and only its jobs). It must exist.
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
    - name: Read the backup server
      proxfleet.proxmox.pbs_info:
      register: pbs

    - name: Warn about nearly full datastores
      ansible.builtin.debug:
        msg: "{{ item.name }} is {{ (item.used_fraction * 100) | round(1) }}% full"
      loop: "{{ pbs.datastores }}"
      when: item.used_fraction > 0.8
'''

RETURN = r'''
version:
  description: The server's version (V(version), V(release), V(repoid)).
  returned: success
  type: dict
  sample:
    version: "4.0"
    release: "14"
    repoid: 2c2b2b1e
datastores:
  description: Every datastore (or the one asked for), by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the datastore.
      type: str
    path:
      description: Path of its chunk store.
      type: str
    total:
      description: Size of the file system in bytes.
      type: int
    used:
      description: Bytes in use.
      type: int
    avail:
      description: Bytes available.
      type: int
    used_fraction:
      description: Used over total (0 to 1).
      type: float
    deduplication_factor:
      description: Logical data over unique chunk bytes, from the last garbage collection; null before one.
      type: float
    gc_status:
      description: The last garbage collection's status as the API gives it (V(index-data-bytes), V(disk-bytes),
        V(removed-bytes), V(upid), ...).
      type: dict
    counts:
      description: Groups and snapshots per backup type (V(vm), V(ct), V(host)).
      type: dict
    groups:
      description: Backup groups in all.
      type: int
    snapshots:
      description: Snapshots in all.
      type: int
remotes:
  description: The remotes (V(name), V(host), V(port), V(auth-id), V(fingerprint), V(comment)), without passwords.
  returned: success
  type: list
  elements: dict
  sample:
    - name: offsite
      host: pbs2.example.com
      port: 8007
      auth-id: sync@pbs!offsite
      fingerprint: "64:d3:ff:3a:50:38:53:5a:9b:...:0e"
      comment: second site
incomplete:
  description:
    - One note per list (datastores, remotes, sync / verify / prune jobs) that may be incomplete because the login
      lacks, propagated from C(/datastore) or C(/remote), the privilege Proxmox Backup Server filters that list by.
      Datastores the login sees a trace of without C(Datastore.Audit) are named. Empty when every list is complete.
    - Each note is also given as a warning.
  returned: success
  type: list
  elements: str
  version_added: 0.1.0
  sample:
    - "datastores may be incomplete: audit@pbs!ansible has no Datastore.Audit on /datastore (propagated), and Proxmox
      Backup Server leaves out silently what it may not see (without Datastore.Audit: backups)"
jobs:
  description: The jobs by type (V(sync), V(verify), V(prune)), each a list of configurations as the API gives them.
  returned: success
  type: dict
  sample:
    sync:
      - id: pull-offsite
        store: backups
        remote: offsite
        remote-store: backups
        schedule: hourly
    verify:
      - id: verify-backups
        store: backups
        schedule: daily
        ignore-verified: true
    prune: []
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import server_info


def run(module):
    result = server_info(module.client, module.params.get('datastore'))
    for note in result['incomplete']:
        module.warn(note)
    return result


def main():
    module = ProxmoxModule(
        service='PBS',
        argument_spec=dict(datastore=dict(type='str')),
        supports_check_mode=True,
    )
    module.run(run, target='Proxmox Backup Server')


if __name__ == '__main__':
    main()
