# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's pure logic: worker-id escaping, the keep rules, deduplication arithmetic."""

import pytest

from tests.lab.pbs.model import Datastore, Snapshot, escape_unit, prune_marks, unescape_unit

T0 = 1767225600  # Thursday 2026-01-01T00:00:00Z
HOUR, DAY = 3600, 86400


@pytest.mark.parametrize('text, escaped', [
    ('store1', 'store1'),
    ('ds-life', 'ds\\x2dlife'),
    ('-:src:dst::job', '\\x2d\\x3asrc\\x3adst\\x3a\\x3ajob'),
    ('store1:/vm/100', 'store1\\x3a-vm-100'),
    ('.hidden', '\\x2ehidden'),
    ('a.b_c', 'a.b_c'),
])
def test_worker_id_escaping(text, escaped):
    assert escape_unit(text) == escaped
    if '/' not in text:
        assert unescape_unit(escaped) == text


def _snaps(times, protected=()):
    return [Snapshot('', 'vm', '100', t, {'a.fidx': [('d{0}'.format(t), 1)]}, 'root@pam', protected=t in protected)
            for t in times]


def _kept(snaps, keep):
    marks = prune_marks(snaps, keep)
    return sorted(s.backup_time for s in snaps if marks[s.key] != 'remove')


def test_no_keep_option_keeps_everything():
    snaps = _snaps([T0, T0 + DAY])
    assert _kept(snaps, {}) == [T0, T0 + DAY]


def test_keep_last_and_daily_do_not_count_twice():
    # two a day for 5 days; keep-last 2 takes both of the last day, keep-daily 2 the newest of the two days before
    times = [T0 + d * DAY + h * HOUR for d in range(5) for h in (0, 12)]
    assert _kept(_snaps(times), {'keep-last': 2, 'keep-daily': 2}) == [
        T0 + 2 * DAY + 12 * HOUR, T0 + 3 * DAY + 12 * HOUR, T0 + 4 * DAY, T0 + 4 * DAY + 12 * HOUR]


def test_keep_weekly_uses_iso_weeks():
    # 2026-01-01 is a Thursday: days 0..3 are ISO week 1 (ends Sunday 4th), days 4..10 week 2
    times = [T0 + d * DAY for d in range(11)]
    assert _kept(_snaps(times), {'keep-weekly': 2}) == [T0 + 3 * DAY, T0 + 10 * DAY]


def test_keep_monthly_and_yearly():
    times = [T0 - 400 * DAY, T0 - 40 * DAY, T0 - 10 * DAY, T0]
    assert _kept(_snaps(times), {'keep-monthly': 2}) == [T0 - 10 * DAY, T0]
    assert _kept(_snaps(times), {'keep-yearly': 3}) == [T0 - 400 * DAY, T0 - 10 * DAY, T0]


def test_protected_snapshots_stay_and_do_not_count():
    times = [T0, T0 + DAY, T0 + 2 * DAY]
    marks = prune_marks(_snaps(times, protected=(T0 + 2 * DAY,)), {'keep-last': 1})
    assert [marks[('', 'vm', '100', t)] for t in times] == ['remove', 'keep', 'protected']


def test_dedup_arithmetic():
    store = Datastore('d1', {'path': '/d1'}, 1000)
    store.add(Snapshot('', 'vm', '1', T0, {'a.fidx': [('x', 10), ('y', 10)], 'b.blob': 5}, 'root@pam'))
    store.add(Snapshot('', 'vm', '1', T0 + 1, {'a.fidx': [('x', 10), ('y', 10), ('z', 20)]}, 'root@pam'))
    assert (store.index_bytes(), store.used(), store.dedup()) == (60, 40, 1.5)
    assert store.status() == {'total': 1000, 'used': 40, 'avail': 960}
