# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox VE SDN: what is specific to zones, vnets and subnets, in one place.

SDN objects are written to configuration files and stay *pending* until `PUT /cluster/sdn` applies them (it
commits the whole pending configuration, everyone's, and starts a `reloadnetworkall` task). Reads with
`pending=1` show the running values at the top, the changes under `pending` (a removed key as the string
`deleted`), and `state` new, changed or deleted; an object's effective configuration is the two merged.

PVE 9 adds a global lock: `POST /cluster/sdn/lock` answers a token; while it is held, every SDN write without
that token fails with `invalid lock token provided!`. A write here takes the lock (waiting while another
client holds it, within the run's timeout), reads again under it, writes with the token, then applies
(`PUT /cluster/sdn` with the token releases it) or releases it; when the apply fails the pending configuration
is rolled back (`POST /cluster/sdn/rollback`) so the cluster is left as it runs. PVE 8 has no lock and no
rollback: writes and the apply go without them.
"""

from __future__ import annotations

import ipaddress
import random
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring, versions
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import assert_mutable, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxError,
    is_not_found,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import is_upid

LOCK_HELD = 'invalid lock token provided'
DELETED = 'deleted'
COMMON_ZONE_OPTIONS = ('nodes', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam')
# Zone type -> the options its plugin takes (pve-network's Zones/*Plugin.pm options()), by module option name.
ZONE_TYPE_OPTIONS = {
    'simple': COMMON_ZONE_OPTIONS + ('dhcp',),
    'vlan': COMMON_ZONE_OPTIONS + ('bridge', 'bridge_disable_mac_learning'),
    'qinq': COMMON_ZONE_OPTIONS + ('bridge', 'bridge_disable_mac_learning', 'tag', 'vlan_protocol'),
    'vxlan': COMMON_ZONE_OPTIONS + ('peers', 'vxlan_port'),
    'evpn': COMMON_ZONE_OPTIONS + ('controller', 'vrf_vxlan', 'exitnodes', 'exitnodes_primary', 'exitnodes_local_routing',
                                   'advertise_subnets', 'disable_arp_nd_suppression', 'bridge_disable_mac_learning',
                                   'rt_import', 'vxlan_port', 'mac'),
}
# What a zone of each type cannot be created without.
ZONE_TYPE_REQUIRED = {'vlan': ('bridge',), 'qinq': ('bridge', 'tag'), 'vxlan': ('peers',),
                      'evpn': ('controller', 'vrf_vxlan')}


def sdn_argument_spec():
    """The options every SDN module has besides its own."""
    return dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        apply=dict(type='bool', default=True),
        timeout=dict(type='int', default=120),
    )


def effective(item):
    """A `pending=1` answer -> the configuration the object has once applied (running values, then the pending)."""
    out = dict((k, v) for k, v in item.items() if k not in ('pending', 'state', 'digest'))
    for key, value in (item.get('pending') or {}).items():
        if value == DELETED:
            out.pop(key, None)
        else:
            out[key] = value
    # An empty list (a subnet's dhcp-range) is an unset key.
    return dict((k, v) for k, v in out.items() if v not in ([], None))


# ---------------------------------------------------------------- values

def check_zone_options(params):
    """A zone type's own options only, and the ones it needs on creation; ProxmoxConfigError otherwise."""
    kind = params.get('type')
    allowed = ZONE_TYPE_OPTIONS[kind]
    wrong = []
    for name in sorted(set(sum(ZONE_TYPE_OPTIONS.values(), ()))):
        if params.get(name) is not None and name not in allowed:
            owners = sorted(k for k, opts in ZONE_TYPE_OPTIONS.items() if name in opts)
            wrong.append('{0} (an option of {1} zones)'.format(name, ', '.join(owners)))
    if wrong:
        them = 'it' if len(wrong) == 1 else 'them'
        raise ProxmoxConfigError('a {0} zone does not take {1}; remove {2} or choose the zone type that has {2}'.format(
            kind, ', '.join(wrong), them))


def missing_on_create(kind, params, required):
    missing = [name for name in required if params.get(name) in (None, '', [])]
    if missing:
        raise ProxmoxConfigError('it does not exist yet, and a new {0} needs {1}'.format(kind, ', '.join(missing)))


def network(cidr):
    """'10.0.0.0/24' -> ip_network; ProxmoxConfigError (naming the fix) for anything else."""
    text = str(cidr).strip()
    if '/' not in text:
        raise ProxmoxConfigError('cidr {0!r} is not a network in CIDR notation (address/prefix length, e.g. '
                                 '10.0.0.0/24)'.format(cidr))
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ProxmoxConfigError('cidr {0!r} is not a valid CIDR network: {1}'.format(cidr, error)) from None
        raise ProxmoxConfigError('cidr {0!r} has host bits set: the network is {1}'.format(cidr, loose)) from None


def address(value, option):
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ProxmoxConfigError('{0} {1!r} is not an IP address'.format(option, value)) from None


def dhcp_ranges(value):
    """dhcp-range in any form the API or a user gives (dicts, property strings) -> sorted (start, end) strings."""
    out = []
    for item in value or ():
        if isinstance(item, dict):
            parsed = dict((str(k).replace('_', '-'), v) for k, v in item.items())
        else:
            try:
                parsed = propstring.parse(item)
            except ValueError:
                parsed = {'start-address': str(item)}
        out.append('start-address={0},end-address={1}'.format(parsed.get('start-address'), parsed.get('end-address')))
    return sorted(out)


def read_items(client, path):
    """A `pending=1` list as {id: effective configuration}, without what is pending deletion."""
    out = {}
    key = path.rstrip('/').rsplit('/', 1)[-1].rstrip('s')
    for item in client.get(path, pending=1) or []:
        if item.get('state') != DELETED:
            out[str(item.get(key))] = effective(item)
    return out


def check_vnet_zone(client, params, current):
    """The vnet's zone exists (pending counts) and takes the vnet's tag; ProxmoxConfigError otherwise."""
    zones = read_items(client, '/cluster/sdn/zones')
    zone = zones.get(params['zone'])
    if zone is None:
        names = sorted(zones)
        known = ' (the cluster has {0}{1})'.format(', '.join(names[:10]), ', ...' if len(names) > 10 else '') if names \
            else ' (the cluster has none)'
        raise ProxmoxConfigError('zone {0!r} does not exist{1}: create it with proxfleet.proxmox.pve_sdn_zone '
                                 'first'.format(params['zone'], known))
    kind = zone.get('type')
    tag = params.get('tag') if params.get('tag') is not None else (current or {}).get('tag')
    where = 'a vnet in {0} zone {1!r}'.format(kind, params['zone'])
    if kind == 'simple' and tag is not None:
        raise ProxmoxConfigError('{0} takes no tag'.format(where))
    if kind == 'vlan' and tag is None:
        raise ProxmoxConfigError('{0} needs tag (its VLAN)'.format(where))
    if kind in ('vlan', 'qinq') and tag is not None and not 1 <= int(tag) <= 4096:
        raise ProxmoxConfigError('{0} takes a VLAN tag from 1 to 4096, not {1}'.format(where, tag))
    if kind in ('vxlan', 'evpn') and tag is None:
        raise ProxmoxConfigError('{0} needs tag (its VXLAN network identifier)'.format(where))
    if kind == 'evpn' and params.get('vlanaware'):
        raise ProxmoxConfigError('{0} cannot be vlanaware'.format(where))
    return zone


# ---------------------------------------------------------------- lock, apply, rollback

class SdnSession(object):
    """The SDN lock, apply and rollback of one module run."""

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        self.client = module.client
        self.token = None
        self._sleep = sleep

    @property
    def has_lock(self):
        """PVE 9 and later have the global SDN lock and rollback (the version gate's `lock-token`)."""
        return versions.supports(self.client, '/cluster/sdn', 'lock-token')

    def write_params(self):
        return {'lock-token': self.token} if self.token else {}

    def acquire(self):
        """Take the global lock (PVE 9), waiting while another client holds it, within the run's timeout."""
        if not self.has_lock:
            return
        delay = 0.1
        while True:
            try:
                self.token = self.client.post('/cluster/sdn/lock', **{'allow-pending': 1})
                return
            except ProxmoxApiError as error:
                if LOCK_HELD not in str(error.message):
                    raise
                remaining = self.module.deadline.remaining()
                if remaining <= 0:
                    raise ProxmoxApiError(
                        'the SDN configuration stayed locked by another client for the whole {0:g} s timeout ({1}); if '
                        'no client holds it, release it with `pvesh delete /cluster/sdn/lock --force 1`'.format(
                            self.module.deadline.seconds, error.message.strip()),
                        status_code=error.status_code, url=error.url, method=error.method, path=error.path) from None
                self._sleep(min(remaining, random.uniform(delay / 2, delay)))
                delay = min(2.0, delay * 1.5)

    def release(self):
        """Give the lock back (best effort: a failure here must not hide the run's own result or error)."""
        if not self.token:
            return
        token, self.token = self.token, None
        try:
            self.client.delete('/cluster/sdn/lock', **{'lock-token': token})
        except ProxmoxError:
            self.module.warn('could not release the SDN lock; release it with `pvesh delete /cluster/sdn/lock --force 1`')

    def rollback(self):
        """Put the running configuration back into the files (PVE 9); True when done."""
        if not self.has_lock:
            return False
        params = self.write_params()
        try:
            self.client.post('/cluster/sdn/rollback', **params)
        except ProxmoxError:
            self.release()
            return False
        self.token = None
        return True

    def apply(self):
        """PUT /cluster/sdn (releasing the lock) and wait for its task; on failure roll back and raise."""
        try:
            answer = self.client.put('/cluster/sdn', **self.write_params())
        except ProxmoxApiError as error:
            undone = self.rollback()
            what = ('the pending SDN changes were rolled back (POST /cluster/sdn/rollback), nothing was applied' if undone
                    else 'the changes stay pending; apply them again or roll them back')
            raise ProxmoxApiError('{0} ({1})'.format(error.message.strip(), what), status_code=error.status_code,
                                  errors=error.errors, url=error.url, method=error.method, path=error.path) from None
        self.token = None
        if is_upid(answer):
            self.module.wait_task(answer)


# ---------------------------------------------------------------- resources

class TokenClient(object):
    """The module's client, with the lock token (and create-only extras) added to every write."""

    def __init__(self, client, session, create_extra=None):
        self._client = client
        self._session = session
        self._create_extra = create_extra or {}

    def path(self, *segments):
        return self._client.path(*segments)

    def get(self, path, **params):
        return self._client.get(path, **params)

    def post(self, path, **data):
        data.update(self._create_extra)
        data.update(self._session.write_params())
        return self._client.post(path, **data)

    def put(self, path, **data):
        data.update(self._session.write_params())
        return self._client.put(path, **data)

    def delete(self, path, **params):
        params.update(self._session.write_params())
        return self._client.delete(path, **params)


class SdnResource(ConfigResource):
    """A zone, vnet or subnet, read with `pending=1` (one list call) as the configuration it will have."""

    def __init__(self, module, spec, ident, path_vars=None, create_extra=None):
        super().__init__(module, spec, ident, path_vars)
        self.session = SdnSession(module)
        self.client = TokenClient(module.client, self.session, create_extra)
        self.sdn_state = None
        self.in_running = False
        self._reuse = False

    def read(self):
        if self._reuse:
            self._reuse = False
            return self.current
        try:
            items = self.client.get(self._fill(self.spec.collection), pending=1) or []
        except ProxmoxError as error:
            if not is_not_found(error):
                raise
            items = []
        self.current, self.sdn_state, self.in_running = None, None, False
        for item in items:
            if str(item.get(self.spec.id_field)) != str(self.ident):
                continue
            self.sdn_state = item.get('state')
            self.in_running = self.sdn_state != 'new'
            if self.sdn_state != DELETED:
                self.current = effective(item)
                self.current.setdefault(self.spec.id_field, self.ident)
        return self.current

    def _predict(self, state, desired):
        """(writes, pending state after the writes) from the last read, without writing."""
        current = self.current
        if state == 'absent':
            if current is None:
                return False, self.sdn_state
            return True, DELETED if self.in_running else None
        if current is None:
            return True, 'changed' if self.in_running else 'new'
        changes = compare(self.spec.fields, desired, current)
        assert_mutable(changes, self.target)
        if not changes.changed:
            return False, self.sdn_state
        return True, self.sdn_state or 'changed'

    def ensure_sdn(self, state, desired, apply, validate=None):
        """ensure() in SDN's terms: under the lock (PVE 9) when writing, then apply or release. The result has
        `sdn`: `pending` (the object's state new/changed/deleted left before any apply) and `applied`.

        validate(resource) runs after the first read, before anything is written (resource.current is None when
        the object is to be created)."""
        self.read()
        if validate is not None and state == 'present':
            validate(self)
        writes, pending = self._predict(state, desired)
        applies = bool(apply and pending)
        if self.module.check_mode or not (writes or applies):
            self._reuse = True
            result = self.ensure(state, desired)
            result['changed'] = bool(result['changed'] or applies)
            result['sdn'] = {'pending': pending, 'applied': applies}
            return result
        self.session.acquire()
        try:
            result = self.ensure(state, desired)
            if state == 'absent':
                pending = DELETED if result['changed'] and self.in_running else self.sdn_state
            else:
                pending = self.sdn_state
            applies = bool(apply and pending)
            if applies:
                self.session.apply()
                result['changed'] = True
            else:
                self.session.release()
        except ProxmoxError:
            self.session.release()
            raise
        result['sdn'] = {'pending': pending, 'applied': applies}
        return result
