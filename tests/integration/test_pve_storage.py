# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_storage through ansible-playbook against both lab clusters (PVE 9 and 8)."""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook


@pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])
def test_create_modify_delete(lab, index):
    cluster = lab.clusters[index]
    sid = 'it-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pve_storage'), lab, extra_vars={'pve': pve_vars(cluster), 'sid': sid}, diff=True)
    assert run.ok, run.explain()
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # The failed runs wrote nothing, and the cleanup removed every storage the play made.
    assert not [name for name in cluster.pve.storages if name.startswith(sid)]
