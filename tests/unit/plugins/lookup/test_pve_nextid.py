# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/lookup/pve_nextid.py: a start VMID never lands on a guest the user cannot see."""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.lookup.pve_nextid import next_free
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError


class _Cluster(object):
    """Guests 100..104 exist; the user may audit only 100 and 101 (/cluster/resources); nextid sees them all."""

    def __init__(self, taken, visible):
        self.taken, self.visible = set(taken), set(visible)
        self.checked = []

    def get(self, path, **params):
        if path == '/cluster/resources':
            return [{'vmid': vmid, 'type': 'qemu'} for vmid in sorted(self.visible)]
        assert path == '/cluster/nextid'
        if 'vmid' not in params:
            return str(min(set(range(100, 1000)) - self.taken))
        self.checked.append(params['vmid'])
        if params['vmid'] in self.taken:
            raise ProxmoxApiError('VM {0} already exists'.format(params['vmid']), status_code=400,
                                  errors={'vmid': 'VM {0} already exists'.format(params['vmid'])})
        return str(params['vmid'])


def test_a_start_vmid_skips_the_guests_the_user_cannot_audit():
    cluster = _Cluster(taken=range(100, 105), visible=(100, 101))
    assert next_free(cluster, 100) == 105
    # The visible ones were skipped without asking; each hidden one cost one check.
    assert cluster.checked == [102, 103, 104, 105]


def test_with_every_guest_visible_one_check_suffices():
    cluster = _Cluster(taken=range(100, 105), visible=range(100, 105))
    assert next_free(cluster, 101) == 105 and cluster.checked == [105]
    assert next_free(cluster, None) == 105
