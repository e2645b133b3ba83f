# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's tests: the `pbs` and `pbs_fn` fixtures, and clients for them (proxmoxer, our client, raw)."""

import pytest
import requests


def pytest_configure(config):
    from tests.lab.pbs import pytest_plugin
    if not config.pluginmanager.has_plugin('tests.lab.pbs.pytest_plugin'):
        config.pluginmanager.register(pytest_plugin, 'tests.lab.pbs.pytest_plugin')


@pytest.fixture
def pbs_api():
    """pbs_api(server, auth='token' | 'ticket', user=None, password=None, token=None): proxmoxer (service PBS)
    verifying TLS against the server's CA. token is (full token id, secret)."""
    import proxmoxer

    def connect(server, auth='token', user=None, password=None, token=None):
        options = dict(port=server.port, verify_ssl=server.ca_path, timeout=30, service='PBS')
        if auth == 'ticket':
            return proxmoxer.ProxmoxAPI(server.host, user=user or server.user,
                                        password=password or server.password, **options)
        token_id, secret = token or (server.token_id, server.token_secret)
        userid, _sep, name = token_id.partition('!')
        return proxmoxer.ProxmoxAPI(server.host, user=userid, token_name=name, token_value=secret, **options)
    return connect


@pytest.fixture
def pbs_client():
    """pbs_client(server, auth='token' | 'ticket'): the collection's own ProxmoxClient (service PBS)."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient

    def connect(server, auth='token'):
        if auth == 'ticket':
            settings = ConnectionSettings(server.host, service='PBS', port=server.port, user=server.user,
                                          password=server.password, ca_path=server.ca_path)
        else:
            settings = ConnectionSettings(server.host, service='PBS', port=server.port, token_id=server.token_id,
                                          token_secret=server.token_secret, ca_path=server.ca_path)
        return ProxmoxClient(settings)
    return connect


@pytest.fixture
def pbs_raw():
    """pbs_raw(server, method, path, headers=None, **params): (status, text, json or None) of a token-authenticated
    request (headers replace the token's)."""
    def call(server, method, where, /, headers=None, **params):
        if headers is None:
            headers = {'Authorization': 'PBSAPIToken={0}:{1}'.format(server.token_id, server.token_secret)}
        kwargs = {'params': params} if method in ('GET', 'DELETE') else {'data': params}
        answer = requests.request(method, server.url + '/api2/json' + where, headers=headers, verify=server.ca_path,
                                  timeout=30, **kwargs)
        try:
            body = answer.json()
        except ValueError:
            body = None
        return answer.status_code, answer.text, body
    return call


@pytest.fixture
def wait_task():
    """wait_task(server, upid): the task's status once it stopped (bounded by a count, not a clock)."""
    import time

    def wait(server, upid, attempts=1000):
        for _attempt in range(attempts):
            task = server.pbs.tasks[upid]
            if not task.running:
                return task.status()
            time.sleep(0.01)
        raise AssertionError('task {0} did not end'.format(upid))
    return wait
