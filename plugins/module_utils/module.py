# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The base class of every module: connection options, a lazy client, and one way to wait, exit and fail."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import (
    PROXMOXER_IMPORT_ERROR,
    SERVICES,
    ConnectionSettings,
    ProxmoxClient,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError, ProxmoxTaskError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline, wait_for_task

DEFAULT_TASK_TIMEOUT = 600


def connection_argument_spec(service='PVE'):
    """The common options, with PROXMOX_* (PVE) or PBS_* (PBS) environment fallbacks."""
    env = SERVICES[service]['env']

    def from_env(name):
        return (env_fallback, ['{0}_{1}'.format(env, name)])

    return dict(
        api_host=dict(type='str', required=True, fallback=from_env('HOST')),
        api_port=dict(type='int', fallback=from_env('PORT')),
        api_user=dict(type='str', fallback=from_env('USER')),
        api_password=dict(type='str', no_log=True, fallback=from_env('PASSWORD')),
        api_token_id=dict(type='str', no_log=False, fallback=from_env('TOKEN_ID')),
        api_token_secret=dict(type='str', no_log=True, fallback=from_env('TOKEN_SECRET')),
        validate_certs=dict(type='bool', default=True, fallback=from_env('VALIDATE_CERTS')),
        ca_path=dict(type='path', fallback=from_env('CA_PATH')),
        fingerprint=dict(type='str', fallback=from_env('FINGERPRINT')),
        api_timeout=dict(type='int', default=30, fallback=from_env('TIMEOUT')),
    )


def settings_from_options(options, service='PVE'):
    """ConnectionSettings from module params or plugin options (the same names)."""
    return ConnectionSettings(
        host=options.get('api_host'), service=service, port=options.get('api_port'), user=options.get('api_user'),
        password=options.get('api_password'), token_id=options.get('api_token_id'),
        token_secret=options.get('api_token_secret'), validate_certs=options.get('validate_certs', True),
        ca_path=options.get('ca_path'), fingerprint=options.get('fingerprint'), timeout=options.get('api_timeout'))


class ProxmoxModule(AnsibleModule):
    """AnsibleModule plus the Proxmox connection.

    Modules write their logic in a function and call `module.run(fn)`: any ProxmoxError it raises ends the module
    with one line naming the target, the HTTP status and the API's words, plus status_code and errors.
    """

    service = 'PVE'

    def __init__(self, argument_spec=None, service=None, **kwargs):
        if service:
            self.service = service
        spec = connection_argument_spec(self.service)
        spec.update(argument_spec or {})
        kwargs.setdefault('supports_check_mode', True)
        super().__init__(argument_spec=spec, **kwargs)
        if PROXMOXER_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib('proxmoxer and requests'), exception=PROXMOXER_IMPORT_ERROR)
        self._client = None
        self.task_results = []
        timeout = self.params.get('timeout')
        self.deadline = Deadline(DEFAULT_TASK_TIMEOUT if timeout is None else timeout)

    @property
    def client(self):
        """The client, built on first use so that argument errors come before any connection."""
        if self._client is None:
            # Retries (and waits a server asks for with Retry-After) stay within the run's one deadline.
            self._client = ProxmoxClient(settings_from_options(self.params, self.service), deadline=self.deadline)
        return self._client

    @property
    def target_url(self):
        try:
            return self.client.settings.url
        except ProxmoxError:
            return self.params.get('api_host')

    def wait_task(self, upid):
        """Wait for a task within the run's one budget; its result is reported under `tasks`."""
        result = wait_for_task(self.client, upid, self.deadline)
        self.task_results.append(result.as_dict())
        return result

    def fail_from(self, error, target=None, **extra):
        """End the module for an expected failure: one line, no traceback."""
        result = dict(extra)
        result['msg'] = error.describe(target)
        result['status_code'] = error.status_code
        result['errors'] = error.errors
        if isinstance(error, ProxmoxTaskError):
            result['task'] = {'upid': error.upid, 'exitstatus': error.exitstatus, 'log_tail': error.log_tail}
        if self.task_results:
            result['tasks'] = self.task_results
        self.fail_json(**result)

    def run(self, fn, target=None):
        """Call fn(self) -> result dict and exit with it, turning ProxmoxError into fail_from."""
        try:
            result = fn(self)
        except ProxmoxError as error:
            self.fail_from(error, target=target(self) if callable(target) else target)
        result.setdefault('changed', False)
        if self.task_results:
            result.setdefault('tasks', self.task_results)
        self.exit_json(**result)
