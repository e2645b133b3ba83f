# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Cluster membership: create a cluster on a standalone node, join a node to a cluster, remove a node.

Proxmox VE keeps no "desired cluster" object to compare with: the state is what /cluster/status says on the node
asked (the cluster's name, its members, quorum). Creating (`POST /cluster/config`) and joining
(`POST /cluster/config/join`, run on the joining node, which logs in to a member with root's password and checks
the member's certificate fingerprint) are tasks; quorum is waited for afterwards. Removing
(`DELETE /cluster/config/nodes/{node}`) runs on a remaining member. Everything that can be checked before a
write is: the member's certificate and password (a pinned login), its cluster's name, a node name already taken,
guests on the joining node, the corosync links.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import (
    ConnectionSettings,
    ProxmoxClient,
    format_fingerprint,
    normalize_fingerprint,
    require_root_login,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import AdaptivePoll, poll_until

JOIN_PORT = 8006  # PVE's join always talks to the member's API on 8006
MAX_LINKS = 8
_NODE_NAME_RE = re.compile(r'^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$')
_HOST_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$')


class ClusterRefused(ProxmoxError):
    """The request cannot be done as asked (found before any write)."""


# ------------------------------------------------------------------ input

def check_cluster_name(name):
    """PVE's clustername: a node-name-like word of at most 15 characters."""
    text = str(name)
    if len(text) > 15 or not _NODE_NAME_RE.match(text):
        raise ProxmoxConfigError('cluster_name {0!r} is not a valid cluster name: letters, digits and -, starting and '
                                 'ending with a letter or digit, at most 15 characters'.format(text))
    return text


def _check_address(address, where):
    text = str(address or '').strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not _HOST_RE.match(text):
        raise ProxmoxConfigError('{0}: {1!r} is neither an IP address nor a host name'.format(where, text))
    return text


def check_ids(params, creating):
    """nodeid at least 1; votes at least 1 on create, 0 on join (as the API's schema says)."""
    if params.get('nodeid') is not None and params['nodeid'] < 1:
        raise ProxmoxConfigError('nodeid must be 1 or more, got {0}'.format(params['nodeid']))
    low = 1 if creating else 0
    if params.get('votes') is not None and params['votes'] < low:
        raise ProxmoxConfigError('votes must be {0} or more {1}, got {2}'.format(
            low, 'when creating' if creating else 'when joining', params['votes']))


def link_params(links):
    """The module's `links` list -> {'link0': 'address[,priority=n]', ...}; ProxmoxConfigError on bad input.

    A link without `number` takes its position in the list.
    """
    out = {}
    for position, link in enumerate(links or []):
        number = link.get('number')
        number = position if number is None else number
        if not 0 <= number < MAX_LINKS:
            raise ProxmoxConfigError('links[{0}]: number {1} is out of range: corosync links are 0 to 7'.format(
                position, number))
        key = 'link{0}'.format(number)
        if key in out:
            raise ProxmoxConfigError('links[{0}]: link {1} is given twice'.format(position, number))
        text = _check_address(link.get('address'), 'links[{0}].address'.format(position))
        priority = link.get('priority')
        if priority is not None:
            if not 0 <= priority <= 255:
                raise ProxmoxConfigError('links[{0}]: priority {1} is out of range 0 to 255'.format(position, priority))
            text += ',priority={0}'.format(priority)
        out[key] = text
    return out


# ------------------------------------------------------------------ reads

def read_status(client):
    """/cluster/status as {'name', 'quorate', 'config_version', 'local', 'nodes': [...]}; name None when standalone."""
    items = client.get('/cluster/status') or []
    header = next((item for item in items if item.get('type') == 'cluster'), None)
    nodes = []
    local = None
    for item in items:
        if item.get('type') != 'node':
            continue
        node = {'name': item.get('name'), 'nodeid': item.get('nodeid'), 'ip': item.get('ip'),
                'online': bool(int(item.get('online') or 0)), 'local': bool(int(item.get('local') or 0))}
        nodes.append(node)
        if node['local']:
            local = node['name']
    nodes.sort(key=lambda node: str(node['name']))
    if header is None:
        return {'name': None, 'quorate': True, 'config_version': None, 'local': local, 'nodes': nodes}
    return {'name': header.get('name'), 'quorate': bool(int(header.get('quorate') or 0)),
            'config_version': header.get('version'), 'local': local, 'nodes': nodes}


def node_names(status):
    return sorted(str(node['name']) for node in status['nodes'])


def shown(status):
    """The cluster as results show it (None for a standalone node)."""
    if status is None or status['name'] is None:
        return None
    return {'name': status['name'], 'quorate': status['quorate'], 'config_version': status['config_version'],
            'node': status['local'], 'nodes': status['nodes']}


def managed(status):
    """What the diff shows: the cluster's name and members (a standalone node has neither)."""
    if status is None or status['name'] is None:
        return {'cluster_name': None, 'nodes': []}
    return {'cluster_name': status['name'], 'nodes': node_names(status)}


def wait_for(module, client, predicate, what):
    """Poll /cluster/status until predicate(status) holds, within the run's one timeout budget; the last status."""
    def timed_out(status):
        return ProxmoxError('{0}: still not the case after the {1:g} s timeout (the cluster shows: {2}, quorate: {3}, '
                            'online: {4})'.format(what, module.deadline.seconds, status['name'], status['quorate'],
                                                  ', '.join(n['name'] for n in status['nodes'] if n['online']) or 'none'),
                            url=client.settings.url)

    return poll_until(lambda: read_status(client), predicate, module.deadline, timed_out,
                      poll=AdaptivePoll(first=0.2, cap=2.0))


def quorate_with(name, node):
    """A predicate: the cluster `name` is quorate and `node` is an online member."""
    def check(status):
        return status['name'] == name and status['quorate'] and any(
            n['name'] == node and n['online'] for n in status['nodes'])
    return check


# ------------------------------------------------------------------ the member of a join

class Member(object):
    """The cluster member a node joins through: reached on port 8006 as root@pam, its certificate pinned."""

    def __init__(self, module):
        params = module.params
        self.host = params['member_host']
        self.fingerprint = format_fingerprint(normalize_fingerprint(params['member_fingerprint']))
        self.password = params['member_password']
        self.client = ProxmoxClient(ConnectionSettings(
            host=self.host, port=JOIN_PORT, user='root@pam', password=self.password,
            fingerprint=self.fingerprint, timeout=params.get('api_timeout'), label='member'))

    def describe(self):
        return 'member {0}'.format(self.host)

    def read(self):
        """(status, join info) of the member; join info None when it is not in a cluster."""
        status = read_status(self.client)
        if status['name'] is None:
            return status, None
        return status, self.client.get('/cluster/config/join')


# ------------------------------------------------------------------ present / absent

def _result(changed, before, after, cluster):
    return {'changed': changed, 'diff': {'before': before, 'after': after}, 'cluster': cluster}


def ensure_created(module, status):
    params = module.params
    name = check_cluster_name(params['cluster_name'])
    links = link_params(params.get('links'))
    check_ids(params, creating=True)
    local = status['local']
    if status['name'] is not None:
        if status['name'] == name:
            return _result(False, managed(status), managed(status), shown(status))
        raise ClusterRefused('node {0} is already in cluster {1!r}, not {2!r}: remove it from {1!r} first (state=absent '
                             'on another member)'.format(local, status['name'], name))
    predicted = {'name': name, 'quorate': True, 'config_version': 1, 'local': local,
                 'nodes': [{'name': local, 'nodeid': params.get('nodeid') or 1, 'ip': None, 'online': True, 'local': True}]}
    if module.check_mode:
        return _result(True, managed(status), managed(predicted), shown(predicted))
    client = module.client
    args = dict(links, clustername=name, nodeid=params.get('nodeid'), votes=params.get('votes'))
    module.wait_task(client.post('/cluster/config', **args))
    final = wait_for(module, client, quorate_with(name, local), 'cluster {0!r} quorate on node {1}'.format(name, local))
    return _result(True, managed(status), managed(final), shown(final))


def _check_links(links, join_info):
    """The links given must be the cluster's (PVE checks this on the member; here before any write)."""
    interfaces = sorted(int(key) for key in ((join_info or {}).get('totem') or {}).get('interface') or {})
    given = sorted(int(key[4:]) for key in links)
    if not interfaces:
        return
    if given and given != interfaces:
        raise ClusterRefused('the cluster uses corosync link(s) {0}, but links gives {1}: give one address for each of '
                             'the cluster\'s links'.format(', '.join(map(str, interfaces)), ', '.join(map(str, given))))
    if not given and len(interfaces) > 1:
        raise ClusterRefused('the cluster uses corosync links {0}: give links (an address on this node for each)'.format(
            ', '.join(map(str, interfaces))))


def ensure_joined(module, status):
    params = module.params
    links = link_params(params.get('links'))
    check_ids(params, creating=False)
    if params.get('cluster_name') is not None:
        check_cluster_name(params['cluster_name'])
    member = Member(module)
    local = status['local']
    try:
        member_status, join_info = member.read()
    except ProxmoxError as error:
        # Named after the member, not the node of api_host: the message is the member's whole description.
        raise ClusterRefused('cannot join through {0}: {1}'.format(member.describe(), error.describe()),
                             errors=error.errors) from None
    name = member_status['name']
    if name is None:
        raise ClusterRefused('{0} is not in a cluster: create one there first (cluster_name without member_host)'.format(
            member.describe()), url=member.client.settings.url)
    if params.get('cluster_name') is not None and params['cluster_name'] != name:
        raise ClusterRefused('{0} is in cluster {1!r}, not {2!r}'.format(member.describe(), name, params['cluster_name']),
                             url=member.client.settings.url)
    members = set(str(entry.get('name')) for entry in join_info.get('nodelist') or [])
    if status['name'] is not None:
        if status['name'] == name and local in members:
            return _result(False, managed(status), managed(status), shown(status))
        raise ClusterRefused('node {0} is already in cluster {1!r}; it cannot join cluster {2!r} of {3}: remove it from '
                             '{1!r} first (state=absent on another member of {1!r})'.format(
                                 local, status['name'], name, member.describe()))
    if local in members:
        raise ClusterRefused("cluster {0!r} already has a node named {1!r}: remove that node first (state=absent), or "
                             "rename this one".format(name, local), url=member.client.settings.url)
    guests = list(module.client.get('/cluster/resources', type='vm') or [])
    if guests:
        raise ClusterRefused('node {0} cannot join a cluster: this host already contains virtual guests ({1}); move or '
                             'remove them first'.format(local, ', '.join(str(g.get('vmid')) for g in guests[:10])))
    _check_links(links, join_info)
    predicted = dict(member_status)
    predicted['local'] = local
    predicted['nodes'] = sorted([dict(n, local=False) for n in member_status['nodes']]
                                + [{'name': local, 'nodeid': params.get('nodeid'), 'ip': None, 'online': True,
                                    'local': True}], key=lambda n: str(n['name']))
    if module.check_mode:
        return _result(True, managed(status), managed(predicted), shown(predicted))
    client = module.client
    args = dict(links, hostname=member.host, fingerprint=member.fingerprint, password=member.password,
                nodeid=params.get('nodeid'), votes=params.get('votes'))
    module.wait_task(client.post('/cluster/config/join', **args))
    final = wait_for(module, client, quorate_with(name, local), 'node {0} online in quorate cluster {1!r}'.format(local, name))
    wait_for(module, member.client, quorate_with(name, local), '{0} seeing node {1} online'.format(member.describe(), local))
    return _result(True, managed(status), managed(final), shown(final))


def ensure_removed(module, status):
    params = module.params
    node = params['node']
    client = module.client
    if status['name'] is None:
        return _result(False, managed(status), managed(status), None)
    if params.get('cluster_name') is not None and params['cluster_name'] != status['name']:
        raise ClusterRefused('node {0} is in cluster {1!r}, not {2!r}'.format(status['local'], status['name'],
                                                                              params['cluster_name']))
    names = set(node_names(status)) | set(str(entry.get('node')) for entry in client.get('/cluster/config/nodes') or [])
    if node not in names:
        return _result(False, managed(status), managed(status), shown(status))
    if node == status['local']:
        raise ClusterRefused('node {0} cannot remove itself from cluster {1!r} (Proxmox VE: Cannot delete myself from '
                             'cluster!): set api_host to another member'.format(node, status['name']))
    after = dict(status, nodes=[n for n in status['nodes'] if n['name'] != node])
    if module.check_mode:
        return _result(True, managed(status), managed(after), shown(after))
    client.delete(client.path('cluster', 'config', 'nodes', node))
    final = wait_for(module, client, lambda s: s['quorate'] and node not in node_names(s),
                     'cluster {0!r} quorate without node {1}'.format(status['name'], node))
    return _result(True, managed(status), managed(final), shown(final))


def _action(params):
    if params['state'] == 'absent':
        return 'removing node {0} from a cluster'.format(params.get('node'))
    if params.get('member_host'):
        return 'joining a cluster'
    return 'creating a cluster'


def run(module):
    params = module.params
    # Cluster create, join and node removal declare no permissions in Proxmox VE: only the root@pam login may call
    # them, so anything else is refused before the first request (a no-change run would pass, then fail next time).
    require_root_login(module.client.settings, _action(params))
    status = read_status(module.client)
    if params['state'] == 'absent':
        return ensure_removed(module, status)
    if params.get('member_host'):
        return ensure_joined(module, status)
    if not params.get('cluster_name'):
        raise ProxmoxConfigError('state=present needs cluster_name (to create a cluster on this node) or member_host, '
                                 'member_fingerprint and member_password (to join one)')
    return ensure_created(module, status)
