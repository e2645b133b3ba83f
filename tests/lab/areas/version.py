# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PVE version of a cluster: GET /version and GET /nodes/{node}/version.

`pve.version` ('9.0.10', '8.4.14', ...) is the manager version of every node; `release` is its
major.minor, and `repoid` a hex commit id as PVE reports it. Code that differs between PVE 8 and 9
(HA groups on 8, HA rules on 9) reads it here, as it does on a real cluster.
"""

import hashlib

from fakepve.routing import StatefulRoutes


def release_of(version):
    """'9.0.10' -> '9.0'."""
    return '.'.join(str(version).split('.')[:2])


def major_of(version):
    """'8.4.14' -> 8."""
    return int(str(version).split('.', maxsplit=1)[0])


class VersionArea(StatefulRoutes):
    """Mixin of the lab's PVE: the version answers of the cluster and of each node."""

    def set_version(self, version):
        """Make the cluster run PVE `version` (e.g. '8.4.14')."""
        self.version = str(version)
        self.release_version = release_of(version)

    def _version_data(self):
        repoid = hashlib.sha1('pve-manager-{0}'.format(self.version).encode()).hexdigest()[:16]
        return {'version': self.version, 'release': release_of(self.version), 'repoid': repoid}

    async def _version(self, request):
        """GET /version (a hand-written route in fakepve): with a repoid as the schema wants it."""
        from fakepve.server import ok
        return ok(self._version_data())

    def _routes_node_version(self):
        return [('GET', '/nodes/{node}/version', self._node_version)]

    async def _node_version(self, v, user):
        return self._version_data()
