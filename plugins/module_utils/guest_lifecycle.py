# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The life of a guest, shared by VMs (kind 'qemu') and containers (kind 'lxc').

Everything here works for both kinds; the API path of one guest is /nodes/{node}/{kind}/{vmid}.

- locate(): find a guest by vmid or unique name in one read of /cluster/resources (Guest, or None); this and the
  other reading functions (read_pending(), effective(), plan_power() ...) live in guest_state, which a run that
  changes nothing imports alone; they are this module's names too.
- pick_node(): check a node, or choose one for `node: auto` (the online node with the most free memory).
- create_guest(): run a create request (create, clone, restore) with a given vmid or one claimed from
  /cluster/nextid, reliably with many concurrent creators (vmid_alloc.py), and wait for its task.
- ensure_unlocked() / raise_if_locked(): wait for a guest's lock to go away within `lock_timeout`, or fail
  naming the lock.
- read_pending(): the guest's configuration and its pending changes in one read (/pending).
- set_power(): move a guest to a power state (started, stopped, shutdown, restarted, rebooted, suspended,
  hibernated), waiting for every task.
- destroy(): delete a guest, honouring protection, with `force` (stop first), `purge`, and unreferenced disks.

Functions that write take the ProxmoxModule (`module`): they use its client, its one task budget
(module.deadline, module.wait_task, so every task lands in the result's `tasks`) and its check mode (nothing is
written in check mode; the functions still say what would change).
"""

from __future__ import annotations

import math
import re
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import versions, vmid_alloc
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
)

# The reading side lives in guest_state; its names are this module's too (gl.locate, gl.Guest ...).
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guest_state import (  # noqa: F401 pylint: disable=unused-import
    KIND_LABEL,
    KINDS,
    POWER_STATES,
    Guest,
    effective,
    guest_path,
    hibernated,
    locate,
    mask_pending,
    needs_qmpstatus,
    plan_power,
    qmp_status,
    read_pending,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.guests import describe_guest
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import format_size
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import AdaptivePoll, Deadline, is_upid, poll_until

# PVE's words for a locked guest: 'VM is locked (backup)', 'CT is locked (snapshot)'.
_LOCKED_RE = re.compile(r'\b(?:VM|CT) is locked \(([^)]+)\)')
# PVE's words when a shutdown or reboot does not end in time: a VM's '... got timeout', a container's
# 'container did not stop'.
_LATE_WORDS = ('timeout', 'did not stop')


class GuestLocked(ProxmoxError):
    """The guest holds a lock (backup, snapshot, migrate, clone, ...) that did not go away in time."""

    def __init__(self, message, lock=None, **kwargs):
        super().__init__(message, **kwargs)
        self.lock = lock


CLONE_SOURCE_NOUN = {'qemu': 'VM or template', 'lxc': 'container'}


def clone_source(client, kind, ref, url=None, guests=None):
    """The guest of this kind a clone is made from: `ref` is its vmid (digits) or its unique name. Fails
    (ProxmoxConfigError, before any write) when there is none."""
    ref = str(ref)
    if re.match(r'^\d+$', ref):
        found = locate(client, kind, vmid=int(ref), url=url, guests=guests)
    else:
        found = locate(client, kind, name=ref, url=url, guests=guests)
    if found is None:
        raise ProxmoxConfigError('clone: no {0} {1!r} in the cluster'.format(CLONE_SOURCE_NOUN[kind], ref), url=url)
    return found


def pick_node(client, node, url=None):
    """The node a new guest goes to: `node` checked to be an online member, or for 'auto' the online node with
    the most free memory (one read of /cluster/resources?type=node). Fails before any write."""
    nodes = [n for n in client.get('/cluster/resources', type='node') or [] if isinstance(n, dict)]
    online = dict((n['node'], n) for n in nodes if n.get('node') and n.get('status') == 'online')
    if node == 'auto':
        if not online:
            raise ProxmoxConfigError('node: auto found no online node in the cluster', url=url)
        return sorted(online.values(), key=lambda n: (-(int(n.get('maxmem') or 0) - int(n.get('mem') or 0)),
                                                      n['node']))[0]['node']
    known = set(n.get('node') for n in nodes)
    if node not in known:
        raise ProxmoxConfigError('the cluster has no node {0!r} (its nodes: {1})'.format(
            node, ', '.join(sorted(k for k in known if k)) or 'none'), url=url)
    if node not in online:
        raise ProxmoxConfigError('node {0!r} is offline'.format(node), url=url)
    return node


# What a guest's NIC may be plugged into: PVE's `type=any_bridge` (pve-manager PVE/API2/Network.pm, index) keeps
# Linux bridges and OVS bridges and adds the node's SDN VNets (type 'vnet'); never a NIC, bond, VLAN or alias.
BRIDGE_TYPES = ('bridge', 'OVSBridge', 'vnet')


def node_bridges(client, node):
    """(bridges, others) of `node`: the names a guest NIC may use (bridges, OVS bridges, SDN VNets the node lists),
    and {name: type} of the other interfaces the answer held. One read of /nodes/{node}/network?type=any_bridge;
    each interface's own type is checked as well, so an API that ignores the filter still never offers a
    physical NIC, a bond or a VLAN as a bridge."""
    bridges, others = set(), {}
    for item in client.get('/nodes/{0}/network'.format(node), type='any_bridge') or []:
        if not isinstance(item, dict) or not item.get('iface'):
            continue
        if item.get('type') in BRIDGE_TYPES:
            bridges.add(str(item['iface']))
        else:
            others[str(item['iface'])] = str(item.get('type') or 'unknown')
    return bridges, others


def missing_bridges(client, wanted, bridges):
    """The names in `wanted` that are neither in `bridges` (the node's bridges, as node_bridges() read them) nor an
    SDN VNet of the cluster, sorted. /cluster/sdn/vnets is read only when a name is not a bridge; a cluster without
    SDN, or a user who may not read it, has no VNets."""
    missing = sorted(b for b in wanted if b not in bridges)
    if missing:
        try:
            vnets = set(item.get('vnet') for item in client.get('/cluster/sdn/vnets') or [] if isinstance(item, dict))
        except ProxmoxApiError:
            vnets = set()
        missing = [b for b in missing if b not in vnets]
    return missing


def check_bridges(client, node, keys_by_bridge, url=None):
    """Each bridge in `keys_by_bridge` ({bridge: [the NIC keys that use it]}, or a plain list of bridges) is a
    bridge, an OVS bridge or an SDN VNet on `node`; ProxmoxConfigError naming the NICs, the bridges and the node
    otherwise, before any write. The one check of pve_vm and pve_lxc."""
    if not keys_by_bridge:
        return
    if not isinstance(keys_by_bridge, dict):
        keys_by_bridge = dict((b, []) for b in keys_by_bridge)
    bridges, others = node_bridges(client, node)
    missing = missing_bridges(client, keys_by_bridge, bridges)
    if not missing:
        return
    keys = sorted(set(k for b in missing for k in keys_by_bridge[b] or []))
    names = ', '.join(repr(b) for b in missing)
    kinds = ['{0!r} is a network interface of type {1}'.format(b, others[b]) for b in missing if b in others]
    raise ProxmoxConfigError('{0}{1} {2} not a bridge, OVS bridge or SDN VNet on node {3} ({4}its bridges: {5})'.format(
        ', '.join(keys) + ': ' if keys else '', names, 'is' if len(missing) == 1 else 'are', node,
        ''.join(k + '; ' for k in kinds), ', '.join(sorted(bridges)) or 'none'), url=url)


# ---------------------------------------------------------------- locks

def lock_name(error):
    """The lock named in a PVE error ('VM is locked (backup)' -> 'backup'), or None."""
    found = _LOCKED_RE.search(str(getattr(error, 'message', error)))
    return found.group(1) if found else None


def raise_if_locked(error, guest, url=None):
    """Turn PVE's 'VM is locked (backup)' (an API error or a failed task) into GuestLocked naming the guest and
    the lock; any other error passes unchanged."""
    lock = lock_name(error)
    if lock:
        raise GuestLocked(_locked_message(guest, lock), lock=lock, status_code=getattr(error, 'status_code', None),
                          url=url) from None
    raise error


def _locked_message(guest, lock, waited='', action=None):
    if action:
        # Worded for one operation on the guest: 'cannot take a snapshot of it now'.
        return '{0} is locked ({1}): another operation holds it, cannot {2} it now{3}'.format(
            describe_guest(guest.entry), lock, action,
            ' (still locked{0})'.format(waited) if waited else '')
    if lock == 'suspended':
        return '{0} is locked (suspended){1}: it is hibernated, start it first (state: started)'.format(
            guest.describe(), waited)
    return '{0} is locked ({1}){2}: wait until the {1} ends, or give lock_timeout to wait for it'.format(
        guest.describe(), lock, waited)


def ensure_unlocked(module, guest, lock_timeout=0, allow=(), sleep=time.sleep, poll=None, action=None,
                    clock=time.monotonic):
    """Wait until the guest has no lock (other than those in `allow`), polling /cluster/resources for up to
    `lock_timeout` seconds (0: do not wait). Returns the guest as last read (a Guest); GuestLocked when the lock
    stays. A guest that vanished while waiting raises ProxmoxError.

    action: the operation the caller is about to run ('take a snapshot of'), for a message naming it
    ('... is locked (backup): another operation holds it, cannot take a snapshot of it now')."""
    if not guest.lock or guest.lock in allow:
        return guest
    last = [guest]

    def read():
        fresh = locate(module.client, guest.kind, vmid=guest.vmid, url=module.target_url)
        if fresh is None:
            raise ProxmoxError('{0} disappeared while waiting for its lock ({1})'.format(last[0].describe(), last[0].lock),
                               url=module.target_url)
        last[0] = fresh
        return fresh

    def timed_out(locked):
        waited = ' after waiting {0:g} s'.format(float(lock_timeout)) if lock_timeout else ''
        return GuestLocked(_locked_message(locked, locked.lock, waited, action), lock=locked.lock, url=module.target_url)

    # The guest as given is judged first: without lock_timeout it fails at once, without another read.
    return poll_until(read, lambda fresh: not fresh.lock or fresh.lock in allow,
                      Deadline(float(lock_timeout or 0), clock=clock), timed_out,
                      poll=poll or AdaptivePoll(first=0.5, cap=5.0), sleep=sleep, first=guest)


# ---------------------------------------------------------------- power

def guarded(module, guest, call):
    """call() -> its answer; PVE's 'VM is locked (backup)' (an API error or a failed task) becomes GuestLocked
    naming the guest and the lock. Other errors, and a task that ran out of time, pass unchanged."""
    try:
        return call()
    except (ProxmoxApiError, ProxmoxTaskError) as error:
        if isinstance(error, ProxmoxTaskTimeout):
            raise
        raise_if_locked(error, guest, module.target_url)
    return None


def create_guest(module, create, vmid=None):
    """Run create(vmid) (a create, clone or restore request) with the given vmid or one claimed for it, wait for its
    task, and return the vmid; see vmid_alloc.py."""
    return vmid_alloc.create_guest(module, create, vmid=vmid)


def wait_answer(module, answer):
    """Wait for the task of a request's answer (when it is a UPID); returns the task's status, or None."""
    if is_upid(answer):
        return module.wait_task(answer)
    return None


def _post_task(module, guest, path, params=None):
    """POST a request that answers with a task and wait for it; lock errors name the lock."""
    return guarded(module, guest, lambda: wait_answer(module, module.client.post(guest.path(*path), **(params or {}))))


def _wait_status(module, guest, want, sleep=time.sleep):
    """Poll /cluster/resources until the guest's status is `want` (an HA-managed guest changes on the HA
    manager's schedule, after its request task ended), within the run's budget."""
    def timed_out(_fresh):
        return ProxmoxTaskTimeout('the HA manager has not made {0} {1} within the {2:g} s timeout'.format(
            guest.describe(), want, module.deadline.seconds), url=module.target_url)

    return poll_until(lambda: locate(module.client, guest.kind, vmid=guest.vmid, url=module.target_url),
                      lambda fresh: fresh is None or fresh.status == want, module.deadline, timed_out,
                      poll=AdaptivePoll(first=0.2, cap=2.0), sleep=sleep)


def _remaining_seconds(module, timeout=None):
    """A timeout for a PVE request (int seconds, at least 1): the given one, capped by the run's budget."""
    left = int(math.ceil(module.deadline.remaining()))
    if timeout is not None:
        left = min(left, int(timeout))
    return max(1, left)


def power_action(module, guest, action, timeout=None, force_stop=False, extra=None):
    """Run one power request (start, stop, shutdown, reboot, suspend, resume; 'hibernate' is suspend to disk)
    and wait for its task. `timeout` is the seconds PVE gives a shutdown or reboot (capped by the run's budget);
    with force_stop a shutdown that does not finish in time is turned into a stop by PVE. Nothing is sent in
    check mode. Returns the action's name."""
    params = dict(extra or {})
    verb = action
    if action == 'hibernate':
        verb = 'suspend'
        params['todisk'] = 1
    if action in ('shutdown', 'reboot'):
        params['timeout'] = _remaining_seconds(module, timeout)
    if action == 'shutdown' and force_stop:
        params['forceStop'] = 1
    if module.check_mode:
        return action
    try:
        _post_task(module, guest, ('status', verb), params)
    except ProxmoxTaskError as error:
        if action in ('shutdown', 'reboot') and not isinstance(error, ProxmoxTaskTimeout) and any(
                words in str(error.exitstatus or error.message).lower() for words in _LATE_WORDS):
            error.message = ('{0} did not {1} within {2} s ({3}); set force_stop to stop it after the timeout, or '
                             'give it a longer timeout'.format(guest.describe(), 'shut down' if action == 'shutdown'
                                                               else 'reboot', params['timeout'], error.exitstatus))
        raise
    if guest.hastate and action in ('start', 'stop', 'shutdown'):
        _wait_status(module, guest, 'running' if action == 'start' else 'stopped')
    return action


def set_power(module, guest, state, timeout=None, force_stop=False, qmpstatus=None):
    """Bring a guest to a power state; returns the list of actions run (in check mode: that would run).

    state: started, stopped (hard stop), shutdown (graceful within `timeout`, then a stop when force_stop),
    restarted (shutdown as above, then start: the pending configuration applies), rebooted (PVE's reboot,
    which applies pending changes too; a stopped guest is started), suspended (to RAM), hibernated (to disk, VMs
    only); present and template: nothing. restarted and rebooted always act.
    A failed shutdown names the guest and the timeout. Reads status/current itself when needed and not given.
    """
    if qmpstatus is None and needs_qmpstatus(guest, state):
        qmpstatus = qmp_status(module.client, guest).get('qmpstatus')
    actions = plan_power(guest, state, qmpstatus)
    for action in actions:
        power_action(module, guest, action, timeout=timeout, force_stop=force_stop)
    return actions


# ---------------------------------------------------------------- delete

def destroy(module, guest, config=None, force=False, purge=False, destroy_unreferenced_disks=False,
            unprotect=False, timeout=None):
    """Delete a guest and wait for the task; returns the actions run ('unprotect', 'stop', 'destroy').

    config: the guest's current configuration (read_pending()'s first item), to see `protection`; read when
    not given. A protected guest fails unless `unprotect` (the user turned protection off in the same task):
    then protection is removed first. A running guest fails unless `force`: then it is stopped (hard) first.
    purge: PVE also removes it from backup jobs, replication and HA. destroy_unreferenced_disks: PVE also
    destroys disks of this vmid on the storages that no configuration references.
    Nothing is written in check mode.
    """
    if config is None:
        config, _pending = read_pending(module.client, guest)
    actions = []
    if str(config.get('protection', '0')) in ('1', 'true'):
        if not unprotect:
            raise ProxmoxConfigError('{0} is protected: set protection to false in the same task to delete it'.format(
                guest.describe()), url=module.target_url)
        actions.append('unprotect')
    if guest.running:
        if not force:
            raise ProxmoxConfigError('{0} is running: stop it first or set force to stop it before the delete'.format(
                guest.describe()), url=module.target_url)
        actions.append('stop')
    actions.append('destroy')
    if module.check_mode:
        return actions
    if 'unprotect' in actions:
        guarded(module, guest, lambda: module.client.put(guest.path('config'), delete='protection'))
    if 'stop' in actions:
        power_action(module, guest, 'stop')
    params = {}
    if purge:
        params['purge'] = 1
    if destroy_unreferenced_disks:
        params['destroy-unreferenced-disks'] = 1
    guarded(module, guest, lambda: wait_answer(module, module.client.delete(guest.path(), **params)))
    return actions


def run_config_update(module, guest, params, asynchronous=True):
    """Write configuration `params` (with `delete`, `digest`, ...) to a guest and wait for its task.

    VMs take POST /config (a task, which may allocate disks), containers PUT /config; asynchronous=False uses
    PUT for both. Lock errors name the lock. Nothing is sent in check mode or when params is empty.
    """
    if params:
        # The version gate in check mode too (the client applies it to every write).
        versions.check(module.client, 'PUT', guest.path('config'), params)
    if module.check_mode or not params:
        return None
    method = module.client.post if guest.kind == 'qemu' and asynchronous else module.client.put
    return guarded(module, guest, lambda: wait_answer(module, method(guest.path('config'), **params)))


def resize_disk(module, guest, disk, size):
    """Grow one disk (a VM's scsi0, a container's rootfs or mp0) to `size` bytes and wait for the task. Lock
    errors name the lock. Nothing is sent in check mode."""
    if module.check_mode:
        return None
    return guarded(module, guest, lambda: wait_answer(module, module.client.put(
        guest.path('resize'), disk=disk, size=format_size(size))))


def make_template(module, guest):
    """Convert a (stopped) guest to a template and wait for the task. Lock errors name the lock. Nothing is sent
    in check mode."""
    if module.check_mode:
        return None
    return guarded(module, guest, lambda: wait_answer(module, module.client.post(guest.path('template'))))
