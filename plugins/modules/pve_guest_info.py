#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_guest_info
short_description: List the VMs and containers of a Proxmox VE cluster, with filters
version_added: 0.1.0
description:
  - Lists the guests (VMs and containers) of the whole cluster from one read of C(/cluster/resources), filtered by
    O(name), O(vmid), O(node), O(tags), O(pool), O(status) and O(type). Filters combine; a guest is listed when it
    matches every filter given.
  - With O(config=true), each listed guest's configuration is read too (one request per guest); with
    O(interfaces=true), the network interfaces its guest agent (VMs) or the container runtime (containers) reports
    (one request per running guest). Nothing else is read per guest.
  - Lists only the guests the user may see (C(VM.Audit) on C(/vms/{vmid})).
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
  - proxfleet.proxmox.attributes.INFO_MODULE
options:
  name:
    description:
      - Only guests whose name matches, exactly or as a shell-style pattern (V(web-*), V(db-0[12])).
    type: str
  vmid:
    description:
      - Only the guests with these ids.
    type: list
    elements: int
  node:
    description:
      - Only guests on this node.
    type: str
  tags:
    description:
      - Only guests that carry every one of these tags.
    type: list
    elements: str
  pool:
    description:
      - Only guests in this resource pool.
    type: str
  status:
    description:
      - Only guests in this state.
    type: str
    choices: [running, stopped, paused, suspended, unknown]
  type:
    description:
      - Only VMs (V(qemu)) or only containers (V(lxc)).
    type: str
    choices: [qemu, lxc]
  template:
    description:
      - V(true) lists only templates, V(false) only guests that are not templates; unset lists both.
    type: bool
  config:
    description:
      - Read each listed guest's configuration (its current values, without pending changes, C(current=1)) into
        RV(guests[].config).
      - Secret values (C(cipassword)) are masked, whatever the API returns.
      - A guest whose configuration cannot be read (its node is offline, C(595 No route to host)) is listed all
        the same, with RV(guests[].config) V(null) and the reason in RV(guests[].config_error); the run warns naming
        the node, and does not fail.
    type: bool
    default: false
  interfaces:
    description:
      - Read each listed running guest's network interfaces into RV(guests[].interfaces), from the QEMU guest agent
        for a VM (C(agent/network-get-interfaces)), from the container for a container (C(interfaces)).
      - A guest that is not running, or a VM whose agent does not answer, gets none (V(null)), with the reason in
        RV(guests[].interfaces_error) for the agent.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Guest facts, under one set of connection options
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: automation@pve!audit
      api_token_secret: "{{ vault_pve_audit_token_secret }}"
  block:
    - name: Every running production web guest with its addresses
      proxfleet.proxmox.pve_guest_info:
        name: web-*
        tags: [prod]
        status: running
        interfaces: true
      register: web

    - name: Their IPv4 addresses
      ansible.builtin.debug:
        msg: "{{ web.guests | map(attribute='ipv4') | flatten }}"

    - name: The containers of node pve2 with their configuration
      proxfleet.proxmox.pve_guest_info:
        node: pve2
        type: lxc
        config: true
      register: containers
'''

RETURN = r'''
guests:
  description: The guests that match, by vmid.
  returned: success
  type: list
  elements: dict
  contains:
    vmid:
      description: The guest's id.
      type: int
    name:
      description: Its name (a container's hostname).
      type: str
    type:
      description: V(qemu) or V(lxc).
      type: str
    node:
      description: The node it is on.
      type: str
    status:
      description: V(running), V(stopped), ... (V(unknown) on an offline node).
      type: str
    template:
      description: Whether it is a template.
      type: bool
    tags:
      description: Its tags.
      type: list
      elements: str
    pool:
      description: Its resource pool, if any.
      type: str
    lock:
      description: The lock another operation holds on it (V(backup), V(snapshot), ...), if any.
      type: str
    hastate:
      description: Its HA state, when HA manages it.
      type: str
    maxcpu:
      description: Its CPUs.
      type: int
    maxmem:
      description: Its memory, in bytes.
      type: int
    maxdisk:
      description: Its root disk size, in bytes.
      type: int
    uptime:
      description: Seconds since it started (0 when it is not running).
      type: int
    config:
      description:
        - Its configuration, as Proxmox VE returns it (property strings as they are), secret values (C(cipassword))
          masked as C(********).
        - V(null) when it could not be read (see RV(guests[].config_error)).
      returned: with O(config=true)
      type: dict
    config_error:
      description: Why its configuration could not be read (the node, the request and the API's words), if it could not.
      returned: with O(config=true), when the read failed
      type: str
    interfaces:
      description:
        - Its network interfaces; V(null) when it is not running or its agent does not answer.
      returned: with O(interfaces=true)
      type: list
      elements: dict
      contains:
        name:
          description: Interface name in the guest.
          type: str
        hardware_address:
          description: MAC address.
          type: str
        ip_addresses:
          description: Addresses, each with C(address), C(prefix) (int) and C(family) (V(ipv4) or V(ipv6)).
          type: list
          elements: dict
    interfaces_error:
      description: Why a running VM has no interfaces (its agent's error), if it has none.
      returned: with O(interfaces=true), when the agent failed
      type: str
    ipv4:
      description: Its IPv4 addresses, loopback left out.
      returned: with O(interfaces=true)
      type: list
      elements: str
    ipv6:
      description: Its IPv6 addresses, loopback and link-local left out.
      returned: with O(interfaces=true)
      type: list
      elements: str
  sample:
    - vmid: 100
      name: web-01
      type: qemu
      node: pve1
      status: running
      template: false
      tags: [prod, web]
      maxcpu: 2
      maxmem: 2147483648
      maxdisk: 34359738368
      uptime: 3600
      interfaces:
        - name: eth0
          hardware_address: bc:24:11:00:00:01
          ip_addresses: [{address: 192.0.2.10, prefix: 24, family: ipv4}]
      ipv4: [192.0.2.10]
      ipv6: []
'''

import fnmatch
import ipaddress
import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils import guests as g
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.redact import mask_guest_config

KEYS = ('name', 'node', 'status', 'pool', 'lock', 'hastate')
NUMBERS = ('maxcpu', 'maxmem', 'maxdisk', 'uptime')


def split_tags(text):
    """PVE's tag list (separated by ';', ',' or spaces) as a list, in order, without repeats."""
    out = []
    for tag in re.split(r'[;,\s]+', str(text or '')):
        if tag and tag not in out:
            out.append(tag)
    return out


def guest_view(item):
    out = {'vmid': int(item['vmid']), 'type': item['type'], 'template': str(item.get('template') or 0) in ('1', 'True'),
           'tags': split_tags(item.get('tags'))}
    for key in KEYS:
        if item.get(key) not in (None, ''):
            out[key] = item[key]
    for key in NUMBERS:
        if item.get(key) is not None:
            out[key] = int(item[key])
    return out


def matches(guest, params):
    """True when the guest (a guest_view) passes every filter given."""
    if params.get('name') is not None and not fnmatch.fnmatchcase(str(guest.get('name') or ''), params['name']):
        return False
    if params.get('vmid') and guest['vmid'] not in [int(v) for v in params['vmid']]:
        return False
    for key in ('node', 'pool', 'status', 'type'):
        if params.get(key) is not None and guest.get(key) != params[key]:
            return False
    if params.get('template') is not None and guest['template'] != params['template']:
        return False
    if params.get('tags') and not set(params['tags']) <= set(guest['tags']):
        return False
    return True


def _family(text):
    text = str(text or '').lower()
    if text in ('ipv4', 'inet'):
        return 'ipv4'
    if text in ('ipv6', 'inet6'):
        return 'ipv6'
    return text or None


def normalize_interfaces(items):
    """The QEMU agent's or a container's interface list as one shape: name, hardware_address, ip_addresses."""
    out = []
    for item in items or []:
        if not isinstance(item, dict):
            continue
        addresses = []
        for entry in item.get('ip-addresses') or []:
            if not isinstance(entry, dict) or not entry.get('ip-address'):
                continue
            address = {'address': entry['ip-address'], 'family': _family(entry.get('ip-address-type'))}
            if entry.get('prefix') not in (None, ''):
                address['prefix'] = int(entry['prefix'])
            addresses.append(address)
        out.append({'name': item.get('name'), 'hardware_address': item.get('hardware-address') or item.get('hwaddr'),
                    'ip_addresses': addresses})
    return out


def addresses(interfaces, family):
    """The guest's routable-looking addresses of a family: loopback (and IPv6 link-local) left out."""
    out = []
    for interface in interfaces or []:
        for entry in interface['ip_addresses']:
            if entry.get('family') != family:
                continue
            try:
                parsed = ipaddress.ip_address(entry['address'].split('%')[0])
            except ValueError:
                continue
            if parsed.is_loopback or parsed.is_link_local:
                continue
            if entry['address'] not in out:
                out.append(entry['address'])
    return out


def read_interfaces(client, guest):
    """(interfaces, error) of a running guest: its agent's (VM) or its own (container) list."""
    base = client.path('nodes', guest['node'], guest['type'], guest['vmid'])
    if guest['type'] == 'qemu':
        try:
            answer = client.get(base + '/agent/network-get-interfaces') or {}
        except ProxmoxApiError as error:
            # No agent configured, not running, or not answering: facts about the guest, not a failure of the run.
            return None, error.message
        return normalize_interfaces(answer.get('result') if isinstance(answer, dict) else answer), None
    try:
        return normalize_interfaces(client.get(base + '/interfaces')), None
    except ProxmoxApiError as error:
        return None, error.message


def read_config(client, guest):
    """(config, error) of a guest: its configuration with secrets masked, or why it could not be read (an offline
    node answers 595): a fact about that guest, not a failure of the listing."""
    try:
        config = client.get(client.path('nodes', guest['node'], guest['type'], guest['vmid'], 'config'),
                            current=1) or {}
    except ProxmoxError as error:
        return None, error.describe('{0} on node {1}'.format(g.describe_guest(guest), guest['node']))
    return mask_guest_config(config), None


def run(module):
    params = module.params
    client = module.client
    listed = sorted((guest_view(item) for item in g.list_guests(client)), key=lambda guest: guest['vmid'])
    found = [guest for guest in listed if matches(guest, params)]
    unread = {}
    for guest in found:
        if params['config']:
            guest['config'], error = read_config(client, guest)
            if error:
                guest['config_error'] = error
                unread.setdefault(guest['node'], []).append(str(guest['vmid']))
        if params['interfaces']:
            interfaces, error = None, None
            if guest.get('status') == 'running':
                interfaces, error = read_interfaces(client, guest)
            guest['interfaces'] = interfaces
            if error:
                guest['interfaces_error'] = error
            guest['ipv4'] = addresses(interfaces, 'ipv4')
            guest['ipv6'] = addresses(interfaces, 'ipv6')
    for node, vmids in sorted(unread.items()):
        module.warn('the configuration of guests {0} on node {1} could not be read (see config_error); they are '
                    'listed with config null'.format(', '.join(vmids), node))
    return {'changed': False, 'guests': found}


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            name=dict(type='str'),
            vmid=dict(type='list', elements='int'),
            node=dict(type='str'),
            tags=dict(type='list', elements='str'),
            pool=dict(type='str'),
            status=dict(type='str', choices=['running', 'stopped', 'paused', 'suspended', 'unknown']),
            type=dict(type='str', choices=['qemu', 'lxc']),
            template=dict(type='bool'),
            config=dict(type='bool', default=False),
            interfaces=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    module.run(run, target='guests')


if __name__ == '__main__':
    main()
