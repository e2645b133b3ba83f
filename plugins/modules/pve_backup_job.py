#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_backup_job
short_description: Manage scheduled backup (vzdump) jobs of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Creates, updates and removes the cluster-wide backup jobs of Proxmox VE (Datacenter, Backup), the
    C(/cluster/backup) API.
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - The guests a job backs up are chosen by exactly one of O(vmid), O(all) or O(pool). Giving one removes the
    other selections from the job, since Proxmox VE uses only one.
  - Needs C(Sys.Modify) on C(/) and C(Datastore.Allocate) on the target storage; a job that backs up a O(pool) also
    C(VM.Backup) on C(/pool/<pool>).
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
  id:
    description:
      - Id of the job, which identifies it across runs (letters, digits, V(-) and V(_), starting with a letter).
      - Proxmox VE generates ids like V(backup-1a2b3c4d-5e6f) for jobs made in its web interface; give such an id to
        manage one of those.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the job; V(absent) removes it (the backups it made are kept).
    type: str
    choices: [present, absent]
    default: present
  schedule:
    description:
      - When the job runs, as a Proxmox VE calendar event (V(daily), V(sat 02:00), V(*-*-* 21:30)).
    type: str
  storage:
    description:
      - Storage the backups are written to.
    type: str
  vmid:
    description:
      - Guests (VMs and containers) to back up, by id. Order and duplicates do not matter.
      - Mutually exclusive with O(all) and O(pool).
    type: list
    elements: int
  all:
    description:
      - Back up every guest of the cluster (or of O(node)), except those in O(exclude).
      - Mutually exclusive with O(vmid) and O(pool).
    type: bool
  pool:
    description:
      - Back up the guests of this resource pool.
      - Mutually exclusive with O(vmid) and O(all).
    type: str
  exclude:
    description:
      - Guests to leave out when O(all) is set. An empty list removes the exclusions.
    type: list
    elements: int
  node:
    description:
      - Run the job only for guests on this node. An empty string removes the restriction.
    type: str
  mode:
    description:
      - How guests are backed up.
    type: str
    choices: [snapshot, suspend, stop]
  compress:
    description:
      - Compression of the backup files (V('0') for none). Backups to a Proxmox Backup Server are always compressed.
    type: str
    choices: ['0', '1', gzip, lzo, zstd]
  enabled:
    description:
      - Whether the job runs on its schedule.
    type: bool
  comment:
    description:
      - Description of the job. An empty string removes it.
    type: str
  notes_template:
    description:
      - Template for the notes of each backup, with C({{guestname}}), C({{vmid}}), C({{node}}) and C({{cluster}}).
    type: str
  prune_backups:
    description:
      - Retention for this job's backups, replacing the storage's own. Keys are the C(keep-*) options without the
        C(keep-) prefix and with V(_) for V(-).
      - An empty dict removes the job's retention, so the storage's applies.
    type: dict
    suboptions:
      keep_all:
        description: Keep every backup (other keep options are then not allowed).
        type: bool
      keep_last:
        description: Keep the last this many backups.
        type: int
      keep_hourly:
        description: Keep backups of the last this many hours (one per hour).
        type: int
      keep_daily:
        description: Keep backups of the last this many days.
        type: int
      keep_weekly:
        description: Keep backups of the last this many weeks.
        type: int
      keep_monthly:
        description: Keep backups of the last this many months.
        type: int
      keep_yearly:
        description: Keep backups of the last this many years.
        type: int
  protected:
    description:
      - Mark the backups of this job protected (not pruned, not removable).
    type: bool
  repeat_missed:
    description:
      - Run a missed job as soon as possible after the node comes back.
    type: bool
  mailto:
    description:
      - E-mail addresses or users to notify (legacy notification mode). An empty list removes them.
    type: list
    elements: str
  notification_mode:
    description:
      - How the job notifies.
    type: str
    choices: [auto, legacy-sendmail, notification-system]
  bwlimit:
    description:
      - I/O bandwidth limit in KiB/s; V(0) for none.
    type: int
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Back up the production pool every night to the PBS storage, keeping 7 daily and 4 weekly backups
      proxfleet.proxmox.pve_backup_job:
        id: nightly-prod
        schedule: "*-*-* 01:30"
        storage: pbs-main
        pool: production
        mode: snapshot
        prune_backups:
          keep_daily: 7
          keep_weekly: 4
        notes_template: "{{ '{{guestname}}' }} on {{ '{{node}}' }}"
        comment: Nightly backup of production

    - name: Back up every guest but two, on Saturdays
      proxfleet.proxmox.pve_backup_job:
        id: weekly-all
        schedule: sat 03:00
        storage: local
        all: true
        exclude: [9000, 9001]
        compress: zstd

    - name: Pause a job without changing anything else
      proxfleet.proxmox.pve_backup_job:
        id: weekly-all
        enabled: false

    - name: Remove a job (its backups stay)
      proxfleet.proxmox.pve_backup_job:
        id: weekly-all
        state: absent
'''

RETURN = r'''
job:
  description:
    - The job as the cluster has it after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(prune-backups), V(notes-template), ...).
  returned: success
  type: dict
  sample:
    id: nightly-prod
    schedule: "*-*-* 01:30"
    storage: pbs-main
    pool: production
    mode: snapshot
    enabled: 1
    prune-backups: keep-daily=7,keep-weekly=4
    type: vzdump
diff:
  description: The managed options before and after, when the run changed something or diff mode is on.
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

PRUNE_KEYS = ('keep_all', 'keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly')


def _vmid_set(value):
    return sorted(set(int(v) for v in propstring.split_list(value)))


def _prune_props(value):
    """prune-backups as a dict of ints, whether the API gives a string or an object."""
    parsed = propstring.parse(value)
    return dict((key, int(propstring.pve_bool(val)) if key == 'keep-all' else int(val)) for key, val in parsed.items())


def _prune_serialize(value):
    return propstring.render(_prune_props(value))


SPEC = ResourceSpec(
    result_key='job',
    label='backup job',
    collection='/cluster/backup',
    id_field='id',
    # The list holds every job's whole configuration, and a missing job is then simply absent from it (the item
    # GET answers a missing id with a 400 parameter error, which only its wording tells from a bad request).
    read='list',
    # PVE's /cluster/backup has no digest parameter: jobs.cfg is locked on write instead.
    digest=False,
    # The schema makes these two need `storage` in the same request, even when only they change.
    requires={'notes-template': ('storage',), 'protected': ('storage',)},
    fields=[
        Field('schedule'),
        Field('storage'),
        Field('vmid', normalize=_vmid_set, serialize=lambda v: ','.join(str(i) for i in _vmid_set(v))),
        Field('all', kind='bool'),
        Field('pool'),
        Field('exclude', normalize=_vmid_set, serialize=lambda v: ','.join(str(i) for i in _vmid_set(v))),
        Field('node'),
        Field('mode'),
        Field('compress'),
        Field('enabled', kind='bool'),
        Field('comment'),
        Field('notes_template'),
        Field('prune_backups', normalize=_prune_props, serialize=_prune_serialize),
        Field('protected', kind='bool'),
        Field('repeat_missed', kind='bool'),
        Field('mailto', kind='set'),
        Field('notification_mode'),
        Field('bwlimit', kind='int'),
    ],
)


def desired_state(params):
    """Options the user gave, with empty values meaning 'remove' and one guest selection replacing the others."""
    desired = dict((field.name, params.get(field.name)) for field in SPEC.fields)
    prune = params.get('prune_backups')
    if prune is not None:
        keys = dict((key.replace('_', '-'), val) for key, val in prune.items() if val is not None)
        desired['prune_backups'] = keys or ABSENT
    for name in ('exclude', 'mailto'):
        if params.get(name) == []:
            desired[name] = ABSENT
    for name in ('node', 'comment', 'notes_template'):
        if params.get(name) == '':
            desired[name] = ABSENT
    chosen = [name for name in ('vmid', 'all', 'pool') if params.get(name) not in (None, False)]
    for name in ('vmid', 'all', 'pool'):
        if chosen and name not in chosen:
            desired[name] = ABSENT
    return desired


def run(module):
    params = module.params
    resource = ConfigResource(module, SPEC, params['id'])
    if params['state'] == 'absent':
        return resource.ensure('absent', {})
    return resource.ensure('present', desired_state(params))


def main():
    prune_options = dict((key, dict(type='bool' if key == 'keep_all' else 'int')) for key in PRUNE_KEYS)
    module = ProxmoxModule(
        argument_spec=dict(
            id=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            schedule=dict(type='str'),
            storage=dict(type='str'),
            vmid=dict(type='list', elements='int'),
            all=dict(type='bool'),
            pool=dict(type='str'),
            exclude=dict(type='list', elements='int'),
            node=dict(type='str'),
            mode=dict(type='str', choices=['snapshot', 'suspend', 'stop']),
            compress=dict(type='str', choices=['0', '1', 'gzip', 'lzo', 'zstd']),
            enabled=dict(type='bool'),
            comment=dict(type='str'),
            notes_template=dict(type='str'),
            prune_backups=dict(type='dict', options=prune_options),
            protected=dict(type='bool'),
            repeat_missed=dict(type='bool'),
            mailto=dict(type='list', elements='str'),
            notification_mode=dict(type='str', choices=['auto', 'legacy-sendmail', 'notification-system']),
            bwlimit=dict(type='int'),
        ),
        mutually_exclusive=[('vmid', 'all', 'pool')],
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'backup job {0!r}'.format(m.params['id']))


if __name__ == '__main__':
    main()
