# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/tasks.py: UPIDs, waiting within one budget, failures with their log tail.

The waiting logic runs against a small in-memory task API (status and log endpoints, PVE's start/limit paging) and
a FakeClock; the last tests wait for real UPIDs of fakepve through the real client.
"""

from __future__ import annotations

import hashlib
import itertools
import ssl

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import (
    LOG_TAIL_LINES,
    AdaptivePoll,
    Deadline,
    Upid,
    is_upid,
    task_log_tail,
    task_ok,
    wait_for_task,
)
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import FakeClock

PVE_UPID = 'UPID:pve1:0000ABCD:00123456:6502A5A8:qmstart:100:root@pam:'
PVE_TOKEN_UPID = 'UPID:pve-2.lab:00001F40:0A1B2C3D4:6502A5A8:vzdump::automation@pve!ci:'
PBS_UPID = 'UPID:pbs1:000003B3:0000060D:00000002:6502A5A8:verificationjob:store1\\x3av\\x2dabc:root@pam!ci:'
URL = 'https://pve1.lab:8006'


class _Settings(object):
    url = URL


class TaskApi(object):
    """The two task endpoints of PVE/PBS, in memory: status answers from a script, the log pages like the real API.

    script: a function of the poll number (0-based) and the time -> the status dict; clock: the FakeClock the
    waiting sleeps on.
    """

    settings = _Settings()
    path = staticmethod(ProxmoxClient.path)

    def __init__(self, script, log=(), clock=None, log_error=None):
        self.script = script
        self.log = list(log)
        self.clock = clock
        self.log_error = log_error
        self.polls = 0
        self.calls = []

    def get(self, path, **params):
        self.calls.append((path, params))
        if path.endswith('/status'):
            status = self.script(self.polls, self.clock() if self.clock else 0)
            self.polls += 1
            return status
        if path.endswith('/log'):
            if self.log_error:
                raise self.log_error
            start, limit = int(params.get('start', 0)), int(params.get('limit', 50))
            return [{'n': n + 1, 't': line} for n, line in enumerate(self.log)][start:start + limit]
        raise AssertionError('unexpected GET ' + path)


def running(polls, now):
    return {'status': 'running', 'upid': PVE_UPID}


def stopped_after(count, exitstatus='OK'):
    def script(polls, now):
        if polls < count:
            return {'status': 'running'}
        return {'status': 'stopped', 'exitstatus': exitstatus}
    return script


def stopped_at(when, exitstatus='OK'):
    def script(polls, now):
        return {'status': 'stopped', 'exitstatus': exitstatus} if now >= when else {'status': 'running'}
    return script


# ============================================================================================== UPIDs


def test_pve_upid():
    upid = Upid(PVE_UPID)
    assert (upid.node, upid.pid, upid.starttime, upid.type, upid.id, upid.user) == (
        'pve1', 0xABCD, 0x6502A5A8, 'qmstart', '100', 'root@pam')
    assert upid.is_pbs is False
    assert str(upid) == upid.text == PVE_UPID
    assert upid.describe() == 'task qmstart 100 on node pve1 ({0})'.format(PVE_UPID)


def test_pve_upid_with_token_empty_id_and_long_pstart():
    upid = Upid(PVE_TOKEN_UPID)
    assert (upid.node, upid.type, upid.id, upid.user, upid.is_pbs) == ('pve-2.lab', 'vzdump', '', 'automation@pve!ci', False)
    assert upid.describe() == 'task vzdump on node pve-2.lab ({0})'.format(PVE_TOKEN_UPID)


def test_pbs_upid():
    upid = Upid(PBS_UPID)
    assert (upid.node, upid.pid, upid.starttime, upid.type, upid.user) == (
        'pbs1', 0x3B3, 0x6502A5A8, 'verificationjob', 'root@pam!ci')
    assert upid.id == 'store1\\x3av\\x2dabc'
    assert upid.is_pbs is True


@pytest.mark.parametrize('text', [
    None, '', 'UPID', 'UPID:pve1', 'upid:pve1:0000ABCD:00123456:6502A5A8:qmstart:100:root@pam:',
    PVE_UPID[:-1],                                              # no trailing colon
    PVE_UPID.replace('0000ABCD', '0000ABCG'),                   # not hex
    PVE_UPID.replace('0000ABCD', 'ABCD'),                       # too short
    PVE_UPID.replace(':qmstart:', '::'),                        # no type
    PVE_UPID.replace(':root@pam:', '::'),                       # no user
    PVE_UPID.replace('pve1', 'pve 1'),                          # node names have no spaces
    ' ' + PVE_UPID,
    PVE_UPID + 'extra:',
    'TASK OK',
])
def test_garbage_is_not_a_upid(text):
    assert not is_upid(text)
    with pytest.raises(ProxmoxConfigError, match='not a Proxmox task id'):
        Upid(text)


def test_upid_with_a_trailing_newline_is_refused():
    # Regression: '$' also matched before a trailing newline, which then ended up in the status path as %0A.
    assert not is_upid(PVE_UPID + '\n')
    with pytest.raises(ProxmoxConfigError):
        Upid(PBS_UPID + '\n')


@pytest.mark.parametrize('value', [None, 42, {'upid': PVE_UPID}, [PVE_UPID], PVE_UPID.encode()])
def test_is_upid_only_for_strings(value):
    assert is_upid(value) is False


def test_is_upid_for_both_forms():
    assert is_upid(PVE_UPID) and is_upid(PVE_TOKEN_UPID) and is_upid(PBS_UPID)


_node = st.from_regex(r'\A[a-zA-Z0-9][a-zA-Z0-9.-]{0,20}\Z')
_word = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=':'), min_size=1, max_size=20)
_u32 = st.integers(0, 2 ** 32 - 1)


@hsettings(deadline=None)
@given(node=_node, pid=_u32, pstart=_u32, starttime=_u32, ttype=_word, tid=st.one_of(st.just(''), _word), user=_word)
def test_pve_upid_round_trip(node, pid, pstart, starttime, ttype, tid, user):
    text = 'UPID:{0}:{1:08X}:{2:08X}:{3:08X}:{4}:{5}:{6}:'.format(node, pid, pstart, starttime, ttype, tid, user)
    upid = Upid(text)
    assert (upid.node, upid.pid, upid.starttime, upid.type, upid.id, upid.user, upid.is_pbs) == (
        node, pid, starttime, ttype, tid, user, False)


@hsettings(deadline=None)
@given(node=_node, pid=_u32, pstart=_u32, counter=_u32, starttime=_u32, ttype=_word, tid=st.one_of(st.just(''), _word),
       user=_word)
def test_pbs_upid_round_trip(node, pid, pstart, counter, starttime, ttype, tid, user):
    text = 'UPID:{0}:{1:08X}:{2:08X}:{3:08X}:{4:08X}:{5}:{6}:{7}:'.format(node, pid, pstart, counter, starttime, ttype, tid, user)
    upid = Upid(text)
    assert (upid.node, upid.pid, upid.starttime, upid.type, upid.id, upid.user, upid.is_pbs) == (
        node, pid, starttime, ttype, tid, user, True)


# ================================================================================== exit statuses


@pytest.mark.parametrize('exitstatus, ok', [
    ('OK', True), ('WARNINGS: 1', True), ('WARNINGS: 12', True),
    ('', False), (None, False), ('ok', False), ('TASK ERROR: boom', False), ('unexpected status', False),
    ("can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", False),
])
def test_task_ok(exitstatus, ok):
    assert task_ok(exitstatus) is ok


# ========================================================================================= polling


def test_adaptive_poll_starts_fast_and_caps():
    intervals = list(itertools.islice(AdaptivePoll().intervals(), 40))
    assert intervals[0] == pytest.approx(0.1)
    assert intervals[1] == pytest.approx(0.15)
    assert all(b >= a for a, b in zip(intervals, intervals[1:]))
    assert max(intervals) == pytest.approx(2.0)
    assert intervals[-1] == pytest.approx(2.0)
    # Most tasks end within a second: the first polls come quickly.
    assert sum(intervals[:5]) < 1.5


def test_deadline(clock):
    deadline = Deadline(10, clock=clock)
    assert deadline.remaining() == 10 and not deadline.expired()
    clock.advance(7.5)
    assert deadline.remaining() == 2.5
    clock.advance(5)
    assert deadline.remaining() == 0 and deadline.expired()


# ========================================================================================= waiting


def test_wait_success(clock):
    api = TaskApi(stopped_after(3), clock=clock)
    result = wait_for_task(api, PVE_UPID, Deadline(60, clock=clock), sleep=clock.sleep)
    assert result.exitstatus == 'OK'
    assert result.as_dict() == {'upid': PVE_UPID, 'node': 'pve1', 'type': 'qmstart', 'id': '100', 'exitstatus': 'OK'}
    assert clock.sleeps == pytest.approx([0.1, 0.15, 0.225])
    assert api.calls[0] == ('/nodes/pve1/tasks/{0}/status'.format(PVE_UPID), {})
    assert len(api.calls) == 4  # no log read on success


def test_wait_accepts_a_upid_object(clock):
    api = TaskApi(stopped_after(0), clock=clock)
    assert wait_for_task(api, Upid(PVE_UPID), Deadline(60, clock=clock), sleep=clock.sleep).upid.text == PVE_UPID
    assert clock.sleeps == []


def test_warnings_count_as_success(clock):
    api = TaskApi(stopped_after(1, 'WARNINGS: 2'), log=['WARN: storage almost full'], clock=clock)
    result = wait_for_task(api, PVE_UPID, Deadline(60, clock=clock), sleep=clock.sleep)
    assert result.exitstatus == 'WARNINGS: 2'


def test_failure_carries_exit_status_and_log_tail(clock):
    log = ['line {0}'.format(n) for n in range(1, 31)] + ["TASK ERROR: can't lock file - got timeout"]
    api = TaskApi(stopped_after(2, "can't lock file - got timeout"), log=log, clock=clock)
    with pytest.raises(ProxmoxTaskError) as info:
        wait_for_task(api, PVE_UPID, Deadline(60, clock=clock), sleep=clock.sleep)
    error = info.value
    assert not isinstance(error, ProxmoxTaskTimeout)
    assert error.exitstatus == "can't lock file - got timeout"
    assert (error.upid, error.node, error.url) == (PVE_UPID, 'pve1', URL)
    assert error.log_tail == log[-LOG_TAIL_LINES:]
    assert error.log_tail[-1] == "TASK ERROR: can't lock file - got timeout"
    assert str(error) == "{0}: task qmstart 100 on node pve1 ({1}) failed: can't lock file - got timeout".format(URL, PVE_UPID)
    assert api.calls[-1][0] == '/nodes/pve1/tasks/{0}/log'.format(PVE_UPID)


def test_failure_without_exit_status(clock):
    api = TaskApi(lambda polls, now: {'status': 'stopped'}, clock=clock)
    with pytest.raises(ProxmoxTaskError, match='failed: unknown error') as info:
        wait_for_task(api, PVE_UPID, 60, sleep=clock.sleep)
    assert info.value.exitstatus is None and info.value.log_tail == []


def test_unreadable_log_gives_no_tail_not_a_second_failure(clock):
    api = TaskApi(stopped_after(0, 'boom'), clock=clock,
                  log_error=ProxmoxApiError('Permission check failed', status_code=403))
    with pytest.raises(ProxmoxTaskError) as info:
        wait_for_task(api, PVE_UPID, Deadline(60, clock=clock), sleep=clock.sleep)
    assert info.value.exitstatus == 'boom' and info.value.log_tail == []


def test_log_tail_short_log_and_lines():
    api = TaskApi(running, log=['a', 'b', 'c'])
    assert task_log_tail(api, PVE_UPID) == ['a', 'b', 'c']
    assert task_log_tail(api, PVE_UPID, lines=2) == ['b', 'c']


@pytest.mark.parametrize('count', [6000, 2000, 999, 1000, 1001, 0])
def test_log_tail_of_a_long_log_is_its_end(count):
    # Regression: one read of start=0, limit=5000 gave lines 4981-5000 of a longer log, not its end.
    log = ['INFO: progress {0}'.format(n) for n in range(count)] + ['TASK ERROR: job failed with err -5 - Input/output error']
    api = TaskApi(running, log=log)
    assert task_log_tail(api, PVE_UPID) == log[-LOG_TAIL_LINES:]
    # Read from the start, page after page, each page once.
    starts = [params['start'] for _path, params in api.calls]
    assert starts[0] == 0 and starts == sorted(set(starts))


def test_log_tail_keeps_what_it_read_when_a_later_page_fails():
    class Flaky(TaskApi):
        def get(self, path, **params):
            if params.get('start'):
                raise ProxmoxApiError('got timeout', status_code=500)
            return super().get(path, **params)

    api = Flaky(running, log=['line {0}'.format(n) for n in range(3000)])
    tail = task_log_tail(api, PVE_UPID)
    assert len(tail) <= LOG_TAIL_LINES
    assert all(line.startswith('line ') for line in tail)


def test_timeout_names_the_task_and_node(clock):
    api = TaskApi(running, log=['INFO: starting', 'INFO: still copying'], clock=clock)
    with pytest.raises(ProxmoxTaskTimeout) as info:
        wait_for_task(api, PVE_UPID, Deadline(5, clock=clock), sleep=clock.sleep)
    error = info.value
    assert isinstance(error, ProxmoxTaskError)
    assert 'task qmstart 100 on node pve1' in str(error) and PVE_UPID in str(error)
    assert 'still running after the 5 s timeout' in str(error) and 'in the background' in str(error)
    assert (error.node, error.upid, error.url) == ('pve1', PVE_UPID, URL)
    assert error.log_tail == ['INFO: starting', 'INFO: still copying']
    # It waited exactly the budget: the last sleep is cut to what was left.
    assert sum(clock.sleeps) == pytest.approx(5.0)
    assert max(clock.sleeps) <= 2.0


def test_zero_budget_polls_once(clock):
    api = TaskApi(running, clock=clock)
    with pytest.raises(ProxmoxTaskTimeout, match='after the 0 s timeout'):
        wait_for_task(api, PVE_UPID, Deadline(0, clock=clock), sleep=clock.sleep)
    assert api.polls == 1 and clock.sleeps == []


def test_one_budget_shared_by_two_waits(clock):
    deadline = Deadline(10, clock=clock)
    first = TaskApi(stopped_at(clock() + 6), clock=clock)
    wait_for_task(first, PVE_UPID, deadline, sleep=clock.sleep)
    spent = sum(clock.sleeps)
    assert 6 <= spent < 8
    second = TaskApi(running, clock=clock)
    with pytest.raises(ProxmoxTaskTimeout) as info:
        wait_for_task(second, PBS_UPID, deadline, sleep=clock.sleep)
    # The second wait had only what the first left, and the message gives the whole budget.
    assert sum(clock.sleeps) == pytest.approx(10.0)
    assert 'after the 10 s timeout' in str(info.value)
    assert info.value.node == 'pbs1'


def test_pbs_status_and_log_on_localhost(clock):
    api = TaskApi(stopped_after(0, 'verification failed'), log=['TASK ERROR: verification failed'], clock=clock)
    with pytest.raises(ProxmoxTaskError) as info:
        wait_for_task(api, PBS_UPID, Deadline(60, clock=clock), sleep=clock.sleep)
    assert [path for path, _params in api.calls] == [
        ProxmoxClient.path('nodes', 'localhost', 'tasks', PBS_UPID, 'status'),
        ProxmoxClient.path('nodes', 'localhost', 'tasks', PBS_UPID, 'log')]
    assert api.calls[0][0].startswith('/nodes/localhost/tasks/UPID:pbs1:000003B3:')
    assert info.value.node == 'pbs1' and 'on node pbs1' in str(info.value)


def test_status_without_answer_keeps_polling(clock):
    api = TaskApi(lambda polls, now: None if polls < 2 else {'status': 'stopped', 'exitstatus': 'OK'}, clock=clock)
    assert wait_for_task(api, PVE_UPID, Deadline(60, clock=clock), sleep=clock.sleep).exitstatus == 'OK'
    assert api.polls == 3


def test_garbage_upid_fails_before_any_request(clock):
    api = TaskApi(running, clock=clock)
    with pytest.raises(ProxmoxConfigError):
        wait_for_task(api, 'not-a-upid', 60, sleep=clock.sleep)
    assert api.calls == []


# ========================================================================================== fakepve


def _client(pve, cafile):
    with open(cafile) as handle:
        pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()
    return ProxmoxClient(ConnectionSettings('127.0.0.1', port=int(pve.url.rsplit(':', 1)[1]), user='root@pam',
                                            password='secret', fingerprint=pin))


def test_fakepve_task_success_and_failure(fakepve, fakepve_cafile):
    fakepve.add_vm(100, 'web')
    client = _client(fakepve, fakepve_cafile)
    clock = FakeClock()
    upid = client.post('/nodes/pve1/qemu/100/status/start')
    assert is_upid(upid) and Upid(upid).type == 'qmstart'
    result = wait_for_task(client, upid, Deadline(30, clock=clock), sleep=clock.sleep)
    assert result.as_dict()['exitstatus'] == 'OK'
    # Starting it again fails inside the worker, as PVE does.
    upid = client.post('/nodes/pve1/qemu/100/status/start')
    with pytest.raises(ProxmoxTaskError) as info:
        wait_for_task(client, upid, Deadline(30, clock=clock), sleep=clock.sleep)
    assert info.value.exitstatus == 'VM 100 already running'
    assert info.value.log_tail[-1] == 'TASK ERROR: VM 100 already running'
    assert info.value.node == 'pve1' and info.value.url == fakepve.url


def test_fakepve_task_timeout_then_it_goes_on(fakepve, fakepve_cafile):
    """A start that outlasts the budget (on the fake clock) goes on in the background; a new wait sees it end."""
    fakepve.time_scale = 0.001
    vm = fakepve.add_vm(101, 'slow')
    # 3 s of real time: far more than the few polls of the fake budget take even on a loaded machine (at 0.15 s the
    # task sometimes ended before the budget ran out, and the test failed).
    vm.start_secs = 3000
    client = _client(fakepve, fakepve_cafile)
    clock = FakeClock()
    upid = client.post('/nodes/pve1/qemu/101/status/start')
    with pytest.raises(ProxmoxTaskTimeout) as info:
        wait_for_task(client, upid, Deadline(3, clock=clock), sleep=clock.sleep)
    assert 'task qmstart 101 on node pve1' in str(info.value) and 'after the 3 s timeout' in str(info.value)
    assert sum(clock.sleeps) == pytest.approx(3.0)
    # The same task, a new (real) budget: it ends well within it.
    assert wait_for_task(client, upid, 60).exitstatus == 'OK'
    assert vm.status == 'running'
