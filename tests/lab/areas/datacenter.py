# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datacenter options (datacenter.cfg) and the next free VMID within the datacenter's `next-id` range.

Follows pve-manager's PVE/API2/Cluster.pm and pve-cluster's PVE/DataCenterConfig.pm:
- pve-access-control's RPCEnvironment::check_api2_permissions lets every logged-in user call a method declared
  `user => 'all'` before its `check` is evaluated (fakepve evaluates the check; GET /cluster/options is the only
  method of the schema declaring both);
- `GET /cluster/options` (get_options) answers the parsed datacenter.cfg to users with `Sys.Audit` on `/`, and only
  `console` and `tag-style` to everyone else; property-string options such as `next-id` come back parsed, as an
  object (`{"lower": 200, "upper": 300}`), with `allowed-tags` added;
- `PUT /cluster/options` (set_options, `Sys.Modify` on `/`) sets the given options and removes those named in
  `delete`; writing a `next-id` whose lower boundary is above its upper one fails with DataCenterConfig's
  `lower (L) <= upper (U) boundary rule broken` (write_datacenter_config);
- qemu-server's clone_vm (PVE/API2/Qemu.pm) checks the new id inside its `qmclone` worker: a clone to an id
  that is taken starts a task that fails with `unable to create VM <id>: config file already exists` (fakepve
  refuses it before the task);
- `GET /cluster/nextid` (nextid): with `vmid`, that id if no guest has it, else 400 `VM <id> already exists`;
  without, the lowest free id in `[lower, upper)` (defaults 100 and 1000000; the upper boundary is exclusive), or
  500 `unable to get any free VMID in range [lower, upper]`. PVE reserves nothing: two callers asking at once get
  the same id, and the guest's create request (its config file, written under the cluster lock) decides who has
  it.

`pve.datacenter` holds the options as datacenter.cfg does (property strings as strings).
"""

import re

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, die, param_error, split_list

NEXT_ID_DEFAULTS = {'lower': 100, 'upper': 1000 * 1000}
# The keys get_options returns to a user without Sys.Audit on /.
_PUBLIC = ('console', 'tag-style')
# Options whose values are property strings, returned parsed.
_PROPERTY_STRINGS = ('next-id', 'migration', 'ha', 'crs', 'bwlimit', 'u2f', 'webauthn', 'notify', 'tag-style',
                     'replication')


def parse_property_string(text):
    """'lower=200,upper=300' -> {'lower': 200, 'upper': 300} (digits become integers)."""
    out = {}
    for part in str(text or '').split(','):
        if not part:
            continue
        key, _sep, value = part.partition('=')
        out[key.strip()] = int(value) if re.fullmatch(r'-?\d+', value.strip()) else value.strip()
    return out


def next_id_range(datacenter):
    """(lower, upper) of the datacenter's next-id option, with PVE's defaults."""
    parsed = parse_property_string(datacenter.get('next-id'))
    return (int(parsed.get('lower', NEXT_ID_DEFAULTS['lower'])),
            int(parsed.get('upper', NEXT_ID_DEFAULTS['upper'])))


class DatacenterArea(StatefulRoutes):
    """Mixin of the lab's PVE: datacenter options and nextid within the next-id range."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datacenter = {}

    def _routes_datacenter(self):
        return [('GET', '/cluster/options', self._dc_get), ('PUT', '/cluster/options', self._dc_put)]

    async def _dc_get(self, v, user):
        if self.allowed(user, '/', 'Sys.Audit'):
            data = dict((key, parse_property_string(value) if key in _PROPERTY_STRINGS else value)
                        for key, value in self.datacenter.items())
        else:
            data = dict((key, self.datacenter[key]) for key in _PUBLIC if key in self.datacenter)
        data['allowed-tags'] = []
        return data

    async def _dc_put(self, v, user):
        values = dict((key, value) for key, value in v.items() if key not in ('delete', 'digest'))
        if 'next-id' in values:
            lower, upper = next_id_range(values)
            if lower > upper:
                raise die('lower ({0}) <= upper ({1}) boundary rule broken'.format(lower, upper))
        self.datacenter.update((key, str(value)) for key, value in values.items())
        for key in split_list(v.get('delete')):
            self.datacenter.pop(key, None)
        return None

    async def _nextid(self, v, user):
        """Cluster.pm nextid: the asked id if it is free, or the lowest free id of the next-id range."""
        if v.get('vmid') not in (None, ''):
            if self.guest(int(v['vmid'])):
                raise param_error(vmid='VM {0} already exists'.format(v['vmid']))
            return str(v['vmid'])
        lower, upper = next_id_range(self.datacenter)
        taken = set(vm.vmid for vm in self.vms) | set(ct.vmid for ct in self.cts)
        for vmid in range(lower, upper):
            if vmid not in taken:
                return str(vmid)
        raise PveError(500, 'unable to get any free VMID in range [{0}, {1}]'.format(lower, upper))

    async def _qm_clone(self, v, user):
        """qemu-server's clone_vm: the new id is checked in the qmclone worker, so a taken one fails the task."""
        newid = int(v['newid'])
        if not self._qm_taken(newid):
            return await super()._qm_clone(v, user)
        self._qm_perm(user, newid, v.get('pool'), 'VM.Allocate')
        source = self.find(v['node'], int(v['vmid']))

        async def body():
            raise TaskError('unable to create VM {0}: config file already exists'.format(newid))
        return await self.task(source.node, 'qmclone', source.vmid, user, body, lock=False)
