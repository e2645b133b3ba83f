# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PVE 8.4 clusters check every request against the PVE 8.4 API schema, as a real 8.4 does.

fakepve carries PVE 9's schema (the API viewer's data) and checks every request against it: parameters with
PVE::JSONSchema::validate's wording (400 'Parameter verification failed.' with one message per parameter, e.g.
'property is not defined in schema and the schema does not allow additional properties'), then permissions.
A cluster of the lab that runs 8.x does the same with the PVE 8.4 schema instead: fakepve's own validator, path
resolution and permission checks, given 8.4's schema tree. So a PVE 9 key (`allow-ksm`, storage
`snapshot-as-volume-chain`, HA `failback`, SDN `lock-token`) is refused there with PVE's wording, a key 8.4 still
has and 9 dropped (`notification-policy` and `maxfiles` on backup jobs, storage `maxfiles`) is accepted and
reaches the area's handler, and a path 8.4 does not have (/cluster/ha/rules, /cluster/sdn/lock) answers 501
"Method '<METHOD> /api2/json<path>' not implemented" as pve-manager's PVE/HTTPServer.pm rest_handler does
when PVE::API2->find_handler finds nothing.

The 8.4 schema is reference data outside this repository (AGPL-3.0, the API viewer's apidoc.js tree, never
copied here): `../shared/api-schema/pve-8.4-apidoc.json` from the repository root, or the file the environment
variable PROXFLEET_PVE84_SCHEMA names. Without it, 8.4 clusters keep the lab's hand-written 8.x differences
(HA groups, no SDN lock: see areas/ha.py and areas/sdn.py) on PVE 9's schema.
"""

import functools
import json
import os

from fakepve import schema as pve_schema
from fakepve.model import PveError
from fakepve.routing import StatefulRoutes

from .version import major_of

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULT_PATH = os.path.join(REPO_ROOT, '..', 'shared', 'api-schema', 'pve-8.4-apidoc.json')
ENV = 'PROXFLEET_PVE84_SCHEMA'
API_PREFIX = '/api2/json'


def schema_path():
    """Where the PVE 8.4 schema is looked for (it may not be there)."""
    return os.path.normpath(os.environ.get(ENV) or DEFAULT_PATH)


def flatten(nodes, out=None):
    """apidoc.js's tree (nodes with path, info {METHOD: ...} and children) -> {path: {METHOD: info}}, the shape
    fakepve's Schema takes."""
    out = {} if out is None else out
    for node in nodes or []:
        out[node['path']] = dict(node.get('info') or {})
        flatten(node.get('children'), out)
    return out


@functools.lru_cache(maxsize=None)
def _load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8') as handle:
        return pve_schema.Schema(flatten(json.load(handle)))


def load():
    """The PVE 8.4 schema as a fakepve Schema, or None when the reference data is not at hand."""
    return _load(schema_path())


def not_implemented(method, path):
    """pve-manager PVE/HTTPServer.pm rest_handler: no handler for the method and path."""
    return PveError(501, "Method '{0} {1}{2}' not implemented".format(method, API_PREFIX, path))


class Schema84Area(StatefulRoutes):
    """Mixin of the lab's PVE: requests to an 8.x cluster resolve and validate against the PVE 8.4 schema."""

    def api_schema(self):
        """The schema this cluster's API follows when it is not fakepve's own (PVE 9): 8.4's for 8.x, or None."""
        if major_of(self.version) != 8:
            return None
        return load()

    def resolve(self, request, prefix):
        """fakepve's path resolution (the catch-all route, _verify, the agent and LXC routes), on 8.4's tree."""
        older = self.api_schema()
        if older is None:
            return super().resolve(request, prefix)
        found = super().resolve(request, prefix)
        if found is None:
            return None
        return older.match(self._path_of(found))

    @staticmethod
    def _path_of(match):
        path = match.template
        for name, value in match.params.items():
            path = path.replace('{' + name + '}', value)
        return path

    async def answer(self, request, match, params, user, call=None):
        """fakepve's checks (parameters, then permissions) with 8.4's method description of the same path."""
        older = self.api_schema()
        if older is None:
            return await super().answer(request, match, params, user, call)
        if match is None or match.template not in older.paths or request.method not in older.paths[match.template]:
            path = self._path_of(match) if match is not None else request.path.split('/', 3)[-1]
            raise not_implemented(request.method, '/' + path.lstrip('/'))
        match = pve_schema.Match(match.template, match.params, older.paths[match.template])
        return await super().answer(request, match, params, user, call)
