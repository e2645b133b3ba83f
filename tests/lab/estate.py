# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate: several PVE clusters, each on its own loopback address on port 8006, under one CA.

    estate = Estate(directory, clusters=2, nodes=3, guests=20)
    await estate.start()      # every cluster listens; estate.vars describes them
    ...
    await estate.stop()

LabThread serves an estate on its own event loop in a daemon thread (the pytest fixtures use it).
"""

import asyncio
import json
import os
import random
import secrets
import threading

from .pki import LabCa, serve_certified
from .pve import LabPve

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORT = 8006
VERSION_9 = '9.0.10'
VERSION_8 = '8.4.14'
TOKEN_NAME = 'lab'
USER = 'root@pam'
START_TIMEOUT = 60
ROLES = (('web', 2048, 2, '32G'), ('db', 8192, 4, '100G'), ('app', 4096, 2, '48G'), ('cache', 2048, 1, '16G'),
         ('mon', 1024, 1, '20G'), ('ci', 4096, 4, '64G'), ('mail', 2048, 2, '40G'), ('dns', 512, 1, '8G'))
ENVS = ('prod', 'staging', 'dev')
CT_ROLES = (('proxy', 512, 1, '8G'), ('ns', 256, 1, '4G'), ('log', 1024, 2, '16G'), ('vpn', 512, 1, '4G'))


def default_versions(count):
    """PVE 9 everywhere, but the second cluster runs 8.4 so both are exercised."""
    return [VERSION_8 if idx == 1 else VERSION_9 for idx in range(count)]


def random_hosts():
    """Endless loopback addresses 127.0.x.y away from the ones other tools pick by default."""
    rng = random.SystemRandom()
    while True:
        yield '127.0.{0}.{1}'.format(rng.randint(100, 254), rng.randint(2, 254))


def _mac(rng):
    return 'BC:24:11:{0:02X}:{1:02X}:{2:02X}'.format(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


class Cluster(object):
    """One cluster of the estate as clients see it; `pve` is the LabPve behind it."""

    def __init__(self, pve, ca_path, token_secret):
        self.pve = pve
        self.ca_path = ca_path
        self.token_id = '{0}!{1}'.format(USER, TOKEN_NAME)
        self.token_secret = token_secret
        self.fingerprint = None

    name = property(lambda self: self.pve.cluster_name)
    host = property(lambda self: self.pve.host)
    port = property(lambda self: self.pve.port)
    url = property(lambda self: 'https://{0}:{1}'.format(self.pve.host, self.pve.port))
    nodes = property(lambda self: sorted(self.pve.nodes))
    version = property(lambda self: self.pve.version)
    user = property(lambda self: self.pve.user)
    password = property(lambda self: self.pve.password)

    @property
    def vars(self):
        """The cluster as lab_vars.yml lists it."""
        return {'name': self.name, 'api_host': self.host, 'api_port': self.port, 'url': self.url,
                'nodes': self.nodes, 'version': self.version, 'release': self.pve.release_version,
                'user': self.user, 'password': self.password, 'token_id': self.token_id,
                'token_name': TOKEN_NAME, 'token_secret': self.token_secret, 'ca_path': self.ca_path,
                'fingerprint': self.fingerprint}

    def __repr__(self):
        return '<lab cluster {0} {1} PVE {2}>'.format(self.name, self.url, self.version)


class Estate(object):
    """Clusters `lab1`, `lab2`, ... with nodes `lab1-n1`, ..., guests spread over them, one CA."""

    def __init__(self, directory, clusters=2, nodes=3, guests=20, latency=0.0, time_scale=0.0, versions=None,
                 hosts=None, seed=0, password=None, pbs=True):
        if clusters < 1 or nodes < 1 or guests < 0:
            raise ValueError('an estate needs a cluster, a node per cluster and no negative guest count')
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        versions = list(versions or default_versions(clusters))
        if len(versions) < clusters:
            versions += [VERSION_9] * (clusters - len(versions))
        self.ca = LabCa(self.directory)
        self.hosts = hosts
        # The estate's Proxmox Backup Server (tests/lab/pbs), on its own loopback address, port 8007.
        self.pbs = None
        if pbs:
            from .pbs.serve import PbsInstance  # late: the PBS fake reuses this module's loopback and thread helpers
            self.pbs = PbsInstance(self.ca)
        self.clusters = []
        for idx in range(clusters):
            name = 'lab{0}'.format(idx + 1)
            pve = LabPve(name=name, nodes=['{0}-n{1}'.format(name, n + 1) for n in range(nodes)],
                         version=versions[idx], user=USER, password=password or secrets.token_urlsafe(12),
                         host='127.0.0.1', port=PORT)
            pve.time_scale = time_scale
            pve.real_latency = latency
            self._add_storages(pve)
            secret = pve.add_token(USER, TOKEN_NAME, privsep=0, comment='proxfleet lab')
            self.clusters.append(Cluster(pve, self.ca.path, secret))
        self._add_guests(guests, random.Random(seed))

    # -------------------------------------------------------------- content

    @staticmethod
    def _add_storages(pve):
        """fakepve's local and local-lvm, and a shared NFS storage for backups."""
        pve.storages['nfs-backup'] = {'type': 'nfs', 'server': '192.0.2.50', 'export': '/export/pve-backup',
                                      'path': '/mnt/pve/nfs-backup', 'content': 'backup', 'shared': 1,
                                      'prune-backups': 'keep-last=7', 'active': 1, 'files': set(), 'volumes': {},
                                      'avail': 2 * 1024 ** 4}

    def _add_guests(self, count, rng):
        """Guests 100, 101, ... round-robin over the clusters, then over each cluster's nodes.

        Every fourth is a container; every fifth runs; names, tags and sizes follow a role.
        """
        placed = [0] * len(self.clusters)
        for k in range(count):
            cidx = k % len(self.clusters)
            cluster = self.clusters[cidx]
            node = cluster.nodes[placed[cidx] % len(cluster.nodes)]
            placed[cidx] += 1
            vmid = 100 + k
            env = ENVS[k % len(ENVS)]
            status = 'running' if k % 5 == 0 else 'stopped'
            if k % 4 == 3:
                role, memory, cores, size = CT_ROLES[(k // 4) % len(CT_ROLES)]
                name = '{0}-{1:02d}'.format(role, k + 1)
                config = {'hostname': name, 'memory': memory, 'swap': 512, 'cores': cores, 'ostype': 'debian',
                          'arch': 'amd64', 'unprivileged': 1, 'onboot': 1 if env == 'prod' else 0,
                          'rootfs': 'local-lvm:vm-{0}-disk-0,size={1}'.format(vmid, size),
                          'net0': 'name=eth0,bridge=vmbr0,firewall=1,hwaddr={0},ip=dhcp,type=veth'.format(_mac(rng)),
                          'tags': '{0};{1}'.format(env, role), 'features': 'nesting=1',
                          'description': 'lab container {0}'.format(name)}
                cluster.pve.add_ct(vmid, name, node=node, status=status, config=config,
                                   ostemplate='local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst')
                continue
            role, memory, cores, size = ROLES[k % len(ROLES)]
            name = '{0}-{1:02d}'.format(role, k + 1)
            config = {'name': name, 'memory': str(memory), 'cores': cores, 'sockets': 1, 'cpu': 'x86-64-v2-AES',
                      'ostype': 'l26', 'scsihw': 'virtio-scsi-single', 'agent': '1', 'numa': 0,
                      'scsi0': 'local-lvm:vm-{0}-disk-0,iothread=1,size={1}'.format(vmid, size),
                      'ide2': 'none,media=cdrom', 'boot': 'order=scsi0;ide2;net0',
                      'net0': 'virtio={0},bridge=vmbr0,firewall=1'.format(_mac(rng)),
                      'tags': '{0};{1}'.format(env, role), 'onboot': 1 if env == 'prod' else 0,
                      'smbios1': 'uuid={0:08x}-{1:04x}-4{2:03x}-8{3:03x}-{4:012x}'.format(
                          rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12),
                          rng.getrandbits(48)),
                      'vmgenid': '{0:08x}-{1:04x}-4{2:03x}-9{3:03x}-{4:012x}'.format(
                          rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12),
                          rng.getrandbits(48)),
                      'meta': 'creation-qemu=9.2.0,ctime={0}'.format(1767225600 + k * 3600)}
            if k % 3 == 0:
                # A static address from cloud-init, as an inventory reads it (TEST-NET-2: never routed).
                config['ipconfig0'] = 'ip=198.51.100.{0}/24,gw=198.51.100.1'.format(k + 10)
            vm = cluster.pve.add_vm(vmid, name, node=node, status=status, config=config)
            if status == 'running':
                # A guest agent that reports its interfaces (TEST-NET-3 addresses).
                vm.agent = {'interfaces': [
                    {'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
                     'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8}]},
                    {'name': 'eth0', 'hardware-address': config['net0'].split(',')[0].split('=')[1].lower(),
                     'ip-addresses': [{'ip-address': '203.0.113.{0}'.format(k + 10), 'ip-address-type': 'ipv4', 'prefix': 24},
                                      {'ip-address': 'fe80::be24:11ff:fe00:{0:x}'.format(k), 'ip-address-type': 'ipv6',
                                       'prefix': 64}]}]}

    # ------------------------------------------------------------ lifecycle

    async def start(self):
        """Listen with every cluster on its own loopback address, port 8006."""
        hosts = iter(self.hosts) if self.hosts else random_hosts()
        try:
            for cluster in self.clusters:
                await self._bind(cluster, hosts)
            if self.pbs is not None:
                await self.pbs.start()
        except BaseException:
            await self.stop()
            raise

    async def _bind(self, cluster, hosts):
        cluster.fingerprint, cluster.pve.certificate_pem = await serve_certified(
            cluster.pve, self.ca, cluster.name, hosts, cluster.nodes)
        with open(self.ca.path, encoding='ascii') as handle:
            cluster.pve.ca_pem = handle.read()

    async def stop(self):
        """Stop every cluster; tasks still running are left behind with their loop."""
        for cluster in self.clusters:
            await cluster.pve.stop()
        if self.pbs is not None:
            await self.pbs.stop()

    # ----------------------------------------------------------- description

    @property
    def ca_path(self):
        return self.ca.path

    @property
    def vars(self):
        """What lab_vars.yml holds: lab_clusters (a list), lab_cluster (by name), lab_ca_path."""
        clusters = [c.vars for c in self.clusters]
        result = {'lab_clusters': clusters, 'lab_cluster': dict((c['name'], c) for c in clusters),
                  'lab_ca_path': self.ca.path}
        if self.pbs is not None:
            result['lab_pbs'] = self.pbs.vars
        return result

    def write(self, extra=None):
        """Write lab.json and lab_vars.yml into the estate's directory; returns the lab.json path."""
        import yaml
        data = {'directory': self.directory, 'ca_path': self.ca.path, 'clusters': [c.vars for c in self.clusters],
                'pbs': self.pbs.vars if self.pbs is not None else None, 'vars': self.vars}
        data.update(extra or {})
        vars_path = os.path.join(self.directory, 'lab_vars.yml')
        _write_private(vars_path, '# The proxfleet lab estate (tests/lab); secrets for loopback servers only.\n'
                       + yaml.dump(self.vars, Dumper=_no_aliases_dumper(), default_flow_style=False, sort_keys=False))
        path = os.path.join(self.directory, 'lab.json')
        _write_private(path, json.dumps(data, indent=2, sort_keys=True) + '\n')
        return path


def _no_aliases_dumper():
    import yaml

    class NoAliases(yaml.SafeDumper):
        """A YAML dumper that writes shared objects out each time instead of as anchors."""

        def ignore_aliases(self, data):
            return True
    return NoAliases


def _write_private(path, text):
    """Write a file readable by its owner only, atomically."""
    tmp = path + '.tmp'
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as out:
        out.write(text)
    os.replace(tmp, path)


class LabThread(object):
    """An estate served on a private event loop in a daemon thread."""

    def __init__(self, estate):
        self.estate = estate
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name='proxfleet-lab', daemon=True)
        self.thread.start()
        try:
            self.call(estate.start(), START_TIMEOUT)
        except BaseException:
            self._halt()
            raise

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro, timeout=START_TIMEOUT):
        """Run a coroutine on the estate's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _halt(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(START_TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()

    def stop(self):
        """Stop the servers and the loop's thread."""
        if self.loop.is_closed():
            return
        try:
            self.call(self.estate.stop())
        finally:
            self._halt()
