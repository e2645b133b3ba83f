# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The reading side of a guest's life (VMs, kind 'qemu', and containers, kind 'lxc'): what a run that changes
nothing needs.

- locate(): find a guest by vmid or unique name in one read of /cluster/resources (Guest, or None).
- read_pending(): the guest's configuration and its pending changes in one read (/pending); effective(),
  mask_pending().
- qmp_status(), plan_power(), needs_qmpstatus(), hibernated(): the power state and the requests that would change it.

guest_lifecycle (create, clone, locks, power actions, destroy) gives every name here as its own; a module that
only reads until it has something to write imports this one and guest_lifecycle with its first write, so a
no-change run does not compile the writing side (module_utils are compiled from the AnsiballZ zip at each run).
"""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guests import find_guest, list_guests

KINDS = ('qemu', 'lxc')
KIND_LABEL = {'qemu': 'VM', 'lxc': 'CT'}
POWER_STATES = ('started', 'stopped', 'shutdown', 'restarted', 'rebooted', 'suspended', 'hibernated')


class Guest(object):
    """One guest as /cluster/resources shows it.

    kind: 'qemu' or 'lxc'; vmid (int); node; name; status ('running', 'stopped', ...); lock (or None);
    template (bool); hastate (or None); entry: the whole /cluster/resources item.
    """

    def __init__(self, entry):
        self.entry = dict(entry)
        self.kind = entry.get('type')
        self.vmid = int(entry['vmid'])
        self.node = entry.get('node')
        self.name = entry.get('name')
        self.status = entry.get('status')
        self.lock = entry.get('lock') or None
        self.template = bool(int(entry.get('template') or 0))
        self.hastate = entry.get('hastate') or None

    def path(self, *more):
        """/nodes/{node}/{kind}/{vmid}[/more...]"""
        return '/' + '/'.join(str(p).strip('/') for p in ('nodes', self.node, self.kind, self.vmid) + more)

    def describe(self, node=True):
        """'VM 100 (web-01) on node pve1'; without the node ('VM 100 (web-01)') for a sentence that names it."""
        named = ' ({0})'.format(self.name) if self.name else ''
        where = ' on node {0}'.format(self.node) if node else ''
        return '{0} {1}{2}{3}'.format(KIND_LABEL.get(self.kind, self.kind), self.vmid, named, where)

    @property
    def running(self):
        return self.status == 'running'


def guest_path(node, kind, vmid, *more):
    """The API path of a guest that may not be located yet: /nodes/{node}/{kind}/{vmid}[/more...]."""
    return Guest({'type': kind, 'vmid': vmid, 'node': node}).path(*more)


def locate(client, kind, vmid=None, name=None, url=None, guests=None):
    """The guest of this kind with `vmid` (or the unique `name`), or None when there is none.

    One read of /cluster/resources (or `guests`, a list_guests() answer the caller already has).
    Fails (ProxmoxConfigError, before any write) when the vmid belongs to a guest of the other kind, or when
    several guests have the name.
    """
    if kind not in KINDS:
        raise ValueError('kind must be one of {0}'.format(KINDS))
    if vmid is None and not name:
        raise ProxmoxConfigError('give vmid or name')
    guests = list_guests(client) if guests is None else guests
    if vmid is None:
        # A name is looked up among guests of this kind (a VM and a CT may share one).
        candidates = [g for g in guests if g.get('type') == kind]
        try:
            return Guest(find_guest(candidates, name=name, url=url))
        except ProxmoxError as error:
            if 'several' in str(error.message):
                raise ProxmoxConfigError(error.message, url=url) from None
            return None
    try:
        entry = find_guest(guests, vmid=vmid, url=url)
    except ProxmoxError:
        return None
    if entry.get('type') != kind:
        raise ProxmoxConfigError('vmid {0} belongs to a {1}, not a {2} ({3})'.format(
            vmid, 'container' if entry.get('type') == 'lxc' else 'VM', 'VM' if kind == 'qemu' else 'container',
            Guest(entry).describe()), url=url)
    # With both, the vmid wins: the name is configuration the caller converges.
    return Guest(entry)


def read_pending(client, guest):
    """(config, pending) of a guest in one read of /pending.

    config: key -> the value in effect now. pending: key -> {'value': now (or None), 'pending': next} for a
    changed key, {'value': now, 'delete': True} for a key PVE will remove; empty when nothing is pending.
    """
    config, pending = {}, {}
    for item in client.get(guest.path('pending')) or []:
        if not isinstance(item, dict) or 'key' not in item:
            continue
        key = item['key']
        if 'value' in item:
            config[key] = item['value']
        if 'pending' in item:
            pending[key] = {'value': item.get('value'), 'pending': item['pending']}
        elif int(item.get('delete') or 0):
            pending[key] = {'value': item.get('value'), 'delete': True}
    return config, pending


def effective(config, pending):
    """The configuration the guest gets at its next start: config with the pending changes applied."""
    out = dict(config)
    for key, change in pending.items():
        if change.get('delete'):
            out.pop(key, None)
        elif 'pending' in change:
            out[key] = change['pending']
    return out


def mask_pending(pending, secrets=()):
    """pending with the values of secret keys masked."""
    out = {}
    for key, change in pending.items():
        change = dict(change)
        if key in secrets:
            for part in ('value', 'pending'):
                if change.get(part) is not None:
                    change[part] = '********'
        out[key] = change
    return out


def qmp_status(client, guest):
    """The guest's status/current (its `qmpstatus` tells a paused VM from a running one)."""
    return client.get(guest.path('status', 'current')) or {}


def hibernated(guest):
    """True for a guest suspended to disk: stopped, holding the `suspended` lock."""
    return guest.status == 'stopped' and guest.lock == 'suspended'


def plan_power(guest, state, qmpstatus=None):
    """The power requests that bring the guest to `state`, in order (an empty list when it is there already).

    qmpstatus: status/current's `qmpstatus` ('paused' for a VM suspended to RAM), needed only for started and
    suspended on a running guest (see needs_qmpstatus()). Raises ProxmoxConfigError for a transition PVE
    cannot make (suspending a stopped guest, a template).
    """
    running = guest.running
    paused = running and qmpstatus in ('paused', 'suspended', 'prelaunch')
    if state in (None, 'present', 'template'):
        return []
    if guest.template and state != 'stopped':
        raise ProxmoxConfigError('{0} is a template: it cannot be {1}'.format(guest.describe(), state))
    if state == 'started':
        if paused:
            return ['resume']
        return [] if running else ['start']
    if state == 'stopped':
        return ['stop'] if running else []
    if state == 'shutdown':
        return ['shutdown'] if running else []
    if state == 'restarted':
        return ['shutdown', 'start'] if running else ['start']
    if state == 'rebooted':
        if paused:
            return ['resume', 'reboot']
        return ['reboot'] if running else ['start']
    if state == 'suspended':
        if paused:
            return []
        if not running:
            raise ProxmoxConfigError('{0} is {1}: only a running guest can be suspended'.format(
                guest.describe(), 'hibernated' if hibernated(guest) else 'stopped'))
        return ['suspend']
    if state == 'hibernated':
        if hibernated(guest):
            return []
        if not running:
            raise ProxmoxConfigError('{0} is stopped: only a running VM can be hibernated'.format(guest.describe()))
        if guest.kind != 'qemu':
            raise ProxmoxConfigError('{0}: only VMs can be hibernated'.format(guest.describe()))
        return (['resume'] if paused else []) + ['hibernate']
    raise ProxmoxConfigError('unknown state {0!r}'.format(state))


def needs_qmpstatus(guest, state):
    """True when plan_power() needs status/current for this state (a running guest that may be paused)."""
    return guest.running and state in ('started', 'rebooted', 'suspended', 'hibernated')
