# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/logs.py: time values and ranges, the node-local syslog time, paged reads (parametrize +
hypothesis). The API reads themselves run against the lab in tests/integration/test_pve_logs.py."""

from __future__ import annotations

import calendar

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.logs import (
    TimeRangeError,
    iso,
    parse_time,
    read_paged,
    syslog_time,
    time_range,
)

NOW = calendar.timegm((2026, 11, 22, 6, 0, 0))


@pytest.mark.parametrize('value, expected', [
    (1795327200, 1795327200),
    ('1795327200', 1795327200),
    (' 0 ', 0),
    ('now', NOW),
    ('NOW', NOW),
    ('-90s', NOW - 90),
    ('-30m', NOW - 1800),
    ('-2h', NOW - 7200),
    ('-1d', NOW - 86400),
    ('-1w', NOW - 604800),
    ('-1d12h', NOW - 86400 - 43200),
    ('- 1h 30m', NOW - 5400),
    ('2026-11-22', calendar.timegm((2026, 11, 22, 0, 0, 0))),
    ('2026-11-22 05:30', calendar.timegm((2026, 11, 22, 5, 30, 0))),
    ('2026-11-22 05:30:15', calendar.timegm((2026, 11, 22, 5, 30, 15))),
    ('2026-11-22T05:30:15Z', calendar.timegm((2026, 11, 22, 5, 30, 15))),
    ('2026-11-22T05:30:15.250Z', calendar.timegm((2026, 11, 22, 5, 30, 15))),
    ('2026-11-22T06:30:15+01:00', calendar.timegm((2026, 11, 22, 5, 30, 15))),
    ('2026-11-22T00:30:15-0500', calendar.timegm((2026, 11, 22, 5, 30, 15))),
])
def test_parse_time(value, expected):
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize('value, words', [
    ('yesterday', 'is not a time'),
    ('2h', 'is not a time'),
    ('-2y', 'is not a time'),
    ('2026-13-01', 'is not a valid date and time'),
    ('2026-02-30 10:00', 'is not a valid date and time'),
    ('2026-11-22 25:00', 'is not a valid date and time'),
    ('22.11.2026', 'is not a time'),
    (True, 'is not a time'),
    (-5, 'before 1970'),
    ('1960-01-01', 'before 1970'),
])
def test_parse_time_refuses(value, words):
    with pytest.raises(TimeRangeError, match=words) as info:
        parse_time(value, NOW, 'until')
    assert str(info.value).startswith('until: ')


def test_range_defaults_to_the_last_day():
    assert time_range(None, None, NOW) == (NOW - 86400, NOW)


def test_range_must_not_end_before_it_starts():
    with pytest.raises(TimeRangeError, match='ends before it starts: since 2026-11-22T06:00:00Z is after until '
                                             '2026-11-22T05:00:00Z'):
        time_range('now', '-1h', NOW)
    assert time_range('now', 'now', NOW) == (NOW, NOW)


@hsettings(deadline=None)
@given(st.integers(14 * 3600, 4102444800), st.integers(-14 * 3600, 14 * 3600))
def test_iso_and_syslog_time_round_trip(epoch, offset):
    assert parse_time(iso(epoch), NOW) == epoch
    # The syslog form is the node's local time: read back as UTC it is off by exactly the offset.
    assert parse_time(syslog_time(epoch, offset), NOW) == epoch + offset


@hsettings(deadline=None)
@given(st.integers(0, 10 ** 6), st.integers(0, 10 ** 6))
def test_relative_is_before_now(hours, minutes):
    assert parse_time('-{0}h{1}m'.format(hours, minutes), 10 ** 10) == 10 ** 10 - hours * 3600 - minutes * 60


class PagedLog(object):
    """A {n, t} log paged by start/limit as PVE pages it; records the calls."""

    def __init__(self, count):
        self.lines = ['line {0}'.format(n + 1) for n in range(count)]
        self.calls = []

    @staticmethod
    def path(*segments):
        return '/' + '/'.join(segments)

    def get(self, path, **params):
        self.calls.append(params)
        start, limit = params['start'], params['limit'] or 50
        return [{'n': n + 1, 't': t} for n, t in enumerate(self.lines)][start:start + limit]


@pytest.mark.parametrize('count, max_lines, page, expected_truncated', [
    (0, 10, 4, False),
    (3, 10, 4, False),
    (10, 10, 4, False),
    (11, 10, 4, True),
    (100, 10, 4, True),
    (8, 8, 8, False),
    (1, 1, 500, False),
    (2, 1, 500, True),
])
def test_read_paged(count, max_lines, page, expected_truncated):
    log = PagedLog(count)
    lines, truncated = read_paged(log, '/x', max_lines, page=page)
    assert lines == log.lines[:max_lines]
    assert truncated is expected_truncated
    # Never limit 0 (the syslog reads it as 50), never more than one line past max_lines.
    assert all(call['limit'] > 0 for call in log.calls)
    assert sum(call['limit'] for call in log.calls) <= max_lines + page
