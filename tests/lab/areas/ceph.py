# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ceph: init, monitors, managers, metadata servers, pools, OSDs and flags (pve-manager's PVE/API2/Ceph*.pm)."""


class CephArea(object):
    """Mixin of LabPve: the cluster's hyper-converged Ceph."""
