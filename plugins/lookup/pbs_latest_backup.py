# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: pbs_latest_backup
short_description: The newest backup snapshot of a guest on a Proxmox Backup Server
version_added: 0.1.0
description:
  - Reads the snapshots of one guest in a datastore (and namespace) of a Proxmox Backup Server and returns the
    newest, with its time, size, verification state and protection; null when the guest has none.
  - A datastore or namespace that does not exist is an error.
  - Needs C(Datastore.Audit) on the datastore (or namespace); with C(Datastore.Backup) alone Proxmox Backup Server
    shows only the backup groups the login owns, so a null may mean the guest's backups belong to someone else, and
    the lookup then warns, naming the missing privilege.
author:
  - proxfleet developers (@proxfleet)
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
extends_documentation_fragment:
  - proxfleet.proxmox.pbs_lookup_connection
options:
  _terms:
    description:
      - Guests, by backup id (their VMID, V(100)) or as V(type/id) (V(ct/101)); one result each.
    type: list
    elements: str
    required: true
  datastore:
    description: The datastore.
    type: str
    required: true
  namespace:
    description: Namespace of the datastore (V(a/b)); the root namespace when unset.
    type: str
  backup_type:
    description: Backup type of terms given as a bare id.
    type: str
    choices: [vm, ct, host]
    default: vm
'''

EXAMPLES = r'''
- name: The newest backup of VM 100
  ansible.builtin.debug:
    msg: "{{ lookup('proxfleet.proxmox.pbs_latest_backup', '100', datastore='backups', api_host='pbs1.example.com',
             api_token_id='audit@pbs!ansible', api_token_secret=vault_pbs_token_secret) }}"

- name: Fail when container 101's last backup is older than a day (credentials from PBS_* environment variables)
  ansible.builtin.assert:
    that:
      - latest is not none
      - latest.backup_time > now(utc=true).timestamp() - 86400
  vars:
    latest: "{{ lookup('proxfleet.proxmox.pbs_latest_backup', 'ct/101', datastore='backups', namespace='prod') }}"

- name: The newest backup of VM 100 on the Backup Server pbs1 of a vault-encrypted estate file
  ansible.builtin.debug:
    msg: "{{ lookup('proxfleet.proxmox.pbs_latest_backup', '100', datastore='backups', cluster='pbs1',
             estate_file='estate.vault.yml') }}"
'''

RETURN = r'''
_raw:
  description:
    - One snapshot per term (null when the guest has none), with V(datastore), V(ns), V(backup_type),
      V(backup_id), V(backup_time) (epoch), V(backup_time_iso), V(path) (V(vm/100/2026-01-01T00:00:00Z)),
      V(size), V(owner), V(comment), V(protected), V(verification) (V(ok), V(failed) or V(none)) and V(files).
  type: list
  elements: dict
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import latest_snapshot, snapshot_list_gap
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import client_from_options, lookup_connection

BACKUP_TYPES = ('vm', 'ct', 'host')
display = Display()


def split_term(term, default_type):
    """'100' -> (default_type, '100'); 'ct/101' -> ('ct', '101')."""
    text = str(term).strip()
    kind, sep, ident = text.partition('/')
    if sep:
        if kind not in BACKUP_TYPES or not ident:
            raise AnsibleLookupError('pbs_latest_backup: {0!r} is not a backup id or type/id (vm/100, ct/101)'.format(term))
        return kind, ident
    if not text:
        raise AnsibleLookupError('pbs_latest_backup: an empty backup id')
    return default_type, text


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if not terms:
            raise AnsibleLookupError('pbs_latest_backup: name at least one guest (its backup id, or type/id)')
        guests = [split_term(term, self.get_option('backup_type')) for term in terms]
        client = client_from_options(lookup_connection(self, kwargs, 'PBS'), service='PBS')
        store, ns = self.get_option('datastore'), self.get_option('namespace')
        results = []
        for kind, ident in guests:
            try:
                results.append(latest_snapshot(client, store, kind, ident, ns))
            except ProxmoxError as error:
                raise AnsibleLookupError(error.describe('pbs_latest_backup {0}/{1} in datastore {2!r}'.format(
                    kind, ident, store))) from None
        if any(result is None for result in results):
            # A null may only mean that the guest's backups belong to someone else.
            try:
                gap = snapshot_list_gap(client, store, ns)
            except ProxmoxError as error:
                gap = 'cannot tell whether the snapshot list is complete: {0}'.format(error.describe())
            if gap:
                display.warning('pbs_latest_backup: ' + gap)
        return wrap_var(results)
