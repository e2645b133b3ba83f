# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox tasks (UPIDs): parse them, wait for them within one time budget, explain their failures.

PVE:  UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{type}:{id}:{user}:
PBS:  UPID:{node}:{pid:08X}:{pstart:08X}:{task_id:08X}:{starttime:08X}:{type}:{id}:{auth_id}:
"""

from __future__ import annotations

import re
import time
from typing import List

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxConfigError,
    ProxmoxError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
)

_UPID_RE = re.compile(
    r'^UPID:(?P<node>[a-zA-Z0-9._-]+):(?P<pid>[0-9A-Fa-f]{8}):(?P<pstart>[0-9A-Fa-f]{8,9}):'
    r'(?:(?P<task_id>[0-9A-Fa-f]{8}):)?(?P<starttime>[0-9A-Fa-f]{8}):(?P<type>[^:\s]+):(?P<id>[^:\s]*):(?P<user>[^:\s]+):')

LOG_TAIL_LINES = 20


class Upid(object):
    """The parts of a task id."""

    def __init__(self, text):
        found = _UPID_RE.fullmatch(str(text or ''))
        if not found:
            raise ProxmoxConfigError('not a Proxmox task id (UPID): {0!r}'.format(text))
        self.text = str(text)
        self.node = found.group('node')
        self.pid = int(found.group('pid'), 16)
        self.starttime = int(found.group('starttime'), 16)
        self.type = found.group('type')
        self.id = found.group('id')
        self.user = found.group('user')
        # PBS has a task counter PVE lacks; it also runs every task on the node it calls 'localhost'.
        self.is_pbs = found.group('task_id') is not None

    def describe(self):
        what = self.type + (' ' + self.id if self.id else '')
        return 'task {0} on node {1} ({2})'.format(what, self.node, self.text)

    def __str__(self):
        return self.text


def is_upid(value):
    return isinstance(value, str) and bool(_UPID_RE.fullmatch(value))


class Deadline(object):
    """One timeout budget shared by every wait of a module run."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = float(seconds)
        self._clock = clock
        self.end = clock() + self.seconds

    def remaining(self):
        return max(0.0, self.end - self._clock())

    def expired(self):
        return self.remaining() <= 0


class AdaptivePoll(object):
    """Poll intervals that start fast (most tasks end in well under a second) and back off to a cap."""

    def __init__(self, first=0.1, cap=2.0, factor=1.5):
        self.first = first
        self.cap = cap
        self.factor = factor

    def intervals(self):
        interval = self.first
        while True:
            yield interval
            interval = min(self.cap, interval * self.factor)


_UNREAD = object()


def poll_until(read, done, deadline, timed_out, poll=None, sleep=None, first=_UNREAD):
    """The one wait loop of the collection: read() until done(value) holds, and return that value.

    Between reads it sleeps the poll's next interval (AdaptivePoll() by default), never past `deadline` (a Deadline:
    usually the run's one budget). When a value is not done and the deadline has passed, it raises timed_out(value),
    the exception to raise, built from the last value read. done() may raise itself, to end the wait on a failure.
    first: a value already read, judged before the first read (which then comes after the first interval).
    sleep: time.sleep unless given (tests pass a fake clock's).
    """
    sleep = sleep or time.sleep
    value = first
    for interval in (poll or AdaptivePoll()).intervals():
        if value is _UNREAD:
            value = read()
        if done(value):
            return value
        remaining = deadline.remaining()
        if remaining <= 0:
            raise timed_out(value)
        sleep(min(interval, remaining))
        value = _UNREAD
    raise AssertionError('unreachable')  # pragma: no cover - intervals() never ends


def task_ok(exitstatus):
    """PVE and PBS: 'OK' and 'WARNINGS: n' are success; any other exit status is the error text."""
    text = str(exitstatus or '')
    return text == 'OK' or text.startswith('WARNINGS')


class TaskResult(object):
    def __init__(self, upid, status):
        self.upid = upid
        self.status = status
        self.exitstatus = status.get('exitstatus')

    def as_dict(self):
        return {'upid': self.upid.text, 'node': self.upid.node, 'type': self.upid.type, 'id': self.upid.id,
                'exitstatus': self.exitstatus}


def _status_node(upid):
    return 'localhost' if upid.is_pbs else upid.node


def task_log_tail(client, upid, lines=LOG_TAIL_LINES, page=1000, max_pages=100):
    """The last lines of a task's log (best effort: an unreadable log gives no lines, never a second failure).

    The log API pages from the start and long logs (vzdump, migration) put the error at the end, so pages are
    read until a short one, keeping only the tail.
    """
    upid = upid if isinstance(upid, Upid) else Upid(upid)
    path = client.path('nodes', _status_node(upid), 'tasks', upid.text, 'log')
    tail: List[str] = []
    last = 0
    try:
        for number in range(max_pages):
            entries = [e for e in client.get(path, start=number * page, limit=page) or [] if isinstance(e, dict)]
            # PBS's `start` is inclusive of the line numbered `start`, PVE's is an offset: skip lines already read.
            fresh = [e for e in entries if not isinstance(e.get('n'), int) or e['n'] > last]
            if fresh and isinstance(fresh[-1].get('n'), int):
                last = fresh[-1]['n']
            tail = (tail + [str(entry.get('t', '')) for entry in fresh])[-lines:]
            if len(entries) < page:
                break
    except ProxmoxError:
        pass
    return tail


def wait_for_task(client, upid, deadline, poll=None, sleep=time.sleep):
    """Wait until the task stops; TaskResult on success, ProxmoxTaskError (with the log tail) on failure.

    `deadline` is a Deadline (shared by every wait of the run) or a number of seconds.
    """
    upid = upid if isinstance(upid, Upid) else Upid(upid)
    if not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    path = client.path('nodes', _status_node(upid), 'tasks', upid.text, 'status')

    def timed_out(_status):
        return ProxmoxTaskTimeout(
            '{0} is still running after the {1:g} s timeout; it goes on in the background'.format(
                upid.describe(), deadline.seconds),
            upid=upid.text, node=upid.node, log_tail=task_log_tail(client, upid), url=client.settings.url)

    status = poll_until(lambda: client.get(path) or {}, lambda status: status.get('status') == 'stopped', deadline,
                        timed_out, poll=poll, sleep=sleep)
    result = TaskResult(upid, status)
    if task_ok(result.exitstatus):
        return result
    tail = task_log_tail(client, upid)
    raise ProxmoxTaskError(
        '{0} failed: {1}'.format(upid.describe(), result.exitstatus or 'unknown error'),
        upid=upid.text, exitstatus=result.exitstatus, log_tail=tail, node=upid.node,
        url=client.settings.url)
