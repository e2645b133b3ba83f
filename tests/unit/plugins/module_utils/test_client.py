# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/client.py on the wire: a real HTTPS server on loopback (api_server.ApiServer) and fakepve.

Nothing here mocks proxmoxer or requests: every request goes through TLS to a server that records it. Time is a
FakeClock: retries sleep on it, so no test really waits (read timeouts excepted: READ_TIMEOUT of real time).
"""

from __future__ import annotations

import email.utils
import hashlib
import random
import ssl
import time
from urllib.parse import parse_qs

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import (
    ConnectionSettings,
    NoRetry,
    ProxmoxClient,
    RetryPolicy,
    format_fingerprint,
    normalize_fingerprint,
    parse_retry_after,
    split_token_id,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxAuthError,
    ProxmoxConfigError,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxTLSError,
    is_not_found,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import (
    connection_argument_spec,
    settings_from_options,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import DROP, HANG, HOST, ApiServer, Pki, reply

PASSWORD = 'pw-Xq9#unit-Secret'
TOKEN_SECRET = '0b5e7c1a-5ec2-4e7a-9d1f-token-secret'
WRONG_FINGERPRINT = ':'.join(['AB'] * 32)
# The read timeout of the hanging-server tests (real time): short, yet well above a loopback TLS handshake under load.
READ_TIMEOUT = 0.3


def make_settings(port, ca_file=None, **kwargs):
    """Ticket auth as root@pam against 127.0.0.1:port trusting ca_file; token auth (no user unless given) with token_id."""
    options = dict(host=HOST, port=port, ca_path=ca_file)
    if 'token_id' in kwargs:
        options.update(user=None, token_secret=TOKEN_SECRET)
    else:
        options.update(user='root@pam', password=PASSWORD)
    options.update(kwargs)
    return ConnectionSettings(**options)


def make_client(port, ca_file=None, clock=None, retry=None, deadline=None, **kwargs):
    retry = retry or RetryPolicy(rng=random.Random(7))
    if clock is None:
        return ProxmoxClient(make_settings(port, ca_file, **kwargs), retry=retry,
                             sleep=lambda s: pytest.fail('slept {0} s'.format(s)), deadline=deadline)
    return ProxmoxClient(make_settings(port, ca_file, **kwargs), retry=retry, sleep=clock.sleep, clock=clock,
                         deadline=deadline)


def token_client(server, clock=None, retry=None, deadline=None, **kwargs):
    kwargs.setdefault('token_id', 'root@pam!ci')
    return make_client(server.port, server.pki.ca_file, clock=clock, retry=retry, deadline=deadline, **kwargs)


def assert_no_secret(exc):
    """No password or token secret anywhere a person or a log could see it."""
    texts = [str(exc), repr(exc), exc.message or '', exc.describe('vm 100'), repr(exc.args), repr(exc.errors)]
    for text in texts:
        assert PASSWORD not in text
        assert TOKEN_SECRET not in text


# ============================================================================================== tokens


@pytest.mark.parametrize('service, header', [
    ('PVE', 'PVEAPIToken=root@pam!ci=' + TOKEN_SECRET),
    ('PBS', 'PBSAPIToken=root@pam!ci:' + TOKEN_SECRET),
])
@pytest.mark.parametrize('token_id, user', [('root@pam!ci', None), ('ci', 'root@pam'), ('root@pam!ci', 'root@pam')])
def test_token_header_on_the_wire(server, service, header, token_id, user):
    client = token_client(server, service=service, token_id=token_id, user=user)
    server.on('GET', '/version', reply(data={'version': '9.0.10', 'release': '9.0'}))
    assert client.get('/version') == {'version': '9.0.10', 'release': '9.0'}
    (request,) = server.calls()
    assert request.headers['authorization'] == header
    # A token needs no login and carries no ticket.
    assert 'cookie' not in request.headers
    assert server.calls('POST', '/access/ticket') == []


def test_token_write_carries_no_csrf(server):
    client = token_client(server)
    client.post('/pools', poolid='ci')
    (request,) = server.calls()
    assert request.headers['authorization'].startswith('PVEAPIToken=root@pam!ci=')
    assert 'csrfpreventiontoken' not in request.headers
    assert request.form == {'poolid': 'ci'}


@pytest.mark.parametrize('token_id, user, expected', [
    ('root@pam!ci', None, ('root@pam', 'ci')),
    ('ci', 'root@pam', ('root@pam', 'ci')),
    ('root@pam!ci', 'root@pam', ('root@pam', 'ci')),
    ('  automation@pve!ansible  ', None, ('automation@pve', 'ansible')),
])
def test_split_token_id(token_id, user, expected):
    assert split_token_id(token_id, user) == expected


@pytest.mark.parametrize('token_id, user, words', [
    ('root@pam!ci', 'admin@pve', ["'root@pam!ci'", "'root@pam'", "'admin@pve'", 'give one user']),
    ('ci', None, ["'ci'", 'user@realm!ci', 'api_user']),
    ('ci', 'root', ['needs a realm', "'root'"]),
    ('root!ci', None, ['needs a realm']),
    ('root@pam!', None, ['empty token name']),
])
def test_split_token_id_errors(token_id, user, words):
    with pytest.raises(ProxmoxConfigError) as info:
        split_token_id(token_id, user)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize('kwargs, words', [
    (dict(token_id='root@pam!ci', token_secret=None), ['both api_token_id and api_token_secret']),
    (dict(token_id=None, token_secret=TOKEN_SECRET), ['both api_token_id and api_token_secret']),
    (dict(token_id='ci', token_secret=TOKEN_SECRET), ['has no user']),
    (dict(user='root@pam', password=None), ['api_user with api_password', 'PROXMOX_*']),
    (dict(user=None, password=PASSWORD), ['api_user with api_password']),
    (dict(service='PBS', user=None, password=None), ['PBS_*']),
    (dict(host=''), ['api_host is required', 'PROXMOX_HOST']),
    (dict(host='', service='PBS'), ['PBS_HOST']),
    (dict(service='PMG'), ['unknown service']),
    (dict(fingerprint='AB:CD'), ['fingerprint must be the SHA-256']),
])
def test_settings_errors_before_any_request(kwargs, words):
    options = dict(host=HOST, user=None, password=None)
    options.update(kwargs)
    with pytest.raises(ProxmoxConfigError) as info:
        ConnectionSettings(**options)
    for word in words:
        assert word in str(info.value)
    assert_no_secret(info.value)


def test_settings_defaults_and_url():
    pve = ConnectionSettings('pve1.example.org', user='root@pam', password=PASSWORD)
    assert (pve.port, pve.url, pve.base_url) == (8006, 'https://pve1.example.org:8006', 'https://pve1.example.org:8006/api2/json')
    assert (pve.auth_id, pve.uses_token, pve.requests_verify) == ('root@pam', False, True)
    pbs = ConnectionSettings('fd00::7', service='PBS', token_id='backup@pbs!ci', token_secret=TOKEN_SECRET, timeout=None)
    assert (pbs.port, pbs.url, pbs.timeout) == (8007, 'https://[fd00::7]:8007', 30.0)
    assert (pbs.auth_id, pbs.uses_token, pbs.password) == ('backup@pbs!ci', True, None)
    assert ConnectionSettings(HOST, user='u@pam', password='', validate_certs=False).requests_verify is False
    # A null (an unset playbook variable) is not a false: verification stays on.
    assert ConnectionSettings(HOST, user='u@pam', password='x', validate_certs=None).requests_verify is True
    assert ConnectionSettings(HOST, user='u@pam', password='x', ca_path='/ca.pem').requests_verify == '/ca.pem'
    assert ConnectionSettings(HOST, user='u@pam', password='x', ca_path='/ca.pem',
                              fingerprint='ab' * 32).requests_verify is False


@pytest.mark.parametrize('host', ['https://127.0.0.1:{port}', '127.0.0.1:{port}', 'pve 1', '[127.0.0.1'])
def test_a_malformed_api_host_is_a_proxmox_error(host, free_port, clock):
    # Regression: a URL, host:port or a name with a space in api_host escaped as requests' InvalidURL.
    with pytest.raises(ProxmoxError) as info:
        settings = ConnectionSettings(host.format(port=free_port), token_id='root@pam!ci', token_secret=TOKEN_SECRET)
        ProxmoxClient(settings, retry=NoRetry(), sleep=clock.sleep, clock=clock).get('/version')
    assert_no_secret(info.value)


@pytest.mark.parametrize('host, url', [('fd00::7', 'https://[fd00::7]:8006'), ('[fd00::7]', 'https://[fd00::7]:8006'),
                                       (' pve1.lab ', 'https://pve1.lab:8006')])
def test_ipv6_and_padded_hosts(host, url):
    assert ConnectionSettings(host, token_id='root@pam!ci', token_secret=TOKEN_SECRET).url == url


@pytest.mark.parametrize('host, kept', [
    ('pve1', 'pve1'), ('pve-1.lab.example.org', 'pve-1.lab.example.org'), ('pve_1', 'pve_1'), ('10.0.0.1', '10.0.0.1'),
    ('FD00::0007', 'fd00::7'), ('[fd00::7]', 'fd00::7'), ('  pve1 ', 'pve1'),
])
def test_valid_hosts(host, kept):
    assert ConnectionSettings(host, token_id='root@pam!ci', token_secret=TOKEN_SECRET).host == kept


@pytest.mark.parametrize('host, words', [
    ('https://pve1.lab', 'not a URL'), ('pve1.lab/', 'not a URL'), ('pve1.lab:8006', 'without a port'),
    ('pve 1', 'not a valid host name'), ('-pve1', 'not a valid host name'), ('pve1-', 'not a valid host name'),
])
def test_invalid_hosts(host, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        ConnectionSettings(host, token_id='root@pam!ci', token_secret=TOKEN_SECRET)


@pytest.mark.parametrize('secret', [TOKEN_SECRET + '\n', '  ' + TOKEN_SECRET, TOKEN_SECRET + '\r\n'])
def test_token_secret_white_space_is_dropped(secret):
    assert ConnectionSettings(HOST, token_id='root@pam!ci', token_secret=secret).token_secret == TOKEN_SECRET


@pytest.mark.parametrize('secret', ['  ', 'with space-' + TOKEN_SECRET, TOKEN_SECRET + '\x00', TOKEN_SECRET + '\u00e9'])
def test_token_secret_that_no_header_can_carry(secret):
    with pytest.raises(ProxmoxConfigError, match='api_token_secret holds characters') as info:
        ConnectionSettings(HOST, token_id='root@pam!ci', token_secret=secret)
    assert_no_secret(info.value)


# =================================================================================== environment


@pytest.fixture
def clean_env(monkeypatch):
    """No PROXMOX_* or PBS_* variable from the machine running the tests."""
    import os
    for name in list(os.environ):
        if name.startswith(('PROXMOX_', 'PBS_')):
            monkeypatch.delenv(name)
    return monkeypatch


def validate(service, params):
    result = ArgumentSpecValidator(connection_argument_spec(service)).validate(params)
    return result


def test_env_fallbacks_pve(clean_env, pki):
    clean_env.setenv('PROXMOX_HOST', 'pve1.example.org')
    clean_env.setenv('PROXMOX_PORT', '18006')
    clean_env.setenv('PROXMOX_USER', 'ansible@pve')
    clean_env.setenv('PROXMOX_PASSWORD', PASSWORD)
    clean_env.setenv('PROXMOX_VALIDATE_CERTS', 'false')
    clean_env.setenv('PROXMOX_CA_PATH', pki.ca_file)
    clean_env.setenv('PROXMOX_FINGERPRINT', pki.fingerprint_colons)
    clean_env.setenv('PROXMOX_TIMEOUT', '7')
    clean_env.setenv('PBS_HOST', 'pbs.example.org')  # the other service's variables are not read
    result = validate('PVE', {})
    assert not result.error_messages
    params = result.validated_parameters
    assert params['validate_certs'] is False
    assert params['api_timeout'] == 7
    assert PASSWORD in result._no_log_values  # masked by Ansible like a password given as an option
    settings = settings_from_options(params, 'PVE')
    assert (settings.host, settings.port, settings.user, settings.password) == ('pve1.example.org', 18006, 'ansible@pve', PASSWORD)
    assert (settings.validate_certs, settings.ca_path, settings.timeout) == (False, pki.ca_file, 7.0)
    assert settings.fingerprint == pki.fingerprint


def test_env_fallbacks_pbs_token(clean_env):
    clean_env.setenv('PBS_HOST', 'pbs.example.org')
    clean_env.setenv('PBS_TOKEN_ID', 'backup@pbs!ci')
    clean_env.setenv('PBS_TOKEN_SECRET', TOKEN_SECRET)
    clean_env.setenv('PROXMOX_HOST', 'pve1.example.org')
    clean_env.setenv('PROXMOX_USER', 'root@pam')
    result = validate('PBS', {})
    assert not result.error_messages
    assert TOKEN_SECRET in result._no_log_values
    settings = settings_from_options(result.validated_parameters, 'PBS')
    assert (settings.host, settings.port, settings.auth_id, settings.token_secret) == (
        'pbs.example.org', 8007, 'backup@pbs!ci', TOKEN_SECRET)
    assert (settings.validate_certs, settings.timeout) == (True, 30.0)


def test_env_does_not_override_options(clean_env):
    clean_env.setenv('PROXMOX_HOST', 'from-env')
    clean_env.setenv('PROXMOX_USER', 'env@pam')
    clean_env.setenv('PROXMOX_PASSWORD', 'env-password')
    result = validate('PVE', {'api_host': 'from-option', 'api_user': 'opt@pve', 'api_password': PASSWORD})
    params = result.validated_parameters
    assert (params['api_host'], params['api_user'], params['api_password']) == ('from-option', 'opt@pve', PASSWORD)


@pytest.mark.parametrize('service, other_env', [('PVE', 'PBS_HOST'), ('PBS', 'PROXMOX_HOST')])
def test_env_missing_host_is_an_argument_error(clean_env, service, other_env, capsys):
    clean_env.setenv(other_env, 'somewhere')
    # The spec leaves api_host optional (a `cluster` of an estate may give it): the module requires it, before any
    # connection, once it has looked at the estate.
    import json

    from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
    testing = pytest.importorskip('ansible.module_utils.testing', reason='patch_module_args needs ansible-core 2.19+')
    with testing.patch_module_args({}):
        with pytest.raises(SystemExit):
            ProxmoxModule(service=service)
    assert 'missing required arguments: api_host' in json.loads(capsys.readouterr().out)['msg']


def test_env_to_wire(clean_env, server):
    """Options from the environment alone reach the server: host, port, token, pin."""
    clean_env.setenv('PROXMOX_HOST', HOST)
    clean_env.setenv('PROXMOX_PORT', str(server.port))
    clean_env.setenv('PROXMOX_TOKEN_ID', 'root@pam!env')
    clean_env.setenv('PROXMOX_TOKEN_SECRET', TOKEN_SECRET)
    clean_env.setenv('PROXMOX_FINGERPRINT', server.pki.fingerprint_colons)
    settings = settings_from_options(validate('PVE', {}).validated_parameters, 'PVE')
    ProxmoxClient(settings).get('/nodes')
    (request,) = server.calls()
    assert request.headers['authorization'] == 'PVEAPIToken=root@pam!env=' + TOKEN_SECRET


# ====================================================================================== TLS: pinning


@pytest.mark.parametrize('validate_certs', [True, False])
@pytest.mark.parametrize('form', ['colons', 'lower', 'bare'])
def test_pin_match_accepted_without_ca(server, pki, validate_certs, form):
    pin = {'colons': pki.fingerprint_colons, 'lower': pki.fingerprint_colons.lower(), 'bare': pki.fingerprint}[form]
    client = make_client(server.port, None, validate_certs=validate_certs, fingerprint=pin)
    assert client.settings.requests_verify is False
    assert client.get('/version') is None
    # The login went through the pinned session too.
    assert [(r.method, r.path) for r in server.calls()] == [('POST', '/access/ticket'), ('GET', '/version')]


@pytest.mark.parametrize('validate_certs, ca', [(False, False), (True, False), (True, True)])
def test_pin_mismatch_refused_before_the_password_is_sent(server, pki, clock, validate_certs, ca):
    client = make_client(server.port, pki.ca_file if ca else None, clock=clock, validate_certs=validate_certs,
                         fingerprint=WRONG_FINGERPRINT)
    with pytest.raises(ProxmoxTLSError) as info:
        client.get('/nodes')
    message = str(info.value)
    assert 'does not match the pinned fingerprint ' + WRONG_FINGERPRINT in message
    assert '(it presented {0})'.format(pki.fingerprint_colons) in message
    assert server.url in message
    assert 'POST /access/ticket' in message
    # Refused after the handshake, before a byte of the login: the server read nothing at all.
    assert server.calls() == []
    assert bytes(server.raw) == b''
    assert PASSWORD.encode() not in bytes(server.raw)
    # A certificate problem is not retried.
    assert client.request_count == 1 and clock.sleeps == []
    assert_no_secret(info.value)


def test_pin_mismatch_with_token(server, pki):
    client = token_client(server, validate_certs=False, fingerprint=WRONG_FINGERPRINT)
    with pytest.raises(ProxmoxTLSError):
        client.get('/nodes')
    assert server.calls() == [] and bytes(server.raw) == b''


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
def test_a_redirect_does_not_carry_the_password_past_the_pin(server, pki, tmp_path):
    # Regression: redirects were followed, so a 307 from the pinned server sent the login (password included) to
    # another origin over unverified TLS.
    elsewhere = ApiServer(Pki(str(tmp_path)))  # another origin, with a certificate the pin does not match
    try:
        server.on('POST', '/access/ticket', reply(307, body='', headers={
            'Location': 'https://localhost:{0}/api2/json/access/ticket'.format(elsewhere.port)}))
        client = make_client(server.port, None, fingerprint=pki.fingerprint)
        with pytest.raises(ProxmoxError):
            client.get('/nodes')
        assert elsewhere.calls() == []
        assert PASSWORD.encode() not in bytes(elsewhere.raw)
    finally:
        elsewhere.stop()


@pytest.mark.parametrize('value, expected', [
    ('AB:' * 31 + 'CD', 'ab' * 31 + 'cd'),
    ('ab' * 31 + 'cd', 'ab' * 31 + 'cd'),
    (' AB:ab:' + 'Ab:' * 29 + 'CD ', 'ab' * 31 + 'cd'),
])
def test_normalize_fingerprint(value, expected):
    assert normalize_fingerprint(value) == expected


@pytest.mark.parametrize('value', ['', 'AB:CD', 'zz' * 32, 'ab' * 33, 'sha256:' + 'ab' * 32, 'ab-' * 32])
def test_normalize_fingerprint_errors(value):
    with pytest.raises(ProxmoxConfigError, match='32 colon-separated hex bytes'):
        normalize_fingerprint(value)


@hsettings(deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_fingerprint_forms_round_trip(raw):
    digits = raw.hex()
    shown = format_fingerprint(digits)
    assert len(shown) == 95 and shown == shown.upper()
    assert normalize_fingerprint(shown) == digits
    assert normalize_fingerprint(shown.lower()) == digits


# ===================================================================================== TLS: CA chain


def test_ca_path_verifies(server, pki):
    client = make_client(server.port, pki.ca_file)
    assert client.settings.requests_verify == pki.ca_file
    server.on('GET', '/nodes', reply(data=[{'node': 'pve1'}]))
    assert client.get('/nodes') == [{'node': 'pve1'}]


def test_untrusted_certificate_refused_with_a_clear_message(server, clock, monkeypatch):
    import certifi
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())
    client = make_client(server.port, None, clock=clock)
    with pytest.raises(ProxmoxTLSError) as info:
        client.get('/nodes')
    message = str(info.value)
    assert 'TLS: the server certificate is not trusted' in message
    assert 'certificate verify failed' in message
    for hint in ('ca_path', 'fingerprint', 'validate_certs'):
        assert hint in message
    assert server.url in message
    assert server.calls() == [] and PASSWORD.encode() not in bytes(server.raw)
    assert client.request_count == 1 and clock.sleeps == []
    assert_no_secret(info.value)


@pytest.mark.filterwarnings('ignore::urllib3.exceptions.InsecureRequestWarning')
def test_validate_certs_false_really_skips_verification(server, monkeypatch):
    """The REQUESTS_CA_BUNDLE trap: a session-level verify=False would be replaced by the bundle."""
    import certifi
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', certifi.where())
    client = make_client(server.port, None, validate_certs=False)
    server.on('GET', '/nodes', reply(data=[]))
    assert client.get('/nodes') == []


def test_wrong_ca_refused(server):
    """A CA file that does not sign the server certificate is no better than none."""
    import certifi
    client = make_client(server.port, certifi.where())
    with pytest.raises(ProxmoxTLSError, match='not trusted'):
        client.get('/nodes')
    assert server.calls() == []


# ========================================================================================== retries


def refused_policy(**kwargs):
    options = dict(max_attempts=4, base_delay=0.5, max_delay=4.0, max_total=30.0, rng=random.Random(11))
    options.update(kwargs)
    return RetryPolicy(**options)


@pytest.mark.parametrize('status', [502, 503, 504])
def test_get_retried_on_gateway_errors_up_to_max_attempts(server, clock, status):
    client = token_client(server, clock=clock, retry=refused_policy(max_attempts=3))
    server.on('GET', '/cluster/resources', reply(status, reason='Bad Gateway-ish'))
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/cluster/resources', type='vm')
    assert info.value.status_code == status
    assert len(server.calls('GET', '/cluster/resources')) == 3
    assert len(clock.sleeps) == 2
    # Every attempt asked the same thing.
    assert all(r.query == {'type': 'vm'} for r in server.calls())


def test_get_retry_then_success(server, clock):
    client = token_client(server, clock=clock)
    server.on('GET', '/nodes', reply(503), reply(502), reply(data=[{'node': 'pve1'}]))
    assert client.get('/nodes') == [{'node': 'pve1'}]
    assert len(server.calls()) == 3 and len(clock.sleeps) == 2


@pytest.mark.parametrize('status', [400, 401, 403, 404, 500, 501, 595])
def test_get_not_retried_on_other_errors(server, clock, status):
    client = token_client(server, clock=clock)
    server.on('GET', '/nodes', reply(status, reason='nope'))
    with pytest.raises(ProxmoxError):
        client.get('/nodes')
    assert len(server.calls()) == 1 and clock.sleeps == []


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE'])
@pytest.mark.parametrize('status', [500, 502, 503, 504])
def test_writes_never_retried_on_5xx(server, clock, method, status):
    client = token_client(server, clock=clock)
    server.on(method, '/pools/ci', reply(status, reason='proxy error'))
    with pytest.raises(ProxmoxApiError) as info:
        client.request(method, '/pools/ci', {'comment': 'x'})
    assert info.value.status_code == status
    assert len(server.calls()) == 1 and clock.sleeps == []


def test_get_retried_when_the_connection_drops(server, clock):
    client = token_client(server, clock=clock)
    server.on('GET', '/nodes', DROP, DROP, reply(data=['ok']))
    assert client.get('/nodes') == ['ok']
    assert len(server.calls()) == 3 and len(clock.sleeps) == 2


def test_get_gives_up_after_max_attempts_on_drops(server, clock):
    client = token_client(server, clock=clock, retry=refused_policy(max_attempts=3))
    server.on('GET', '/nodes', DROP)
    with pytest.raises(ProxmoxConnectionError) as info:
        client.get('/nodes')
    assert 'no answer' in str(info.value) and 'after 3 attempts' in str(info.value)
    assert len(server.calls()) == 3


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE'])
def test_write_not_retried_when_the_answer_is_lost(server, clock, method):
    client = token_client(server, clock=clock)
    server.on(method, '/pools/ci', DROP)
    with pytest.raises(ProxmoxConnectionError) as info:
        client.request(method, '/pools/ci', {'comment': 'x'})
    assert 'no answer' in str(info.value) and 'after 1 attempt' in str(info.value)
    assert len(server.calls()) == 1 and clock.sleeps == []


def test_write_not_retried_on_read_timeout(server, clock):
    client = token_client(server, clock=clock, timeout=READ_TIMEOUT)
    server.on('POST', '/nodes/pve1/qemu/100/status/start', HANG)
    with pytest.raises(ProxmoxConnectionError) as info:
        client.post('/nodes/pve1/qemu/100/status/start')
    assert 'timed out' in str(info.value)
    assert 'POST /nodes/pve1/qemu/100/status/start' in str(info.value)
    assert len(server.calls()) == 1 and clock.sleeps == []


def test_get_retried_on_read_timeout(server, clock):
    client = token_client(server, clock=clock, timeout=READ_TIMEOUT)
    server.on('GET', '/nodes', HANG, reply(data=['late']))
    assert client.get('/nodes') == ['late']
    assert len(server.calls()) == 2 and len(clock.sleeps) == 1


def test_get_retried_when_refused_up_to_max_attempts(free_port, pki, clock):
    client = make_client(free_port, pki.ca_file, clock=clock, token_id='root@pam!ci')
    with pytest.raises(ProxmoxConnectionError) as info:
        client.get('/nodes')
    message = str(info.value)
    assert 'cannot connect (Connection refused) after 4 attempts' in message
    assert 'https://127.0.0.1:{0}'.format(free_port) in message and 'GET /nodes' in message
    assert client.request_count == 4 and len(clock.sleeps) == 3


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE'])
def test_write_retried_when_the_connection_was_refused(free_port, pki, clock, method):
    """Refused means the write never reached the server: trying again is safe. The server appears meanwhile."""
    started = []

    def sleep(seconds):
        clock.sleep(seconds)
        if not started:
            started.append(ApiServer(pki, port=free_port))

    client = ProxmoxClient(make_settings(free_port, pki.ca_file, token_id='root@pam!ci'),
                           retry=refused_policy(), sleep=sleep, clock=clock)
    try:
        client.request(method, '/pools/ci', {'comment': 'after refusal'})
        (request,) = started[0].calls()
        assert (request.method, request.path) == (method, '/pools/ci')
        assert client.request_count == 2 and len(clock.sleeps) == 1
    finally:
        for api in started:
            api.stop()


@pytest.fixture
def unresolvable(monkeypatch):
    """A host name the resolver does not know (socket.getaddrinfo fails for it, as for a typo in api_host)."""
    import socket
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == 'pve-typo.invalid':
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    return 'pve-typo.invalid'


def test_unresolvable_host_is_a_connection_error(unresolvable, clock):
    client = ProxmoxClient(ConnectionSettings(unresolvable, token_id='root@pam!ci', token_secret=TOKEN_SECRET),
                           retry=refused_policy(), sleep=clock.sleep, clock=clock)
    with pytest.raises(ProxmoxConnectionError) as info:
        client.get('/nodes')
    assert 'Name or service not known' in str(info.value)
    assert 'https://pve-typo.invalid:8006' in str(info.value)
    assert_no_secret(info.value)


def test_unresolvable_host_counts_as_never_connected(unresolvable, clock):
    # Regression: urllib3 2 raises NameResolutionError (a subclass of NewConnectionError) for a name that does not
    # resolve; it was seen as 'no answer' and a write to it was not retried.
    client = ProxmoxClient(ConnectionSettings(unresolvable, token_id='root@pam!ci', token_secret=TOKEN_SECRET),
                           retry=refused_policy(), sleep=clock.sleep, clock=clock)
    with pytest.raises(ProxmoxConnectionError) as info:
        client.post('/pools', poolid='ci')
    assert 'cannot connect' in str(info.value)
    assert client.request_count == 4


def test_retry_budget_bounds_attempts(free_port, pki, clock):
    budget = 5.0
    policy = refused_policy(max_attempts=100, base_delay=1.0, max_delay=2.0, max_total=budget)
    client = make_client(free_port, pki.ca_file, clock=clock, retry=policy, token_id='root@pam!ci')
    with pytest.raises(ProxmoxConnectionError):
        client.get('/nodes')
    attempts = client.request_count
    assert attempts == len(clock.sleeps) + 1
    assert 3 <= attempts < 100
    # Each retry was decided while the budget lasted.
    assert sum(clock.sleeps[:-1]) < budget


def test_retry_sleeps_stay_within_the_budget(free_port, pki, clock):
    policy = refused_policy(max_attempts=100, base_delay=4.0, max_delay=4.0, max_total=5.0)
    client = make_client(free_port, pki.ca_file, clock=clock, retry=policy, token_id='root@pam!ci')
    with pytest.raises(ProxmoxConnectionError):
        client.get('/nodes')
    assert sum(clock.sleeps) <= 5.0


def test_no_retry_policy(free_port, pki, clock):
    client = make_client(free_port, pki.ca_file, clock=clock, retry=NoRetry(), token_id='root@pam!ci')
    with pytest.raises(ProxmoxConnectionError, match='after 1 attempt'):
        client.post('/pools', poolid='x')
    assert client.request_count == 1 and clock.sleeps == []


# ------------------------------------------------------------------------------ retry policy as logic


@pytest.mark.parametrize('method, kwargs, expected', [
    ('GET', dict(status=502), True),
    ('GET', dict(status=503), True),
    ('GET', dict(status=504), True),
    ('HEAD', dict(status=503), True),
    ('GET', dict(status=500), False),
    ('GET', dict(status=429), True),
    ('GET', dict(status=429, retry_after=5.0), True),
    ('GET', dict(status=503, retry_after=0.0), True),
    ('POST', dict(status=429), True),
    ('PUT', dict(status=429, retry_after=2.0), True),
    ('POST', dict(status=503, retry_after=2.0), True),
    ('DELETE', dict(status=503, retry_after=2.0), True),
    ('POST', dict(status=502, retry_after=2.0), False),
    ('POST', dict(status=500, retry_after=2.0), False),
    ('GET', dict(status=500, retry_after=2.0), False),
    # More than the budget allows: reported at once.
    ('GET', dict(status=503, retry_after=31.0), False),
    ('POST', dict(status=429, retry_after=100.0, remaining=99.0), False),
    # The run's deadline, not max_total, bounds what the server asked for.
    ('POST', dict(status=429, retry_after=100.0, remaining=101.0), True),
    # No time left of the deadline: no backoff retry either.
    ('GET', dict(status=502, remaining=0.0), False),
    ('GET', dict(connect_failed=True, remaining=0.0), False),
    ('GET', dict(read_failed=True), True),
    ('GET', dict(connect_failed=True), True),
    ('POST', dict(status=503), False),
    ('PUT', dict(status=502), False),
    ('DELETE', dict(status=504), False),
    ('POST', dict(read_failed=True), False),
    ('PUT', dict(read_failed=True), False),
    ('POST', dict(connect_failed=True), True),
    ('DELETE', dict(connect_failed=True), True),
])
def test_may_retry_matrix(method, kwargs, expected):
    policy = RetryPolicy(max_attempts=4, max_total=30.0)
    assert policy.may_retry(method, 1, 0.0, **kwargs) is expected
    # Never past the attempt count or the time budget, whatever happened.
    assert policy.may_retry(method, 4, 0.0, **kwargs) is False
    if 'remaining' not in kwargs:
        assert policy.may_retry(method, 1, 30.0, **kwargs) is False
    # Nor past the run's deadline.
    assert policy.may_retry(method, 1, 0.0, **dict(kwargs, remaining=0.0)) is False


@hsettings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32), base=st.floats(0.01, 2.0), ceiling=st.floats(0.05, 30.0))
def test_backoff_grows_and_stays_within_bounds(seed, base, ceiling):
    policy = RetryPolicy(max_attempts=12, base_delay=base, max_delay=ceiling, rng=random.Random(seed))
    delays = [policy.delay(attempt) for attempt in range(1, 12)]
    caps = [min(ceiling, base * 2 ** (attempt - 1)) for attempt in range(1, 12)]
    for delay, cap in zip(delays, caps):
        assert cap / 2 <= delay <= cap <= ceiling
    # Full jitter over [cap/2, cap]: while the cap doubles, each wait is at least the previous one.
    for i in range(1, len(delays)):
        if base * 2 ** i <= ceiling:
            assert delays[i] >= delays[i - 1]


def test_backoff_is_reproducible_with_a_seeded_rng():
    first = [RetryPolicy(rng=random.Random(3)).delay(n) for n in range(1, 6)]
    again = [RetryPolicy(rng=random.Random(3)).delay(n) for n in range(1, 6)]
    assert first == again
    assert NoRetry().may_retry('GET', 1, 0.0, status=503) is False


def test_client_sleeps_the_policy_delays(server, clock):
    client = token_client(server, clock=clock, retry=refused_policy(max_attempts=4, rng=random.Random(5)))
    server.on('GET', '/nodes', reply(503))
    with pytest.raises(ProxmoxApiError):
        client.get('/nodes')
    expected = refused_policy(rng=random.Random(5))
    assert clock.sleeps == [expected.delay(1), expected.delay(2), expected.delay(3)]


# ------------------------------------------------------------------------------ 429 / 503 with Retry-After


@pytest.mark.parametrize('value, expected', [
    ('0', 0.0), ('7', 7.0), (' 120 ', 120.0),
    ('Thu, 01 Jan 1970 00:02:00 GMT', 100.0),   # an HTTP-date, 100 s after `now`
    ('Thursday, 01-Jan-70 00:02:00 GMT', 100.0),  # RFC 850 form
    ('Thu, 01 Jan 1970 00:00:10 GMT', 0.0),   # in the past: at once
    (None, None), ('', None), ('soon', None), ('-5', None), ('1.5', None),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=20.0) == expected


@hsettings(max_examples=50, deadline=None)
@given(seconds=st.integers(0, 10 ** 6), now=st.integers(0, 2 ** 31))
def test_retry_after_date_and_seconds_agree(seconds, now):
    date = email.utils.formatdate(now + seconds, usegmt=True)
    assert parse_retry_after(date, now=now) == parse_retry_after(str(seconds)) == float(seconds)


def test_get_429_waits_what_retry_after_asks_then_succeeds(server, clock):
    client = token_client(server, clock=clock)
    server.on('GET', '/cluster/resources', reply(429, reason='Too Many Requests', headers={'Retry-After': '7'}),
              reply(data=[{'vmid': 100}]))
    assert client.get('/cluster/resources') == [{'vmid': 100}]
    assert len(server.calls()) == 2 and clock.sleeps == [7.0]


def test_get_503_with_an_http_date_waits_until_then(server, clock):
    client = token_client(server, clock=clock, deadline=Deadline(600, clock=clock))
    later = email.utils.formatdate(time.time() + 90, usegmt=True)
    server.on('GET', '/nodes', reply(503, reason='Service Unavailable', headers={'Retry-After': later}),
              reply(data=['ok']))
    assert client.get('/nodes') == ['ok']
    (slept,) = clock.sleeps
    # Whole seconds in the date, and the test's own run time: about 90 s, never the default backoff.
    assert 80 <= slept <= 91


def test_429_without_retry_after_backs_off_as_usual(server, clock):
    client = token_client(server, clock=clock, retry=refused_policy(rng=random.Random(5)))
    server.on('GET', '/nodes', reply(429), reply(data=['ok']))
    assert client.get('/nodes') == ['ok']
    assert clock.sleeps == [refused_policy(rng=random.Random(5)).delay(1)]


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE'])
@pytest.mark.parametrize('status, headers', [(429, {}), (429, {'Retry-After': '3'}), (503, {'Retry-After': '3'})])
def test_write_refused_without_acting_is_sent_again(server, clock, method, status, headers):
    """429, and 503 with Retry-After, say the server did not act on the write: sending it again is safe."""
    client = token_client(server, clock=clock)
    server.on(method, '/pools/ci', reply(status, reason='slow down', headers=headers), reply(data=None))
    client.request(method, '/pools/ci', {'comment': 'x'})
    first, again = server.calls()
    assert (first.method, first.path, first.form or first.query) == (again.method, again.path, again.form or again.query)
    assert len(clock.sleeps) == 1
    if headers:
        assert clock.sleeps == [3.0]


def test_retry_after_beyond_the_deadline_fails_at_once(server, clock):
    deadline = Deadline(20, clock=clock)
    client = token_client(server, clock=clock, deadline=deadline)
    refusal = reply(429, body={'data': None, 'message': 'rate limit exceeded'}, headers={'Retry-After': '3600'})
    server.on('POST', '/nodes/pve1/qemu', refusal)
    with pytest.raises(ProxmoxApiError) as info:
        client.post('/nodes/pve1/qemu', vmid=100)
    assert info.value.status_code == 429
    message = str(info.value)
    assert message.startswith('https://127.0.0.1:{0}: POST /nodes/pve1/qemu: 429 rate limit exceeded'.format(server.port))
    assert 'the server asked to retry in 3600 s, more than the 20 s left of the timeout' in message
    assert len(server.calls()) == 1 and clock.sleeps == []


def test_retry_after_waits_count_against_the_deadline(server, clock):
    """Each wait the server asks for comes out of the one budget: the third would go past it, so it is not made."""
    deadline = Deadline(25, clock=clock)
    client = token_client(server, clock=clock, deadline=deadline)
    server.on('GET', '/nodes', reply(503, reason='Service Unavailable', headers={'Retry-After': '10'}))
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/nodes')
    assert clock.sleeps == [10.0, 10.0]
    assert len(server.calls()) == 3
    assert '(after 3 attempts; the server asked to retry in 10 s, more than the 5 s left of the timeout)' in str(info.value)


def test_retry_after_without_a_deadline_stays_within_max_total(server, clock):
    client = token_client(server, clock=clock, retry=refused_policy(max_total=30.0))
    server.on('GET', '/nodes', reply(429, headers={'Retry-After': '45'}))
    with pytest.raises(ProxmoxApiError, match='more than the 30 s left of the time budget'):
        client.get('/nodes')
    assert clock.sleeps == []


def test_throttled_until_the_last_attempt(server, clock):
    client = token_client(server, clock=clock, retry=refused_policy(max_attempts=3))
    server.on('PUT', '/pools/ci', reply(429, reason='Too Many Requests', headers={'Retry-After': '1'}))
    with pytest.raises(ProxmoxApiError) as info:
        client.put('/pools/ci', comment='x')
    assert str(info.value).endswith('429 Too Many Requests (after 3 attempts)')
    assert clock.sleeps == [1.0, 1.0]


# ========================================================================================== tickets


def test_login_then_cookie_and_csrf(server):
    client = make_client(server.port, server.pki.ca_file)
    client.get('/nodes')
    client.post('/pools', poolid='ci', enable=True)
    client.get('/version')
    login, get, post, version = server.calls()
    assert (login.method, login.path) == ('POST', '/access/ticket')
    assert login.form == {'username': 'root@pam', 'password': PASSWORD}
    assert 'cookie' not in login.headers and 'authorization' not in login.headers
    assert get.cookies == {'PVEAuthCookie': 'PVE:root@pam:TICKET1'}
    assert 'csrfpreventiontoken' not in get.headers
    assert post.headers['csrfpreventiontoken'] == 'CSRF1' and post.cookies['PVEAuthCookie'] == 'PVE:root@pam:TICKET1'
    assert version.cookies == {'PVEAuthCookie': 'PVE:root@pam:TICKET1'}
    assert server.tickets == 1


def test_pbs_ticket_cookie(server):
    client = make_client(server.port, server.pki.ca_file, service='PBS', user='backup@pbs')
    client.get('/admin/datastore')
    assert server.calls()[1].cookies == {'PBSAuthCookie': 'PVE:backup@pbs:TICKET1'}


def test_relogin_once_on_401_then_success(server):
    client = make_client(server.port, server.pki.ca_file)
    server.on('GET', '/nodes', reply(401, reason='permission denied - invalid PVE ticket'), reply(data=['pve1']))
    assert client.get('/nodes') == ['pve1']
    assert [(r.method, r.path) for r in server.calls()] == [
        ('POST', '/access/ticket'), ('GET', '/nodes'), ('POST', '/access/ticket'), ('GET', '/nodes')]
    assert server.calls('GET')[-1].cookies == {'PVEAuthCookie': 'PVE:root@pam:TICKET2'}


def test_relogin_repeats_a_refused_write_with_the_new_csrf(server):
    client = make_client(server.port, server.pki.ca_file)
    server.on('POST', '/pools', reply(401, reason='Permission denied - invalid csrf token'), reply(data=None))
    client.post('/pools', poolid='ci')
    first, second = server.calls('POST', '/pools')
    assert (first.headers['csrfpreventiontoken'], second.headers['csrfpreventiontoken']) == ('CSRF1', 'CSRF2')
    assert second.form == {'poolid': 'ci'}


def test_second_401_is_an_auth_error(server):
    # Regression: the repeat after the re-login used to surface a second 401 as ProxmoxApiError.
    client = make_client(server.port, server.pki.ca_file)
    server.on('GET', '/nodes', reply(401, reason='permission denied - invalid PVE ticket'))
    with pytest.raises(ProxmoxAuthError) as info:
        client.get('/nodes')
    assert info.value.status_code == 401
    assert 'permission denied - invalid PVE ticket' in str(info.value) and 'GET /nodes' in str(info.value)


def test_relogin_then_another_error_is_that_error(server):
    client = make_client(server.port, server.pki.ca_file)
    server.on('GET', '/nodes', reply(401, reason='permission denied - invalid PVE ticket'), reply(500, reason='got timeout'))
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/nodes')
    assert (info.value.status_code, info.value.message) == (500, 'got timeout')


def test_token_client_never_logs_in(server):
    client = token_client(server)
    client.login()
    assert server.calls() == []


def test_second_401_fails_without_a_loop(server):
    """The second 401 ends the call after exactly one re-login."""
    client = make_client(server.port, server.pki.ca_file)
    server.on('GET', '/nodes', reply(401, reason='permission denied - invalid PVE ticket'))
    with pytest.raises(ProxmoxError) as info:
        client.get('/nodes')
    assert info.value.status_code == 401
    assert len(server.calls('POST', '/access/ticket')) == 2 and len(server.calls('GET', '/nodes')) == 2
    assert_no_secret(info.value)


def test_ticket_survives_a_proxy_cookie(server):
    # Regression: proxmoxer's session sends the auth cookies only while its jar is empty, so a cookie set by a proxy
    # (load-balancer stickiness) used to hide the ticket.
    client = make_client(server.port, server.pki.ca_file)
    server.on('GET', '/version', reply(data={'version': '9.0.10'}, headers={'Set-Cookie': 'SERVERID=pve1; Path=/'}))
    client.get('/version')
    client.get('/nodes')
    assert server.calls('GET', '/nodes')[0].cookies.get('PVEAuthCookie') == 'PVE:root@pam:TICKET1'


@pytest.mark.parametrize('answer, words', [
    (reply(401, reason='authentication failure'), ['login as root@pam refused: authentication failure']),
    (reply(data={'ticket': 'PVE:!tfa!x', 'CSRFPreventionToken': 'c', 'NeedTFA': 1}), ['needs a second factor', 'API token']),
    (reply(data={'username': 'root@pam'}), ['returned no ticket']),
])
def test_login_refused(server, answer, words):
    client = make_client(server.port, server.pki.ca_file)
    server.on('POST', '/access/ticket', answer)
    with pytest.raises(ProxmoxAuthError) as info:
        client.get('/nodes')
    for word in words:
        assert word in str(info.value)
    assert server.url in str(info.value)
    assert server.calls('GET') == []
    assert_no_secret(info.value)


def test_token_refused_is_an_auth_error(server, clock):
    client = token_client(server, clock=clock)
    server.on('GET', '/nodes', reply(401, reason='authentication failure'))
    with pytest.raises(ProxmoxAuthError) as info:
        client.get('/nodes')
    assert info.value.status_code == 401
    assert 'API token root@pam!ci refused: authentication failure' in str(info.value)
    assert len(server.calls()) == 1 and clock.sleeps == []
    assert_no_secret(info.value)


# =========================================================================================== errors


def test_error_message_from_the_reason_phrase(server):
    """Real PVE: the message is the HTTP reason phrase, the body only {"data": null}."""
    client = token_client(server)
    reason = 'Configuration file nodes/pve1/qemu-server/999.conf does not exist'
    server.on('GET', '/nodes/pve1/qemu/999/config', reply(500, reason=reason))
    with pytest.raises(ProxmoxApiError) as info:
        client.get(client.path('nodes', 'pve1', 'qemu', 999, 'config'))
    error = info.value
    assert (error.status_code, error.message, error.errors) == (500, reason, {})
    assert (error.url, error.method, error.path) == (server.url, 'GET', '/nodes/pve1/qemu/999/config')
    assert is_not_found(error)
    assert str(error) == '{0}: GET /nodes/pve1/qemu/999/config: 500 {1}'.format(server.url, reason)


def test_error_message_and_fields_from_the_body(server):
    client = token_client(server)
    server.on('POST', '/nodes/pve1/qemu', reply(400, reason='Parameter verification failed.', body={
        'data': None, 'message': 'Parameter verification failed.\n',
        'errors': {'vmid': 'invalid format - value does not look like a valid VM ID\n', 'memory': 'value must be >= 16\n'}}))
    with pytest.raises(ProxmoxApiError) as info:
        client.post('/nodes/pve1/qemu', vmid='abc', memory=1)
    error = info.value
    assert error.status_code == 400
    assert error.message == 'Parameter verification failed.'
    assert set(error.errors) == {'vmid', 'memory'}
    text = error.describe('vm abc')
    assert text.startswith('vm abc on {0}: POST /nodes/pve1/qemu: 400 Parameter verification failed.'.format(server.url))
    assert 'memory: value must be >= 16; vmid: invalid format' in text
    assert not is_not_found(error)


def test_error_from_a_proxy_page(server):
    client = token_client(server)
    server.on('POST', '/pools', reply(502, reason='Bad Gateway', body='<html>upstream down</html>'))
    with pytest.raises(ProxmoxApiError) as info:
        client.post('/pools', poolid='x')
    assert info.value.status_code == 502
    assert 'upstream down' in info.value.message


def test_error_without_any_words_keeps_the_status(server):
    client = token_client(server)
    server.on('DELETE', '/pools/x', reply(404, reason='', body=''))
    with pytest.raises(ProxmoxApiError) as info:
        client.delete('/pools/x')
    assert info.value.status_code == 404 and is_not_found(info.value)
    assert 'DELETE /pools/x: 404' in str(info.value)


def test_success_without_a_body_is_none(server):
    client = token_client(server)
    server.on('PUT', '/pools/x', reply(200, body=''))
    assert client.put('/pools/x', comment='c') is None


@pytest.mark.parametrize('body', [
    pytest.param('<html>captive portal: please log in</html>', id='html'),
    pytest.param({'success': 1}, id='json-without-data'),
    pytest.param([1, 2], id='json-list'),
])
def test_a_success_that_is_not_the_api_envelope_is_an_error(server, body):
    # Regression: a 2xx that was not the API's JSON envelope came back as {'errors': <bytes>} data, or as a bare
    # KeyError/TypeError.
    client = token_client(server)
    server.on('GET', '/nodes', reply(200, body=body))
    with pytest.raises(ProxmoxError) as info:
        client.get('/nodes')
    assert 'GET /nodes' in str(info.value)


@pytest.mark.parametrize('status', [301, 302, 307, 308])
def test_a_redirect_is_an_error_not_followed(server, clock, status):
    client = token_client(server, clock=clock)
    server.on('GET', '/nodes', reply(status, body='', headers={'Location': 'https://elsewhere.example/api2/json/nodes'}))
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/nodes')
    assert info.value.status_code == status
    assert 'redirect to https://elsewhere.example/api2/json/nodes, which is not followed' in str(info.value)
    assert len(server.calls()) == 1 and clock.sleeps == []


def test_not_the_api_says_what_came_instead(server):
    client = token_client(server)
    server.on('GET', '/nodes', reply(200, body='<html>\n  <title>Portal</title>\n</html>'))
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/nodes')
    assert "answered 200 with something that is not the Proxmox API: '<html> <title>Portal</title> </html>'" in str(info.value)


# ======================================================================================= parameters


def test_booleans_sent_as_1_and_0(server):
    client = token_client(server)
    client.post('/pools', poolid='ci', enable=True, force=False, skip=None, count=3)
    client.get('/cluster/resources', full=True, history=False, type=None)
    client.put('/cluster/options', ha=False)
    client.delete('/pools/ci', purge=True)
    post, get, put, delete = server.calls()
    assert post.form == {'poolid': 'ci', 'enable': '1', 'force': '0', 'count': '3'}
    assert get.query == {'full': '1', 'history': '0'} and get.body == b''
    assert put.form == {'ha': '0'}
    assert delete.query == {'purge': '1'}


@pytest.mark.parametrize('params, form', [
    pytest.param({'net0': {'model': 'virtio', 'bridge': 'vmbr0'}}, {'net0': ['bridge=vmbr0,model=virtio', 'model=virtio,bridge=vmbr0']},
                 id='dict-as-property-string'),
    pytest.param({'flags': [True, False]}, {'flags': [['1', '0']]}, id='booleans-in-a-list'),
])
def test_structured_parameters_are_sent_as_pve_reads_them(server, params, form):
    client = token_client(server)
    try:
        client.post('/x', **params)
    except (ProxmoxError, TypeError, ValueError):
        assert server.calls() == []  # refused before sending: fine too
        return
    sent = parse_qs(server.calls()[0].body.decode())
    for key, allowed in form.items():
        assert sent[key] in [v if isinstance(v, list) else [v] for v in allowed]


def test_path_quoting():
    upid = 'UPID:pve1:0000ABCD:00001234:6502A5A8:qmstart:100:root@pam!ci:'
    assert ProxmoxClient.path('nodes', 'pve1', 'tasks', upid, 'status') == '/nodes/pve1/tasks/{0}/status'.format(upid)
    assert ProxmoxClient.path('access', 'users', 'root@pam', 'token', 'ci') == '/access/users/root@pam/token/ci'
    assert ProxmoxClient.path('storage', 'a/b c?d#e%') == '/storage/a%2Fb%20c%3Fd%23e%25'
    assert ProxmoxClient.path('nodes', 'pve1', 'qemu', 100) == '/nodes/pve1/qemu/100'


def test_quoted_path_reaches_the_server(server):
    client = token_client(server)
    client.get(client.path('cluster', 'backup', 'job/one'))
    assert server.calls()[0].path == '/cluster/backup/job%2Fone'


def test_version_read_once(server):
    client = token_client(server)
    server.on('GET', '/version', reply(data={'version': '8.4.1', 'release': '8.4', 'repoid': 'abc'}))
    assert client.major_version() == 8
    assert client.version()['version'] == '8.4.1'
    assert len(server.calls()) == 1


@pytest.mark.parametrize('data, major', [({'version': '3.4.1'}, 3), ({'release': '9.0'}, 9), ({}, 0), (None, 0)])
def test_major_version_forms(server, data, major):
    client = token_client(server)
    server.on('GET', '/version', reply(data=data))
    assert client.major_version() == major


# =========================================================================================== secrets


def _scenarios():
    def login_refused(server):
        server.on('POST', '/access/ticket', reply(401, reason='authentication failure'))
        make_client(server.port, server.pki.ca_file).get('/nodes')

    def login_hangs(server):
        server.on('POST', '/access/ticket', HANG)
        make_client(server.port, server.pki.ca_file, timeout=READ_TIMEOUT).get('/nodes')

    def login_dropped(server):
        server.on('POST', '/access/ticket', DROP)
        make_client(server.port, server.pki.ca_file).get('/nodes')

    def login_500(server):
        server.on('POST', '/access/ticket', reply(500, reason='internal error'))
        make_client(server.port, server.pki.ca_file).get('/nodes')

    def pinned_mismatch(server):
        make_client(server.port, None, fingerprint=WRONG_FINGERPRINT).get('/nodes')

    def untrusted(server):
        make_client(server.port, None).get('/nodes')

    def token_refused(server):
        server.on('GET', '/nodes', reply(401, reason='authentication failure'))
        token_client(server).get('/nodes')

    def token_pinned_mismatch(server):
        token_client(server, fingerprint=WRONG_FINGERPRINT).get('/nodes')

    def secret_in_a_failed_write(server):
        server.on('POST', '/access/users', reply(400, reason='Parameter verification failed.',
                                                 body={'data': None, 'errors': {'password': 'too short'}}))
        token_client(server).post('/access/users', userid='u@pve', password=PASSWORD)

    def secret_in_a_lost_write(server):
        server.on('PUT', '/access/password', DROP)
        token_client(server).put('/access/password', userid='u@pve', password=PASSWORD)

    return [login_refused, login_hangs, login_dropped, login_500, pinned_mismatch, untrusted, token_refused,
            token_pinned_mismatch, secret_in_a_failed_write, secret_in_a_lost_write]


@pytest.mark.parametrize('scenario', _scenarios(), ids=lambda fn: fn.__name__)
def test_no_secret_in_any_error(server, scenario):
    with pytest.raises(ProxmoxError) as info:
        scenario(server)
    assert_no_secret(info.value)
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize('suffix', [pytest.param('\n', id='newline'), pytest.param('\r\n', id='crlf'),
                                    pytest.param('\u20ac', id='not-latin-1')])
def test_a_malformed_token_secret_is_a_clean_error(server, suffix):
    # Regression: a trailing newline gave a bare ValueError holding the whole Authorization header (secret included),
    # a non-latin-1 character a UnicodeEncodeError.
    try:
        token_client(server, token_secret=TOKEN_SECRET + suffix).get('/nodes')
    except ProxmoxError as exc:
        assert_no_secret(exc)
    else:
        assert server.calls()[0].headers['authorization'] == 'PVEAPIToken=root@pam!ci=' + TOKEN_SECRET


# ========================================================================================== fakepve


def _pin_of(cafile):
    with open(cafile) as handle:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()


def test_fakepve_token_and_ticket(fakepve, fakepve_cafile):
    port = int(fakepve.url.rsplit(':', 1)[1])
    fakepve.apitokens['root@pam!ci'] = TOKEN_SECRET
    pin = _pin_of(fakepve_cafile)
    token = ProxmoxClient(ConnectionSettings(HOST, port=port, token_id='ci', user='root@pam', token_secret=TOKEN_SECRET,
                                             fingerprint=pin))
    assert token.major_version() == 9
    ticket = ProxmoxClient(ConnectionSettings(HOST, port=port, user='root@pam', password='secret', fingerprint=pin))
    assert [n['node'] for n in ticket.get('/nodes')] == ['pve1']
    # An expired or revoked ticket: one new login, and the call goes through.
    fakepve.revoke_tickets()
    assert [n['node'] for n in ticket.get('/nodes')] == ['pve1']
    assert [r[:2] for r in fakepve.requests[-3:]] == [
        ('GET', '/api2/json/nodes'), ('POST', '/api2/json/access/ticket'), ('GET', '/api2/json/nodes')]


def test_fakepve_refusals(fakepve, fakepve_cafile):
    port = int(fakepve.url.rsplit(':', 1)[1])
    fakepve.apitokens['root@pam!ci'] = 'another-secret'
    pin = _pin_of(fakepve_cafile)
    token = ProxmoxClient(ConnectionSettings(HOST, port=port, token_id='root@pam!ci', token_secret=TOKEN_SECRET, fingerprint=pin))
    with pytest.raises(ProxmoxAuthError) as info:
        token.get('/nodes')
    assert_no_secret(info.value)
    ticket = ProxmoxClient(ConnectionSettings(HOST, port=port, user='root@pam', password=PASSWORD, fingerprint=pin))
    with pytest.raises(ProxmoxAuthError, match='login as root@pam refused: authentication failure') as info:
        ticket.get('/nodes')
    assert_no_secret(info.value)


def test_fakepve_api_errors(fakepve, fakepve_cafile):
    port = int(fakepve.url.rsplit(':', 1)[1])
    client = ProxmoxClient(ConnectionSettings(HOST, port=port, user='root@pam', password='secret', ca_path=fakepve_cafile))
    with pytest.raises(ProxmoxApiError) as info:
        client.post('/nodes/pve1/qemu', vmid='abc')
    assert info.value.status_code == 400 and 'vmid' in info.value.errors
    fakepve.fail('GET', '/nodes/pve1/qemu', 500, 'got timeout', times=1)
    with pytest.raises(ProxmoxApiError) as info:
        client.get('/nodes/pve1/qemu')
    assert (info.value.status_code, info.value.message) == (500, 'got timeout')


# ================================================================================== settings edge cases


def test_a_half_token_does_not_block_an_explicit_password_login():
    # PROXMOX_TOKEN_SECRET left in the environment while the task gives a user and password.
    settings = ConnectionSettings(HOST, user='root@pam', password='pw', token_secret='left-over')
    assert not settings.uses_token and settings.auth_id == 'root@pam'
    with pytest.raises(ProxmoxConfigError, match='needs both api_token_id and api_token_secret'):
        ConnectionSettings(HOST, token_secret='left-over')


@pytest.mark.parametrize('host, expected', [('pve1.lab.', 'pve1.lab'), ('[fd00::1]', 'fd00::1')])
def test_host_forms_accepted(host, expected):
    assert ConnectionSettings(host, user='root@pam', password='pw').host == expected


def test_brackets_hold_only_an_address():
    with pytest.raises(ProxmoxConfigError, match='brackets hold an IPv6 address only'):
        ConnectionSettings('[pve1]', user='root@pam', password='pw')
