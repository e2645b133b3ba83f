#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_datastore
short_description: Manage the datastores of a Proxmox Backup Server
version_added: 0.1.0
description:
  - Creates, updates and removes datastores of a Proxmox Backup Server (Datastore, Add Datastore), the
    C(/config/datastore) API. Creation and removal are tasks; the module waits for them.
  - Only the options you give are managed; an option left out keeps its value on the server.
  - Keep options given with O(prune_schedule) on creation become a prune job, as Proxmox Backup Server does; they
    are used only when the datastore is created. Manage that job afterwards with M(proxfleet.proxmox.pbs_job).
  - Needs C(Datastore.Allocate) on C(/datastore) (and C(Datastore.Modify) on C(/datastore/{name}) to update).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection.PBS
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the datastore (3 to 32 letters, digits, V(.), V(-) and V(_)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the datastore; V(absent) removes it.
      - Removing keeps the backup data on disk unless O(destroy_data=true).
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - Absolute path of the chunk store on the server. Needed to create the datastore; it cannot change afterwards.
      - A path another datastore uses is refused before any write.
    type: str
  comment:
    description:
      - Description of the datastore. An empty string removes it.
    type: str
  gc_schedule:
    description:
      - When garbage collection runs, as a calendar event (V(daily), V(sat 03:00)). An empty string removes it.
    type: str
  verify_new:
    description:
      - Verify every new backup right after it is written.
    type: bool
  notification_mode:
    description:
      - How the datastore notifies about GC, verify, sync and prune results.
    type: str
    choices: [legacy-sendmail, notification-system]
  notify_user:
    description:
      - User whose e-mail address gets the notifications in V(legacy-sendmail) mode. An empty string removes it.
    type: str
  notify:
    description:
      - When to notify in V(legacy-sendmail) mode, per job kind. An empty dict removes the setting.
    type: dict
    suboptions:
      gc:
        description: Garbage collection.
        type: str
        choices: [always, error, never]
      verify:
        description: Verification.
        type: str
        choices: [always, error, never]
      sync:
        description: Sync jobs.
        type: str
        choices: [always, error, never]
      prune:
        description: Prune jobs.
        type: str
        choices: [always, error, never]
  tuning:
    description:
      - Datastore tuning options as Proxmox Backup Server names them (V(chunk-order), V(sync-level),
        V(gc-atime-safety-check), V(gc-atime-cutoff), V(gc-cache-capacity)), compared key by key.
      - An empty dict removes the tuning.
    type: dict
  maintenance_mode:
    description:
      - Put the datastore in maintenance, V(read-only) or V(offline), optionally with a message
        (V(type=offline,message="disk swap")). An empty string ends the maintenance.
    type: str
  prune_schedule:
    description:
      - On creation only, with the keep options, the schedule of the prune job Proxmox Backup Server creates.
    type: str
  keep_last:
    description: On creation only, the prune job keeps the last this many snapshots.
    type: int
  keep_hourly:
    description: On creation only, the prune job keeps snapshots of the last this many hours.
    type: int
  keep_daily:
    description: On creation only, the prune job keeps snapshots of the last this many days.
    type: int
  keep_weekly:
    description: On creation only, the prune job keeps snapshots of the last this many weeks.
    type: int
  keep_monthly:
    description: On creation only, the prune job keeps snapshots of the last this many months.
    type: int
  keep_yearly:
    description: On creation only, the prune job keeps snapshots of the last this many years.
    type: int
  reuse_datastore:
    description:
      - On creation only, take over a chunk store already at O(path) (one a removed datastore left behind) with
        its backups.
    type: bool
    default: false
  destroy_data:
    description:
      - With O(state=absent), also delete every backup and chunk of the datastore. Without it the data stays on
        disk and a new datastore can take it over with O(reuse_datastore).
    type: bool
    default: false
  keep_job_configs:
    description:
      - With O(state=absent), keep the sync, verify and prune jobs of the datastore (by default Proxmox Backup
        Server removes them with it).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the creation or removal task.
    type: int
    default: 600
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pbs1.example.com
      api_token_id: automation@pbs!ansible
      api_token_secret: "{{ vault_pbs_token_secret }}"
  block:
    - name: A datastore with nightly GC and a retention that becomes its prune job
      proxfleet.proxmox.pbs_datastore:
        name: backups
        path: /mnt/datastore/backups
        gc_schedule: daily
        prune_schedule: daily
        keep_daily: 7
        keep_weekly: 4
        comment: Backups of the production cluster

    - name: Put it in read-only maintenance
      proxfleet.proxmox.pbs_datastore:
        name: backups
        maintenance_mode: read-only

    - name: Remove the datastore but keep its data on disk
      proxfleet.proxmox.pbs_datastore:
        name: backups
        state: absent
'''

RETURN = r'''
datastore:
  description:
    - The datastore's configuration after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(gc-schedule), V(verify-new), ...).
  returned: success
  type: dict
  sample:
    name: backups
    path: /mnt/datastore/backups
    gc-schedule: daily
    comment: Backups of the production cluster
diff:
  description: The managed options before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Managed options before the run.
      type: dict
    after:
      description: Managed options after the run.
      type: dict
tasks:
  description: The creation or removal task (UPID, type, exit status).
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
      description: The task type from the UPID, for example V(dircreate).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:localhost:00000F2A:0000B1C3:00000000:6756A1B0:dircreate:store2:root@pam:"
      node: localhost
      type: dircreate
      id: "store2"
      exitstatus: OK
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import ensure_datastore

NOTIFY_CHOICES = ['always', 'error', 'never']


def main():
    module = ProxmoxModule(
        service='PBS',
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            path=dict(type='str'),
            comment=dict(type='str'),
            gc_schedule=dict(type='str'),
            verify_new=dict(type='bool'),
            notification_mode=dict(type='str', choices=['legacy-sendmail', 'notification-system']),
            notify_user=dict(type='str'),
            notify=dict(type='dict', options=dict((k, dict(type='str', choices=NOTIFY_CHOICES))
                                                  for k in ('gc', 'verify', 'sync', 'prune'))),
            tuning=dict(type='dict'),
            maintenance_mode=dict(type='str'),
            prune_schedule=dict(type='str'),
            keep_last=dict(type='int'),
            keep_hourly=dict(type='int'),
            keep_daily=dict(type='int'),
            keep_weekly=dict(type='int'),
            keep_monthly=dict(type='int'),
            keep_yearly=dict(type='int'),
            reuse_datastore=dict(type='bool', default=False),
            destroy_data=dict(type='bool', default=False),
            keep_job_configs=dict(type='bool', default=False),
            timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    module.run(ensure_datastore, target=lambda m: 'datastore {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
