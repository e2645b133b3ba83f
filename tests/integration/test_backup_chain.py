# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 6's chain in one playbook: PBS datastore -> PVE pbs storage -> backup job -> backups now -> snapshots on
PBS -> sync to a second datastore -> verify -> prune -> restore onto the other cluster."""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook


@pytest.mark.lab(clusters=2, nodes=2, guests=4)
def test_backup_chain(lab_fn):
    one, two = lab_fn.clusters
    pbs = lab_fn.pbs
    tag = 'chain-' + uuid.uuid4().hex[:6]
    pbs_vars = {'host': pbs.host, 'port': pbs.port, 'token_id': pbs.token_id, 'token_secret': pbs.token_secret,
                'ca_path': pbs.ca_path, 'fingerprint': pbs.fingerprint}
    extra = {'one': pve_vars(one), 'two': pve_vars(two), 'pbs': pbs_vars, 'tag': tag}
    run = run_playbook(target('backup_chain'), lab_fn, extra_vars=extra)
    assert run.ok, run.explain()
    restored = two.pve.vm(900)
    assert restored is not None and restored.status == 'running'
    assert restored.config['name'] == one.pve.vm(100).config['name']
    assert len(pbs.pbs.datastores[tag + '-offsite'].snapshots) == 2
