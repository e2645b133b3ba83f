# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pve_apply runs here, on the controller: it reuses the single-item modules' own code (plugins/modules), which a
module shipped to a host could not import. Its options and documentation are those of plugins/modules/pve_apply.py."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import AREAS, MODULES
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import (
    DEFAULT_TASK_TIMEOUT,
    connection_argument_spec,
    settings_from_options,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.apply import DeclarationError, Engine
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import OPTION_NAMES, PluginEstate, _plain

ARGUMENT_SPEC = dict(
    src=dict(type='path'),
    declaration=dict(type='dict'),
    prune=dict(type='list', elements='str', default=[]),
    guest_nodes=dict(type='str', choices=['auto', 'exported'], default='auto'),
    concurrency=dict(type='int', default=4),
    secrets=dict(type='dict', no_log=True),
    timeout=dict(type='int', default=DEFAULT_TASK_TIMEOUT),
)


def argument_spec():
    spec = connection_argument_spec('PVE')
    spec.update(ARGUMENT_SPEC)
    return spec


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(argument_spec())

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validator = ArgumentSpecValidator(argument_spec(), mutually_exclusive=[('src', 'declaration')],
                                          required_one_of=[('src', 'declaration')])
        checked = validator.validate(self._task.args)
        if checked.error_messages:
            return dict(result, failed=True, msg='; '.join(checked.error_messages))
        params = checked.validated_parameters
        try:
            declaration = self._declaration(params)
            client = self._client(params)
        except AnsibleError as error:
            return dict(result, failed=True, msg=str(error))
        check_mode = bool(self._task.check_mode if self._task.check_mode is not None else self._play_context.check_mode)
        engine = Engine(client, Deadline(params['timeout']), check_mode=check_mode, prune=params['prune'],
                        guest_nodes=params['guest_nodes'], concurrency=params['concurrency'],
                        secrets=_plain(params.get('secrets') or {}), warn=lambda message: None)
        try:
            engine.declare(declaration)
        except DeclarationError as error:
            return dict(result, failed=True, msg=str(error))
        areas = []
        try:
            areas = engine.read()
            engine.plan()
            complete = engine.apply()
        except DeclarationError as error:
            return dict(result, failed=True, msg=str(error), requests=client.request_count)
        except ProxmoxError as error:
            return dict(result, failed=True, msg=error.describe('cluster {0}'.format(client.settings.url)),
                        status_code=error.status_code, errors=error.errors, requests=client.request_count)
        with_diff = bool(self._task.diff if self._task.diff is not None else self._play_context.diff)
        operations = engine.operations(with_diff)
        result.update(
            changed=any(op['status'] in ('planned', 'done') for op in operations),
            operations=operations,
            counts=engine.counts(areas),
            areas=areas,
            reads=engine.reads,
            requests=client.request_count,
        )
        if engine.tasks:
            result['tasks'] = engine.tasks
        if engine.warnings:
            result['warnings'] = engine.warnings
        if with_diff:
            result['diff'] = engine.diffs()
        if not complete:
            failed = [op for op in operations if op['status'] == 'failed']
            done = [op for op in operations if op['status'] == 'done']
            left = [op for op in operations if op['status'] == 'not_done']
            result['failed'] = True
            result['msg'] = '{0}. Done before it: {1}. Not done: {2}. Running pve_apply again carries on from here.'.format(
                '; '.join(op['error'] for op in failed),
                ', '.join('{0} {1} {2}'.format(op['op'], op['module'], op['item']) for op in done) or 'nothing',
                ', '.join('{0} {1} {2}'.format(op['op'], op['module'], op['item']) for op in left) or 'nothing')
        return result

    def _client(self, params):
        options = dict((name, params.get(name)) for name in OPTION_NAMES)
        if params.get('cluster'):
            given = dict((name, self._task.args.get(name)) for name in OPTION_NAMES)
            estate = PluginEstate(self._loader, params.get('estate'), params.get('estate_file'))
            options = estate.options(params['cluster'], 'PVE', given)
            hosts = options.get('api_host')
            if isinstance(hosts, list):
                options['api_host'] = hosts[0] if hosts else None
        if not options.get('api_host'):
            raise AnsibleError('missing required arguments: api_host (or the PROXMOX_HOST environment variable, or '
                               'cluster naming an entry of an estate)')
        try:
            return ProxmoxClient(settings_from_options(options), deadline=Deadline(params['timeout']))
        except ProxmoxError as error:
            raise AnsibleError(error.describe()) from None

    def _declaration(self, params):
        """[(source, {module: [items]})]: the `declaration` option, or the area files of the directory `src`."""
        if params.get('declaration') is not None:
            return [('the declaration option', _plain(params['declaration']))]
        folder = params['src']
        if not os.path.isdir(folder):
            raise AnsibleError('src {0} is no directory (an export directory of playbooks/export.yml, with one '
                               '<area>.yml file per area)'.format(folder))
        out = []
        for area in AREAS:
            path = os.path.join(folder, '{0}.yml'.format(area))
            if not os.path.exists(path):
                continue
            try:
                data = self._loader.load_from_file(path)
            except AnsibleError as error:
                raise AnsibleError('{0} cannot be read as YAML ({1})'.format(path, type(error).__name__)) from None
            data = _plain(data or {})
            if not isinstance(data, dict):
                raise AnsibleError('{0}: expected a mapping of module names to lists of items'.format(path))
            for module in data:
                if module in sum(MODULES.values(), ()) and module not in MODULES[area]:
                    raise AnsibleError('{0}: {1} belongs to area {2}, not {3}'.format(
                        path, module, next(a for a, m in MODULES.items() if module in m), area))
            out.append((path, data))
        if not out:
            raise AnsibleError('src {0} holds no area file ({1})'.format(
                folder, ', '.join('{0}.yml'.format(a) for a in AREAS)))
        return out
