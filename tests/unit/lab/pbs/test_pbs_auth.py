# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's authentication: tickets with CSRF tokens, API tokens, and its TLS certificate."""

import pytest
import requests


def test_ticket_login_with_proxmoxer(pbs, pbs_api):
    api = pbs_api(pbs, auth='ticket')
    version = api.version.get()
    assert version['version'] == '4.0' and version['release'] == '14'
    # A write with the ticket carries the CSRF token: proxmoxer adds it.
    api.config.remote.post(name='ticket-remote', host='192.0.2.10', **{'auth-id': 'sync@pbs', 'password': 'x'})
    api.config.remote('ticket-remote').delete()


def test_token_with_proxmoxer(pbs, pbs_api):
    api = pbs_api(pbs)
    assert 'store1' in [d['name'] for d in api.config.datastore.get()]


def test_both_logins_with_our_client(pbs, pbs_client):
    for auth in ('token', 'ticket'):
        client = pbs_client(pbs, auth)
        assert client.get('/version')['version'] == '4.0'
        assert client.get('/config/datastore/store1')['path'] == '/mnt/datastore/store1'


def test_ticket_and_csrf_on_the_wire(pbs):
    login = requests.post(pbs.url + '/api2/json/access/ticket', data={'username': pbs.user, 'password': pbs.password},
                          verify=pbs.ca_path, timeout=30)
    assert login.status_code == 200
    data = login.json()['data']
    assert data['ticket'].startswith('PBS:root@pam:') and data['username'] == 'root@pam'
    cookies = {'PBSAuthCookie': data['ticket']}
    url = pbs.url + '/api2/json/config/remote'
    assert requests.get(url, cookies=cookies, verify=pbs.ca_path, timeout=30).status_code == 200
    body = {'name': 'csrf-remote', 'host': 'pbs2.example.org', 'auth-id': 'sync@pbs', 'password': 'x'}
    missing = requests.post(url, data=body, cookies=cookies, verify=pbs.ca_path, timeout=30)
    assert (missing.status_code, missing.text) == (401, 'authentication failed - missing CSRF prevention token')
    wrong = requests.post(url, data=body, cookies=cookies, headers={'CSRFPreventionToken': 'AAAA:bad'},
                          verify=pbs.ca_path, timeout=30)
    assert (wrong.status_code, wrong.text) == (401, 'authentication failed - invalid CSRF prevention token')
    good = requests.post(url, data=body, cookies=cookies, headers={'CSRFPreventionToken': data['CSRFPreventionToken']},
                         verify=pbs.ca_path, timeout=30)
    assert good.status_code == 200
    # A ticket renews itself as the password.
    again = requests.post(pbs.url + '/api2/json/access/ticket', data={'username': pbs.user, 'password': data['ticket']},
                          verify=pbs.ca_path, timeout=30)
    assert again.status_code == 200
    requests.delete(url + '/csrf-remote', headers={'Authorization': 'PBSAPIToken={0}:{1}'.format(
        pbs.token_id, pbs.token_secret)}, verify=pbs.ca_path, timeout=30)


@pytest.mark.parametrize('headers, status, text', [
    ({}, 401, 'no authentication credentials provided.'),
    ({'Authorization': 'PBSAPIToken=root@pam!lab'}, 401, 'authentication failed - failed to split API token header'),
    ({'Authorization': 'PBSAPIToken=root@pam!nope:abc'}, 401,
     'authentication failed - user account or token disabled or expired.'),
])
def test_refusals(pbs, pbs_raw, headers, status, text):
    assert pbs_raw(pbs, 'GET', '/version', headers=headers)[:2] == (status, text)


def test_wrong_secret_and_password(pbs, pbs_raw):
    headers = {'Authorization': 'PBSAPIToken={0}:{1}'.format(pbs.token_id, 'f' * 36)}
    assert pbs_raw(pbs, 'GET', '/version', headers=headers)[:2] == (401, 'authentication failed - invalid API token')
    # PBS reads 'PBSAPIToken user@realm!id:secret' too.
    headers = {'Authorization': 'PBSAPIToken {0}:{1}'.format(pbs.token_id, pbs.token_secret)}
    assert pbs_raw(pbs, 'GET', '/version', headers=headers)[0] == 200
    status, text, _body = pbs_raw(pbs, 'POST', '/access/ticket', headers={}, username='root@pam', password='wrong')
    assert (status, text) == (401, 'permission check failed.')


def test_refused_logins_reach_our_client(pbs):
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxAuthError
    settings = ConnectionSettings(pbs.host, service='PBS', port=pbs.port, user='root@pam', password='wrong',
                                  ca_path=pbs.ca_path)
    with pytest.raises(ProxmoxAuthError, match='permission check failed'):
        ProxmoxClient(settings).get('/version')


def test_token_lifecycle(pbs, pbs_api, pbs_raw):
    api = pbs_api(pbs)
    made = api.access.users('root@pam').token('cycle').post(comment='first')
    assert made['tokenid'] == 'root@pam!cycle'
    token_api = pbs_api(pbs, token=(made['tokenid'], made['value']))
    assert token_api.version.get()['version'] == '4.0'
    read = api.access.users('root@pam').token('cycle').get()
    assert read == {'tokenid': 'root@pam!cycle', 'enable': True, 'expire': 0, 'comment': 'first'}
    digest = pbs_raw(pbs, 'GET', '/access/users/root@pam/token/cycle')[2]['digest']
    api.access.users('root@pam').token('cycle').put(comment='second', digest=digest)
    status, text, _body = pbs_raw(pbs, 'PUT', '/access/users/root@pam/token/cycle', comment='third', digest=digest)
    assert (status, text) == (400, 'detected modified configuration - file changed by other user? Try again.')
    api.access.users('root@pam').token('cycle').put(delete='comment', enable=0)
    assert 'comment' not in api.access.users('root@pam').token('cycle').get()
    status, text, _body = pbs_raw(pbs, 'GET', '/version', headers={
        'Authorization': 'PBSAPIToken={0}:{1}'.format(made['tokenid'], made['value'])})
    assert status == 401
    status, text, _body = pbs_raw(pbs, 'POST', '/access/users/root@pam/token/cycle')
    assert (status, text) == (400, "token 'cycle' for user 'root@pam' already exists.")
    api.access.users('root@pam').token('cycle').delete()
    status, text, _body = pbs_raw(pbs, 'DELETE', '/access/users/root@pam/token/cycle')
    assert (status, text) == (404, "token 'cycle' of user 'root@pam' does not exist.")
    assert pbs_raw(pbs, 'GET', '/access/users/root@pam/token/cycle')[:2] == (400, "no such token 'root@pam!cycle'")
    assert pbs_raw(pbs, 'GET', '/access/users/nobody@pbs/token/x1')[:2] == (400, "no such user 'nobody@pbs'")


def test_certificate_is_the_lab_cas(pbs):
    import ssl
    pem = ssl.get_server_certificate((pbs.host, pbs.port))
    from tests.lab.pki import fingerprint
    assert fingerprint(ssl.PEM_cert_to_DER_cert(pem)) == pbs.fingerprint
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pbs.url + '/api2/json/version', verify=True, timeout=30)


def test_unknown_path_and_method(pbs, pbs_raw):
    assert pbs_raw(pbs, 'GET', '/nothing/here')[:2] == (404, "Path '/api2/json/nothing/here' not found.")
    assert pbs_raw(pbs, 'POST', '/version')[0] == 405
