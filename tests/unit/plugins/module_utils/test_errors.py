# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/errors.py: what an error says, and when it means "not found"."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxAuthError,
    ProxmoxConfigError,
    ProxmoxConnectionError,
    ProxmoxError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
    ProxmoxTLSError,
    is_not_found,
)

URL = 'https://pve1.lab:8006'


@pytest.mark.parametrize('kwargs, target, text', [
    (dict(), None, 'boom'),
    (dict(status_code=500), None, '500 boom'),
    (dict(url=URL), None, URL + ': boom'),
    (dict(url=URL), 'vm 100', 'vm 100 on ' + URL + ': boom'),
    (dict(), 'vm 100', 'vm 100: boom'),
    (dict(url=URL, method='GET', path='/nodes'), None, URL + ': GET /nodes: boom'),
    (dict(method='GET'), None, 'boom'),
    (dict(url=URL, method='PUT', path='/pools/x', status_code=400, errors={'b': 'second\n', 'a': ' first '}), 'pool x',
     'pool x on ' + URL + ': PUT /pools/x: 400 boom (a: first; b: second)'),
])
def test_describe(kwargs, target, text):
    error = ProxmoxError('boom', **kwargs)
    assert error.describe(target) == text
    if target is None:
        assert str(error) == text


def test_multi_line_api_messages_stay_on_one_line():
    error = ProxmoxApiError("can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout\n"
                            "  error during cfs-locked 'storage-local' operation\n", status_code=500, url=URL)
    assert str(error) == (URL + ": 500 can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout; "
                          "error during cfs-locked 'storage-local' operation")
    assert '\n' not in error.describe('storage local')


def test_attributes_and_defaults():
    error = ProxmoxApiError('nope', status_code=403, url=URL, method='POST', path='/pools')
    assert (error.message, error.status_code, error.errors, error.url, error.method, error.path) == (
        'nope', 403, {}, URL, 'POST', '/pools')
    assert error.args == ('nope',)
    task = ProxmoxTaskTimeout('still running', upid='UPID:x', node='pve1', url=URL)
    assert isinstance(task, ProxmoxTaskError) and isinstance(task, ProxmoxError)
    assert (task.upid, task.exitstatus, task.log_tail, task.node, task.url) == ('UPID:x', None, [], 'pve1', URL)


@pytest.mark.parametrize('cls', [ProxmoxApiError, ProxmoxAuthError, ProxmoxConfigError, ProxmoxConnectionError, ProxmoxTLSError,
                                 ProxmoxTaskError, ProxmoxTaskTimeout])
def test_one_family(cls):
    assert issubclass(cls, ProxmoxError) and issubclass(cls, Exception)


@pytest.mark.parametrize('error, missing', [
    (ProxmoxApiError('whatever', status_code=404), True),
    (ProxmoxApiError("Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist", status_code=500), True),
    (ProxmoxApiError("no such user ('ci@pve')", status_code=500), True),
    (ProxmoxApiError("datastore 'store9' not found", status_code=400), True),
    (ProxmoxApiError('VM 100 not running', status_code=500), False),
    (ProxmoxApiError("Permission check failed (pool 'x' does not exist)", status_code=403), False),
    (ProxmoxApiError('does not exist', status_code=None), False),
    (ProxmoxApiError(None, status_code=500), False),
    (ProxmoxConnectionError('no such host', url=URL), False),
    (ProxmoxError('not found', status_code=404), False),
    (ValueError('not found'), False),
])
def test_is_not_found(error, missing):
    assert is_not_found(error) is missing
