#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_storage
short_description: Manage the storages of a Proxmox VE cluster (storage.cfg)
version_added: 0.1.0
description:
  - Creates, updates and removes storage definitions of a Proxmox VE cluster (Datacenter, Storage), the
    C(/storage) API, for the types V(dir), V(nfs), V(cifs), V(lvm), V(lvmthin), V(zfspool), V(rbd), V(cephfs) and
    V(pbs) (Proxmox Backup Server).
  - Only the options you give are managed; an option left out keeps its value on the cluster.
  - Each option belongs to some storage types only (as in Proxmox VE's storage plugins); giving an option the type
    does not have fails before any request is written.
  - Some options can only be set when the storage is created (Proxmox VE marks them fixed) - O(type), O(path) of
    V(dir), V(nfs), V(cifs) and V(cephfs), O(server) and O(export) of V(nfs), O(server) and O(share) of V(cifs),
    O(vgname) and O(base) of V(lvm), O(vgname) and O(thinpool) of V(lvmthin), O(pool) of V(zfspool), O(server) and
    O(datastore) of V(pbs). Asking for a different value fails before any write; remove and recreate the storage
    to change them.
  - Passwords and keys (O(password), O(keyring), O(encryption_key), O(master_pubkey)) are never returned by the
    API, so they cannot be compared; see O(update_password).
  - Removing a storage removes its definition only; the data on it stays.
  - Needs C(Datastore.Allocate) on C(/storage). Creating, updating and removing a storage all check C(/storage)
    itself, so a grant on C(/storage/<id>) alone is not enough; reading one storage's configuration checks
    C(/storage/<id>), which a grant on C(/storage) covers.
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
  storage:
    description:
      - Id of the storage (letters, digits, V(-), V(_) and V(.), starting with a letter).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the storage; V(absent) removes its definition (the data stays).
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - Storage type. Required to create a storage; can not change afterwards.
    type: str
    choices: [dir, nfs, cifs, lvm, lvmthin, zfspool, rbd, cephfs, pbs]
  content:
    description:
      - Content types the storage holds (V(images), V(rootdir), V(iso), V(vztmpl), V(backup), V(snippets),
        V(import), or V(none) alone), as the type allows. Order does not matter.
    type: list
    elements: str
  nodes:
    description:
      - Nodes the storage is available on. An empty list makes it available on every node.
      - Every node named must be a node of the cluster.
    type: list
    elements: str
  shared:
    description:
      - Mark a V(dir) or V(lvm) storage as having the same content on every node (it does not make it so).
      - Network storages (V(nfs), V(cifs), V(rbd), V(cephfs), V(pbs)) are always shared.
    type: bool
  disable:
    description:
      - Disable the storage.
    type: bool
  prune_backups:
    description:
      - Retention of the backups on the storage (V(dir), V(nfs), V(cifs), V(cephfs), V(pbs)). Keys are the
        C(keep-*) options with V(_) for V(-). An empty dict removes the retention.
    type: dict
    suboptions:
      keep_all:
        description: Keep every backup (other keep options are then not allowed).
        type: bool
      keep_last:
        description: Keep the last this many backups.
        type: int
      keep_hourly:
        description: Keep backups of the last this many hours.
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
  max_protected_backups:
    description:
      - Maximum number of protected backups per guest (V(-1) for unlimited).
    type: int
  path:
    description:
      - File system path (V(dir)), or mount point (V(nfs), V(cifs), V(cephfs); default C(/mnt/pve/<storage>)).
      - Can only be set on creation.
    type: str
  server:
    description:
      - Server address (V(nfs), V(cifs), V(pbs)). Can only be set on creation.
    type: str
  export:
    description:
      - NFS export path (V(nfs)). Can only be set on creation.
    type: str
  share:
    description:
      - CIFS share (V(cifs)). Can only be set on creation.
    type: str
  subdir:
    description:
      - Subdirectory to mount (V(cifs), V(cephfs)). An empty string removes it.
    type: str
  options:
    description:
      - Mount options (V(nfs), V(cifs), V(cephfs)). An empty string removes them.
    type: str
  username:
    description:
      - User name (V(cifs), V(rbd), V(cephfs), V(pbs), where it is C(user@realm!token) or C(user@realm)).
    type: str
  password:
    description:
      - Password (V(cifs), V(pbs); for a PBS API token, its secret). Write-only, see O(update_password).
    type: str
  domain:
    description:
      - CIFS domain (V(cifs)).
    type: str
  smbversion:
    description:
      - SMB protocol version (V(cifs)).
    type: str
    choices: [default, '2.0', '2.1', '3', '3.0', '3.11']
  vgname:
    description:
      - LVM volume group (V(lvm), V(lvmthin)). Can only be set on creation.
    type: str
  thinpool:
    description:
      - LVM thin pool (V(lvmthin)). Can only be set on creation.
    type: str
  base:
    description:
      - Base volume the volume group is on (V(lvm)). Can only be set on creation.
    type: str
  saferemove:
    description:
      - Zero out data when removing logical volumes (V(lvm)).
    type: bool
  tagged_only:
    description:
      - Only use logical volumes tagged with C(pve-vm-ID) (V(lvm)).
    type: bool
  pool:
    description:
      - ZFS pool (V(zfspool); can only be set on creation) or Ceph pool (V(rbd)).
    type: str
  blocksize:
    description:
      - ZFS block size (V(zfspool)), for example V(16k).
    type: str
  sparse:
    description:
      - Use ZFS thin provisioning (V(zfspool)).
    type: bool
  mountpoint:
    description:
      - Mount point of the ZFS pool (V(zfspool)). An empty string removes it.
    type: str
  monhost:
    description:
      - Monitors of an external Ceph cluster (V(rbd), V(cephfs)); leave out for the cluster's own Ceph. An empty
        list removes them.
    type: list
    elements: str
  data_pool:
    description:
      - Ceph data pool for erasure-coded pools (V(rbd)).
    type: str
  namespace:
    description:
      - Ceph RBD namespace (V(rbd)) or Proxmox Backup Server namespace (V(pbs)). An empty string removes it.
    type: str
  krbd:
    description:
      - Access RBD through the kernel module (V(rbd)).
    type: bool
  keyring:
    description:
      - Ceph client keyring of an external cluster (V(rbd), V(cephfs)). Write-only, see O(update_password).
    type: str
  fuse:
    description:
      - Mount CephFS through FUSE (V(cephfs)).
    type: bool
  fs_name:
    description:
      - Name of the Ceph file system (V(cephfs)).
    type: str
  datastore:
    description:
      - Datastore on the Proxmox Backup Server (V(pbs)). Can only be set on creation.
    type: str
  port:
    description:
      - Port of the Proxmox Backup Server (V(pbs)), 8007 by default.
    type: int
  pbs_fingerprint:
    description:
      - SHA-256 fingerprint of the Proxmox Backup Server's certificate (V(pbs)), the storage's C(fingerprint).
      - Named so because O(fingerprint) pins the certificate of the Proxmox VE API this module talks to.
    type: str
  encryption_key:
    description:
      - Client-side encryption key (V(pbs)) as JSON, or V(autogen) to have Proxmox VE make one (returned in
        RV(config) on creation).
      - Write-only, see O(update_password).
    type: str
  master_pubkey:
    description:
      - Base64-encoded, PEM-formatted public RSA key for a copy of the encryption key in each backup (V(pbs)).
      - Write-only, see O(update_password).
    type: str
  format:
    description:
      - Default image format (V(dir), V(nfs), V(cifs)).
    type: str
    choices: [raw, qcow2, vmdk, subvol]
  preallocation:
    description:
      - Preallocation of raw and qcow2 images (V(dir), V(nfs), V(cifs)).
    type: str
    choices: ['off', metadata, falloc, full]
  create_base_path:
    description:
      - Create the base directory if it does not exist (V(dir), V(nfs), V(cifs), V(cephfs)).
    type: bool
  create_subdirs:
    description:
      - Populate the directory with the default structure (V(dir), V(nfs), V(cifs), V(cephfs)).
    type: bool
  is_mountpoint:
    description:
      - The path is an externally managed mount point (V(dir)); V(yes) or the mount point's path.
    type: str
  update_password:
    description:
      - V(on_create) sends O(password), O(keyring), O(encryption_key) and O(master_pubkey) only when the storage
        is created - they cannot be read back, so an existing storage keeps its own and the run reports no change
        for them.
      - V(always) sends the ones given on every run, which then always reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!ansible
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: An NFS share for backups and ISO images, kept 7 days
      proxfleet.proxmox.pve_storage:
        storage: nfs-backup
        type: nfs
        server: 192.0.2.10
        export: /export/pve
        content: [backup, iso]
        prune_backups:
          keep_daily: 7

    - name: A Proxmox Backup Server datastore, in a namespace, with an API token
      proxfleet.proxmox.pve_storage:
        storage: pbs-main
        type: pbs
        server: pbs.example.com
        datastore: main
        namespace: cluster-a
        username: backup@pbs!pve
        password: "{{ vault_pbs_token_secret }}"
        pbs_fingerprint: "ab:cd:...:ef"
        content: [backup]

    - name: Local thin pool on two nodes only
      proxfleet.proxmox.pve_storage:
        storage: fast
        type: lvmthin
        vgname: nvme
        thinpool: data
        content: [images, rootdir]
        nodes: [pve1, pve2]

    - name: Disable a storage, changing nothing else
      proxfleet.proxmox.pve_storage:
        storage: fast
        disable: true

    - name: Remove a storage definition (the data stays)
      proxfleet.proxmox.pve_storage:
        storage: fast
        state: absent
'''

RETURN = r'''
storage:
  description:
    - The storage as the cluster has it after the run (in check mode, as it would be); null once removed.
    - Keys are the API's (V(prune-backups), V(vgname), ...); passwords and keys are never included.
  returned: success
  type: dict
  sample:
    storage: nfs-backup
    type: nfs
    server: 192.0.2.10
    export: /export/pve
    path: /mnt/pve/nfs-backup
    content: backup,iso
    prune-backups: keep-daily=7
    shared: 1
    digest: 3e4f...
config:
  description:
    - What Proxmox VE generated when it created the storage - for a V(pbs) storage made with
      O(encryption_key=autogen), the new key (JSON) under C(encryption-key). It is returned only this once; keep it
      safe (in a vault), since backups cannot be restored without it.
  returned: when the storage was created and Proxmox VE generated something
  type: dict
  sample:
    encryption-key: '{"kdf": null, "created": "...", "data": "...", "fingerprint": "..."}'
diff:
  description: The managed options before and after, secrets masked.
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils import storage as st
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ResourceSpec

BOOLS = ('shared', 'disable', 'saferemove', 'tagged_only', 'sparse', 'krbd', 'fuse', 'create_base_path',
         'create_subdirs')
# Booleans whose default is off: false means "remove the key", which is what PVE's own default is.
OFF_BY_DEFAULT = ('shared', 'disable', 'saferemove', 'tagged_only', 'sparse', 'krbd', 'fuse')
INTS = ('max_protected_backups', 'port')
SETS = ('content', 'nodes', 'monhost')
# An empty string or list removes these.
REMOVABLE = ('subdir', 'options', 'mountpoint', 'namespace', 'nodes', 'monhost', 'domain', 'data_pool', 'fs_name',
             'blocksize', 'username', 'pbs_fingerprint')


def _lower(value):
    return str(value).strip().lower()


def fields_for(kind):
    """The managed fields, with the create-only ones of this storage type marked."""
    fixed = set(st.TYPES.get(kind, ((), (), ()))[1])
    fields = [Field('type', create_only=True)]
    for name in st.TYPE_OPTIONS:
        # storage.cfg spells these two with an underscore.
        api_name = name if name in ('tagged_only', 'is_mountpoint') else None
        if name == 'prune_backups':
            fields.append(Field(name, normalize=st.prune_props, serialize=st.prune_serialize))
        elif name in BOOLS:
            fields.append(Field(name, api_name=api_name, kind='bool', create_only=name in fixed))
        elif name in INTS:
            fields.append(Field(name, kind='int', create_only=name in fixed))
        elif name in SETS:
            fields.append(Field(name, kind='set', create_only=name in fixed))
        elif name == 'pbs_fingerprint':
            fields.append(Field(name, api_name='fingerprint', normalize=_lower))
        else:
            fields.append(Field(name, api_name=api_name, create_only=name in fixed, write_only=name in st.WRITE_ONLY))
    return fields


def spec_for(kind):
    return ResourceSpec(result_key='storage', label='storage', collection='/storage', id_field='storage',
                        fields=fields_for(kind))


def desired_state(params, fields, current=None):
    """Options the user gave; empty values remove a key, and false removes a flag whose default is off."""
    desired = {}
    current = current or {}
    for field in fields:
        value = params.get(field.name)
        if field.name in REMOVABLE and value in ('', []):
            value = ABSENT
        elif field.name in OFF_BY_DEFAULT and value is False:
            have = current.get(field.api_name)
            # Off already (no key, or an explicit 0 as pveceph writes `krbd 0`): nothing to do.
            value = ABSENT if have not in (None, 0, '0', False) else None
        desired[field.name] = value
    if params.get('prune_backups') is not None:
        desired['prune_backups'] = st.prune_desired(params['prune_backups'])
    return desired


def run(module):
    params = module.params
    name = params['storage']
    probe = st.StorageResource(module, spec_for(params.get('type')), name)
    current = probe.prefetch()
    if params['state'] == 'absent':
        return probe.ensure('absent', {})

    kind = params.get('type') or (current or {}).get('type')
    if current is None and not params.get('type'):
        raise ProxmoxConfigError('it does not exist: give its type to create it')
    if current is not None and params.get('type') and params['type'] != current.get('type'):
        # Checked first: the other options would otherwise be judged against a type the storage does not have.
        raise ProxmoxConfigError('these options can only be set on creation: type is {0!r}, asked {1!r}. Remove and '
                                 'recreate the storage to change them.'.format(current.get('type'), params['type']))
    given = [opt for opt in st.TYPE_OPTIONS if params.get(opt) is not None]
    st.check_options(kind, given, creating=current is None)
    st.check_content(kind, params.get('content'))
    st.check_nodes(module.client, params.get('nodes'))

    resource = st.StorageResource(module, spec_for(kind), name)
    resource.current, resource._prefetched = current, True  # pylint: disable=protected-access
    desired = desired_state(params, resource.spec.fields, current)
    if current is not None:
        st.check_mutable(resource.spec.fields, desired, current)
    result = resource.ensure('present', desired, send_secrets=params['update_password'] == 'always')
    if resource.created_config:
        result['config'] = resource.created_config
    return result


def main():
    prune_options = dict((key, dict(type='bool' if key == 'keep_all' else 'int')) for key in st.PRUNE_KEYS)
    module = ProxmoxModule(
        argument_spec=dict(
            storage=dict(type='str', required=True, aliases=['name']),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            type=dict(type='str', choices=['dir', 'nfs', 'cifs', 'lvm', 'lvmthin', 'zfspool', 'rbd', 'cephfs', 'pbs']),
            content=dict(type='list', elements='str'),
            nodes=dict(type='list', elements='str'),
            shared=dict(type='bool'),
            disable=dict(type='bool'),
            prune_backups=dict(type='dict', options=prune_options),
            max_protected_backups=dict(type='int'),
            path=dict(type='str'),
            server=dict(type='str'),
            export=dict(type='str'),
            share=dict(type='str'),
            subdir=dict(type='str'),
            options=dict(type='str'),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            domain=dict(type='str'),
            smbversion=dict(type='str', choices=['default', '2.0', '2.1', '3', '3.0', '3.11']),
            vgname=dict(type='str'),
            thinpool=dict(type='str'),
            base=dict(type='str'),
            saferemove=dict(type='bool'),
            tagged_only=dict(type='bool'),
            pool=dict(type='str'),
            blocksize=dict(type='str'),
            sparse=dict(type='bool'),
            mountpoint=dict(type='str'),
            monhost=dict(type='list', elements='str'),
            data_pool=dict(type='str'),
            namespace=dict(type='str'),
            krbd=dict(type='bool'),
            keyring=dict(type='str', no_log=True),
            fuse=dict(type='bool'),
            fs_name=dict(type='str'),
            datastore=dict(type='str'),
            port=dict(type='int'),
            pbs_fingerprint=dict(type='str'),
            encryption_key=dict(type='str', no_log=True),
            master_pubkey=dict(type='str', no_log=True),
            format=dict(type='str', choices=['raw', 'qcow2', 'vmdk', 'subvol']),
            preallocation=dict(type='str', choices=['off', 'metadata', 'falloc', 'full']),
            create_base_path=dict(type='bool'),
            create_subdirs=dict(type='bool'),
            is_mountpoint=dict(type='str'),
            update_password=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
        ),
        supports_check_mode=True,
    )
    module.run(run, target=lambda m: 'storage {0!r}'.format(m.params['storage']))


if __name__ == '__main__':
    main()
