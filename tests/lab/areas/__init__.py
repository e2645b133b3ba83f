# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's stateful API areas, one module each, mixed into fakepve's FakePve by tests.lab.pve.

An area is a mixin with methods named `_routes_<area>` returning (method, schema path, handler);
handlers are `async def (self, values, user)` and run after fakepve's schema and permission checks.
"""

from .backup_jobs import BackupJobsArea
from .certificates import CertificatesArea
from .migrate import MigrateArea
from .tokens import TokensArea
from .version import VersionArea
from .vzdump import VzdumpArea

# In method resolution order: the lab's PVE class lists them before FakePve.
AREAS = (BackupJobsArea, VzdumpArea, MigrateArea, TokensArea, VersionArea, CertificatesArea)

__all__ = ['AREAS', 'BackupJobsArea', 'CertificatesArea', 'MigrateArea', 'TokensArea', 'VersionArea', 'VzdumpArea']
