#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_ceph_info
short_description: Read the state of a Proxmox VE cluster's Ceph
version_added: 0.1.0
description:
  - Reads the hyper-converged Ceph of a Proxmox VE cluster - health with its checks, monitors and quorum,
    managers, metadata servers, the OSDs (in or out, up or down, device class, usage), the pools with their usage,
    and the cluster flags.
  - A cluster without Ceph (not initialised, or not installed on the node) gives C(initialized=false)
    rather than an error.
  - Needs C(Sys.Audit) on C(/).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  node:
    description:
      - Node the API calls go to; by default the first online node.
    type: str
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Read the Ceph state
      proxfleet.proxmox.pve_ceph_info:
      register: ceph

    - name: Stop when Ceph is not healthy
      ansible.builtin.assert:
        that:
          - ceph.ceph.health.status == 'HEALTH_OK'
          - ceph.ceph.osds | rejectattr('up') | list | length == 0
'''

RETURN = r'''
ceph:
  description: The cluster's Ceph.
  returned: success
  type: dict
  contains:
    initialized:
      description: Whether Ceph is set up on the cluster; when false, the other keys are empty.
      type: bool
    node:
      description: The node that was asked.
      type: str
    health:
      description: Health status (V(HEALTH_OK), V(HEALTH_WARN), V(HEALTH_ERR)) and checks by code, each with severity and message.
      type: dict
    quorum:
      description: Names of the monitors in quorum.
      type: list
      elements: str
    monitors:
      description: Monitors (name, host, addr, rank, quorum, state).
      type: list
      elements: dict
    managers:
      description: Managers (name, host, state V(active) or V(standby)).
      type: list
      elements: dict
    mds:
      description: Metadata servers (name, host, state).
      type: list
      elements: dict
    osds:
      description:
        - OSDs from the OSD tree, one per item - id, name, host, status, up and in (booleans), device_class,
          blfsdev, dbdev, waldev, total_space, bytes_used, percent_used.
      type: list
      elements: dict
    pools:
      description: Pools as the API lists them (pool_name, size, min_size, pg_num, ..., bytes_used, percent_used).
      type: list
      elements: dict
    flags:
      description: Names of the cluster flags that are set (V(noout), V(noscrub), ...).
      type: list
      elements: str
    status:
      description: The whole C(ceph status) document (monmap, osdmap, pgmap, mgrmap, fsmap).
      type: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ceph
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def run(module):
    client = module.client
    node = module.params.get('node')
    nodes = client.get(client.path('nodes')) or []
    names = sorted(item.get('node') for item in nodes)
    if node is None:
        online = sorted(item['node'] for item in nodes if item.get('status') == 'online')
        node = (online or names or [None])[0]
    elif node not in names:
        raise ProxmoxConfigError('no such cluster node {0!r} (the cluster has {1})'.format(node, ', '.join(names)))
    api = ceph.CephApi(client, node)
    empty = {'initialized': False, 'node': node, 'health': {}, 'quorum': [], 'monitors': [], 'managers': [],
             'mds': [], 'osds': [], 'pools': [], 'flags': [], 'status': {}}
    try:
        status = client.get(client.path('cluster', 'ceph', 'status'))
    except ProxmoxApiError as error:
        if ceph.not_initialized(error):
            return {'ceph': empty}
        raise
    health = status.get('health') or {}
    checks = dict((code, {'severity': check.get('severity'), 'message': (check.get('summary') or {}).get('message')})
                  for code, check in (health.get('checks') or {}).items())
    result = dict(empty, initialized=True, status=status, quorum=status.get('quorum_names') or [],
                  health={'status': health.get('status'), 'checks': checks})
    result['monitors'] = client.get(api.path('mon')) or []
    result['managers'] = client.get(api.path('mgr')) or []
    result['mds'] = client.get(api.path('mds')) or []
    result['osds'] = api.osds()
    result['pools'] = api.pools()
    result['flags'] = api.flags()
    return {'ceph': result}


def main():
    module = ProxmoxModule(argument_spec=dict(node=dict(type='str')), supports_check_mode=True)
    module.run(run, target='Ceph')


if __name__ == '__main__':
    main()
