# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/guest_lifecycle.py: the pure logic (power plans, pending, locks, nodes; the vmid
claim is in test_vmid_alloc.py).

The requests themselves are tested end to end against the lab (tests/integration/test_pve_vm.py); here a small
in-memory stand-in answers the few reads the functions make.
"""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guest_lifecycle as gl
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxConfigError,
    ProxmoxTaskError,
    ProxmoxTaskTimeout,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import Deadline


class Reads(object):
    """Answers GETs from a dict path -> data (a callable gets the params); records every request."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def get(self, path, **params):
        self.requests.append(('GET', path, params))
        answer = self.answers[path]
        return answer(**params) if callable(answer) else answer

    def post(self, path, **params):
        self.requests.append(('POST', path, params))
        return None

    def put(self, path, **params):
        self.requests.append(('PUT', path, params))
        return None

    def delete(self, path, **params):
        self.requests.append(('DELETE', path, params))
        return None


class Module(object):
    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode
        self.target_url = 'https://pve.example:8006'
        self.deadline = Deadline(60)
        self.tasks = []

    def wait_task(self, upid):
        self.tasks.append(upid)


GUESTS = [
    {'type': 'qemu', 'vmid': 100, 'node': 'pve1', 'name': 'web', 'status': 'running'},
    {'type': 'qemu', 'vmid': 101, 'node': 'pve2', 'name': 'db', 'status': 'stopped', 'lock': 'backup'},
    {'type': 'lxc', 'vmid': 102, 'node': 'pve2', 'name': 'web', 'status': 'running'},
    {'type': 'qemu', 'vmid': 103, 'node': 'pve3', 'name': 'twin', 'status': 'stopped'},
    {'type': 'qemu', 'vmid': 104, 'node': 'pve3', 'name': 'twin', 'status': 'stopped'},
]


def guest(**kw):
    entry = {'type': 'qemu', 'vmid': 100, 'node': 'pve1', 'name': 'web', 'status': 'running'}
    entry.update(kw)
    return gl.Guest(entry)


def test_guest_path_and_description():
    g = guest()
    assert g.path('status', 'start') == '/nodes/pve1/qemu/100/status/start'
    assert g.describe() == 'VM 100 (web) on node pve1'
    assert gl.guest_path('pve2', 'lxc', 7, 'config') == '/nodes/pve2/lxc/7/config'


@pytest.mark.parametrize('kind,vmid,name,expect', [
    ('qemu', 100, None, 100), ('qemu', None, 'web', 100), ('lxc', None, 'web', 102), ('qemu', 999, None, None),
    ('qemu', None, 'nothing', None)])
def test_locate(kind, vmid, name, expect):
    found = gl.locate(None, kind, vmid=vmid, name=name, guests=GUESTS)
    assert (found.vmid if found else None) == expect


def test_locate_ambiguous_name_and_wrong_kind_fail():
    with pytest.raises(ProxmoxConfigError, match='several guests.*103, 104'):
        gl.locate(None, 'qemu', name='twin', guests=GUESTS)
    with pytest.raises(ProxmoxConfigError, match='belongs to a container'):
        gl.locate(None, 'qemu', vmid=102, guests=GUESTS)


NODES = [{'node': 'a', 'status': 'online', 'maxmem': 100, 'mem': 90},
         {'node': 'b', 'status': 'online', 'maxmem': 100, 'mem': 20},
         {'node': 'c', 'status': 'offline', 'maxmem': 1000, 'mem': 0}]


def test_pick_node():
    client = Reads({'/cluster/resources': NODES})
    assert gl.pick_node(client, 'auto') == 'b'
    assert gl.pick_node(client, 'a') == 'a'
    with pytest.raises(ProxmoxConfigError, match='offline'):
        gl.pick_node(client, 'c')
    with pytest.raises(ProxmoxConfigError, match="the cluster has no node 'z' .its nodes: a, b, c"):
        gl.pick_node(client, 'z')


def test_missing_bridges_reads_vnets_only_when_needed():
    client = Reads({'/cluster/sdn/vnets': [{'vnet': 'vnet1'}, 'junk']})
    assert gl.missing_bridges(client, ['vmbr0'], {'vmbr0', 'vmbr1'}) == []
    assert client.requests == []
    assert gl.missing_bridges(client, {'vmbr9': ['net1'], 'vnet1': ['net0'], 'vmbr2': ['net2'], 'vmbr0': []},
                              {'vmbr0'}) == ['vmbr2', 'vmbr9']
    assert client.requests == [('GET', '/cluster/sdn/vnets', {})]


def test_missing_bridges_without_sdn_rights():
    def refused(**params):
        raise ProxmoxApiError('Permission check failed (/sdn/zones, SDN.Audit)', status_code=403)
    client = Reads({'/cluster/sdn/vnets': refused})
    assert gl.missing_bridges(client, ['vnet1', 'vmbr0'], ['vmbr0']) == ['vnet1']


# Every interface of a node, as GET /nodes/{node}/network answers when it does not filter by type (an API or proxy
# that ignores `type`): the check must still keep bridges, OVS bridges and VNets only.
UNFILTERED_NETWORK = [
    {'iface': 'vmbr0', 'type': 'bridge', 'bridge_ports': 'eno1'},
    {'iface': 'vmbr1', 'type': 'OVSBridge'},
    {'iface': 'vnet7', 'type': 'vnet'},
    {'iface': 'eno1', 'type': 'eth'},
    {'iface': 'bond0', 'type': 'bond'},
    {'iface': 'vmbr0.20', 'type': 'vlan'},
    {'iface': 'ovsint1', 'type': 'OVSIntPort'},
    'junk',
]


def network_reads(network=None, vnets=()):
    return Reads({'/nodes/n1/network': lambda **params: list(UNFILTERED_NETWORK if network is None else network),
                  '/cluster/sdn/vnets': [{'vnet': v} for v in vnets]})


def test_node_bridges_keeps_bridge_types_only_whatever_the_api_filters():
    client = network_reads()
    bridges, others = gl.node_bridges(client, 'n1')
    assert bridges == {'vmbr0', 'vmbr1', 'vnet7'}
    assert others == {'eno1': 'eth', 'bond0': 'bond', 'vmbr0.20': 'vlan', 'ovsint1': 'OVSIntPort'}
    # PVE's own filter is asked for too (it adds the node's VNets and drops bridges the user may not use).
    assert client.requests == [('GET', '/nodes/n1/network', {'type': 'any_bridge'})]


@pytest.mark.parametrize('name', ['vmbr0', 'vmbr1', 'vnet7', 'zonevnet'])
def test_check_bridges_accepts_bridges_ovs_bridges_and_vnets(name):
    gl.check_bridges(network_reads(vnets=['zonevnet']), 'n1', {name: ['net0']})


@pytest.mark.parametrize('name, kind', [('eno1', 'eth'), ('bond0', 'bond'), ('vmbr0.20', 'vlan'),
                                        ('ovsint1', 'OVSIntPort')])
def test_check_bridges_refuses_nics_bonds_and_vlans(name, kind):
    client = network_reads()
    with pytest.raises(ProxmoxConfigError) as info:
        gl.check_bridges(client, 'n1', {name: ['net1']}, url='https://pve.example:8006')
    message = str(info.value)
    assert message == ("https://pve.example:8006: net1: {0!r} is not a bridge, OVS bridge or SDN VNet on node n1 "
                       "({0!r} is a network interface of type {1}; its bridges: vmbr0, vmbr1, vnet7)".format(name, kind))
    # Nothing but reads.
    assert set(method for method, _path, _params in client.requests) == {'GET'}


def test_check_bridges_names_every_missing_bridge_and_nic_once():
    network = [{'iface': 'vmbr0', 'type': 'bridge'}]
    with pytest.raises(ProxmoxConfigError) as info:
        gl.check_bridges(network_reads(network), 'n1', {'vmbr9': ['net2', 'net1'], 'vmbr8': ['net3'], 'vmbr0': ['net0']})
    assert str(info.value) == ("net1, net2, net3: 'vmbr8', 'vmbr9' are not a bridge, OVS bridge or SDN VNet on node n1 "
                               "(its bridges: vmbr0)")
    with pytest.raises(ProxmoxConfigError, match=r"^'vmbr9' is not a bridge, .* \(its bridges: none\)$"):
        gl.check_bridges(network_reads([]), 'n1', ['vmbr9'])


def test_check_bridges_without_bridges_to_check_reads_nothing():
    client = network_reads()
    gl.check_bridges(client, 'n1', {})
    assert client.requests == []


def test_lock_errors_name_the_lock():
    assert gl.lock_name(ProxmoxApiError('VM is locked (backup)', status_code=500)) == 'backup'
    assert gl.lock_name(ProxmoxApiError('CT is locked (snapshot-delete)')) == 'snapshot-delete'
    assert gl.lock_name(ProxmoxApiError('something else')) is None
    with pytest.raises(gl.GuestLocked, match=r'VM 100 \(web\) on node pve1 is locked \(backup\)'):
        gl.raise_if_locked(ProxmoxApiError('VM is locked (backup)', status_code=500), guest())
    with pytest.raises(gl.GuestLocked, match=r'is locked \(suspended\): it is hibernated, start it first'):
        gl.raise_if_locked(ProxmoxApiError('VM is locked (suspended)', status_code=500), guest())
    with pytest.raises(ProxmoxApiError, match='other'):
        gl.raise_if_locked(ProxmoxApiError('other'), guest())


def test_ensure_unlocked_fails_at_once_without_lock_timeout_and_waits_with_it():
    module = Module(Reads({'/cluster/resources': GUESTS}))
    locked = gl.locate(None, 'qemu', vmid=101, guests=GUESTS)
    with pytest.raises(gl.GuestLocked, match=r'locked \(backup\)') as info:
        gl.ensure_unlocked(module, locked)
    assert info.value.lock == 'backup'
    assert module.client.requests == []
    free = [dict(g, lock=None) for g in GUESTS]
    module = Module(Reads({'/cluster/resources': free}))
    fresh = gl.ensure_unlocked(module, locked, lock_timeout=10, sleep=lambda s: None)
    assert fresh.lock is None
    assert gl.ensure_unlocked(module, guest()) is not None


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Resources(object):
    """A stand-in for the client: /cluster/resources answers from a list of lock values, one per read."""

    def __init__(self, locks):
        self.locks = list(locks)
        self.reads = 0

    def get(self, path, **params):
        assert path == '/cluster/resources'
        self.reads += 1
        lock = self.locks.pop(0) if self.locks else None
        return [{'vmid': 100, 'type': 'qemu', 'node': 'n1', 'name': 'web', 'lock': lock}]


SNAPSHOT = 'take a snapshot of'


def test_unlocked_guest_needs_no_read():
    client = Resources([])
    unlocked = gl.Guest({'vmid': 100, 'type': 'qemu', 'node': 'n1'})
    assert gl.ensure_unlocked(Module(client), unlocked, 0, action=SNAPSHOT) is unlocked
    assert client.reads == 0


def test_locked_guest_fails_at_once_naming_the_lock_and_the_action():
    clock = Clock()
    with pytest.raises(gl.GuestLocked, match=r'VM 100 \(web\) is locked \(backup\)'):
        gl.ensure_unlocked(Module(Resources([])), gl.Guest({'vmid': 100, 'type': 'qemu', 'name': 'web',
                                                            'lock': 'backup'}), 0,
                           sleep=clock.sleep, clock=clock, action=SNAPSHOT)
    with pytest.raises(gl.GuestLocked) as info:
        gl.ensure_unlocked(Module(Resources([])), gl.Guest({'vmid': 100, 'type': 'qemu', 'name': 'web',
                                                            'lock': 'backup'}), 0,
                           sleep=clock.sleep, clock=clock, action=SNAPSHOT)
    assert info.value.message == ('VM 100 (web) is locked (backup): another operation holds it, cannot take a '
                                  'snapshot of it now')
    assert info.value.lock == 'backup'


def test_lock_that_goes_away_is_waited_for():
    clock = Clock()
    client = Resources(['backup', 'backup', None])
    fresh = gl.ensure_unlocked(Module(client), gl.Guest({'vmid': 100, 'type': 'qemu', 'lock': 'backup'}), 60,
                               sleep=clock.sleep, clock=clock, action=SNAPSHOT)
    assert fresh.entry['lock'] is None and client.reads == 3
    assert clock.now < 60


def test_lock_that_stays_fails_after_the_wait():
    clock = Clock()
    client = Resources(['snapshot'] * 1000)
    with pytest.raises(gl.GuestLocked, match=r'locked \(snapshot\).*after waiting 30 s'):
        gl.ensure_unlocked(Module(client), gl.Guest({'vmid': 100, 'type': 'qemu', 'lock': 'snapshot'}), 30,
                           sleep=clock.sleep, clock=clock, action=SNAPSHOT)
    assert clock.now == pytest.approx(30)


def test_read_pending_and_effective():
    client = Reads({'/nodes/pve1/qemu/100/pending': [
        {'key': 'cores', 'value': 2, 'pending': 4}, {'key': 'memory', 'value': '2048'},
        {'key': 'balloon', 'value': 512, 'delete': 1}, {'key': 'net1', 'pending': 'virtio,bridge=vmbr0'}]})
    config, pending = gl.read_pending(client, guest())
    assert config == {'cores': 2, 'memory': '2048', 'balloon': 512}
    assert pending == {'cores': {'value': 2, 'pending': 4}, 'balloon': {'value': 512, 'delete': True},
                       'net1': {'value': None, 'pending': 'virtio,bridge=vmbr0'}}
    assert gl.effective(config, pending) == {'cores': 4, 'memory': '2048', 'net1': 'virtio,bridge=vmbr0'}
    assert gl.mask_pending({'cipassword': {'value': 'x', 'pending': 'y'}}, ('cipassword',)) == {
        'cipassword': {'value': '********', 'pending': '********'}}


@pytest.mark.parametrize('status,lock,qmp,state,plan', [
    ('running', None, 'running', 'started', []),
    ('running', None, 'paused', 'started', ['resume']),
    ('stopped', None, None, 'started', ['start']),
    ('stopped', 'suspended', None, 'started', ['start']),
    ('running', None, 'running', 'stopped', ['stop']),
    ('stopped', None, None, 'stopped', []),
    ('running', None, 'running', 'shutdown', ['shutdown']),
    ('stopped', None, None, 'shutdown', []),
    ('running', None, 'running', 'restarted', ['shutdown', 'start']),
    ('stopped', None, None, 'restarted', ['start']),
    ('running', None, 'running', 'rebooted', ['reboot']),
    ('running', None, 'paused', 'rebooted', ['resume', 'reboot']),
    ('running', None, 'running', 'suspended', ['suspend']),
    ('running', None, 'paused', 'suspended', []),
    ('running', None, 'running', 'hibernated', ['hibernate']),
    ('stopped', 'suspended', None, 'hibernated', []),
    ('running', None, 'running', 'present', []),
])
def test_plan_power(status, lock, qmp, state, plan):
    assert gl.plan_power(guest(status=status, lock=lock), state, qmp) == plan


@pytest.mark.parametrize('status,state,template,message', [
    ('stopped', 'suspended', False, 'only a running guest'),
    ('stopped', 'hibernated', False, 'only a running VM'),
    ('stopped', 'started', True, 'is a template'),
])
def test_plan_power_refuses(status, state, template, message):
    with pytest.raises(ProxmoxConfigError, match=message):
        gl.plan_power(guest(status=status, template=1 if template else 0), state)


def test_needs_qmpstatus_only_for_running_guests():
    assert gl.needs_qmpstatus(guest(), 'started')
    assert not gl.needs_qmpstatus(guest(status='stopped'), 'started')
    assert not gl.needs_qmpstatus(guest(), 'stopped')


def test_power_action_in_check_mode_sends_nothing():
    module = Module(Reads({}), check_mode=True)
    assert gl.set_power(module, guest(status='stopped'), 'started') == ['start']
    assert module.client.requests == []


def test_power_action_params():
    module = Module(Reads({}))
    gl.power_action(module, guest(), 'shutdown', timeout=30, force_stop=True)
    gl.power_action(module, guest(), 'hibernate')
    assert module.client.requests == [
        ('POST', '/nodes/pve1/qemu/100/status/shutdown', {'timeout': 30, 'forceStop': 1}),
        ('POST', '/nodes/pve1/qemu/100/status/suspend', {'todisk': 1})]


class Failing(Reads):
    """POSTs and PUTs answer with a task that fails with `error`."""

    def __init__(self, error):
        super().__init__({})
        self.error = error

    def post(self, path, **params):
        super().post(path, **params)
        raise self.error

    put = post


@pytest.mark.parametrize('kind, exitstatus', [
    ('qemu', 'VM quit/powerdown failed - got timeout'),
    ('lxc', 'container did not stop'),
])
def test_power_action_names_a_late_shutdown_of_either_kind(kind, exitstatus):
    module = Module(Failing(ProxmoxTaskError('task failed', exitstatus=exitstatus)))
    with pytest.raises(ProxmoxTaskError) as info:
        gl.power_action(module, guest(type=kind), 'shutdown', timeout=5)
    assert info.value.message == (
        '{0} 100 (web) on node pve1 did not shut down within 5 s ({1}); set force_stop to stop it after the '
        'timeout, or give it a longer timeout'.format('VM' if kind == 'qemu' else 'CT', exitstatus))


def test_power_action_leaves_other_failures_alone():
    module = Module(Failing(ProxmoxTaskError('task failed', exitstatus='unexpected status')))
    with pytest.raises(ProxmoxTaskError, match='task failed') as info:
        gl.power_action(module, guest(), 'shutdown', timeout=5)
    assert info.value.message == 'task failed'
    module = Module(Failing(ProxmoxTaskError('task failed', exitstatus='container did not stop')))
    with pytest.raises(ProxmoxTaskError) as info:
        gl.power_action(module, guest(), 'stop')
    assert info.value.message == 'task failed'


def raise_(error):
    raise error


def test_guarded_names_the_lock_of_a_request_or_a_task():
    module = Module(Reads({}))
    with pytest.raises(gl.GuestLocked, match=r'CT 100 \(web\) on node pve1 is locked \(backup\)'):
        gl.guarded(module, guest(type='lxc'), lambda: raise_(
            ProxmoxTaskError('task failed: CT is locked (backup)', exitstatus='CT is locked (backup)')))
    with pytest.raises(ProxmoxApiError, match='other'):
        gl.guarded(module, guest(), lambda: raise_(ProxmoxApiError('other')))
    late = ProxmoxTaskTimeout('VM is locked (backup)')
    with pytest.raises(ProxmoxTaskTimeout):
        gl.guarded(module, guest(), lambda: raise_(late))
    assert gl.guarded(module, guest(), lambda: 'answer') == 'answer'


@pytest.mark.parametrize('kind', ['qemu', 'lxc'])
def test_resize_disk_and_make_template(kind):
    module = Module(Reads({}))
    gl.resize_disk(module, guest(type=kind), 'rootfs', 32 * 1024 ** 3)
    gl.make_template(module, guest(type=kind))
    assert module.client.requests == [
        ('PUT', '/nodes/pve1/{0}/100/resize'.format(kind), {'disk': 'rootfs', 'size': '32G'}),
        ('POST', '/nodes/pve1/{0}/100/template'.format(kind), {})]
    quiet = Module(Reads({}), check_mode=True)
    gl.resize_disk(quiet, guest(type=kind), 'rootfs', 1024)
    gl.make_template(quiet, guest(type=kind))
    assert quiet.client.requests == []


def test_resize_disk_names_the_lock():
    module = Module(Failing(ProxmoxApiError('VM is locked (snapshot)', status_code=500)))
    with pytest.raises(gl.GuestLocked, match=r'is locked \(snapshot\)'):
        gl.resize_disk(module, guest(), 'scsi0', 1024)


@pytest.mark.parametrize('kind, ref, vmid', [('qemu', '101', 101), ('qemu', 'db', 101), ('lxc', 102, 102),
                                             ('lxc', 'web', 102)])
def test_clone_source(kind, ref, vmid):
    assert gl.clone_source(None, kind, ref, guests=GUESTS).vmid == vmid


@pytest.mark.parametrize('kind, ref, message', [
    ('qemu', 'nope', "clone: no VM or template 'nope' in the cluster"),
    ('qemu', '999', "clone: no VM or template '999' in the cluster"),
    ('lxc', 'db', "clone: no container 'db' in the cluster"),
])
def test_clone_source_missing(kind, ref, message):
    with pytest.raises(ProxmoxConfigError) as info:
        gl.clone_source(None, kind, ref, guests=GUESTS)
    assert info.value.message == message


def test_destroy_honours_protection_and_running():
    module = Module(Reads({}))
    with pytest.raises(ProxmoxConfigError, match='is protected'):
        gl.destroy(module, guest(status='stopped'), config={'protection': 1})
    with pytest.raises(ProxmoxConfigError, match='is running'):
        gl.destroy(module, guest(), config={})
    assert module.client.requests == []
    actions = gl.destroy(module, guest(), config={'protection': '1'}, force=True, purge=True, unprotect=True,
                         destroy_unreferenced_disks=True)
    assert actions == ['unprotect', 'stop', 'destroy']
    assert module.client.requests == [
        ('PUT', '/nodes/pve1/qemu/100/config', {'delete': 'protection'}),
        ('POST', '/nodes/pve1/qemu/100/status/stop', {}),
        ('DELETE', '/nodes/pve1/qemu/100', {'purge': 1, 'destroy-unreferenced-disks': 1})]
