# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's /config area: datastores (tasks), remotes, sync / verify / prune jobs; digests and errors."""

import re

import pytest

STALE = 'detected modified configuration - file changed by other user? Try again.'
UPID_RE = re.compile(r'^UPID:localhost:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:([^:]+):([^:]*):([^:]+):$')


def param_error(name, message):
    return "parameter verification errors\n\nparameter '{0}': {1}\n".format(name, message)


def test_datastore_lifecycle(pbs_fn, pbs_api, pbs_raw, wait_task):
    api = pbs_api(pbs_fn)
    upid = api.config.datastore.post(name='ds-life', path='/mnt/ds-life', comment='first', **{
        'gc-schedule': 'daily', 'keep-last': 3, 'keep-daily': 7, 'prune-schedule': 'hourly'})
    found = UPID_RE.match(upid)
    assert found.groups() == ('create-datastore', 'ds\\x2dlife', 'root@pam!lab')
    status = wait_task(pbs_fn, upid)
    assert (status['exitstatus'], status['type'], status['id'], status['user'], status['tokenid']) == (
        'OK', 'create-datastore', 'ds-life', 'root@pam', 'lab')
    log = api.nodes('localhost').tasks(upid).log.get()
    assert log[0] == {'n': 1, 't': 'Chunkstore create: 0%'} and log[-1]['t'] == 'TASK OK'
    # keep options become a prune job, as PBS 3+ does; the datastore keeps none of them
    read = api.config.datastore('ds-life').get()
    assert read == {'name': 'ds-life', 'path': '/mnt/ds-life', 'comment': 'first', 'gc-schedule': 'daily'}
    jobs = [j for j in api.config.prune.get() if j['store'] == 'ds-life']
    assert len(jobs) == 1 and jobs[0]['id'].startswith('default-ds-life-') and len(jobs[0]['id']) == 32
    assert (jobs[0]['keep-last'], jobs[0]['keep-daily'], jobs[0]['schedule']) == (3, 7, 'hourly')
    # update with digest and delete list
    digest = pbs_raw(pbs_fn, 'GET', '/config/datastore/ds-life')[2]['digest']
    api.config.datastore('ds-life').put(comment='second', delete=['gc-schedule'], digest=digest)
    assert api.config.datastore('ds-life').get() == {'name': 'ds-life', 'path': '/mnt/ds-life', 'comment': 'second'}
    assert pbs_raw(pbs_fn, 'PUT', '/config/datastore/ds-life', comment='x', digest=digest)[:2] == (400, STALE)
    assert pbs_raw(pbs_fn, 'PUT', '/config/datastore/ds-life', **{'keep-last': 2})[:2] == (
        400, param_error('keep-last', 'datastore prune settings have been replaced by prune jobs'))
    assert pbs_raw(pbs_fn, 'PUT', '/config/datastore/ds-life', delete='nothing')[:2] == (
        400, param_error('delete[0]', "value 'nothing' is not defined in the enumeration."))
    # a blank comment removes it, as PBS does
    api.config.datastore('ds-life').put(comment='  ')
    assert 'comment' not in api.config.datastore('ds-life').get()
    # delete: a task; the jobs go with it unless keep-job-configs
    api.config.verify.post(id='v-ds-life', store='ds-life')
    upid = api.config.datastore('ds-life').delete()
    assert UPID_RE.match(upid).group(1) == 'delete-datastore'
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    assert 'ds-life' not in [d['name'] for d in api.config.datastore.get()]
    assert not [j for j in api.config.prune.get() + api.config.verify.get() if j['store'] == 'ds-life']
    assert pbs_raw(pbs_fn, 'DELETE', '/config/datastore/ds-life')[:2] == (404, "datastore 'ds-life' does not exist.")
    assert pbs_raw(pbs_fn, 'GET', '/config/datastore/ds-life')[:2] == (400, "no such datastore 'ds-life'")


def test_datastore_errors(pbs_fn, pbs_api, pbs_raw, wait_task):
    api = pbs_api(pbs_fn)
    assert pbs_raw(pbs_fn, 'POST', '/config/datastore', name='store1', path='/x')[:2] == (
        400, param_error('name', "datastore 'store1' already exists."))
    assert pbs_raw(pbs_fn, 'POST', '/config/datastore', name='other', path='/mnt/datastore/store1')[:2] == (
        400, param_error('path', "path '/mnt/datastore/store1' is already in use by datastore 'store1'"))
    assert pbs_raw(pbs_fn, 'POST', '/config/datastore', name='other')[:2] == (
        400, param_error('path', 'parameter is missing and it is not optional.'))
    assert pbs_raw(pbs_fn, 'POST', '/config/datastore', name='bad name', path='/x', colour='red')[:2] == (
        400, "parameter verification errors\n\nparameter 'colour': schema does not allow additional properties.\n"
             "parameter 'name': value does not match the regex pattern\n")
    assert pbs_raw(pbs_fn, 'POST', '/config/datastore', name='sched', path='/x', **{'gc-schedule': 'whenever'})[:2] == (
        400, param_error('gc-schedule', "unable to parse calendar event 'whenever'"))
    # a relative path fails the task, in ChunkStore::create's words
    upid = api.config.datastore.post(name='relative', path='data/relative')
    status = wait_task(pbs_fn, upid)
    assert status['exitstatus'] == 'expected absolute path - got "data/relative"'
    assert api.nodes('localhost').tasks(upid).log.get()[-1]['t'] == 'TASK ERROR: expected absolute path - got "data/relative"'
    assert 'relative' not in [d['name'] for d in api.config.datastore.get()]


def test_datastore_data_kept_and_reused(pbs_fn, pbs_api, wait_task):
    api = pbs_api(pbs_fn)
    pbs_fn.add_snapshot('store1', 'vm', '100', 1767225600)
    api.config.sync.post(id='s-kept', store='store1', **{'remote-store': 'store2', 'remote': 'r-kept'})
    wait_task(pbs_fn, api.config.datastore('store1').delete(**{'keep-job-configs': 1}))
    assert [j['id'] for j in api.config.sync.get()] == ['s-kept']
    upid = api.config.datastore.post(name='again', path='/mnt/datastore/store1')
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'datastore path not empty'
    upid = api.config.datastore.post(name='again', path='/mnt/datastore/store1', **{'reuse-datastore': 1})
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    assert len(api.admin.datastore('again').snapshots.get()) == 1
    wait_task(pbs_fn, api.config.datastore('again').delete(**{'destroy-data': 1}))
    upid = api.config.datastore.post(name='fresh', path='/mnt/datastore/store1')
    assert wait_task(pbs_fn, upid)['exitstatus'] == 'OK'
    assert api.admin.datastore('fresh').snapshots.get() == []


def test_remote_lifecycle(pbs, pbs_api, pbs_raw):
    api = pbs_api(pbs)
    api.config.remote.post(name='r-life', host='pbs2.example.org', password='s3cret', comment='one', **{
        'auth-id': 'sync@pbs!job', 'fingerprint': ':'.join(['AB'] * 32), 'port': 8007})
    item = api.config.remote('r-life').get()
    assert item == {'name': 'r-life', 'host': 'pbs2.example.org', 'port': 8007, 'auth-id': 'sync@pbs!job',
                    'fingerprint': ':'.join(['AB'] * 32), 'comment': 'one'}
    assert 'password' not in [k for r in api.config.remote.get() for k in r]
    digest = pbs_raw(pbs, 'GET', '/config/remote')[2]['digest']
    api.config.remote('r-life').put(delete=['fingerprint', 'port'], password='new', digest=digest)
    assert pbs_raw(pbs, 'PUT', '/config/remote/r-life', comment='two', digest=digest)[:2] == (400, STALE)
    assert set(api.config.remote('r-life').get()) == {'name', 'host', 'auth-id', 'comment'}
    assert pbs_raw(pbs, 'POST', '/config/remote', name='r-life', host='h1', password='x', **{'auth-id': 'a@pbs'})[:2] == (
        400, param_error('name', "remote 'r-life' already exists."))
    assert pbs_raw(pbs, 'POST', '/config/remote', name='r-bad', host='h1', password='x', **{'auth-id': 'nobody'})[:2] == (
        400, param_error('auth-id', 'value does not match the regex pattern'))
    assert pbs_raw(pbs, 'PUT', '/config/remote/r-life', port='eighty')[:2] == (
        400, param_error('port', 'invalid digit found in string'))
    api.config.remote('r-life').delete()
    assert pbs_raw(pbs, 'DELETE', '/config/remote/r-life')[:2] == (404, "remote 'r-life' does not exist.")
    assert pbs_raw(pbs, 'GET', '/config/remote/r-life')[:2] == (400, "no such remote 'r-life'")


@pytest.mark.parametrize('path, section, create, update, deletable', [
    ('sync', 'sync', {'store': 'store1', 'remote-store': 'src1', 'remote': 'rem1', 'schedule': 'hourly',
                      'group-filter': ['type:vm', 'exclude:group:vm/100'], 'rate-in': '10 MiB', 'max-depth': 2,
                      'remove-vanished': 1, 'transfer-last': 2, 'owner': 'sync@pbs'},
     {'comment': 'pull it', 'sync-direction': 'pull', 'ns': 'a/b'}, 'group-filter'),
    ('verify', 'verification', {'store': 'store1', 'ignore-verified': 1, 'outdated-after': 30, 'schedule': 'daily'},
     {'comment': 'check it', 'max-depth': 3}, 'outdated-after'),
    ('prune', 'prune', {'store': 'store1', 'schedule': 'daily', 'keep-last': 3, 'keep-weekly': 4},
     {'comment': 'trim it', 'keep-daily': 7}, 'keep-weekly'),
])
def test_job_lifecycle(pbs, pbs_api, pbs_raw, path, section, create, update, deletable):
    api = pbs_api(pbs)
    job_id = '{0}-life'.format(path)
    getattr(api.config, path).post(id=job_id, **create)
    item = getattr(api.config, path)(job_id).get()
    assert item['id'] == job_id and item[deletable] == create[deletable]
    digest = pbs_raw(pbs, 'GET', '/config/' + path)[2]['digest']
    getattr(api.config, path)(job_id).put(delete=[deletable], digest=digest, **update)
    item = getattr(api.config, path)(job_id).get()
    assert deletable not in item and all(item[k] == (v if k != 'max-depth' else 3) for k, v in update.items())
    assert pbs_raw(pbs, 'PUT', '/config/{0}/{1}'.format(path, job_id), comment='x', digest=digest)[:2] == (400, STALE)
    assert pbs_raw(pbs, 'POST', '/config/' + path, id=job_id, **create)[:2] == (
        400, param_error('id', "job '{0}' already exists.".format(job_id)))
    assert pbs_raw(pbs, 'PUT', '/config/{0}/{1}'.format(path, job_id), delete='store')[:2] == (
        400, param_error('delete[0]', "value 'store' is not defined in the enumeration."))
    getattr(api.config, path)(job_id).delete()
    assert pbs_raw(pbs, 'DELETE', '/config/{0}/{1}'.format(path, job_id))[:2] == (
        404, "job '{0}' does not exist.".format(job_id))
    assert pbs_raw(pbs, 'GET', '/config/{0}/{1}'.format(path, job_id))[:2] == (
        400, "no such {0} '{1}'".format(section, job_id))


def test_job_errors(pbs, pbs_raw):
    assert pbs_raw(pbs, 'POST', '/config/sync', id='same', store='store1', **{'remote-store': 'store1'})[:2] == (
        400, "source and target datastore can't be the same")
    assert pbs_raw(pbs, 'POST', '/config/sync', id='dir', store='store1', **{
        'remote-store': 'x12', 'remote': 'r12', 'sync-direction': 'sideways'})[:2] == (
        400, param_error('sync-direction', "value 'sideways' is not defined in the enumeration."))
    assert pbs_raw(pbs, 'POST', '/config/prune', id='nosched', store='store1')[:2] == (
        400, param_error('schedule', 'parameter is missing and it is not optional.'))
    assert pbs_raw(pbs, 'POST', '/config/prune', id='keep0', store='store1', schedule='daily', **{'keep-last': 0})[:2] == (
        400, param_error('keep-last', 'value must have a minimum value of 1 (got 0)'))
    assert pbs_raw(pbs, 'POST', '/config/verify', id='bool1', store='store1', **{'ignore-verified': 'maybe'})[:2] == (
        400, param_error('ignore-verified', 'Unable to parse boolean option.'))
    # PBS's `delete` is an array (repeated keys), not PVE's comma-separated list
    assert pbs_raw(pbs, 'PUT', '/config/verify/v-none', delete='comment,schedule')[:2] == (
        400, param_error('delete[0]', "value 'comment,schedule' is not defined in the enumeration."))
    assert pbs_raw(pbs, 'PUT', '/config/verify/v-none', digest='abc')[:2] == (
        400, param_error('digest', 'value does not match the regex pattern'))


def test_sync_list_by_direction(pbs, pbs_api):
    api = pbs_api(pbs)
    api.config.sync.post(id='dir-pull', store='store1', **{'remote-store': 'x12', 'remote': 'r12'})
    api.config.sync.post(id='dir-push', store='store1', **{'remote-store': 'x12', 'remote': 'r12',
                                                           'sync-direction': 'push'})

    def ids(**kw):
        return [j['id'] for j in api.config.sync.get(**kw) if j['id'].startswith('dir-')]
    try:
        assert ids() == ['dir-pull']
        assert ids(**{'sync-direction': 'push'}) == ['dir-push']
        assert ids(**{'sync-direction': 'all'}) == ['dir-pull', 'dir-push']
    finally:
        api.config.sync('dir-pull').delete()
        api.config.sync('dir-push').delete()


def test_json_bodies_and_our_client(pbs, pbs_client):
    import requests
    headers = {'Authorization': 'PBSAPIToken={0}:{1}'.format(pbs.token_id, pbs.token_secret)}
    answer = requests.post(pbs.url + '/api2/json/config/verify', json={'id': 'json-v', 'store': 'store1',
                                                                       'ignore-verified': False, 'max-depth': 2},
                           headers=headers, verify=pbs.ca_path, timeout=30)
    assert answer.status_code == 200
    client = pbs_client(pbs)
    assert client.get('/config/verify/json-v')['ignore-verified'] is False
    client.put('/config/verify/json-v', delete=['max-depth', 'ignore-verified'], comment='listed')
    item = client.get('/config/verify/json-v')
    # Our client hands over the digest PBS puts beside `data`.
    assert item.pop('digest') and item == {'id': 'json-v', 'store': 'store1', 'comment': 'listed'}
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError
    with pytest.raises(ProxmoxApiError) as caught:
        client.get('/config/verify/json-nope')
    assert caught.value.status_code == 400 and "no such verification 'json-nope'" in str(caught.value)
    client.delete('/config/verify/json-v')
