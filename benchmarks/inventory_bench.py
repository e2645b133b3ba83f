# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory benchmark: proxfleet.proxmox.proxmox against the lab, side by side with community.proxmox's inventory.

    python -m benchmarks.inventory_bench [--clusters 4] [--guests 2000] [--latency 0.02] [--peer DIR] [--out FILE]

The lab serves --clusters clusters holding --guests guests in all (one in five running, with a guest agent).
Each scenario runs `ansible-inventory --list` once and reports the API requests the lab answered and the wall time.
--peer names a collections directory holding ansible_collections/community/proxmox (for instance unpacked from the
`ansible` wheel on PyPI); community.proxmox's plugin takes one cluster per source, so it gets one source per cluster,
with want_facts on (its address and config facts). This is a measurement, not a test: nothing here asserts a time.
"""

import argparse
import json
import os
import sys
import tempfile

from benchmarks._common import BIN, RequestLog, timed
from tests.lab.lab import Lab
from tests.lab.playbook import collections_path


def ours(lab, directory, address_order, cache):
    lines = ['plugin: proxfleet.proxmox.proxmox', 'clusters:']
    for cluster in lab.clusters:
        lines += ['  - name: {0}'.format(cluster.name), '    api_host: {0}'.format(cluster.host),
                  '    api_token_id: "{0}"'.format(cluster.token_id), '    api_token_secret: "{0}"'.format(cluster.token_secret),
                  '    ca_path: {0}'.format(cluster.ca_path)]
    lines.append('address_order: [{0}]'.format(', '.join(address_order)))
    if cache:
        lines += ['cache: true', 'cache_plugin: ansible.builtin.jsonfile',
                  'cache_connection: {0}'.format(os.path.join(directory, 'cache')), 'cache_timeout: 3600']
    path = os.path.join(directory, '{0}{1}.proxmox.yml'.format('-'.join(address_order), '-cached' if cache else ''))
    with open(path, 'w', encoding='utf-8') as out:
        out.write('\n'.join(lines) + '\n')
    return [path]


def peer(lab, directory, want_facts):
    paths = []
    for cluster in lab.clusters:
        user, _sep, name = cluster.token_id.partition('!')
        path = os.path.join(directory, '{0}.proxmox.yml'.format(cluster.name))
        with open(path, 'w', encoding='utf-8') as out:
            out.write('\n'.join([
                'plugin: community.proxmox.proxmox', 'url: {0}'.format(cluster.url), 'user: {0}'.format(user),
                'token_id: {0}'.format(name), 'token_secret: {0}'.format(cluster.token_secret),
                'validate_certs: true', 'want_facts: {0}'.format('true' if want_facts else 'false'),
                'group_prefix: {0}_'.format(cluster.name), '']))
        paths.append(path)
    return paths


def measure(lab, sources, env):
    log = RequestLog(lab)
    args = [os.path.join(BIN, 'ansible-inventory'), '--list']
    for source in sources:
        args += ['-i', source]
    proc, wall = timed(args, env)
    if proc.returncode != 0:
        raise SystemExit('ansible-inventory failed:\n' + proc.stderr[-3000:])
    hosts = len(json.loads(proc.stdout).get('_meta', {}).get('hostvars', {}))
    return {'requests': log.count(), 'wall': wall, 'hosts': hosts}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.inventory_bench', description=__doc__.splitlines()[0])
    parser.add_argument('--clusters', type=int, default=4)
    parser.add_argument('--guests', type=int, default=2000)
    parser.add_argument('--latency', type=float, nargs='*', default=[0.0, 0.02], help='real seconds added per request')
    parser.add_argument('--peer', help='collections dir with ansible_collections/community/proxmox')
    parser.add_argument('--out', help='write the markdown table here too')
    args = parser.parse_args(argv)
    rows = []
    for latency in args.latency:
        with tempfile.TemporaryDirectory(prefix='inv-bench-') as directory:
            lab = Lab(directory, clusters=args.clusters, nodes=3, guests=args.guests, latency=latency)
            try:
                for cluster in lab.clusters:
                    cluster.pve.max_requests = 10 ** 7
                paths = collections_path() + (os.pathsep + args.peer if args.peer else '')
                env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=paths, REQUESTS_CA_BUNDLE=lab.ca_path,
                           ANSIBLE_HOME=os.path.join(directory, 'home'))
                scenarios = [
                    ('proxfleet, names only, cold', ours(lab, directory, ['name'], cache=False)),
                    ('proxfleet, agent addresses, cold', ours(lab, directory, ['agent', 'name'], cache=False)),
                    ('proxfleet, config + agent addresses, cold', ours(lab, directory, ['config', 'agent', 'name'], cache=False)),
                ]
                for label, sources in scenarios:
                    rows.append((latency, label, measure(lab, sources, env)))
                cached = ours(lab, directory, ['agent', 'name'], cache=True)
                measure(lab, cached, env)
                rows.append((latency, 'proxfleet, agent addresses, cached', measure(lab, cached, env)))
                if args.peer:
                    rows.append((latency, 'community.proxmox, facts off (one source per cluster)',
                                 measure(lab, peer(lab, directory, False), env)))
                    rows.append((latency, 'community.proxmox, facts on (one source per cluster)',
                                 measure(lab, peer(lab, directory, True), env)))
            finally:
                lab.stop()
    table = ['| latency | scenario | hosts | API requests | wall time |', '| --- | --- | --- | --- | --- |']
    for latency, label, result in rows:
        cells = (latency * 1000, label, result['hosts'], result['requests'], result['wall'])
        table.append('| {0:g} ms | {1} | {2} | {3} | {4:.1f} s |'.format(*cells))
    text = '\n'.join(table)
    print('{0} clusters, {1} guests\n\n{2}'.format(args.clusters, args.guests, text))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as out:
            out.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
