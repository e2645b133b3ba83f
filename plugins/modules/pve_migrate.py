#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_migrate
short_description: Move a Proxmox VE VM or container to another node or to another cluster
version_added: 0.1.0
description:
  - Moves a guest (VM or container), found by O(vmid) or O(name), to O(target_node) of the same cluster, or to
    another cluster given by O(target_cluster) (Proxmox VE's remote migration).
  - Within a cluster, a running VM is migrated live (with its local disks, onto O(target_storage) and
    O(storage_map) when given), a stopped one offline; a running container is migrated in restart mode (shut down,
    moved, started again). A guest managed by HA is moved through the HA manager
    (C(/cluster/ha/resources/{sid}/migrate)), and the module waits until the HA manager has it on the target node.
  - Across clusters, the guest is copied to the target cluster's node that answers O(target_cluster.api_host), with
    the target vmid O(target_vmid), its disks on the mapped storages and its network devices on the mapped bridges.
    The source stays, stopped and locked, unless O(delete_source) is set, in which case Proxmox VE removes it only
    after the migration succeeded. Proxmox VE calls remote migration experimental.
  - Idempotent. A guest already on O(target_node) is left alone; for a remote migration, a guest with the same name
    and type already under the target vmid on the target cluster is taken as the result of an earlier run.
  - Every check that can be made before a write is made first (the guest, the target node and whether it is
    online, storages, the target cluster's certificate, token and free vmid). RV(plan) tells where the guest goes
    and the request that moves it; in check mode nothing else happens.
  - The module waits for the migration task within O(timeout).
  - Needs C(VM.Migrate) on C(/vms/{vmid}); a guest managed by HA needs C(Sys.Console) on C(/); a storage mapping
    needs C(Datastore.AllocateSpace) on the target storages. For a remote migration the target cluster's token
    needs C(VM.Allocate), C(VM.Audit) and C(VM.Config.*) on C(/vms/{target vmid}) and C(Sys.Incoming) on C(/) (the migration
    tunnel checks both), C(Datastore.AllocateSpace) on the target storages and C(SDN.Use) on the target bridges,
    and C(Sys.Audit) on C(/) to read the cluster's state.
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
  vmid:
    description:
      - The guest to move, by id. Exactly one of O(vmid) and O(name) is required.
    type: int
  name:
    description:
      - The guest to move, by name (the VM name or the container's host name). It must be unique in the cluster.
    type: str
  target_node:
    description:
      - Node of the same cluster to move the guest to. Exactly one of O(target_node) and O(target_cluster) is
        required.
      - The node must be a member of the cluster and online.
    type: str
  target_cluster:
    description:
      - The cluster to move the guest to (remote migration). Its node that answers O(target_cluster.api_host)
        receives the guest.
      - The module connects to it too, to check it before anything moves and to read the result.
      - Needs an API token, which the source cluster uses to talk to the target.
    type: dict
    suboptions:
      cluster:
        description:
          - Name of a cluster of the estate (O(estate), else O(estate_file)) to take the target's connection from;
            the other suboptions given override the estate's values.
          - Without it, O(target_cluster.api_host), O(target_cluster.api_token_id) and
            O(target_cluster.api_token_secret) are required.
        type: str
        version_added: 0.1.0
      api_host:
        description: Host name or address of a node of the target cluster, as the source cluster reaches it.
        type: str
      api_port:
        description: Port of the target cluster's API.
        type: int
        default: 8006
      api_token_id:
        description: The target cluster's API token, as C(user@realm!name).
        type: str
      api_token_secret:
        description: The secret of O(target_cluster.api_token_id). It never appears in results, diffs or messages.
        type: str
      fingerprint:
        description:
          - SHA-256 fingerprint of the target's certificate (C(AA:BB:...)). The module pins it for its own
            connection and the source cluster pins it for the migration, so a wrong fingerprint fails before
            anything moves.
          - When left out, the module reads the fingerprint the node serves over a connection verified with
            O(target_cluster.ca_path) (or the system's CAs) and passes that on.
        type: str
      ca_path:
        description: PEM file with the CA that signed the target's certificate, for the module's own connection.
        type: path
      validate_certs:
        description: Verify the target's certificate (the module's own connection) when no fingerprint is pinned.
        type: bool
        default: true
      api_timeout:
        description: Seconds per request to the target cluster.
        type: int
        default: 30
  online:
    description:
      - Migrate a running VM live. When V(false), a running VM is refused (stop it first). Ignored for a stopped VM
        and for containers.
    type: bool
    default: true
  with_local_disks:
    description:
      - Move the disks of a running VM that are on storages of the source node (not shared) with a live migration.
        A remote migration always moves them.
    type: bool
    default: true
  restart:
    description:
      - Migrate a running container in restart mode (shut down, move, start). When V(false), a running container is
        refused (stop it first).
    type: bool
    default: true
  restart_timeout:
    description:
      - Seconds a running container has to shut down before it is stopped, in restart mode.
    type: int
  target_storage:
    description:
      - The storage every disk goes to (unless O(storage_map) names its storage). Within a cluster, without it and
        O(storage_map) disks keep their storages.
      - A remote migration needs O(target_storage) or O(storage_map).
    type: str
  storage_map:
    description:
      - Storage of the source -> storage of the target, for disks that do not all go to one storage.
    type: dict
  target_bridge:
    description:
      - Remote migration only. The bridge every network device goes to (unless O(bridge_map) names its bridge).
        Without it and O(bridge_map), each device keeps its bridge's name.
    type: str
  bridge_map:
    description:
      - Remote migration only. Bridge of the source -> bridge of the target.
    type: dict
  target_vmid:
    description:
      - Remote migration only. The guest's id on the target cluster; the source's vmid when left out.
    type: int
  delete_source:
    description:
      - Remote migration only. Remove the guest and its disks from the source cluster once the migration
        succeeded. Without it the source is kept, stopped and locked (C(migrate)), as Proxmox VE leaves it.
    type: bool
    default: false
  bwlimit:
    description:
      - I/O bandwidth limit of the migration, in KiB/s.
    type: int
  timeout:
    description:
      - Seconds to wait for the migration (the task, or the HA manager's move) in all.
    type: int
    default: 600
notes:
  - Within a cluster the target node is checked to be online before the request; Proxmox VE checks more (local
    resources, replication, HA rules) and its answer is reported as it is.
seealso:
  - name: Proxmox VE migration
    description: Migrating guests, online and offline, within and across clusters.
    link: https://pve.proxmox.com/pve-docs/chapter-qm.html#qm_migration
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Move a VM to another node of its cluster (live when it runs, with its local disks)
      proxfleet.proxmox.pve_migrate:
        vmid: 101
        target_node: pve2

    - name: Move a container by name; a running one is restarted on the target
      proxfleet.proxmox.pve_migrate:
        name: dns-01
        target_node: pve3
        restart_timeout: 60

    - name: Move a VM to another cluster, its disks to local-zfs and its NICs to vmbr1, then delete the source
      proxfleet.proxmox.pve_migrate:
        vmid: 120
        target_cluster:
          api_host: pve-b1.example.com
          api_token_id: migrate@pve!ansible
          api_token_secret: "{{ vault_cluster_b_token_secret }}"
          fingerprint: "5C:9A:...:D4"
        target_vmid: 4120
        target_storage: local-zfs
        storage_map:
          ceph-fast: rbd-ssd
        target_bridge: vmbr1
        delete_source: true
        timeout: 3600

    - name: Show what a move would do
      proxfleet.proxmox.pve_migrate:
        vmid: 101
        target_node: pve2
      check_mode: true
      register: move

    - name: Print the plan
      ansible.builtin.debug:
        var: move.plan

- name: Between two clusters of an estate, by name (the AWX estate credential sets PROXMOX_ESTATE_FILE)
  proxfleet.proxmox.pve_migrate:
    cluster: prod-a
    vmid: 130
    target_cluster:
      cluster: prod-b
    target_storage: local-lvm
'''

RETURN = r'''
guest:
  description:
    - The guest after the run (in check mode, where it would be), from C(/cluster/resources) of the cluster it is
      on. For a remote migration that is the target cluster, named in RV(guest.cluster).
  returned: success
  type: dict
  contains:
    vmid:
      description: The guest's id.
      type: int
    name:
      description: The guest's name.
      type: str
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node it is on.
      type: str
    status:
      description: Its status (V(running), V(stopped)).
      type: str
    hastate:
      description: Its HA state when HA manages it.
      type: str
    cluster:
      description: URL of the cluster it is on.
      type: str
  sample:
    vmid: 101
    name: web-01
    type: qemu
    node: pve2
    status: running
    cluster: https://pve1.example.com:8006
plan:
  description:
    - What the module did or, in check mode, would do. V(action) is V(none) when the guest is already where it
      should be. The API token secret is never part of it.
  returned: success
  type: dict
  contains:
    action:
      description: V(none), V(migrate), V(ha-migrate) or V(remote-migrate).
      type: str
    vmid:
      description: The guest's id on the source.
      type: int
    type:
      description: V(qemu) or V(lxc).
      type: str
    source_node:
      description: The node the guest is on before the run.
      type: str
    target_node:
      description: The node it goes to (for a remote migration, the target cluster's node that answers its API).
      type: str
    target_cluster:
      description: URL of the target cluster (remote migration).
      type: str
    target_vmid:
      description: The guest's id on the target (remote migration).
      type: int
    params:
      description: The parameters of the migration request, the remote endpoint without its token secret.
      type: dict
  sample:
    action: migrate
    vmid: 101
    type: qemu
    source_node: pve1
    target_node: pve2
    params:
      target: pve2
      online: 1
      with-local-disks: 1
diff:
  description: Where the guest is before and after (node; for a remote migration also the cluster and vmid).
  returned: success
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
tasks:
  description: The tasks the module waited for.
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
      description: The task type from the UPID, for example V(qmigrate).
      type: str
    id:
      description: The task's object id from the UPID (a VMID, a storage, a datastore), empty when it has none.
      type: str
    exitstatus:
      description: "The task's exit status: V(OK) for success, V(WARNINGS: n) when it logged warnings."
      type: str
  sample:
    - upid: "UPID:pve1:00001A2B:0003C4D5:6756A1B0:qmigrate:101:automation@pve!ansible:"
      node: pve1
      type: qmigrate
      id: "101"
      exitstatus: OK
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guests as g
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

REMOTE_ONLY = ('target_bridge', 'bridge_map', 'target_vmid')
GUEST_KEYS = ('vmid', 'name', 'type', 'node', 'status', 'hastate')


def guest_view(guest, url):
    view = dict((key, guest.get(key)) for key in GUEST_KEYS if guest.get(key) is not None)
    view['vmid'] = int(view['vmid'])
    view['cluster'] = url
    return view


def _storage_content(client):
    """{storage id: set of content types} from /storage (one read)."""
    out = {}
    for item in client.get('/storage') or []:
        if isinstance(item, dict) and item.get('storage'):
            out[item['storage']] = set(str(item.get('content') or '').replace(';', ',').split(','))
    return out


def check_storages(client, params, guest_type, url, where):
    """Every storage the mapping names exists on the cluster and takes the guest's disks."""
    wanted = set((params.get('storage_map') or {}).values())
    if params.get('target_storage'):
        wanted.add(params['target_storage'])
    if not wanted:
        return
    content = 'images' if guest_type == 'qemu' else 'rootdir'
    known = _storage_content(client)
    for store in sorted(wanted):
        if store not in known:
            raise ProxmoxConfigError('storage {0!r} does not exist on {1} (its storages: {2})'.format(
                store, where, ', '.join(sorted(known)) or 'none'), url=url)
        if content not in known[store]:
            raise ProxmoxConfigError('storage {0!r} on {1} does not hold {2} (content {3})'.format(
                store, where, 'VM disks (images)' if guest_type == 'qemu' else 'container volumes (rootdir)',
                ','.join(sorted(c for c in known[store] if c)) or 'none'), url=url)


def check_running(guest, params):
    running = guest.get('status') == 'running'
    if running and guest['type'] == 'qemu' and not params['online']:
        raise ProxmoxConfigError('{0} is running and online is false: stop it first or allow a live migration'.format(
            g.describe_guest(guest)))
    if running and guest['type'] == 'lxc' and not params['restart']:
        raise ProxmoxConfigError('{0} is running and restart is false: stop it first or allow a restart migration'.format(
            g.describe_guest(guest)))
    return running


def finish(module, guest, plan, before, after, changed):
    result = {'changed': changed, 'guest': guest, 'plan': plan}
    if changed or module._diff:
        result['diff'] = {'before': before, 'after': after}
    return result


# ---------------------------------------------------------------- within the cluster

def local_migration(module, source):
    params = module.params
    client = module.client
    url = module.target_url
    target = params['target_node']
    plan = {'action': 'none', 'vmid': int(source['vmid']), 'type': source['type'], 'source_node': source['node'],
            'target_node': target}
    before = {'node': source['node']}
    if source['node'] == target:
        return finish(module, guest_view(source, url), plan, before, before, False)
    nodes = g.cluster_nodes(client)
    if target not in nodes:
        raise ProxmoxConfigError('the cluster has no node {0!r} (its nodes: {1})'.format(
            target, ', '.join(sorted(nodes))), url=url)
    if not nodes[target]['online']:
        raise ProxmoxConfigError('node {0!r} is offline: {1} cannot move there'.format(
            target, g.describe_guest(source)), url=url)
    running = check_running(source, params)
    storages = g.pair_list(params.get('target_storage'), params.get('storage_map'))
    sid = '{0}:{1}'.format('vm' if source['type'] == 'qemu' else 'ct', source['vmid'])
    if source.get('hastate'):
        if storages:
            raise ProxmoxConfigError('{0} is managed by HA, which moves it without a storage mapping: leave out '
                                     'target_storage and storage_map'.format(g.describe_guest(source)), url=url)
        plan.update(action='ha-migrate', params={'sid': sid, 'node': target})
        path = client.path('cluster', 'ha', 'resources', sid, 'migrate')
    else:
        send = {'target': target}
        if source['type'] == 'qemu':
            if running:
                send['online'] = 1
                if params['with_local_disks']:
                    send['with-local-disks'] = 1
            if storages:
                send['targetstorage'] = storages
        else:
            if running:
                send['restart'] = 1
                if params.get('restart_timeout') is not None:
                    send['timeout'] = params['restart_timeout']
            if storages:
                send['target-storage'] = storages
        if params.get('bwlimit') is not None:
            send['bwlimit'] = params['bwlimit']
        check_storages(client, params, source['type'], url, 'the cluster')
        plan.update(action='migrate', params=send)
        path = client.path('nodes', source['node'], source['type'], source['vmid'], 'migrate')
    after = {'node': target}
    if module.check_mode:
        return finish(module, guest_view(dict(source, node=target), url), plan, before, after, True)
    if plan['action'] == 'ha-migrate':
        answer = client.post(path, node=target)
        # PVE 9 names the HA rules that keep the guest where it is; the HA manager then never moves it.
        blocking = (answer or {}).get('blocking-resources') if isinstance(answer, dict) else None
        if blocking:
            raise ProxmoxError('the HA manager will not move {0} to node {1!r}: blocked by {2}'.format(
                g.describe_guest(source), target, ', '.join('{0} ({1})'.format(b.get('sid'), b.get('cause'))
                                                            for b in blocking)), url=url)
        moved = g.wait_for_ha_move(client, source['vmid'], target, module.deadline, url=url)
    else:
        module.wait_task(client.post(path, **plan['params']))
        moved = g.find_guest(g.list_guests(client), vmid=source['vmid'], url=url)
    return finish(module, guest_view(moved, url), plan, before, {'node': moved.get('node')}, True)


# ---------------------------------------------------------------- across clusters

def resolve_target_cluster(module):
    """target_cluster from the estate when it names a cluster (its own suboptions over the estate's values), and
    its required connection options checked: before any connection."""
    spec = module.params.get('target_cluster')
    if not spec:
        return
    name = spec.get('cluster')
    if name:
        given = module.given_suboptions('target_cluster')
        entry = module.estate_entry(name, 'PVE')
        hosts = entry.get('api_host') or []
        entry['api_host'] = hosts[0] if hosts else None
        for key, value in entry.items():
            if key not in given and (key in spec or key == 'api_user'):
                spec[key] = value
    missing = [key for key in ('api_host', 'api_token_id', 'api_token_secret') if not spec.get(key)]
    if missing:
        module.fail_json(msg='target_cluster needs {0} (or cluster, naming a cluster of the estate whose entry has '
                             'them): the source cluster reaches the target with an API token'.format(', '.join(missing)))


def target_client(params):
    spec = params['target_cluster']
    settings = ConnectionSettings(
        host=spec['api_host'], port=spec.get('api_port'), user=spec.get('api_user'), token_id=spec['api_token_id'],
        token_secret=spec['api_token_secret'], validate_certs=spec.get('validate_certs', True),
        ca_path=spec.get('ca_path'), fingerprint=spec.get('fingerprint'), timeout=spec.get('api_timeout'))
    return ProxmoxClient(settings)


def remote_migration(module, source, remote, remote_guests):
    params = module.params
    spec = params['target_cluster']
    client = module.client
    url = module.target_url
    remote_url = remote.settings.url
    target_vmid = params.get('target_vmid') or int(source['vmid'])
    plan = {'action': 'none', 'vmid': int(source['vmid']), 'type': source['type'], 'source_node': source['node'],
            'target_cluster': remote_url, 'target_vmid': target_vmid}
    before = {'cluster': url, 'node': source['node'], 'vmid': int(source['vmid'])}
    taken = [x for x in remote_guests if int(x['vmid']) == target_vmid]
    if taken:
        there = taken[0]
        if there.get('type') == source['type'] and there.get('name') == source.get('name'):
            plan['target_node'] = there.get('node')
            result = finish(module, guest_view(there, remote_url), plan, before, before, False)
            result['msg'] = '{0} is already on the target cluster as {1}'.format(
                g.describe_guest(source), g.describe_guest(there))
            return result
        raise ProxmoxConfigError('vmid {0} is taken on the target cluster {1} by {2}: give another target_vmid'.format(
            target_vmid, remote_url, g.describe_guest(there)), url=url)
    if source.get('hastate'):
        raise ProxmoxConfigError('{0} is managed by HA, which cannot move it to another cluster: remove it from HA '
                                 'first'.format(g.describe_guest(source)), url=url)
    running = check_running(source, params)
    storages = g.pair_list(params.get('target_storage'), params.get('storage_map'))
    if not storages:
        raise ProxmoxConfigError('a remote migration needs target_storage or storage_map: Proxmox VE wants every '
                                 'disk mapped to a storage of the target cluster', url=url)
    bridges = g.pair_list(params.get('target_bridge'), params.get('bridge_map'), what='bridge') or '1'
    remote_nodes = g.cluster_nodes(remote)
    target_node = g.local_node(remote_nodes)
    check_storages(remote, params, source['type'], remote_url, 'the target cluster')
    fingerprint = spec.get('fingerprint') or g.served_fingerprint(remote, target_node or 'localhost')
    send = {'target-endpoint': g.remote_endpoint(remote.settings.host, remote.settings.port, remote.settings.auth_id,
                                                 remote.settings.token_secret, fingerprint),
            'target-storage': storages, 'target-bridge': bridges}
    if params.get('target_vmid'):
        send['target-vmid'] = target_vmid
    if running:
        send['online' if source['type'] == 'qemu' else 'restart'] = 1
        if source['type'] == 'lxc' and params.get('restart_timeout') is not None:
            send['timeout'] = params['restart_timeout']
    if params['delete_source']:
        send['delete'] = 1
    if params.get('bwlimit') is not None:
        send['bwlimit'] = params['bwlimit']
    shown = dict(send)
    shown['target-endpoint'] = send['target-endpoint'].replace(remote.settings.token_secret, g.MASK)
    plan.update(action='remote-migrate', target_node=target_node, params=shown)
    after = {'cluster': remote_url, 'node': target_node, 'vmid': target_vmid}
    if module.check_mode:
        view = guest_view(dict(source, node=target_node, vmid=target_vmid), remote_url)
        if source['type'] == 'qemu' and not running:
            view['status'] = 'stopped'
        return finish(module, view, plan, before, after, True)
    path = client.path('nodes', source['node'], source['type'], source['vmid'], 'remote_migrate')
    secret = remote.settings.token_secret
    try:
        module.wait_task(client.post(path, **send))
    except ProxmoxError as error:
        raise g.scrub(error, secret) from None
    moved = g.find_guest(g.list_guests(remote), vmid=target_vmid, url=remote_url)
    return finish(module, guest_view(moved, remote_url), plan, before,
                  {'cluster': remote_url, 'node': moved.get('node'), 'vmid': target_vmid}, True)


# ---------------------------------------------------------------- entry

def check_options(params):
    if params.get('target_node'):
        given = [name for name in REMOTE_ONLY if params.get(name) is not None]
        if params.get('delete_source'):
            given.append('delete_source')
        if given:
            raise ProxmoxConfigError('{0} only apply to a migration to another cluster (target_cluster)'.format(
                ', '.join(given)))
    for key in ('storage_map', 'bridge_map'):
        for src, dst in (params.get(key) or {}).items():
            g.check_id(src, key + ' source')
            g.check_id(dst, key + ' target')
    if params.get('target_cluster'):
        if params.get('target_vmid') is not None and not 100 <= params['target_vmid'] <= 999999999:
            raise ProxmoxConfigError('target_vmid must be between 100 and 999999999')


def run(module):
    params = module.params
    check_options(params)
    remote = target_client(params) if params.get('target_cluster') else None
    url = module.target_url
    guests = g.list_guests(module.client)
    if remote is None:
        source = g.find_guest(guests, vmid=params.get('vmid'), name=params.get('name'), url=url)
        return local_migration(module, source)
    # The target first: a wrong fingerprint or token fails here, before anything is asked of the source.
    remote_guests = g.list_guests(remote)
    try:
        source = g.find_guest(guests, vmid=params.get('vmid'), name=params.get('name'), url=url)
    except g.GuestNotFound:
        # Moved by an earlier run that deleted the source: it is on the target.
        wanted = params.get('target_vmid') or params.get('vmid')
        try:
            there = g.find_guest(remote_guests, vmid=wanted, name=None if wanted else params.get('name'),
                                 url=remote.settings.url)
        except g.GuestNotFound:
            raise g.GuestNotFound('no guest with {0} in the cluster, nor on the target cluster {1}'.format(
                'vmid {0}'.format(params['vmid']) if params.get('vmid') else 'name {0!r}'.format(params['name']),
                remote.settings.url), url=url) from None
        plan = {'action': 'none', 'vmid': params.get('vmid') or int(there['vmid']), 'type': there.get('type'),
                'target_cluster': remote.settings.url, 'target_vmid': int(there['vmid']), 'target_node': there.get('node')}
        state = {'cluster': remote.settings.url, 'node': there.get('node'), 'vmid': int(there['vmid'])}
        return finish(module, guest_view(there, remote.settings.url), plan, state, state, False)
    return remote_migration(module, source, remote, remote_guests)


def describe_target(module):
    params = module.params
    if params.get('vmid'):
        return 'guest {0}'.format(params['vmid'])
    return 'guest {0!r}'.format(params.get('name'))


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            vmid=dict(type='int'),
            name=dict(type='str'),
            target_node=dict(type='str'),
            target_cluster=dict(type='dict', options=dict(
                cluster=dict(type='str'),
                api_host=dict(type='str'),
                api_port=dict(type='int', default=8006),
                api_token_id=dict(type='str', no_log=False),
                api_token_secret=dict(type='str', no_log=True),
                fingerprint=dict(type='str'),
                ca_path=dict(type='path'),
                validate_certs=dict(type='bool', default=True),
                api_timeout=dict(type='int', default=30),
            )),
            online=dict(type='bool', default=True),
            with_local_disks=dict(type='bool', default=True),
            restart=dict(type='bool', default=True),
            restart_timeout=dict(type='int'),
            target_storage=dict(type='str'),
            storage_map=dict(type='dict'),
            target_bridge=dict(type='str'),
            bridge_map=dict(type='dict'),
            target_vmid=dict(type='int'),
            delete_source=dict(type='bool', default=False),
            bwlimit=dict(type='int'),
            timeout=dict(type='int', default=600),
        ),
        required_one_of=[('vmid', 'name'), ('target_node', 'target_cluster')],
        mutually_exclusive=[('vmid', 'name'), ('target_node', 'target_cluster')],
        supports_check_mode=True,
    )
    resolve_target_cluster(module)
    module.run(run, target=describe_target)


if __name__ == '__main__':
    main()
