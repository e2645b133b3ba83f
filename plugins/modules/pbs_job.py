#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_job
short_description: Manage and run the sync, verify and prune jobs of a Proxmox Backup Server
version_added: 0.1.0
description:
  - Creates, updates and removes sync, verify and prune jobs of a Proxmox Backup Server (the C(/config/sync),
    C(/config/verify) and C(/config/prune) APIs), and with O(run=true) runs the job now and waits for it.
  - Only the options you give are managed; an option left out keeps its value on the server.
  - Checked before any write, in check mode too - options of another job type, a schedule that is no calendar
    event, a datastore or remote that does not exist, a sync from a datastore to itself.
  - Privileges, on the job's datastore C(/datastore/{store}) (and namespace). A sync job needs C(Datastore.Backup)
    there and C(Remote.Read) on C(/remote/{remote}/{remote_store}), plus C(Datastore.Prune) with
    O(remove_vanished) and C(Datastore.Modify) for an O(owner) other than the user; a verify job needs
    C(Datastore.Verify); a prune job C(Datastore.Modify). Reading a job needs C(Datastore.Audit) (and C(Remote.Audit)
    on the remote of a sync job). Running a job (O(run)) needs the same as changing it. The roles C(DatastoreAdmin)
    on the datastore and C(RemoteSyncOperator) on the remote cover them all.
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
  id:
    description:
      - Id of the job (3 to 32 letters, digits, V(.), V(-) and V(_)); ids are unique per job type.
    type: str
    required: true
  type:
    description:
      - The kind of job.
    type: str
    required: true
    choices: [sync, verify, prune]
  state:
    description:
      - V(present) creates or updates the job; V(absent) removes it (the backups stay).
    type: str
    choices: [present, absent]
    default: present
  run:
    description:
      - Run the job now (after creating or updating it) and wait for its task; the task is returned under RV(run).
      - A run always reports a change. In check mode nothing runs.
    type: bool
    default: false
  store:
    description:
      - Datastore of the job (a sync job's local datastore). Needed to create the job.
    type: str
  schedule:
    description:
      - When the job runs, as a calendar event (V(hourly), V(daily), V(sat 02:00)). Needed to create a prune job.
        An empty string removes it from a sync or verify job, which then runs only when started.
    type: str
  comment:
    description:
      - Description of the job. An empty string removes it.
    type: str
  ns:
    description:
      - Namespace of O(store) the job works in (V(a/b)); the root namespace when unset. An empty string removes it.
    type: str
  max_depth:
    description:
      - How many namespace levels below O(ns) the job covers (V(0) is O(ns) only).
    type: int
  remote:
    description:
      - Sync only. Remote (see M(proxfleet.proxmox.pbs_remote)) the job syncs with; an empty string, or none on
        creation, makes a local sync between two datastores of this server.
    type: str
  remote_store:
    description:
      - Sync only. Datastore on the remote (or, for a local sync, on this server) to sync with. Needed to create a
        sync job.
    type: str
  remote_ns:
    description:
      - Sync only. Namespace of O(remote_store). An empty string removes it.
    type: str
  owner:
    description:
      - Sync only. User or API token that owns the pulled backup groups. An empty string removes it.
    type: str
  remove_vanished:
    description:
      - Sync only. Remove snapshots from the target that the source no longer has.
    type: bool
  group_filter:
    description:
      - Sync only. Which backup groups to sync (V(type:vm), V(group:vm/100), V(regex:^ct/), with V(exclude:) or
        V(include:) in front). Order matters. An empty list removes the filter.
    type: list
    elements: str
  rate_in:
    description: Sync only. Inbound rate limit, a byte size per second (V(10MiB)). An empty string removes it.
    type: str
  burst_in:
    description: Sync only. Inbound burst size (V(50MiB)). An empty string removes it.
    type: str
  rate_out:
    description: Sync only. Outbound rate limit (push). An empty string removes it.
    type: str
  burst_out:
    description: Sync only. Outbound burst size (push). An empty string removes it.
    type: str
  transfer_last:
    description:
      - Sync only. Copy only the newest this many snapshots of each group.
    type: int
  sync_direction:
    description:
      - Sync only. V(pull) copies from the remote into O(store), V(push) from O(store) to the remote.
    type: str
    choices: [pull, push]
  ignore_verified:
    description:
      - Verify only. Skip snapshots verified successfully before (within O(outdated_after)).
    type: bool
  outdated_after:
    description:
      - Verify only. Days after which a successful verification is redone.
    type: int
  keep_last:
    description: Prune only. Keep the last this many snapshots.
    type: int
  keep_hourly:
    description: Prune only. Keep one snapshot for each of the last this many hours.
    type: int
  keep_daily:
    description: Prune only. Keep one snapshot for each of the last this many days.
    type: int
  keep_weekly:
    description: Prune only. Keep one snapshot for each of the last this many weeks.
    type: int
  keep_monthly:
    description: Prune only. Keep one snapshot for each of the last this many months.
    type: int
  keep_yearly:
    description: Prune only. Keep one snapshot for each of the last this many years.
    type: int
  timeout:
    description:
      - Seconds to wait for the job's task with O(run=true).
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
    - name: Pull the production backups from the offsite server every night
      proxfleet.proxmox.pbs_job:
        type: sync
        id: pull-offsite
        store: backups
        remote: offsite
        remote_store: backups
        schedule: "*-*-* 02:00"
        remove_vanished: true
        group_filter: ["type:vm", "exclude:group:vm/9000"]

    - name: Verify weekly, redoing verifications older than 30 days, and run it now
      proxfleet.proxmox.pbs_job:
        type: verify
        id: verify-weekly
        store: backups
        schedule: sun 04:00
        ignore_verified: true
        outdated_after: 30
        run: true
      register: verify

    - name: Keep 7 daily and 4 weekly snapshots
      proxfleet.proxmox.pbs_job:
        type: prune
        id: prune-backups
        store: backups
        schedule: daily
        keep_daily: 7
        keep_weekly: 4

    - name: Remove a job
      proxfleet.proxmox.pbs_job:
        type: sync
        id: pull-offsite
        state: absent
'''

RETURN = r'''
job:
  description:
    - The job's configuration after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(remote-store), V(keep-daily), ...).
  returned: success
  type: dict
  sample:
    id: pull-offsite
    store: backups
    remote: offsite
    remote-store: backups
    schedule: "*-*-* 02:00"
    remove-vanished: true
run:
  description: The task of the run (UPID, type, id, exit status V(OK)); null in check mode.
  returned: when O(run=true)
  type: dict
  sample:
    upid: "UPID:localhost:00001234:00000ABC:00000001:6756A1B0:syncjob:offsite\\x3abackups\\x3abackups\\x3a\\x3apull\\x2doffsite:root@pam:"
    type: syncjob
    exitstatus: OK
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
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import ensure_job


def main():
    module = ProxmoxModule(
        service='PBS',
        argument_spec=dict(
            id=dict(type='str', required=True),
            type=dict(type='str', required=True, choices=['sync', 'verify', 'prune']),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            run=dict(type='bool', default=False),
            store=dict(type='str'),
            schedule=dict(type='str'),
            comment=dict(type='str'),
            ns=dict(type='str'),
            max_depth=dict(type='int'),
            remote=dict(type='str'),
            remote_store=dict(type='str'),
            remote_ns=dict(type='str'),
            owner=dict(type='str'),
            remove_vanished=dict(type='bool'),
            group_filter=dict(type='list', elements='str'),
            rate_in=dict(type='str'),
            burst_in=dict(type='str'),
            rate_out=dict(type='str'),
            burst_out=dict(type='str'),
            transfer_last=dict(type='int'),
            sync_direction=dict(type='str', choices=['pull', 'push']),
            ignore_verified=dict(type='bool'),
            outdated_after=dict(type='int'),
            keep_last=dict(type='int'),
            keep_hourly=dict(type='int'),
            keep_daily=dict(type='int'),
            keep_weekly=dict(type='int'),
            keep_monthly=dict(type='int'),
            keep_yearly=dict(type='int'),
            timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True,
    )
    module.run(ensure_job, target=lambda m: '{0} job {1!r}'.format(m.params['type'], m.params['id']))


if __name__ == '__main__':
    main()
