# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_nextid and pve_resources through ansible-playbook against both lab clusters."""

from tests.integration.conftest import target
from tests.lab.pytest_plugin import run_playbook


def test_lookups(lab):
    guests = [(c.name, g) for c in lab.clusters for g in list(c.pve.vms) + list(c.pve.cts)]
    cluster, guest = guests[len(guests) // 2]
    extra = {'expected_guest_count': len(guests),
             'expected_guest': {'name': guest.name, 'vmid': guest.vmid, 'cluster': cluster}}
    run = run_playbook(target('lookups'), lab, extra_vars=extra)
    assert run.ok, run.explain()
    assert len(run.failed) == 2  # the two expected failures, checked by the playbook
