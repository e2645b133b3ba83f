# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_ha_resource, pve_ha_group and pve_ha_rule through ansible-playbook against the lab (PVE 9 and PVE 8).

Each test has its own estate (lab_fn): HA resources change how guests start, stop and migrate, which other
suites sharing the session's lab must not see.
"""

import json
import sys
import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.lab.pytest_plugin import run_playbook

# Three clusters, so that the PVE 9 one (lab1) has containers too (every fourth guest is one).
pytestmark = pytest.mark.lab(clusters=3, nodes=3, guests=24)
CLUSTERS = pytest.mark.parametrize('index', [0, 1], ids=['pve9', 'pve8'])


def guests(cluster):
    """(VM ids, container ids) of a cluster, lowest first."""
    return sorted(vm.vmid for vm in cluster.pve.vms), sorted(ct.vmid for ct in cluster.pve.cts)


def writes_to(cluster, ident):
    return [w for w in cluster.pve.ha_writes if w[1] == ident]


@CLUSTERS
def test_resource_create_modify_delete(lab_fn, index):
    cluster = lab_fn.clusters[index]
    vms, cts = guests(cluster)
    sid = 'vm:{0}'.format(vms[0])
    run = run_playbook(target('pve_ha_resource'), lab_fn, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'sid': sid, 'ct_vmid': cts[0], 'missing_vmid': 99999})
    assert run.ok, run.explain()
    # One create, one update, one delete: the idempotent runs and the refused ones wrote nothing.
    assert writes_to(cluster, sid) == [('resources', sid)] * 3
    assert writes_to(cluster, 'ct:{0}'.format(cts[0])) == []
    assert cluster.pve.ha_resources == {}
    assert cluster.pve.vm(vms[0]).ha_state is None
