# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's own tests: they need fakepve, proxmoxer and cryptography, and skip without them."""

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

try:
    import cryptography  # noqa: F401 pylint: disable=unused-import
    import fakepve  # noqa: F401 pylint: disable=unused-import
    import proxmoxer
except ImportError:
    collect_ignore_glob = ['test_*.py']
    proxmoxer = None


def pytest_configure(config):
    if proxmoxer is None:
        return
    from tests.lab import pytest_plugin
    if not config.pluginmanager.has_plugin('tests.lab.pytest_plugin'):
        # pytest_configure is a historic hook: the plugin gets it on registration.
        config.pluginmanager.register(pytest_plugin, 'tests.lab.pytest_plugin')


@pytest.fixture
def api():
    """api(cluster, auth='token' | 'ticket', user=None, password=None, token=None): a proxmoxer client
    that verifies TLS against the lab CA. token is (full token id, secret)."""
    def connect(cluster, auth='token', user=None, password=None, token=None):
        options = dict(port=cluster.port, verify_ssl=cluster.ca_path, timeout=30)
        if auth == 'ticket':
            return proxmoxer.ProxmoxAPI(cluster.host, user=user or cluster.user,
                                        password=password or cluster.password, **options)
        token_id, secret = token or (cluster.token_id, cluster.token_secret)
        userid, _sep, name = token_id.partition('!')
        return proxmoxer.ProxmoxAPI(cluster.host, user=userid, token_name=name, token_value=secret, **options)
    return connect


def wait_for(predicate, what, attempts=2000):
    """Poll predicate until it holds (bounded by a count, not a clock); returns its value."""
    import time
    for _attempt in range(attempts):
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError('gave up waiting for ' + what)


@pytest.fixture
def until():
    """until(predicate, what): wait for a condition of the lab (a task ends, a lock appears)."""
    return wait_for


@pytest.fixture
def raw():
    """raw(cluster, method, path, **params): (status, body) of a token-authenticated request, the body's
    message whole (a client only sees its first line as the HTTP reason)."""
    import requests

    def call(cluster, method, path, token=None, **params):
        token_id, secret = token or (cluster.token_id, cluster.token_secret)
        answer = requests.request(method, cluster.url + '/api2/json' + path, data=params or None,
                                  headers={'Authorization': 'PVEAPIToken={0}={1}'.format(token_id, secret)},
                                  verify=cluster.ca_path, timeout=30)
        return answer.status_code, answer.json()
    return call
