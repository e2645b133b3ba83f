# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""export.Exporter's parallel reads (pve_apply's `concurrency`): the same export, warnings and errors whatever the
number of reads at once and whichever read finishes first; never more reads at once than asked; and, for a
declaration naming parts of a guest's firewall, only those parts read."""

from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import Exporter

NODES = ('pve1', 'pve2', 'pve3')


def guests(count=24):
    return [{'vmid': 100 + i, 'node': NODES[i % 3], 'type': 'qemu' if i % 2 else 'lxc', 'name': 'g{0}'.format(i)}
            for i in range(count)]


class FakeClient(object):
    """Answers from a table, each after a random short delay (so reads finish out of order)."""

    settings = SimpleNamespace(url='https://pve.example:8006')
    path = staticmethod(ProxmoxClient.path)

    def __init__(self, entries, fail=None, seed=0, barrier=None):
        self.entries = entries
        self.fail = fail or {}
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.paths = []
        self.barrier = barrier

    def version(self):
        return {'version': '9.0.10', 'release': '9.0'}

    def answer(self, path):
        if path == '/cluster/resources':
            return self.entries
        if path in self.fail:
            raise self.fail[path]
        if path.endswith('/pending'):
            vmid = int(path.split('/')[-2])
            return [{'key': 'name', 'value': 'g{0}'.format(vmid - 100)}, {'key': 'cores', 'value': vmid % 4 + 1},
                    {'key': 'memory', 'value': 512}]
        if path.endswith('/firewall/rules'):
            return [{'pos': 0, 'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '22', 'enable': 1,
                     'comment': path}]
        if path.endswith('/firewall/options'):
            return {'enable': 1}
        if path.endswith('/firewall/aliases'):
            return [{'name': 'a1', 'cidr': '192.0.2.1'}]
        if path.endswith('/firewall/ipset'):
            return [{'name': 's1'}]
        if '/firewall/ipset/' in path:
            return [{'cidr': '192.0.2.0/24'}]
        if path == '/nodes':
            return [{'node': node} for node in NODES]
        if path == '/cluster/firewall/groups':
            return [{'group': 'web'}, {'group': 'db'}]
        return []

    def get(self, path, **_params):
        with self.lock:
            self.paths.append(path)
            self.active += 1
            self.most = max(self.most, self.active)
            delay = self.random.random() / 500
        try:
            if self.barrier is not None and path.endswith('/pending'):
                self.barrier.wait()
            time.sleep(delay)
            return self.answer(path)
        finally:
            with self.lock:
                self.active -= 1


def export(client, concurrency, areas=('firewall', 'guests'), firewall_guests=None):
    warnings = []
    exporter = Exporter(client, warn=warnings.append, concurrency=concurrency)
    exporter.running_vnets = lambda: []
    exporter.firewall_guests = firewall_guests
    return exporter.export(list(areas)), warnings, exporter


@pytest.mark.parametrize('concurrency', [2, 4, 8])
def test_parallel_reads_give_the_sequential_export(concurrency):
    seq_client = FakeClient(guests())
    sequential, seq_warnings, seq = export(seq_client, 1)
    client = FakeClient(guests(), seed=concurrency)
    parallel, par_warnings, par = export(client, concurrency)
    assert parallel == sequential
    assert par_warnings == seq_warnings
    assert par.reads == seq.reads
    assert sorted(client.paths) == sorted(seq_client.paths)
    # Never more reads at once than asked.
    assert 1 <= client.most <= concurrency


def test_reads_run_at_once():
    # Two guest reads must be in flight together to pass the barrier: sequential reads would break it.
    barrier = threading.Barrier(2, timeout=10)
    client = FakeClient(guests(2), barrier=barrier)
    result, _w, _e = export(client, 2, areas=('guests',))
    assert [item['vmid'] for item in result['pve_lxc'] + result['pve_vm']] == [100, 101]
    assert not barrier.broken


def test_the_first_failing_read_in_order_is_raised_whichever_finishes_first():
    first = ProxmoxError('first', status_code=500, path='/nodes/pve2/qemu/105/pending')
    later = ProxmoxError('later', status_code=500, path='/nodes/pve1/qemu/109/pending')
    for seed in range(5):
        client = FakeClient(guests(), fail={'/nodes/pve3/qemu/105/pending': first, '/nodes/pve1/qemu/109/pending': later},
                            seed=seed)
        with pytest.raises(ProxmoxError) as raised:
            export(client, 4, areas=('guests',))
        assert raised.value is first


def test_unreachable_nodes_are_reported_in_order():
    down = dict(('/nodes/pve2/{0}/{1}/pending'.format(g['type'], g['vmid']), ProxmoxError('no route', status_code=595))
                for g in guests() if g['node'] == 'pve2')
    messages = []
    for concurrency in (1, 4):
        client = FakeClient(guests(), fail=down, seed=concurrency)
        with pytest.raises(ProxmoxError) as raised:
            export(client, concurrency, areas=('guests',))
        messages.append(str(raised.value))
    assert messages[0] == messages[1]
    assert 'node pve2' in messages[0] and 'VM 101' in messages[0] and 'container 104' in messages[0]
    assert 'pve1' not in messages[0] and 'pve3' not in messages[0]


def test_only_the_declared_parts_of_a_guest_firewall_are_read():
    client = FakeClient(guests(6))
    result, _w, _e = export(client, 3, areas=('firewall',), firewall_guests={101: {'rules'}, 102: {'aliases', 'options'}})
    guest_paths = [p for p in client.paths if '/qemu/' in p or '/lxc/' in p]
    assert sorted(guest_paths) == sorted(['/nodes/pve2/qemu/101/firewall/rules', '/nodes/pve3/lxc/102/firewall/options',
                                          '/nodes/pve3/lxc/102/firewall/aliases'])
    rules = [item for item in result['pve_firewall_rule'] if item.get('vmid') is not None]
    assert [item['vmid'] for item in rules] == [101]
    assert [item['vmid'] for item in result['pve_firewall_alias'] if item.get('vmid') is not None] == [102]
    assert [item['vmid'] for item in result['pve_firewall_options'] if item.get('vmid') is not None] == [102]
    assert not [item for item in result['pve_firewall_ipset'] if item.get('vmid') is not None]
    # Read whole (pve_export), every guest's four parts are read.
    client = FakeClient(guests(6))
    export(client, 3, areas=('firewall',))
    assert len([p for p in client.paths if '/qemu/' in p or '/lxc/' in p]) == 6 * 5
