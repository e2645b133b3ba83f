# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import membership
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


@pytest.mark.parametrize('current, desired, exact, add, remove, keep, final', [
    (['a', 'b'], ['b', 'c'], False, ['c'], [], ['a', 'b'], ['a', 'b', 'c']),
    (['a', 'b'], ['b', 'c'], True, ['c'], ['a'], ['b'], ['b', 'c']),
    (['a', 'b'], ['a', 'b'], True, [], [], ['a', 'b'], ['a', 'b']),
    ([], [], True, [], [], [], []),
    (None, ['x'], False, ['x'], [], [], ['x']),
    (['a'], [], True, [], ['a'], [], []),
    (['a'], [], False, [], [], ['a'], ['a']),
])
def test_plan_additive_and_exact(current, desired, exact, add, remove, keep, final):
    plan = membership.plan(current, desired, exact=exact)
    assert (plan.add, plan.remove, plan.keep, plan.final) == (add, remove, keep, final)
    assert plan.changed == bool(add or remove)
    assert plan.diff() == {'before': list(current or []), 'after': final}


def test_plan_with_key_and_merge():
    current = [{'id': 1, 'v': 'a'}, {'id': 2, 'v': 'b'}, {'id': 3, 'v': 'c'}]
    desired = [{'id': 2, 'v': 'B'}, {'id': 3, 'v': None}, {'id': 4, 'v': 'd'}]

    def merge(old, want):
        return old if want['v'] is None else dict(old, v=want['v'])

    plan = membership.plan(current, desired, exact=True, key=lambda i: i['id'], merge=merge)
    assert plan.change == [({'id': 2, 'v': 'b'}, {'id': 2, 'v': 'B'})]
    assert plan.keep == [{'id': 3, 'v': 'c'}]
    assert plan.add == [{'id': 4, 'v': 'd'}]
    assert plan.remove == [{'id': 1, 'v': 'a'}]
    assert plan.final == [{'id': 2, 'v': 'B'}, {'id': 3, 'v': 'c'}, {'id': 4, 'v': 'd'}]
    assert plan.changed


def test_listed_twice_is_refused():
    with pytest.raises(ProxmoxConfigError, match="entry 'a' is listed twice"):
        membership.plan([], ['a', 'a'], label='entry')


@given(st.lists(st.sampled_from('abcdef'), unique=True), st.lists(st.sampled_from('abcdef'), unique=True), st.booleans())
def test_plan_properties(current, desired, exact):
    plan = membership.plan(current, desired, exact=exact)
    expected = set(desired) if exact else set(current) | set(desired)
    assert set(plan.final) == expected
    assert set(plan.add) == set(desired) - set(current)
    assert set(plan.remove) == (set(current) - set(desired) if exact else set())
    # Applying the plan and planning again changes nothing.
    assert not membership.plan(plan.final, desired, exact=exact).changed


def test_ipset_entries_plan_on_membership():
    from ansible_collections.proxfleet.proxmox.plugins.modules import pve_firewall_ipset

    current = [{'cidr': '10.0.0.0/24', 'comment': 'net'}, {'cidr': '10.0.0.5', 'nomatch': 1}, {'cidr': '10.0.1.1'}]
    wanted = [{'cidr': '10.0.0.7/24', 'comment': None, 'nomatch': True}, {'cidr': '10.0.0.5', 'comment': None, 'nomatch': None},
              {'cidr': '10.0.2.1/32', 'comment': 'new', 'nomatch': None}]
    ops, final = pve_firewall_ipset.plan_entries(current, wanted, True)
    assert ops == [('set', '10.0.0.0/24', 'net', True), ('add', '10.0.2.1', 'new', False), ('remove', '10.0.1.1')]
    assert final == [{'cidr': '10.0.0.0/24', 'comment': 'net', 'nomatch': 1}, {'cidr': '10.0.0.5', 'comment': None, 'nomatch': 1},
                     {'cidr': '10.0.2.1', 'comment': 'new', 'nomatch': None}]
    ops, _final = pve_firewall_ipset.plan_entries(current, wanted[1:2], False)
    assert ops == []
