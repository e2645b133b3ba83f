#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_cluster_info
short_description: Facts about a Proxmox VE cluster, its quorum, nodes and version
version_added: 0.1.0
description:
  - Reads the name, quorum and configuration version of a Proxmox VE cluster, the status and usage of each of its
    nodes (online, CPU, memory, disk, uptime), and the Proxmox VE version of the node it talks to.
  - Works on a standalone node too; its cluster name is then null.
  - Needs C(Sys.Audit) on C(/) for the cluster status; nodes the user cannot audit are not listed.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options: {}
'''

EXAMPLES = r'''
- name: Read cluster facts with credentials from the environment (PROXMOX_HOST, PROXMOX_TOKEN_ID, ...)
  proxfleet.proxmox.pve_cluster_info:
  register: cluster

- name: Set the connection once for every module of the collection
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
      ca_path: /etc/pki/proxmox-ca.pem
  block:
    - name: Read cluster facts
      proxfleet.proxmox.pve_cluster_info:
      register: cluster

    - name: Stop when the cluster has lost quorum
      ansible.builtin.assert:
        that: cluster.cluster.quorate
        fail_msg: "{{ cluster.cluster.name }} has no quorum"

- name: Pin a self-signed node certificate instead of trusting a CA
  proxfleet.proxmox.pve_cluster_info:
    api_host: 192.0.2.10
    api_user: root@pam
    api_password: "{{ vault_root_password }}"
    fingerprint: "5C:9A:1E:...:D4"
'''

RETURN = r'''
cluster:
  description: The cluster as a whole.
  returned: success
  type: dict
  contains:
    name:
      description: Cluster name; null on a standalone node.
      type: str
      sample: prod-a
    quorate:
      description: Whether the cluster has quorum.
      type: bool
      sample: true
    nodes_total:
      description: Number of nodes in the cluster configuration.
      type: int
      sample: 3
    nodes_online:
      description: Number of nodes online.
      type: int
      sample: 3
    config_version:
      description: Version of the cluster configuration (corosync C(config_version)); null on a standalone node.
      type: int
      sample: 5
    version:
      description: Proxmox VE version of the node the module talks to.
      type: str
      sample: 9.0.10
    release:
      description: Proxmox VE release of that node.
      type: str
      sample: '9.0'
    url:
      description: The API endpoint that answered.
      type: str
      sample: https://pve1.example.com:8006
nodes:
  description: Every node, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
      sample: pve1
    nodeid:
      description: Corosync node id; null on a standalone node.
      type: int
      sample: 1
    ip:
      description: Cluster network address of the node.
      type: str
      sample: 192.0.2.11
    online:
      description: Whether the node is online.
      type: bool
      sample: true
    local:
      description: Whether this is the node the module talks to.
      type: bool
      sample: true
    cpu:
      description: CPU usage, from 0 to 1; null when offline.
      type: float
      sample: 0.02
    cpus:
      description: Number of CPUs; null when offline.
      type: int
      sample: 16
    memory_used:
      description: Memory used, in bytes; null when offline.
      type: int
      sample: 2147483648
    memory_total:
      description: Memory, in bytes; null when offline.
      type: int
      sample: 68719476736
    disk_used:
      description: Root file system used, in bytes; null when offline.
      type: int
      sample: 4294967296
    disk_total:
      description: Root file system size, in bytes; null when offline.
      type: int
      sample: 68719476736
    uptime:
      description: Seconds since the node booted; null when offline.
      type: int
      sample: 3600
    ssl_fingerprint:
      description: SHA-256 fingerprint of the node certificate, usable as O(fingerprint).
      type: str
      sample: 5C:9A:1E:...:D4
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def _node_facts(name, member, usage):
    online = usage.get('status') == 'online' if usage else bool(member.get('online', True))
    return {
        'name': name,
        'nodeid': member.get('nodeid'),
        'ip': member.get('ip'),
        'online': online,
        'local': bool(member.get('local', False)),
        'cpu': usage.get('cpu') if online else None,
        'cpus': usage.get('maxcpu') if online else None,
        'memory_used': usage.get('mem') if online else None,
        'memory_total': usage.get('maxmem') if online else None,
        'disk_used': usage.get('disk') if online else None,
        'disk_total': usage.get('maxdisk') if online else None,
        'uptime': usage.get('uptime') if online else None,
        'ssl_fingerprint': usage.get('ssl_fingerprint'),
    }


def cluster_facts(module):
    client = module.client
    status = client.get('/cluster/status') or []
    usage = dict((item['node'], item) for item in client.get('/nodes') or [] if item.get('node'))
    version = client.version()
    header = next((item for item in status if item.get('type') == 'cluster'), {})
    members = dict((item['name'], item) for item in status if item.get('type') == 'node')
    names = sorted(set(members) | set(usage))
    nodes = [_node_facts(name, members.get(name, {}), usage.get(name, {})) for name in names]
    online = sum(1 for node in nodes if node['online'])
    cluster = {
        'name': header.get('name'),
        # A standalone node has no quorum to lose.
        'quorate': bool(header.get('quorate', 1)),
        'nodes_total': header.get('nodes', len(nodes)),
        'nodes_online': online,
        'config_version': header.get('version'),
        'version': version.get('version'),
        'release': version.get('release'),
        'url': client.settings.url,
    }
    return {'changed': False, 'cluster': cluster, 'nodes': nodes}


def main():
    module = ProxmoxModule(argument_spec={}, supports_check_mode=True)
    module.run(cluster_facts, target='cluster')


if __name__ == '__main__':
    main()
