# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Guests (VMs and containers) of a cluster: find one by vmid or name, the cluster's nodes, mappings for
migrations, the remote endpoint of a cross-cluster migration, and waiting for an HA move."""

from __future__ import annotations

import re
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import format_fingerprint, normalize_fingerprint
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError, ProxmoxTaskTimeout
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import AdaptivePoll, poll_until

GUEST_TYPES = ('qemu', 'lxc')
_ID_RE = re.compile(r'^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$')
MASK = '********'


class GuestNotFound(ProxmoxError):
    """No guest (or more than one) matches what the user named."""


def describe_guest(guest):
    kind = 'VM' if guest.get('type') == 'qemu' else 'CT'
    name = guest.get('name')
    return '{0} {1}{2}'.format(kind, guest.get('vmid'), ' ({0})'.format(name) if name else '')


def list_guests(client):
    """Every VM and container of the cluster, in one read of /cluster/resources."""
    return [item for item in (client.get('/cluster/resources', type='vm') or [])
            if isinstance(item, dict) and item.get('type') in GUEST_TYPES]


def find_guest(guests, vmid=None, name=None, url=None):
    """The one guest with this vmid or name (a name must be unique), or GuestNotFound naming the cluster."""
    if vmid is not None:
        found = [g for g in guests if int(g.get('vmid', -1)) == int(vmid)]
        what = 'vmid {0}'.format(vmid)
    else:
        found = [g for g in guests if g.get('name') == name]
        what = 'name {0!r}'.format(name)
    if not found:
        raise GuestNotFound('no guest with {0} in the cluster'.format(what), url=url)
    if len(found) > 1:
        raise GuestNotFound('several guests have the {0} (vmids {1}): give the vmid'.format(
            what, ', '.join(str(g['vmid']) for g in sorted(found, key=lambda g: int(g['vmid'])))), url=url)
    return found[0]


def cluster_nodes(client):
    """{node name: {'online': bool, 'local': bool}} from /cluster/status (one read)."""
    nodes = {}
    for entry in client.get('/cluster/status') or []:
        if isinstance(entry, dict) and entry.get('type') == 'node':
            nodes[entry['name']] = {'online': bool(int(entry.get('online') or 0)), 'local': bool(int(entry.get('local') or 0))}
    return nodes


def local_node(nodes):
    """The node a cluster's API answers on (the `local` one of /cluster/status), as PVE's remote migration picks it."""
    for name in sorted(nodes):
        if nodes[name]['local']:
            return name
    return None


def check_id(value, what):
    if not _ID_RE.match(str(value)):
        raise ProxmoxConfigError('{0} {1!r} is not a valid id (letters, digits, -, _ and ., starting with a letter)'.format(
            what, value))
    return str(value)


def pair_list(default=None, mapping=None, what='storage'):
    """A PVE storage-/bridge-pair-list from a default target and a {source: target} map: 'src:dst,...,default'.

    None when neither is given. Sorted, so the same input always gives the same string.
    """
    items = ['{0}:{1}'.format(check_id(src, 'source ' + what), check_id(dst, 'target ' + what))
             for src, dst in sorted((mapping or {}).items())]
    if default:
        items.append(check_id(default, what))
    return ','.join(items) or None


def map_id(default, mapping, source):
    """Where a pair list sends `source` (PVE's map_id)."""
    if mapping and source in mapping:
        return mapping[source]
    return default or source


def remote_endpoint(host, port, token_id, token_secret, fingerprint):
    """PVE's proxmox-remote property string: host=...,port=...,apitoken=PVEAPIToken=user@realm!id=secret,fingerprint=...

    Carries the secret: it goes into the request only, never into a result or a message.
    """
    parts = ['host={0}'.format(host)]
    if port:
        parts.append('port={0}'.format(int(port)))
    parts.append('apitoken=PVEAPIToken={0}={1}'.format(token_id, token_secret))
    if fingerprint:
        parts.append('fingerprint={0}'.format(format_fingerprint(normalize_fingerprint(fingerprint))))
    return ','.join(parts)


def served_fingerprint(client, node):
    """The fingerprint the node serves (pveproxy-ssl.pem, else pve-ssl.pem), read over a verified connection."""
    found = {}
    for cert in client.get(client.path('nodes', node, 'certificates', 'info')) or []:
        if isinstance(cert, dict) and cert.get('filename') in ('pveproxy-ssl.pem', 'pve-ssl.pem'):
            found[cert['filename']] = cert.get('fingerprint')
    return found.get('pveproxy-ssl.pem') or found.get('pve-ssl.pem')


def scrub(error, secret):
    """Take a secret out of an error's words (an API may echo a parameter back)."""
    if not secret:
        return error
    error.message = str(error.message or '').replace(secret, MASK)
    error.errors = dict((k, str(v).replace(secret, MASK)) for k, v in (error.errors or {}).items())
    if getattr(error, 'log_tail', None):
        error.log_tail = [line.replace(secret, MASK) for line in error.log_tail]
    return error


def wait_for_ha_move(client, vmid, target, deadline, url=None, poll=None, sleep=time.sleep):
    """Poll /cluster/resources until the HA manager has the guest on `target`, within the run's budget.

    The HA manager moves a guest on its own schedule: there is no task to wait for on the request.
    Returns the guest's entry; ProxmoxError when its HA state turns to `error`, ProxmoxTaskTimeout when the
    budget runs out.
    """
    def moved(guest):
        if guest.get('node') == target and guest.get('hastate') not in ('migrate', 'relocate'):
            return True
        if guest.get('hastate') == 'error':
            raise ProxmoxError('the HA manager put {0} into the error state while moving it to node {1!r}'.format(
                describe_guest(guest), target), url=url)
        return False

    def timed_out(guest):
        message = ('the HA manager has not moved {0} to node {1!r} within the {2:g} s timeout (it is on {3!r}, '
                   'HA state {4}); the move may still happen')
        return ProxmoxTaskTimeout(message.format(describe_guest(guest), target, deadline.seconds, guest.get('node'),
                                                 guest.get('hastate')), url=url)

    return poll_until(lambda: find_guest(list_guests(client), vmid=vmid, url=url), moved, deadline, timed_out,
                      poll=poll or AdaptivePoll(first=0.2, cap=2.0), sleep=sleep)
