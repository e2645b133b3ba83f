# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's /admin area: usage and deduplication, GC, snapshots, namespaces, and job runs doing the work."""

import pytest

from tests.lab.pbs.model import chunk_digest

MIB = 1024 * 1024
T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400
A, B, C, D = ((chunk_digest(n), s) for n, s in (('A', 4 * MIB), ('B', 4 * MIB), ('C', 4 * MIB), ('D', 2 * MIB)))


def test_usage_dedup_and_gc(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    pbs_fn.add_snapshot('store1', 'vm', '100', T0, chunks=[A, B])
    pbs_fn.add_snapshot('store1', 'vm', '100', T0 + DAY, chunks=[A, B, C])
    pbs_fn.add_snapshot('store1', 'vm', '101', T0, chunks=[A, D])
    status = api.admin.datastore('store1').status.get(verbose=1)
    assert (status['used'], status['total'], status['avail']) == (14 * MIB, 1024 ** 4, 1024 ** 4 - 14 * MIB)
    assert status['counts'] == {'vm': {'groups': 2, 'snapshots': 3}}
    assert status['gc-status']['disk-bytes'] == 0 and 'upid' not in status['gc-status']
    assert pbs_fn.pbs.datastores['store1'].dedup() == pytest.approx(26.0 / 14.0)

    upid = api.admin.datastore('store1').gc.post()
    assert upid.split(':')[6:8] == ['garbage_collection', 'store1']
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    gc = api.admin.datastore('store1').gc.get()
    assert (gc['index-data-bytes'], gc['disk-bytes'], gc['disk-chunks'], gc['removed-bytes']) == (
        26 * MIB, 14 * MIB, 4, 0)
    assert (gc['upid'], gc['last-run-state'], gc['store']) == (upid, 'ok', 'store1')
    assert gc['index-data-bytes'] / gc['disk-bytes'] == pytest.approx(26.0 / 14.0)
    assert 'Deduplication factor: 1.86' in [line['t'] for line in api.nodes('localhost').tasks(upid).log.get()]

    # A removed snapshot's unique chunk stays on disk until the next GC.
    api.admin.datastore('store1').snapshots.delete(**{'backup-type': 'vm', 'backup-id': '100', 'backup-time': T0 + DAY})
    assert api.admin.datastore('store1').status.get()['used'] == 14 * MIB
    wait_task(pbs_fn, api.admin.datastore('store1').gc.post())
    gc = api.admin.gc.get(store='store1')[0]
    assert (gc['index-data-bytes'], gc['disk-bytes'], gc['removed-bytes'], gc['removed-chunks']) == (
        14 * MIB, 10 * MIB, 4 * MIB, 1)
    status = api.admin.datastore('store1').status.get()
    assert status['used'] == 10 * MIB and status['used'] + status['avail'] == status['total']


def test_snapshots_groups_namespaces(pbs_fn, pbs_api, pbs_raw):
    api = pbs_api(pbs_fn)
    store = api.admin.datastore('store1')
    assert store.namespace.post(name='prod') == 'prod'
    assert store.namespace.post(name='web', parent='prod') == 'prod/web'
    assert store.namespace.post(name='prod') == 'prod'
    assert pbs_raw(pbs_fn, 'POST', '/admin/datastore/store1/namespace', name='x', parent='none')[:2] == (
        400, "cannot create new namespace, parent none doesn't already exists")
    assert [n['ns'] for n in store.namespace.get()] == ['', 'prod', 'prod/web']
    assert [n['ns'] for n in store.namespace.get(parent='prod', **{'max-depth': 0})] == ['prod']
    pbs_fn.add_snapshot('store1', 'ct', '200', T0, ns='prod/web', chunks=[1000], comment='first', protected=True)
    pbs_fn.add_snapshot('store1', 'ct', '200', T0 + DAY, ns='prod/web', chunks=[2000])
    pbs_fn.add_snapshot('store1', 'host', 'backup1', T0)
    snaps = store.snapshots.get(ns='prod/web')
    assert [(s['backup-type'], s['backup-id'], s['backup-time']) for s in snaps] == [
        ('ct', '200', T0), ('ct', '200', T0 + DAY)]
    assert snaps[0]['protected'] is True and snaps[0]['comment'] == 'first'
    assert [f['filename'] for f in snaps[1]['files']] == ['index.json.blob', 'root.pxar.didx']
    assert snaps[1]['size'] == 2000 + 512 and snaps[1]['owner'] == 'root@pam'
    assert [s['backup-id'] for s in store.snapshots.get()] == ['backup1']
    groups = store.groups.get(ns='prod/web')
    assert groups == [{'backup-type': 'ct', 'backup-id': '200', 'last-backup': T0 + DAY, 'backup-count': 2,
                       'files': ['index.json.blob', 'root.pxar.didx'], 'owner': 'root@pam'}]
    assert pbs_raw(pbs_fn, 'DELETE', '/admin/datastore/store1/snapshots', ns='prod/web', **{
        'backup-type': 'ct', 'backup-id': '200', 'backup-time': T0})[:2] == (400, 'cannot remove protected snapshot')
    store.namespace.post(name='empty', parent='prod')
    assert pbs_raw(pbs_fn, 'DELETE', '/admin/datastore/store1/namespace', ns='prod')[:2] == (
        400, 'only partially deleted due to existing groups but `delete-groups` not true ')
    assert [n['ns'] for n in store.namespace.get()] == ['', 'prod', 'prod/web']
    assert pbs_raw(pbs_fn, 'DELETE', '/admin/datastore/store1/groups', ns='prod/web', **{
        'backup-type': 'ct', 'backup-id': '200'})[:2] == (400, 'group only partially deleted due to protected snapshots')
    assert [s['backup-time'] for s in store.snapshots.get(ns='prod/web')] == [T0]
    store.groups.delete(ns='prod/web', **{'backup-type': 'ct', 'backup-id': '200', 'error-on-protected': 0})
    assert [s['backup-time'] for s in store.snapshots.get(ns='prod/web')] == [T0]
    store.namespace.delete(ns='prod', **{'delete-groups': 1, 'error-on-protected': 0})
    assert [n['ns'] for n in store.namespace.get()] == ['', 'prod', 'prod/web']
    pbs_fn.run(setattr, pbs_fn.pbs.datastores['store1'].snapshots[('prod/web', 'ct', '200', T0)], 'protected', False)
    store.namespace.delete(ns='prod', **{'delete-groups': 1})
    assert [n['ns'] for n in store.namespace.get()] == ['']
    assert pbs_raw(pbs_fn, 'GET', '/admin/datastore/store1/snapshots', ns='nowhere')[:2] == (
        404, "namespace 'nowhere' does not exist")
    assert pbs_raw(pbs_fn, 'GET', '/admin/datastore/nostore/status')[:2] == (400, "no such datastore 'nostore'")
    assert pbs_raw(pbs_fn, 'GET', '/admin/datastore/store1/snapshots', **{'backup-type': 'disk'})[:2] == (
        400, "parameter verification errors\n\nparameter 'backup-type': value 'disk' is not defined in the "
             "enumeration.\n")


def test_prune_job_run(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    for day in range(10):
        pbs_fn.add_snapshot('store1', 'vm', '100', T0 + day * DAY, chunks=[100])
        pbs_fn.add_snapshot('store1', 'vm', '100', T0 + day * DAY + 3600, chunks=[100])
    pbs_fn.add_snapshot('store1', 'vm', '100', T0 - DAY, chunks=[100], protected=True)
    api.config.prune.post(id='p-run', store='store1', schedule='daily', **{'keep-last': 2, 'keep-daily': 3})
    upid = api.admin.prune('p-run').run.post()
    assert upid.split(':')[6:8] == ['prunejob', 'store1']
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    left = [s['backup-time'] for s in api.admin.datastore('store1').snapshots.get()]
    # keep-last 2: both of day 9; keep-daily 3: the newest of days 8, 7, 6; the protected one stays
    assert left == [T0 - DAY, T0 + 6 * DAY + 3600, T0 + 7 * DAY + 3600, T0 + 8 * DAY + 3600, T0 + 9 * DAY,
                    T0 + 9 * DAY + 3600]
    log = [line['t'] for line in api.nodes('localhost').tasks(upid).log.get(limit=0)]
    assert 'vm/100/2026-01-10T01:00:00Z keep' in log and 'vm/100/2026-01-01T00:00:00Z remove' in log
    assert 'vm/100/2025-12-31T00:00:00Z protected' in log


def test_prune_datastore_dry_run(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    for day in range(3):
        pbs_fn.add_snapshot('store1', 'ct', '300', T0 + day * DAY, chunks=[100])
    upid = api.admin.datastore('store1')('prune-datastore').post(**{'keep-last': 1, 'dry-run': 1})
    assert upid.split(':')[6:8] == ['prune', 'store1\\x3a']
    wait_task(pbs_fn, upid)
    assert len(api.admin.datastore('store1').snapshots.get()) == 3
    wait_task(pbs_fn, api.admin.datastore('store1')('prune-datastore').post(**{'keep-last': 1}))
    assert [s['backup-time'] for s in api.admin.datastore('store1').snapshots.get()] == [T0 + 2 * DAY]


def test_verify_job_and_datastore_verify(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    pbs_fn.add_snapshot('store1', 'vm', '100', T0, chunks=[A])
    pbs_fn.add_snapshot('store1', 'vm', '101', T0, chunks=[B])
    api.config.verify.post(id='v-run', store='store1')
    upid = api.admin.verify('v-run').run.post()
    assert upid.split(':')[6:8] == ['verificationjob', 'store1\\x3av\\x2drun']
    status = wait_task(pbs_fn, upid)
    assert status['exitstatus'] == 'OK' and status['id'] == 'store1:v-run'
    snaps = api.admin.datastore('store1').snapshots.get()
    assert [s['verification']['state'] for s in snaps] == ['ok', 'ok']
    assert snaps[0]['verification']['upid'] == upid
    # a second run skips what is verified (ignore-verified defaults to true)
    again = api.admin.verify('v-run').run.post()
    wait_task(pbs_fn, again)
    assert any(line['t'].startswith('SKIPPED') for line in api.nodes('localhost').tasks(again).log.get())
    # a corrupt chunk fails the snapshot and the task
    pbs_fn.run(pbs_fn.pbs.corrupt_chunk, 'store1', B[0])
    upid = api.admin.datastore('store1').verify.post(**{'backup-type': 'vm', 'backup-id': '101', 'ignore-verified': 0})
    assert upid.split(':')[6:8] == ['verify_group', 'store1\\x3a-vm-101']
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'verification failed - please check the log for details'
    states = dict((s['backup-id'], s['verification']['state']) for s in api.admin.datastore('store1').snapshots.get())
    assert states == {'100': 'ok', '101': 'failed'}


def test_running_task(pbs_fn, pbs_api, wait_task):
    gate = pbs_fn.event()
    pbs_fn.pbs.task_gate = gate
    api = pbs_api(pbs_fn)
    upid = api.admin.datastore('store1').gc.post()
    status = api.nodes('localhost').tasks(upid).status.get()
    assert status['status'] == 'running' and 'exitstatus' not in status
    assert api.nodes('localhost').tasks(upid).log.get(**{'test-status': 1}) == []
    pbs_fn.set_event(gate)
    assert wait_task(pbs_fn, upid)['status'] == 'stopped'
    status = api.nodes('localhost').tasks(upid).status.get()
    assert (status['status'], status['exitstatus'], status['node']) == ('stopped', 'OK', 'localhost')
    assert status['endtime'] >= status['starttime']


def test_task_log_paging_and_unknown(pbs_fn, pbs_raw, wait_task):
    pbs_fn.add_snapshot('store1', 'vm', '100', T0)
    status, _text, body = pbs_raw(pbs_fn, 'POST', '/admin/datastore/store1/gc')
    upid = body['data']
    wait_task(pbs_fn, upid)
    log = '/nodes/localhost/tasks/{0}/log'.format(upid)
    # PBS skips the lines numbered below `start`: start 0 and 1 both begin with line 1
    _status, _text, body = pbs_raw(pbs_fn, 'GET', log, start=2, limit=2, **{'test-status': 1})
    assert [line['n'] for line in body['data']] == [2, 3] and body['total'] > 3 and body['active'] is False
    assert [line['n'] for line in pbs_raw(pbs_fn, 'GET', log, start=1, limit=1)[2]['data']] == [1]
    assert len(pbs_raw(pbs_fn, 'GET', log, limit=0)[2]['data']) == body['total']
    status, text, _body = pbs_raw(pbs_fn, 'GET', log, download=1)
    assert status == 200 and text.endswith('TASK OK\n') and text.count('\n') == body['total']
    assert pbs_raw(pbs_fn, 'GET', log, download=1, limit=5)[:2] == (
        400, "Parameter 'download' cannot be used with other parameters")
    bogus = 'UPID:localhost:00000001:00000001:00000001:00000001:garbage_collection:st\\x2d1:root@pam!ci:'
    status, _text, body = pbs_raw(pbs_fn, 'GET', '/nodes/localhost/tasks/{0}/status'.format(bogus))
    assert (status, body['data']['status'], body['data']['exitstatus']) == (200, 'stopped', 'unknown')
    assert (body['data']['id'], body['data']['tokenid']) == ('st-1', 'ci')
    assert pbs_raw(pbs_fn, 'GET', log.replace(upid, bogus))[:2] == (400, 'No such file or directory (os error 2)')


@pytest.mark.pbs(datastores=['src1', 'dst1'])
def test_local_sync(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    for day in range(3):
        pbs_fn.add_snapshot('src1', 'vm', '100', T0 + day * DAY, chunks=[A, B])
    pbs_fn.add_snapshot('src1', 'ct', '200', T0, chunks=[C])
    api.config.sync.post(id='s-local', store='dst1', **{
        'remote-store': 'src1', 'group-filter': ['type:vm'], 'transfer-last': 2})
    upid = api.admin.sync('s-local').run.post()
    assert upid.split(':')[6:8] == ['syncjob', '\\x2d\\x3asrc1\\x3adst1\\x3a\\x3as\\x2dlocal']
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    copied = api.admin.datastore('dst1').snapshots.get()
    assert [(s['backup-id'], s['backup-time']) for s in copied] == [('100', T0 + DAY), ('100', T0 + 2 * DAY)]
    assert api.admin.datastore('dst1').status.get()['used'] == 8 * MIB


def test_sync_from_a_remote_fake(pbs, pbs_fn, pbs_api, pbs_raw, wait_task):
    """pull from the session's server (another FakePbs in this process) through a remote, then push back."""
    pbs.run(pbs.pbs.add_datastore, 'remote-src')
    pbs.add_snapshot('remote-src', 'vm', '500', T0, chunks=[A, D])
    pbs.add_snapshot('remote-src', 'vm', '500', T0 + DAY, chunks=[A, D, C])
    api = pbs_api(pbs_fn)
    api.config.remote.post(name='peer', host=pbs.host, password=pbs.token_secret, fingerprint=pbs.fingerprint,
                           **{'auth-id': pbs.token_id})
    api.config.sync.post(id='s-peer', store='store1', remote='peer', **{
        'remote-store': 'remote-src', 'remove-vanished': 1})
    assert wait_task(pbs_fn, api.admin.sync('s-peer').run.post())['exitstatus'] == 'OK'
    assert len(api.admin.datastore('store1').snapshots.get()) == 2
    # the remote loses one; remove-vanished removes it here too
    pbs_api(pbs).admin.datastore('remote-src').snapshots.delete(**{'backup-type': 'vm', 'backup-id': '500',
                                                                   'backup-time': T0})
    upid = api.admin.sync('s-peer').run.post()
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    assert [s['backup-time'] for s in api.admin.datastore('store1').snapshots.get()] == [T0 + DAY]
    assert 'delete vanished snapshot vm/500/2026-01-01T00:00:00Z' in [
        line['t'] for line in api.nodes('localhost').tasks(upid).log.get()]
    # push a local snapshot to the remote
    pbs_fn.add_snapshot('store1', 'host', 'pushed', T0, chunks=[B])
    api.config.sync.post(id='s-push', store='store1', remote='peer', **{
        'remote-store': 'remote-src', 'sync-direction': 'push', 'group-filter': ['group:host/pushed']})
    assert wait_task(pbs_fn, api.admin.sync('s-push').run.post())['exitstatus'] == 'OK'
    assert 'pushed' in [s['backup-id'] for s in pbs_api(pbs).admin.datastore('remote-src').snapshots.get()]
    assert pbs_raw(pbs_fn, 'DELETE', '/config/remote/peer')[:2] == (
        400, "parameter verification errors\n\nparameter 'name': remote 'peer' is used by sync job 's-peer' "
             "(datastore 'store1')\n")
    # a wrong password fails the task with the remote's refusal
    api.config.remote('peer').put(password='wrong')
    status = wait_task(pbs_fn, api.admin.sync('s-peer').run.post())
    assert status['exitstatus'] == 'authentication failed - invalid API token'


def test_run_errors(pbs, pbs_raw):
    assert pbs_raw(pbs, 'POST', '/admin/sync/none-such/run')[:2] == (400, "no such sync 'none-such'")
    assert pbs_raw(pbs, 'POST', '/admin/verify/none-such/run')[:2] == (400, "no such verification 'none-such'")
    assert pbs_raw(pbs, 'POST', '/admin/prune/none-such/run')[:2] == (400, "no such prune 'none-such'")


@pytest.mark.pbs(datastores=['src1', 'dst1'], version='3.4.2')
def test_our_task_waiting_on_pbs_upids(pbs_fn, pbs_client):
    """plugins/module_utils/tasks.py reads the fake's UPIDs (escaped worker ids included) and failed tasks' logs."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxTaskError
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Upid, wait_for_task
    client = pbs_client(pbs_fn, 'ticket')
    assert client.get('/version') == {'version': '3.4', 'release': '2', 'repoid': pbs_fn.pbs.repoid}
    pbs_fn.add_snapshot('src1', 'vm', '100', T0, owner='backup@pbs')
    client.post('/config/sync', id='s-wait', store='dst1', **{'remote-store': 'src1'})
    upid = client.post('/admin/sync/s-wait/run')
    parsed = Upid(upid)
    assert parsed.is_pbs and (parsed.type, parsed.user) == ('syncjob', 'root@pam')
    assert wait_for_task(client, upid, 30).exitstatus == 'OK'
    assert client.get('/admin/datastore/dst1/snapshots')[0]['owner'] == 'root@pam'
    # client.post(path, **data) cannot take a parameter called `path`: request() can
    upid = client.request('POST', '/config/datastore', {'name': 'rel-path', 'path': 'relative/path'})
    with pytest.raises(ProxmoxTaskError) as caught:
        wait_for_task(client, upid, 30)
    assert caught.value.exitstatus == 'expected absolute path - got "relative/path"'
    assert caught.value.log_tail[-1] == 'TASK ERROR: expected absolute path - got "relative/path"'


@pytest.mark.pbs(datastores=['src1', 'dst1'])
def test_sync_maps_namespaces(pbs_fn, pbs_api, pbs_raw, wait_task):
    api = pbs_api(pbs_fn)
    for ns in ('prod', 'prod/web', 'prod/web/deep'):
        parent, _sep, name = ns.rpartition('/')
        api.admin.datastore('src1').namespace.post(name=name, **({'parent': parent} if parent else {}))
    api.admin.datastore('dst1').namespace.post(name='mirror')
    pbs_fn.add_snapshot('src1', 'vm', '100', T0, ns='prod')
    pbs_fn.add_snapshot('src1', 'vm', '101', T0, ns='prod/web')
    pbs_fn.add_snapshot('src1', 'vm', '102', T0, ns='prod/web/deep')
    pbs_fn.add_snapshot('src1', 'vm', '103', T0)
    api.config.sync.post(id='s-ns', store='dst1', ns='mirror', **{
        'remote-store': 'src1', 'remote-ns': 'prod', 'max-depth': 1})
    assert wait_task(pbs_fn, api.admin.sync('s-ns').run.post())['exitstatus'] == 'OK'
    assert [n['ns'] for n in api.admin.datastore('dst1').namespace.get()] == ['', 'mirror', 'mirror/web']
    assert [s['backup-id'] for s in api.admin.datastore('dst1').snapshots.get(ns='mirror')] == ['100']
    assert [s['backup-id'] for s in api.admin.datastore('dst1').snapshots.get(ns='mirror/web')] == ['101']
    assert api.admin.datastore('dst1').snapshots.get() == []
    # a target namespace that does not exist fails the task
    api.config.sync('s-ns').put(ns='nowhere')
    assert wait_task(pbs_fn, api.admin.sync('s-ns').run.post())['exitstatus'] == "namespace 'nowhere' does not exist"
