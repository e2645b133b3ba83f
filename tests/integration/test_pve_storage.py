# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_storage through ansible-playbook against the lab's PVE 9 cluster.

The /storage options the module manages are the same on PVE 8 and 9 (pve-storage's plugins), so one cluster
keeps the suite fast.
"""

import uuid

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def test_create_modify_delete(lab):
    cluster = lab.clusters[0]
    sid = 'it-' + uuid.uuid4().hex[:8]
    # A privilege-separated token holding only what docs/privileges.md lists for pve_storage.
    token = least_privilege_token(cluster, 'pve_storage', id=sid)
    run = run_playbook(target('pve_storage'), lab, extra_vars={'pve': token, 'sid': sid}, diff=True)
    assert run.ok, run.explain()
    created = run.result('Create')
    assert created['changed'] and created['diff']['before'] == {}
    # The failed runs wrote nothing, and the cleanup removed every storage the play made.
    assert not [name for name in cluster.pve.storages if name.startswith(sid)]
