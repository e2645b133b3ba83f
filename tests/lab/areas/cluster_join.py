# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster create, join and node removal: /cluster/config/* as pve-cluster's ClusterConfig.pm serves it.

A LabPve of the estate is a cluster whose corosync.conf is derived from its nodes (node ids and
addresses as /cluster/status shows them). A *standalone* node (`start_standalone_nodes`) is a
LabPve with one node and no corosync.conf, as a fresh PVE install:

- `POST /cluster/config` (root only) refuses with `cluster config '/etc/pve/corosync.conf' already
  exists` when there is one, else runs a `clustercreate` task that writes it (link0 defaults to the
  node's address, token_coefficient to 125).
- `POST /cluster/config/join` runs a `clusterjoin` task on the joining node, with PVE::Cluster::Setup's
  checks and log: `detected the following error(s): * ...` then `Check if node may join a cluster
  failed!` (a corosync.conf, guests, link addresses not on the node), the member found by its
  address, its certificate checked against the fingerprint (`fingerprint '...' not verified,
  abort!`), root@pam's password of the member (`401 authentication failure`), then the member's
  addnode (`can't add existing node`, link checks, address reuse) and `Cluster join aborted!`.
  Once joined, the node's address serves the cluster's own state (one object behind every member's
  address): /cluster/status, /nodes, tasks, tickets and tokens are the cluster's, `local` is the node
  asked, and root@pam logs in with that node's own password. Quorum waits `join_quorum_secs` PVE
  seconds for the new node.
- `DELETE /cluster/config/nodes/{node}` on a remaining member (`Cannot delete myself from cluster!`,
  `Node/IP: x is not a known host of the cluster.`); the removed node's address keeps its old
  corosync.conf, alone and without quorum.
- `GET /cluster/config/nodes`, `/join` (424 `node is not in a cluster, no join info available!` on a
  standalone node), `/totem`, `/qdevice`, `/apiversion`.

corosync.conf values are strings, as PVE's parser leaves them.
"""

import contextvars
import copy
import hashlib
import ipaddress
import secrets
import time

from aiohttp import web
from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes

from ._common import all_guests

CLUSTER_CONF = '/etc/pve/corosync.conf'
AUTHKEY = '/etc/corosync/authkey'
JOIN_API_VERSION = 1
MAX_LINKS = 8
# Hosts of every started LabPve, so a join finds its member by address.
_BY_HOST = {}
# The node a request was sent to (its address), for `local` and "myself".
_LOCAL = contextvars.ContextVar('lab_local_node', default=None)


def _parse_link(text):
    """A corosync link property string ('10.0.0.1,priority=5' or 'address=...') -> {'address', 'priority'}."""
    out = {}
    for part in str(text).split(','):
        key, sep, value = part.partition('=')
        if not sep:
            out['address'] = key
        else:
            out[key] = value
    return out


def _links(values):
    """{number: {'address', 'priority'?}} of link0..link7 in a request."""
    return dict((n, _parse_link(values['link{0}'.format(n)])) for n in range(MAX_LINKS) if values.get('link{0}'.format(n)))


def _is_ip(text):
    try:
        ipaddress.ip_address(str(text))
    except ValueError:
        return False
    return True


class ClusterJoinArea(StatefulRoutes):
    """Mixin of the lab's PVE: corosync.conf, cluster create, join and node removal."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # True for a node made by start_standalone_nodes until it creates or joins a cluster.
        self.cj_standalone = False
        # corosync.conf as parsed ({'totem': {...}, 'nodelist': {name: {...}}}) once created or joined;
        # None: derived from `nodes` (an estate cluster) or absent (standalone).
        self.cj_conf_explicit = None
        # node -> address, certificate fingerprint, root@pam password (of nodes that joined).
        self.cj_ips = {}
        self.cj_fingerprints = {}
        self.cj_root_passwords = {}
        # The cluster object this node's address serves once joined, and the LabPve of each joined node.
        self.cj_cluster = None
        self.cj_members = {}
        # Nodes in corosync.conf whose corosync is not up yet (a join in progress): members without a vote.
        self.cj_pending = set()
        # PVE seconds a joined node takes to get quorum (the cluster has none meanwhile if it needs its vote).
        self.join_quorum_secs = 2
        self._cj_app = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def cj_home(self):
        """The node this object's own address belongs to."""
        return sorted(self.nodes)[0]

    async def start(self, certfile, keyfile):
        await super().start(certfile, keyfile)
        _BY_HOST[self.host] = self

    async def stop(self):
        if _BY_HOST.get(self.host) is self:
            del _BY_HOST[self.host]
        await super().stop()

    def _build_app(self):
        app = super()._build_app()
        app.middlewares.insert(0, self._cj_serve)
        self._cj_app = app
        return app

    @web.middleware
    async def _cj_serve(self, request, handler):
        """Note the node asked; once joined, the cluster's object answers (one state behind every address)."""
        token = _LOCAL.set(self.cj_home) if _LOCAL.get() is None else None
        try:
            if self.cj_cluster is not None and self.cj_cluster._cj_app is not None:
                return await self.cj_cluster._cj_app._handle(request)  # pylint: disable=protected-access
            return await handler(request)
        finally:
            if token is not None:
                _LOCAL.reset(token)

    async def answer(self, request, match, params, user, call=None):
        """/cluster/config/nodes/{node} names a corosync member, not a node to proxy to: PVE does not resolve it
        (fakepve's generic check would answer `hostname lookup ... failed` for a node it does not know)."""
        node = (match.params or {}).get('node') if match is not None else None
        if match is None or match.template != '/cluster/config/nodes/{node}' or request.method != 'DELETE' \
                or node in self.nodes:
            return await super().answer(request, match, params, user, call)
        self.nodes[node] = {'online': False}
        try:
            return await super().answer(request, match, params, user, call)
        finally:
            self.nodes.pop(node, None)

    def cj_local(self):
        node = _LOCAL.get()
        return node if node in self.nodes else self.cj_home

    def check_password(self, user, password):
        """root@pam logs in with the password of the node asked (PAM is per node)."""
        node = _LOCAL.get()
        if user == self.user and node in self.cj_root_passwords:
            return password == self.cj_root_passwords[node]
        return super().check_password(user, password)

    # ---------------------------------------------------------------- corosync.conf

    def cj_node_ip(self, node):
        if node in self.cj_ips:
            return self.cj_ips[node]
        for idx, name in enumerate(sorted(self.nodes), 1):
            if name == node:
                return '192.0.2.{0}'.format(10 + idx)
        return '192.0.2.254'

    def cj_conf(self):
        """corosync.conf, or None on a standalone node."""
        if self.cj_conf_explicit is not None:
            return self.cj_conf_explicit
        if self.cj_standalone:
            return None
        nodelist = {}
        for idx, name in enumerate(sorted(self.nodes), 1):
            nodelist[name] = {'name': name, 'nodeid': str(idx), 'quorum_votes': '1', 'ring0_addr': self.cj_node_ip(name)}
        return {'totem': {'cluster_name': self.cluster_name, 'config_version': '1', 'interface': {'0': {'linknumber': '0'}},
                          'ip_version': 'ipv4-6', 'link_mode': 'passive', 'secauth': 'on', 'version': '2'},
                'nodelist': nodelist}

    @staticmethod
    def cj_digest(conf):
        return hashlib.sha1(repr(sorted(conf['nodelist'].items()) + sorted(conf['totem'].items())).encode()).hexdigest()

    def cj_online(self, node):
        return self.nodes.get(node, {}).get('online', False) and node not in self.cj_pending

    def cj_update_quorum(self):
        conf = self.cj_conf()
        if conf is None:
            self.quorate = True
            return
        total = online = 0
        for name, entry in conf['nodelist'].items():
            votes = int(entry.get('quorum_votes', 1))
            total += votes
            if self.cj_online(name):
                online += votes
        self.quorate = online * 2 > total

    # ---------------------------------------------------------------- routes

    def _routes_cluster_join(self):
        base = '/cluster/config'
        return [('GET', base, self._cj_index), ('POST', base, self._cj_create),
                ('GET', base + '/apiversion', self._cj_apiversion), ('GET', base + '/nodes', self._cj_nodes),
                ('POST', base + '/nodes/{node}', self._cj_addnode_route), ('DELETE', base + '/nodes/{node}', self._cj_delnode),
                ('GET', base + '/join', self._cj_join_info), ('POST', base + '/join', self._cj_join),
                ('GET', base + '/totem', self._cj_totem), ('GET', base + '/qdevice', self._cj_qdevice)]

    async def _cj_index(self, v, user):
        return [{'name': name} for name in ('nodes', 'totem', 'join', 'qdevice', 'apiversion')]

    async def _cj_apiversion(self, v, user):
        return JOIN_API_VERSION

    async def _cj_nodes(self, v, user):
        conf = self.cj_conf()
        if conf is None:
            return []
        return [dict(entry, node=name) for name, entry in sorted(conf['nodelist'].items())]

    async def _cj_totem(self, v, user):
        conf = self.cj_conf()
        return copy.deepcopy(conf['totem']) if conf else None

    async def _cj_qdevice(self, v, user):
        return {}

    async def _cj_join_info(self, v, user):
        conf = self.cj_conf()
        if conf is None:
            raise PveError(424, 'node is not in a cluster, no join info available!')
        name = v.get('node') or self.cj_local()
        if name not in conf['nodelist']:
            raise PveError(500, "unknown node '{0}'".format(name))
        nodelist = []
        for node, entry in conf['nodelist'].items():
            nodelist.append(dict(entry, pve_fp=self.cj_fingerprints.get(node) or self.ssl_fingerprint,
                                 pve_addr=self.cj_node_ip(node)))
        return {'nodelist': nodelist, 'preferred_node': name, 'totem': copy.deepcopy(conf['totem']),
                'config_digest': self.cj_digest(conf)}

    # ---------------------------------------------------------------- status

    async def _cluster_status(self, request):
        """GET /cluster/status: the corosync members, `local` for the node asked; the node alone when standalone."""
        from fakepve.server import ok
        local = self.cj_local()
        conf = self.cj_conf()
        if conf is None:
            return ok([{'type': 'node', 'id': 'node/' + local, 'name': local, 'ip': self.cj_node_ip(local), 'local': 1,
                        'nodeid': 0, 'online': 1, 'level': ''}])
        members = sorted(conf['nodelist'].items(), key=lambda item: int(item[1]['nodeid']))
        online = sum(1 for name, _entry in members if self.cj_online(name))
        data = [{'type': 'cluster', 'id': 'cluster', 'name': conf['totem']['cluster_name'], 'nodes': len(members),
                 'quorate': 1 if self.quorate else 0, 'version': int(conf['totem']['config_version']), 'online': online}]
        for name, entry in members:
            data.append({'type': 'node', 'id': 'node/' + name, 'name': name, 'nodeid': int(entry['nodeid']), 'level': '',
                         'ip': self.cj_node_ip(name), 'online': 1 if self.cj_online(name) else 0,
                         'local': 1 if name == local else 0})
        return ok(data)

    async def _nodes(self, request):
        """GET /nodes, with each joined node's own certificate fingerprint."""
        import json
        response = await super()._nodes(request)
        if response.status != 200 or not self.cj_fingerprints:
            return response
        body = json.loads(response.text)
        for item in body.get('data') or []:
            if item.get('node') in self.cj_fingerprints:
                item['ssl_fingerprint'] = self.cj_fingerprints[item['node']]
        return web.json_response(body)

    # ---------------------------------------------------------------- create

    async def _cj_create(self, v, user):
        if self.cj_conf() is not None:
            raise PveError(500, "cluster config '{0}' already exists".format(CLUSTER_CONF))
        name = v['clustername']
        node = self.cj_local()
        links = _links(v) or {0: {'address': self.cj_node_ip(node)}}
        coefficient = v.get('token-coefficient', 125)
        record = {}

        async def body():
            record['log'].extend(['Corosync Cluster Engine Authentication key generator.',
                                  'Gathering 2048 bits for key from /dev/urandom.',
                                  'Writing corosync key to /etc/corosync/authkey.',
                                  'Writing corosync config to /etc/pve/corosync.conf',
                                  'Restart corosync and cluster filesystem'])
            entry = {'name': node, 'nodeid': str(v.get('nodeid') or 1), 'quorum_votes': str(v.get('votes') or 1)}
            totem = {'cluster_name': name, 'config_version': '1', 'interface': {}, 'ip_version': 'ipv4-6',
                     'link_mode': 'passive', 'secauth': 'on', 'version': '2', 'token_coefficient': str(coefficient)}
            for number, link in sorted(links.items()):
                totem['interface'][str(number)] = {'linknumber': str(number)}
                if link.get('priority') and int(link['priority']):
                    totem['interface'][str(number)]['knet_link_priority'] = str(link['priority'])
                entry['ring{0}_addr'.format(number)] = link['address']
            self.cj_conf_explicit = {'totem': totem, 'nodelist': {node: entry}}
            self.cj_standalone = False
            self.cluster_name = name
            self.cj_update_quorum()
        return await self._cj_task(node, 'clustercreate', name, user, body, record)

    # ---------------------------------------------------------------- addnode (on a member)

    def cj_addnode(self, name, links, new_node_ip=None, nodeid=None, votes=None, force=False, apiversion=0):
        """PVE::API2::ClusterConfig addnode on this cluster; returns warnings, raises PveError."""
        if apiversion < JOIN_API_VERSION - 1:
            message = ('error: unsupported old API version on joining node ({0}), cluster node has {1} and supports '
                       '>= {2}. Please upgrade node before joining').format(apiversion, JOIN_API_VERSION, JOIN_API_VERSION - 1)
            raise PveError(500, message)
        self.need_quorum()
        conf = self.cj_conf()
        if conf is None:
            raise PveError(500, 'invalid corosync.conf', {'error0': 'no nodes found'})
        nodelist = copy.deepcopy(conf['nodelist'])
        links = dict(links)
        for link in links.values():
            for other, entry in nodelist.items():
                if other == name:
                    continue
                for number in range(MAX_LINKS):
                    key = 'ring{0}_addr'.format(number)
                    if entry.get(key) == link.get('address'):
                        raise PveError(500, "corosync: address '{0}' already used on link {1} by node '{2}'".format(
                            link['address'], key, other))
        first = nodelist[sorted(nodelist)[0]]
        cluster_links = set(int(key[4:-5]) for key in first if key.startswith('ring') and key.endswith('_addr'))
        if links:
            for number in range(MAX_LINKS):
                if number in cluster_links and number not in links:
                    raise PveError(500, "corosync: link {0} exists in cluster config but wasn't specified for new node".format(
                        number))
                if number not in cluster_links and number in links:
                    raise PveError(500, "corosync: link {0} specified for new node doesn't exist in cluster config".format(
                        number))
        else:
            if not new_node_ip:
                raise PveError(500, 'no links and no fallback ip (new_node_ip) given, cannot join cluster')
            if len(cluster_links) != 1:
                raise PveError(500, 'no links given but multiple links found on other nodes, fallback only supported on '
                                    'single-link clusters')
            links[next(iter(cluster_links))] = {'address': new_node_ip}
        if name in nodelist:
            existing = nodelist[name]
            nodeid = nodeid or int(existing['nodeid'])
            votes = int(existing['quorum_votes']) if votes is None else votes
            if not (int(existing['quorum_votes']) == votes and int(existing['nodeid']) == nodeid and force):
                raise PveError(500, "can't add existing node '{0}'".format(name))
        elif not nodeid:
            taken = set(int(entry['nodeid']) for entry in nodelist.values())
            nodeid = 1
            while nodeid in taken:
                nodeid += 1
        votes = 1 if votes is None else votes
        entry = {'name': name, 'nodeid': str(nodeid)}
        if votes:
            entry['quorum_votes'] = str(votes)
        for number, link in links.items():
            entry['ring{0}_addr'.format(number)] = link['address']
        nodelist[name] = entry
        conf = copy.deepcopy(conf)
        conf['nodelist'] = nodelist
        conf['totem']['config_version'] = str(int(conf['totem']['config_version']) + 1)
        self.cj_conf_explicit = conf
        return []

    async def _cj_addnode_route(self, v, user):
        warnings = self.cj_addnode(v['node'], _links(v), v.get('new_node_ip'), v.get('nodeid'), v.get('votes'),
                                   bool(v.get('force')), int(v.get('apiversion') or 0))
        self.nodes.setdefault(v['node'], {'online': True})
        # Its corosync starts when the joining node finishes the join (which this call alone does not do).
        self.cj_pending.add(v['node'])
        self.cj_update_quorum()
        return {'corosync_authkey': secrets.token_hex(64), 'corosync_conf': '', 'warnings': warnings}

    # ---------------------------------------------------------------- join (on the joining node)

    def _cj_assert_joinable(self, links):
        errors = []
        if self.cj_conf() is not None:
            errors.append("authentication key '{0}' already exists".format(AUTHKEY))
            errors.append("cluster config '{0}' already exists".format(CLUSTER_CONF))
        if all_guests(self):
            errors.append('this host already contains virtual guests')
        if self.cj_conf() is not None:
            errors.append('corosync is already running, is this node already in a cluster?!')
        local_ips = set(self.cj_ips.values()) | {self.host}
        for number, link in sorted(links.items()):
            address = link.get('address')
            if not _is_ip(address):
                errors.append("link{0}: cannot use '{1}': hostname lookup '{1}' failed - failed to get address info for: "
                              "{1}: Name or service not known".format(number, address))
            elif address not in local_ips:
                errors.append("link{0}: cannot use IP '{1}', not found on local node!".format(number, address))
        return errors

    async def _cj_join(self, v, user):
        node = self.cj_local()
        links = _links(v)
        force = bool(v.get('force'))
        record = {}

        async def body():
            log = record['log']
            errors = self._cj_assert_joinable(links)
            if errors:
                log.append('detected the following error(s):')
                log.extend('* ' + error for error in errors)
                if not force:
                    raise TaskError('Check if node may join a cluster failed!')
                log.append('WARNING : detected error but forced to continue!')
            host = v['hostname']
            log.append("Establishing API connection with host '{0}'".format(host))
            member, member_node = _BY_HOST.get(host), None
            if member is not None and member.cj_cluster is not None:
                member_node, member = member.cj_home, member.cj_cluster
            elif member is not None:
                member_node = member.cj_home
            if member is None or member.runner is None:
                raise TaskError("500 Can't connect to {0}:8006 (Connection refused)".format(host))
            served = member.cj_fingerprints.get(member_node) or member.ssl_fingerprint
            if str(v['fingerprint']).upper() != served:
                raise TaskError("fingerprint '{0}' not verified, abort!".format(served))
            password = member.cj_root_passwords.get(member_node, member.password)
            if v['password'] != password:
                raise TaskError('401 authentication failure')
            log.extend(['Login succeeded.', 'check cluster join API version'])
            if not links:
                log.append("No cluster network links passed explicitly, fallback to local node IP '{0}'".format(
                    self.cj_node_ip(node)))
            log.append('Request addition of this node')
            try:
                member.cj_addnode(node, links, None if links else self.cj_node_ip(node), v.get('nodeid'), v.get('votes'),
                                  force, JOIN_API_VERSION)
            except PveError as e:
                log.append('An error occurred on the cluster node: {0}'.format(e.message))
                for key, text in sorted((e.errors or {}).items()):
                    log.append('{0} {1}'.format('*' if key.startswith('warning') else '!', text))
                raise TaskError('Cluster join aborted!') from None
            log.extend(['Join request OK, finishing setup locally', 'stopping pve-cluster service',
                        "backup old database to '/var/lib/pve-cluster/backup/config-{0}.sql.gz'".format(int(time.time()))])
            self._cj_merge_into(member, node)
            log.append('waiting for quorum...')
            await self.pause(member.join_quorum_secs)
            member.cj_pending.discard(node)
            member.cj_update_quorum()
            log[-1] += 'OK'
            log.extend(['(re)generate node files', 'generate new node certificate', 'merge authorized SSH keys',
                        'generated new node certificate, restart pveproxy and pvedaemon services',
                        "successfully added node '{0}' to cluster.".format(node)])

        return await self._cj_task(node, 'clusterjoin', '', user, body, record)

    async def _cj_task(self, node, ttype, tid, user, body, record):
        """self.task(...) whose body logs into its own record (task() makes it before the body runs)."""
        async def first():
            record['log'] = next(t for t in reversed(self.tasklog) if t['type'] == ttype and t['node'] == node
                                 and t['status'] == 'running')['log']
            return await body()
        return await self.task(node, ttype, tid, user, first, lock=False)

    def _cj_merge_into(self, member, node):
        """This node's address now serves `member`'s cluster: its tasks move there, the cluster learns the node."""
        # The node answers for itself at once (its own tasks, its API); its vote counts once corosync is up.
        member.nodes[node] = {'online': True}
        member.cj_pending.add(node)
        member.cj_ips[node] = self.cj_node_ip(node)
        member.cj_fingerprints.setdefault(member.cj_home, member.ssl_fingerprint)
        member.cj_fingerprints[node] = self.ssl_fingerprint
        member.cj_root_passwords.setdefault(member.cj_home, member.password)
        member.cj_root_passwords[node] = self.cj_root_passwords.get(node, self.password)
        member.cj_members[node] = self
        if member.cj_conf_explicit is None:
            member.cj_conf_explicit = member.cj_conf()
        member.cj_update_quorum()
        for upid, task in self.tasks.items():
            member.tasks.setdefault(upid, task)
            if task not in member.tasklog:
                member.tasklog.append(task)
        self.cj_cluster = member
        self.cj_standalone = False

    # ---------------------------------------------------------------- delnode

    async def _cj_delnode(self, v, user):
        local = self.cj_local()
        if v['node'] == local:
            raise PveError(500, 'Cannot delete myself from cluster!')
        self.need_quorum()
        conf = self.cj_conf()
        found = None
        for name, entry in (conf or {}).get('nodelist', {}).items():
            if v['node'] in (name, entry.get('ring0_addr'), entry.get('ring1_addr')):
                found = name
                break
        if found is None:
            raise PveError(500, 'Node/IP: {0} is not a known host of the cluster.'.format(v['node']))
        old = copy.deepcopy(conf)
        conf = copy.deepcopy(conf)
        del conf['nodelist'][found]
        conf['totem']['config_version'] = str(int(conf['totem']['config_version']) + 1)
        self.cj_conf_explicit = conf
        self.nodes.pop(found, None)
        self.cj_pending.discard(found)
        self.cj_update_quorum()
        removed = self.cj_members.pop(found, None)
        if removed is not None and removed.cj_cluster is self:
            # corosync-cfgtool -k stopped corosync there: it keeps the old config, alone, without quorum.
            removed.cj_cluster = None
            removed.cj_conf_explicit = old
            removed.cluster_name = old['totem']['cluster_name']
            removed.nodes = dict((name, {'online': name == found}) for name in old['nodelist'])
            removed.cj_ips = dict(self.cj_ips)
            removed.quorate = False
        return None


# -------------------------------------------------------------------- standalone nodes for tests

class StandaloneNode(object):
    """A standalone lab node as tests and playbooks see it: name, host, port, url, user, password, token, CA, fingerprint."""

    def __init__(self, pve, ca_path, token_id, token_secret, fingerprint):
        self.pve = pve
        self.name = pve.cj_home
        self.ca_path = ca_path
        self.token_id = token_id
        self.token_secret = token_secret
        self.fingerprint = fingerprint

    host = property(lambda self: self.pve.host)
    port = property(lambda self: self.pve.port)
    url = property(lambda self: 'https://{0}:{1}'.format(self.pve.host, self.pve.port))
    user = property(lambda self: self.pve.user)
    password = property(lambda self: self.pve.password)
    version = property(lambda self: self.pve.version)

    @property
    def vars(self):
        return {'name': self.name, 'host': self.host, 'port': self.port, 'user': self.user, 'password': self.password,
                'token_id': self.token_id, 'token_secret': self.token_secret, 'ca_path': self.ca_path,
                'fingerprint': self.fingerprint, 'version': self.version}

    def __repr__(self):
        return '<lab standalone node {0} {1}>'.format(self.name, self.url)


def start_standalone_nodes(lab, count, prefix=None, version='9.0.10'):
    """Start `count` standalone PVE nodes (no cluster, no guests) on loopback, certified by the lab's CA.

    `lab` is a tests.lab.lab.Lab; the nodes run on its loop until stop_standalone_nodes(). Each has its own
    root@pam password and an API token root@pam!lab (which, as on PVE, does not survive a join).
    """
    from ..estate import random_hosts
    from ..pki import serve_certified
    from ..pve import LabPve
    prefix = prefix or 'sa{0}'.format(secrets.token_hex(2))
    ca = lab.estate.ca
    hosts = random_hosts()
    out = []
    for idx in range(count):
        name = '{0}-n{1}'.format(prefix, idx + 1)
        pve = LabPve(name=name, nodes=[name], version=version, user='root@pam', password=secrets.token_urlsafe(12),
                     host='127.0.0.1', port=8006)
        pve.cj_standalone = True
        pve.cluster_name = None
        pve.storages['local']['files'] = set()
        secret = pve.add_token('root@pam', 'lab', privsep=0, comment='proxfleet lab')
        fp, pve.certificate_pem = lab.call(serve_certified(pve, ca, name, hosts))
        pve.cj_ips[name] = pve.host
        with open(ca.path, encoding='ascii') as handle:
            pve.ca_pem = handle.read()
        out.append(StandaloneNode(pve, ca.path, 'root@pam!lab', secret, fp))
    return out


def stop_standalone_nodes(lab, nodes):
    """Stop nodes made by start_standalone_nodes."""
    for node in nodes:
        lab.call(node.pve.stop())


__all__ = ['ClusterJoinArea', 'StandaloneNode', 'start_standalone_nodes', 'stop_standalone_nodes']
