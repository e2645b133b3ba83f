# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/modules/pve_vm.py: the input checks and the plan (what is sent for which options), as pure logic.
The module itself runs against the lab in tests/integration/test_pve_vm.py."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.vm_write import check_storages_and_bridges
from ansible_collections.proxfleet.proxmox.plugins.modules.pve_vm import check_input, make_plan

DEFAULTS = {'state': 'present', 'update_password': 'on_create', 'purge_tags': False}
CONFIG = {'name': 'web-01', 'memory': '2048', 'cores': 2, 'tags': 'prod;web', 'hookscript': 'local:snippets/h.pl',
          'scsi0': 'local-lvm:vm-100-disk-0,iothread=1,size=32G', 'net0': 'virtio=BC:24:11:2A:96:6B,bridge=vmbr0',
          'ipconfig0': 'ip=dhcp', 'cipassword': '$5$x$y'}


def params(**kw):
    out = dict(DEFAULTS)
    out.update(kw)
    return out


def test_only_the_changed_field_is_sent():
    plan = make_plan(params(memory=4096, cores=2, name='web-01', tags=['WEB']), CONFIG)
    assert plan.params == {'memory': '4096'} and plan.delete == []
    assert plan.before['memory'] == 2048 and plan.after['memory'] == 4096


def test_nothing_to_send_for_the_same_meaning():
    plan = make_plan(params(ipconfig={0: {'ip': 'dhcp'}}, cipassword='secret', config={'hookscript': 'local:snippets/h.pl'},
                            disks=[{'slot': 'scsi0', 'size': '32G', 'iothread': True, 'state': 'present'}],
                            nets=[{'slot': 'net0', 'bridge': 'vmbr0', 'state': 'present'}]), CONFIG)
    assert not plan.changed


def test_removals_are_named():
    plan = make_plan(params(config={'hookscript': None}, absent_keys=['balloon', 'hookscript'], description='',
                            ipconfig={'ipconfig0': 'absent'}, tags=[], purge_tags=True), CONFIG)
    # balloon is not set: nothing to remove; description neither.
    assert sorted(plan.delete) == ['hookscript', 'ipconfig0', 'tags']
    assert plan.params == {}


def test_password_on_update_only_when_asked():
    assert make_plan(params(cipassword='x', update_password='always'), CONFIG).params == {'cipassword': 'x'}
    assert make_plan(params(cipassword='x'), CONFIG).params == {}
    assert make_plan(params(cipassword='x'), {}, creating=True).params == {'cipassword': 'x'}


def test_disks_nets_and_pool():
    plan = make_plan(params(disks=[{'slot': 'scsi0', 'size': '40G', 'state': 'present'},
                                   {'slot': 'scsi1', 'state': 'absent', 'destroy': True}],
                            nets=[{'slot': 'net0', 'state': 'absent'}], pool='apps'),
                     dict(CONFIG, scsi1='local-lvm:vm-100-disk-1,size=1G'), pool='other')
    assert plan.resize == [('scsi0', 40 * 1024 ** 3)] and plan.destroy == ['scsi1'] and plan.delete == ['net0']
    assert plan.pool == 'apps' and plan.before['pool'] == 'other'


@pytest.mark.parametrize('given,message', [
    ({}, 'give vmid or name'),
    ({'name': 'x', 'config': {'no_such_key': 1}}, 'not a configuration key'),
    ({'name': 'x', 'config': {'cores': 1}}, 'has its own option'),
    ({'name': 'x', 'config': {'ipconfig0': 'ip=dhcp'}}, 'has its own option'),
    ({'name': 'x', 'absent_keys': ['scsi0']}, 'state: absent in disks'),
    ({'name': 'x', 'disks': [{'slot': 'scsi0'}, {'slot': 'scsi0'}]}, 'listed twice'),
    ({'name': 'x', 'disks': [{'slot': 'sata9'}]}, 'not a disk slot'),
    ({'name': 'x', 'disks': [{'slot': 'scsi0', 'size': 'big'}]}, 'not a size'),
    ({'name': 'x', 'nets': [{'slot': 'net0', 'mac': 'nope', 'state': 'present'}]}, 'not a MAC address'),
    ({'name': 'x', 'serial': {'usb0': 'socket'}}, 'not a serialN key'),
    ({'name': 'x', 'state': 'absent', 'clone': {'source': 'tpl'}}, 'do not go together'),
])
def test_check_input_refuses(given, message):
    with pytest.raises(ProxmoxConfigError, match=message):
        check_input(params(**given))


def test_a_key_set_and_removed_at_once_is_refused():
    with pytest.raises(ProxmoxConfigError, match='memory: given a value and named absent'):
        make_plan(params(memory=4096, absent_keys=['memory']), CONFIG)


class NetworkReads(object):
    """A client whose GET /nodes/{node}/network lists every interface whatever `type` asks (an API or proxy that
    does not filter), and which has no SDN VNets."""

    path = staticmethod(ProxmoxClient.path)

    def __init__(self):
        self.requests = []

    def get(self, path, **params):
        self.requests.append(('GET', path, params))
        if path == '/cluster/sdn/vnets':
            return []
        return [{'iface': 'vmbr0', 'type': 'bridge', 'bridge_ports': 'eno1'}, {'iface': 'eno1', 'type': 'eth'},
                {'iface': 'bond0', 'type': 'bond'}]


class VmModule(object):
    def __init__(self):
        self.client = NetworkReads()
        self.target_url = 'https://pve.example:8006'


@pytest.mark.parametrize('bridge', ['eno1', 'bond0'])
def test_a_nic_or_bond_is_not_a_bridge_even_when_the_api_does_not_filter(bridge):
    wanted = params(vmid=100, nets=[{'slot': 'net1', 'bridge': bridge, 'state': 'present'}])
    plan = make_plan(wanted, CONFIG)
    module = VmModule()
    with pytest.raises(ProxmoxConfigError) as info:
        check_storages_and_bridges(module, 'pve1', plan.disk_changes, plan.net_changes, wanted)
    assert "net1: {0!r} is not a bridge, OVS bridge or SDN VNet on node pve1".format(bridge) in str(info.value)
    assert "its bridges: vmbr0" in str(info.value)
    # The same check accepts the node's bridge.
    wanted = params(vmid=100, nets=[{'slot': 'net1', 'bridge': 'vmbr0', 'state': 'present'}])
    plan = make_plan(wanted, CONFIG)
    check_storages_and_bridges(module, 'pve1', plan.disk_changes, plan.net_changes, wanted)
