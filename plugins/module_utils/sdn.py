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

A run applies only what it wrote itself (and the pending changes of the object it manages): when other SDN
changes are pending before its writes (someone else's, or staged with `apply: false`), it refuses before
writing unless `apply_foreign_pending` allows them, and it rolls back after a failed apply only when nothing was
pending before its writes. `applied` means the nodes' reloads finished: `PUT /cluster/sdn` commits the
configuration and starts `reloadnetworkall`, which runs each node's network reload in turn and only logs a node
that fails (the task still ends OK), so after the task the module reads each node's SDN status
(`GET /nodes/{node}/sdn/zones`, live on the node) until the zone is `available` on every node, within the run's
timeout, and names each node that failed with the reason (the task's log for that node, the vnets' status).
"""

from __future__ import annotations

import ipaddress
import random
import time
from typing import Dict, List

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring, versions
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import assert_mutable, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxError,
    is_not_found,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import is_upid, task_log_tail

LOCK_HELD = 'invalid lock token provided'
HAS_PENDING = 'configuration has pending changes'
RELOADING = ': reloading network config'
RELEASE_HOWTO = ('if no client holds it (a run that was killed leaves it behind), release it with '
                 '`pvesh delete /cluster/sdn/lock --force 1` on a node, or `DELETE /cluster/sdn/lock` with `force=1` '
                 'through the API (a token needs SDN.Allocate on /sdn), or set `break_lock: true` on this task')
# Kind of SDN object -> (list path, id key); subnets are listed per vnet.
PENDING_KINDS = (('zone', '/cluster/sdn/zones', 'zone'), ('vnet', '/cluster/sdn/vnets', 'vnet'),
                 ('controller', '/cluster/sdn/controllers', 'controller'))
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
        apply_foreign_pending=dict(type='bool', default=False),
        break_lock=dict(type='bool', default=False),
        timeout=dict(type='int', default=120),
    )


def _listed(client, path):
    """A `pending=1` list, or [] when the token may not read it (it is filtered or refused)."""
    try:
        return client.get(path, pending=1) or []
    except ProxmoxError:
        return []


def pending_objects(client):
    """Every SDN object the token can see with pending changes -> [(kind, id, state)], sorted.

    Zones, vnets, each vnet's subnets and controllers, as PVE::Network::SDN::has_pending_changes looks at them
    (an object is pending when its `pending=1` view has `pending`)."""
    out = []
    vnets = []
    for kind, path, key in PENDING_KINDS:
        for item in _listed(client, path):
            if kind == 'vnet' and item.get('state') != DELETED:
                vnets.append(str(item.get('vnet')))
            if 'pending' in item or item.get('state'):
                out.append((kind, str(item.get(key)), item.get('state') or 'changed'))
    for vnet in vnets:
        for item in _listed(client, client.path('cluster', 'sdn', 'vnets', vnet, 'subnets')):
            if 'pending' in item or item.get('state'):
                out.append(('subnet', str(item.get('subnet') or item.get('id')), item.get('state') or 'changed'))
    return sorted(set(out))


def describe_pending(items):
    return ', '.join('{0} {1!r} ({2})'.format(kind, ident, state) for kind, ident, state in items)


def node_reasons(log):
    """The apply task's log -> {node: [lines]}: what the task logged for each node besides `<node>: reloading`.

    reloadnetworkall logs `<node>: reloading network config` before each node's reload; the node's errors
    (pvesh's stderr, the warn()ed failure) follow it, while a reload that works logs nothing more."""
    out: Dict[str, List[str]] = {}
    node = None
    for line in log:
        text = str(line).strip()
        if text.endswith(RELOADING) and ' ' not in text[:-len(RELOADING)]:
            node = text[:-len(RELOADING)]
            out.setdefault(node, [])
        elif node is not None and text and not text.startswith('TASK '):
            out[node].append(text)
    return out


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

    def acquire(self, strict=False):
        """Take the global lock (PVE 9), waiting while another client holds it, within the run's timeout.

        strict: ask without `allow-pending` first, so PVE says whether anything is pending (one call, every kind
        of SDN object, whatever the token may read); then take it with `allow-pending`. Returns True when SDN
        changes were pending as the lock was taken (always True without strict, unknown)."""
        if not self.has_lock:
            return True
        delay = 0.1
        pending = not strict
        broken = False
        while True:
            try:
                params = {'allow-pending': 1} if pending else {}
                self.token = self.client.post('/cluster/sdn/lock', **params)
                return pending
            except ProxmoxApiError as error:
                text = str(error.message)
                if HAS_PENDING in text and not pending:
                    pending = True
                    continue
                if LOCK_HELD not in text:
                    raise
                if self.module.params.get('break_lock') and not broken:
                    # The user named it: a lock nobody holds any more (a killed run's) is released once.
                    self.client.delete('/cluster/sdn/lock', force=1)
                    self.module.warn('released the SDN lock another client held (break_lock: true)')
                    broken = True
                    continue
                remaining = self.module.deadline.remaining()
                if remaining <= 0:
                    raise ProxmoxApiError(
                        'the SDN configuration stayed locked by another client for the whole {0:g} s timeout ({1}); '
                        'PVE does not say who holds the lock or since when; {2}'.format(
                            self.module.deadline.seconds, text.strip(), RELEASE_HOWTO),
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

    def apply(self, may_roll_back=True, zone=None):
        """PUT /cluster/sdn (releasing the lock), wait for its task and for every node's reload; on a refused apply
        roll back (only when may_roll_back: nothing but this run's writes was pending) and raise.
        Returns {node: zone status} of the nodes checked."""
        try:
            answer = self.client.put('/cluster/sdn', **self.write_params())
        except ProxmoxApiError as error:
            undone = may_roll_back and self.rollback()
            if undone:
                what = 'the pending SDN changes were rolled back (POST /cluster/sdn/rollback), nothing was applied'
            elif self.has_lock and not may_roll_back:
                self.release()
                what = ('the changes stay pending: SDN changes were already pending before this run, so nothing was '
                        'rolled back; apply them again or roll them back')
            else:
                self.release()
                what = 'the changes stay pending; apply them again or roll them back'
            raise ProxmoxApiError('{0} ({1})'.format(error.message.strip(), what), status_code=error.status_code,
                                  errors=error.errors, url=error.url, method=error.method, path=error.path) from None
        self.token = None
        if not is_upid(answer):
            return {}
        self.module.wait_task(answer)
        return self.wait_nodes(answer, zone)

    def wait_nodes(self, upid, zone):
        """Until every online node reports the zone `available` (or, without a zone, nothing `pending`), within
        the run's timeout; ProxmoxApiError naming each node that failed, with the reason."""
        reasons = node_reasons(task_log_tail(self.client, upid, lines=1000))
        nodes = sorted(str(n.get('node')) for n in self.client.get('/nodes') or [] if n.get('node'))
        done, failed = {}, {}
        for name in nodes:
            if reasons.get(name):
                failed[name] = '; '.join(reasons[name])
        waiting = [name for name in nodes if name not in failed]
        delay = 0.1
        while waiting:
            for name in list(waiting):
                try:
                    listed = dict((str(z.get('zone')), z.get('status')) for z in
                                  self.client.get(self.client.path('nodes', name, 'sdn', 'zones')) or [])
                except ProxmoxError as error:
                    failed[name] = 'its SDN status cannot be read: {0}'.format(str(error.message).strip())
                    waiting.remove(name)
                    continue
                status = listed.get(zone) if zone else ('pending' if 'pending' in listed.values() else 'available')
                if zone and status is None:
                    # The zone is not on this node (its `nodes`), or gone: the node only has to be up to date.
                    status = 'pending' if 'pending' in listed.values() else 'available'
                if status == 'available':
                    done[name] = status
                    waiting.remove(name)
                elif status == 'error':
                    failed[name] = 'zone {0!r} is in error: {1}'.format(zone, self._vnet_messages(name, zone))
                    waiting.remove(name)
            if not waiting:
                break
            remaining = self.module.deadline.remaining()
            if remaining <= 0:
                for name in waiting:
                    message = self._vnet_messages(name, zone) if zone else ''
                    failed[name] = 'still pending after the {0:g} s timeout{1}'.format(
                        self.module.deadline.seconds, ': ' + message if message else '')
                break
            self._sleep(min(remaining, random.uniform(delay / 2, delay)))
            delay = min(2.0, delay * 1.5)
        if failed:
            raise ProxmoxApiError(
                'the SDN configuration was committed ({0}) but not reloaded on every node: {1}{2}; the running '
                'configuration stays committed (nothing to roll back): fix the node(s), then reload their network '
                '(`PUT /nodes/<node>/network`, or apply the SDN configuration again)'.format(
                    upid, '; '.join('node {0}: {1}'.format(n, failed[n]) for n in sorted(failed)),
                    ' (reloaded on {0})'.format(', '.join(sorted(done))) if done else ''),
                errors=dict(failed), path='/cluster/sdn', method='PUT')
        return done

    def _vnet_messages(self, node, zone):
        """The zone's vnets' status messages on node (`/nodes/{node}/sdn/zones/{zone}/content`), best effort."""
        try:
            items = self.client.get(self.client.path('nodes', node, 'sdn', 'zones', zone, 'content')) or []
        except ProxmoxError:
            return 'see the node\'s `srvreload` task log'
        texts = ['vnet {0}: {1}'.format(i.get('vnet'), i.get('statusmsg') or i.get('status')) for i in
                 sorted(items, key=lambda i: str(i.get('vnet'))) if i.get('status') != 'available']
        return ', '.join(texts) or 'see the node\'s `srvreload` task log'


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
        self._before = None

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

    def own_pending(self):
        """(kind, id) of the object this run manages, as pending_objects() names it."""
        return (self.spec.label.split()[-1], str(self.ident))

    def foreign_pending(self, pending):
        """What is pending besides this object; None when PVE says something is pending that the token cannot see."""
        own = self.own_pending()
        foreign = [item for item in pending if item[:2] != own]
        if not foreign and own not in [item[:2] for item in pending]:
            return None
        return foreign

    def refuse_foreign(self, foreign):
        """ProxmoxConfigError when applying would apply someone else's pending changes the task did not allow."""
        if foreign == [] or self.module.params.get('apply_foreign_pending'):
            return
        what = describe_pending(foreign) if foreign else (
            'changes this token cannot see (PVE reports pending changes; they are in objects outside its SDN.Audit, '
            'or in controllers)')
        raise ProxmoxConfigError(
            'other SDN changes are pending, made before this run and not by it: {0}; applying would apply them too. '
            'Apply or roll them back first (Datacenter > SDN, `pvesh set /cluster/sdn`, or '
            '`POST /cluster/sdn/rollback` to discard them), set `apply: false` to leave this change pending as well, '
            'or set `apply_foreign_pending: true` to apply them with this one'.format(what))

    def zone_name(self):
        """The zone whose status on each node says whether the apply reached it (None when it is removed)."""
        if self.spec.id_field == 'zone':
            return str(self.ident)
        return (self._before or {}).get('zone') or (self.current or {}).get('zone')

    def ensure_sdn(self, state, desired, apply, validate=None):
        """ensure() in SDN's terms: under the lock (PVE 9) when writing, then apply or release. The result has
        `sdn`: `pending` (the object's state new/changed/deleted left before any apply), `applied` and `nodes`.

        validate(resource) runs after the first read, before anything is written (resource.current is None when
        the object is to be created)."""
        self.read()
        self._before = self.current
        if validate is not None and state == 'present':
            validate(self)
        writes, pending = self._predict(state, desired)
        applies = bool(apply and pending)
        if self.module.check_mode or not (writes or applies):
            if applies:
                # A real run would refuse someone else's pending changes: say so now, from reads only.
                self.refuse_foreign(self.foreign_pending(pending_objects(self.client)) or [])
            self._reuse = True
            result = self.ensure(state, desired)
            result['changed'] = bool(result['changed'] or applies)
            result['sdn'] = {'pending': pending, 'applied': applies, 'nodes': {}}
            return result
        nodes = {}
        may_roll_back = True
        if apply and self.session.has_lock:
            # PVE says in one call whether anything is pending; only then is there something to look at.
            if self.session.acquire(strict=True):
                try:
                    self.refuse_foreign(self.foreign_pending(pending_objects(self.client)))
                except ProxmoxError:
                    self.session.release()
                    raise
                may_roll_back = False
        elif apply:
            found = pending_objects(self.client)
            self.refuse_foreign(self.foreign_pending(found) or [])
            may_roll_back = not found
        else:
            self.session.acquire()
        try:
            result = self.ensure(state, desired)
            if state == 'absent':
                pending = DELETED if result['changed'] and self.in_running else self.sdn_state
            else:
                pending = self.sdn_state
            applies = bool(apply and pending)
            if applies:
                nodes = self.session.apply(may_roll_back=may_roll_back,
                                           zone=None if state == 'absent' and self.spec.id_field == 'zone'
                                           else self.zone_name())
                result['changed'] = True
            else:
                self.session.release()
        except ProxmoxError:
            self.session.release()
            raise
        result['sdn'] = {'pending': pending, 'applied': applies, 'nodes': nodes}
        return result
