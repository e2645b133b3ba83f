# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ceph: init, monitors, managers, metadata servers, flags, pools and OSDs, with their status.

Follows pve-manager's PVE/API2/Ceph.pm (init), PVE/API2/Ceph/{MON,MGR,MDS,Pool,OSD}.pm, PVE/API2/Cluster/Ceph.pm
(status, flags) and PVE/Ceph/Tools.pm, with PVE's own error wording:

- nothing works before `init` ("pveceph configuration not initialized - ..."); init writes ceph.conf once
  (size and min_size only the first time, network and cluster network on every call) and the admin keyring;
- without a monitor no RADOS connection can be made; the first monitor also creates a manager on its node;
- monitors, managers, metadata servers, pools (create, set, destroy) and OSDs (create, destroy), flag changes and
  service stop/start run as tasks (cephcreatemon, cephcreatepool, cephcreateosd, cephsetflags, srvstop, ...);
- pools: PVE's defaults (size 3, min_size 2, pg_num 128, application rbd, autoscale warn); Ceph refuses a
  min_size above size ("Could not set: min_size", after the pool exists, as on PVE); setting size resets
  min_size as Ceph does (the configured osd_pool_default_min_size capped at size), and set_pool applies size
  first and skips a min_size equal to the one read before, so that min_size can end up reset; `add_storages` adds an RBD
  storage named after the pool (and, as Pool.pm's createpool checks first, `Datastore.Allocate` on `/storage`, as does
  destroypool with `remove_storages`); destroying a pool whose storages still hold disks needs `force`; usage
  (bytes_used, percent_used) is the lab's `ceph_pool_usage()`;
- OSDs live on the devices of `/nodes/{node}/disks/list` (a system disk, three free disks and an NVMe per node);
  an OSD is `in` and `up` when created; `out`/`in` and the `osd.N` service's stop/start change that; destroying one
  needs it out and down; `cleanup` frees its device;
- creating and destroying an OSD are the root@pam login's alone: the two API methods declare no permissions, so
  PVE's RPCEnvironment::check_api2_permissions refuses everyone else, API tokens included (root's too: a token acts
  as `root@pam!name`), with a 403 "Permission check failed (user != root@pam)", before it looks at the parameters
  (modelled for every such method in tokens.py).
"""

import re
import time
import uuid

from fakepve.model import TaskError
from fakepve.routing import StatefulRoutes, die, ok, param_error

from ._common import task_log

NOT_INITED = "pveceph configuration not initialized - missing '/etc/pve/ceph.conf', missing '/etc/pve/ceph'"
NO_RADOS = 'rados_connect failed - No such file or directory'
FLAGS = ('nobackfill', 'nodeep-scrub', 'nodown', 'noin', 'noout', 'norebalance', 'norecover', 'noscrub',
         'notieragent', 'noup', 'pause')
FLAG_TEXT = {
    'nobackfill': 'Backfilling of PGs is suspended.', 'nodeep-scrub': 'Deep Scrubbing is disabled.',
    'nodown': 'OSD failure reports are being ignored, such that the monitors will not mark OSDs down.',
    'noin': 'OSDs that were previously marked out will not be marked back in when they start.',
    'noout': 'OSDs will not automatically be marked out after the configured interval.',
    'norebalance': 'Rebalancing of PGs is suspended.', 'norecover': 'Recovery of PGs is suspended.',
    'noscrub': 'Scrubbing is disabled.', 'notieragent': 'Cache tiering activity is suspended.',
    'noup': 'OSDs are not allowed to start.', 'pause': 'Pauses read and writes.',
}
VERSION = '19.2.3'
GIB = 1024 ** 3
POOL_DEFAULTS = {'size': 3, 'min_size': 2, 'pg_num': 128, 'application': 'rbd', 'pg_autoscale_mode': 'warn'}


def _disks():
    return [
        {'devpath': '/dev/sda', 'size': 64 * GIB, 'type': 'ssd', 'model': 'LAB SYSTEM', 'used': 'LVM', 'gpt': 1},
        {'devpath': '/dev/sdb', 'size': 480 * GIB, 'type': 'ssd', 'model': 'LAB SSD 480', 'gpt': 0},
        {'devpath': '/dev/sdc', 'size': 480 * GIB, 'type': 'ssd', 'model': 'LAB SSD 480', 'gpt': 0},
        {'devpath': '/dev/sdd', 'size': 4096 * GIB, 'type': 'hdd', 'model': 'LAB HDD 4T', 'gpt': 0, 'rpm': 7200},
        {'devpath': '/dev/nvme0n1', 'size': 960 * GIB, 'type': 'nvme', 'model': 'LAB NVME 960', 'gpt': 0},
    ]


class CephArea(StatefulRoutes):
    """Mixin of LabPve: the cluster's hyper-converged Ceph (`pve.cephx` is None until init)."""

    cephx = None

    # ---------------------------------------------------------------- state

    def _ceph_state(self):
        if self.cephx is None:
            raise die(NOT_INITED)
        return self.cephx

    def _rados(self):
        state = self._ceph_state()
        if not state['mons'] or self.ceph.get('down'):
            raise die(NO_RADOS)
        return state

    def ceph_disks(self, node):
        """The node's block devices (created on first use)."""
        disks = getattr(self, '_ceph_disks', None)
        if disks is None:
            disks = self._ceph_disks = {}
        return disks.setdefault(node, _disks())

    def ceph_pool_usage(self, name, bytes_used):
        """Lab scenario: the pool holds this many bytes."""
        self.cephx['pools'][name]['bytes_used'] = int(bytes_used)

    def _cx_node_ip(self, node, network=None):
        """A node's address on the Ceph public network (not the cluster address migrations and /cluster/status use)."""
        index = sorted(self.nodes).index(node) + 1
        net = (network or (self.cephx or {}).get('network') or '10.10.10.0/24').split('/')[0]
        return '{0}.{1}'.format(net.rsplit('.', 1)[0], 10 + index)

    async def _ceph_task(self, node, ttype, tid, user, body, log=()):
        return await self.task(node, ttype, tid, user, body, lock=False, log=list(log))

    def _routes_ceph(self):
        n = '/nodes/{node}/ceph'
        return [
            ('POST', n + '/init', self._cx_init), ('GET', n + '/cfg/value', self._cx_cfg_value),
            ('GET', n + '/status', self._cx_status_route),
            ('GET', n + '/mon', self._cx_mon_list), ('POST', n + '/mon/{monid}', self._cx_mon_create),
            ('DELETE', n + '/mon/{monid}', self._cx_mon_delete),
            ('GET', n + '/mgr', self._cx_mgr_list), ('POST', n + '/mgr/{id}', self._cx_mgr_create),
            ('DELETE', n + '/mgr/{id}', self._cx_mgr_delete),
            ('GET', n + '/mds', self._cx_mds_list), ('POST', n + '/mds/{name}', self._cx_mds_create),
            ('DELETE', n + '/mds/{name}', self._cx_mds_delete),
            ('GET', '/cluster/ceph/flags', self._cx_flags), ('PUT', '/cluster/ceph/flags', self._cx_flags_set),
            ('GET', '/cluster/ceph/flags/{flag}', self._cx_flag), ('PUT', '/cluster/ceph/flags/{flag}', self._cx_flag_set),
            ('GET', n + '/pool', self._cx_pool_list), ('POST', n + '/pool', self._cx_pool_create),
            ('GET', n + '/pool/{name}/status', self._cx_pool_status), ('PUT', n + '/pool/{name}', self._cx_pool_set),
            ('DELETE', n + '/pool/{name}', self._cx_pool_delete),
            ('GET', n + '/osd', self._cx_osd_tree), ('POST', n + '/osd', self._cx_osd_create),
            ('DELETE', n + '/osd/{osdid}', self._cx_osd_delete),
            ('POST', n + '/osd/{osdid}/in', self._cx_osd_in), ('POST', n + '/osd/{osdid}/out', self._cx_osd_out),
            ('POST', n + '/osd/{osdid}/scrub', self._cx_osd_scrub),
            ('POST', n + '/stop', self._cx_stop), ('POST', n + '/start', self._cx_start),
            ('GET', '/nodes/{node}/disks/list', self._cx_disks), ('GET', n + '/rules', self._cx_rules),
        ]

    async def _cx_rules(self, v, user):
        return [{'name': name} for name in self._rados()['rules']]

    # ---------------------------------------------------------------- init and config

    async def _cx_init(self, v, user):
        if self.cephx is None:
            self.cephx = {'fsid': str(uuid.uuid4()), 'size': v.get('size', 3), 'min_size': v.get('min_size', 2),
                          'network': None, 'cluster_network': None, 'mons': {}, 'mgrs': {}, 'mds': {}, 'pools': {},
                          'osds': {}, 'flags': set(), 'next_osd': 0, 'scrubs': [], 'rules': ['replicated_rule']}
        if v.get('network'):
            self.cephx['network'] = self.cephx['cluster_network'] = v['network']
        if v.get('cluster-network'):
            self.cephx['cluster_network'] = v['cluster-network']

    async def _cx_cfg_value(self, v, user):
        state = self._ceph_state()
        conf = {'global': {'fsid': state['fsid'], 'osd_pool_default_size': str(state['size']),
                           'osd_pool_default_min_size': str(state['min_size'])}}
        for key in ('network', 'cluster_network'):
            if state[key]:
                conf['global'][{'network': 'public_network'}.get(key, key)] = state[key]
        out = {}
        for item in str(v.get('config-keys') or '').split(';'):
            section, _sep, key = item.partition(':')
            if key and conf.get(section, {}).get(key) is not None:
                out.setdefault(section, {})[key] = conf[section][key]
        return out

    def ceph_status_doc(self):
        """The `ceph status` document of the lab's Ceph."""
        state = self._rados()
        checks = {}
        if self.ceph.get('health', 'HEALTH_OK') != 'HEALTH_OK':
            checks['LAB_SCENARIO'] = {'severity': self.ceph['health'], 'summary': {'message': 'lab scenario', 'count': 1}}
        if not state['mgrs']:
            checks['MGR_DOWN'] = {'severity': 'HEALTH_WARN', 'summary': {'message': 'no active mgr', 'count': 1}}
        down = [i for i, o in state['osds'].items() if not o['up']]
        if down:
            checks['OSD_DOWN'] = {'severity': 'HEALTH_WARN',
                                  'summary': {'message': '{0} osds down'.format(len(down)), 'count': len(down)}}
        if state['flags']:
            checks['OSDMAP_FLAGS'] = {'severity': 'HEALTH_WARN', 'summary': {
                'message': '{0} flag(s) set'.format(','.join(sorted(state['flags']))), 'count': len(state['flags'])}}
        up_osds = [o for o in state['osds'].values() if o['up'] and o['in']]
        small = [p for p, pool in state['pools'].items() if len(up_osds) < pool['size']]
        if small:
            checks['PG_DEGRADED'] = {'severity': 'HEALTH_WARN', 'summary': {
                'message': 'Degraded data redundancy: pools {0} have fewer OSDs up than their size'.format(
                    ', '.join(sorted(small))), 'count': len(small)}}
        severity = 'HEALTH_OK'
        for check in checks.values():
            if check['severity'] == 'HEALTH_ERR' or severity == 'HEALTH_OK':
                severity = check['severity']
        mons = sorted(state['mons'])
        total = sum(o['size'] for o in state['osds'].values())
        used = sum(p.get('bytes_used', 0) for p in state['pools'].values())
        return {
            'fsid': state['fsid'], 'health': {'status': severity, 'checks': checks, 'mutes': []},
            'quorum': list(range(len(mons))), 'quorum_names': mons, 'election_epoch': 2 * len(mons),
            'monmap': {'epoch': len(mons), 'min_mon_release_name': 'squid', 'num_mons': len(mons)},
            'osdmap': {'epoch': 10, 'num_osds': len(state['osds']),
                       'num_up_osds': len([o for o in state['osds'].values() if o['up']]),
                       'num_in_osds': len([o for o in state['osds'].values() if o['in']])},
            'pgmap': {'num_pgs': sum(p['pg_num'] for p in state['pools'].values()), 'num_pools': len(state['pools']),
                      'bytes_used': used, 'bytes_total': total, 'bytes_avail': max(0, total - used),
                      'data_bytes': used, 'num_objects': 0, 'pgs_by_state': []},
            'mgrmap': {'available': bool(state['mgrs']), 'num_standbys': max(0, len(state['mgrs']) - 1),
                       'modules': ['iostat', 'pg_autoscaler']},
            'fsmap': {'epoch': 1, 'by_rank': [], 'up:standby': len(state['mds'])},
            'servicemap': {'epoch': 1, 'modified': '2026-01-01T00:00:00.000000+0000', 'services': {}},
        }

    async def _ceph_status(self, request):
        # fakepve's own /cluster/ceph/status handler (an aiohttp route registered before the lab's).
        return ok(self.ceph_status_doc())

    async def _cx_status_route(self, v, user):
        return self.ceph_status_doc()

    # ---------------------------------------------------------------- mon, mgr, mds

    async def _cx_mon_list(self, v, user):
        state = self._ceph_state()
        out = []
        for rank, (name, mon) in enumerate(sorted(state['mons'].items())):
            out.append({'name': name, 'host': mon['host'], 'addr': mon['addr'] + ':6789/0', 'rank': rank, 'quorum': 1,
                        'state': 'running', 'direxists': 1, 'service': 1, 'ceph_version': 'ceph version ' + VERSION,
                        'ceph_version_short': VERSION})
        return out

    async def _cx_mon_create(self, v, user):
        state = self._ceph_state()
        node = v['node']
        monid = v.get('monid') or node
        addr = v.get('mon-address') or self._cx_node_ip(node)
        if addr in [m['addr'] for m in state['mons'].values()]:
            raise die("monitor address '{0}' already in use".format(addr))
        if monid in state['mons']:
            raise die("monitor '{0}' already exists".format(monid))

        async def body():
            state['mons'][monid] = {'host': node, 'addr': addr}
            if not state['mgrs']:
                state['mgrs'][monid] = {'host': node}
        return await self._ceph_task(node, 'cephcreatemon', 'mon.' + monid, user, body)

    async def _cx_mon_delete(self, v, user):
        state = self._ceph_state()
        monid = v['monid']
        if monid not in state['mons']:
            raise die("no such monitor id '{0}'".format(monid))
        if state['mons'][monid]['host'] != v['node']:
            raise die("monitor filesystem '/var/lib/ceph/mon/ceph-{0}' does not exist on this node".format(monid))
        if len(state['mons']) <= 1:
            raise die("can't remove last monitor")

        async def body():
            del state['mons'][monid]
        return await self._ceph_task(v['node'], 'cephdestroymon', 'mon.' + monid, user, body)

    async def _cx_mgr_list(self, v, user):
        state = self._rados()
        out = []
        for index, (name, mgr) in enumerate(sorted(state['mgrs'].items())):
            out.append({'name': name, 'host': mgr['host'], 'addr': self._cx_node_ip(mgr['host']),
                        'state': 'active' if index == 0 else 'standby', 'direxists': 1, 'service': 1,
                        'ceph_version': 'ceph version ' + VERSION, 'ceph_version_short': VERSION})
        return out

    async def _cx_mgr_create(self, v, user):
        state = self._ceph_state()
        mgrid = v.get('id') or v['node']
        if mgrid in state['mgrs']:
            raise die("ceph manager directory '/var/lib/ceph/mgr/ceph-{0}' already exists".format(mgrid))

        async def body():
            self._rados()
            state['mgrs'][mgrid] = {'host': v['node']}
        return await self._ceph_task(v['node'], 'cephcreatemgr', 'mgr.' + mgrid, user, body)

    async def _cx_mgr_delete(self, v, user):
        state = self._ceph_state()
        mgrid = v['id']
        if state['mgrs'].get(mgrid, {}).get('host') != v['node']:
            raise die("ceph manager directory '/var/lib/ceph/mgr/ceph-{0}' not found".format(mgrid))

        async def body():
            del state['mgrs'][mgrid]
        return await self._ceph_task(v['node'], 'cephdestroymgr', 'mgr.' + mgrid, user, body)

    async def _cx_mds_list(self, v, user):
        state = self._rados()
        return [{'name': name, 'host': mds['host'], 'addr': self._cx_node_ip(mds['host']) + ':6800/0',
                 'state': 'up:standby', 'standby_replay': 1 if mds.get('hotstandby') else 0, 'direxists': 1,
                 'service': 1, 'ceph_version': 'ceph version ' + VERSION, 'ceph_version_short': VERSION}
                for name, mds in sorted(state['mds'].items())]

    async def _cx_mds_create(self, v, user):
        state = self._ceph_state()
        mds_id = v.get('name') or v['node']
        if mds_id[:1].isdigit():
            raise die('ID of the MDS cannot start with a number!')
        if mds_id in state['mds']:
            raise die("MDS '{0}' already referenced in ceph config, abort!".format(mds_id))

        async def body():
            self._rados()
            state['mds'][mds_id] = {'host': v['node'], 'hotstandby': bool(v.get('hotstandby'))}
        return await self._ceph_task(v['node'], 'cephcreatemds', 'mds.' + mds_id, user, body)

    async def _cx_mds_delete(self, v, user):
        state = self._ceph_state()
        mds_id = v['name']

        async def body():
            # PVE::Ceph::Services::destroy_mds removes what it finds, and warns about the rest.
            if state['mds'].get(mds_id, {}).get('host') == v['node']:
                del state['mds'][mds_id]
                return None
            return "disabling service 'ceph-mds@{0}.service'".format(mds_id)
        return await self._ceph_task(v['node'], 'cephdestroymds', 'mds.' + mds_id, user, body)

    # ---------------------------------------------------------------- flags

    async def _cx_flags(self, v, user):
        state = self._rados()
        return [{'name': flag, 'description': FLAG_TEXT[flag], 'value': 1 if flag in state['flags'] else 0}
                for flag in FLAGS]

    async def _cx_flags_set(self, v, user):
        state = self._rados()

        async def body():
            for flag in FLAGS:
                if flag in v:
                    if v[flag]:
                        state['flags'].add(flag)
                    else:
                        state['flags'].discard(flag)
        return await self._ceph_task(sorted(self.nodes)[0], 'cephsetflags', '', user, body)

    async def _cx_flag(self, v, user):
        return v['flag'] in self._rados()['flags']

    async def _cx_flag_set(self, v, user):
        state = self._rados()
        if v['value']:
            state['flags'].add(v['flag'])
        else:
            state['flags'].discard(v['flag'])

    # ---------------------------------------------------------------- pools

    def _pool_view(self, name, pool):
        osds_total = sum(o['size'] for o in self.cephx['osds'].values() if o['in']) or 1
        used = pool.get('bytes_used', 0)
        view = {'pool': pool['id'], 'pool_name': name, 'size': pool['size'], 'min_size': pool['min_size'],
                'pg_num': pool['pg_num'], 'pg_num_min': pool.get('pg_num_min'), 'pg_num_final': pool['pg_num'],
                'pg_autoscale_mode': pool['pg_autoscale_mode'],
                'crush_rule': self.cephx['rules'].index(pool['crush_rule']), 'crush_rule_name': pool['crush_rule'],
                'type': pool['type'], 'bytes_used': used, 'percent_used': used / float(osds_total),
                'target_size': pool.get('target_size'), 'target_size_ratio': pool.get('target_size_ratio'),
                'application_metadata': {pool['application']: {}},
                'autoscale_status': {'pool_name': name, 'pg_autoscale_mode': pool['pg_autoscale_mode'],
                                     'pg_num_final': pool['pg_num'], 'would_adjust': False}}
        return dict((k, x) for k, x in view.items() if x is not None)

    async def _cx_pool_list(self, v, user):
        state = self._rados()
        return [self._pool_view(name, pool) for name, pool in sorted(state['pools'].items(), key=lambda i: i[1]['id'])]

    async def _cx_pool_status(self, v, user):
        state = self._rados()
        name = v['name']
        pool = state['pools'].get(name)
        if pool is None:
            raise die("mon_command failed - unrecognized pool '{0}'".format(name))
        data = {'id': pool['id'], 'name': name, 'size': pool['size'], 'min_size': pool['min_size'],
                'pg_num': pool['pg_num'], 'pgp_num': pool['pg_num'], 'pg_autoscale_mode': pool['pg_autoscale_mode'],
                'crush_rule': pool['crush_rule'],
                'noscrub': False, 'nodeep-scrub': False, 'nodelete': False, 'nopgchange': False,
                'nosizechange': False, 'write_fadvise_dontneed': False, 'hashpspool': True, 'use_gmt_hitset': True,
                'fast_read': False}
        for key in ('pg_num_min', 'target_size', 'target_size_ratio'):
            if pool.get(key) is not None:
                data[key] = pool[key]
        if v.get('verbose'):
            data['application_list'] = [pool['application']]
            data['statistics'] = {'bytes_used': pool.get('bytes_used', 0), 'stored': pool.get('bytes_used', 0),
                                  'objects': 0, 'percent_used': self._pool_view(name, pool)['percent_used']}
            data['autoscale_status'] = self._pool_view(name, pool)['autoscale_status']
        return data

    @staticmethod
    def _pool_settings(v):
        out = {}
        for key in ('size', 'min_size', 'pg_num', 'pg_num_min', 'application', 'pg_autoscale_mode',
                    'target_size_ratio'):
            if v.get(key) is not None:
                out[key] = v[key]
        if v.get('target_size') is not None:
            found = str(v['target_size'])
            unit = found[-1] if found[-1] in 'KMGT' else ''
            number = float(found[:-1] if unit else found)
            out['target_size'] = int(number * {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': GIB, 'T': 1024 ** 4}[unit])
        if v.get('crush_rule') is not None:
            out['crush_rule'] = v['crush_rule']
        return out

    def _ceph_default_min_size(self, size):
        """Ceph's md_config_t::get_osd_pool_default_min_size(size): osd_pool_default_min_size (which PVE's init
        writes to ceph.conf, 2 unless given) capped at size, or size - size/2 when that option is 0."""
        configured = int(self.cephx.get('min_size') or 0)
        return min(configured, size) if configured else size - size // 2

    def _apply_pool(self, pool, settings, log):
        """PVE::Ceph::Tools::set_pool: size first (Ceph resets min_size with it), then the rest sorted; a value equal
        to the pool's properties read before the first change is skipped; what Ceph refuses is reported, then
        `Could not set: ...`."""
        failed = []
        keys = sorted(settings, key=lambda k: (k != 'size', k))
        before = dict(pool)
        for key in keys:
            value = settings[key]
            if before.get(key) == value:
                log.append("skipping '{0}', did not change".format(key))
                continue
            if key == 'crush_rule' and value not in self.cephx['rules']:
                # `osd pool set <pool> crush_rule <name>` for a rule Ceph does not have.
                log.append('mon_command failed - crush rule {0} does not exist'.format(value))
                failed.append(key)
                continue
            if key == 'application' and pool.get('application') not in (None, value):
                # `osd pool application enable` on a pool that has another application (Ceph's OSDMonitor).
                log.append("mon_command failed - Are you SURE? Pool '{0}' already has an enabled application; pass "
                           "--yes-i-really-mean-it to proceed anyway".format(pool['name']))
                failed.append(key)
                continue
            if key == 'min_size' and not 1 <= value <= pool['size']:
                log.append('mon_command failed - pool min_size must be between 1 and size, which is set to {0}'.format(
                    pool['size']))
                failed.append(key)
                continue
            log.append('pool {0}: applying {1} = {2}'.format(pool['name'], key, value))
            pool[key] = value
            if key == 'size':
                # Ceph's OSDMonitor (`osd pool set <pool> size`) sets min_size from the new size too.
                pool['min_size'] = self._ceph_default_min_size(value)
        if failed:
            raise TaskError('Could not set: {0}'.format(', '.join(sorted(failed))))

    async def _cx_pool_create(self, v, user):
        state = self._ceph_state()
        name = v['name']
        add_storages = v.get('add_storages')
        ec = v.get('erasure-coding')
        if ec and add_storages is None:
            add_storages = True
        if add_storages:
            # Pool.pm createpool: storage.cfg is written too, so /storage's Datastore.Allocate is asked first.
            self.require(user, '/storage', 'Datastore.Allocate')
        if add_storages and not re.match(r'^[a-z][a-z0-9\-\_\.]*[a-z0-9]$', name, re.I):
            raise die('pool name contains characters which are illegal for storage naming')
        self._rados()
        settings = dict(POOL_DEFAULTS)
        settings.update(self._pool_settings(v))
        node = v['node']
        first = 'creating pool {0}'.format(name)

        async def body():
            log = task_log(self, first)
            names = [name]
            if ec:
                names = [name + '-data', name + '-metadata']
            for pool_name in names:
                pool = state['pools'].get(pool_name)
                if pool is None:
                    ids = [p['id'] for p in state['pools'].values()]
                    pool = {'id': max(ids + [0]) + 1, 'name': pool_name, 'type': 'replicated',
                            'crush_rule': 'replicated_rule',
                            'size': 3, 'min_size': 2, 'pg_num': settings['pg_num'], 'application': None,
                            'pg_autoscale_mode': 'warn', 'bytes_used': 0}
                    state['pools'][pool_name] = pool
                    if pool_name.endswith('-data') and ec:
                        # Ceph names an erasure-coded pool's CRUSH rule after the pool.
                        state['rules'].append(pool_name)
                        pool.update(type='erasure', crush_rule=pool_name, ec=ec)
                own = dict(settings)
                if pool.get('type') == 'erasure':
                    for key in ('size', 'min_size', 'crush_rule'):
                        own.pop(key, None)
                elif ec:
                    own['pg_num'] = 32
                self._apply_pool(pool, own, log)
            if add_storages:
                if name in self.storages:
                    raise TaskError("adding PVE storage for ceph pool '{0}' failed: create storage failed: storage ID "
                                    "'{0}' already defined".format(name))
                store = {'type': 'rbd', 'pool': names[-1], 'krbd': 0, 'content': 'rootdir,images', 'active': 1,
                         'files': set(), 'volumes': {}}
                if ec:
                    store['data-pool'] = names[0]
                self.storages[name] = store
        return await self._ceph_task(node, 'cephcreatepool', name, user, body, log=[first])

    async def _cx_pool_set(self, v, user):
        state = self._ceph_state()
        name = v['name']
        settings = self._pool_settings(v)
        self._rados()

        first = 'setting pool {0}'.format(name)

        async def body():
            pool = state['pools'].get(name)
            if pool is None:
                raise TaskError("mon_command failed - unrecognized pool '{0}'".format(name))
            if pool['type'] == 'erasure':
                for key in ('size', 'crush_rule'):
                    settings.pop(key, None)
            self._apply_pool(pool, settings, task_log(self, first))
        return await self._ceph_task(v['node'], 'cephsetpool', name, user, body, log=[first])

    def _pool_storages(self, name):
        return sorted(sid for sid, store in self.storages.items() if store.get('type') == 'rbd' and (
            store.get('pool', 'rbd') == name or store.get('data-pool') == name))

    async def _cx_pool_delete(self, v, user):
        state = self._ceph_state()
        name = v['name']
        if v.get('remove_storages'):
            # Pool.pm destroypool: removing the pool's storages asks /storage's Datastore.Allocate first.
            self.require(user, '/storage', 'Datastore.Allocate')
        self._rados()

        async def body():
            storages = self._pool_storages(name)
            if not v.get('force'):
                for sid in storages:
                    if self._volumes(sid):
                        raise TaskError("ceph pool '{0}' still in use by storage '{1}'".format(name, sid))
            if name not in state['pools']:
                raise TaskError("mon_command failed - unrecognized pool '{0}'".format(name))
            gone = state['pools'].pop(name)
            if gone['type'] == 'erasure' and gone['crush_rule'] in state['rules']:
                state['rules'].remove(gone['crush_rule'])
            if v.get('remove_storages'):
                for sid in storages:
                    if not self.storages[sid].get('monhost'):
                        del self.storages[sid]
        return await self._ceph_task(v['node'], 'cephdestroypool', name, user, body)

    # ---------------------------------------------------------------- OSDs

    def _osd(self, osdid):
        state = self._rados()
        osd = state['osds'].get(int(osdid))
        if osd is None:
            raise die("no such OSD '{0}'".format(osdid))
        return osd

    async def _cx_osd_tree(self, v, user):
        state = self._rados()
        hosts = []
        for index, node in enumerate(sorted(self.nodes)):
            children = []
            for osdid, osd in sorted(state['osds'].items()):
                if osd['host'] != node:
                    continue
                used = osd.get('bytes_used', 0)
                children.append({
                    'id': osdid, 'name': 'osd.{0}'.format(osdid), 'type': 'osd', 'leaf': 1, 'host': node,
                    'status': 'up' if osd['up'] else 'down', 'in': 1 if osd['in'] else 0,
                    'device_class': osd['class'], 'crush_weight': round(osd['size'] / float(1024 ** 4), 5),
                    'reweight': 1 if osd['in'] else 0, 'osdtype': 'bluestore', 'blfsdev': osd['dev'],
                    'dbdev': osd.get('db_dev'), 'waldev': osd.get('wal_dev'), 'total_space': osd['size'],
                    'bytes_used': used, 'percent_used': used * 100.0 / osd['size'], 'pgs': 0,
                    'ceph_version': 'ceph version ' + VERSION, 'ceph_version_short': VERSION})
                children[-1] = dict((k, x) for k, x in children[-1].items() if x is not None)
            if children:
                hosts.append({'id': -2 - index, 'name': node, 'type': 'host', 'leaf': 0, 'children': children,
                              'version': VERSION})
        root = {'id': -1, 'name': 'default', 'type': 'root', 'leaf': 0 if hosts else 1}
        if hosts:
            root['children'] = hosts
        data = {'root': {'leaf': 0, 'children': [root]}}
        if state['flags']:
            data['flags'] = ','.join(sorted(state['flags']))
        return data

    def _disk(self, node, dev):
        for disk in self.ceph_disks(node):
            if disk['devpath'] == dev:
                return disk
        return None

    async def _cx_osd_create(self, v, user):
        node, dev = v['node'], v['dev']
        self._ceph_state()
        for kind in ('db_dev', 'wal_dev'):
            if v.get(kind) and v[kind] == dev:
                raise param_error(**{kind: "cannot chose '{0}' for more than one type.".format(dev)})
        disk = self._disk(node, dev)
        if disk is None:
            raise die("unable to get device info for '{0}'".format(dev))
        if disk.get('used'):
            raise die("device '{0}' is already in use".format(dev))
        for kind in ('db_dev', 'wal_dev'):
            if not v.get(kind):
                continue
            other = self._disk(node, v[kind])
            if other is None:
                raise die("unable to get device info for '{0}' for type {1}".format(v[kind], kind))
            if other.get('used') and other['used'] not in ('LVM',) and not other.get('osd_db'):
                raise die("device '{0}' is already in use and has no LVM on it".format(v[kind]))
        state = self._rados()
        count = int(v.get('osds-per-device') or 1)

        async def body():
            ids = []
            for _index in range(count):
                osdid = state['next_osd']
                while osdid in state['osds']:
                    osdid += 1
                state['next_osd'] = osdid + 1
                state['osds'][osdid] = {
                    'host': node, 'dev': dev, 'in': True, 'up': True, 'size': disk['size'] // count,
                    'class': v.get('crush-device-class') or disk['type'], 'db_dev': v.get('db_dev'),
                    'wal_dev': v.get('wal_dev'), 'encrypted': bool(v.get('encrypted')), 'bytes_used': 0}
                ids.append(osdid)
            disk['used'] = 'LVM'
            disk['osdid-list'] = ids
            disk['osdid'] = ids[0]
            for kind in ('db_dev', 'wal_dev'):
                if v.get(kind):
                    other = self._disk(node, v[kind])
                    other['used'] = 'LVM'
                    other['osd_db'] = True
        name = dev.replace('/dev/', '')
        return await self._ceph_task(node, 'cephcreateosd', name, user, body)

    async def _cx_osd_delete(self, v, user):
        state = self._rados()
        osdid = int(v['osdid'])
        osd = state['osds'].get(osdid)
        if osd is not None and osd['host'] != v['node']:
            raise die('OSD osd.{0} does not belong to node {1}!'.format(osdid, v['node']))
        osd = self._osd(osdid)
        if osd['in']:
            raise die('osd is in use (in == 1)')
        if osd['up']:
            raise die('osd is still running (up == 1)')

        async def body():
            del state['osds'][osdid]
            disk = self._disk(osd['host'], osd['dev'])
            if disk is not None:
                left = [i for i in disk.get('osdid-list', []) if i != osdid]
                disk['osdid-list'] = left
                disk['osdid'] = left[0] if left else -1
                if not left and v.get('cleanup'):
                    for key in ('used', 'osdid', 'osdid-list'):
                        disk.pop(key, None)
        return await self._ceph_task(v['node'], 'cephdestroyosd', 'osd.{0}'.format(osdid), user, body)

    async def _cx_osd_in(self, v, user):
        self._osd(v['osdid'])['in'] = True

    async def _cx_osd_out(self, v, user):
        self._osd(v['osdid'])['out_since'] = time.time()
        self._osd(v['osdid'])['in'] = False

    async def _cx_osd_scrub(self, v, user):
        self._osd(v['osdid'])
        self.cephx['scrubs'].append((int(v['osdid']), bool(v.get('deep'))))

    async def _cx_service(self, v, user, up, ttype):
        service = v.get('service') or 'ceph.target'
        if self.cephx is None:
            raise die('no configuration')
        state = self.cephx

        async def body():
            if service.startswith('osd.'):
                osd = state['osds'].get(int(service[4:]))
                if osd is not None and osd['host'] == v['node']:
                    osd['up'] = up
        return await self._ceph_task(v['node'], ttype, service, user, body)

    async def _cx_stop(self, v, user):
        return await self._cx_service(v, user, False, 'srvstop')

    async def _cx_start(self, v, user):
        return await self._cx_service(v, user, True, 'srvstart')

    # ---------------------------------------------------------------- disks

    async def _cx_disks(self, v, user):
        out = []
        for disk in self.ceph_disks(v['node']):
            item = {'devpath': disk['devpath'], 'size': disk['size'], 'type': disk['type'], 'model': disk['model'],
                    'serial': 'LAB' + disk['devpath'].rsplit('/', 1)[-1].upper(), 'vendor': 'LAB', 'health': 'PASSED',
                    'gpt': disk.get('gpt', 0), 'rpm': disk.get('rpm', 0), 'wwn': 'unknown', 'wearout': 100,
                    'by_id_link': '/dev/disk/by-id/lab-' + disk['devpath'].rsplit('/', 1)[-1],
                    'osdid': disk.get('osdid', -1), 'osdid-list': disk.get('osdid-list')}
            if disk.get('used'):
                item['used'] = disk['used']
            if item['osdid-list'] is None:
                del item['osdid-list']
            wanted = v.get('type')
            if wanted == 'unused' and disk.get('used'):
                continue
            if wanted == 'journal_disks' and disk.get('used') and not disk.get('osd_db'):
                continue
            out.append(item)
        return out
