# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""What the inventory makes of a guest: its addresses from config and from the running system, its tags."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring

ADDRESS_SOURCES = ('config', 'agent', 'name')


def _usable(address):
    """A unicast address someone could connect to: not loopback, link-local, unspecified or multicast."""
    try:
        ip = ipaddress.ip_address(str(address).split('/', maxsplit=1)[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return str(ip)


def config_addresses(guest_type, config):
    """Static addresses written in the guest's config, in interface order: cloud-init ipconfigN for VMs, the ip/ip6
    of netN for containers. 'dhcp', 'auto' and 'manual' are not addresses."""
    pattern, default_key = (r'ipconfig(\d+)', None) if guest_type == 'qemu' else (r'net(\d+)', None)
    found = []
    for key in sorted((k for k in config if re.fullmatch(pattern, k)), key=lambda k: int(re.sub(r'\D', '', k))):
        try:
            props = propstring.parse(config[key], default_key)
        except ValueError:
            continue
        for field in ('ip', 'ip6'):
            address = _usable(props.get(field, ''))
            if address:
                found.append(address)
    return found


def agent_addresses(interfaces):
    """Addresses the guest agent (VMs) or the container's interfaces report, IPv4 first, loopback and link-local left out."""
    found = []
    for interface in interfaces or []:
        if not isinstance(interface, dict) or interface.get('name') == 'lo':
            continue
        for entry in interface.get('ip-addresses') or []:
            address = _usable(entry.get('ip-address', ''))
            if address and address not in found:
                found.append(address)
        for field in ('inet', 'inet6'):
            address = _usable(interface.get(field) or '')
            if address and address not in found:
                found.append(address)
    return sorted(found, key=lambda a: ipaddress.ip_address(a).version)


def split_tags(value):
    """PVE's tags (';', ',' or space separated) as a sorted list."""
    return sorted(set(propstring.split_list(value, ',; ')))


def choose_address(order, name, config_found, agent_found):
    """The first address the configured order yields."""
    for source in order:
        if source == 'config' and config_found:
            return config_found[0]
        if source == 'agent' and agent_found:
            return agent_found[0]
        if source == 'name':
            return name
    return None
