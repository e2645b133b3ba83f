# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/snapshots.py: snapshot names, their order and retention plans (parametrize + hypothesis);
waiting for a lock (guest_lifecycle.ensure_unlocked) is in test_guest_lifecycle.py. The API calls run against the
lab in tests/integration/test_pve_snapshot.py."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.snapshots import (
    check_snapname,
    oldest_first,
    retention_plan,
    snapshot_view,
)


def chain(*names, snaptime=1000):
    """Snapshots taken one after the other in the same second: each one's parent is the one before."""
    out = []
    for index, name in enumerate(names):
        item = {'name': name, 'snaptime': snaptime, 'description': ''}
        if index:
            item['parent'] = names[index - 1]
        out.append(item)
    return out


@pytest.mark.parametrize('name', ['before-upgrade', 'a1', 'nightly_2026', 'X' + 'y' * 39])
def test_valid_names(name):
    assert check_snapname(name, 'qemu') == name


@pytest.mark.parametrize('name, kind, words', [
    ('', 'qemu', 'not valid'),
    ('a', 'qemu', 'not valid'),
    ('1abc', 'qemu', 'not valid'),
    ('with space', 'lxc', 'not valid'),
    ('dot.name', 'lxc', 'not valid'),
    ('a' * 41, 'qemu', 'not valid'),
    ('current', 'qemu', 'reserved'),
    ('current', 'lxc', 'reserved'),
    ('pending', 'qemu', 'reserved'),
    ('Pending', 'qemu', 'reserved'),
    ('vzdump', 'lxc', 'reserved'),
])
def test_refused_names(name, kind, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        check_snapname(name, kind)


def test_vzdump_is_a_name_for_vms_and_pending_for_containers():
    assert check_snapname('vzdump', 'qemu') == 'vzdump'
    assert check_snapname('pending', 'lxc') == 'pending'


def test_order_by_time_then_parent_chain_then_name():
    items = chain('zz-first', 'mm-second', 'aa-third')
    items.append({'name': 'older', 'snaptime': 10})
    assert [item['name'] for item in oldest_first(list(reversed(items)))] == ['older', 'zz-first', 'mm-second',
                                                                              'aa-third']


def test_order_survives_a_parent_loop():
    items = [{'name': 'a', 'parent': 'b', 'snaptime': 1}, {'name': 'b', 'parent': 'a', 'snaptime': 1}]
    assert sorted(item['name'] for item in oldest_first(items)) == ['a', 'b']


@pytest.mark.parametrize('keep, planned, removed', [
    (2, None, ['nightly-1', 'nightly-2']),
    (2, 'nightly-5', ['nightly-1', 'nightly-2', 'nightly-3']),
    (5, 'nightly-5', []),
    (0, None, ['nightly-1', 'nightly-2', 'nightly-3', 'nightly-4']),
    (0, 'nightly-5', ['nightly-1', 'nightly-2', 'nightly-3', 'nightly-4']),
    # A planned snapshot that already exists counts once.
    (1, 'nightly-4', ['nightly-1', 'nightly-2', 'nightly-3']),
])
def test_retention(keep, planned, removed):
    items = chain('nightly-1', 'nightly-2', 'keep-me', 'nightly-3', 'nightly-4')
    assert retention_plan(items, 'nightly-', keep, planned) == removed


def test_retention_skips_incomplete_snapshots_and_other_prefixes():
    items = chain('auto-1', 'auto-2', 'autograph', 'manual')
    items[1]['snapstate'] = 'delete'
    assert retention_plan(items, 'auto-', 0) == ['auto-1']


def test_negative_retention_is_refused():
    with pytest.raises(ProxmoxConfigError):
        retention_plan([], 'x-', -1)


@given(st.lists(st.sampled_from(['n-a', 'n-b', 'n-c', 'n-d', 'o-a', 'o-b']), unique=True),
       st.integers(min_value=0, max_value=6))
def test_retention_keeps_the_newest_of_the_prefix_and_nothing_else(names, keep):
    items = chain(*names)
    removed = retention_plan(items, 'n-', keep)
    mine = [name for name in names if name.startswith('n-')]
    assert all(name.startswith('n-') for name in removed)
    assert len(mine) - len(removed) == min(keep, len(mine))
    # What stays is always the newest of the prefix.
    assert removed == mine[:len(removed)]


def test_snapshot_view():
    view = snapshot_view({'name': 'a1', 'snaptime': '12', 'vmstate': 1, 'description': 'text\n', 'parent': 'p'})
    assert view == {'name': 'a1', 'snaptime': 12, 'vmstate': True, 'description': 'text', 'parent': 'p'}
