# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tasks.poll_until, the one wait loop: its contract on a FakeClock, the waits built on it (HA moves, HA power
states, cluster membership, guest locks), and a check that plugins/ has no other hand-written poll loop."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import cluster, guests
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError, ProxmoxTaskTimeout
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import AdaptivePoll, Deadline, poll_until
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import FakeClock

PLUGINS = Path(__file__).resolve().parents[4] / 'plugins'


class Timeout(Exception):
    pass


def reads(*values):
    """read(): the values in turn, then the last one forever; .count says how many reads were made."""
    it = itertools.chain(values, itertools.repeat(values[-1]))

    def read():
        read.count += 1
        return next(it)
    read.count = 0
    return read


# ---------------------------------------------------------------- the contract

def test_returns_the_first_value_that_is_done(clock):
    read = reads(1, 2, 3, 4)
    assert poll_until(read, lambda v: v >= 3, Deadline(60, clock=clock), Timeout, sleep=clock.sleep) == 3
    assert read.count == 3
    # AdaptivePoll() by default: fast first, backing off.
    assert clock.sleeps == pytest.approx([0.1, 0.15])


def test_done_at_once_never_sleeps(clock):
    assert poll_until(reads('x'), bool, Deadline(0, clock=clock), Timeout, sleep=clock.sleep) == 'x'
    assert clock.sleeps == []


def test_times_out_with_the_last_value_and_never_sleeps_past_the_deadline(clock):
    read = reads(*range(100))
    with pytest.raises(Timeout) as caught:
        poll_until(read, lambda v: False, Deadline(1.0, clock=clock), Timeout, poll=AdaptivePoll(first=0.4, cap=0.4),
                   sleep=clock.sleep)
    # Reads at 0, 0.4, 0.8 and 1.0 (the last sleep is cut to what is left); the last value read is the one reported.
    assert clock.sleeps == pytest.approx([0.4, 0.4, 0.2])
    assert read.count == 4 and caught.value.args == (3,)


def test_done_may_end_the_wait_with_its_own_failure(clock):
    def done(value):
        if value == 'error':
            raise ProxmoxError('went wrong')
        return value == 'ok'

    with pytest.raises(ProxmoxError, match='went wrong'):
        poll_until(reads('moving', 'error', 'ok'), done, Deadline(60, clock=clock), Timeout, sleep=clock.sleep)
    assert len(clock.sleeps) == 1


def test_a_value_already_read_is_judged_first(clock):
    read = reads('free')
    # Not done and no time: fails at once, without a read.
    with pytest.raises(Timeout):
        poll_until(read, lambda v: v == 'free', Deadline(0, clock=clock), Timeout, sleep=clock.sleep, first='locked')
    assert read.count == 0 and clock.sleeps == []
    # With time: the first read comes after the first interval.
    assert poll_until(read, lambda v: v == 'free', Deadline(10, clock=clock), Timeout, sleep=clock.sleep,
                      first='locked') == 'free'
    assert read.count == 1 and clock.sleeps == pytest.approx([0.1])


@given(st.lists(st.booleans(), min_size=1, max_size=30), st.floats(min_value=0, max_value=20))
@hsettings(deadline=None, max_examples=80)
def test_the_budget_is_kept(answers, seconds):
    clock = FakeClock()
    deadline = Deadline(seconds, clock=clock)
    try:
        value = poll_until(reads(*answers), bool, deadline, Timeout, sleep=clock.sleep)
        assert value is True
    except Timeout:
        assert deadline.expired()
    assert clock.now - 1000.0 <= seconds + 1e-9


# ---------------------------------------------------------------- the waits built on it

class Resources(object):
    """GET /cluster/resources from a script: one list per read, the last one repeated."""

    settings = SimpleNamespace(url='https://pve1.lab:8006')

    def __init__(self, *answers):
        self.answers = itertools.chain(answers, itertools.repeat(answers[-1]))
        self.reads = 0

    def get(self, path, **params):
        assert path == '/cluster/resources'
        self.reads += 1
        return next(self.answers)


def vm(node, hastate='started', **extra):
    return dict({'vmid': 100, 'type': 'qemu', 'name': 'web', 'node': node, 'hastate': hastate,
                 'status': 'running', 'id': 'qemu/100'}, **extra)


def test_ha_move_waits_for_the_target(clock):
    client = Resources([vm('n1', 'migrate')], [vm('n2', 'migrate')], [vm('n2')])
    assert guests.wait_for_ha_move(client, 100, 'n2', Deadline(60, clock=clock), sleep=clock.sleep)['node'] == 'n2'
    assert client.reads == 3


def test_ha_move_stops_on_the_error_state(clock):
    client = Resources([vm('n1', 'migrate')], [vm('n1', 'error')])
    with pytest.raises(ProxmoxError, match="into the error state while moving it to node 'n2'"):
        guests.wait_for_ha_move(client, 100, 'n2', Deadline(60, clock=clock), sleep=clock.sleep)


def test_ha_move_timeout_says_where_the_guest_is(clock):
    client = Resources([vm('n1', 'migrate')])
    with pytest.raises(ProxmoxTaskTimeout, match=r"within the 5 s timeout \(it is on 'n1', HA state migrate\)"):
        guests.wait_for_ha_move(client, 100, 'n2', Deadline(5, clock=clock), sleep=clock.sleep)
    assert sum(clock.sleeps) == pytest.approx(5)


def test_cluster_wait_for_reports_the_last_status(monkeypatch, clock):
    answers = iter([{'name': None, 'quorate': False, 'nodes': []},
                    {'name': 'c1', 'quorate': True, 'nodes': [{'name': 'n1', 'online': True}]}])
    last = {'name': 'c1', 'quorate': False, 'nodes': [{'name': 'n1', 'online': True}, {'name': 'n2', 'online': False}]}
    monkeypatch.setattr(cluster, 'read_status', lambda client: next(answers, last))
    monkeypatch.setattr('time.sleep', clock.sleep)
    module = SimpleNamespace(deadline=Deadline(60, clock=clock))
    client = SimpleNamespace(settings=SimpleNamespace(url='https://pve1.lab:8006'))
    assert cluster.wait_for(module, client, lambda s: s['quorate'], 'quorum')['name'] == 'c1'
    module.deadline = Deadline(3, clock=clock)
    with pytest.raises(ProxmoxError, match=r'quorum: still not the case after the 3 s timeout \(the cluster shows: c1, '
                                           r'quorate: False, online: n1\)'):
        cluster.wait_for(module, client, lambda s: s['quorate'] and len(s['nodes']) > 1, 'quorum')


# ---------------------------------------------------------------- one loop

def poll_loops(path):
    """Functions of a file that iterate over a poll's intervals() themselves: (line, function name)."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                    isinstance(node.iter.func, ast.Attribute) and node.iter.func.attr == 'intervals':
                found.append((node.lineno, function.name))
    return found


def test_every_wait_goes_through_poll_until():
    loops = dict((str(path.relative_to(PLUGINS)), poll_loops(path)) for path in sorted(PLUGINS.rglob('*.py')))
    loops = dict((name, found) for name, found in loops.items() if found)
    assert loops == {'module_utils/tasks.py': [(loops['module_utils/tasks.py'][0][0], 'poll_until')]}


def test_poll_loops_finds_a_hand_written_one(tmp_path):
    source = tmp_path / 'waits.py'
    source.write_text('def wait(poll):\n    for interval in poll.intervals():\n        pass\n', encoding='utf-8')
    assert poll_loops(source) == [(2, 'wait')]
