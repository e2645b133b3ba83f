# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply benchmark: a cluster's export applied back, through the per-item playbook and through pve_apply.

    python -m benchmarks.apply_bench [--guests 500] [--rules 200] [--storages 20] [--latency 0 0.02]
                                     [--pve-version 9.0.10] [--out FILE] [--json FILE]

Run it from the repository root (it starts the lab of tests/lab in its own process). The lab serves one PVE cluster
of three nodes with --guests guests (VMs and containers); the benchmark adds --storages directory storages, SDN
zones (one per four vnets) and vnets, security groups and firewall rules (--rules in all: half in security groups,
half at guest level), HA resources for one guest in ten and a backup job per storage. It exports the cluster
with pve_export into one file per area (what playbooks/export.yml writes), then, at each --latency (real seconds the
lab adds to every answer), for each way of applying:

- a no-change run with --check --diff;
- a real run after 20 changes made through the API, scattered over the areas (the changes are made again before
  each way, so both see the same drift).

The two ways: `per-item` is apply_export.yml as it was before pve_apply (benchmarks/apply_export_per_item.yml: one
task per module, one loop item per exported item, each module reading its own item); `pve_apply` is
playbooks/apply_export.yml today (one pve_apply task: one read per collection, then only the items that differ).
Both run as ansible-playbook with the same inventory and connection variables.

Measured: wall time, CPU time (user + system of ansible-playbook and every process it waited for), API requests
the lab answered (exact: the lab logs them), and the drift each reported (the items it changed, or would change):
the two must report exactly the same items. This is a measurement, not a test: nothing here asserts a time.
"""

import argparse
import json
import os
import sys
import tempfile

import proxmoxer
import yaml

from benchmarks._common import RequestLog, table, timed_cpu
from tests.lab.lab import Lab
from tests.lab.playbook import CALLBACK_DIR, collections_path

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PER_ITEM = os.path.join(REPO, 'benchmarks', 'apply_export_per_item.yml')
PVE_APPLY = os.path.join(REPO, 'playbooks', 'apply_export.yml')
WAYS = (('per-item', PER_ITEM), ('pve_apply', PVE_APPLY))
# The options that name an item of each module, to compare the drift the two ways report.
IDENTITY = {'pve_storage': ('storage',), 'pve_backup_job': ('id',), 'pve_ha_resource': ('sid',), 'pve_ha_rule': ('name',),
            'pve_ha_group': ('name',), 'pve_sdn_zone': ('zone',), 'pve_sdn_vnet': ('vnet',),
            'pve_sdn_subnet': ('vnet', 'cidr'), 'pve_firewall_alias': ('level', 'vmid', 'name'),
            'pve_firewall_ipset': ('level', 'vmid', 'name'), 'pve_firewall_group': ('name',),
            'pve_firewall_options': ('level', 'node', 'vmid', 'vnet'),
            'pve_firewall_rule': ('level', 'node', 'vmid', 'vnet'), 'pve_vm': ('vmid',), 'pve_lxc': ('vmid',)}

EXPORT_PLAY = '''
- name: Export the benchmark cluster
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Export
      proxfleet.proxmox.pve_export:
        api_host: "{{ pve_api_host }}"
        api_port: "{{ pve_api_port }}"
        api_token_id: "{{ pve_api_token_id }}"
        api_token_secret: "{{ pve_api_token_secret }}"
        ca_path: "{{ pve_ca_path }}"
      register: exported
    - name: One file per area, as playbooks/export.yml writes them
      ansible.builtin.copy:
        content: "{{ dict(item.value | zip(item.value | map('extract', exported.export))) | proxfleet.proxmox.export_yaml }}"
        dest: "{{ export_dir }}/{{ export_name }}/{{ item.key }}.yml"
        mode: "0600"
      loop: "{{ areas | dict2items }}"
'''
AREAS = {'storage': ['pve_storage'], 'backup': ['pve_backup_job'], 'ha': ['pve_ha_group', 'pve_ha_resource', 'pve_ha_rule'],
         'sdn': ['pve_sdn_zone', 'pve_sdn_vnet', 'pve_sdn_subnet'],
         'firewall': ['pve_firewall_alias', 'pve_firewall_ipset', 'pve_firewall_group', 'pve_firewall_options',
                      'pve_firewall_rule'],
         'guests': ['pve_vm', 'pve_lxc']}


def api_of(cluster):
    user, token = cluster.token_id.split('!')
    return proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, user=user, token_name=token,
                                token_value=cluster.token_secret, verify_ssl=cluster.ca_path)


def build(cluster, storages, rules):
    """The estate around the lab's guests: storages, backup jobs, SDN, security groups, firewall rules, HA."""
    api = api_of(cluster)
    vms = sorted(vm.vmid for vm in cluster.pve.vms)
    guests = sorted((g.vmid, g.node, 'qemu' if g in cluster.pve.vms else 'lxc')
                    for g in list(cluster.pve.vms) + list(cluster.pve.cts))
    for index in range(storages):
        api.storage.post(storage='bench-{0:02d}'.format(index), type='dir', path='/srv/bench-{0:02d}'.format(index),
                         content='backup,images', **{'prune-backups': 'keep-last=3'})
        api.cluster.backup.post(id='bench-job-{0:02d}'.format(index), schedule='0{0}:00'.format(index % 10),
                                storage='bench-{0:02d}'.format(index), vmid=str(vms[index % len(vms)]), mode='snapshot',
                                enabled=1)
    vnets = max(4, storages // 2)
    for zone in range((vnets + 3) // 4):
        api.cluster.sdn.zones.post(zone='bz{0}'.format(zone), type='vlan', bridge='vmbr0')
    for index in range(vnets):
        api.cluster.sdn.vnets.post(vnet='bv{0}'.format(index), zone='bz{0}'.format(index // 4), tag=100 + index)
    api.cluster.sdn.put()
    groups = max(1, rules // 20)
    in_groups = rules // 2
    for group in range(groups):
        api.cluster.firewall.groups.post(group='bg{0}'.format(group), comment='bench group')
    for index in range(in_groups):
        api.cluster.firewall.groups('bg{0}'.format(index % groups)).post(
            type='in', action='ACCEPT', proto='tcp', dport=str(1000 + index), enable=1)
    for index in range(rules - in_groups):
        vmid, node, kind = guests[index % len(guests)]
        level = getattr(api.nodes(node), kind)(vmid).firewall
        level.rules.post(type='in', action='ACCEPT', proto='tcp', dport=str(2000 + index), enable=1,
                         comment='[id=b{0}]'.format(index))
    for vmid in vms[::10]:
        api.cluster.ha.resources.post(sid='vm:{0}'.format(vmid), state='started', max_restart=1)
    return vms, guests


def change(cluster, vms, guests, storages, count=20):
    """count changes through the API, scattered over the areas (the same ones each time)."""
    api = api_of(cluster)
    changes = []
    for index in range(count):
        kind = index % 5
        if kind == 0:
            vmid = vms[(index * 7) % len(vms)]
            node = cluster.pve.vm(vmid).node
            api.nodes(node).qemu(vmid).config.put(cores=7)
        elif kind == 1:
            api.storage('bench-{0:02d}'.format(index % storages)).put(content='backup')
        elif kind == 2:
            api.cluster.backup('bench-job-{0:02d}'.format(index % storages)).put(schedule='23:{0:02d}'.format(index))
        elif kind == 3:
            api.cluster.sdn.vnets('bv{0}'.format(index % 4)).put(alias='changed{0}'.format(index))
            api.cluster.sdn.put()
        else:
            ha = vms[::10]
            api.cluster.ha.resources('vm:{0}'.format(ha[(index // 5) % len(ha)])).put(max_restart=3)
        changes.append(kind)
    return changes


def drift(report):
    """{(module, identity)} the run reported as changed, from either way's results."""
    out = set()
    for entry in report.get('tasks', []):
        result = entry['result']
        module = entry['action'].rsplit('.', 1)[-1]
        if module == 'pve_apply':
            for op in result.get('operations', []):
                if op['status'] in ('planned', 'done'):
                    out.add((op['module'], tuple(sorted((k, str(v)) for k, v in op['id'].items()
                                                        if k in IDENTITY[op['module']]))))
        elif module in IDENTITY:
            for item in result.get('results', []):
                if item.get('changed'):
                    out.add((module, tuple(sorted((k, str(v)) for k, v in item['item'].items()
                                                  if k in IDENTITY[module]))))
    return out


def run_way(playbook, work, inventory, log, check):
    report_file = os.path.join(work, 'report.json')
    if os.path.exists(report_file):
        os.remove(report_file)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_CALLBACK_PLUGINS=CALLBACK_DIR,
               ANSIBLE_CALLBACKS_ENABLED='lab_results', PROXFLEET_LAB_RESULTS=report_file, ANSIBLE_NOCOLOR='1',
               ANSIBLE_PIPELINING='1', ANSIBLE_HOME=os.path.join(work, 'home'), ANSIBLE_LOCALHOST_WARNING='0')
    args = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, playbook,
            '-e', '@' + os.path.join(work, 'vars.json')]
    if check:
        args += ['--check', '--diff']
    log.mark()
    proc, wall, cpu = timed_cpu(args, env, cwd=work)
    requests = log.count()
    if proc.returncode != 0:
        raise SystemExit('{0} failed:\n{1}\n{2}'.format(playbook, proc.stdout[-4000:], proc.stderr[-2000:]))
    with open(report_file, encoding='utf-8') as handle:
        report = json.load(handle)
    return {'wall': wall, 'cpu': cpu, 'requests': requests, 'drift': drift(report)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--guests', type=int, default=500)
    parser.add_argument('--rules', type=int, default=200)
    parser.add_argument('--storages', type=int, default=20)
    parser.add_argument('--changes', type=int, default=20)
    parser.add_argument('--latency', type=float, nargs='+', default=[0.0, 0.02])
    parser.add_argument('--pve-version', default='9.0.10')
    parser.add_argument('--out')
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    rows, raw = [], []
    with tempfile.TemporaryDirectory(prefix='apply-bench-') as work:
        with Lab(os.path.join(work, 'lab'), clusters=1, nodes=3, guests=args.guests, versions=[args.pve_version],
                 pbs=False) as lab:
            cluster = lab.clusters[0]
            log = RequestLog(lab)
            vms, guests = build(cluster, args.storages, args.rules)
            connection = {'pve_api_host': cluster.host, 'pve_api_port': cluster.port,
                          'pve_api_token_id': cluster.token_id, 'pve_api_token_secret': cluster.token_secret,
                          'pve_ca_path': cluster.ca_path, 'export_dir': os.path.join(work, 'export'),
                          'export_name': cluster.name, 'export_hosts': 'all', 'areas': AREAS}
            inventory = os.path.join(work, 'inventory.yml')
            with open(inventory, 'w', encoding='utf-8') as handle:
                yaml.safe_dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                                'ansible_python_interpreter': sys.executable}}}},
                               handle)
            with open(os.path.join(work, 'vars.json'), 'w', encoding='utf-8') as handle:
                json.dump(connection, handle)
            play = os.path.join(work, 'export.yml')
            with open(play, 'w', encoding='utf-8') as handle:
                handle.write(EXPORT_PLAY)
            os.makedirs(os.path.join(work, 'export', cluster.name))
            exported = run_way(play, work, inventory, log, check=False)
            print('exported: {0} requests, {1:.1f} s'.format(exported['requests'], exported['wall']), flush=True)
            for latency in args.latency:
                cluster.pve.real_latency = latency
                for scenario, check in (('no change, --check --diff', True),
                                        ('{0} changes, real apply'.format(args.changes), False)):
                    results = {}
                    for way, playbook in WAYS:
                        if not check:
                            change(cluster, vms, guests, args.storages, args.changes)
                        results[way] = run_way(playbook, work, inventory, log, check)
                        print('{0} ms, {1}, {2}: {3:.1f} s wall, {4:.1f} s CPU, {5} requests, {6} items'.format(
                            latency * 1000, scenario, way, results[way]['wall'], results[way]['cpu'],
                            results[way]['requests'], len(results[way]['drift'])), flush=True)
                    same = results['per-item']['drift'] == results['pve_apply']['drift']
                    for way, _playbook in WAYS:
                        got = results[way]
                        rows.append(['{0:g}'.format(latency * 1000), scenario, way, '{0:.1f}'.format(got['wall']),
                                     '{0:.1f}'.format(got['cpu']), got['requests'], len(got['drift']),
                                     'yes' if same else 'NO'])
                        raw.append({'latency_ms': latency * 1000, 'scenario': scenario, 'way': way,
                                    'wall': got['wall'], 'cpu': got['cpu'], 'requests': got['requests'],
                                    'drift': sorted(map(list, got['drift']))})
                    ratio = results['per-item']['wall'] / max(results['pve_apply']['wall'], 1e-9)
                    cpu_ratio = results['per-item']['cpu'] / max(results['pve_apply']['cpu'], 1e-9)
                    rows.append(['{0:g}'.format(latency * 1000), scenario, 'per-item / pve_apply',
                                 '{0:.1f}x'.format(ratio), '{0:.1f}x'.format(cpu_ratio), '', '', ''])
                cluster.pve.real_latency = 0.0
            collections = len(cluster.pve.vms) + len(cluster.pve.cts)
    header = ['latency (ms)', 'run', 'way', 'wall (s)', 'CPU (s)', 'API requests', 'items reported', 'same drift']
    text = table(header, rows)
    summary = ('{0} guests, {1} firewall rules, {2} storages, one cluster of 3 nodes (PVE {3}); {4} changes.'.format(
        collections, args.rules, args.storages, args.pve_version, args.changes))
    print(summary)
    print(text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            handle.write(summary + '\n\n' + text + '\n')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(raw, handle, indent=1)


if __name__ == '__main__':
    main()
