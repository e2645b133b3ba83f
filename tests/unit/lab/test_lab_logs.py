# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's logs (tests/lab/areas/logs.py): the task list's filters, the system log's paging and dates, the
journal's cursors, the node's time - as pve-manager and pve-common behave."""

import re
import time

import pytest
from proxmoxer.core import ResourceException

from tests.lab.areas.logs import SEEDED_SECRETS, SYSLOG_STEP, TIMEZONE

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=6)


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def node(lab_fn, api):
    cluster = lab_fn.clusters[0]
    return api(cluster).nodes(cluster.nodes[0])


def test_time_is_the_node_local_time(node):
    data = node.time.get()
    assert data['timezone'] == TIMEZONE[0]
    assert data['localtime'] - data['time'] == TIMEZONE[1]


def test_task_list_filters(lab_fn, node):
    now = int(time.time())
    every = node.tasks.get(limit=1000)
    assert len(every) > 20
    # Newest first, seeded ones finished.
    assert [t['starttime'] for t in every] == sorted((t['starttime'] for t in every), reverse=True)
    recent = node.tasks.get(since=now - 6 * 3600, until=now, limit=1000)
    assert recent and all(now - 6 * 3600 <= t['starttime'] <= now for t in recent)
    assert len(node.tasks.get(since=now - 6 * 3600, limit=2)) == 2
    assert node.tasks.get(since=now - 6 * 3600, limit=2, start=1)[0] == recent[1]
    backups = node.tasks.get(typefilter='vzdump', limit=1000)
    assert backups and set(t['type'] for t in backups) == {'vzdump'}
    failed = node.tasks.get(errors=1, limit=1000)
    assert failed and all(t['status'] != 'OK' for t in failed)
    assert node.tasks.get(statusfilter='ok', limit=1000) == [t for t in every if t['status'] == 'OK']
    # errors wins over statusfilter, as in PVE.
    assert node.tasks.get(statusfilter='ok', errors=1, limit=1000) == failed
    tokens = node.tasks.get(userfilter='AUTOMATION', limit=1000)
    assert tokens and all(t['user'] == 'automation@pve' and t['tokenid'] == 'ansible' for t in tokens)
    vmid = int(backups[0]['id'])
    assert all(t['id'] == str(vmid) for t in node.tasks.get(vmid=vmid, limit=1000))
    assert node.tasks.get(source='active') == []
    assert 'Parameter verification failed' in str(fails(node.tasks.get, source='old'))


def test_task_list_source_all_shows_running_tasks(lab_fn, node):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    running = {'upid': 'UPID:{0}:0000BEEF:0000BEEF:{1:08X}:aptupdate::root@pam:'.format(cluster.nodes[0], int(time.time())),
               'node': cluster.nodes[0], 'pid': 48879, 'pstart': 48879, 'starttime': int(time.time()),
               'type': 'aptupdate', 'id': '', 'user': 'root@pam', 'status': 'running', 'log': ['starting']}
    pve.tasklog.append(running)
    pve.tasks[running['upid']] = running
    try:
        assert [t['upid'] for t in node.tasks.get(source='active')] == [running['upid']]
        listed = node.tasks.get(source='all', limit=3)
        assert listed[0]['upid'] == running['upid'] and listed[0]['status'] == 'RUNNING'
        assert running['upid'] not in [t['upid'] for t in node.tasks.get(limit=1000)]
    finally:
        pve.tasklog.remove(running)
        del pve.tasks[running['upid']]


def test_old_task_logs_page_like_pve(node):
    task = node.tasks.get(typefilter='vzdump', limit=1)[0]
    log = node.tasks(task['upid']).log
    whole = log.get(limit=1000)
    assert [line['n'] for line in whole] == list(range(1, len(whole) + 1))
    assert whole[-1]['t'].startswith('TASK ')
    assert log.get(start=2, limit=2) == whole[2:4]
    assert node.tasks(task['upid']).status.get()['exitstatus'] == task['status']


def test_syslog_range_paging_and_no_content(lab_fn, node):
    now = int(time.time())
    offset = TIMEZONE[1]

    def local(epoch):
        return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(epoch + offset))
    lines = node.syslog.get(since=local(now - 3 * 3600), until=local(now), limit=500)
    assert len(lines) == 3 * 3600 // SYSLOG_STEP
    assert [line['n'] for line in lines] == list(range(1, len(lines) + 1))
    assert all(re.match(r'^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} ' + lab_fn.clusters[0].nodes[0] + ' ', line['t'])
               for line in lines)
    # Unset and 0 both mean 50 lines; n counts from the start of the whole output.
    assert len(node.syslog.get()) == 50
    assert len(node.syslog.get(limit=0, start=0)) == 50
    assert node.syslog.get(since=local(now - 3 * 3600), start=2, limit=2) == lines[2:4]
    assert node.syslog.get(since='2001-01-01', until='2001-01-02') == [{'n': 1, 't': 'no content'}]
    ssh = node.syslog.get(service='sshd', limit=500)
    assert ssh and all(' sshd[' in line['t'] for line in ssh)
    error = fails(node.syslog.get, since='2026-13-01')
    assert error.status_code == 500
    assert "command 'journalctl -o short --no-pager --since 2026-13-01' failed: exit code 1" in str(error)
    error = fails(node.syslog.get, until='yesterday')
    assert error.status_code == 400 and 'value does not match the regex pattern' in str(error)
    joined = '\n'.join(line['t'] for line in node.syslog.get(limit=5000))
    for values in SEEDED_SECRETS.values():
        assert any(value in joined for value in values)


def test_journal_epochs_and_cursors(node):
    now = int(time.time())
    answer = node.journal.get(since=now - 3600, until=now)
    first, lines, last = answer[0], answer[1:-1], answer[-1]
    assert len(lines) == 3600 // SYSLOG_STEP
    assert re.match(r'^s=[0-9a-f]{32};i=[0-9a-f]+;b=[0-9a-f]{32};m=[0-9a-f]+;t=[0-9a-f]+;x=[0-9a-f]{16}$', first)
    assert node.journal.get(lastentries=2)[1:-1] == lines[-2:]
    older = node.journal.get(endcursor=first, lastentries=1)
    assert len(older) == 3 and older[1] != lines[0]
    assert node.journal.get(startcursor=last) == []
    assert node.journal.get(startcursor=first, endcursor=last)[1:-1] == lines[1:-1]
