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
# estate.ESTATE_ENV (a unit test keeps them equal): estate itself is imported only by a task that gives `cluster`
# or `estate`, so that the many tasks that give neither do not compile it at each run.
ESTATE_ENV = 'PROXMOX_ESTATE_FILE'


def _estate():
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import estate
    return estate


def connection_argument_spec(service='PVE'):
    """The common options, with PROXMOX_* (PVE) or PBS_* (PBS) environment fallbacks."""
    env = SERVICES[service]['env']

    def from_env(name):
        return (env_fallback, ['{0}_{1}'.format(env, name)])

    return dict(
        # Required, unless `cluster` names it in an estate: checked by ProxmoxModule once the estate is read.
        api_host=dict(type='str', fallback=from_env('HOST')),
        api_port=dict(type='int', fallback=from_env('PORT')),
        api_user=dict(type='str', fallback=from_env('USER')),
        api_password=dict(type='str', no_log=True, fallback=from_env('PASSWORD')),
        api_token_id=dict(type='str', no_log=False, fallback=from_env('TOKEN_ID')),
        api_token_secret=dict(type='str', no_log=True, fallback=from_env('TOKEN_SECRET')),
        validate_certs=dict(type='bool', default=True, fallback=from_env('VALIDATE_CERTS')),
        ca_path=dict(type='path', fallback=from_env('CA_PATH')),
        fingerprint=dict(type='str', fallback=from_env('FINGERPRINT')),
        api_timeout=dict(type='int', default=30, fallback=from_env('TIMEOUT')),
        cluster=dict(type='str'),
        estate_file=dict(type='path', fallback=(env_fallback, [ESTATE_ENV])),
        # Not no_log as a whole (that would mask every host name and port of it everywhere): its secrets are.
        estate=dict(type='dict', no_log=False),
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
        self._use_estate()
        if PROXMOXER_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib('proxmoxer and requests'), exception=PROXMOXER_IMPORT_ERROR)
        self._client = None
        self.task_results = []
        timeout = self.params.get('timeout')
        self.deadline = Deadline(DEFAULT_TASK_TIMEOUT if timeout is None else timeout)

    def _load_params(self):
        """The raw arguments, as the task (and module_defaults) gave them: remembers which were given explicitly,
        since those override an estate's values while defaults and environment fallbacks do not."""
        super()._load_params()
        self._given = frozenset(k for k, v in (self.params or {}).items() if v is not None)
        self._given_dicts = dict((k, dict((sk, sv) for sk, sv in v.items() if sv is not None))
                                 for k, v in (self.params or {}).items() if isinstance(v, dict))

    def given_suboptions(self, name):
        """The suboptions of the dict option name that the task gave (not None), before defaults were applied."""
        return dict(getattr(self, '_given_dicts', {}).get(name) or {})

    def estate_entry(self, name, service=None):
        """The options (api_host a list of hosts) of the cluster, or Backup Server for PBS, called name in the estate
        the options give (estate, else estate_file); read once. Fails the module, before any connection, when the
        estate is missing, unreadable or malformed, or does not have name. Its secrets are masked in every output."""
        params = self.params
        estate_utils = _estate()
        try:
            if getattr(self, '_estate', None) is None:
                inline = params.get('estate')
                if inline is not None:
                    source, data = '(the estate option)', inline
                else:
                    source = params.get('estate_file')
                    if not source:
                        self.fail_json(msg='cluster {0!r} is looked up in an estate: set estate_file (or the {1} '
                                           'environment variable, as the AWX estate credential does) or estate'.format(name, ESTATE_ENV))
                    data = estate_utils.read_estate_file(source)
                    self.no_log_values.update(estate_utils.estate_secrets(data))
                self._estate = (estate_utils.normalize_estate(data, source), source)
            estate, source = self._estate
            return estate_utils.estate_entry(estate, name, service or self.service, source)
        except ProxmoxError as error:
            self.fail_json(msg=str(error))
        return None

    def _use_estate(self):
        """Take the connection from the estate entry `cluster` names, under the options the task gave.

        With `cluster`, the PROXMOX_* / PBS_* environment fallbacks are not used for the connection: they may hold
        another cluster's credential (an AWX job with both credential types)."""
        params = self.params
        inline = params.get('estate')
        if inline is not None:
            self.no_log_values.update(_estate().estate_secrets(inline))
        name = params.get('cluster')
        if name:
            entry = self.estate_entry(name)
            hosts = entry.get('api_host') or []
            entry['api_host'] = hosts[0] if hosts else None
            for key in _estate().CONNECTION_KEYS:
                if key not in getattr(self, '_given', ()):
                    spec = self.argument_spec[key]
                    params[key] = entry.get(key, spec.get('default'))
            # More nodes of the cluster, for the modules that fail over (pve_fleet_info's fallback_hosts).
            if 'fallback_hosts' in self.argument_spec and 'fallback_hosts' not in getattr(self, '_given', ()) and len(hosts) > 1:
                params['fallback_hosts'] = hosts[1:]
        if not params.get('api_host'):
            self.fail_json(msg='missing required arguments: api_host (or the {0}_HOST environment variable, or cluster '
                               'naming an entry of an estate)'.format(SERVICES[self.service]['env']))

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
