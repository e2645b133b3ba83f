# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: pve_nextid
short_description: A free VMID of a Proxmox VE cluster
version_added: 0.1.0
description:
  - Asks the cluster for the lowest free VMID (C(/cluster/nextid)), at or above each term when terms are given.
  - A VMID returned is free when asked, not reserved; modules that create guests retry when a concurrent creation
    takes it first.
  - Needs no privilege. With a term, the used VMIDs come from C(/cluster/resources) (the guests the user may audit);
    the answer is then checked with C(/cluster/nextid), which sees every guest, so guests the user cannot see are
    never returned.
author:
  - proxfleet developers (@proxfleet)
requirements:
  - proxmoxer >= 2.0.1
  - requests >= 2.32.0
extends_documentation_fragment:
  - proxfleet.proxmox.lookup_connection
options:
  _terms:
    description: Lowest VMIDs to start from (one result each); none gives the cluster's next free VMID.
    type: list
    elements: int
    required: false
'''

EXAMPLES = r'''
- name: Pick a free VMID
  ansible.builtin.debug:
    msg: "{{ lookup('proxfleet.proxmox.pve_nextid', api_host='pve1.example.com', api_token_id='ro@pve!ansible',
             api_token_secret=vault_token) }}"

- name: A free VMID at 9000 or above, credentials from PROXMOX_* environment variables
  ansible.builtin.set_fact:
    template_vmid: "{{ lookup('proxfleet.proxmox.pve_nextid', 9000) }}"

- name: A free VMID of the cluster prod-b of the estate PROXMOX_ESTATE_FILE names (the AWX estate credential)
  ansible.builtin.set_fact:
    vmid: "{{ lookup('proxfleet.proxmox.pve_nextid', cluster='prod-b') }}"
'''

RETURN = r'''
_raw:
  description: One free VMID per term (or one when no term is given).
  type: list
  elements: int
'''

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.vmid_alloc import is_taken
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import client_from_options, lookup_connection

MAX_VMID = 999999999


def next_free(client, start=None):
    """The cluster's next free VMID, or the lowest free one at or above start (one list of used ids read)."""
    if start is None:
        return int(client.get('/cluster/nextid'))
    used = set(int(r['vmid']) for r in client.get('/cluster/resources', type='vm') or [] if 'vmid' in r)
    vmid = max(int(start), 100)
    while True:
        while vmid in used:
            vmid += 1
        if vmid > MAX_VMID:
            raise AnsibleLookupError('no free VMID at or above {0}'.format(start))
        # /cluster/resources lists only the guests the user may audit: nextid's check of the id (open to every
        # user) sees them all.
        try:
            client.get('/cluster/nextid', vmid=vmid)
        except ProxmoxApiError as error:
            if not is_taken(error):
                raise
            used.add(vmid)
            continue
        return vmid


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        client = client_from_options(lookup_connection(self, kwargs))
        try:
            return [next_free(client, term) for term in (terms or [None])]
        except ProxmoxError as error:
            raise AnsibleLookupError(error.describe('pve_nextid')) from None
