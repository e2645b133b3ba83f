# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_backup_job through ansible-playbook against both lab clusters (PVE 9 and 8)."""

import uuid

import pytest

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_create_modify_delete(lab, index):
    cluster = lab.clusters[index]
    job_id = 'it-' + uuid.uuid4().hex[:8]
    # A privilege-separated token holding only what docs/privileges.md lists for pve_backup_job (the job's storage
    # is `local`).
    token = least_privilege_token(cluster, 'pve_backup_job', storage='local')
    run = run_playbook(target('pve_backup_job'), lab, extra_vars={'pve': token, 'job_id': job_id}, diff=True)
    assert run.ok, run.explain()
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # The cleanup removed it from the cluster's jobs.cfg.
    assert job_id not in cluster.pve.backup_jobs
