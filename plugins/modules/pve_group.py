#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_group
short_description: Manage a Proxmox VE user group
version_added: 0.1.0
description:
  - Creates a group, sets its comment, or removes it. ACL entries (see M(proxfleet.proxmox.pve_acl)) can grant roles
    to a group; its members get them.
  - Membership belongs to the users in Proxmox VE (a user's C(groups)), so this module shows the members in its
    result but does not set them.
  - Removing a group removes its ACL entries too (Proxmox VE does).
  - "Privileges: C(Sys.Audit), C(User.Modify) or C(Group.Allocate) on C(/access/groups/<group>) to see it (the list
    leaves out the groups the user may not see); C(Group.Allocate) on C(/access/groups) to create, change or remove
    one."
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
  name:
    description:
      - The group's id (letters, digits, V(.), V(-) and V(_)).
    type: str
    required: true
    aliases: [groupid]
  state:
    description:
      - V(present) creates or updates the group; V(absent) removes it, with its ACL entries.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description:
      - Description of the group. Left out, it is not managed.
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
    - name: A group for the auditors
      proxfleet.proxmox.pve_group:
        name: auditors
        comment: read-only access for audits

    - name: Remove it (and its ACL entries)
      proxfleet.proxmox.pve_group:
        name: auditors
        state: absent
'''

RETURN = r'''
group:
  description:
    - The group after the run (in check mode, as it would be); null once removed.
  returned: success
  type: dict
  contains:
    groupid:
      description: The group's id.
      type: str
    comment:
      description: Its comment, when it has one.
      type: str
    users:
      description: Its members, comma-separated, as Proxmox VE lists them (not managed by this module).
      type: str
  sample:
    groupid: auditors
    comment: read-only access for audits
    users: alice@pve,bob@pve
diff:
  description: The managed option (C(comment)) before and after.
  returned: success
  type: dict
  contains:
    before:
      description: Before the run (empty when the group did not exist).
      type: dict
    after:
      description: After the run (empty once removed).
      type: dict
'''

import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

# pve-access-control's pve-groupid format (PVE::Auth::Plugin's groupname_regex).
GROUP_ID = re.compile(r'^[A-Za-z0-9.\-_]+$')


def _comment(value):
    # An empty comment and none read the same.
    return str(value).strip() or None


SPEC = ResourceSpec(
    result_key='group',
    label='group',
    collection='/access/groups',
    id_field='groupid',
    # The list holds the comment and members of every group the user may see; the item GET has no id or digest.
    read='list',
    digest=False,
    fields=[Field('comment', normalize=_comment)],
)


def run(module):
    params = module.params
    name = params['name']
    if not GROUP_ID.match(name):
        raise ProxmoxConfigError('group name {0!r} is not valid: use letters, digits, ".", "-" and "_" only'.format(name))
    resource = ConfigResource(module, SPEC, name)
    if params['state'] == 'absent':
        return resource.ensure('absent', {})
    return resource.ensure('present', {'comment': params['comment']})


def main():
    spec = dict(
        name=dict(type='str', required=True, aliases=['groupid']),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        comment=dict(type='str'),
    )
    module = ProxmoxModule(argument_spec=spec, supports_check_mode=True)
    module.run(run, target=lambda m: 'group {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
