# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The modules' client for inventory and lookup plugins, which read options and fail differently.

Plugins run on the controller: they read their options through get_option (templated, vaulted values already
resolved) and report failures as AnsibleError, with the same one-line message a module would give.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.estate import (
    ESTATE_ENV,
    EstateError,
    estate_entry,
    merge_options,
    normalize_estate,
)
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


# ---------------------------------------------------------------- estates


def _plain(value):
    """Loader data as plain Python: vaulted values decrypted (str() does it with the run's vault secrets)."""
    if isinstance(value, dict):
        return dict((to_text(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return to_text(value)


class PluginEstate(object):
    """An estate as plugins read it: the `estate` option's dict, else the file `estate_file` names (or
    PROXMOX_ESTATE_FILE) read through Ansible's loader, so a vault-encrypted file or !vault values are decrypted
    with the run's vault secrets. Read once, on first use; AnsibleError for anything wrong."""

    def __init__(self, loader, estate=None, estate_file=None):
        self.loader = loader
        self.inline = estate
        self.path = estate_file
        self._estate = None

    @property
    def given(self):
        return self.inline is not None or bool(self.path)

    @property
    def source(self):
        return '(the estate option)' if self.inline is not None else self.path

    def load(self):
        if self._estate is not None:
            return self._estate
        if self.inline is not None:
            data = self.inline
        elif not self.path:
            raise AnsibleError('a cluster is looked up by name in an estate: set estate_file (or the {0} environment '
                               'variable, as the AWX estate credential does) or estate'.format(ESTATE_ENV))
        else:
            path = self.path
            if not os.path.exists(path):
                raise AnsibleError('estate file {0} does not exist'.format(path))
            try:
                data = self.loader.load_from_file(path)
            except AnsibleFileNotFound:
                raise AnsibleError('estate file {0} does not exist'.format(path)) from None
            except AnsibleError as error:
                # The loader's message may quote the file's lines, secrets included: only its kind is given.
                raise AnsibleError('estate file {0} cannot be read as YAML or JSON, or decrypted with the vault secrets '
                                   'given ({1})'.format(path, type(error).__name__)) from None
        try:
            data = _plain(data)
        except Exception as error:  # pylint: disable=broad-except  # a vaulted value without its secret
            raise AnsibleError('estate {0} holds a vault-encrypted value that cannot be decrypted ({1})'.format(
                self.source, type(error).__name__)) from None
        try:
            self._estate = normalize_estate(data, self.source)
        except EstateError as error:
            raise AnsibleError(str(error)) from None
        return self._estate

    def names(self, service='PVE'):
        """Every name of the clusters (PVE) or Backup Servers (PBS) of the estate."""
        section = 'clusters' if service == 'PVE' else 'pbs_servers'
        return list(self.load()[section])

    def has(self, name, service='PVE'):
        return self.given and name in self.names(service)

    def options(self, name, service='PVE', given=None):
        """The connection options of name (api_host a list of hosts), overridden by the given ones that are set."""
        try:
            entry = estate_entry(self.load(), name, service, self.source)
        except EstateError as error:
            raise AnsibleError(str(error)) from None
        return merge_options(entry, given or {})


def lookup_connection(plugin, direct, service='PVE'):
    """A lookup's connection options: with `cluster`, the estate's entry under the options passed to the lookup;
    otherwise the options themselves (with their environment fallbacks)."""
    options = dict((name, plugin.get_option(name)) for name in OPTION_NAMES)
    name = plugin.get_option('cluster')
    if not name:
        return options
    estate = PluginEstate(plugin._loader, plugin.get_option('estate'), plugin.get_option('estate_file'))
    merged = estate.options(name, service, dict((key, direct.get(key)) for key in OPTION_NAMES))
    hosts = merged.get('api_host')
    if isinstance(hosts, list):
        merged['api_host'] = hosts[0] if hosts else None
    return merged
