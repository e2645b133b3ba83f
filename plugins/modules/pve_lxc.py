#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_lxc
short_description: Manage Proxmox VE containers (LXC)
version_added: 0.1.0
description:
  - Creates a container from an OS template or as a clone of a template container, changes its configuration,
    brings it to a power state, converts it to a template, and deletes it.
  - The container is named by O(vmid), or by O(name) (its hostname), which must then be unique among the
    cluster's containers; a name that several containers share fails and lists their vmids.
  - Only what you give is managed. An option left out is left as it is; a configuration key is removed only when
    you list it in O(absent_keys) (or set a mount point or network device to O(mounts[].state=absent),
    O(nets[].state=absent)). Within a mount point, network device, O(features) or O(startup), the sub-keys you
    give are set and the others kept (a network device keeps its MAC address unless you give O(nets[].hwaddr)).
  - A running container takes some changes at once; PVE keeps the others pending until the next start. The module
    compares with the configuration the container will have (pending changes included), so a second run reports
    no change, and returns what is pending under RV(pending). O(state=restarted) applies it.
  - The root file system and volume mount points only grow (a smaller size fails before any write); they are
    grown through PVE's resize call.
  - Bad input fails before any request writes anything, such as unknown options or configuration keys, malformed
    addresses, a storage that does not exist on the node or does not hold containers, an unknown bridge, a
    shrink, an ambiguous name, a bind mount asked by anyone but C(root@pam) logged in with a password.
  - Every task (create, clone, resize, start, shutdown, template, delete) is waited for within one O(timeout).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: Reads and checks everything and returns the diff a real run would; writes nothing.
  diff_mode:
    support: full
    details: The configuration keys that change (or that you manage) and the power state, before and after.
options:
  vmid:
    description:
      - The container's id. When no container has it, a new container gets it.
      - Without it, the container is found by O(name), and a new container (created or cloned) gets a free id of the
        datacenter's next-id range, the one C(/cluster/nextid) answers; when concurrent creations take it first,
        other candidates of the range are tried, spread and with random pauses, within O(timeout).
    type: int
  name:
    description:
      - The container's hostname, which PVE lists as its name. Finds the container when O(vmid) is not given.
      - With O(vmid), a container with another hostname is renamed.
    type: str
    aliases: [hostname]
  node:
    description:
      - The node to create the container on, or V(auto) for the online node with the most free memory.
      - Needed to create a container; an existing container is found on whatever node it is on (and is not moved;
        use M(proxfleet.proxmox.pve_migrate)).
    type: str
  state:
    description:
      - V(present) creates or updates the container and leaves its power state alone.
      - V(started), V(stopped) (a hard stop), V(shutdown) (a clean shutdown within O(timeout), then a stop with
        O(force_stop)), V(restarted) (a clean shutdown and a start, which applies pending changes; always acts)
        also set the power state.
      - V(template) converts the container to a template (shutting it down first if it runs); this cannot be undone.
      - V(absent) deletes it (see O(force), O(purge) and O(protection)).
    type: str
    choices: [present, absent, started, stopped, shutdown, restarted, template]
    default: present
  ostemplate:
    description:
      - The OS template to create the container from, as a volume id (V(local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst)).
        It must be on a storage the node has.
      - Used only on creation. Mutually exclusive with O(clone).
    type: str
  clone:
    description:
      - Create the container as a clone of another container (a template, or a stopped container for a full
        clone). Used only on creation; a container that exists is converged, never cloned again.
      - The module waits for the clone, then converges it to the other options. The clone gets new MAC addresses.
    type: dict
    suboptions:
      source:
        description: The container or template to clone, by vmid or by (unique) name.
        type: str
        required: true
      full:
        description:
          - V(true) for a full copy of the volumes, V(false) for a linked clone (of a template only). PVE's default
            is a linked clone of a template and a full clone of a container.
        type: bool
      snapname:
        description: Clone the state of this snapshot of the source.
        type: str
      storage:
        description: Storage of a full clone's volumes (default the source's).
        type: str
  pool:
    description:
      - Put a new container in this resource pool. Used only on creation.
    type: str
  password:
    description:
      - The root password inside a new container.
      - Write-only and used only on creation; PVE has no call to change it later, and it is never compared.
    type: str
  ssh_public_keys:
    description:
      - Public SSH keys for root inside a new container (one per line). Used only on creation, never compared.
    type: str
  unprivileged:
    description:
      - Create an unprivileged container (PVE's default). Cannot change after creation; a different value fails.
    type: bool
  features:
    description:
      - Container features. Sub-options you leave out are kept as they are.
      - Changing any but O(features.nesting), or any feature of a privileged container, needs C(root@pam).
    type: dict
    suboptions:
      nesting:
        description: Allow nested containers (and systemd's sandboxing inside).
        type: bool
      keyctl:
        description: Allow the keyctl() system call (for Docker in an unprivileged container).
        type: bool
      fuse:
        description: Allow FUSE file systems.
        type: bool
      mount:
        description: File system types the container may mount (V(nfs), V(cifs) ...).
        type: list
        elements: str
      mknod:
        description: Allow mknod() of some device nodes (experimental in PVE).
        type: bool
      force_rw_sys:
        description: Mount /sys read-write in unprivileged containers.
        type: bool
  cores:
    description: Number of CPU cores the container sees.
    type: int
  cpulimit:
    description: CPU time limit in cores (fractions allowed, V(0) for none).
    type: float
  cpuunits:
    description: CPU weight against other guests.
    type: int
  memory:
    description: Memory in MiB.
    type: int
  swap:
    description: Swap in MiB.
    type: int
  rootfs:
    description:
      - The root file system. On creation, O(rootfs.storage) and O(rootfs.size) make a new volume.
      - On an existing container, a larger O(rootfs.size) grows it; a smaller one fails; another storage fails
        (moving volumes is not done here).
    type: dict
    suboptions:
      storage:
        description: Storage of a new volume (content C(rootdir)).
        type: str
      size:
        description: Size, as V(8G), V(512M) or a number of GiB.
        type: str
      volume:
        description: An existing volume id to use instead of a new volume.
        type: str
      acl:
        description: Explicitly enable or disable ACL support.
        type: bool
      quota:
        description: Enable user quotas inside the container.
        type: bool
      ro:
        description: Read-only.
        type: bool
      replicate:
        description: Include the volume in storage replication.
        type: bool
      mountoptions:
        description: Mount options (V(noatime), V(lazytime), V(nodev), V(noexec), V(nosuid), V(discard)).
        type: list
        elements: str
  mounts:
    description:
      - Mount points C(mpN). Each is a new volume (O(mounts[].storage) and O(mounts[].size)), an existing volume,
        or a bind mount of a host directory (O(mounts[].volume) an absolute path).
      - PVE lets only C(root@pam) logged in with a password (not an API token) set bind and device mounts; the
        module fails before any write otherwise.
      - Mount points you do not list are left alone.
    type: list
    elements: dict
    suboptions:
      slot:
        description: C(mp0) ... C(mp255) (or the bare number).
        type: str
        required: true
      state:
        description: V(absent) removes the mount point (a volume becomes an C(unusedN) volume, as PVE does).
        type: str
        choices: [present, absent]
        default: present
      storage:
        description: Storage of a new volume.
        type: str
      size:
        description: Size of a volume (V(8G), V(512M), or a number of GiB); grows only.
        type: str
      volume:
        description: An existing volume id, or an absolute host path for a bind mount.
        type: str
      path:
        description: Where it is mounted inside the container (needed for a new mount point).
        type: str
      backup:
        description: Include the volume in backups.
        type: bool
      acl:
        description: Explicitly enable or disable ACL support.
        type: bool
      quota:
        description: Enable user quotas.
        type: bool
      ro:
        description: Read-only.
        type: bool
      replicate:
        description: Include the volume in storage replication.
        type: bool
      shared:
        description: The volume is shared between nodes (not migrated).
        type: bool
      keepattrs:
        description: Keep the mount point directory's owner and mode.
        type: bool
      mountoptions:
        description: Mount options (V(noatime), V(lazytime), V(nodev), V(noexec), V(nosuid), V(discard)).
        type: list
        elements: str
  nets:
    description:
      - Network devices C(netN). Devices you do not list are left alone; a device keeps the sub-options you do
        not give, its MAC address included.
    type: list
    elements: dict
    suboptions:
      slot:
        description: C(net0) ... C(net31) (or the bare number).
        type: str
        required: true
      state:
        description: V(absent) removes the device.
        type: str
        choices: [present, absent]
        default: present
      name:
        description: Name inside the container (V(eth0)); needed for a new device.
        type: str
      bridge:
        description:
          - Bridge to attach to; a Linux bridge, an OVS bridge or an SDN VNet of the node, checked before any write.
          - A physical NIC, a bond or a VLAN interface is refused.
        type: str
      ip:
        description: IPv4 address with prefix (V(192.0.2.10/24)), V(dhcp) or V(manual).
        type: str
      gw:
        description: IPv4 gateway.
        type: str
      ip6:
        description: IPv6 address with prefix, V(auto), V(dhcp) or V(manual).
        type: str
      gw6:
        description: IPv6 gateway.
        type: str
      tag:
        description: VLAN tag (1 to 4094).
        type: int
      firewall:
        description: Use the PVE firewall on this device.
        type: bool
      hwaddr:
        description: MAC address. Left out, a new device gets one from PVE and an existing one keeps its own.
        type: str
        aliases: [mac]
      mtu:
        description: MTU.
        type: int
      rate:
        description: Rate limit in MB/s.
        type: float
      trunks:
        description: VLAN ids to pass through.
        type: list
        elements: int
      link_down:
        description: Disconnect the device.
        type: bool
  nameserver:
    description: DNS servers of the container.
    type: list
    elements: str
  searchdomain:
    description: DNS search domain.
    type: str
  onboot:
    description: Start the container when its node boots.
    type: bool
  startup:
    description: Start and shutdown order and delays. Sub-options you leave out are kept.
    type: dict
    suboptions:
      order:
        description: Position in the start order (lower first).
        type: int
      up:
        description: Seconds to wait after starting it before starting the next guest.
        type: int
      down:
        description: Seconds to wait for its shutdown.
        type: int
  tags:
    description:
      - Tags. They are added to the container's tags; with O(purge_tags=true), tags not listed are removed.
    type: list
    elements: str
  purge_tags:
    description: Remove the tags not listed in O(tags).
    type: bool
    default: false
  description:
    description: Notes of the container.
    type: str
  timezone:
    description: Time zone inside the container (V(host) or a zone such as V(Europe/Vienna)).
    type: str
  ostype:
    description: OS type (PVE detects it from the template; set it only to override).
    type: str
  arch:
    description: Architecture (V(amd64), V(arm64) ...).
    type: str
  protection:
    description:
      - Protect the container against deletion and changes of its volumes.
      - With O(state=absent), V(false) removes the protection in the same task so that the container can be deleted.
    type: bool
  config:
    description:
      - Other configuration keys, by their PVE names (V(cmode), V(tty), V(lxc.cgroup2.devices.allow) ...), with the
        values as PVE writes them. A key that has its own option, or that PVE does not know, fails.
    type: dict
  absent_keys:
    description:
      - Configuration keys to remove when present (V(cpulimit), V(mp1), V(net1), V(nameserver) ...). A key given a
        value too, and keys PVE requires (V(rootfs), V(memory), V(hostname), V(ostype), V(arch)), fail.
    type: list
    elements: str
  force:
    description:
      - With O(state=absent), stop a running container before deleting it. Without it, a running container fails.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the container from backup jobs, replication jobs and HA.
    type: bool
    default: false
  force_stop:
    description:
      - With O(state=shutdown), O(state=restarted) or O(state=template), stop the container when its clean shutdown
        does not end within O(timeout). Without it, such a shutdown fails.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for a lock on the container (a backup, a snapshot, a migration) to go away before
        failing. V(0) fails at once, naming the lock.
    type: int
    default: 0
  timeout:
    description:
      - Seconds to wait for all the tasks of the run (creation, clone, configuration, resize, power, delete).
      - Also the time a clean shutdown (V(shutdown), V(restarted), V(template)) gives the container before it fails,
        or is stopped when O(force_stop).
    type: int
    default: 900
'''

EXAMPLES = r'''
- name: Containers with the connection given once
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: A web container, started
      proxfleet.proxmox.pve_lxc:
        name: web-01
        node: auto
        ostemplate: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
        password: "{{ vault_ct_root_password }}"
        ssh_public_keys: "{{ lookup('ansible.builtin.file', 'files/admin.pub') }}"
        cores: 2
        memory: 1024
        swap: 512
        features:
          nesting: true
        rootfs:
          storage: local-lvm
          size: 8G
        mounts:
          - slot: mp0
            storage: local-lvm
            size: 16G
            path: /srv/www
            backup: true
        nets:
          - slot: net0
            name: eth0
            bridge: vmbr0
            ip: 192.0.2.21/24
            gw: 192.0.2.1
            firewall: true
        nameserver: [192.0.2.53]
        onboot: true
        tags: [web, prod]
        state: started

    - name: Grow its root file system and give it more memory (other settings stay as they are)
      proxfleet.proxmox.pve_lxc:
        name: web-01
        memory: 2048
        rootfs:
          size: 16G

    - name: Move it to VLAN 20 by DHCP, drop the CPU limit and the second network device
      proxfleet.proxmox.pve_lxc:
        name: web-01
        nets:
          - slot: net0
            ip: dhcp
            tag: 20
          - slot: net1
            state: absent
        absent_keys: [cpulimit]

    - name: A linked clone of a template container
      proxfleet.proxmox.pve_lxc:
        name: web-02
        node: pve1
        clone:
          source: debian-12-template
          full: false
        state: started

    - name: A clean shutdown within two minutes, stopped hard after that
      proxfleet.proxmox.pve_lxc:
        vmid: 210
        state: shutdown
        timeout: 120
        force_stop: true

    - name: Delete it, stopping it first and removing it from backup jobs and HA
      proxfleet.proxmox.pve_lxc:
        name: web-02
        state: absent
        force: true
        purge: true
'''

RETURN = r'''
ct:
  description:
    - The container after the run (in check mode, as it would be); null when it does not exist (any more).
  returned: success
  type: dict
  contains:
    vmid:
      description: Its id (null for a container check mode would create without O(vmid)).
      type: int
    node:
      description: The node it is on.
      type: str
    name:
      description: Its hostname.
      type: str
    status:
      description: V(running) or V(stopped).
      type: str
    template:
      description: Whether it is a template.
      type: bool
    config:
      description: Its configuration as PVE returns it (pending changes not applied; see RV(pending)).
      type: dict
    interfaces:
      description:
        - Its network devices with their addresses; from C(/interfaces) when it runs, else from its configuration
          (static addresses only).
      type: list
      elements: dict
    ip_addresses:
      description: Its IP addresses (without prefix, IPv4 first, the loopback left out).
      type: list
      elements: str
  sample:
    vmid: 210
    node: pve1
    name: web-01
    status: running
    template: false
    config:
      hostname: web-01
      memory: 1024
      rootfs: local-lvm:vm-210-disk-0,size=8G
      net0: name=eth0,bridge=vmbr0,firewall=1,gw=192.0.2.1,hwaddr=BC:24:11:2A:3B:4C,ip=192.0.2.21/24,type=veth
    interfaces:
      - name: eth0
        hwaddr: BC:24:11:2A:3B:4C
        inet: 192.0.2.21/24
        inet6: null
        addresses: [192.0.2.21/24]
    ip_addresses: [192.0.2.21]
pending:
  description:
    - Changes PVE keeps for the next start of the running container, by key; each holds C(value) (now) and
      C(pending) (next), or C(delete=true).
  returned: success
  type: dict
  sample:
    features:
      value: nesting=1
      pending: keyctl=1,nesting=1
actions:
  description: What the run did (or would do), in order (V(create), V(clone), V(update), V(resize rootfs), V(start), V(shutdown), V(template), V(destroy) ...).
  returned: success
  type: list
  elements: str
diff:
  description: The configuration keys that change or that you manage (and the power state), before and after.
  returned: when the run changed something or diff mode is on
  type: dict
  contains:
    before:
      description: Before the run.
      type: dict
    after:
      description: After the run.
      type: dict
tasks:
  description: The tasks the module waited for, with their exit statuses.
  returned: when a task ran
  type: list
  elements: dict
'''

from ansible_collections.proxfleet.proxmox.plugins.module_utils import backup as storage_utils, guest_lifecycle as gl, lxc
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guests import list_guests
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import format_size

POWER = {'started': 'started', 'stopped': 'stopped', 'shutdown': 'shutdown', 'restarted': 'restarted'}


def check_options(params):
    """Combinations the argument spec cannot express, before any request."""
    if params.get('vmid') is not None and not 100 <= params['vmid'] <= 999999999:
        raise ProxmoxConfigError('vmid must be from 100 to 999999999')
    if params.get('vmid') is None and not params.get('name'):
        raise ProxmoxConfigError('give vmid or name (the hostname)')
    if params.get('ostemplate') and params.get('clone'):
        raise ProxmoxConfigError('ostemplate and clone are mutually exclusive: a container is made from one of them')
    if params.get('ostemplate'):
        storage_utils.split_volid(params['ostemplate'], 'ostemplate')
    clone = params.get('clone') or {}
    if clone.get('storage') and clone.get('full') is False:
        raise ProxmoxConfigError('clone: storage applies to a full clone only (a linked clone stays on its template\'s '
                                 'storage)')
    if params['state'] != 'absent' and (params.get('force') or params.get('purge')):
        raise ProxmoxConfigError('force and purge apply to state: absent only')
    if params['lock_timeout'] < 0 or params['timeout'] < 1:
        raise ProxmoxConfigError('lock_timeout must be 0 or more and timeout at least 1')


def bind_allowed(module):
    """PVE lets only root@pam, with a ticket from its password (not an API token), set bind and device mounts."""
    settings = module.client.settings
    return settings.user == 'root@pam' and not settings.uses_token


def check_features(module, params, current, url):
    """PVE lets only root@pam change features other than nesting, or any feature of a privileged container."""
    if 'features' not in params or bind_allowed(module):
        return
    before = lxc.canonical('features', current.get('features') or '')
    after = lxc.canonical('features', params['features'])
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    privileged = not int(current.get('unprivileged') or 0)
    if not changed:
        return
    if privileged or [k for k in changed if k != 'nesting']:
        raise ProxmoxConfigError(
            'features: changing {0} of a{1} container can be done only by root@pam logged in with a password (PVE '
            'refuses it to other users and to API tokens, root@pam\'s included); connect as root@pam with '
            'api_password'.format(', '.join(changed) if not privileged else 'feature flags',
                                  ' privileged' if privileged else 'n unprivileged'), url=url)


def check_bind_mounts(module, keys, url):
    if keys and not bind_allowed(module):
        raise ProxmoxConfigError(
            '{0}: bind and device mount points can be set only by root@pam logged in with a password (PVE refuses '
            'them to other users and to API tokens, root@pam\'s included); connect as root@pam with api_password, or '
            'use a volume'.format(', '.join(keys)), url=url)


def check_storages(client, node, keys_by_storage, url):
    """Each storage a new volume goes to exists, holds containers, is enabled and is on the node."""
    if not keys_by_storage:
        return
    known = storage_utils.storages(client)
    for name in sorted(keys_by_storage):
        what = 'container volumes ({0})'.format(', '.join(sorted(keys_by_storage[name])))
        store = storage_utils.check_storage(known, name, 'rootdir', url, what)
        storage_utils.check_storage_on_node(dict(store, storage=name), node, url)


def check_ostemplate(client, node, volid, url):
    """The template's storage holds templates on the node, and lists the template."""
    sid, _name = storage_utils.split_volid(volid, 'ostemplate')
    known = storage_utils.storages(client)
    store = storage_utils.check_storage(known, sid, 'vztmpl', url, 'container templates')
    storage_utils.check_storage_on_node(dict(store, storage=sid), node, url)
    items = client.get(client.path('nodes', node, 'storage', sid, 'content'), content='vztmpl') or []
    if not any(isinstance(item, dict) and item.get('volid') == volid for item in items):
        raise ProxmoxConfigError('ostemplate {0!r} is not on storage {1!r} of node {2!r} (its templates: {3})'.format(
            volid, sid, node, ', '.join(sorted(str(i.get('volid')) for i in items if isinstance(i, dict))) or 'none'),
            url=url)


def new_storages(desired, plan_params=None):
    """{storage: [keys]} of the new volumes (from the desired options, or a plan's params)."""
    found = lxc.storages_named(desired)
    if plan_params is not None:
        found = dict((s, [k for k in keys if k in plan_params]) for s, keys in found.items())
        found = dict((s, keys) for s, keys in found.items() if keys)
    return found


def changed_bridges(desired, params):
    return dict((b, [k for k in keys if k in params]) for b, keys in lxc.bridges_named(desired).items()
                if any(k in params for k in keys))


def changed_binds(desired, params):
    return [k for k in lxc.bind_mounts(desired) if k in params]


def power(module, guest, state):
    """Set the power state; a shutdown that does not end in time names the container and the timeout."""
    return gl.set_power(module, guest, state, timeout=module.params['timeout'], force_stop=module.params['force_stop'])


# ---------------------------------------------------------------- result

def view(module, guest, config=None, pending=None):
    """The container as the result shows it: its config and pending changes (read unless given), and its
    interfaces (one read of /interfaces when it runs)."""
    client = module.client
    if config is None:
        config, pending = gl.read_pending(client, guest)
    interfaces = None
    if guest.running:
        try:
            interfaces = lxc.interfaces_from_api(client.get(guest.path('interfaces')))
        except ProxmoxApiError:
            interfaces = None
    if not interfaces:
        interfaces = lxc.interfaces_from_config(config)
    ct = {'vmid': guest.vmid, 'node': guest.node, 'name': config.get('hostname') or guest.name,
          'status': guest.status, 'template': bool(int(config.get('template') or 0)) or guest.template,
          'config': lxc.masked_config(config), 'interfaces': interfaces,
          'ip_addresses': lxc.ip_addresses(interfaces)}
    return ct, gl.mask_pending(pending)


def planned_view(vmid, node, name, config, status='stopped'):
    interfaces = lxc.interfaces_from_config(config)
    return {'vmid': vmid, 'node': node, 'name': name, 'status': status,
            'template': bool(int(config.get('template') or 0)), 'config': config, 'interfaces': interfaces,
            'ip_addresses': lxc.ip_addresses(interfaces)}


def refreshed(module, guest):
    fresh = gl.locate(module.client, 'lxc', vmid=guest.vmid, url=module.target_url)
    return fresh or guest


# ---------------------------------------------------------------- absent

def remove(module, guest):
    params = module.params
    if guest is None:
        return {'changed': False, 'ct': None, 'pending': {}, 'actions': [], 'diff': {'before': {}, 'after': {}}}
    guest = gl.ensure_unlocked(module, guest, params['lock_timeout'])
    config, _pending = gl.read_pending(module.client, guest)
    before = {'vmid': guest.vmid, 'node': guest.node, 'name': guest.name, 'status': guest.status}
    actions = gl.destroy(module, guest, config=config, force=params['force'], purge=params['purge'],
                         unprotect=params.get('protection') is False)
    return {'changed': True, 'ct': None, 'pending': {}, 'actions': actions, 'diff': {'before': before, 'after': {}}}


# ---------------------------------------------------------------- create

def source_guest(module, guests):
    return gl.clone_source(module.client, 'lxc', module.params['clone']['source'], url=module.target_url,
                           guests=guests)


def create(module, desired, guests):
    params, client, url = module.params, module.client, module.target_url
    if not params.get('node'):
        raise ProxmoxConfigError('node is needed to create a container (a node name, or auto)', url=url)
    if not params.get('ostemplate') and not params.get('clone'):
        raise ProxmoxConfigError('the container does not exist: give ostemplate or clone to create it', url=url)
    if params.get('name') and 'hostname' not in desired:
        desired['hostname'] = params['name']
    desired = dict((k, v) for k, v in desired.items() if v is not ABSENT)
    node = gl.pick_node(client, params['node'], url)
    if params.get('clone'):
        return create_clone(module, desired, guests, node)
    if 'rootfs' not in desired:
        raise ProxmoxConfigError('rootfs (storage and size) is needed to create a container', url=url)
    check_ostemplate(client, node, params['ostemplate'], url)
    check_storages(client, node, new_storages(desired), url)
    gl.check_bridges(client, node, lxc.bridges_named(desired), url)
    check_bind_mounts(module, lxc.bind_mounts(desired), url)
    config = lxc.create_params(desired)
    check_features(module, config, {'unprivileged': 0 if params.get('unprivileged') is False else 1}, url)
    request = dict(config, ostemplate=params['ostemplate'])
    for option, key in (('password', 'password'), ('ssh_public_keys', 'ssh-public-keys'), ('pool', 'pool')):
        if params.get(option) is not None:
            request[key] = params[option]
    if params.get('unprivileged') is not None:
        request['unprivileged'] = 1 if params['unprivileged'] else 0
    after = lxc.shown_new(desired, config)
    after.update((key, lxc.MASK) for key in ('password', 'ssh-public-keys') if key in request)
    if 'unprivileged' in request:
        after['unprivileged'] = str(request['unprivileged'])
    state = params['state']
    actions = ['create'] + (['start'] if state in ('started', 'restarted') else []) + \
        (['template'] if state == 'template' else [])
    diff_after = dict(after, status='running' if 'start' in actions else 'stopped')
    if module.check_mode:
        vmid = params.get('vmid')
        return {'changed': True, 'ct': planned_view(vmid, node, desired.get('hostname'), config), 'pending': {},
                'actions': actions, 'diff': {'before': {}, 'after': diff_after}}
    path = client.path('nodes', node, 'lxc')
    vmid = gl.create_guest(module, lambda new: client.post(path, vmid=new, **request), vmid=params.get('vmid'))
    guest = gl.Guest({'type': 'lxc', 'vmid': vmid, 'node': node, 'status': 'stopped'})
    return finish_new(module, guest, actions, diff_after)


def finish_new(module, guest, actions, diff_after):
    guest = refreshed(module, guest)
    if 'start' in actions:
        gl.power_action(module, guest, 'start')
        guest = refreshed(module, guest)
    if 'template' in actions:
        gl.make_template(module, guest)
        guest = refreshed(module, guest)
    ct, pending = view(module, guest)
    return {'changed': True, 'ct': ct, 'pending': pending, 'actions': actions,
            'diff': {'before': {}, 'after': diff_after}}


def create_clone(module, desired, guests, node):
    params, client, url = module.params, module.client, module.target_url
    source = source_guest(module, guests)
    clone = params['clone']
    if clone.get('storage'):
        check_storages(client, node, {clone['storage']: ['clone']}, url)
    base, _pending = gl.read_pending(client, source)
    base = dict((k, v) for k, v in base.items() if k not in ('template', 'lock', 'digest', 'parent', 'snaptime')
                and not k.startswith('unused'))
    # A clone's network devices get new MAC addresses from PVE: the plan (and the diff) does not carry the source's.
    for key in [k for k in base if lxc.key_kind(k) == 'net']:
        props = lxc.parse_props('net', base[key])
        props.pop('hwaddr', None)
        base[key] = lxc.render_props('net', props)
    if params.get('unprivileged') is not None and \
            lxc.canonical('unprivileged', base.get('unprivileged', 0)) != ('1' if params['unprivileged'] else '0'):
        raise ProxmoxConfigError('unprivileged: the clone is {0} like {1}; it cannot change'.format(
            'unprivileged' if int(base.get('unprivileged') or 0) else 'privileged', source.describe()), url=url)
    changes = dict((k, v) for k, v in desired.items() if k != 'hostname')
    plan = lxc.plan_change(changes, base, label='the clone of {0}'.format(source.describe()),
                           tags_purge=params['purge_tags'])
    check_storages(client, node, new_storages(desired, plan.params), url)
    gl.check_bridges(client, node, changed_bridges(desired, plan.params), url)
    check_bind_mounts(module, changed_binds(desired, plan.params), url)
    check_features(module, plan.params, base, url)
    state = params['state']
    actions = ['clone'] + (['update'] if plan.params or plan.delete else []) + \
        ['resize ' + key for key, _size in plan.resize] + \
        (['start'] if state in ('started', 'restarted') else []) + (['template'] if state == 'template' else [])
    after = dict((key, lxc.shown(key, value)) for key, value in base.items())
    after.update(plan.after)
    for key in plan.delete:
        after.pop(key, None)
    after['hostname'] = desired.get('hostname') or base.get('hostname')
    diff_after = dict(after, status='running' if 'start' in actions else 'stopped')
    if module.check_mode:
        return {'changed': True, 'ct': planned_view(params.get('vmid'), node, after['hostname'], after),
                'pending': {}, 'actions': actions, 'diff': {'before': {}, 'after': diff_after}}
    request = {}
    if desired.get('hostname'):
        request['hostname'] = desired['hostname']
    if node != source.node:
        request['target'] = node
    for option in ('full', 'storage', 'snapname'):
        if clone.get(option) is not None:
            request[option] = int(clone[option]) if option == 'full' else clone[option]
    if params.get('pool') is not None:
        request['pool'] = params['pool']
    if params.get('description') is not None:
        request['description'] = params['description']
    vmid = gl.create_guest(
        module, lambda new: gl.guarded(module, source, lambda: client.post(source.path('clone'), newid=new, **request)),
        vmid=params.get('vmid'))
    guest = gl.Guest({'type': 'lxc', 'vmid': vmid, 'node': node, 'status': 'stopped'})
    guest = refreshed(module, guest)
    if plan.params or plan.delete:
        # Planned again against the clone itself, so that its own MAC addresses are kept.
        clone_config, _pending = gl.read_pending(client, guest)
        plan = lxc.plan_change(changes, clone_config, label=guest.describe(), tags_purge=params['purge_tags'])
        update = dict(plan.params)
        if plan.delete:
            update['delete'] = ','.join(plan.delete)
        gl.run_config_update(module, guest, update)
    for key, size in plan.resize:
        gl.resize_disk(module, guest, key, size)
    return finish_new(module, guest, actions, diff_after)


# ---------------------------------------------------------------- update

def update(module, guest, desired):
    params, client, url = module.params, module.client, module.target_url
    guest = gl.ensure_unlocked(module, guest, params['lock_timeout'])
    config, pending = gl.read_pending(client, guest)
    current = gl.effective(config, pending)
    if params.get('name') and params.get('vmid') is not None and 'hostname' not in desired:
        desired['hostname'] = params['name']
    if params.get('unprivileged') is not None and \
            lxc.canonical('unprivileged', current.get('unprivileged', 0)) != ('1' if params['unprivileged'] else '0'):
        raise ProxmoxConfigError('{0} is {1}: unprivileged can be set only on creation'.format(
            guest.describe(), 'unprivileged' if int(current.get('unprivileged') or 0) else 'privileged'), url=url)
    plan = lxc.plan_change(desired, current, label=guest.describe(), tags_purge=params['purge_tags'])
    check_storages(client, guest.node, new_storages(desired, plan.params), url)
    gl.check_bridges(client, guest.node, changed_bridges(desired, plan.params), url)
    check_bind_mounts(module, changed_binds(desired, plan.params), url)
    check_features(module, plan.params, current, url)
    state = params['state']
    if state in POWER:
        steps = gl.plan_power(guest, POWER[state])
    elif state == 'template' and not guest.template:
        steps = (['shutdown'] if guest.running else []) + ['template']
    else:
        steps = []
    actions = (['update'] if plan.params or plan.delete else []) + ['resize ' + k for k, _s in plan.resize] + steps
    before, after = dict(plan.before), dict(plan.after)
    for key in plan.delete:
        after[key] = None
    if steps:
        before['status'] = guest.status
        after['status'] = 'stopped' if steps[-1] in ('stop', 'shutdown', 'template') else 'running'
    if state == 'template' and not guest.template:
        before['template'], after['template'] = False, True
    changed = bool(actions)
    if not changed or module.check_mode:
        ct, shown_pending = view(module, guest, config, pending)
        if changed:
            ct = dict(ct, config=predicted(config, pending, plan), status=after.get('status', ct['status']))
        return {'changed': changed, 'ct': ct, 'pending': shown_pending, 'actions': actions,
                'diff': {'before': before, 'after': after}}
    if plan.params or plan.delete:
        request = dict(plan.params)
        if plan.delete:
            request['delete'] = ','.join(plan.delete)
        gl.run_config_update(module, guest, request)
    for key, size in plan.resize:
        gl.resize_disk(module, guest, key, size)
    if state in POWER:
        power(module, guest, POWER[state])
    elif 'template' in steps:
        if guest.running:
            power(module, guest, 'shutdown')
        gl.make_template(module, guest)
    guest = refreshed(module, guest)
    ct, shown_pending = view(module, guest)
    return {'changed': True, 'ct': ct, 'pending': shown_pending, 'actions': actions,
            'diff': {'before': before, 'after': after}}


def predicted(config, pending, plan):
    """The configuration a check-mode run expects after the change (pending changes applied)."""
    out = dict(gl.effective(config, pending))
    out.update(plan.params)
    for key in plan.delete:
        out.pop(key, None)
    for key, size in plan.resize:
        props = lxc.parse_props('mount', out[key])
        props['size'] = format_size(size)
        out[key] = lxc.render_props('mount', props)
    return lxc.masked_config(out)


# ---------------------------------------------------------------- main

def run(module):
    params = module.params
    check_options(params)
    if params.get('name') is not None:
        lxc.check_hostname(params['name'])
    desired = lxc.desired_config(params) if params['state'] != 'absent' else {}
    guests = list_guests(module.client)
    guest = gl.locate(module.client, 'lxc', vmid=params.get('vmid'),
                      name=params.get('name') if params.get('vmid') is None else None,
                      url=module.target_url, guests=guests)
    if guest is not None:
        # Failures from here on name the container as the cluster knows it: 'CT 100 (web)'.
        module.guest_label = guest.describe(node=False)
    if params['state'] == 'absent':
        return remove(module, guest)
    if guest is None:
        return create(module, desired, guests)
    return update(module, guest, desired)


def describe_target(module):
    params = module.params
    if getattr(module, 'guest_label', None):
        return module.guest_label
    if params.get('vmid') is not None:
        return 'CT {0}'.format(params['vmid'])
    return 'CT {0!r}'.format(params.get('name'))


def main():
    mount_options = dict(
        storage=dict(type='str'), size=dict(type='str'), volume=dict(type='str'), acl=dict(type='bool'),
        quota=dict(type='bool'), ro=dict(type='bool'), replicate=dict(type='bool'),
        mountoptions=dict(type='list', elements='str'))
    mp_options = dict(mount_options, slot=dict(type='str', required=True),
                      state=dict(type='str', choices=['present', 'absent'], default='present'),
                      path=dict(type='str'), backup=dict(type='bool'), shared=dict(type='bool'),
                      keepattrs=dict(type='bool'))
    net_options = dict(
        slot=dict(type='str', required=True), state=dict(type='str', choices=['present', 'absent'], default='present'),
        name=dict(type='str'), bridge=dict(type='str'), ip=dict(type='str'), gw=dict(type='str'),
        ip6=dict(type='str'), gw6=dict(type='str'), tag=dict(type='int'), firewall=dict(type='bool'),
        hwaddr=dict(type='str', aliases=['mac']), mtu=dict(type='int'), rate=dict(type='float'),
        trunks=dict(type='list', elements='int'), link_down=dict(type='bool'))
    module = ProxmoxModule(argument_spec=dict(
        vmid=dict(type='int'),
        name=dict(type='str', aliases=['hostname']),
        node=dict(type='str'),
        state=dict(type='str', default='present',
                   choices=['present', 'absent', 'started', 'stopped', 'shutdown', 'restarted', 'template']),
        ostemplate=dict(type='str'),
        clone=dict(type='dict', options=dict(
            source=dict(type='str', required=True), full=dict(type='bool'), storage=dict(type='str'),
            snapname=dict(type='str'))),
        pool=dict(type='str'),
        password=dict(type='str', no_log=True),
        ssh_public_keys=dict(type='str', no_log=False),
        unprivileged=dict(type='bool'),
        features=dict(type='dict', options=dict(
            nesting=dict(type='bool'), keyctl=dict(type='bool'), fuse=dict(type='bool'),
            mount=dict(type='list', elements='str'), mknod=dict(type='bool'), force_rw_sys=dict(type='bool'))),
        cores=dict(type='int'),
        cpulimit=dict(type='float'),
        cpuunits=dict(type='int'),
        memory=dict(type='int'),
        swap=dict(type='int'),
        rootfs=dict(type='dict', options=mount_options),
        mounts=dict(type='list', elements='dict', options=mp_options),
        nets=dict(type='list', elements='dict', options=net_options),
        nameserver=dict(type='list', elements='str'),
        searchdomain=dict(type='str'),
        onboot=dict(type='bool'),
        startup=dict(type='dict', options=dict(order=dict(type='int'), up=dict(type='int'), down=dict(type='int'))),
        tags=dict(type='list', elements='str'),
        purge_tags=dict(type='bool', default=False),
        description=dict(type='str'),
        timezone=dict(type='str'),
        ostype=dict(type='str'),
        arch=dict(type='str'),
        protection=dict(type='bool'),
        config=dict(type='dict'),
        absent_keys=dict(type='list', elements='str', no_log=False),
        force=dict(type='bool', default=False),
        purge=dict(type='bool', default=False),
        force_stop=dict(type='bool', default=False),
        lock_timeout=dict(type='int', default=0),
        timeout=dict(type='int', default=900),
    ), supports_check_mode=True)
    module.run(run, target=describe_target)


if __name__ == '__main__':
    main()
