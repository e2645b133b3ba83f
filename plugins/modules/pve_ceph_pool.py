#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ceph_pool
short_description: Manage the Ceph pools of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Creates, updates and destroys Ceph pools of a Proxmox VE cluster's hyper-converged Ceph (node, Ceph, Pools),
    the C(/nodes/{node}/ceph/pool) API. Creating, changing and destroying a pool run as tasks, which the module
    waits for.
  - Only the options you give are managed; an option left out keeps its value.
  - With O(pg_autoscale_mode=on) Ceph changes O(pg_num) by itself; leave O(pg_num) out then, or runs will report
    changes.
  - Pool quotas and CRUSH weights are not part of the Proxmox VE API, so this module does not manage them (use the
    C(ceph) command line on a node).
  - Needs C(Sys.Modify) on C(/) (and C(Datastore.Allocate) on C(/storage) for O(add_storages) and
    O(remove_storages)), C(Sys.Audit) on C(/) to read.
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
  name:
    description:
      - Name of the pool.
    type: str
    required: true
  node:
    description:
      - Node the API calls go to; any node of the cluster with Ceph installed.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the pool; V(absent) destroys it with its data (see O(remove_storages) and
        O(force)).
    type: str
    choices: [present, absent]
    default: present
  size:
    description:
      - Number of replicas per object (1 to 7). Proxmox VE's default on creation is 3.
      - Changing it makes Ceph set O(min_size) too (to C(osd_pool_default_min_size) of C(ceph.conf), 2 as Proxmox VE
        sets it up, capped at the new size). Without O(min_size) in the task the diff shows that new min_size; with
        O(min_size) the module sets it after the size, sending it again when Proxmox VE would skip it (it skips a
        value equal to the one read before the size change). Reading C(osd_pool_default_min_size) needs
        C(Sys.Audit) on C(/); without it the module assumes 2 and warns.
    type: int
  min_size:
    description:
      - Minimum number of replicas for I/O (1 to 7, at most O(size)). Proxmox VE's default on creation is 2.
    type: int
  pg_num:
    description:
      - Number of placement groups. Proxmox VE's default on creation is 128.
    type: int
  pg_num_min:
    description:
      - Minimum number of placement groups the autoscaler keeps.
    type: int
  pg_autoscale_mode:
    description:
      - Automatic placement group scaling.
    type: str
    choices: ['on', 'off', warn]
  application:
    description:
      - Application of the pool. Ceph enables it on a pool without one; a pool that has another application keeps
        it (asking for a different one fails before any write).
    type: str
    choices: [rbd, cephfs, rgw]
  crush_rule:
    description:
      - Name of the CRUSH rule mapping the pool's objects; it must exist (see C(/nodes/{node}/ceph/rules)).
    type: str
  target_size:
    description:
      - Estimated size of the pool for the autoscaler (V(100G), V(2T)).
    type: str
  target_size_ratio:
    description:
      - Estimated share of the cluster's capacity for the autoscaler.
    type: float
  erasure_coding:
    description:
      - Make an erasure-coded pool for RBD on creation, C(<name>-data), with a replicated C(<name>-metadata) pool
        that O(size), O(min_size) and O(crush_rule) then apply to. Only on creation; ignored for an existing pool.
      - Later runs with O(erasure_coding) manage C(<name>-metadata); destroy the two pools by their own names.
    type: dict
    suboptions:
      k:
        description: Number of data chunks.
        type: int
        required: true
      m:
        description: Number of coding chunks.
        type: int
        required: true
      failure_domain:
        description: CRUSH failure domain (V(host), V(osd)).
        type: str
      device_class:
        description: CRUSH device class of the OSDs to use.
        type: str
      profile:
        description: An existing erasure code profile to use instead of K, M, failure domain and device class.
        type: str
  add_storages:
    description:
      - On creation, add an RBD storage named after the pool (Proxmox VE's default is true for erasure-coded pools,
        false otherwise). Ignored for an existing pool.
    type: bool
  remove_storages:
    description:
      - With O(state=absent), also remove the storages that use the pool. Required when any does.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), destroy the pool even though it holds data or its storages hold disks.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A replicated pool for VM disks, with its storage
      proxfleet.proxmox.pve_ceph_pool:
        node: pve1
        name: vm-pool
        size: 3
        min_size: 2
        pg_autoscale_mode: "on"
        target_size_ratio: 0.5
        add_storages: true

    - name: An erasure-coded pool (4+2) spread over hosts
      proxfleet.proxmox.pve_ceph_pool:
        node: pve1
        name: archive
        erasure_coding:
          k: 4
          m: 2
          failure_domain: host

    - name: Destroy a pool, its storages and the data on it
      proxfleet.proxmox.pve_ceph_pool:
        node: pve1
        name: vm-pool
        state: absent
        remove_storages: true
        force: true
'''

RETURN = r'''
pool:
  description:
    - The pool as the cluster lists it after the run, with its usage (V(bytes_used), V(percent_used)) and, after a
      real run, its C(status) (C(/pool/{name}/status) with statistics); null once destroyed.
  returned: success
  type: dict
  sample:
    pool_name: vm-pool
    pool: 2
    size: 3
    min_size: 2
    pg_num: 128
    pg_autoscale_mode: "on"
    crush_rule_name: replicated_rule
    application_metadata: {rbd: {}}
    bytes_used: 1073741824
    percent_used: 0.01
    type: replicated
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ceph, propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def _float(value):
    return round(float(value), 6)


FIELDS = [
    Field('size', api_name='size', kind='int'),
    Field('min_size', api_name='min_size', kind='int'),
    Field('pg_num', api_name='pg_num', kind='int'),
    Field('pg_num_min', api_name='pg_num_min', kind='int'),
    Field('pg_autoscale_mode', api_name='pg_autoscale_mode'),
    Field('application', api_name='application'),
    Field('crush_rule', api_name='crush_rule'),
    Field('target_size', api_name='target_size', normalize=ceph.size_bytes),
    Field('target_size_ratio', api_name='target_size_ratio', normalize=_float),
]
NAMES = [field.name for field in FIELDS]


def comparable(pool):
    """The listed pool in the option names (crush rule by name, the application from its metadata)."""
    if pool is None:
        return None
    out = dict((name, pool.get(name)) for name in ('size', 'min_size', 'pg_num', 'pg_num_min', 'pg_autoscale_mode',
                                                   'target_size', 'target_size_ratio'))
    out['crush_rule'] = pool.get('crush_rule_name')
    apps = sorted((pool.get('application_metadata') or {}).keys())
    out['application'] = apps[0] if len(apps) == 1 else (','.join(apps) or None)
    return dict((k, v) for k, v in out.items() if v is not None)


def _erasure_param(ec):
    parts = {'k': ec['k'], 'm': ec['m']}
    for key in ('failure_domain', 'device_class', 'profile'):
        if ec.get(key):
            parts[key.replace('_', '-')] = ec[key]
    return propstring.render(parts, order=('k', 'm'))


def run(module):
    params = module.params
    name = params['name']
    api = ceph.CephApi(module.client, params['node'])
    api.check_node()
    current = api.pool(name)
    if current is None and params.get('erasure_coding') and params['state'] == 'present':
        # PVE names an erasure-coded pool's parts <name>-data and <name>-metadata; the options apply to the latter.
        current = api.pool(name + '-metadata')
        if current is not None:
            name = current['pool_name']
    check = module.check_mode

    if params['state'] == 'absent':
        if current is None:
            return {'changed': False, 'diff': {'before': {}, 'after': {}}, 'pool': None}
        storages = api.storages_of_pool(name)
        if storages and not params['remove_storages']:
            raise ProxmoxConfigError('the storages {0} use this pool: set remove_storages: true to remove them with '
                                     'it'.format(', '.join(storages)))
        used = int(current.get('bytes_used') or 0)
        if used and not params['force']:
            raise ProxmoxConfigError('the pool holds data ({0} bytes used): set force: true to destroy it with its '
                                     'data'.format(used))
        if not check:
            args = {}
            if params['remove_storages']:
                args['remove_storages'] = 1
            if params['force']:
                args['force'] = 1
            module.wait_task(module.client.delete(api.path('pool', name), **args))
        before = dict((k, v) for k, v in (comparable(current) or {}).items() if k in NAMES)
        return {'changed': True, 'diff': {'before': before, 'after': {}}, 'pool': None}

    desired = dict((n, params.get(n)) for n in NAMES)
    have = comparable(current) or {}
    size = desired['size'] if desired['size'] is not None else have.get('size', 3 if current is None else None)
    min_size = desired['min_size'] if desired['min_size'] is not None else have.get(
        'min_size', 2 if current is None else None)
    # A size change without min_size: Ceph sets min_size from the new size, which never exceeds it.
    resized_alone = current is not None and desired['size'] is not None and desired['min_size'] is None and \
        int(desired['size']) != int(have.get('size') or 0)
    if size is not None and min_size is not None and int(min_size) > int(size) and not resized_alone:
        raise ProxmoxConfigError('min_size {0} is above size {1}: a pool needs min_size <= size'.format(min_size, size))
    if desired['pg_num_min'] is not None and desired['pg_num'] is not None and desired['pg_num_min'] > desired['pg_num']:
        raise ProxmoxConfigError('pg_num_min {0} is above pg_num {1}'.format(desired['pg_num_min'], desired['pg_num']))
    if current is not None and desired['application'] and have.get('application') not in (None, desired['application']):
        raise ProxmoxConfigError('the pool has the application {0!r} enabled: Ceph does not switch it to {1!r} '
                                 'through the Proxmox VE API (Could not set: application)'.format(
                                     have['application'], desired['application']))
    if desired['crush_rule'] is not None and desired['crush_rule'] != have.get('crush_rule'):
        rules = api.rules()
        if desired['crush_rule'] not in rules:
            raise ProxmoxConfigError('no CRUSH rule {0!r} (the cluster has {1})'.format(
                desired['crush_rule'], ', '.join(rules)))
    if desired['target_size'] is not None:
        try:
            ceph.size_bytes(desired['target_size'])
        except ValueError as error:
            raise ProxmoxConfigError('target_size: {0}'.format(error)) from None

    if current is None:
        changes = compare(FIELDS, desired, None, creating=True)
        body = dict(changes.params, name=name)
        if params.get('erasure_coding'):
            body['erasure-coding'] = _erasure_param(params['erasure_coding'])
        if params.get('add_storages') is not None:
            body['add_storages'] = 1 if params['add_storages'] else 0
        after = dict(changes.after)
        final = dict(changes.params, pool_name=name)
        if not check:
            module.wait_task(module.client.post(api.path('pool'), **body))
            final = api.pool(name) or api.pool(name + '-metadata')
        return {'changed': True, 'diff': {'before': {}, 'after': after}, 'pool': _result(api, final, check)}

    changes = compare(FIELDS, desired, have)
    if not changes.changed:
        return {'changed': False, 'diff': changes.diff(), 'pool': _result(api, current, check)}
    final = dict(current)
    final.update(changes.params)
    resend = _min_size_after_resize(module, api, current, have, desired, changes, final)
    if not check:
        module.wait_task(module.client.put(api.path('pool', name), **changes.params))
        if resend is not None:
            # set_pool skipped min_size (equal to the value it read before the size change reset it): send it alone.
            module.wait_task(module.client.put(api.path('pool', name), min_size=resend))
        final = api.pool(name)
    return {'changed': True, 'diff': changes.diff(), 'pool': _result(api, final, check)}


def _min_size_after_resize(module, api, current, have, desired, changes, final):
    """A size change resets min_size (Ceph), and PVE's set_pool applies size first: show the reset in the diff
    when the task leaves min_size out, and return the min_size to send again when the task gives one that PVE
    would skip (equal to the value before) but the reset changed. Updates `final` as the pool would end."""
    if 'size' not in changes.params or current.get('type') == 'erasure':
        return None
    configured = api.default_min_size()
    if configured is None:
        configured = 2
        module.warn('could not read osd_pool_default_min_size (it needs Sys.Audit on /): assuming Proxmox VE\'s '
                    'default, 2, for the min_size Ceph sets with the new size')
    reset = ceph.min_size_after_resize(changes.params['size'], configured)
    old = int(have.get('min_size') or 0)
    given = desired['min_size']
    if given is None:
        final['min_size'] = reset
        if reset != old:
            changes.before['min_size'] = old
            changes.after['min_size'] = reset
        return None
    final['min_size'] = int(given)
    if 'min_size' not in changes.params and reset != int(given):
        return int(given)
    return None


def _result(api, pool, check):
    if pool is None or check:
        return pool
    out = dict(pool)
    out['status'] = api.pool_status(pool['pool_name'])
    return out


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            node=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            size=dict(type='int'),
            min_size=dict(type='int'),
            pg_num=dict(type='int'),
            pg_num_min=dict(type='int'),
            pg_autoscale_mode=dict(type='str', choices=['on', 'off', 'warn']),
            application=dict(type='str', choices=['rbd', 'cephfs', 'rgw']),
            crush_rule=dict(type='str'),
            target_size=dict(type='str'),
            target_size_ratio=dict(type='float'),
            erasure_coding=dict(type='dict', options=dict(
                k=dict(type='int', required=True),
                m=dict(type='int', required=True),
                failure_domain=dict(type='str'),
                device_class=dict(type='str'),
                profile=dict(type='str'),
            )),
            add_storages=dict(type='bool'),
            remove_storages=dict(type='bool', default=False),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'Ceph pool {0!r} (node {1})'.format(m.params['name'], m.params['node']))


if __name__ == '__main__':
    main()
