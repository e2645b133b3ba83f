# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/module.py: ProxmoxModule in-process against the loopback HTTPS server and fakepve.

exit_json/fail_json print the module's JSON result and exit: the tests read that result as Ansible would.
"""

from __future__ import annotations

import hashlib
import json
import ssl

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import DEFAULT_TASK_TIMEOUT, ProxmoxModule
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import HOST, reply

testing = pytest.importorskip('ansible.module_utils.testing', reason='patch_module_args needs ansible-core 2.19+')

SECRET = '7c0ffee0-unit-module-token-secret'


def run_module(args, fn, capsys, argument_spec=None, target=None, **kwargs):
    """ProxmoxModule(args).run(fn): (exit code, the JSON result)."""
    with testing.patch_module_args(args):
        module = ProxmoxModule(argument_spec=argument_spec, **kwargs)
        with pytest.raises(SystemExit) as info:
            module.run(fn, target=target)
    out = capsys.readouterr().out
    return info.value.code, json.loads(out)


def token_args(server, **extra):
    args = dict(api_host=HOST, api_port=server.port, api_token_id='root@pam!ci', api_token_secret=SECRET,
                fingerprint=server.pki.fingerprint_colons)
    args.update(extra)
    return args


def test_run_exits_with_the_result(server, capsys):
    server.on('GET', '/pools', reply(data=[{'poolid': 'ci'}]))
    code, result = run_module(token_args(server), lambda m: {'pools': m.client.get('/pools')}, capsys)
    assert code == 0
    assert result['pools'] == [{'poolid': 'ci'}] and result['changed'] is False
    assert 'tasks' not in result
    (request,) = server.calls()
    assert request.headers['authorization'] == 'PVEAPIToken=root@pam!ci=' + SECRET


def test_api_error_fails_with_status_errors_and_target(server, capsys):
    server.on('POST', '/pools', reply(400, reason='Parameter verification failed.', body={
        'data': None, 'errors': {'poolid': 'invalid format - value does not look like a valid pool ID\n'}}))
    code, result = run_module(token_args(server), lambda m: m.client.post('/pools', poolid='bad id'), capsys,
                              target=lambda m: "pool 'bad id'")
    assert code == 1 and result['failed'] is True
    assert result['msg'] == ("pool 'bad id' on {0}: POST /pools: 400 Parameter verification failed. "
                             "(poolid: invalid format - value does not look like a valid pool ID)").format(server.url)
    assert result['status_code'] == 400
    assert result['errors'] == {'poolid': 'invalid format - value does not look like a valid pool ID\n'}
    assert 'exception' not in result  # an expected failure: no traceback
    assert SECRET not in json.dumps(result)


def test_argument_errors_come_before_any_connection(server, capsys):
    args = token_args(server)
    del args['api_host']
    with testing.patch_module_args(args):
        with pytest.raises(SystemExit):
            ProxmoxModule()
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] and 'api_host' in result['msg']
    assert server.calls() == [] and server.handshakes == 0


def test_connection_option_errors_fail_cleanly(server, capsys):
    code, result = run_module(token_args(server, api_token_id='ci'), lambda m: m.client.get('/nodes'), capsys)
    assert code == 1
    assert "api_token_id 'ci' has no user" in result['msg']
    assert result['status_code'] is None and result['errors'] == {}
    assert server.calls() == []


def test_target_url_falls_back_to_the_host_option(server, capsys):
    _code, result = run_module(token_args(server, api_token_id='ci'), lambda m: {'url': m.target_url}, capsys)
    assert result['url'] == HOST


def test_pbs_module(server, capsys):
    server.on('GET', '/version', reply(data={'version': '4.0.14', 'release': '4.0'}))
    args = token_args(server, api_token_id='backup@pbs!ci')
    code, result = run_module(args, lambda m: {'major': m.client.major_version(), 'service': m.client.settings.service},
                              capsys, service='PBS')
    assert code == 0 and (result['major'], result['service'], result['changed']) == (4, 'PBS', False)
    # The invocation Ansible echoes masks the secret (no_log).
    assert result['invocation']['module_args']['api_token_secret'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    assert SECRET not in json.dumps(result)
    (request,) = server.calls()
    assert request.headers['authorization'] == 'PBSAPIToken=backup@pbs!ci:' + SECRET


def test_client_is_built_once_and_lazily(server, capsys):
    seen = []

    def body(module):
        assert module._client is None
        seen.append(module.client)
        seen.append(module.client)
        return {'url': module.target_url}

    code, result = run_module(token_args(server), body, capsys)
    assert code == 0 and seen[0] is seen[1]
    assert result['url'] == server.url


def test_task_timeout_option_sets_the_budget(server, capsys):
    def body(module):
        return {'budget': module.deadline.seconds}

    _code, result = run_module(token_args(server), body, capsys)
    assert result['budget'] == DEFAULT_TASK_TIMEOUT
    _code, result = run_module(token_args(server, timeout=42), body, capsys, argument_spec=dict(timeout=dict(type='int')))
    assert result['budget'] == 42


def _fakepve_args(pve, cafile, **extra):
    with open(cafile) as handle:
        pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()
    args = dict(api_host=HOST, api_port=int(pve.url.rsplit(':', 1)[1]), api_user='root@pam', api_password='secret',
                fingerprint=pin)
    args.update(extra)
    return args


def test_tasks_are_reported(fakepve, fakepve_cafile, capsys):
    fakepve.add_vm(100, 'web')

    def body(module):
        module.wait_task(module.client.post('/nodes/pve1/qemu/100/status/start'))
        return {'changed': True}

    code, result = run_module(_fakepve_args(fakepve, fakepve_cafile), body, capsys)
    assert code == 0 and result['changed'] is True
    (task,) = result['tasks']
    assert (task['node'], task['type'], task['id'], task['exitstatus']) == ('pve1', 'qmstart', '100', 'OK')


def test_failed_task_fails_with_its_exit_status_and_log(fakepve, fakepve_cafile, capsys):
    fakepve.add_vm(100, 'web', status='running')

    def body(module):
        module.wait_task(module.client.post('/nodes/pve1/qemu/100/status/start'))
        return {'changed': True}

    code, result = run_module(_fakepve_args(fakepve, fakepve_cafile), body, capsys, target=lambda m: 'vm 100')
    assert code == 1
    assert result['msg'].startswith('vm 100 on {0}: task qmstart 100 on node pve1'.format(fakepve.url))
    assert result['msg'].endswith('failed: VM 100 already running')
    assert result['task']['exitstatus'] == 'VM 100 already running'
    assert result['task']['log_tail'][-1] == 'TASK ERROR: VM 100 already running'
    assert result['task']['upid'].startswith('UPID:pve1:')
    assert 'secret' not in json.dumps(result['msg'])


def test_tasks_done_before_a_failure_are_reported(fakepve, fakepve_cafile, capsys):
    fakepve.add_vm(100, 'web')

    def body(module):
        module.wait_task(module.client.post('/nodes/pve1/qemu/100/status/start'))
        raise ProxmoxApiError('boom', status_code=500)

    code, result = run_module(_fakepve_args(fakepve, fakepve_cafile), body, capsys)
    assert code == 1 and result['status_code'] == 500
    assert [task['exitstatus'] for task in result['tasks']] == ['OK']
