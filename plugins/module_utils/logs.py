# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Logs of a node or guest over a time range: time parsing, the task list, task logs and the system log, bounded.

PVE's API has three log readers and they take time differently:
  GET /nodes/{node}/tasks          since/until as UNIX epochs (compared with a task's start time)
  GET /nodes/{node}/tasks/{upid}/log   pages of {n, t} by start/limit
  GET /nodes/{node}/syslog         since/until as 'YYYY-MM-DD HH:MM:SS' in the node's local time (journalctl
                                   --since/--until), pages of {n, t} by start/limit; an empty range answers one
                                   line 'no content'
The node's local time offset comes from GET /nodes/{node}/time (localtime - time).
"""

from __future__ import annotations

import datetime
import re
from typing import List

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

PAGE = 500
DEFAULT_SINCE = '-1d'

_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
_RELATIVE_RE = re.compile(r'^-\s*((?:\d+\s*[smhdw]\s*)+)$')
_RELATIVE_PART_RE = re.compile(r'(\d+)\s*([smhdw])')
_ABSOLUTE_RE = re.compile(
    r'^(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?'
    r'(?P<zone>Z|[+-]\d{2}:?\d{2})?$')


class TimeRangeError(ProxmoxConfigError):
    """A since/until value that is not a time, or a range that ends before it starts."""


def parse_time(value, now, name='since'):
    """A point in time as UNIX epoch seconds (int).

    Takes epoch seconds (int or digits), 'now', a time before now ('-90s', '-30m', '-2h', '-1d', '-1w', '-1d12h'),
    or a date and time, 'YYYY-MM-DD[ HH:MM[:SS]]' or ISO 8601 ('T' between, an optional 'Z' or +HH:MM offset);
    without an offset the time is UTC.
    """
    if isinstance(value, bool):
        raise TimeRangeError('{0}: {1!r} is not a time'.format(name, value))
    if isinstance(value, (int, float)):
        return _epoch(int(value), name, value)
    text = str(value).strip()
    if text.isdigit():
        return _epoch(int(text), name, value)
    if text.lower() == 'now':
        return int(now)
    relative = _RELATIVE_RE.match(text.lower())
    if relative:
        seconds = sum(int(n) * _UNITS[u] for n, u in _RELATIVE_PART_RE.findall(relative.group(1)))
        return int(now) - seconds
    found = _ABSOLUTE_RE.match(text)
    if not found:
        raise TimeRangeError(
            "{0}: {1!r} is not a time: give UNIX epoch seconds, 'now', a time before now such as '-2h' or '-1d', "
            "or a date and time as 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an offset".format(name, value))
    try:
        moment = datetime.datetime.strptime(found.group('date'), '%Y-%m-%d').replace(
            hour=int(found.group('hour') or 0), minute=int(found.group('minute') or 0),
            second=int(found.group('second') or 0))
    except ValueError as exc:
        raise TimeRangeError('{0}: {1!r} is not a valid date and time ({2})'.format(name, value, exc)) from None
    offset = 0
    zone = found.group('zone')
    if zone and zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * (1 if zone[0] == '+' else -1)
    return _epoch(int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()) - offset, name, value)


def _epoch(seconds, name, value):
    if seconds < 0:
        raise TimeRangeError('{0}: {1!r} is before 1970'.format(name, value))
    return seconds


def time_range(since, until, now):
    """(since, until) as epoch seconds; since defaults to a day before now, until to now."""
    start = parse_time(DEFAULT_SINCE if since is None else since, now, 'since')
    end = parse_time('now' if until is None else until, now, 'until')
    if start > end:
        raise TimeRangeError('the time range ends before it starts: since {0} is after until {1}'.format(
            iso(start), iso(end)))
    return start, end


def iso(epoch):
    """Epoch seconds as ISO 8601 UTC: 2026-11-22T06:00:00Z."""
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def syslog_time(epoch, offset):
    """Epoch seconds as the node's syslog API takes them: its local time, 'YYYY-MM-DD HH:MM:SS'."""
    moment = datetime.datetime.fromtimestamp(int(epoch) + int(offset), datetime.timezone.utc)
    return moment.strftime('%Y-%m-%d %H:%M:%S')


# ---------------------------------------------------------------------------------------------- API reads


def node_time_offset(client, node):
    """Seconds the node's local time is ahead of UTC (GET /nodes/{node}/time: localtime - time)."""
    data = client.get(client.path('nodes', node, 'time')) or {}
    try:
        return int(data.get('localtime', 0)) - int(data.get('time', 0)) if data.get('localtime') else 0
    except (TypeError, ValueError):
        return 0


def read_paged(client, path, max_lines, page=PAGE, **params):
    """Lines of a paged {n, t} log (task log, syslog) from its start: (texts, truncated).

    Reads pages until a short one or until max_lines are read; one line more is asked for to tell a log of exactly
    max_lines from a longer one. `limit` is never 0 (the syslog reads 0 as its default of 50).
    """
    texts: List[str] = []
    start = 0
    while True:
        want = min(page, max_lines + 1 - len(texts))
        entries = [e for e in client.get(path, start=start, limit=want, **params) or [] if isinstance(e, dict)]
        texts.extend(str(e.get('t', '')) for e in entries)
        start += len(entries)
        if len(texts) > max_lines:
            return texts[:max_lines], True
        if len(entries) < want or not entries:
            return texts, False


def read_syslog(client, node, since, until, max_lines, service=None, offset=None):
    """The system log of a node between two epochs: (lines, truncated), oldest first."""
    if offset is None:
        offset = node_time_offset(client, node)
    lines, truncated = read_paged(client, client.path('nodes', node, 'syslog'), max_lines,
                                  since=syslog_time(since, offset), until=syslog_time(until, offset), service=service)
    # PVE answers an empty range with one line, for its web UI's sake.
    if lines == ['no content']:
        lines = []
    return lines, truncated


def list_tasks(client, node, since, until, max_tasks, vmid=None, task_type=None, errors_only=False):
    """Tasks of a node started in the range, finished and running (source=all): (tasks newest first, truncated)."""
    tasks = client.get(client.path('nodes', node, 'tasks'), since=since, until=until, vmid=vmid, typefilter=task_type,
                       errors=True if errors_only else None, source='all', limit=max_tasks + 1) or []
    tasks = [t for t in tasks if isinstance(t, dict) and t.get('upid')]
    return tasks[:max_tasks], len(tasks) > max_tasks


def read_task_log(client, node, upid, max_lines):
    """A task's log from its first line: (lines, truncated)."""
    return read_paged(client, client.path('nodes', node, 'tasks', upid, 'log'), max_lines)
