# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fake Proxmox Backup Server for the lab: FakePbs (server.py), its parameter specs (specs.py), its state
(model.py) and areas (config.py, admin.py); PbsInstance and PbsServer (serve.py) run one under a lab CA, on
the caller's loop or in a thread; pytest_plugin.py has the fixtures and __main__.py the command line."""

from .server import FakePbs

__all__ = ['FakePbs']
