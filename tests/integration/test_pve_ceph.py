# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_ceph, pve_ceph_osd, pve_ceph_pool and pve_ceph_info through ansible-playbook, on a fresh lab cluster.

Ceph is cluster-wide and, once initialised, stays: the test gets an estate of its own.
"""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook


@pytest.mark.lab(clusters=1, nodes=3, guests=0)
def test_ceph(lab_fn):
    cluster = lab_fn.clusters[0]
    pool = 'it-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pve_ceph'), lab_fn, extra_vars={'pve': pve_vars(cluster), 'pool': pool}, diff=True)
    assert run.ok, run.explain()
    state = cluster.pve.cephx
    assert not [name for name in state['pools'] if name.startswith(pool)]
    assert not [name for name in cluster.pve.storages if name.startswith(pool)]
    assert state['scrubs'] == [(0, True)]
    assert sorted(state['osds']) == [1, 2]
    sdb = [d for d in cluster.pve.ceph_disks(cluster.nodes[0]) if d['devpath'] == '/dev/sdb'][0]
    assert 'used' not in sdb
