# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The modules' client for inventory and lookup plugins, which read options and fail differently.

Plugins run on the controller: they read their options through get_option (templated, vaulted values already
resolved) and report failures as AnsibleError, with the same one-line message a module would give.
"""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import settings_from_options

OPTION_NAMES = ('api_host', 'api_port', 'api_user', 'api_password', 'api_token_id', 'api_token_secret',
                'validate_certs', 'ca_path', 'fingerprint', 'api_timeout')


def client_from_options(options, service='PVE'):
    """A ProxmoxClient from a dict of connection options (the modules' names); AnsibleError when they are wrong."""
    try:
        return ProxmoxClient(settings_from_options(dict((name, options.get(name)) for name in OPTION_NAMES), service))
    except ProxmoxError as error:
        raise AnsibleError(error.describe()) from None


def plugin_error(error, target=None):
    """AnsibleError for a ProxmoxError raised while a plugin talked to the API."""
    return AnsibleError(error.describe(target))
