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
    describe_pending,
    node_reasons,
    pending_objects,
)


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
