# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/sdn.py: the pure parts of applying: what the apply task logged for each node, which
pending changes are someone else's, and the refusal naming them. The behaviour end to end is in
tests/integration/test_pve_sdn.py."""

from __future__ import annotations

import types

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.sdn import (
    SdnResource,
    SdnSession,
    describe_pending,
    node_reasons,
    pending_objects,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline


def test_node_reasons_keep_what_follows_each_node():
    log = ['pve1: reloading network config',
           'pve2: reloading network config',
           "command 'ifreload -a' failed: exit code 1",
           'pve3: reloading network config',
           'ssh: connect to host pve3 port 22: No route to host',
           "command 'pvesh set /nodes/pve3/network --regenerate-frr 0' failed: exit code 255",
           '',
           'TASK OK']
    assert node_reasons(log) == {
        'pve1': [],
        'pve2': ["command 'ifreload -a' failed: exit code 1"],
        'pve3': ['ssh: connect to host pve3 port 22: No route to host',
                 "command 'pvesh set /nodes/pve3/network --regenerate-frr 0' failed: exit code 255"]}


def test_node_reasons_ignore_lines_before_the_first_node():
    assert node_reasons(['cluster not ready - no quorum?', 'TASK ERROR: cluster not ready - no quorum?']) == {}


class Lists(object):
    """The `pending=1` lists of a cluster, by path (a refused path raises as the API would)."""

    def __init__(self, answers):
        self.answers = answers

    @staticmethod
    def path(*segments):
        return '/' + '/'.join(segments)

    def get(self, path, **params):
        assert params == {'pending': 1}
        answer = self.answers.get(path, [])
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_pending_objects_of_every_kind():
    client = Lists({
        '/cluster/sdn/zones': [{'zone': 'a', 'type': 'simple'}, {'zone': 'b', 'state': 'new', 'pending': {}}],
        '/cluster/sdn/vnets': [{'vnet': 'v1', 'zone': 'a'}, {'vnet': 'v2', 'state': 'deleted', 'pending': {}}],
        '/cluster/sdn/vnets/v1/subnets': [{'subnet': 'a-10.0.0.0-24', 'state': 'changed', 'pending': {'gateway': 'x'}}],
        '/cluster/sdn/controllers': ProxmoxError('403 Permission check failed'),
    })
    assert pending_objects(client) == [('subnet', 'a-10.0.0.0-24', 'changed'), ('vnet', 'v2', 'deleted'),
                                       ('zone', 'b', 'new')]
    assert describe_pending(pending_objects(client)) == (
        "subnet 'a-10.0.0.0-24' (changed), vnet 'v2' (deleted), zone 'b' (new)")


def resource(label, ident, **params):
    found = SdnResource.__new__(SdnResource)
    found.spec = types.SimpleNamespace(label=label)
    found.ident = ident
    found.module = types.SimpleNamespace(params=dict(params))
    return found


@pytest.mark.parametrize('pending, foreign', [
    ([], None),  # PVE says something is pending, the token sees nothing: not knowable as the run's own
    ([('zone', 'mine', 'changed')], []),
    ([('zone', 'mine', 'new'), ('vnet', 'mine', 'new')], [('vnet', 'mine', 'new')]),
    ([('zone', 'other', 'new')], [('zone', 'other', 'new')]),
])
def test_foreign_pending_is_everything_but_the_object_itself(pending, foreign):
    assert resource('sdn zone', 'mine').foreign_pending(pending) == foreign


def test_refusal_names_the_changes_and_the_option():
    with pytest.raises(ProxmoxConfigError) as caught:
        resource('sdn vnet', 'web').refuse_foreign([('zone', 'office', 'new')])
    text = str(caught.value)
    assert "other SDN changes are pending, made before this run and not by it: zone 'office' (new)" in text
    assert '`apply_foreign_pending: true`' in text
    with pytest.raises(ProxmoxConfigError, match='this token cannot see'):
        resource('sdn vnet', 'web').refuse_foreign(None)
    # Nothing foreign, or allowed: no refusal.
    resource('sdn vnet', 'web').refuse_foreign([])
    resource('sdn vnet', 'web', apply_foreign_pending=True).refuse_foreign([('zone', 'office', 'new')])


UPID = 'UPID:pve1:00001A2B:0003C4D5:6756A1B0:reloadnetworkall::root@pam:'


class Cluster(object):
    """The reads wait_nodes makes after an apply: the task's log, the nodes, each node's zones and zone content."""

    def __init__(self, log, zones, content=None):
        self.log = log
        self.zones = zones
        self.content = content or {}

    @staticmethod
    def path(*segments):
        return '/' + '/'.join(str(s) for s in segments)

    def get(self, path, **params):
        parts = path.strip('/').split('/')
        if path == '/nodes':
            return [{'node': name} for name in sorted(self.zones)]
        if parts[-1] == 'log':
            return [{'n': n + 1, 't': line} for n, line in enumerate(self.log)][params['start']:][:params['limit']]
        if parts[-1] == 'content':
            return self.content.get(parts[1], [])
        answer = self.zones[parts[1]]
        if isinstance(answer, Exception):
            raise answer
        return answer.pop(0) if len(answer) > 1 else answer[0]


def session(client, seconds=30):
    module = types.SimpleNamespace(client=client, deadline=Deadline(seconds), params={})
    return SdnSession(module, sleep=lambda seconds: None)


def test_wait_nodes_until_every_node_has_the_zone_available():
    client = Cluster(['pve1: reloading network config', 'pve2: reloading network config', 'TASK OK'], {
        'pve1': [[{'zone': 'z1', 'status': 'available'}]],
        # Behind at first, then up to date.
        'pve2': [[{'zone': 'z1', 'status': 'pending'}], [{'zone': 'z1', 'status': 'available'}]],
    })
    assert session(client).wait_nodes(UPID, 'z1') == {'pve1': 'available', 'pve2': 'available'}


def test_wait_nodes_names_each_failed_node_with_its_reason():
    client = Cluster(['pve1: reloading network config', 'pve2: reloading network config',
                      'pve3: reloading network config', 'pve4: reloading network config',
                      "command 'pvesh set /nodes/pve4/network --regenerate-frr 0' failed: exit code 255", 'TASK OK'], {
        'pve1': [[{'zone': 'z1', 'status': 'available'}]],
        'pve2': [[{'zone': 'z1', 'status': 'error'}]],
        'pve3': ProxmoxError('No route to host'),
        'pve4': [[{'zone': 'z1', 'status': 'pending'}]],
    }, content={'pve2': [{'vnet': 'v1', 'status': 'error', 'statusmsg': 'error v1'}]})
    with pytest.raises(ProxmoxError) as caught:
        session(client).wait_nodes(UPID, 'z1')
    text = str(caught.value.message)
    assert caught.value.errors == {
        'pve2': "zone 'z1' is in error: vnet v1: error v1",
        'pve3': 'its SDN status cannot be read: No route to host',
        'pve4': "command 'pvesh set /nodes/pve4/network --regenerate-frr 0' failed: exit code 255"}
    assert 'not reloaded on every node' in text and '(reloaded on pve1)' in text


def test_wait_nodes_gives_up_on_a_pending_node_when_the_timeout_runs_out():
    client = Cluster(['pve1: reloading network config', 'TASK OK'], {'pve1': [[{'zone': 'z1', 'status': 'pending'}]]},
                     content={'pve1': [{'vnet': 'v1', 'status': 'pending',
                                        'statusmsg': 'local sdn network configuration is too old, please reload'}]})
    with pytest.raises(ProxmoxError) as caught:
        session(client, seconds=0).wait_nodes(UPID, 'z1')
    assert caught.value.errors == {'pve1': 'still pending after the 0 s timeout: vnet v1: local sdn network '
                                           'configuration is too old, please reload'}
