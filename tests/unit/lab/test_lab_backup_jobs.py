# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/cluster/backup: create, read, update, delete, and PVE's errors.

Each test has a fresh estate (lab_fn): the session's `lab` is shared with other suites, which must not
find these jobs.
"""

import re

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=6)


def fails(call, *args, **kwargs):
    with pytest.raises(ResourceException) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def backup(lab_fn, api):
    return api(lab_fn.clusters[0]).cluster.backup


def test_create_with_generated_id_then_read_back(backup):
    before = set(j['id'] for j in backup.get())
    assert backup.post(schedule='sun 01:30', storage='local', vmid='100,104', mode='snapshot', compress='zstd',
                       **{'notes-template': '{{guestname}} ({{vmid}})', 'prune-backups': 'keep-last=3'}) is None
    created = [j for j in backup.get() if j['id'] not in before]
    assert len(created) == 1
    job = created[0]
    # PVE's API names a job with a UUID when the request gives no id (the web UI sends backup-<hex>).
    assert re.fullmatch(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', job['id'])
    assert job['type'] == 'vzdump' and job['enabled'] == 1 and job['schedule'] == 'sun 01:30'
    assert job['vmid'] == '100,104' and job['prune-backups'] == 'keep-last=3'
    assert isinstance(job['next-run'], int)
    one = backup(job['id']).get()
    assert 'next-run' not in one
    assert dict(one, **{'next-run': job['next-run']}) == job


def test_update_with_delete_list_and_selection_switch(backup):
    backup.post(id='backup-upd1', schedule='02:00', storage='local', vmid='100', comment='nightly', enabled=0)
    job = backup('backup-upd1')
    assert job.get()['enabled'] == 0
    job.put(schedule='mon..fri 03:15', enabled=1, delete='comment')
    got = job.get()
    assert got['schedule'] == 'mon..fri 03:15' and got['enabled'] == 1 and 'comment' not in got
    # Selecting all guests drops the vmid list, as PVE does; exclude implies all.
    job.put(exclude='101')
    got = job.get()
    assert got['all'] == 1 and got['exclude'] == '101' and 'vmid' not in got
    job.put(vmid='102,103')
    got = job.get()
    assert got['vmid'] == '102,103' and 'all' not in got and 'exclude' not in got
    backup('backup-upd1').delete()
    assert 'backup-upd1' not in [j['id'] for j in backup.get()]


def test_starttime_and_dow_become_schedule(backup):
    backup.post(id='backup-legacy', starttime='04:05', dow='sat,sun', all=1, storage='local')
    got = backup('backup-legacy').get()
    assert got['schedule'] == 'sat,sun 04:05' and 'starttime' not in got and 'dow' not in got
    backup.post(id='backup-legacy2', starttime='04:05', dow='mon,tue,wed,thu,fri,sat,sun', all=1)
    assert backup('backup-legacy2').get()['schedule'] == '04:05'


def test_no_digest_on_backup_jobs(backup):
    # PVE's backup job methods take no digest: the schema refuses it like any unknown parameter.
    backup.post(id='backup-dig', schedule='05:00', vmid='100')
    assert 'digest' not in backup('backup-dig').get()
    error = fails(backup('backup-dig').put, schedule='06:00', digest='0' * 40)
    assert error.status_code == 400
    assert error.errors == {'digest': 'property is not defined in schema and the schema does not allow additional '
                                      'properties'}
    assert backup('backup-dig').get()['schedule'] == '05:00'


def test_create_errors(lab_fn, raw, backup):
    def post(**params):
        status, body = raw(lab_fn.clusters[0], 'POST', '/cluster/backup', **params)
        return status, body['message']
    backup.post(id='backup-dup', schedule='05:00', vmid='100')
    error = fails(backup.post, id='backup-dup', schedule='05:00', vmid='100')
    assert error.status_code == 500
    assert error.content == "error during cfs-locked 'file-jobs_cfg' operation: Job 'backup-dup' already exists"
    error = fails(backup.post, vmid='100')
    assert error.status_code == 400 and error.errors == {'schedule': "neither 'starttime' nor 'schedule' were set"}
    error = fails(backup.post, schedule='05:00', starttime='05:00', vmid='100')
    assert error.status_code == 400 and error.errors == {'starttime': "'starttime' and 'schedule' cannot both be set"}
    # Checked under the jobs.cfg lock, then re-raised as text: a 500 with PVE's stringified exception.
    assert post(schedule='05:00', storage='local') == (
        500, '400 Parameter verification failed.\nvmid: property is missing\n')
    assert post(schedule='05:00', all=1, vmid='100') == (
        500, "400 Parameter verification failed.\nall: option conflicts with option 'vmid'\n")
    error = fails(backup.post, schedule='05:00', pool='nosuchpool')
    assert error.status_code == 403 and error.content == "Permission check failed (pool 'nosuchpool' does not exist)"
    assert post(schedule='05:00', all=1, storage='local', **{'notes-template': '{{name}}'}) == (
        500, "400 Parameter verification failed.\nnotes-template: found unknown: variable 'name' at char 2\n")


def test_update_and_delete_errors(lab_fn, raw, backup):
    backup.post(id='backup-err', schedule='05:00', vmid='100')
    status, body = raw(lab_fn.clusters[0], 'PUT', '/cluster/backup/backup-err', delete='nosuchoption')
    assert status == 500
    assert body['message'] == ("error during cfs-locked 'file-vzdump_cron' operation: 400 Parameter verification "
                               "failed.\ndelete: unknown option 'nosuchoption'\n")
    error = fails(backup('backup-nosuch').put, schedule='07:00')
    assert error.status_code == 500
    assert error.content == ("error during cfs-locked 'file-vzdump_cron' operation: error during cfs-locked "
                             "'file-jobs_cfg' operation: no such vzdump job")
    error = fails(backup('backup-err').put)
    assert error.content.endswith("operation: no options specified")
    error = fails(backup('backup-nosuch').get)
    assert error.status_code == 400 and error.errors == {'id': "No such job 'backup-nosuch'"}
    status, body = raw(lab_fn.clusters[0], 'DELETE', '/cluster/backup/backup-nosuch')
    assert status == 500
    assert body['message'] == ("error during cfs-locked 'file-vzdump_cron' operation: 400 Parameter verification "
                               "failed.\nid: No such job 'backup-nosuch'\n")


def test_permissions_of_an_ordinary_user(lab_fn, api):
    cluster = lab_fn.clusters[0]
    cluster.pve.users['backup-op@pve'] = 'op-secret'
    client = api(cluster, auth='ticket', user='backup-op@pve', password='op-secret')
    error = fails(client.cluster.backup.get)
    assert error.status_code == 403 and error.content == 'Permission check failed (/, Sys.Audit)'
    root = api(cluster)
    root.access.acl.put(path='/', roles='PVEAuditor', users='backup-op@pve')
    assert isinstance(client.cluster.backup.get(), list)
    # Sys.Modify is in no built-in role but Administrator (PVESysAdmin lacks it, as in PVE::AccessControl)
    root.access.roles.post(roleid='BackupOp', privs='Sys.Modify')
    root.access.acl.put(path='/', roles='BackupOp', users='backup-op@pve')
    error = fails(client.cluster.backup.post, schedule='05:00', vmid='100', dumpdir='/tmp')
    assert error.status_code == 400 and error.errors == {'dumpdir': 'Only root may set this option.'}
    error = fails(client.cluster.backup.post, schedule='05:00', vmid='100', storage='local')
    assert error.status_code == 403 and error.content == 'Permission check failed (/storage/local, Datastore.Allocate)'
    root.access.acl.put(path='/storage', roles='PVEDatastoreAdmin', users='backup-op@pve')
    client.cluster.backup.post(id='backup-op', schedule='05:00', vmid='100', storage='local')
    assert client.cluster.backup('backup-op').get()['storage'] == 'local'
