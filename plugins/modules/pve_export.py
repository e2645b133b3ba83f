#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_export
short_description: Export a Proxmox VE cluster's configuration as options of this collection's modules
version_added: 0.1.0
description:
  - Reads a live cluster - storages, backup jobs, HA, SDN, the firewall and the guests - and returns each item as the options
    of the module that manages it (M(proxfleet.proxmox.pve_storage), M(proxfleet.proxmox.pve_backup_job),
    M(proxfleet.proxmox.pve_ha_group) or M(proxfleet.proxmox.pve_ha_rule), M(proxfleet.proxmox.pve_ha_resource),
    M(proxfleet.proxmox.pve_sdn_zone), M(proxfleet.proxmox.pve_sdn_vnet), M(proxfleet.proxmox.pve_sdn_subnet),
    M(proxfleet.proxmox.pve_firewall_alias), M(proxfleet.proxmox.pve_firewall_ipset),
    M(proxfleet.proxmox.pve_firewall_group), M(proxfleet.proxmox.pve_firewall_options),
    M(proxfleet.proxmox.pve_firewall_rule), M(proxfleet.proxmox.pve_vm), M(proxfleet.proxmox.pve_lxc)).
  - Feeding the export back to those modules in check mode with diff shows how the cluster drifted from it, and
    shows no change right after the export. The collection's C(playbooks/export.yml) writes the export as vars
    files and C(playbooks/apply_export.yml) feeds them back; see the collection's C(docs/export.md).
  - Only what the cluster sets is exported; a key it leaves unset stays unmanaged. Firewall rule lists, security
    groups and IP sets are exported with C(purge=true), so rules and entries added later show as drift too.
  - On Proxmox VE 8 HA groups are exported for M(proxfleet.proxmox.pve_ha_group) and a resource's group with the
    resource; on Proxmox VE 9 every HA rule (the migrated C(ha-group-*) ones too) is exported for
    M(proxfleet.proxmox.pve_ha_rule), with the resources it lists.
  - A guest is exported from the configuration it gets at its next start (pending changes included), with its node
    and pool, its disks and NICs as C(disks) and C(nets) entries that keep them as they are
    (a disk by its storage and size), tags with C(purge_tags), and any other key under C(config). Its power state
    is not exported. To create a container elsewhere, add C(ostemplate) to its entry.
  - Secrets (storage passwords, keyrings, encryption keys, cloud-init passwords) are never exported - the API does not return them. RV(secrets)
    names the ones needed to create an item again elsewhere.
  - Anything the modules cannot express is listed in RV(not_exported), never dropped silently.
  - Reads with list calls - per area a few, plus per node, guest, security group, IP set and vnet for the firewall and
    SDN subnets, and one read per guest for its configuration. Needs C(PVEAuditor) on C(/) (C(Sys.Audit), C(Datastore.Audit), C(VM.Audit), C(SDN.Audit)).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  areas:
    description:
      - What to export. V(storage), V(backup) (backup jobs), V(ha), V(sdn), V(firewall) (cluster, nodes, guests,
        applied SDN vnets and security groups), V(guests) (VMs and containers).
    type: list
    elements: str
    choices: [storage, backup, ha, sdn, firewall, guests]
    default: [storage, backup, ha, sdn, firewall, guests]
'''

EXAMPLES = r'''
- name: Export a cluster
  proxfleet.proxmox.pve_export:
    api_host: pve1.example.com
    api_token_id: auditor@pve!export
    api_token_secret: "{{ vault_pve_token_secret }}"
  register: exported

- name: Check the cluster against it later (no change when nothing drifted)
  proxfleet.proxmox.pve_storage:
    storage: "{{ item.storage }}"
    type: "{{ item.type }}"
    content: "{{ item.content | default(omit) }}"
    path: "{{ item.path | default(omit) }}"
  loop: "{{ exported.export.pve_storage }}"
  check_mode: true
  diff: true

- name: Only the firewall
  proxfleet.proxmox.pve_export:
    areas: [firewall]
  register: exported_firewall
'''

RETURN = r'''
export:
  description:
    - The cluster's configuration - module name -> list of option dicts, in the order to apply them. The keys of an
      option dict are exactly that module's options.
    - Modules of an area not exported, or without items, have empty lists.
  returned: success
  type: dict
  sample:
    pve_storage:
      - storage: nfs-backup
        type: nfs
        server: 192.0.2.50
        export: /export/pve-backup
        path: /mnt/pve/nfs-backup
        content: [backup]
        prune_backups: {keep_last: 7}
    pve_backup_job:
      - id: backup-nightly
        schedule: "02:00"
        storage: nfs-backup
        all: true
        mode: snapshot
        enabled: true
    pve_firewall_rule:
      - level: cluster
        purge: true
        rules:
          - type: in
            action: ACCEPT
            macro: SSH
            source: 10.0.0.0/24
            enabled: true
            rule_id: ssh-admin
cluster:
  description: The cluster exported.
  returned: success
  type: dict
  contains:
    name:
      description: Its name (null for a standalone node).
      type: str
    version:
      description: The Proxmox VE version of the node answering.
      type: str
    url:
      description: The API address read.
      type: str
secrets:
  description:
    - Write-only options an exported item needs to be created again (the API never returns them), to be supplied
      from a vault. Applying the export to the cluster it came from does not need them.
  returned: success
  type: list
  elements: dict
  sample: [{module: pve_storage, item: pbs-main, options: [password]}]
not_exported:
  description:
    - What the export left out - items of types no module manages, API keys that are no module option - with why.
  returned: success
  type: list
  elements: dict
  sample: [{module: pve_backup_job, item: backup-nightly, reason: not options of pve_backup_job, keys: [fleecing]}]
reads:
  description: How many API reads the export took.
  returned: success
  type: int
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import AREAS, MODULES, Exporter
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

EXPORTED = list(AREAS)


def run(module):
    exporter = Exporter(module.client, warn=module.warn)
    cluster = exporter.cluster()
    found = exporter.export(module.params['areas'])
    export = {}
    for area in EXPORTED:
        for name in MODULES[area]:
            export[name] = found.get(name, [])
    return {'changed': False, 'export': export, 'cluster': cluster, 'secrets': exporter.secrets,
            'not_exported': exporter.skipped.items, 'reads': exporter.reads}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            areas=dict(type='list', elements='str', choices=EXPORTED, default=EXPORTED),
        ),
        supports_check_mode=True,
    )
    module.run(run, target='cluster export')


if __name__ == '__main__':
    main()
