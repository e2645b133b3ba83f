#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ceph
short_description: Set up Proxmox VE's hyper-converged Ceph on a node
version_added: 0.1.0
description:
  - Per node - initialises the cluster's Ceph configuration (once for the cluster), and makes the node's monitor,
    manager and metadata server present or absent; sets or unsets the cluster-wide Ceph flags.
  - Ceph must be installed on the node first (C(pveceph install)); this module does not install packages.
  - The first monitor of a cluster brings a manager on its node with it, as Proxmox VE does.
  - Creating and removing daemons and changing flags run as tasks, which the module waits for.
  - Needs C(Sys.Modify) on C(/) (C(Sys.Audit) to read).
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
  node:
    description:
      - The node to set up.
    type: str
    required: true
  network:
    description:
      - Public network of Ceph (CIDR). Given to initialise Ceph, or to change the network in C(ceph.conf).
    type: str
  cluster_network:
    description:
      - Network for OSD replication and heartbeat traffic (CIDR); the public network when not given.
    type: str
  size:
    description:
      - Default number of replicas of new pools. Only set when Ceph is initialised; a different value later fails.
    type: int
  min_size:
    description:
      - Default minimum number of replicas of new pools. Only set when Ceph is initialised; a different value later
        fails.
    type: int
  monitor:
    description:
      - Whether the node runs a monitor (named after the node).
    type: str
    choices: [present, absent]
  monitor_address:
    description:
      - Address of a new monitor, when the node has several in the public network.
    type: str
  manager:
    description:
      - Whether the node runs a manager (named after the node).
    type: str
    choices: [present, absent]
  mds:
    description:
      - Whether the node runs a metadata server for CephFS (named after the node).
    type: str
    choices: [present, absent]
  mds_hotstandby:
    description:
      - Make a new metadata server a hot standby (standby-replay) of the active one.
    type: bool
  flags:
    description:
      - Cluster flags to set (V(true)) or unset (V(false)); flags not named are left as they are.
      - V(nobackfill), V(nodeep-scrub), V(nodown), V(noin), V(noout), V(norebalance), V(norecover), V(noscrub),
        V(notieragent), V(noup), V(pause).
    type: dict
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Initialise Ceph and run a monitor and a manager on each of three nodes
      proxfleet.proxmox.pve_ceph:
        node: "{{ item }}"
        network: 10.10.10.0/24
        monitor: present
        manager: present
      loop: [pve1, pve2, pve3]

    - name: Maintenance - keep OSDs in while nodes reboot
      proxfleet.proxmox.pve_ceph:
        node: pve1
        flags:
          noout: true

    - name: Maintenance done
      proxfleet.proxmox.pve_ceph:
        node: pve1
        flags:
          noout: false
'''

RETURN = r'''
ceph:
  description: The cluster's Ceph as the node sees it after the run (in check mode, as it would be).
  returned: success
  type: dict
  contains:
    node:
      description: The node.
      type: str
    initialized:
      description: Whether Ceph is initialised on the cluster.
      type: bool
    network:
      description: Public network.
      type: str
    cluster_network:
      description: Cluster network.
      type: str
    size:
      description: Default pool size.
      type: int
    min_size:
      description: Default pool min_size.
      type: int
    monitors:
      description: Names of the cluster's monitors.
      type: list
      elements: str
    managers:
      description: Names of the cluster's managers.
      type: list
      elements: str
    mds:
      description: Names of the cluster's metadata servers.
      type: list
      elements: str
    flags:
      description: Names of the flags that are set.
      type: list
      elements: str
diff:
  description: The managed settings before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Managed settings before the run.
      type: dict
    after:
      description: Managed settings after the run.
      type: dict
'''

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ceph
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

CONF_KEYS = 'global:public_network;global:cluster_network;global:osd_pool_default_size;global:osd_pool_default_min_size'
SERVICES = (('monitor', 'mon', 'monid'), ('manager', 'mgr', 'id'), ('mds', 'mds', 'name'))


def read_state(client, api):
    state = {'node': api.node, 'initialized': False, 'network': None, 'cluster_network': None, 'size': None,
             'min_size': None, 'monitors': [], 'managers': [], 'mds': [], 'flags': [], 'hosts': {}}
    try:
        conf = (client.get(api.path('cfg', 'value'), **{'config-keys': CONF_KEYS}) or {}).get('global') or {}
    except ProxmoxApiError as error:
        if ceph.not_initialized(error):
            return state
        raise
    state.update(initialized=True, network=conf.get('public_network'), cluster_network=conf.get('cluster_network'))
    for key, name in (('size', 'osd_pool_default_size'), ('min_size', 'osd_pool_default_min_size')):
        if conf.get(name) is not None:
            state[key] = int(conf[name])
    mons = client.get(api.path('mon')) or []
    state['monitors'] = sorted(m['name'] for m in mons)
    state['hosts']['monitor'] = dict((m['name'], m.get('host')) for m in mons)
    if mons:
        for option, path, _key in SERVICES[1:]:
            items = client.get(api.path(path)) or []
            state['managers' if option == 'manager' else 'mds'] = sorted(i['name'] for i in items)
            state['hosts'][option] = dict((i['name'], i.get('host')) for i in items)
        state['flags'] = api.flags()
    return state


def on_node(state, option, node):
    """The daemon of this kind that runs on the node (by host, else by the node's name), or None."""
    hosts = state['hosts'].get(option) or {}
    for name, host in hosts.items():
        if host == node:
            return name
    return node if node in hosts else None


def shown(state, params):
    """The managed settings of a state, keyed as the options are."""
    out = {}
    for key in ('network', 'cluster_network', 'size', 'min_size'):
        if params.get(key) is not None:
            out[key] = state.get(key)
    for option, _path, _key in SERVICES:
        if params.get(option):
            out[option] = 'present' if on_node(state, option, state['node']) else 'absent'
    if params.get('flags'):
        out['flags'] = dict((flag, flag in state['flags']) for flag, value in params['flags'].items() if value is not None)
    if any(params.get(k) is not None for k in ('network', 'cluster_network', 'size', 'min_size')):
        out['initialized'] = state['initialized']
    return out


def public(state):
    return dict((k, v) for k, v in state.items() if k != 'hosts')


def run(module):
    params = module.params
    client = module.client
    node = params['node']
    api = ceph.CephApi(client, node)
    api.check_node()
    unknown = sorted(set(params.get('flags') or {}) - set(ceph.FLAGS))
    if unknown:
        raise ProxmoxConfigError('unknown Ceph flag {0} (the flags are {1})'.format(
            ', '.join(unknown), ', '.join(ceph.FLAGS)))
    for flag, value in (params.get('flags') or {}).items():
        try:
            boolean(value)
        except TypeError:
            raise ProxmoxConfigError('flag {0}: {1!r} is not a boolean (true sets it, false unsets it)'.format(
                flag, value)) from None
    if params.get('size') is not None and params.get('min_size') is not None and params['min_size'] > params['size']:
        raise ProxmoxConfigError('min_size {0} is above size {1}'.format(params['min_size'], params['size']))
    state = read_state(client, api)
    before = shown(state, params)
    check = module.check_mode
    changed = False
    predicted = dict(state, hosts=dict((k, dict(v)) for k, v in state['hosts'].items()))

    # ------------------------------------------------------------ init
    wants_init = any(params.get(k) is not None for k in ('network', 'cluster_network', 'size', 'min_size'))
    wants_daemon = any(params.get(o) == 'present' for o, _p, _k in SERVICES)
    if not state['initialized'] and not wants_init and (wants_daemon or params.get('flags')):
        raise ProxmoxConfigError('Ceph is not initialised on this cluster: give network (and size, min_size) to '
                                 'initialise it')
    if state['initialized']:
        fixed = [(k, state[k], params[k]) for k in ('size', 'min_size')
                 if params.get(k) is not None and state.get(k) is not None and state[k] != params[k]]
        if fixed:
            raise ProxmoxConfigError('{0}: only set when Ceph is initialised; change the pools with '
                                     'proxfleet.proxmox.pve_ceph_pool instead'.format(
                                         '; '.join('{0} is {1}, asked {2}'.format(*f) for f in fixed)))
    init = {}
    if params.get('network') and params['network'] != state['network']:
        init['network'] = params['network']
    if params.get('cluster_network') and params['cluster_network'] != state['cluster_network']:
        init['cluster-network'] = params['cluster_network']
    if wants_init and not state['initialized']:
        for key in ('size', 'min_size'):
            if params.get(key) is not None:
                init[key] = params[key]
        init.setdefault('_first', True)
    if init:
        changed = True
        first = init.pop('_first', False)
        predicted.update(initialized=True)
        if init.get('network'):
            predicted['network'] = init['network']
            # PVE's init sets the cluster network to the public one unless told otherwise.
            predicted['cluster_network'] = init.get('cluster-network') or init['network']
        if init.get('cluster-network'):
            predicted['cluster_network'] = init['cluster-network']
        if first:
            predicted['size'] = params.get('size') or 3
            predicted['min_size'] = params.get('min_size') or 2
        if not check:
            client.post(api.path('init'), **init)

    # ------------------------------------------------------------ daemons
    for option, path, _key in SERVICES:
        want = params.get(option)
        if not want:
            continue
        have = on_node(predicted, option, node)
        listing = 'monitors' if option == 'monitor' else ('managers' if option == 'manager' else 'mds')
        if want == 'present' and not have:
            changed = True
            args = {}
            if option == 'monitor' and params.get('monitor_address'):
                args['mon-address'] = params['monitor_address']
            if option == 'mds' and params.get('mds_hotstandby') is not None:
                args['hotstandby'] = 1 if params['mds_hotstandby'] else 0
            if not check:
                module.wait_task(client.post(api.path(path, node), **args))
            predicted['hosts'].setdefault(option, {})[node] = node
            predicted[listing] = sorted(set(predicted[listing]) | {node})
            if option == 'monitor' and not state['monitors'] and not predicted['managers']:
                # The cluster's first monitor brings a manager on its node with it, as PVE does.
                predicted['hosts'].setdefault('manager', {})[node] = node
                predicted['managers'] = [node]
        elif want == 'absent' and have:
            changed = True
            if not check:
                module.wait_task(client.delete(api.path(path, have)))
            predicted['hosts'][option].pop(have, None)
            predicted[listing] = sorted(set(predicted[listing]) - {have})

    # ------------------------------------------------------------ flags
    flags = dict((k, boolean(v)) for k, v in (params.get('flags') or {}).items() if v is not None)
    to_change = dict((k, v) for k, v in flags.items() if v != (k in predicted['flags']))
    if to_change:
        changed = True
        if not check:
            module.wait_task(client.put(client.path('cluster', 'ceph', 'flags'),
                                        **dict((k, 1 if v else 0) for k, v in to_change.items())))
        predicted['flags'] = sorted((set(predicted['flags']) | set(k for k, v in to_change.items() if v))
                                    - set(k for k, v in to_change.items() if not v))

    final = read_state(client, api) if changed and not check else predicted
    after = shown(final, params)
    return {'changed': changed, 'diff': {'before': before, 'after': after}, 'ceph': public(final)}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            network=dict(type='str'),
            cluster_network=dict(type='str'),
            size=dict(type='int'),
            min_size=dict(type='int'),
            monitor=dict(type='str', choices=['present', 'absent']),
            monitor_address=dict(type='str'),
            manager=dict(type='str', choices=['present', 'absent']),
            mds=dict(type='str', choices=['present', 'absent']),
            mds_hotstandby=dict(type='bool'),
            flags=dict(type='dict'),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'Ceph on node {0!r}'.format(m.params['node']))


if __name__ == '__main__':
    main()
