# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Proxmox Backup Server for the lab: FakePbs (server.py), its parameter specs (specs.py), its state
(model.py) and areas (config.py, admin.py); PbsServer (serve.py) runs one under the lab CA in a thread."""

from .server import FakePbs

__all__ = ['FakePbs']
