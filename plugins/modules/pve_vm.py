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

from ansible_collections.proxfleet.proxmox.plugins.module_utils import _zipimport

# Before the other module_utils, so that each of them is compiled once per run, not twice (see _zipimport).
_zipimport.install()

# The run lives in module_utils/vm.py (compiled once), its writing side in module_utils/vm_write.py (loaded with
# the first write); check_input and make_plan are this module's names too.
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule  # noqa: E402
from ansible_collections.proxfleet.proxmox.plugins.module_utils.vm import (  # noqa: E402,F401 pylint: disable=unused-import
    check_input,
    label,
    make_plan,
    run,
)


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
    module.run(run, target=lambda m: getattr(m, 'guest_label', None) or label(m.params))


if __name__ == '__main__':
    main()
