#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pbs_remote
short_description: Manage the remotes of a Proxmox Backup Server
version_added: 0.1.0
description:
  - Creates, updates and removes the remotes of a Proxmox Backup Server (Remotes), the C(/config/remote) API - other
    Proxmox Backup Servers that sync jobs pull from or push to.
  - Only the options you give are managed; an option left out keeps its value on the server.
  - The password is write-only (the server never shows it), so it cannot be compared; see O(update_password).
  - A remote a sync job uses cannot be removed; remove the job first.
  - Needs C(Remote.Modify) on C(/remote) (C(Remote.Audit) to read).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection.PBS
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the remote (3 to 32 letters, digits, V(.), V(-) and V(_)).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the remote; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  host:
    description:
      - Host name or IP address of the other Proxmox Backup Server. Needed to create the remote.
    type: str
  port:
    description:
      - Port of its API (Proxmox Backup Server uses V(8007) when none is set).
    type: int
  auth_id:
    description:
      - User (V(sync@pbs)) or API token (V(sync@pbs!pull)) to log in on the remote with. Needed to create it.
    type: str
  password:
    description:
      - Password of the user, or secret of the API token, O(auth_id). Needed to create the remote.
      - Write-only; sent on creation, and on updates only with O(update_password=always).
    type: str
  update_password:
    description:
      - V(on_create) sends O(password) only when the remote is created; V(always) sends it on every run (the
        module then always reports a change, since the current password cannot be read).
    type: str
    choices: [on_create, always]
    default: on_create
  fingerprint:
    description:
      - SHA-256 fingerprint of the remote's certificate (V(AA:BB:...)), for a certificate no CA of the server
        trusts. An empty string removes it.
    type: str
  comment:
    description:
      - Description of the remote. An empty string removes it.
    type: str
'''

EXAMPLES = r'''
- name: Connection options set once (module_defaults) for every task of the block
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pbs1.example.com
      api_token_id: automation@pbs!ansible
      api_token_secret: "{{ vault_pbs_token_secret }}"
  block:
    - name: The offsite server, pinned by its certificate
      proxfleet.proxmox.pbs_remote:
        name: offsite
        host: pbs2.example.com
        auth_id: sync@pbs!pull
        password: "{{ vault_offsite_token_secret }}"
        fingerprint: "64:d3:ff:3a:50:38:53:5a:9b:f7:50:...:ab:fe"

    - name: Rotate the credentials
      proxfleet.proxmox.pbs_remote:
        name: offsite
        password: "{{ vault_offsite_new_secret }}"
        update_password: always
'''

RETURN = r'''
remote:
  description:
    - The remote after the run (in check mode, as it would be), without its password; null once removed.
  returned: success
  type: dict
  sample:
    name: offsite
    host: pbs2.example.com
    auth-id: sync@pbs!pull
diff:
  description: The managed options before and after, the password masked.
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

from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import ensure_remote


def main():
    module = ProxmoxModule(
        service='PBS',
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            host=dict(type='str'),
            port=dict(type='int'),
            auth_id=dict(type='str'),
            password=dict(type='str', no_log=True),
            update_password=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
            fingerprint=dict(type='str'),
            comment=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    module.run(ensure_remote, target=lambda m: 'remote {0!r}'.format(m.params['name']))


if __name__ == '__main__':
    main()
