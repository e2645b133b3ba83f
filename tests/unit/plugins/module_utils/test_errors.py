# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/errors.py: what an error says, and when it means "not found"."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

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
    mentions,
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


# The context is said once: a message that already names the target, the server or the request is not prefixed
# with the same words again (issue 15: '... VM 100 (web) on node c0n1 is on node c0n1, not nonode').
@pytest.mark.parametrize('message, kwargs, target, text', [
    ('VM 100 (web) is on node c0n1, not nonode: move it with proxfleet.proxmox.pve_migrate', dict(url=URL), 'VM 100',
     URL + ': VM 100 (web) is on node c0n1, not nonode: move it with proxfleet.proxmox.pve_migrate'),
    ('VM 100 (web) on node pve1 is a template', dict(url=URL), 'VM 100', URL + ': VM 100 (web) on node pve1 is a template'),
    # A longer vmid is another guest: the target stays.
    ('VM 1000 is locked', dict(url=URL), 'VM 100', 'VM 100 on ' + URL + ': VM 1000 is locked'),
    ("storage 'nfs1' does not exist", dict(url=URL, method='GET', path='/storage/nfs1', status_code=500), "storage 'nfs1'",
     URL + ": GET /storage/nfs1: 500 storage 'nfs1' does not exist"),
    # Another error's whole description inside the message: its server and request are not said twice.
    ('cannot join through member pve9: ' + URL + ': GET /cluster/status: 401 authentication failure',
     dict(url=URL, method='GET', path='/cluster/status'), 'node pve1',
     'node pve1: cannot join through member pve9: ' + URL + ': GET /cluster/status: 401 authentication failure'),
    ('boom', dict(url=URL), 'member ' + URL, 'member ' + URL + ': boom'),
])
def test_describe_says_each_part_once(message, kwargs, target, text):
    assert ProxmoxError(message, **kwargs).describe(target) == text


def count(text, words):
    return len(re.findall(r'(?<![\w.-])' + re.escape(words) + r'(?![\w-])', text))


NAMES = st.sampled_from(['VM 100', 'VM 1000', 'CT 101', "storage 'local'", 'node pve1', "pool 'ci'", 'cluster'])
WORDS = st.sampled_from(['is locked', 'does not exist', 'is on node pve2', 'not found', 'failed', ':'])


@hsettings(max_examples=200, deadline=None)
@given(target=st.one_of(st.none(), NAMES), said=st.lists(st.one_of(NAMES, WORDS), max_size=5),
       with_url=st.booleans(), url_in_text=st.booleans(), request_in_text=st.booleans(),
       status=st.sampled_from([None, 400, 500]))
def test_no_segment_of_the_context_is_repeated(target, said, with_url, url_in_text, request_in_text, status):
    """Whatever a message says, the target, the URL and the request appear in the line as often as the message
    says them, or once when it does not: never twice because the context was added again."""
    words = list(said)
    if url_in_text:
        words.append(URL)
    if request_in_text:
        words.append('PUT /pools/ci')
    message = ' '.join(words) or 'boom'
    error = ProxmoxError(message, status_code=status, url=URL if with_url else None, method='PUT', path='/pools/ci')
    line = error.describe(target)
    for segment in filter(None, (target, URL if with_url else None, 'PUT /pools/ci')):
        assert count(line, segment) == max(1, count(message, segment)), (segment, line)
    # And the message itself is there, whole.
    assert message in line


def test_mentions_whole_words_only():
    assert mentions('VM 100 (web) is a template', 'VM 100')
    assert not mentions('VM 1000 is a template', 'VM 100')
    assert not mentions('CT 100 is a template', 'VM 100')
    assert mentions('seen on https://pve:8006: boom', 'https://pve:8006')
    assert not mentions('anything', '')


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
