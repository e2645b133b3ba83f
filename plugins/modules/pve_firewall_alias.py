#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_firewall_alias
short_description: Manage a Proxmox VE firewall alias (a name for an address or network)
version_added: 0.1.0
description:
  - Creates, updates and removes an alias of the cluster firewall or of a guest's firewall. Rules and IP sets
    refer to it by name in place of an address.
  - Alias names are not case-sensitive in Proxmox VE.
  - Updates send the digest of the alias list read, so a concurrent change is refused instead of overwritten.
  - "Privileges: C(Sys.Modify) on C(/) for the cluster's aliases, C(VM.Config.Network) on C(/vms/<vmid>) for a
    guest's."
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
  level:
    description:
      - Whose alias it is, the cluster's or a guest's (V(guest) is a VM or a container, whichever O(vmid) is).
    type: str
    choices: [cluster, guest, vm, ct]
    default: cluster
  node:
    description:
      - The guest's node; found from O(vmid) when left out.
    type: str
  vmid:
    description:
      - The guest, for O(level=guest), O(level=vm) and O(level=ct).
    type: int
  name:
    description:
      - Name of the alias (a letter, then letters, digits, V(-) and V(_)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the alias; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  cidr:
    description:
      - The address or network the alias stands for. Required to create it.
    type: str
  comment:
    description:
      - Description of the alias. An empty string removes it.
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
    - name: Name the admin network
      proxfleet.proxmox.pve_firewall_alias:
        name: adminnet
        cidr: 10.0.0.0/24
        comment: admins

    - name: Remove it
      proxfleet.proxmox.pve_firewall_alias:
        name: adminnet
        state: absent
'''

RETURN = r'''
alias:
  description:
    - The alias after the run (in check mode, as it would be); null once removed.
  returned: success
  type: dict
  sample:
    name: adminnet
    cidr: 10.0.0.0/24
    comment: admins
    ipversion: 4
diff:
  description: The managed options (C(cidr), C(comment)) before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the alias did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec


def _comment(value):
    # Proxmox VE stores no empty comment: '' and none are the same.
    return str(value).strip() or None


def spec_for(level):
    base = '/'.join('{' + name + '}' for name in ('a', 'b', 'c', 'd', 'e', 'f')[:len(level.segments)])
    return ResourceSpec(
        result_key='alias',
        label='alias',
        collection='/' + base + '/{g}',
        item='/' + base + '/{g}/{id}',
        id_field='name',
        # The item GET answers a missing alias with a 400 parameter error; the list holds the digest too.
        read='list',
        # An update replaces the alias: cidr is required, and a comment not sent is removed.
        requires={'cidr': ('comment',), 'comment': ('cidr',)},
        fields=[
            Field('cidr', normalize=firewall.canonical_cidr),
            Field('comment', normalize=_comment),
        ],
    )


def path_vars(level):
    names = ('a', 'b', 'c', 'd', 'e', 'f')
    out = dict((names[i], segment) for i, segment in enumerate(level.segments))
    out['g'] = 'aliases'
    return out


class AliasResource(ConfigResource):
    """Alias names are case-insensitive in Proxmox VE."""

    def read(self):
        found = None
        for item in self.client.get(self._fill(self.spec.collection)) or []:
            if str(item.get('name')).lower() == str(self.ident).lower():
                found = item
        self.current = found
        if found is not None:
            self.ident = found['name']
        return found


def run(module):
    params = module.params
    firewall.check_level_options(params, ('cluster', 'guest', 'vm', 'ct'))
    name = params['name']
    if not re.match(r'^[A-Za-z][A-Za-z0-9_-]+$', name) or len(name) > 64:
        raise ProxmoxConfigError('alias name {0!r} is not valid: a letter, then letters, digits, - or _'.format(name))
    level = firewall.resolve_level(module.client, params)
    module.fw_target = 'alias {0!r} of the {1}'.format(name, level.label)
    resource = AliasResource(module, spec_for(level), name, path_vars(level))
    if params['state'] == 'absent':
        return resource.ensure('absent', {})
    desired = {'cidr': params['cidr'], 'comment': params['comment']}
    if params['cidr'] is None and resource.read() is None:
        raise ProxmoxConfigError('alias {0!r} does not exist in the {1}: give cidr to create it'.format(name, level.label))
    if params['comment'] == '' and resource.current is None:
        desired['comment'] = None
    return resource.ensure('present', desired)


def main():
    spec = firewall.level_argument_spec(('cluster', 'guest', 'vm', 'ct'))
    spec.pop('group')
    spec.pop('vnet')
    spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        cidr=dict(type='str'),
        comment=dict(type='str'),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: getattr(m, 'fw_target', None) or 'alias {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
