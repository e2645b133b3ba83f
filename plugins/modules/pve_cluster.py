#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_cluster
short_description: Create a Proxmox VE cluster, join nodes to it, remove nodes from it
version_added: 0.1.0
description:
  - Creates a cluster on a standalone node (O(cluster_name) without O(member_host)), the Datacenter, Cluster,
    Create Cluster action of Proxmox VE (C(POST /cluster/config)).
  - Joins the node O(api_host) points at to an existing cluster through one of its members (O(member_host),
    O(member_fingerprint), O(member_password)), as Join Cluster does (C(POST /cluster/config/join), run on the
    joining node). Join nodes one at a time (C(serial=1) or one task after the other), since a join takes a lock.
  - Both wait for their task and then for the cluster to be quorate with the node online, within O(timeout).
  - Idempotent. A node already in the cluster asked for is left unchanged; a node in another cluster is refused.
  - Everything that can be checked is checked before any write, in check mode too. The member is reached on port
    8006 with its certificate pinned to O(member_fingerprint) and O(member_password) logs in as C(root@pam) there,
    so a wrong fingerprint or password fails without a change. The cluster's name, a node name the cluster already
    has, guests on the joining node and the corosync links are checked as well.
  - O(state=absent) removes O(node) from the cluster (C(DELETE /cluster/config/nodes/{node})). Point O(api_host) at
    a member that stays; power the removed node off first, as the Proxmox VE documentation asks, and do not let it
    come back with its old configuration.
  - Privileges. Creating, joining and removing are C(root@pam) only in Proxmox VE (the API methods declare no
    permissions); API tokens, even root's, and other users are refused, so the module refuses them before its first
    request, whatever the state, in check mode too. Log in to the joining node with O(api_user=root@pam) and O(api_password), since its API tokens and tickets
    are replaced by the cluster's once it has joined (the module logs in again by itself). Reads need C(Sys.Audit)
    on C(/).
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
  state:
    description:
      - V(present) makes the node of O(api_host) a member of the cluster (creating it, or joining it through
        O(member_host)); V(absent) removes O(node) from the cluster of O(api_host).
    type: str
    choices: [present, absent]
    default: present
  cluster_name:
    description:
      - Name of the cluster. Required to create one (without O(member_host)).
      - When joining, the member's cluster must have this name; with O(state=absent), the cluster of O(api_host) must.
      - Letters, digits and V(-), at most 15 characters.
    type: str
  member_host:
    description:
      - Host name or IP address of a member of the cluster to join. Its API on port 8006 must be reachable from the
        joining node and from where the module runs.
    type: str
  member_fingerprint:
    description:
      - SHA-256 fingerprint of the certificate of O(member_host) (C(pvenode cert info), or C(nodes[].ssl_fingerprint)
        of M(proxfleet.proxmox.pve_cluster_info)), as colon-separated hex.
      - Required with O(member_host).
    type: str
  member_password:
    description:
      - Password of C(root@pam) on O(member_host). Required with O(member_host).
      - Write-only; it is only sent to the member (pinned) and to the joining node's join call, never shown.
    type: str
  links:
    description:
      - Corosync links of this node, in link order. Without them Proxmox VE uses the node's own address as link 0,
        which only works for a cluster with one link.
      - When joining, give one address (on the joining node) for each link of the cluster.
    type: list
    elements: dict
    suboptions:
      address:
        description: IP address (or host name) of this node on the link.
        type: str
        required: true
      number:
        description: Link number (0 to 7); by default the position in the list.
        type: int
      priority:
        description: Link priority (0 to 255), used on create only.
        type: int
  nodeid:
    description:
      - Corosync node id of this node; by default the lowest free one (1 when creating).
    type: int
  votes:
    description:
      - Quorum votes of this node; by default 1.
    type: int
  node:
    description:
      - The node to remove with O(state=absent). It must not be the node O(api_host) points at.
    type: str
  timeout:
    description:
      - Seconds to wait, in all, for the create or join task and for quorum afterwards.
    type: int
    default: 600
notes:
  - The join changes the joining node's certificate, users, tokens and storage configuration to the cluster's, as
    Proxmox VE always does.
  - The joining node gets a new certificate, signed by the cluster's CA, while the module still waits for its task.
    Connect to it with O(ca_path) set to a bundle holding both its own CA and the cluster's (C(pve-root-ca.pem) of a
    member); a O(fingerprint) pin of the joining node does not survive the join.
'''

EXAMPLES = r'''
- name: Create a cluster on the first node
  proxfleet.proxmox.pve_cluster:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve1_root_password }}"
    ca_path: /etc/pki/proxmox/pve1.pem
    cluster_name: prod
    links:
      - address: 10.10.10.1
      - address: 10.20.20.1

- name: Join the other nodes, one at a time
  proxfleet.proxmox.pve_cluster:
    api_host: "{{ item.host }}"
    api_user: root@pam
    api_password: "{{ item.root_password }}"
    fingerprint: "{{ item.fingerprint }}"
    cluster_name: prod
    member_host: pve1.example.com
    member_fingerprint: "{{ pve1_fingerprint }}"
    member_password: "{{ vault_pve1_root_password }}"
    links:
      - address: "{{ item.link0 }}"
      - address: "{{ item.link1 }}"
  loop: "{{ new_nodes }}"
  loop_control:
    label: "{{ item.host }}"

- name: Remove pve3 (powered off) through pve1
  proxfleet.proxmox.pve_cluster:
    api_host: pve1.example.com
    api_user: root@pam
    api_password: "{{ vault_pve1_root_password }}"
    state: absent
    node: pve3
'''

RETURN = r'''
cluster:
  description:
    - The cluster as the node of O(api_host) sees it after the run (in check mode, as it would be); null when that
      node is not in a cluster.
  returned: success
  type: dict
  contains:
    name:
      description: Name of the cluster.
      type: str
      sample: prod
    quorate:
      description: Whether the cluster has quorum.
      type: bool
    config_version:
      description: Version of the cluster's corosync configuration.
      type: int
    node:
      description: The node O(api_host) points at.
      type: str
      sample: pve2
    nodes:
      description: The members, by name, with C(name), C(nodeid), C(ip), C(online) and C(local).
      type: list
      elements: dict
diff:
  description: The cluster's name and member names before and after, when the run changed something or diff mode is on.
  returned: success
  type: dict
  contains:
    before:
      description: C(cluster_name) (null for a standalone node) and C(nodes) before the run.
      type: dict
    after:
      description: C(cluster_name) and C(nodes) after the run.
      type: dict
tasks:
  description: The create or join task, with its exit status.
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
      description: The task type from the UPID, for example V(clustercreate).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:pve1:00001A2B:0003C4D5:6756A1B0:clustercreate:prod-a:root@pam:"
      node: pve1
      type: clustercreate
      id: "prod-a"
      exitstatus: OK
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils.cluster import run
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            cluster_name=dict(type='str'),
            member_host=dict(type='str'),
            member_fingerprint=dict(type='str'),
            member_password=dict(type='str', no_log=True),
            links=dict(type='list', elements='dict', options=dict(
                address=dict(type='str', required=True),
                number=dict(type='int'),
                priority=dict(type='int'),
            )),
            nodeid=dict(type='int'),
            votes=dict(type='int'),
            node=dict(type='str'),
            timeout=dict(type='int', default=600),
        ),
        required_if=[('state', 'absent', ('node',))],
        required_together=[('member_host', 'member_fingerprint', 'member_password')],
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'node {0}'.format(m.params['api_host']))


if __name__ == '__main__':
    main()
