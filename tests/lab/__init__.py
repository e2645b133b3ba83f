# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab: a local Proxmox estate on loopback that behaves like the real API (see docs/lab.md).

    python -m tests.lab up --clusters 2 --nodes 3 --guests 20
    python -m tests.lab down

In tests, the fixtures of tests.lab.pytest_plugin (`lab`, `lab_fn`) and `run_playbook`.
"""

from .estate import Cluster, Estate
from .lab import Lab
from .pve import LabPve

__all__ = ['Cluster', 'Estate', 'Lab', 'LabPve']
