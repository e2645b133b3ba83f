#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_fleet_info
short_description: One Proxmox VE cluster summed up for a fleet report
version_added: 0.1.0
description:
  - Sums up one cluster with a fixed, small number of reads (C(/version), C(/cluster/resources), C(/cluster/status),
    C(/cluster/ha/status/current), C(/cluster/ceph/status)) plus one backup content listing per backup storage,
    never one read per guest.
  - Reports nodes (online or not), guests (running, stopped, other; templates apart), CPU and memory of the online
    nodes (used, total, available, and what running guests are given), storages (a shared storage once, a local one
    per node), Ceph health, the HA manager, LRMs and resources, and for every guest the age of its newest backup.
  - Backups are read through the cluster's own storages, by default every available storage of type C(pbs), so
    each guest is matched with the backups of its cluster only (the storage's datastore and namespace); the
    Proxmox Backup Server's credentials are not needed.
  - A backup storage that cannot be read (its Backup Server down, say) does not fail the module; it is reported
    under RV(cluster.backups.errors) and its guests count as having no backup.
  - The playbook C(proxfleet.proxmox.fleet_report) runs this module for every cluster of an inventory source and
    writes the fleet report (JSON and an HTML page).
  - Needs C(Sys.Audit) and C(VM.Audit) on C(/) and C(Datastore.Audit) on the backup storages (the role
    C(PVEAuditor)).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  fallback_hosts:
    description:
      - More nodes of the same cluster, tried in order when O(api_host) cannot be reached (a connection or TLS
        failure; a refused login is not retried elsewhere).
    type: list
    elements: str
    default: []
  backup_storages:
    description:
      - The storages whose backups count. Unset, every available storage of type C(pbs); an empty list reads no
        backups (every guest is then reported with backup state V(none)).
      - A storage the cluster does not have fails the module before any backup read.
    type: list
    elements: str
  backup_max_age:
    description:
      - Hours after which a guest's newest backup is stale. The default leaves two hours' slack to daily backups.
    type: int
    default: 26
'''

EXAMPLES = r'''
- name: Sum up one cluster
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: report@pve!fleet
      api_token_secret: "{{ vault_pve_report_secret }}"
      ca_path: /etc/pki/proxmox-ca.pem
  block:
    - name: Read the cluster
      proxfleet.proxmox.pve_fleet_info:
        fallback_hosts: [pve2.example.com, pve3.example.com]
        backup_max_age: 30
      register: summary

    - name: Warn about guests without a fresh backup
      ansible.builtin.debug:
        msg: "{{ summary.cluster.backups.guests | rejectattr('state', 'eq', 'fresh') | map(attribute='name') | list }}"

- name: Count only the backups of one storage
  proxfleet.proxmox.pve_fleet_info:
    api_host: pve1.example.com
    api_token_id: report@pve!fleet
    api_token_secret: "{{ vault_pve_report_secret }}"
    backup_storages: [pbs-main]
  register: summary
'''

RETURN = r'''
cluster:
  description: The cluster summed up.
  returned: success
  type: dict
  contains:
    name:
      description: Cluster name; the node's name on a standalone node.
      type: str
      sample: prod-a
    url:
      description: The API endpoint that answered.
      type: str
      sample: https://pve1.example.com:8006
    version:
      description: Proxmox VE version of that node.
      type: str
      sample: 9.0.10
    quorate:
      description: Whether the cluster has quorum.
      type: bool
      sample: true
    generated:
      description: When the summary was made (seconds since the epoch); backup ages are counted from it.
      type: int
      sample: 1795327338
    generated_iso:
      description: The same time in UTC, ISO 8601.
      type: str
      sample: '2026-11-22T06:02:18Z'
    nodes:
      description: Node counts.
      type: dict
      contains:
        total:
          description: Nodes of the cluster.
          type: int
          sample: 3
        online:
          description: Nodes online.
          type: int
          sample: 3
    node_list:
      description: Every node, by name.
      type: list
      elements: dict
      contains:
        name:
          description: Node name.
          type: str
        online:
          description: Whether it is online.
          type: bool
        cpus:
          description: CPUs (0 when offline).
          type: int
        cpu_used:
          description: CPUs busy (usage times CPUs).
          type: float
        cpu_fraction:
          description: CPU usage from 0 to 1; null when offline.
          type: float
        memory_used:
          description: Memory used, bytes.
          type: int
        memory_total:
          description: Memory, bytes.
          type: int
        uptime:
          description: Seconds since boot; null when offline.
          type: int
    guests:
      description: Guest counts (templates are counted apart and in none of the others).
      type: dict
      contains:
        total:
          description: VMs and containers.
          type: int
          sample: 10
        running:
          description: Running.
          type: int
          sample: 2
        stopped:
          description: Stopped.
          type: int
          sample: 8
        other:
          description: Any other status (paused, unknown, ...).
          type: int
          sample: 0
        qemu:
          description: VMs.
          type: int
          sample: 10
        lxc:
          description: Containers.
          type: int
          sample: 0
        templates:
          description: Templates.
          type: int
          sample: 0
    guest_list:
      description: Every guest and template, by VMID.
      type: list
      elements: dict
      contains:
        vmid:
          description: VMID.
          type: int
        name:
          description: Name (C(<type>-<vmid>) when it has none).
          type: str
        type:
          description: V(qemu) or V(lxc).
          type: str
        node:
          description: The node it is on.
          type: str
        status:
          description: Its status.
          type: str
        template:
          description: Whether it is a template.
          type: bool
        cpus:
          description: vCPUs it is given.
          type: int
        memory:
          description: Memory it is given, bytes.
          type: int
        disk:
          description: Size of its root disk, bytes.
          type: int
        pool:
          description: Its pool, or null.
          type: str
        tags:
          description: Its tags, sorted.
          type: list
          elements: str
    cpu:
      description: CPUs of the online nodes.
      type: dict
      contains:
        total:
          description: CPUs.
          type: int
          sample: 48
        used:
          description: CPUs busy.
          type: float
          sample: 3.5
        available:
          description: CPUs idle.
          type: float
          sample: 44.5
        fraction:
          description: Used over total; null without nodes online.
          type: float
          sample: 0.0729
        allocated:
          description: vCPUs of the running guests.
          type: int
          sample: 12
    memory:
      description: Memory of the online nodes, bytes.
      type: dict
      contains:
        total:
          description: Memory.
          type: int
        used:
          description: Memory used.
          type: int
        available:
          description: Memory free.
          type: int
        fraction:
          description: Used over total; null without nodes online.
          type: float
        allocated:
          description: Memory of the running guests.
          type: int
    storage:
      description: Storage totals, bytes, over the available storages (a shared one counted once per cluster).
      type: dict
      contains:
        total:
          description: Size.
          type: int
        used:
          description: Used.
          type: int
        available:
          description: Free.
          type: int
        fraction:
          description: Used over total; null when nothing is available.
          type: float
        count:
          description: Storages listed in RV(cluster.storage_list).
          type: int
        unavailable:
          description: Of those, how many are not available (disabled, inactive, unreachable).
          type: int
    storage_list:
      description: Every storage, a shared one once, a local one per node.
      type: list
      elements: dict
      contains:
        storage:
          description: Storage id.
          type: str
        node:
          description: The node of a local storage; null for a shared one.
          type: str
        nodes:
          description: The nodes that list it.
          type: list
          elements: str
        type:
          description: Storage type (V(dir), V(lvmthin), V(rbd), V(pbs), ...).
          type: str
        shared:
          description: Whether it is shared.
          type: bool
        status:
          description: V(available) or what PVE says instead.
          type: str
        content:
          description: Content types.
          type: list
          elements: str
        total:
          description: Size, bytes (0 when not available).
          type: int
        used:
          description: Used, bytes.
          type: int
        available:
          description: Free, bytes.
          type: int
        fraction:
          description: Used over total; null when not available.
          type: float
    ceph:
      description: Ceph of the cluster.
      type: dict
      contains:
        initialized:
          description: Whether Ceph is set up on the cluster.
          type: bool
        health:
          description: V(HEALTH_OK), V(HEALTH_WARN), V(HEALTH_ERR), V(unknown) when the status cannot be read, null
            without Ceph.
          type: str
        checks:
          description: The health checks that fire, each with C(code), C(severity) and C(message).
          type: list
          elements: dict
        error:
          description: Why the status could not be read, or null.
          type: str
        monitors:
          description: Monitors in quorum (only when the status was read).
          type: int
        osds:
          description: OSD counts C(total), C(up) and C(in) (only when the status was read).
          type: dict
        total:
          description: Raw capacity, bytes (only when the status was read).
          type: int
        used:
          description: Raw bytes used (only when the status was read).
          type: int
        available:
          description: Raw bytes free (only when the status was read).
          type: int
        fraction:
          description: Used over total (only when the status was read).
          type: float
    ha:
      description: High availability.
      type: dict
      contains:
        quorate:
          description: Quorum as the HA stack sees it.
          type: bool
        manager:
          description: Node of the active HA manager; null while no resource is managed.
          type: str
        manager_status:
          description: The manager's status line.
          type: str
        lrm:
          description: Each node's local resource manager, C(node) and C(state) (V(active), V(idle), ...).
          type: list
          elements: dict
        resources:
          description: HA resources.
          type: int
        by_state:
          description: HA resources per state (V(started), V(stopped), V(error), ...).
          type: dict
        services:
          description: Each HA resource, C(sid), C(node) and C(state).
          type: list
          elements: dict
    backups:
      description: Backup freshness.
      type: dict
      contains:
        fresh:
          description: Guests whose newest backup is not older than RV(cluster.backups.max_age).
          type: int
        stale:
          description: Guests whose newest backup is older.
          type: int
        none:
          description: Guests without a backup on the storages read.
          type: int
        max_age:
          description: The age limit, seconds.
          type: int
        storages:
          description: The storages read.
          type: list
          elements: str
        errors:
          description: Storages that could not be read, each with C(storage) and C(message).
          type: list
          elements: dict
        guests:
          description: Each guest (templates apart) with C(vmid), C(name), C(type), C(node), C(status), C(state)
            (V(fresh), V(stale), V(none)), C(last_backup) (epoch), C(last_backup_iso), C(age_seconds), C(storage)
            and C(volid); the last five are null without a backup.
          type: list
          elements: dict
'''

import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import fleet
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

HOUR = 3600


def run(module):
    params = module.params
    if params['backup_max_age'] < 1:
        module.fail_json(msg='backup_max_age must be at least 1 (hours), got {0}'.format(params['backup_max_age']))
    hosts = [params['api_host']] + [h for h in params['fallback_hosts'] if h != params['api_host']]
    client, version = fleet.connect_first(params, hosts)
    summary = fleet.read_cluster(client, time.time(), params['backup_max_age'] * HOUR,
                                 wanted_storages=params.get('backup_storages'), version=version)
    return {'cluster': summary}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            fallback_hosts=dict(type='list', elements='str', default=[]),
            backup_storages=dict(type='list', elements='str'),
            backup_max_age=dict(type='int', default=26),
        ),
        supports_check_mode=True,
    )
    module.run(run, target='cluster')


if __name__ == '__main__':
    main()
