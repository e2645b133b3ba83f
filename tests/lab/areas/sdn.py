# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SDN: zones, vnets and subnets, their pending and running configuration, apply, and PVE 9's global lock.

Follows pve-network (1.1.x for PVE 9.0, src/PVE/API2/Network/SDN*.pm and src/PVE/Network/SDN/*): writes go
to the configuration files (`pve.sdn['zones']`, ...) and stay pending until `PUT /cluster/sdn` commits them
to the running configuration (`pve.sdn_running`) and starts a `reloadnetworkall` task. Reads take
`pending=1` (running values at the top, changes under `pending`, and `state` new, changed or deleted) or
`running=1`. On PVE 9 a client may take the global lock (`POST /cluster/sdn/lock` answers a token); while it
is held every write without that token fails, and `POST /cluster/sdn/rollback` puts the running
configuration back into the files. PVE 8 has neither: those paths answer 501 and `lock-token` is refused.
Errors raised under the SDN lock carry the method's own prefix (`create sdn vnet object failed: ...`).
"""

import copy
import ipaddress
import json
import re
import uuid

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, check_digest, die, param_error, sha1, split_list

from ._common import stringify
from .version import major_of

KINDS = ('zones', 'vnets', 'subnets', 'controllers')
SDN_PM = '/usr/share/perl5/PVE/Network/SDN.pm'
LOCK_LINE = 278
IFRELOAD_FAILED = "command 'ifreload -a' failed: exit code 1"
COMMON_ZONE_OPTIONS = ('nodes', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam')
# Zone type -> {option: required}, as each Zones/*Plugin.pm's options().
ZONE_OPTIONS = {
    'simple': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), dhcp=False),
    'vlan': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), bridge=True, **{'bridge-disable-mac-learning': False}),
    'qinq': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), tag=True, bridge=True,
                 **{'bridge-disable-mac-learning': False, 'vlan-protocol': False}),
    'vxlan': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), peers=False, fabric=False, **{'vxlan-port': False}),
    'evpn': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), controller=True, exitnodes=False, mac=False,
                 **{'vrf-vxlan': True, 'exitnodes-local-routing': False, 'exitnodes-primary': False,
                    'advertise-subnets': False, 'disable-arp-nd-suppression': False,
                    'bridge-disable-mac-learning': False, 'rt-import': False, 'vxlan-port': False}),
    'faucet': dict(dict.fromkeys(COMMON_ZONE_OPTIONS, False), **{'dp-id': False}),
}
VNET_OPTIONS = {'zone': True, 'tag': False, 'alias': False, 'vlanaware': False, 'isolate-ports': False}
SUBNET_OPTIONS = {'vnet': True, 'gateway': False, 'snat': False, 'dnszoneprefix': False, 'dhcp-range': False,
                  'dhcp-dns-server': False}
# Request keys that are not options of the section.
NOT_OPTIONS = ('type', 'zone', 'vnet', 'subnet', 'lock-token', 'digest', 'delete')


def _encode(value):
    """PVE::Network::SDN::encode_value, enough to compare values as pending_config does."""
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


def pending_config(running, config, top=('type', 'vnet')):
    """PVE::Network::SDN::pending_config: {id: object} with `state` and `pending` where they differ."""
    out = {}
    for ident in sorted(running):
        have, want = running[ident], config.get(ident)
        entry = out.setdefault(ident, {})
        for key in sorted(have):
            entry[key] = have[key]
            if not want:
                entry['state'] = 'deleted'
            elif key not in want:
                entry.setdefault('pending', {})[key] = 'deleted'
                entry['state'] = 'changed'
            elif _encode(have[key]) != _encode(want[key]):
                entry['state'] = 'changed'
        if entry.get('state'):
            entry.setdefault('pending', {})
    for ident in sorted(config):
        have, want = running.get(ident) or {}, config[ident]
        entry = out.setdefault(ident, {})
        for key in sorted(want):
            run = _encode(have[key]) if key in have else None
            if key in top:
                entry[key] = want[key]
            elif run is None or _encode(want[key]) != run:
                entry.setdefault('pending', {})[key] = want[key]
            if not have:
                entry['state'] = 'new'
            elif run is None:
                entry['state'] = 'changed'
        if entry.get('state'):
            entry.setdefault('pending', {})
    return out


def parse_range(text):
    """A pve-sdn-dhcp-range property string -> {'start-address': ..., 'end-address': ...} (None if unreadable)."""
    out = {}
    for part in str(text).split(','):
        key, sep, value = part.partition('=')
        if not sep or key not in ('start-address', 'end-address') or key in out:
            return None
        out[key] = value
    return out if len(out) == 2 else None


def _ip(text):
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def parse_cidr(text):
    """PVE's pve-sdn-subnet-id: a CIDR (`10.0.0.0/24`) or an id (`zone-10.0.0.0-24`) -> (address, mask)."""
    text = str(text)
    if '/' in text:
        address, _sep, mask = text.partition('/')
    else:
        parts = text.split('-')
        address, mask = (parts[1], parts[2]) if len(parts) >= 3 else ('', '')
    ip = _ip(address)
    if ip is None or not mask.isdigit() or int(mask) > (32 if ip.version == 4 else 128):
        raise param_error(subnet='value does not look like a valid CIDR network')
    return address, int(mask)


class SdnArea(StatefulRoutes):
    """Mixin of the lab's PVE: SDN zones, vnets and subnets with pending/running configuration and the lock.

    `pve.sdn` holds the configuration files (kind -> id -> section), `pve.sdn_running` the last applied
    configuration (None before the first apply), `pve.sdn_lock` the global lock's token (PVE 9).
    `add_sdn_controller()` and `add_sdn_dns()` add what zones may refer to; the `pve` IPAM always exists.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sdn = dict((kind, {}) for kind in KINDS)
        self.sdn['dns'] = {}
        self.sdn['ipams'] = {}
        self.sdn_running = None
        self.sdn_lock = None
        self.sdn_applies = 0
        # Per node: the running-configuration version its /etc/network/interfaces.d/sdn was generated from, the
        # nodes the next applies cannot reach or whose `ifreload -a` fails, and the nodes whose last reload failed.
        self.sdn_node_version = {}
        self.sdn_reload_failures = {}
        self.sdn_node_broken = set()

    # ------------------------------------------------------------ scenarios

    def add_sdn_controller(self, name, kind='evpn', **options):
        """A controller (e.g. evpn with asn and peers) as if created and applied (every node reloaded)."""
        self.sdn['controllers'][name] = dict(options, type=kind)
        if self.sdn_running is None:
            self.sdn_running = {'version': 1}
            self.sdn_node_version.update(dict.fromkeys(self.nodes, 1))
        self.sdn_running.setdefault('controllers', {})[name] = dict(options, type=kind)

    def add_sdn_dns(self, name, kind='powerdns', **options):
        self.sdn['dns'][name] = dict(options, type=kind)

    def fail_sdn_reload(self, node, how='ifreload'):
        """The next applies' reload of node fails: `ifreload` (its `srvreload` task fails after the node's SDN
        file was generated) or `unreachable` (the apply task's `pvesh set /nodes/<node>/network` cannot reach it, so
        the node keeps the old file). `None` heals it."""
        if how is None:
            self.sdn_reload_failures.pop(node, None)
        else:
            self.sdn_reload_failures[node] = how

    def sdn_pending(self):
        """True when the configuration files differ from the running configuration."""
        running = self.sdn_running or {}
        for kind in KINDS:
            view = pending_config((running.get(kind) or {}), self.sdn[kind])
            if any('pending' in entry for entry in view.values()):
                return True
        return False

    # ------------------------------------------------------------- plumbing

    def _routes_sdn(self):
        zone, vnet = '/cluster/sdn/zones/{zone}', '/cluster/sdn/vnets/{vnet}'
        subnets = vnet + '/subnets'
        return [
            ('PUT', '/cluster/sdn', self._sdn_apply),
            ('POST', '/cluster/sdn/lock', self._sdn_lock_take), ('DELETE', '/cluster/sdn/lock', self._sdn_lock_release),
            ('POST', '/cluster/sdn/rollback', self._sdn_rollback),
            ('GET', '/cluster/sdn/controllers', self._controller_index),
            ('GET', '/nodes/{node}/sdn/zones', self._node_zones),
            ('GET', '/nodes/{node}/sdn/zones/{zone}/content', self._node_zone_content),
            ('GET', '/cluster/sdn/zones', self._zone_index), ('POST', '/cluster/sdn/zones', self._zone_create),
            ('GET', zone, self._zone_read), ('PUT', zone, self._zone_update), ('DELETE', zone, self._zone_delete),
            ('GET', '/cluster/sdn/vnets', self._vnet_index), ('POST', '/cluster/sdn/vnets', self._vnet_create),
            ('GET', vnet, self._vnet_read), ('PUT', vnet, self._vnet_update), ('DELETE', vnet, self._vnet_delete),
            ('GET', subnets, self._subnet_index), ('POST', subnets, self._subnet_create),
            ('GET', subnets + '/{subnet}', self._subnet_read), ('PUT', subnets + '/{subnet}', self._subnet_update),
            ('DELETE', subnets + '/{subnet}', self._subnet_delete),
        ]

    def _sdn_pve8(self, v, method=None, path=None):
        """PVE 8 has no lock: its paths do not exist and its schema has no lock-token or release-lock."""
        if major_of(self.version) >= 9:
            return
        if method:
            raise PveError(501, "Method '{0} /api2/json{1}' not implemented".format(method, path))
        extra = [key for key in ('lock-token', 'release-lock') if key in v]
        if extra:
            text = 'property is not defined in schema and the schema does not allow additional properties'
            raise param_error(**dict((key, text) for key in extra))

    def _sdn_locked(self, errmsg, token, code):
        """PVE::Network::SDN::lock_sdn_config: the global lock's token must match; errors get errmsg."""
        try:
            if self.sdn_lock is not None and token != self.sdn_lock:
                raise die('invalid lock token provided! at {0} line {1}.'.format(SDN_PM, LOCK_LINE))
            return code()
        except PveError as error:
            text = stringify(error) if error.errors else error.message
            raise die('{0}: {1}'.format(errmsg, text)) from None

    def _digest(self, kind):
        return sha1(json.dumps(self.sdn[kind], sort_keys=True))

    def _view_cfg(self, kind, v):
        """(ids, digest) as the API reads them: pending, running or the configuration files."""
        running = (self.sdn_running or {}).get(kind) or {}
        if v.get('pending'):
            return pending_config(running, self.sdn[kind]), None
        if v.get('running'):
            return copy.deepcopy(running), None
        return copy.deepcopy(self.sdn[kind]), self._digest(kind)

    @staticmethod
    def _with(section, digest, **extra):
        out = dict(section)
        out.update(extra)
        if digest:
            out['digest'] = digest
        return out

    def _sdn_any(self, user, path, privs):
        """RPCEnvironment::check_any: root@pam holds all; a token (root's too) what allowed() says of it."""
        if user is None:
            return True
        return any(self.allowed(user, path, priv) for priv in privs)

    def _check_vnet_access(self, user, vnet, privs):
        section = self.sdn['vnets'].get(vnet)
        if section is None:
            raise die("sdn vnet '{0}' does not exist".format(vnet))
        path = '/sdn/zones/{0}/{1}'.format(section.get('zone'), vnet)
        if not self._sdn_any(user, path, privs):
            raise PveError(403, 'Permission check failed ({0}, {1})'.format(path, '|'.join(privs)))

    @staticmethod
    def _check_config(options, param, create, kind_type=None):
        """PVE::SectionConfig::check_config: only the type's options; required ones on create."""
        settings = {}
        for key, value in param.items():
            if key in NOT_OPTIONS or value is None:
                continue
            if key not in options:
                raise die("unexpected property '{0}'".format(key))
            settings[key] = value
        if create:
            for key, required in sorted(options.items()):
                if required and param.get(key) is None:
                    raise die("missing value for required option '{0}'".format(key))
        if kind_type is not None:
            settings['type'] = kind_type
        return settings

    @staticmethod
    def _delete_from_config(section, options, settings, deletes):
        """PVE::SectionConfig::delete_from_config."""
        for key in deletes:
            if key not in options:
                raise die("no such option '{0}'".format(key))
            if options[key]:
                raise die("unable to delete required option '{0}'".format(key))
            if key in settings:
                raise die("cannot set and delete property '{0}' at the same time!".format(key))
            section.pop(key, None)

    # ---------------------------------------------------------------- apply

    async def _sdn_apply(self, v, user):
        self._sdn_pve8(v)
        token = v.get('lock-token')

        def commit():
            running = dict((kind, copy.deepcopy(self.sdn[kind])) for kind in KINDS)
            running['version'] = ((self.sdn_running or {}).get('version') or 0) + 1
            self.sdn_running = running
            self.sdn_applies += 1
            if token and v.get('release-lock', 1):
                self.sdn_lock = None
        self._sdn_locked('could not commit SDN config', token, commit)
        version = self.sdn_running['version']
        # The task runs on the node answering the call: check_cfs_quorum, then per node (get_nodelist) a
        # synchronous `pvesh set /nodes/<node>/network --regenerate-frr 0`; a failure is only warn()ed into the
        # log, so the task still ends OK. pvesh's stdout (the node task's output and UPID) is read, not logged;
        # its stderr (the node task's error) lands in this log.
        log, outcomes = [], []
        for name in sorted(self.nodes):
            log.append('{0}: reloading network config'.format(name))
            how = self.sdn_reload_failures.get(name)
            if not self.nodes[name].get('online', True):
                how = 'unreachable'
            if how == 'unreachable':
                log.append('ssh: connect to host {0} port 22: No route to host'.format(name))
                log.append('proxy handler failed: ssh: connect to host {0} port 22: No route to host'.format(name))
                log.append("command 'pvesh set /nodes/{0}/network --regenerate-frr 0' failed: exit code 255".format(
                    name))
            elif how == 'ifreload':
                log.append(IFRELOAD_FAILED)
            outcomes.append((name, how))
        quorate = self.quorate

        async def node_reload(name, how):
            # pve-manager's reload_network_config: generate the SDN file (versioned), then `ifreload -a`.
            self.sdn_node_version[name] = version
            if how == 'ifreload':
                self.sdn_node_broken.add(name)
                raise TaskError(IFRELOAD_FAILED)
            self.sdn_node_broken.discard(name)

        async def body():
            if not quorate:
                raise TaskError('cluster not ready - no quorum?')
            for name, how in outcomes:
                if how == 'unreachable':
                    continue
                await self.task(name, 'srvreload', 'networking', 'root@pam',
                                lambda name=name, how=how: node_reload(name, how))
            return None
        node = sorted(self.nodes)[0]
        return await self.task(node, 'reloadnetworkall', '', user or 'root@pam', body,
                               log=log if quorate else [])

    async def _controller_index(self, v, user):
        # Controllers.pm index: `pending`/`running` as the other lists, `type` filter, only what the user may audit.
        ids, digest = self._view_cfg('controllers', v)
        out = []
        for ident in sorted(ids):
            view = self._with(ids[ident], digest, controller=ident)
            if v.get('type') and view.get('type') != v['type']:
                continue
            if self._sdn_any(user, '/sdn/controllers/{0}'.format(ident), ('SDN.Audit', 'SDN.Allocate')):
                out.append(view)
        return out

    def _node_sdn_status(self, node):
        """PVE::Network::SDN::Zones::status on node: ({zone: status}, {vnet: (zone, status, statusmsg)})."""
        running = self.sdn_running or {}
        version = running.get('version')
        if not version:
            return {}, {}
        local = self.sdn_node_version.get(node)
        err = None
        if not local:
            err = 'local sdn network configuration is not yet generated, please reload'
        elif local < version:
            err = 'local sdn network configuration is too old, please reload'
        zones, vnets = running.get('zones') or {}, running.get('vnets') or {}

        def here(zone):
            nodes = split_list(zone.get('nodes'))
            return not nodes or node in nodes
        zone_status = dict((ident, 'pending' if err else 'available') for ident, zone in sorted(zones.items())
                           if here(zone))
        vnet_status = {}
        for ident, vnet in sorted(vnets.items()):
            zone = vnet.get('zone')
            if zone not in zones:
                vnet_status[ident] = (zone, 'error', "unknown zone '{0}' configured".format(zone))
                continue
            if not here(zones[zone]):
                continue
            if err:
                vnet_status[ident] = (zone, 'pending', err)
            elif node in self.sdn_node_broken:
                # ifquery -a -c: the vnet's bridge was not brought up by the failed ifreload.
                vnet_status[ident] = (zone, 'error', 'error {0}'.format(ident))
                zone_status[zone] = 'error'
            else:
                vnet_status[ident] = (zone, 'available', None)
        return zone_status, vnet_status

    async def _node_zones(self, v, user):
        # Nodes/Zones.pm index: `user => 'all'`, every zone listed (its code filters nothing).
        if v['node'] not in self.nodes:
            raise die("no such cluster node '{0}'".format(v['node']))
        zones, _vnets = self._node_sdn_status(v['node'])
        return [{'zone': ident, 'status': status} for ident, status in sorted(zones.items())]

    async def _node_zone_content(self, v, user):
        if not self._sdn_any(user, '/sdn/zones/{0}'.format(v['zone']), ('SDN.Audit',)):
            raise PveError(403, 'Permission check failed (/sdn/zones/{0}, SDN.Audit)'.format(v['zone']))
        _zones, vnets = self._node_sdn_status(v['node'])
        out = []
        for ident, (zone, status, message) in sorted(vnets.items()):
            if zone == v['zone']:
                item = {'vnet': ident, 'status': status}
                if message:
                    item['statusmsg'] = message
                out.append(item)
        return out

    async def _sdn_lock_take(self, v, user):
        self._sdn_pve8(v, 'POST', '/cluster/sdn/lock')

        def take():
            if not v.get('allow-pending') and self.sdn_pending():
                raise die('configuration has pending changes at /usr/share/perl5/PVE/API2/Network/SDN.pm line 145.')
            self.sdn_lock = str(uuid.uuid4())
            return self.sdn_lock
        return self._sdn_locked('could not acquire lock for SDN config', None, take)

    async def _sdn_lock_release(self, v, user):
        self._sdn_pve8(v, 'DELETE', '/cluster/sdn/lock')

        def release():
            self.sdn_lock = None
        if v.get('force'):
            release()
        else:
            self._sdn_locked('could not release lock', v.get('lock-token'), release)

    async def _sdn_rollback(self, v, user):
        self._sdn_pve8(v, 'POST', '/cluster/sdn/rollback')
        token = v.get('lock-token')

        def rollback():
            running = self.sdn_running or {}
            for kind in KINDS:
                self.sdn[kind] = copy.deepcopy(running.get(kind) or {})
            if token and v.get('release-lock', 1):
                self.sdn_lock = None
        self._sdn_locked('could not rollback SDN configuration', token, rollback)

    # ---------------------------------------------------------------- zones

    def _zone_view(self, ident, section, digest):
        out = self._with(section, digest, zone=ident)
        return out

    async def _zone_index(self, v, user):
        ids, digest = self._view_cfg('zones', v)
        out = []
        for ident in sorted(ids):
            if not self._sdn_any(user, '/sdn/zones/' + ident, ('SDN.Audit', 'SDN.Allocate')):
                continue
            view = self._zone_view(ident, ids[ident], digest)
            if v.get('type') and v['type'] != view.get('type'):
                continue
            out.append(view)
        return out

    async def _zone_read(self, v, user):
        ids, digest = self._view_cfg('zones', v)
        if v['zone'] not in ids:
            raise die("sdn zone '{0}' does not exist".format(v['zone']))
        return self._zone_view(v['zone'], ids[v['zone']], digest)

    @staticmethod
    def _normalize_zone(settings):
        for key in ('nodes', 'exitnodes'):
            if settings.get(key) is not None:
                settings[key] = ','.join(sorted(set(split_list(settings[key]))))
        return settings

    def _zone_references(self, ident, settings):
        """What Zones.pm checks under the lock after the plugin's own check."""
        if settings.get('dns') and settings['dns'] not in self.sdn['dns']:
            raise param_error(dns="{0} don't exist".format(settings['dns']))
        if settings.get('reversedns') and settings['reversedns'] not in self.sdn['dns']:
            raise param_error(reversedns="{0} don't exist".format(settings['reversedns']))
        if settings.get('dnszone') and not settings.get('dns'):
            raise param_error(dnszone='missing dns server')
        if settings.get('ipam') and settings['ipam'] != 'pve' and settings['ipam'] not in self.sdn['ipams']:
            raise param_error(ipam='{0} not existing'.format(settings['ipam']))

    def _zone_update_hook(self, ident):
        """The zone plugin's on_update_hook (vxlan: peers or fabric; evpn: controller, vrf-vxlan, mac)."""
        zone = self.sdn['zones'][ident]
        if zone['type'] == 'vxlan' and bool(zone.get('peers')) == bool(zone.get('fabric')):
            raise param_error(peers='must have exactly one of peers / fabric defined',
                              fabric='must have exactly one of peers / fabric defined')
        if zone['type'] == 'evpn':
            where = '/usr/share/perl5/PVE/Network/SDN/Zones/EvpnPlugin.pm'
            controller = self.sdn['controllers'].get(zone.get('controller'))
            if controller is None:
                raise die("controller {0} don't exist at {1} line 352.".format(zone.get('controller'), where))
            if controller.get('type') != 'evpn':
                raise die('{0} is not a evpn controller type at {1} line 354.'.format(zone['controller'], where))
            for other, section in self.sdn['zones'].items():
                if other != ident and str(section.get('vrf-vxlan')) == str(zone.get('vrf-vxlan')):
                    raise die('vrf-vxlan {0} is already declared in {1} at {2} line 364.'.format(
                        zone['vrf-vxlan'], other, where))
            if not zone.get('mac'):
                zone['mac'] = 'BC:24:11:{0}'.format(':'.join(re.findall('..', sha1(ident)[:6].upper())))

    async def _zone_create(self, v, user):
        self._sdn_pve8(v)
        ident, kind = v['zone'], v['type']
        settings = self._normalize_zone(self._check_config(ZONE_OPTIONS[kind], v, True, kind))
        self.need_quorum()

        def create():
            if ident in self.sdn['zones']:
                raise die("sdn zone object ID '{0}' already defined".format(ident))
            self._zone_references(ident, settings)
            saved = copy.deepcopy(self.sdn['zones'])
            self.sdn['zones'][ident] = settings
            try:
                self._zone_update_hook(ident)
            except PveError:
                self.sdn['zones'] = saved
                raise
        self._sdn_locked('create sdn zone object failed', v.get('lock-token'), create)

    async def _zone_update(self, v, user):
        self._sdn_pve8(v)
        ident = v['zone']
        deletes = split_list(v.get('delete'))

        def update():
            check_digest(self._digest('zones'), v.get('digest'))
            if ident not in self.sdn['zones']:
                raise die("sdn zone '{0}' does not exist".format(ident))
            saved = copy.deepcopy(self.sdn['zones'])
            section = self.sdn['zones'][ident]
            options = ZONE_OPTIONS[section['type']]
            settings = self._normalize_zone(self._check_config(options, v, False))
            old_ipam = section.get('ipam')
            self._delete_from_config(section, options, settings, deletes)
            section.update(settings)
            try:
                if (section.get('ipam') or '') != (old_ipam or ''):
                    for subnet in self.sdn['subnets']:
                        if subnet.split('-')[0] == ident:
                            raise param_error(ipam="can't change ipam if a subnet is already defined in this zone")
                self._zone_references(ident, settings)
                self._zone_update_hook(ident)
            except PveError:
                self.sdn['zones'] = saved
                raise
        self._sdn_locked('update sdn zone object failed', v.get('lock-token'), update)

    async def _zone_delete(self, v, user):
        self._sdn_pve8(v)
        ident = v['zone']

        def delete():
            if ident not in self.sdn['zones']:
                raise die("sdn zone '{0}' does not exist".format(ident))
            for vnet, section in sorted(self.sdn['vnets'].items()):
                if section.get('zone') == ident:
                    raise die('zone {0} is used by vnet {1} at /usr/share/perl5/PVE/Network/SDN/Zones/Plugin.pm '
                              'line 158.'.format(ident, vnet))
            del self.sdn['zones'][ident]
        self._sdn_locked('delete sdn zone object failed', v.get('lock-token'), delete)

    # ---------------------------------------------------------------- vnets

    async def _vnet_index(self, v, user):
        ids, digest = self._view_cfg('vnets', v)
        out = []
        for ident in sorted(ids):
            view = self._with(ids[ident], digest, vnet=ident)
            zone = view.get('zone') or (view.get('pending') or {}).get('zone')
            if self._sdn_any(user, '/sdn/zones/{0}/{1}'.format(zone, ident), ('SDN.Audit', 'SDN.Allocate')):
                out.append(view)
        return out

    async def _vnet_read(self, v, user):
        self._check_vnet_access(user, v['vnet'], ('SDN.Audit', 'SDN.Allocate'))
        ids, digest = self._view_cfg('vnets', v)
        if v['vnet'] not in ids:
            raise die("sdn vnet '{0}' does not exist".format(v['vnet']))
        return self._with(ids[v['vnet']], digest, vnet=v['vnet'])

    def _vnet_hooks(self, ident):
        """The zone plugin's vnet_update_hook and VnetPlugin's on_update_hook."""
        vnet = self.sdn['vnets'][ident]
        zone = self.sdn['zones'].get(vnet.get('zone'))
        if zone is None:
            raise die("unknown section type ''")
        kind, tag = zone['type'], vnet.get('tag')
        others = dict((k, s) for k, s in self.sdn['vnets'].items() if k != ident)
        if kind == 'simple':
            if tag is not None:
                raise param_error(tag='vlan tag is not allowed on simple zone')
            vnet.setdefault('mac', 'BC:24:11:{0}'.format(':'.join(re.findall('..', sha1('v' + ident)[:6].upper()))))
        elif kind == 'vlan':
            if tag is None:
                raise param_error(tag='missing vlan tag')
            if int(tag) > 4096:
                raise param_error(tag='vlan tag max value is 4096')
            for other, section in sorted(others.items()):
                if section.get('zone') == vnet['zone'] and section.get('tag') and str(section['tag']) == str(tag):
                    raise param_error(tag='tag {0} already exist in vnet {1}'.format(tag, other))
        elif kind == 'qinq':
            if tag and int(tag) > 4096:
                raise param_error(tag='VLAN tag maximal value is 4096')
            for other, section in sorted(others.items()):
                if section.get('zone') != vnet['zone']:
                    continue
                if tag and section.get('tag') and str(section['tag']) == str(tag):
                    raise param_error(tag='tag {0} already exist in zone {1} vnet {2}'.format(tag, vnet['zone'], other))
                if not tag and not section.get('tag'):
                    raise param_error(tag='tag-less vnet already exists in zone {0} vnet {1}'.format(vnet['zone'], other))
        elif kind in ('vxlan', 'evpn'):
            if tag is None:
                raise param_error(tag='missing vxlan tag')
            if kind == 'evpn' and vnet.get('vlanaware'):
                raise param_error(**{'vlan-aware': "vlan-aware option can't be enabled with evpn"})
            for other, section in sorted(others.items()):
                other_zone = self.sdn['zones'].get(section.get('zone')) or {}
                if other_zone.get('type') in ('vxlan', 'evpn') and section.get('tag') and str(section['tag']) == str(tag):
                    raise param_error(tag='vxlan tag {0} already exist in vnet {1} in zone {2} '.format(
                        tag, other, section['zone']))
        if vnet.get('vlanaware') and self._vnet_subnets(ident):
            raise param_error(vlanaware='vlanaware vnet is not compatible with subnets')

    def _vnet_subnets(self, vnet):
        return [ident for ident, section in self.sdn['subnets'].items() if section.get('vnet') == vnet]

    async def _vnet_create(self, v, user):
        self._sdn_pve8(v)
        ident = v['vnet']
        self.need_quorum()

        def create():
            settings = self._check_config(VNET_OPTIONS, dict(v, zone=v['zone']), True, 'vnet')
            settings['zone'] = v['zone']
            if ident in self.sdn['vnets']:
                raise die("sdn vnet object ID '{0}' already defined".format(ident))
            saved = copy.deepcopy(self.sdn['vnets'])
            self.sdn['vnets'][ident] = settings
            try:
                self._vnet_hooks(ident)
            except PveError:
                self.sdn['vnets'] = saved
                raise
        self._sdn_locked('create sdn vnet object failed', v.get('lock-token'), create)

    async def _vnet_update(self, v, user):
        self._sdn_pve8(v)
        ident = v['vnet']
        self._check_vnet_access(user, ident, ('SDN.Allocate',))
        deletes = split_list(v.get('delete'))

        def update():
            check_digest(self._digest('vnets'), v.get('digest'))
            settings = self._check_config(VNET_OPTIONS, v, False)
            if v.get('zone') is not None:
                settings['zone'] = v['zone']
            saved = copy.deepcopy(self.sdn['vnets'])
            section = self.sdn['vnets'][ident]
            old_zone = section.get('zone')
            self._delete_from_config(section, VNET_OPTIONS, settings, deletes)
            section.update(settings)
            try:
                if not section.get('zone'):
                    raise param_error(zone='cannot delete zone')
                if self._vnet_subnets(ident) and old_zone != section['zone']:
                    raise param_error(zone="can't change zone if subnets exist")
                self._vnet_hooks(ident)
            except PveError:
                self.sdn['vnets'] = saved
                raise
        self._sdn_locked('update sdn vnet object failed', v.get('lock-token'), update)

    async def _vnet_delete(self, v, user):
        self._sdn_pve8(v)
        ident = v['vnet']
        self._check_vnet_access(user, ident, ('SDN.Allocate',))

        def delete():
            if self._vnet_subnets(ident):
                raise param_error(vnet="Can't delete vnet if subnets exists")
            del self.sdn['vnets'][ident]
        self._sdn_locked('delete sdn vnet object failed', v.get('lock-token'), delete)

    # -------------------------------------------------------------- subnets

    @staticmethod
    def _subnet_view(ident, section, digest):
        zone, network, mask = (ident.split('-') + ['', '', ''])[:3]
        out = dict(section)
        out.update(id=ident, subnet=ident, zone=zone, network=network, mask=mask, cidr='{0}/{1}'.format(network, mask))
        out['dhcp-range'] = [r for r in (parse_range(x) for x in section.get('dhcp-range') or ()) if r]
        if digest:
            out['digest'] = digest
        return out

    async def _subnet_index(self, v, user):
        self._check_vnet_access(user, v['vnet'], ('SDN.Audit', 'SDN.Allocate'))
        ids, digest = self._view_cfg('subnets', v)
        out = []
        for ident in sorted(ids):
            view = self._subnet_view(ident, ids[ident], digest)
            if view.get('vnet') == v['vnet']:
                out.append(view)
        return out

    def _subnet_id(self, text):
        """A subnet as the path gives it (`zone-10.0.0.0-24` or a CIDR) -> its id."""
        if '/' not in str(text):
            return str(text)
        address, mask = parse_cidr(text)
        for ident in self.sdn['subnets']:
            if ident.split('-')[1:3] == [address, str(mask)]:
                return ident
        return str(text)

    async def _subnet_read(self, v, user):
        self._check_vnet_access(user, v['vnet'], ('SDN.Audit', 'SDN.Allocate'))
        ids, digest = self._view_cfg('subnets', v)
        ident = self._subnet_id(v['subnet'])
        if ident not in ids:
            raise die("sdn subnet '{0}' does not exist".format(ident))
        view = self._subnet_view(ident, ids[ident], digest)
        if view.get('vnet') != v['vnet']:
            raise param_error(vnet='wrong vnet')
        return view

    def _subnet_hook(self, ident):
        """SubnetPlugin's on_update_hook: the vnet, the gateway inside the subnet, the DHCP ranges."""
        section = self.sdn['subnets'][ident]
        _zone, address, mask = ident.split('-')[:3]
        network = ipaddress.ip_network('{0}/{1}'.format(address, mask), strict=False)
        cidr = '{0}/{1}'.format(address, mask)
        vnet = self.sdn['vnets'].get(section.get('vnet'))
        if vnet is None:
            raise param_error(vnet="{0} don't exist".format(section.get('vnet')))
        if vnet.get('vlanaware'):
            raise param_error(vnet="you can't add a subnet on a vlanaware vnet")
        gateway = section.get('gateway')
        pointopoint = network.version == 4 and int(mask) == 32
        if gateway and _ip(gateway) not in network and not pointopoint:
            raise param_error(gateway='{0} is not in subnet {1}'.format(gateway, cidr))
        seen = []
        for text in section.get('dhcp-range') or ():
            rng = parse_range(text) or {}
            start, end = _ip(rng.get('start-address')), _ip(rng.get('end-address'))
            if start is None:
                raise param_error(**{'dhcp-range': 'start-address is not a valid IP {0}'.format(rng.get('start-address'))})
            if end is None:
                raise param_error(**{'dhcp-range': 'end-address is not a valid IP {0}'.format(rng.get('end-address'))})
            if start > end:
                raise param_error(**{'dhcp-range': 'start-address {0} must be smaller than end-address {1}'.format(
                    start, end)})
            if start not in network:
                raise param_error(**{'dhcp-range': 'start-address {0} is not in subnet {1}'.format(start, cidr)})
            if end not in network:
                raise param_error(**{'dhcp-range': 'end-address {0} is not in subnet {1}'.format(end, cidr)})
            for other_start, other_end in seen:
                if start <= other_end and other_start <= end:
                    raise param_error(**{'dhcp-range': 'dhcp ranges must not overlap'})
            seen.append((start, end))

    async def _subnet_create(self, v, user):
        self._sdn_pve8(v)
        address, mask = parse_cidr(v['subnet'])
        self._check_vnet_access(user, v['vnet'], ('SDN.Allocate',))
        self.need_quorum()

        def create():
            zone = self.sdn['vnets'][v['vnet']].get('zone')
            ident = '{0}-{1}-{2}'.format(zone, address, mask)
            settings = self._check_config(SUBNET_OPTIONS, v, True, 'subnet')
            settings['vnet'] = v['vnet']
            if ident in self.sdn['subnets']:
                raise die("sdn subnet object ID '{0}' already defined".format(ident))
            self.sdn['subnets'][ident] = settings
            try:
                self._subnet_hook(ident)
            except PveError:
                del self.sdn['subnets'][ident]
                raise
        self._sdn_locked('create sdn subnet object failed', v.get('lock-token'), create)

    async def _subnet_update(self, v, user):
        self._sdn_pve8(v)
        self._check_vnet_access(user, v['vnet'], ('SDN.Allocate',))
        ident = self._subnet_id(v['subnet'])
        deletes = split_list(v.get('delete'))

        def update():
            if ident not in self.sdn['subnets']:
                raise die("sdn subnet '{0}' does not exist".format(ident))
            check_digest(self._digest('subnets'), v.get('digest'))
            settings = self._check_config(SUBNET_OPTIONS, v, False)
            saved = copy.deepcopy(self.sdn['subnets'])
            section = self.sdn['subnets'][ident]
            self._delete_from_config(section, SUBNET_OPTIONS, settings, deletes)
            section.update(settings)
            try:
                self._subnet_hook(ident)
            except PveError:
                self.sdn['subnets'] = saved
                raise
        self._sdn_locked('update sdn subnet object failed', v.get('lock-token'), update)

    async def _subnet_delete(self, v, user):
        self._sdn_pve8(v)
        self._check_vnet_access(user, v['vnet'], ('SDN.Allocate',))
        ident = self._subnet_id(v['subnet'])

        def delete():
            self.sdn['subnets'].pop(ident, None)
        self._sdn_locked('delete sdn subnet object failed', v.get('lock-token'), delete)
