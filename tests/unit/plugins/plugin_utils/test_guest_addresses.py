# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.guests: the addresses and tags the inventory takes from a guest."""

import pytest

from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.guests import (
    agent_addresses,
    choose_address,
    config_addresses,
    split_tags,
)


@pytest.mark.parametrize('guest_type, config, expected', [
    ('qemu', {'ipconfig0': 'ip=198.51.100.5/24,gw=198.51.100.1'}, ['198.51.100.5']),
    ('qemu', {'ipconfig1': 'ip=198.51.100.6/24', 'ipconfig0': 'ip=dhcp,ip6=2001:db8::5/64'}, ['2001:db8::5', '198.51.100.6']),
    ('qemu', {'ipconfig10': 'ip=198.51.100.10/24', 'ipconfig2': 'ip=198.51.100.2/24'}, ['198.51.100.2', '198.51.100.10']),
    ('qemu', {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'}, []),
    ('lxc', {'net0': 'name=eth0,bridge=vmbr0,ip=198.51.100.7/24,ip6=auto'}, ['198.51.100.7']),
    ('lxc', {'net0': 'name=eth0,ip=dhcp', 'net1': 'name=eth1,ip=127.0.0.2/8'}, []),
    ('lxc', {'ipconfig0': 'ip=198.51.100.9/24'}, []),
])
def test_config_addresses(guest_type, config, expected):
    assert config_addresses(guest_type, config) == expected


def test_agent_addresses_skip_loopback_and_link_local_and_put_ipv4_first():
    interfaces = [
        {'name': 'lo', 'ip-addresses': [{'ip-address': '127.0.0.1'}]},
        {'name': 'eth0', 'ip-addresses': [{'ip-address': 'fe80::1'}, {'ip-address': '2001:db8::7'},
                                          {'ip-address': '203.0.113.7'}]},
        {'name': 'eth1', 'inet': '198.51.100.8/24', 'inet6': '::1/128'},
    ]
    assert agent_addresses(interfaces) == ['203.0.113.7', '198.51.100.8', '2001:db8::7']
    assert agent_addresses(None) == [] and agent_addresses([{'name': 'eth0'}]) == []


@pytest.mark.parametrize('order, expected', [
    (['config', 'agent', 'name'], '198.51.100.5'),
    (['agent', 'config', 'name'], '203.0.113.7'),
    (['name'], 'web-01'),
    (['agent'], '203.0.113.7'),
])
def test_choose_address(order, expected):
    assert choose_address(order, 'web-01', ['198.51.100.5'], ['203.0.113.7']) == expected


def test_choose_address_falls_through_and_may_find_nothing():
    assert choose_address(['config', 'agent', 'name'], 'web-01', [], []) == 'web-01'
    assert choose_address(['config', 'agent'], 'web-01', [], []) is None


@pytest.mark.parametrize('value, expected', [('web;prod', ['prod', 'web']), ('b,a a', ['a', 'b']), (None, []), ('', [])])
def test_split_tags(value, expected):
    assert split_tags(value) == expected
