# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/vmid_alloc.py: candidates, windows, backoff, the taken-id words, and the claim loop.

A small in-memory cluster stands in for PVE's nextid and create requests (the lab runs the real thing end to end in
tests/integration/test_vmid_concurrency.py); many creators race on it in threads.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import vmid_alloc as va
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxError,
    ProxmoxTaskError,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline

UPID = 'UPID:pve1:00001234:00005678:65A1B2C3:qmcreate:{0}:root@pam:'


class Cluster(object):
    """PVE's side: nextid (lowest free id of the range, or a given id's check) and the create request that claims an
    id or fails with check_vmid_unused's words. Nothing is reserved, as on PVE."""

    def __init__(self, taken=(), lower=100, upper=1000 * 1000, options=None, privileges=None):
        self.taken = set(taken)
        self.lower, self.upper = lower, upper
        self.options = options if options is not None else {'next-id': {'lower': lower, 'upper': upper}}
        self.privileges = privileges if privileges is not None else {'/': {'Sys.Audit': 1}}
        self.requests = []

    def get(self, path, /, **params):
        self.requests.append((path, params))
        if path == '/cluster/options':
            return self.options
        if path == '/access/permissions':
            return self.privileges
        assert path == '/cluster/nextid'
        if 'vmid' in params:
            if params['vmid'] in self.taken:
                raise ProxmoxApiError('Parameter verification failed.', status_code=400,
                                      errors={'vmid': 'VM {0} already exists'.format(params['vmid'])})
            return str(params['vmid'])
        for vmid in range(self.lower, self.upper):
            if vmid not in self.taken:
                return str(vmid)
        raise ProxmoxApiError('unable to get any free VMID in range [{0}, {1}]'.format(self.lower, self.upper),
                              status_code=500)

    def create(self, vmid):
        if vmid in self.taken:
            raise ProxmoxApiError("unable to create VM {0} - VM {0} already exists on node 'pve1'".format(vmid),
                                  status_code=500)
        assert self.lower <= vmid < self.upper, vmid
        self.taken.add(vmid)
        return UPID.format(vmid)


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.now += seconds


class Module(object):
    def __init__(self, client, seconds=600, clock=None):
        self.client = client
        self.clock = clock or Clock()
        self.deadline = Deadline(seconds, clock=self.clock)
        self.waited = []

    def wait_task(self, upid):
        self.waited.append(upid)


# ---------------------------------------------------------------- pure parts

@pytest.mark.parametrize('value, expected', [
    (None, (100, 1000000)),
    ('', (100, 1000000)),
    ({'lower': 200, 'upper': 300}, (200, 300)),
    ({'lower': '5000'}, (5000, 1000000)),
    ('lower=200,upper=300', (200, 300)),
    ('upper=900', (100, 900)),
])
def test_parse_range(value, expected):
    assert va.parse_range(value) == expected


@pytest.mark.parametrize('message, errors, log, taken', [
    ("unable to create VM 117 - VM 117 already exists on node 'pve2'", None, None, True),
    ("unable to create CT 117 - CT 117 already exists on node 'pve2'", None, None, True),
    ("CT 120 already exists on node 'pve1'", None, None, True),
    ("unable to restore VM 900 - VM 900 already exists on node 'pve1'", None, None, True),
    ('Parameter verification failed.', {'vmid': 'VM 117 already exists'}, None, True),
    ('unable to create VM 117: config file already exists', None, None, True),
    ('task failed', None, ["close (rename) atomic file '/etc/pve/nodes/pve2/qemu-server/117.conf' failed: File exists"],
     True),
    ("volume 'local-lvm:vm-150-disk-0' already exists", None, None, False),
    ("unable to create cloud-init disk: volume 'local:150/vm-150-cloudinit.qcow2' already exists", None, None, False),
    ('VM is locked (clone)', None, None, False),
    ('Parameter verification failed.', {'net0': 'invalid format'}, None, False),
])
def test_is_taken(message, errors, log, taken):
    error = ProxmoxTaskError(message, log_tail=log) if log else ProxmoxApiError(message, errors=errors)
    assert va.is_taken(error) is taken


def test_window_grows_then_caps_and_keeps_to_the_range():
    assert va.window(0, 100, 10 ** 6) == 1
    sizes = [va.window(losses, 100, 10 ** 6) for losses in range(1, 12)]
    assert sizes[0] == va.FIRST_WINDOW
    assert all(b == min(va.MAX_WINDOW, 2 * a) for a, b in zip(sizes, sizes[1:]))
    assert sizes[-1] == va.MAX_WINDOW
    assert va.window(5, 100, 7) == 7
    # An unknown range: nextid's answer only.
    assert va.window(5, 100, None) == 1


@given(base=st.integers(100, 10 ** 6), losses=st.integers(0, 200), span=st.one_of(st.none(), st.integers(1, 10 ** 5)),
       seed=st.integers(0, 2 ** 32))
def test_candidates_stay_in_the_range(base, losses, span, seed):
    candidate = va.pick(base, losses, span, random.Random(seed))
    if span is None or losses == 0:
        assert candidate == base
    else:
        assert base <= candidate < base + span
        assert candidate - base < va.MAX_WINDOW


@given(losses=st.integers(0, 500), seed=st.integers(0, 2 ** 32))
def test_backoff_is_jittered_and_capped(losses, seed):
    pause = va.backoff(losses, random.Random(seed))
    assert 0 <= pause <= min(va.BACKOFF_CAP, va.BACKOFF_BASE * 2 ** losses)


def test_read_range():
    assert va.read_range(Cluster(lower=2000, upper=3000)) == (2000, 3000)
    # No next-id in datacenter.cfg, seen by a user with Sys.Audit on /: PVE's defaults.
    assert va.read_range(Cluster(options={'keyboard': 'en-us'})) == (100, 1000000)
    # Without Sys.Audit, get_options leaves next-id out: the range is unknown.
    assert va.read_range(Cluster(options={'allowed-tags': []}, privileges={'/vms': {'VM.Audit': 1}})) is None


# ---------------------------------------------------------------- the claim loop

def test_a_given_vmid_is_created_once():
    cluster = Cluster()
    module = Module(cluster)
    assert va.create_guest(module, cluster.create, vmid=4242) == 4242
    assert module.waited == [UPID.format(4242)]
    assert not [r for r in cluster.requests if r[0] == '/cluster/nextid']


def test_a_lone_creator_gets_nextids_answer_with_no_extra_read():
    cluster = Cluster(taken=[100, 101, 103])
    module = Module(cluster)
    assert va.create_guest(module, cluster.create) == 102
    assert cluster.requests == [('/cluster/nextid', {})]


def test_lost_races_spread_the_candidates_within_the_range_without_a_fixed_count():
    cluster = Cluster(lower=500, upper=800)
    clock = Clock()
    module = Module(cluster, clock=clock)
    losses = []

    def create(vmid):
        # Another creator takes every id tried 40 times in a row: far more than a fixed small retry count.
        if len(losses) < 40:
            losses.append(vmid)
            cluster.taken.add(vmid)
        return cluster.create(vmid)

    vmid = va.Allocator(module.client, module.deadline, rng=random.Random(7), sleep=clock.sleep).run(create)[0]
    assert vmid not in losses and 500 <= vmid < 800
    assert losses[0] == 500
    assert all(500 <= lost < 800 for lost in losses)
    # Candidates other than nextid's answer were checked first.
    assert [r for r in cluster.requests if r[1].get('vmid')]
    # The range was read once.
    assert [r[0] for r in cluster.requests].count('/cluster/options') == 1
    assert clock.now > 0


def test_a_candidate_found_taken_by_the_check_is_not_created():
    cluster = Cluster(taken=[100])
    created = []

    def create(vmid):
        created.append(vmid)
        if len(created) == 1:
            cluster.taken.add(vmid)
        return cluster.create(vmid)

    rng = random.Random(1)
    module = Module(cluster)
    allocator = va.Allocator(module.client, module.deadline, rng=rng, sleep=module.clock.sleep)
    vmid = allocator.run(create)[0]
    assert created[-1] == vmid
    # Every id the allocator tried but did not create was found taken by the check.
    for tried in allocator.tried:
        assert tried in cluster.taken


def test_a_clone_task_that_lost_the_id_is_retried():
    cluster = Cluster()
    module = Module(cluster)
    outcome = {}

    def clone(vmid):
        # A VM clone starts its task before it checks the new id: the first one finds it taken by another clone.
        upid = UPID.format(vmid)
        outcome[upid] = 'OK' if outcome else 'unable to create VM {0}: config file already exists'.format(vmid)
        cluster.taken.add(vmid)
        return upid

    def wait(upid):
        module.waited.append(upid)
        if outcome[upid] != 'OK':
            raise ProxmoxTaskError('task failed: ' + outcome[upid], exitstatus=outcome[upid],
                                   log_tail=[outcome[upid]])

    module.wait_task = wait
    vmid = va.create_guest(module, clone, rng=random.Random(3), sleep=module.clock.sleep)
    assert vmid != 100 and outcome[UPID.format(vmid)] == 'OK'
    assert module.waited == [UPID.format(100), UPID.format(vmid)]


def test_other_errors_pass_unchanged():
    cluster = Cluster()
    module = Module(cluster)

    def create(vmid):
        raise ProxmoxApiError("volume 'local-lvm:vm-100-disk-0' already exists", status_code=500)

    with pytest.raises(ProxmoxApiError, match='volume'):
        va.create_guest(module, create)
    nextids = [r for r in cluster.requests if r[0] == '/cluster/nextid']
    assert len(nextids) == 1


def test_a_full_range_fails_with_pves_words():
    cluster = Cluster(taken=range(100, 110), lower=100, upper=110)
    with pytest.raises(ProxmoxApiError, match=r'unable to get any free VMID in range \[100, 110\]'):
        va.create_guest(Module(cluster), cluster.create)


def test_the_timeout_budget_ends_the_attempts():
    cluster = Cluster()
    module = Module(cluster, seconds=5)

    def create(vmid):
        cluster.taken.add(vmid)
        return cluster.create(vmid)

    with pytest.raises(ProxmoxError, match='no free VMID could be claimed within the timeout') as raised:
        va.create_guest(module, create, rng=random.Random(5), sleep=module.clock.sleep)
    assert 'already exists' in str(raised.value)
    assert module.clock.now <= 5


# ---------------------------------------------------------------- many creators at once

def race(cluster, creators, seed, unknown_range=False):
    """Run `creators` allocators (the real claim loop) in threads against one cluster, all starting at once, each
    request of each giving the others a chance to run between nextid and create; returns {creator: vmid}."""
    lock = threading.Lock()
    start = threading.Barrier(creators)
    results = {}
    if unknown_range:
        cluster.options, cluster.privileges = {}, {}

    class Shared(object):
        def get(self, path, /, **params):
            with lock:
                answer = cluster.get(path, **params)
            time.sleep(0.0002)
            return answer

    def create(vmid):
        time.sleep(0.0002)
        with lock:
            return cluster.create(vmid)

    def creator(index):
        start.wait()
        allocator = va.Allocator(Shared(), Deadline(120), rng=random.Random(seed * 1000 + index),
                                 sleep=lambda seconds: time.sleep(seconds / 100))
        results[index] = allocator.run(create)[0]

    threads = [threading.Thread(target=creator, args=(index,)) for index in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@settings(max_examples=10, deadline=None)
@given(creators=st.integers(2, 60), seed=st.integers(0, 10 ** 6), slack=st.integers(0, 200),
       unknown_range=st.booleans())
def test_many_creators_get_distinct_ids_within_the_range(creators, seed, slack, unknown_range):
    lower = 1000
    upper = lower + creators + slack
    cluster = Cluster(taken=[lower + 1, lower + 3], lower=lower, upper=upper + 2)
    results = race(cluster, creators, seed, unknown_range)
    assert len(results) == creators
    assert len(set(results.values())) == creators
    assert all(lower <= vmid < upper + 2 for vmid in results.values())
