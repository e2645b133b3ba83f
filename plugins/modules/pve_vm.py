#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_vm
short_description: Create, configure, clone, power and delete Proxmox VE virtual machines (QEMU)
version_added: 0.1.0
description:
  - Manages one QEMU VM of a Proxmox VE cluster, found by O(vmid) or by its O(name) (which must then be unique in
    the cluster).
  - Creates it (on O(node), or with O(node=auto) on the online node with the most free memory), or clones it from
    a template or VM (O(clone)); converges its configuration; brings it to a power state; converts it to a
    template; deletes it.
  - Only what the options name is managed. An option left out is left alone, never reset; a configuration key is
    removed only when the user names it (O(absent_keys), an empty string for a text option, V(absent) in a slot
    dict, O(disks[].state=absent), O(nets[].state=absent)).
  - Idempotent. Values are compared in canonical form (sizes, booleans, property strings key by key, tags as a
    set, SSH keys however encoded, a NIC's MAC address kept when not given), against the configuration the VM gets
    at its next start (pending changes included), so the same task twice reports no change.
  - On a running VM, changes Proxmox VE cannot apply live stay pending; RV(pending) lists them, and
    O(apply_pending=reboot) reboots the VM to apply them. Which changes apply live follows qemu-server's hot-plug
    rules (fast-plug and cloud-init keys at once; C(agent), new IDE/SATA disks, C(efidisk0), C(tpmstate0), a disk's
    cache or discard options, C(memory) and CPU unless the VM's C(hotplug) allows them stay pending); check mode
    forecasts RV(pending) by the same rules.
  - A hot-plug QEMU refuses fails the run with QEMU's words (after Proxmox VE applied the other changes); the
    refused value stays pending and is reported in RV(pending), also by later runs. With O(apply_pending=reboot)
    the run warns instead and the reboot applies it.
  - A disk that is still pending (not attached yet) is never resized as if attached; a larger size for it fails
    before any write, or with O(apply_pending=reboot) is applied after the reboot that attaches it.
  - Disks grow (never shrink), new disks are allocated, removed disks are detached (they become C(unusedN)) or,
    when asked with O(disks[].destroy), destroyed.
  - Every check that can be made before a write is made first (slots, sizes, storages, bridges, keys, names), so
    bad input fails without changing anything. Every task is waited for within O(timeout).
  - A VM that holds a lock (a backup, a snapshot, a migration) fails with the lock's name, or is waited for up to
    O(lock_timeout) seconds. A VM with nothing to change is never refused for its lock.
  - Proxmox VE lets only C(root@pam) logged in with a password (no API token, not even root@pam's own) set
    O(config) keys outside its privilege groups (C(args), C(affinity), C(hookscript), C(hugepages), C(ivshmem),
    C(spice_enhancements) ...), O(serial) ports other than C(socket), O(usb) host devices other than C(spice), and
    non-mapped O(hostpci) devices (or a C(romfile)). Setting or removing them with any other login fails before any
    write, naming the key.
  - Needs C(VM.Audit) on the VM; to create it C(VM.Allocate) on C(/vms/{vmid}) (or on its pool), to configure it the
    C(VM.Config.*) privileges of the keys it changes, to power it C(VM.PowerMgmt), to clone C(VM.Clone) on the
    source; C(Datastore.AllocateSpace) on the storages of new disks, C(SDN.Use) on the bridges of its NICs, and
    C(Sys.Audit) on the node (its bridges) and C(Datastore.Audit) on the storages when new disks or NICs are checked.
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
      - The VM's id. A new VM (created or cloned) without it gets a free id of the datacenter's next-id range, the
        one C(/cluster/nextid) answers; when concurrent creations take it first, other candidates of the range are
        tried, spread and with random pauses, within O(timeout).
      - At least one of O(vmid) and O(name) is required. With both, the VM is found by O(vmid) and O(name) is its
        configuration.
    type: int
  name:
    description:
      - The VM's name. Without O(vmid) it identifies the VM, and must be unique among the cluster's VMs (several VMs
        with the name fail, naming their vmids).
    type: str
  node:
    description:
      - The node of a new VM (required to create one), or V(auto) for the online node with the most free memory.
      - For an existing VM it is optional; when given (and not V(auto)) it must be the node the VM is on (use
        M(proxfleet.proxmox.pve_migrate) to move a VM).
      - For a clone, the node the clone goes to (default the source's node).
    type: str
  state:
    description:
      - V(present) creates or updates the VM and leaves its power state alone.
      - V(started), V(stopped) (a hard stop), V(shutdown) (an ACPI shutdown within O(timeout), then a stop when
        O(force_stop)), V(restarted) (shutdown as above, then start), V(rebooted) (Proxmox VE's reboot), V(suspended)
        (to RAM) and V(hibernated) (to disk) create or update it too, then bring it to that state. V(restarted) and
        V(rebooted) act on every run.
      - V(template) converts the VM to a template (it must be stopped, or O(force) stops it).
      - V(absent) deletes it, see O(force), O(purge) and O(destroy_unreferenced_disks).
    type: str
    choices: [present, absent, started, stopped, shutdown, restarted, rebooted, suspended, hibernated, template]
    default: present
  timeout:
    description:
      - Seconds to wait for all the tasks of the run (creation, clone, configuration, resize, power, delete).
      - Also the time a shutdown (V(shutdown), V(restarted), V(rebooted), O(apply_pending=reboot)) gives the guest
        before it fails, or is stopped when O(force_stop).
    type: int
    default: 900
  force_stop:
    description:
      - When a shutdown or reboot does not finish within O(timeout), stop the VM (Proxmox VE's C(forceStop)) instead
        of failing.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for a lock of the VM (backup, snapshot, migrate, clone ...) to go away before a change.
        With V(0) a locked VM that needs a change fails at once, naming its lock.
    type: int
    default: 0
  apply_pending:
    description:
      - V(reboot) reboots a running VM whose configuration has pending changes after the run, so that they apply.
        V(none) leaves them pending (reported in RV(pending)).
    type: str
    choices: [none, reboot]
    default: none
  force:
    description:
      - With O(state=absent), stop a running VM before deleting it. With O(state=template), stop a running VM
        before converting it. Without it a running VM is refused.
    type: bool
    default: false
  purge:
    description:
      - With O(state=absent), also remove the VM from backup jobs, replication jobs and HA resources.
    type: bool
    default: false
  destroy_unreferenced_disks:
    description:
      - With O(state=absent), also destroy disks of this vmid on the storages that no configuration refers to.
    type: bool
    default: false
  clone:
    description:
      - Create the VM as a clone of another VM or template. A VM that already exists (by O(vmid) or O(name)) is
        converged, never cloned again.
      - The module waits for the clone within O(timeout), then converges the clone's configuration to the other
        options.
    type: dict
    suboptions:
      source:
        description: The VM or template to clone, by vmid or by (unique) name.
        type: str
        required: true
      full:
        description:
          - V(true) for a full copy, V(false) for a linked clone (of a template only). Proxmox VE's default when
            left out is a linked clone of a template and a full clone of a VM.
        type: bool
      snapname:
        description: Clone the state of this snapshot of the source.
        type: str
      storage:
        description: Storage of the full clone's disks (default the source's).
        type: str
      format:
        description: Format of the full clone's disks on a file storage.
        type: str
        choices: [raw, qcow2, vmdk]
  pool:
    description:
      - The resource pool the VM belongs to. A VM in another pool is moved to it. An empty string is not
        supported (take the VM out of its pool with the API or the GUI).
    type: str
  description:
    description: The VM's notes. An empty string removes them.
    type: str
  tags:
    description:
      - Tags of the VM, a set (order and case do not matter). They are added to the VM's tags unless O(purge_tags).
    type: list
    elements: str
  purge_tags:
    description: Remove the tags O(tags) does not list.
    type: bool
    default: false
  cores:
    description: CPU cores per socket.
    type: int
  sockets:
    description: CPU sockets.
    type: int
  cpu:
    description: CPU type, or the property string (C(cputype=host,flags=+aes)).
    type: str
  memory:
    description: Memory in MiB.
    type: int
  balloon:
    description: Minimum memory in MiB for the balloon device (V(0) disables it).
    type: int
  numa:
    description: Enable NUMA.
    type: bool
  machine:
    description: Machine type (C(q35), C(pc-i440fx-9.0) ...). An empty string removes it.
    type: str
  bios:
    description: V(seabios) or V(ovmf).
    type: str
    choices: [seabios, ovmf]
  ostype:
    description: Guest OS type (C(l26), C(win11) ...).
    type: str
  scsihw:
    description: SCSI controller model.
    type: str
  boot:
    description:
      - Boot order, as a list of devices (V([scsi0, net0])) or Proxmox VE's string (C(order=scsi0;net0)).
    type: raw
  agent:
    description: The QEMU guest agent, V(true)/V(false) or the property string (C(enabled=1,fstrim_cloned_disks=1)).
    type: str
  onboot:
    description: Start the VM when its node boots.
    type: bool
  startup:
    description: Startup and shutdown behaviour, as C(order=1,up=30,down=60). An empty string removes it.
    type: str
  protection:
    description:
      - Protection against deletion and disk removal. V(false) together with O(state=absent) removes the protection
        and deletes the VM in the same task.
    type: bool
  vga:
    description: Display, as C(std), C(serial0) or C(type=virtio,memory=64). An empty string removes it.
    type: str
  serial:
    description: Serial ports, C(serialN) -> C(socket) or a device; V(absent) removes one.
    type: dict
  hostpci:
    description: PCI passthrough, C(hostpciN) -> property string or dict; V(absent) removes one.
    type: dict
  usb:
    description: USB devices, C(usbN) -> property string or dict; V(absent) removes one.
    type: dict
  disks:
    description:
      - Disks, CD-ROM drives and the cloud-init drive, one entry per slot. Slots the list does not name are left
        alone.
      - A new disk is allocated on O(disks[].storage) with O(disks[].size) (or imported from O(disks[].import_from)).
        An existing disk keeps its volume; its options converge and it grows to O(disks[].size); asking for a
        smaller size fails before any write.
    type: list
    elements: dict
    suboptions:
      slot:
        description: C(scsiN), C(virtioN), C(sataN), C(ideN), C(efidisk0) or C(tpmstate0).
        type: str
        required: true
      state:
        description:
          - V(absent) detaches the disk (its volume becomes an C(unusedN) entry of the VM), or with
            O(disks[].destroy) destroys it.
        type: str
        choices: [present, absent]
        default: present
      destroy:
        description: With O(disks[].state=absent), destroy the volume instead of keeping it as C(unusedN).
        type: bool
        default: false
      storage:
        description: Storage of a new disk. For an existing disk it must be the disk's storage (disks are not moved).
        type: str
      size:
        description: Size, as C(32G), C(512M) or a number of GiB. Disks only grow.
        type: str
      format:
        description: Format of a new disk on a file storage (C(raw), C(qcow2), C(vmdk)).
        type: str
      import_from:
        description: Volume or absolute path a new disk is imported from (C(local:import/disk.qcow2)).
        type: str
      volume:
        description:
          - An existing volume to attach, or for a CD-ROM (O(disks[].media=cdrom)) the ISO volume or V(none).
        type: str
      media:
        description: V(cdrom) for a CD-ROM drive.
        type: str
        choices: [disk, cdrom]
      cloudinit:
        description: A cloud-init drive on O(disks[].storage).
        type: bool
        default: false
      cache:
        description: Cache mode.
        type: str
        choices: [none, writethrough, writeback, unsafe, directsync]
      discard:
        description: Pass discard requests (V(on)) or not (V(ignore)).
        type: str
        choices: ['on', ignore]
      ssd:
        description: Show the disk to the guest as an SSD.
        type: bool
      iothread:
        description: Use an IO thread.
        type: bool
      backup:
        description: Include the disk in backups.
        type: bool
      replicate:
        description: Include the disk in replication.
        type: bool
      options:
        description: Other drive options (C(aio), C(serial), C(efitype), C(pre-enrolled-keys), C(version) ...).
        type: dict
  nets:
    description:
      - Network devices, one entry per slot. Options left out keep their current value; the MAC address is kept
        unless O(nets[].mac) is given.
    type: list
    elements: dict
    suboptions:
      slot:
        description: C(net0) ... C(net31).
        type: str
        required: true
      state:
        description: V(absent) removes the device.
        type: str
        choices: [present, absent]
        default: present
      model:
        description: Device model (default V(virtio) for a new device).
        type: str
      bridge:
        description:
          - The bridge, a Linux bridge, an OVS bridge or an SDN VNet of the VM's node, checked before any write.
          - A physical NIC, a bond or a VLAN interface is refused.
        type: str
      tag:
        description: VLAN tag; V(0) removes it.
        type: int
      firewall:
        description: Use the Proxmox VE firewall on this device.
        type: bool
      link_down:
        description: Disconnect the device.
        type: bool
      mtu:
        description: MTU (V(1) is the bridge's); V(0) removes it.
        type: int
      rate:
        description: Rate limit in MB/s; V(0) removes it.
        type: float
      queues:
        description: Packet queues; V(0) removes it.
        type: int
      mac:
        description: MAC address. Without it a new device gets one from Proxmox VE and an existing one keeps its own.
        type: str
      options:
        description: Other device options (C(trunks) ...); an empty value removes one.
        type: dict
  ciuser:
    description: Cloud-init user. An empty string removes it.
    type: str
  cipassword:
    description:
      - Cloud-init password. Proxmox VE stores only a hash, so it is sent on creation, and on update only with
        O(update_password=always).
    type: str
  update_password:
    description:
      - V(on_create) sends O(cipassword) only when the VM is created; V(always) sends it on every run (then the
        run always reports a change).
    type: str
    choices: [always, on_create]
    default: on_create
  sshkeys:
    description: Cloud-init SSH public keys, one per item (Proxmox VE's URI encoding is done by the module).
    type: list
    elements: str
  ipconfig:
    description:
      - Cloud-init IP configuration, C(ipconfigN) (or C(N)) -> C(ip=dhcp) or a dict (C(ip), C(gw), C(ip6), C(gw6));
        V(absent) removes one.
    type: dict
  nameserver:
    description: Cloud-init DNS servers. An empty string removes them.
    type: str
  searchdomain:
    description: Cloud-init DNS search domains. An empty string removes them.
    type: str
  cicustom:
    description: Cloud-init custom files, as C(user=local:snippets/user.yaml). An empty string removes them.
    type: str
  config:
    description:
      - Any other configuration key -> value (a dict value is rendered as a property string, a null value removes
        the key). Keys a dedicated option manages, disks and NICs are refused here; unknown keys fail before any
        write.
    type: dict
  absent_keys:
    description:
      - Configuration keys to remove when present (C(balloon), C(startup), C(hookscript) ...). C(unusedN) keys
        destroy the unused volume. Disks and NICs are removed through O(disks) and O(nets).
    type: list
    elements: str
notes:
  - Disk removal, C(unusedN) removal and deletion are refused on a protected VM by Proxmox VE.
  - Moving disks between storages and migrating between nodes are not done by this module.
seealso:
  - module: proxfleet.proxmox.pve_migrate
  - name: Proxmox VE QEMU/KVM virtual machines
    description: The options of a VM.
    link: https://pve.proxmox.com/pve-docs/chapter-qm.html
'''

EXAMPLES = r'''
- name: A Debian VM from a cloud image, started
  proxfleet.proxmox.pve_vm:
    name: web-01
    node: auto
    state: started
    cores: 2
    memory: 4096
    scsihw: virtio-scsi-single
    tags: [web, prod]
    disks:
      - slot: scsi0
        storage: local-lvm
        import_from: local:import/debian-12-genericcloud-amd64.qcow2
        size: 32G
        iothread: true
        discard: 'on'
      - slot: ide2
        storage: local-lvm
        cloudinit: true
    nets:
      - slot: net0
        bridge: vmbr0
        firewall: true
    boot: [scsi0]
    ciuser: debian
    sshkeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7... admin@example.com
    ipconfig:
      ipconfig0: ip=dhcp

- name: Clone a template (linked) and give the clone more memory
  proxfleet.proxmox.pve_vm:
    name: app-07
    clone:
      source: debian-12-template
      full: false
    node: pve2
    memory: 8192
    state: started

- name: Grow a disk, add a second one, change the VLAN; reboot to apply what stays pending
  proxfleet.proxmox.pve_vm:
    vmid: 120
    disks:
      - slot: scsi0
        size: 64G
      - slot: scsi1
        storage: local-lvm
        size: 100G
    nets:
      - slot: net0
        tag: 30
    memory: 16384
    apply_pending: reboot

- name: Detach a disk (it stays as unused0)
  proxfleet.proxmox.pve_vm:
    vmid: 120
    disks:
      - slot: scsi1
        state: absent

- name: Shut down within two minutes, then stop
  proxfleet.proxmox.pve_vm:
    name: web-01
    state: shutdown
    timeout: 120
    force_stop: true

- name: Delete a protected, running VM and everything that refers to it
  proxfleet.proxmox.pve_vm:
    vmid: 120
    state: absent
    protection: false
    force: true
    purge: true
'''

RETURN = r'''
vm:
  description:
    - The VM after the run (in check mode, what it would be). RV(vm.config) is the configuration in effect, the
      cloud-init password masked and the SSH keys decoded. Not returned after a delete.
  returned: success and O(state) is not V(absent)
  type: dict
  contains:
    vmid:
      description: The VM's id.
      type: int
    node:
      description: The node it is on.
      type: str
    name:
      description: Its name.
      type: str
    status:
      description: V(running), V(stopped) ...; V(paused) for a VM suspended to RAM, V(hibernated) for one suspended to disk.
      type: str
    template:
      description: Whether it is a template.
      type: bool
    config:
      description: Its configuration (key -> value as Proxmox VE shows it).
      type: dict
  sample:
    vmid: 120
    node: pve2
    name: web-01
    status: running
    template: false
    config: {cores: 2, memory: '4096', net0: 'virtio=BC:24:11:2A:96:6B,bridge=vmbr0,firewall=1'}
pending:
  description:
    - Changes Proxmox VE keeps pending until the next start or reboot of the running VM, key -> V(value) (now) and
      V(pending) (next), or V(delete). Empty when nothing is pending.
      In check mode, what the real run would leave pending. Also returned when a hot-plug QEMU refused fails the
      run, with the refused value.
  returned: success and O(state) is not V(absent); failure of a hot-plug
  type: dict
  sample: {memory: {value: '4096', pending: '8192'}}
actions:
  description: What the run did (or in check mode would do), in order (V(create), V(clone), V(config), V(resize scsi0), V(start) ...).
  returned: success
  type: list
  elements: str
diff:
  description: The managed keys before and after (disks and NICs by slot, secrets masked).
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
  description: The tasks the module waited for, with their exit statuses.
  returned: when a task ran
  type: list
  elements: dict
  contains:
    upid:
      description: The task id.
      type: str
    node:
      description: The node it ran on.
      type: str
    type:
      description: Its type (C(qmcreate), C(qmclone), C(qmconfig), C(resize), C(qmstart) ...).
      type: str
    id:
      description: The VM's id.
      type: str
    exitstatus:
      description: C(OK) or the warning count.
      type: str
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_state as gs, qemu
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import require_root_login
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError, ProxmoxTaskError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guests import list_guests
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule

FIELDS = qemu.config_fields()
FIELD_NAMES = set(f.name for f in FIELDS)
# Text options where an empty string removes the key.
EMPTY_REMOVES = ('description', 'machine', 'startup', 'vga', 'ciuser', 'nameserver', 'searchdomain', 'cicustom',
                 'cpu', 'agent')
SLOT_OPTIONS = (('serial', r'^serial[0-3]$', 'serial'), ('hostpci', r'^hostpci\d+$', 'hostpci'),
                ('usb', r'^usb\d+$', 'usb'), ('ipconfig', r'^ipconfig\d+$', 'ipconfig'))
RESERVED_RAW = FIELD_NAMES | {'tags', 'pool', 'lock', 'digest', 'template', 'meta', 'vmgenid', 'smbios1'}


def _gl():
    """guest_lifecycle (create, clone, locks, power, destroy), imported with the first write: a run that changes
    nothing reads through guest_state alone and never compiles the writing side."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_lifecycle
    return guest_lifecycle


def _label(params):
    if params.get('vmid') is not None:
        return 'VM {0}'.format(params['vmid'])
    return 'VM {0!r}'.format(params.get('name'))


# ---------------------------------------------------------------- input, before any request

def check_input(params):
    """Everything that can be checked without the API; ProxmoxConfigError before any request."""
    if params.get('vmid') is None and not params.get('name'):
        raise ProxmoxConfigError('give vmid or name')
    seen = set()
    for disk in params.get('disks') or []:
        if disk['slot'] in seen:
            raise ProxmoxConfigError('disks: slot {0} is listed twice'.format(disk['slot']))
        seen.add(disk['slot'])
        if not qemu.DISK_SLOT_RE.match(disk['slot']):
            raise ProxmoxConfigError('disks: {0!r} is not a disk slot (ide0-3, sata0-5, scsi0-30, virtio0-15, '
                                     'efidisk0, tpmstate0)'.format(disk['slot']))
        if disk.get('size') is not None:
            qemu.size_bytes(disk['size'])
    for net in params.get('nets') or []:
        if net['slot'] in seen:
            raise ProxmoxConfigError('nets: slot {0} is listed twice'.format(net['slot']))
        seen.add(net['slot'])
        if net.get('state') != 'absent':
            # The model, MAC and slot are checked here; the bridge against the node later.
            qemu.plan_net(dict(net, bridge=net.get('bridge') or 'unchecked'), None)
    for key in (params.get('config') or {}):
        qemu.check_key(key)
        if key in RESERVED_RAW or qemu.DISK_SLOT_RE.match(key) or qemu.NET_SLOT_RE.match(key) or \
                any(re.match(pattern, key) for _opt, pattern, _p in SLOT_OPTIONS):
            raise ProxmoxConfigError('config: {0!r} has its own option (disks, nets, tags, pool or {0}): give it '
                                     'there'.format(key))
    for key in params.get('absent_keys') or []:
        qemu.check_key(key, 'absent_keys')
        if qemu.DISK_SLOT_RE.match(key) or qemu.NET_SLOT_RE.match(key):
            raise ProxmoxConfigError('absent_keys: remove {0} with state: absent in disks or nets'.format(key))
    for option, pattern, prefix in SLOT_OPTIONS:
        qemu.slot_values(option, params.get(option), pattern, prefix)
    if params['state'] == 'absent' and params.get('clone'):
        raise ProxmoxConfigError('clone and state: absent do not go together')


def desired_fields(params):
    desired = {}
    for field in FIELDS:
        value = params.get(field.name)
        if value is None:
            continue
        if field.name in EMPTY_REMOVES and value == '' or field.name == 'sshkeys' and value == []:
            value = ABSENT
        elif field.name == 'boot':
            value = qemu.boot_option(value)
        desired[field.name] = value
    return desired


# ---------------------------------------------------------------- checks that read the cluster

def check_storages_and_bridges(module, node, disk_changes, net_changes, params):
    """New disks' storages exist on the node and take VM images; new or changed NICs' bridges exist there."""
    client = module.client
    url = module.target_url
    storages = set()
    for disk in params.get('disks') or []:
        change = disk_changes.get(disk['slot'])
        if change is not None and change.value and disk.get('storage') and not disk.get('volume'):
            storages.add(disk['storage'])
    clone = params.get('clone') or {}
    if clone.get('storage'):
        storages.add(clone['storage'])
    if storages:
        known = {}
        for item in client.get(client.path('nodes', node, 'storage')) or []:
            if isinstance(item, dict) and item.get('storage'):
                known[item['storage']] = item
        for store in sorted(storages):
            if store not in known:
                raise ProxmoxConfigError('storage {0!r} does not exist on node {1} (its storages: {2})'.format(
                    store, node, ', '.join(sorted(known)) or 'none'), url=url)
            content = str(known[store].get('content') or '')
            if content and 'images' not in content.replace(';', ',').split(','):
                raise ProxmoxConfigError('storage {0!r} on node {1} does not hold VM disks (content {2})'.format(
                    store, node, content), url=url)
    keys_by_bridge = {}
    for net in params.get('nets') or []:
        change = net_changes.get(net['slot'])
        if change is not None and change.value and net.get('bridge'):
            keys_by_bridge.setdefault(net['bridge'], []).append(net['slot'])
    _gl().check_bridges(client, node, keys_by_bridge, url)


# ---------------------------------------------------------------- the plan

class Plan(object):
    """What the run sends to one VM: config params and deletes, unlinks, resizes, the pool, with the diff."""

    def __init__(self):
        self.params = {}
        self.delete = []
        self.destroy = []
        self.resize = []
        self.pool = None
        self.before = {}
        self.after = {}
        self.disk_changes = {}
        self.net_changes = {}

    @property
    def changed(self):
        return bool(self.params or self.delete or self.destroy or self.resize or self.pool)


def make_plan(params, config, creating=False, pool=None):
    """Compare the user's options with `config` (the configuration the VM gets at its next start)."""
    plan = Plan()
    changes = compare(FIELDS, desired_fields(params), config if not creating else None, creating=creating,
                      send_secrets=params['update_password'] == 'always')
    plan.params.update(changes.params)
    plan.delete.extend(changes.delete)
    plan.before.update(changes.before)
    plan.after.update(changes.after)
    if params.get('tags') is not None or (params.get('purge_tags') and not creating):
        send, before, after = qemu.tags_plan(params.get('tags') or [], config.get('tags'), params['purge_tags'])
        plan.before['tags'] = before
        plan.after['tags'] = after
        if send is ABSENT:
            plan.delete.append('tags')
        elif send is not None:
            plan.params['tags'] = send
    for disk in params.get('disks') or []:
        change = qemu.plan_disk(disk, config.get(disk['slot']))
        plan.disk_changes[disk['slot']] = change
        plan.before[disk['slot']] = change.before
        plan.after[disk['slot']] = change.after
        if change.value:
            plan.params[disk['slot']] = change.value
        if change.detach:
            plan.delete.append(disk['slot'])
        if change.destroy:
            plan.destroy.append(disk['slot'])
        if change.resize:
            plan.resize.append((disk['slot'], change.resize))
    for net in params.get('nets') or []:
        change = qemu.plan_net(net, config.get(net['slot']))
        plan.net_changes[net['slot']] = change
        plan.before[net['slot']] = change.before
        plan.after[net['slot']] = change.after
        if change.value:
            plan.params[net['slot']] = change.value
        if change.delete:
            plan.delete.append(net['slot'])
    for option, pattern, prefix in SLOT_OPTIONS:
        for key, value in qemu.slot_values(option, params.get(option), pattern, prefix).items():
            _raw(plan, key, value, config)
    for key, value in (params.get('config') or {}).items():
        _raw(plan, key, ABSENT if value is None else qemu.raw_value(key, value), config)
    for key in params.get('absent_keys') or []:
        _raw(plan, key, ABSENT, config)
    if params.get('pool') and params['pool'] != pool:
        plan.pool = params['pool']
        plan.before['pool'] = pool
        plan.after['pool'] = params['pool']
    both = sorted(set(plan.params) & set(plan.delete))
    if both:
        raise ProxmoxConfigError('{0}: given a value and named absent in the same task'.format(', '.join(both)))
    return plan


def _raw(plan, key, value, config):
    have = config.get(key)
    if value is ABSENT:
        if have is not None and key not in plan.delete:
            plan.delete.append(key)
            plan.before[key] = qemu.canonical_raw(key, have)
            plan.after[key] = None
        return
    plan.before[key] = qemu.canonical_raw(key, have)
    plan.after[key] = qemu.canonical_raw(key, value)
    if plan.before[key] != plan.after[key]:
        plan.params[key] = value


# ---------------------------------------------------------------- the run

class VmRun(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.url = module.target_url
        self.actions = []
        self.cloned = False
        self.deferred = []
        self.before = {}
        self.after = {}

    # ------------------------------------------------------------ reads

    def read(self, guest):
        config, pending = gs.read_pending(self.client, guest)
        return config, pending

    def vm_view(self, guest, config, qmpstatus=None):
        status = guest.status
        if status == 'running' and qmpstatus in ('paused', 'suspended'):
            status = 'paused'
        if gs.hibernated(guest):
            status = 'hibernated'
        return {'vmid': guest.vmid, 'node': guest.node, 'name': config.get('name', guest.name), 'status': status,
                'template': bool(int(config.get('template') or 0)) or guest.template,
                'config': qemu.mask_config(config)}

    # ------------------------------------------------------------ main

    def run(self):
        check_input(self.params)
        guests = list_guests(self.client)
        guest = gs.locate(self.client, 'qemu', vmid=self.params.get('vmid'), name=self.params.get('name'),
                          url=self.url, guests=guests)
        if guest is not None:
            # Failures from here on name the VM as the cluster knows it: 'VM 100 (web)'.
            self.module.guest_label = guest.describe(node=False)
        state = self.params['state']
        if state == 'absent':
            return self.absent(guest)
        if guest is None:
            if self.params.get('clone'):
                guest = self.clone(guests)
                if guest is None:  # check mode
                    return self.result(None, {}, {}, created=True)
            else:
                return self.create()
        elif self.params.get('node') not in (None, 'auto', guest.node):
            raise ProxmoxConfigError('{0} is on node {1}, not {2}: move it with proxfleet.proxmox.pve_migrate'.format(
                guest.describe(node=False), guest.node, self.params['node']), url=self.url)
        return self.converge(guest)

    # ------------------------------------------------------------ create

    def create(self):
        params = self.params
        if not params.get('node'):
            raise ProxmoxConfigError('no such VM in the cluster: give node (or node: auto) to create it',
                                     url=self.url)
        if params['state'] in ('suspended', 'hibernated'):
            raise ProxmoxConfigError('a new VM cannot be {0}: create it started first'.format(params['state']),
                                     url=self.url)
        node = _gl().pick_node(self.client, params['node'], self.url)
        plan = make_plan(params, {}, creating=True)
        if plan.destroy or plan.resize:
            plan.destroy, plan.resize = [], []
        check_storages_and_bridges(self.module, node, plan.disk_changes, plan.net_changes, params)
        send = dict(plan.params)
        if params.get('name'):
            send['name'] = params['name']
        if params.get('pool'):
            send['pool'] = params['pool']
        self.after = dict(plan.after, pool=params.get('pool')) if params.get('pool') else dict(plan.after)
        self.require_root(plan.params)
        self.actions.append('create')
        vmid = params.get('vmid')
        if self.module.check_mode:
            return self.result(None, {}, {}, created=True, node=node)

        def create(candidate):
            return self.client.post(self.client.path('nodes', node, 'qemu'), vmid=candidate, **send)

        vmid = _gl().create_guest(self.module, create, vmid=vmid)
        guest = self.relocate(vmid)
        return self.finish(guest, created=True)

    # ------------------------------------------------------------ clone

    def clone(self, guests):
        params = self.params
        spec = params['clone']
        source = _gl().clone_source(self.client, 'qemu', spec['source'], url=self.url, guests=guests)
        node = source.node
        if params.get('node'):
            node = _gl().pick_node(self.client, params['node'], self.url)
        check_storages_and_bridges(self.module, node, {}, {}, params)
        send = {}
        if params.get('name'):
            send['name'] = params['name']
        if node != source.node:
            send['target'] = node
        for key in ('snapname', 'storage', 'format'):
            if spec.get(key):
                send[key] = spec[key]
        if spec.get('full') is not None:
            send['full'] = 1 if spec['full'] else 0
        if params.get('pool'):
            send['pool'] = params['pool']
        self.actions.append('clone')
        self.cloned = True
        self.after = {'clone_of': source.vmid, 'node': node}
        if self.module.check_mode:
            return None

        def clone(candidate):
            return self.client.post(source.path('clone'), newid=candidate, **send)

        try:
            vmid = _gl().create_guest(self.module, clone, vmid=params.get('vmid'))
        except ProxmoxApiError as error:
            _gl().raise_if_locked(error, source, self.url)
        return self.relocate(vmid)

    def relocate(self, vmid):
        guest = gs.locate(self.client, 'qemu', vmid=vmid, url=self.url)
        if guest is None:
            raise ProxmoxConfigError('VM {0} is not in the cluster after its creation'.format(vmid), url=self.url)
        return guest

    # ------------------------------------------------------------ converge

    def converge(self, guest):
        params = self.params
        config, pending = self.read(guest)
        target = gs.effective(config, pending)
        plan = make_plan(params, target, pool=guest.entry.get('pool'))
        if self.cloned:
            # A clone of this run: nothing was there before; after is the clone with its converged keys.
            self.after.update(plan.after)
        else:
            self.before = plan.before
            self.after = plan.after
        qmpstatus = None
        power_state = params['state'] if params['state'] not in ('present', 'template') else None
        if power_state and gs.needs_qmpstatus(guest, power_state):
            qmpstatus = gs.qmp_status(self.client, guest).get('qmpstatus')
        power = gs.plan_power(guest, power_state, qmpstatus) if power_state else []
        to_template = params['state'] == 'template' and not (guest.template or int(config.get('template') or 0))
        if (plan.changed or power or to_template) and guest.lock and guest.lock != 'suspended':
            guest = _gl().ensure_unlocked(self.module, guest, params['lock_timeout'])
            config, pending = self.read(guest)
            target = gs.effective(config, pending)
            plan = make_plan(params, target, pool=guest.entry.get('pool'))
            self.after.update(plan.after)
        if plan.changed:
            self.require_root(plan.params, plan.delete, target)
            check_storages_and_bridges(self.module, guest.node, plan.disk_changes, plan.net_changes, params)
            # A pending disk is resized after the reboot that attaches it (apply_pending: reboot), never before.
            self.deferred = pending_resizes(guest, config, pending, plan, after_reboot=self.applies_pending(guest))
            plan.resize = [item for item in plan.resize if item not in self.deferred]
            self.write(guest, plan)
        if to_template:
            self.template(guest)
        elif power:
            if plan.changed and not self.module.check_mode:
                guest = self.relocate(guest.vmid)
            self.actions.extend(_gl().set_power(self.module, guest, power_state, timeout=params['timeout'],
                                                force_stop=params['force_stop'], qmpstatus=qmpstatus))
        # Check mode's forecast of the pending section, by qemu-server's hot-plug rules (qemu.predict_pending).
        predicted = pending
        if not power and (plan.params or plan.delete):
            # A stopped VM's config update applies every pending change (vmconfig_apply_pending).
            predicted = qemu.predict_pending(config, pending, plan.params, plan.delete) if guest.running else {}
        if self.applies_pending(guest) and not power:
            if self.module.check_mode and predicted:
                self.actions.append('reboot')
                self.actions.extend('resize ' + slot for slot, _size in self.deferred)
                predicted = {}
            elif not self.actions and pending:
                return self.finish(guest)
        changed = bool(self.actions)
        if not changed:
            return self.result(guest, config, pending, qmpstatus=qmpstatus)
        if self.module.check_mode:
            return self.result(guest, config, predicted, qmpstatus=qmpstatus, changed=True, created=self.cloned)
        return self.finish(self.relocate(guest.vmid), created=False, cloned=self.cloned)

    def require_root(self, send, delete=(), current=None):
        """Refuse, before any write (check mode too), what Proxmox VE lets only the root@pam login set."""
        found = qemu.root_only_changes(send, delete, current)
        if found:
            require_root_login(self.client.settings, ' and '.join(found))

    def applies_pending(self, guest):
        """True when pending changes of this run are to be applied by a reboot (apply_pending: reboot, a running VM,
        no power state that acts on its own)."""
        wanted = self.params['apply_pending'] == 'reboot'
        return wanted and guest.running and self.params['state'] in ('present', 'started')

    def write(self, guest, plan):
        """The config update (one task), unlinks with destroy, resizes, the pool; nothing in check mode."""
        send = dict(plan.params)
        if plan.delete:
            send['delete'] = ','.join(plan.delete)
        if send:
            self.actions.append('config')
            try:
                _gl().run_config_update(self.module, guest, send)
            except ProxmoxTaskError as error:
                self.hotplug_failed(guest, error)
        if plan.destroy:
            self.actions.append('destroy ' + ','.join(plan.destroy))
            if not self.module.check_mode:
                idlist = ','.join(plan.destroy)
                _gl().guarded(self.module, guest, lambda: self.client.put(guest.path('unlink'), idlist=idlist, force=1))
        for slot, size in plan.resize:
            self.actions.append('resize ' + slot)
            _gl().resize_disk(self.module, guest, slot, size)
        if plan.pool:
            self.actions.append('pool')
            if not self.module.check_mode:
                self.client.put(self.client.path('pools', plan.pool), vms=str(guest.vmid), **{'allow-move': 1})

    def hotplug_failed(self, guest, error):
        """A config task that failed because QEMU refused a hot-plug (update_vm_api raises `hotplug problem - ...`
        after writing what it could): the refused values stay pending. With apply_pending=reboot the run goes on and
        the reboot applies them; otherwise the module fails with QEMU's words, the pending values and the diff."""
        if not guest.running or 'hotplug problem' not in ' '.join([str(error.message)] + list(error.log_tail or [])):
            raise error
        config, pending = self.read(guest)
        if self.applies_pending(guest):
            self.module.warn('{0}: {1}; the values stay pending and the reboot applies them'.format(
                guest.describe(), error.describe()))
            return
        error.message = '{0}; the values Proxmox VE could not hot-plug stay pending until the next start or reboot ' \
                        '(apply_pending: reboot applies them)'.format(error.message)
        self.module.fail_from(error, target=guest.describe(), changed=True, actions=self.actions,
                              pending=gs.mask_pending(pending, qemu.SECRET_KEYS),
                              vm=self.vm_view(guest, config),
                              diff={'before': self.before, 'after': self.after})

    def template(self, guest):
        if guest.running:
            if not self.params['force']:
                raise ProxmoxConfigError('{0} is running: stop it first or set force to stop it before the conversion '
                                         'to a template'.format(guest.describe()), url=self.url)
            _gl().power_action(self.module, guest, 'stop')
            self.actions.append('stop')
        self.actions.append('template')
        _gl().make_template(self.module, guest)

    # ------------------------------------------------------------ delete

    def absent(self, guest):
        if guest is None:
            return {'changed': False, 'actions': [], 'diff': {'before': {}, 'after': {}}}
        config, _pending = self.read(guest)
        if guest.lock:
            guest = _gl().ensure_unlocked(self.module, guest, self.params['lock_timeout'])
        actions = _gl().destroy(self.module, guest, config=config, force=self.params['force'], purge=self.params['purge'],
                                destroy_unreferenced_disks=self.params['destroy_unreferenced_disks'],
                                unprotect=self.params.get('protection') is False)
        before = {'vmid': guest.vmid, 'node': guest.node, 'name': guest.name, 'status': guest.status}
        return {'changed': True, 'actions': actions, 'diff': {'before': before, 'after': {}}}

    # ------------------------------------------------------------ results

    def finish(self, guest, created=False, cloned=False):
        """Re-read the VM after writes: the result shows what Proxmox VE holds, pending changes included."""
        config, pending = self.read(guest)
        if pending and self.applies_pending(guest):
            _gl().power_action(self.module, guest, 'reboot', timeout=self.params['timeout'],
                               force_stop=self.params['force_stop'])
            self.actions.append('reboot')
            guest = self.relocate(guest.vmid)
            for slot, size in self.deferred:
                self.actions.append('resize ' + slot)
                _gl().resize_disk(self.module, guest, slot, size)
            config, pending = self.read(guest)
        if created:
            state = self.params['state']
            if state == 'template':
                self.template(guest)
            elif state not in ('present',):
                self.actions.extend(_gl().set_power(self.module, guest, state, timeout=self.params['timeout'],
                                                    force_stop=self.params['force_stop']))
            if len(self.actions) > 1:
                guest = self.relocate(guest.vmid)
                config, pending = self.read(guest)
        qmpstatus = gs.qmp_status(self.client, guest).get('qmpstatus') if guest.running else None
        return self.result(guest, config, pending, qmpstatus=qmpstatus, changed=True, created=created or cloned)

    def result(self, guest, config, pending, qmpstatus=None, created=False, changed=None, node=None):
        if guest is None:
            view = {'vmid': self.params.get('vmid'), 'node': node or self.params.get('node'),
                    'name': self.params.get('name'), 'status': None, 'template': self.params['state'] == 'template',
                    'config': {}}
        else:
            view = self.vm_view(guest, config, qmpstatus)
        changed = bool(self.actions) if changed is None else changed
        diff = {'before': self.before if not created else {}, 'after': self.after}
        return {'changed': changed, 'vm': view, 'pending': gs.mask_pending(pending, qemu.SECRET_KEYS),
                'actions': self.actions, 'diff': diff}


def pending_resizes(guest, config, pending, plan, after_reboot=False):
    """The resizes of `plan` that target a disk still pending (added to a running VM that could not hot-plug it):
    it is not attached yet, and Proxmox VE's resize only knows the disks of the current configuration. Without a
    reboot of this run to attach it first (after_reboot), refused before any write."""
    found = []
    for slot, size in plan.resize:
        change = pending.get(slot) or {}
        if 'pending' not in change:
            continue
        now = qemu.parse_drive(config[slot])[0] if config.get(slot) else None
        if now == qemu.parse_drive(change['pending'])[0]:
            continue
        if not after_reboot:
            raise ProxmoxConfigError(
                'disks: {0} of {1} is still pending (Proxmox VE attaches it at the next start or reboot) and cannot be '
                'resized before: apply the pending changes first (apply_pending: reboot, or restart the VM)'.format(
                    slot, guest.describe()))
        found.append((slot, size))
    return found


def run(module):
    return VmRun(module).run()


def main():
    disk = dict(
        slot=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        destroy=dict(type='bool', default=False),
        storage=dict(type='str'),
        size=dict(type='str'),
        format=dict(type='str'),
        import_from=dict(type='str'),
        volume=dict(type='str'),
        media=dict(type='str', choices=['disk', 'cdrom']),
        cloudinit=dict(type='bool', default=False),
        cache=dict(type='str', choices=['none', 'writethrough', 'writeback', 'unsafe', 'directsync']),
        discard=dict(type='str', choices=['on', 'ignore']),
        ssd=dict(type='bool'),
        iothread=dict(type='bool'),
        backup=dict(type='bool'),
        replicate=dict(type='bool'),
        options=dict(type='dict'),
    )
    net = dict(
        slot=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        model=dict(type='str'),
        bridge=dict(type='str'),
        tag=dict(type='int'),
        firewall=dict(type='bool'),
        link_down=dict(type='bool'),
        mtu=dict(type='int'),
        rate=dict(type='float'),
        queues=dict(type='int'),
        mac=dict(type='str'),
        options=dict(type='dict'),
    )
    module = ProxmoxModule(
        argument_spec=dict(
            vmid=dict(type='int'),
            name=dict(type='str'),
            node=dict(type='str'),
            state=dict(type='str', default='present', choices=[
                'present', 'absent', 'started', 'stopped', 'shutdown', 'restarted', 'rebooted', 'suspended', 'hibernated',
                'template']),
            timeout=dict(type='int', default=900),
            force_stop=dict(type='bool', default=False),
            lock_timeout=dict(type='int', default=0),
            apply_pending=dict(type='str', choices=['none', 'reboot'], default='none'),
            force=dict(type='bool', default=False),
            purge=dict(type='bool', default=False),
            destroy_unreferenced_disks=dict(type='bool', default=False),
            clone=dict(type='dict', options=dict(
                source=dict(type='str', required=True),
                full=dict(type='bool'),
                snapname=dict(type='str'),
                storage=dict(type='str'),
                format=dict(type='str', choices=['raw', 'qcow2', 'vmdk']),
            )),
            pool=dict(type='str'),
            description=dict(type='str'),
            tags=dict(type='list', elements='str'),
            purge_tags=dict(type='bool', default=False),
            cores=dict(type='int'),
            sockets=dict(type='int'),
            cpu=dict(type='str'),
            memory=dict(type='int'),
            balloon=dict(type='int'),
            numa=dict(type='bool'),
            machine=dict(type='str'),
            bios=dict(type='str', choices=['seabios', 'ovmf']),
            ostype=dict(type='str'),
            scsihw=dict(type='str'),
            boot=dict(type='raw'),
            agent=dict(type='str'),
            onboot=dict(type='bool'),
            startup=dict(type='str'),
            protection=dict(type='bool'),
            vga=dict(type='str'),
            serial=dict(type='dict'),
            hostpci=dict(type='dict'),
            usb=dict(type='dict'),
            disks=dict(type='list', elements='dict', options=disk),
            nets=dict(type='list', elements='dict', options=net),
            ciuser=dict(type='str'),
            cipassword=dict(type='str', no_log=True),
            update_password=dict(type='str', choices=['always', 'on_create'], default='on_create', no_log=False),
            sshkeys=dict(type='list', elements='str', no_log=False),
            ipconfig=dict(type='dict'),
            nameserver=dict(type='str'),
            searchdomain=dict(type='str'),
            cicustom=dict(type='str'),
            config=dict(type='dict'),
            absent_keys=dict(type='list', elements='str', no_log=False),
        ),
        required_one_of=[('vmid', 'name')],
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: getattr(m, 'guest_label', None) or _label(m.params))


if __name__ == '__main__':
    main()
