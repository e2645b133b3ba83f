# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/lab/areas/lxc_extra.py: destroying a container with `purge` takes it out of the backup jobs, as PVE does.

A fresh estate (lab_fn) of one cluster with 8 guests: containers 103 and 107.
"""

import pytest

from tests.lab.areas.lxc_extra import remove_vmid_from_job

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=8, pbs=False)


@pytest.mark.parametrize('job, vmid, after', [
    ({'vmid': '100,103'}, 103, {'vmid': '100'}),
    ({'vmid': '103'}, 103, None),
    ({'vmid': '100 104'}, 103, {'vmid': '100,104'}),
    ({'all': 1, 'exclude': '103,105'}, 103, {'all': 1, 'exclude': '105'}),
    ({'all': 1, 'exclude': '103'}, 103, {'all': 1}),
    ({'pool': 'web'}, 103, {'pool': 'web'}),
])
def test_remove_vmid_from_job(job, vmid, after):
    assert remove_vmid_from_job(job, vmid) == after


def destroy(lab_fn, api, until, vmid, **params):
    cluster = lab_fn.clusters[0]
    ct = cluster.pve.ct(vmid)
    client = api(cluster)
    upid = client.nodes(ct.node).lxc(vmid).delete(**params)
    task = client.nodes(ct.node).tasks(upid).status

    def stopped():
        answer = task.get()
        return answer if answer['status'] == 'stopped' else None

    status = until(stopped, 'the destroy task')
    assert status['exitstatus'] == 'OK', status
    assert cluster.pve.ct(vmid) is None


def add_jobs(lab_fn, api):
    backup = api(lab_fn.clusters[0]).cluster.backup
    backup.post(id='only-103', schedule='daily', storage='local', vmid='103')
    backup.post(id='mixed', schedule='daily', storage='local', vmid='100,103,107')
    backup.post(id='all-but', schedule='daily', storage='local', all=1, exclude='103')
    return backup


def test_purge_takes_the_container_out_of_backup_jobs(lab_fn, api, until):
    backup = add_jobs(lab_fn, api)
    destroy(lab_fn, api, until, 103, purge=1)
    jobs = dict((job['id'], job) for job in backup.get())
    assert 'only-103' not in jobs
    assert jobs['mixed']['vmid'] == '100,107'
    assert 'exclude' not in jobs['all-but'] and jobs['all-but']['all'] == 1


def test_without_purge_the_jobs_stay(lab_fn, api, until):
    backup = add_jobs(lab_fn, api)
    destroy(lab_fn, api, until, 103)
    jobs = dict((job['id'], job) for job in backup.get())
    assert jobs['only-103']['vmid'] == '103' and jobs['mixed']['vmid'] == '100,103,107'
    assert jobs['all-but']['exclude'] == '103'
