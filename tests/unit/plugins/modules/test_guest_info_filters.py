# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/modules/pve_guest_info.py: tags, filters and the two interface shapes (QEMU agent, container), as pure
logic. The reads themselves run against the lab in tests/integration/test_pve_guest_info.py."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.modules.pve_guest_info import (
    addresses,
    guest_view,
    matches,
    normalize_interfaces,
    split_tags,
)

WEB = guest_view({'vmid': 100, 'type': 'qemu', 'name': 'web-01', 'node': 'pve1', 'status': 'running',
                  'tags': 'prod;web', 'template': 0, 'maxmem': 2147483648, 'pool': 'apps'})


@pytest.mark.parametrize('text, tags', [
    ('prod;web', ['prod', 'web']),
    ('prod,web web', ['prod', 'web']),
    ('', []),
    (None, []),
    ('a;a;b', ['a', 'b']),
])
def test_split_tags(text, tags):
    assert split_tags(text) == tags


def test_guest_view():
    assert WEB == {'vmid': 100, 'type': 'qemu', 'name': 'web-01', 'node': 'pve1', 'status': 'running',
                   'tags': ['prod', 'web'], 'template': False, 'maxmem': 2147483648, 'pool': 'apps'}
    assert guest_view({'vmid': '9', 'type': 'lxc', 'template': 1})['template'] is True


@pytest.mark.parametrize('filters, expected', [
    ({}, True),
    ({'name': 'web-01'}, True),
    ({'name': 'web-*'}, True),
    ({'name': 'WEB-*'}, False),
    ({'name': 'db-*'}, False),
    ({'vmid': [100, 101]}, True),
    ({'vmid': [101]}, False),
    ({'node': 'pve1', 'status': 'running', 'type': 'qemu', 'pool': 'apps'}, True),
    ({'node': 'pve2'}, False),
    ({'type': 'lxc'}, False),
    ({'pool': 'other'}, False),
    ({'tags': ['prod']}, True),
    ({'tags': ['prod', 'web']}, True),
    ({'tags': ['prod', 'db']}, False),
    ({'template': False}, True),
    ({'template': True}, False),
])
def test_matches(filters, expected):
    assert matches(WEB, filters) is expected


@given(st.lists(st.sampled_from(['a', 'b', 'c', 'd']), unique=True), st.lists(st.sampled_from(['a', 'b', 'c', 'd'])))
def test_tags_filter_is_a_subset_test(have, want):
    guest = guest_view({'vmid': 1, 'type': 'qemu', 'tags': ';'.join(have)})
    assert matches(guest, {'tags': want}) is set(want).issubset(have)


AGENT = [
    {'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
     'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8},
                      {'ip-address': '::1', 'ip-address-type': 'ipv6', 'prefix': 128}]},
    {'name': 'eth0', 'hardware-address': 'bc:24:11:00:00:01',
     'ip-addresses': [{'ip-address': '192.0.2.10', 'ip-address-type': 'ipv4', 'prefix': 24},
                      {'ip-address': 'fe80::1%eth0', 'ip-address-type': 'ipv6', 'prefix': 64},
                      {'ip-address': '2001:db8::10', 'ip-address-type': 'ipv6', 'prefix': 64}]},
    {'name': 'eth1', 'hardware-address': 'bc:24:11:00:00:02'},
]
CONTAINER = [
    {'name': 'eth0', 'hwaddr': 'bc:24:11:00:01:03', 'inet': '192.0.2.33/24',
     'ip-addresses': [{'ip-address-type': 'inet', 'ip-address': '192.0.2.33', 'prefix': '24'}]},
]


def test_agent_interfaces():
    found = normalize_interfaces(AGENT)
    assert [i['name'] for i in found] == ['lo', 'eth0', 'eth1']
    assert found[1]['ip_addresses'][0] == {'address': '192.0.2.10', 'family': 'ipv4', 'prefix': 24}
    assert found[2]['ip_addresses'] == []
    assert addresses(found, 'ipv4') == ['192.0.2.10']
    assert addresses(found, 'ipv6') == ['2001:db8::10']


def test_container_interfaces():
    found = normalize_interfaces(CONTAINER)
    assert found == [{'name': 'eth0', 'hardware_address': 'bc:24:11:00:01:03',
                      'ip_addresses': [{'address': '192.0.2.33', 'family': 'ipv4', 'prefix': 24}]}]


def test_no_interfaces():
    assert normalize_interfaces(None) == [] and addresses(None, 'ipv4') == []
