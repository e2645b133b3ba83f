# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM benchmark: a no-change run of pve_vm over existing VMs, side by side with community.proxmox's proxmox_kvm.

    python -m benchmarks.vm_bench [--vms 50] [--nodes 3] [--runs 3] [--latency 0 0.02] [--peer-venv DIR]
                                 [--pve-version 9.0.10] [--out FILE] [--json FILE]
    python -m benchmarks.vm_bench --speed [--vms 50] [--rounds 5] [--peer-venv DIR] [--baseline REF] [--out FILE]
                                 [--json FILE]

Run it from the repository root (it starts the lab of tests/lab in its own process). The lab serves one PVE cluster
(9.0.10 unless --pve-version). The benchmark makes --vms VMs with a full configuration (CPU, memory, balloon, NUMA,
BIOS, boot order, agent, start at boot and startup order, display, a serial port, notes, tags, two SCSI disks with
drive options, a cloud-init drive, a NIC with a VLAN tag and the firewall, cloud-init user, password, SSH key, static
address, DNS server and search domain) with pve_vm and `state: started`, one task looping over the VMs. Then, at
each --latency (real seconds the lab adds to every answer), it runs --runs rounds of no-change runs, each scenario
once per round in turn, and counts every API request the lab answers (exact: the lab logs them) by method and path.

With --peer-venv, community.proxmox's proxmox_kvm does the same on the same VMs, from its own virtualenv:

    python3.11 -m venv .cache/peer-venv
    .cache/peer-venv/bin/pip install ansible==12.3.0 proxmoxer==2.3.0 requests==2.34.2

(`ansible` 12.3.0 carries community.proxmox 1.4.0 and ansible-core 2.19; proxmox_kvm needs proxmoxer and requests,
which `ansible` does not pull in.) proxmox_kvm converges a configuration only with `state: present` and
`update: true`, and with `state: started` acts on the power state alone, so it runs in two ways: its `state: started`
with the same configuration (one task per VM), and `state: present` + `update: true` followed by `state: started`
(two tasks per VM, the way to converge the configuration and the power state with it). It converges once before
its runs are measured, and pve_vm runs once right after it, to show whether the peer's writes left the VMs as
pve_vm's options describe them.

This is a measurement, not a test: nothing here asserts a time. The wall time of a run is the whole
ansible-playbook (start-up included) over every VM; its CPU time is the user + system time of ansible-playbook and
every process it waited for (the modules), which a busy machine stretches far less. Medians of --runs runs.

--speed measures the cost of a run itself: --vms VMs made by pve_vm with `cores: 2`, `memory: 2048` and
`state: present`; then --rounds rounds in which each of these runs once over them, in an order that turns every
round: the same pve_vm task (nothing to change: it reads and compares the configuration), proxmox_kvm with the same
options (with `state: present` and no `update` it only checks that the VM exists), and ansible.builtin.ping looping
over the same items, in each virtualenv (Ansible's own floor: a module run that makes no request). These runs have
no results callback (what a user's run has). The report gives each scenario's CPU and wall time (median, lowest,
highest) and the ratios of each round's pair, pve_vm / proxmox_kvm first; CPU time is the measure to read on a
shared machine. With --baseline REF (a git commit or branch of this repository, e.g. main), the same pve_vm task
runs in every round from that commit's collection too (extracted with `git archive`), so a change is measured before
and after side by side, under the same load.
"""

import argparse
import json
import os
import re
import sys
import tempfile

from benchmarks._common import BIN, RequestLog, by_kind, median, table, timed_cpu
from tests.lab.lab import Lab
from tests.lab.playbook import CALLBACK_DIR, collections_path

FIRST_VMID = 2000
SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@example.com'
ENVS = ('prod', 'staging', 'dev')
OURS = 'pve_vm, state: started'
PEER_STARTED = 'proxmox_kvm, state: started'
PEER_UPDATE = 'proxmox_kvm, state: present + update: true, then state: started'
# --speed: a no-change pve_vm that converges cores and memory, beside proxmox_kvm checking existence only and
# ansible.builtin.ping (Ansible's own floor: a task that makes no request), on VMs of their own.
SPEED_FIRST_VMID = 3000
SPEED_OURS = 'pve_vm, state: present, cores and memory'
SPEED_PEER = 'proxmox_kvm, state: present (existence only)'
FLOOR = 'ansible.builtin.ping (the floor)'
FLOOR_PEER = "ansible.builtin.ping, the peer's virtualenv"
SPEED_BASE = 'pve_vm at the baseline commit, the same task'
SPEED_LABELS = (SPEED_OURS, SPEED_PEER, FLOOR, FLOOR_PEER, SPEED_BASE)


# ---------------------------------------------------------------- what the VMs are

def vm_specs(cluster, count, first=FIRST_VMID):
    """The VMs: vmid, name, node and the values that differ between them (tag, address, notes)."""
    specs = []
    for idx in range(count):
        specs.append({'vmid': first + idx, 'name': 'bench-{0:03d}'.format(idx),
                      'node': cluster.nodes[idx % len(cluster.nodes)], 'env': ENVS[idx % len(ENVS)],
                      'vlan': 100 + idx % len(ENVS), 'ip': '198.51.100.{0}/24'.format(10 + idx % 240),
                      'description': 'benchmark VM {0}'.format(idx)})
    return specs


def ours_options():
    """pve_vm's options for one VM (`item` is its spec)."""
    return {
        'vmid': '{{ item.vmid }}', 'name': '{{ item.name }}', 'node': '{{ item.node }}', 'state': 'started',
        'description': '{{ item.description }}', 'tags': ['bench', '{{ item.env }}'],
        'cores': 2, 'sockets': 1, 'cpu': 'x86-64-v2-AES', 'memory': 2048, 'balloon': 1024, 'numa': True,
        'bios': 'seabios', 'ostype': 'l26', 'scsihw': 'virtio-scsi-single', 'boot': ['scsi0', 'net0'],
        'agent': 'enabled=1', 'onboot': True, 'startup': 'order=2,up=30', 'vga': 'std',
        'serial': {'serial0': 'socket'},
        'disks': [
            {'slot': 'scsi0', 'storage': 'local-lvm', 'size': '8G', 'iothread': True, 'discard': 'on', 'ssd': True},
            {'slot': 'scsi1', 'storage': 'local-lvm', 'size': '4G', 'iothread': True, 'backup': False},
            {'slot': 'ide2', 'storage': 'local-lvm', 'cloudinit': True},
        ],
        'nets': [{'slot': 'net0', 'model': 'virtio', 'bridge': 'vmbr0', 'firewall': True, 'tag': '{{ item.vlan }}'}],
        'ciuser': 'debian', 'cipassword': 'bench-not-a-secret', 'sshkeys': [SSH_KEY],
        'ipconfig': {'ipconfig0': 'ip={{ item.ip }},gw=198.51.100.1'},
        'nameserver': '192.0.2.53', 'searchdomain': 'bench.example',
    }


def peer_options(state):
    """proxmox_kvm's options for the same VM, as far as it has them (see the docs page for what differs)."""
    options = {
        'vmid': '{{ item.vmid }}', 'name': '{{ item.name }}', 'node': '{{ item.node }}', 'state': state,
        'description': '{{ item.description }}', 'tags': ['bench', '{{ item.env }}'],
        'cores': 2, 'sockets': 1, 'cpu': 'x86-64-v2-AES', 'memory': 2048, 'balloon': 1024, 'numa_enabled': True,
        'bios': 'seabios', 'ostype': 'l26', 'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0;net0',
        'agent': 'enabled=1', 'onboot': True, 'startup': 'order=2,up=30', 'vga': 'std',
        'serial': {'serial0': 'socket'},
        'scsi': {'scsi0': 'local-lvm:8,iothread=1,discard=on,ssd=1', 'scsi1': 'local-lvm:4,iothread=1,backup=0'},
        'ide': {'ide2': 'local-lvm:cloudinit'},
        'net': {'net0': 'virtio,bridge=vmbr0,firewall=1,tag={{ item.vlan }}'},
        'ciuser': 'debian', 'cipassword': 'bench-not-a-secret', 'sshkeys': SSH_KEY,
        'ipconfig': {'ipconfig0': 'ip={{ item.ip }},gw=198.51.100.1'},
        'nameservers': ['192.0.2.53'], 'searchdomains': ['bench.example'],
    }
    if state == 'present':
        options['update'] = True
    return options


def playbook(group, tasks):
    """A playbook (as data: JSON is YAML) whose tasks each loop over `vms`, with the connection as module_defaults."""
    return [{'name': 'VM benchmark', 'hosts': 'localhost', 'gather_facts': False,
             'module_defaults': {group: '{{ connection }}'},
             'tasks': [{'name': name, module: options, 'loop': '{{ vms }}', 'loop_control': {'label': '{{ item.vmid }}'}}
                       for name, module, options in tasks]}]


def scenarios(peer):
    """label -> (python, collections path, playbook data, tasks per VM)."""
    found = {OURS: ('ours', playbook('group/proxfleet.proxmox.proxmox',
                                     [('pve_vm', 'proxfleet.proxmox.pve_vm', ours_options())]), 1)}
    if peer:
        group = 'group/community.proxmox.proxmox'
        found[PEER_STARTED] = ('peer', playbook(group, [
            ('proxmox_kvm started', 'community.proxmox.proxmox_kvm', peer_options('started'))]), 1)
        found[PEER_UPDATE] = ('peer', playbook(group, [
            ('proxmox_kvm update', 'community.proxmox.proxmox_kvm', peer_options('present')),
            ('proxmox_kvm started', 'community.proxmox.proxmox_kvm',
             {'vmid': '{{ item.vmid }}', 'node': '{{ item.node }}', 'state': 'started'})]), 2)
    return found


def speed_scenarios(peer, baseline=None):
    """label -> (side, playbook data, tasks per VM) of --speed: the same few options for pve_vm and proxmox_kvm."""
    options = {'vmid': '{{ item.vmid }}', 'node': '{{ item.node }}', 'cores': 2, 'memory': 2048, 'state': 'present'}
    ours_group = 'group/proxfleet.proxmox.proxmox'
    found = {SPEED_OURS: ('ours', playbook(ours_group, [('pve_vm', 'proxfleet.proxmox.pve_vm', options)]), 1),
             FLOOR: ('ours', playbook(ours_group, [('ping', 'ansible.builtin.ping', {})]), 1)}
    if baseline:
        found[SPEED_BASE] = ('base', playbook(ours_group, [('pve_vm', 'proxfleet.proxmox.pve_vm', options)]), 1)
    if peer:
        group = 'group/community.proxmox.proxmox'
        found[SPEED_PEER] = ('peer', playbook(group, [('proxmox_kvm', 'community.proxmox.proxmox_kvm', options)]), 1)
        found[FLOOR_PEER] = ('peer', playbook(group, [('ping', 'ansible.builtin.ping', {})]), 1)
    return found


# ---------------------------------------------------------------- running a playbook

class Runner(object):
    """Runs the scenarios' playbooks against one lab cluster and counts what the lab answered."""

    def __init__(self, lab, directory, count, peer_venv=None, speed=False, baseline=None):
        self.lab = lab
        self.baseline = baseline
        self.cluster = lab.clusters[0]
        self.directory = directory
        self.specs = vm_specs(self.cluster, count, SPEED_FIRST_VMID if speed else FIRST_VMID)
        self.peer_venv = peer_venv
        self.log = RequestLog(lab)
        self.scenarios = speed_scenarios(peer_venv, baseline) if speed else scenarios(peer_venv)
        self.serial = 0
        cluster = self.cluster
        user, _sep, token = cluster.token_id.partition('!')
        self.connection = {
            'ours': {'api_host': cluster.host, 'api_port': cluster.port, 'api_token_id': cluster.token_id,
                     'api_token_secret': cluster.token_secret, 'ca_path': cluster.ca_path},
            # proxmox_kvm has no CA option: requests takes the lab's CA from REQUESTS_CA_BUNDLE.
            'base': {'api_host': cluster.host, 'api_port': cluster.port, 'api_token_id': cluster.token_id,
                     'api_token_secret': cluster.token_secret, 'ca_path': cluster.ca_path},
            'peer': {'api_host': cluster.host, 'api_port': cluster.port, 'api_user': user, 'api_token_id': token,
                     'api_token_secret': cluster.token_secret, 'validate_certs': True},
        }

    def environment(self, side, report):
        """The run's environment; with report None, no results callback (what a user's run does, nothing more)."""
        home = os.path.join(self.directory, 'home-' + side)
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                   ANSIBLE_HOME=home, ANSIBLE_LOCAL_TEMP=os.path.join(home, 'tmp'),
                   ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
        for name in ('ANSIBLE_CALLBACK_PLUGINS', 'ANSIBLE_CALLBACKS_ENABLED', 'PROXFLEET_LAB_RESULTS',
                     'ANSIBLE_KEEP_REMOTE_FILES', 'ANSIBLE_DEBUG', 'ANSIBLE_VERBOSITY'):
            env.pop(name, None)
        if report is not None:
            env.update(ANSIBLE_CALLBACK_PLUGINS=CALLBACK_DIR, ANSIBLE_CALLBACKS_ENABLED='lab_results',
                       PROXFLEET_LAB_RESULTS=report)
        env.pop('REQUESTS_CA_BUNDLE', None)
        if side == 'peer':
            # Only what the peer's venv carries (site-packages/ansible_collections), nothing of ours.
            env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(self.directory, 'no-collections')
            env['REQUESTS_CA_BUNDLE'] = self.cluster.ca_path
        elif side == 'base':
            env['ANSIBLE_COLLECTIONS_PATH'] = self.baseline
        else:
            env['ANSIBLE_COLLECTIONS_PATH'] = collections_path()
        return env

    def run(self, label):
        """One run of a scenario's playbook: a dict of wall, requests, writes, by_kind, items, changed, failed."""
        side, data, per_vm = self.scenarios[label]
        self.serial += 1
        work = os.path.join(self.directory, 'run-{0:03d}'.format(self.serial))
        os.makedirs(work)
        python = sys.executable if side != 'peer' else os.path.join(self.peer_venv, 'bin', 'python')
        bin_dir = BIN if side != 'peer' else os.path.join(self.peer_venv, 'bin')
        paths = {'playbook': os.path.join(work, 'playbook.yml'), 'inventory': os.path.join(work, 'inventory.json'),
                 'vars': os.path.join(work, 'vars.json'), 'report': os.path.join(work, 'results.json')}
        with open(paths['playbook'], 'w', encoding='utf-8') as out:
            json.dump(data, out, indent=1)
        with open(paths['inventory'], 'w', encoding='utf-8') as out:
            json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                       'ansible_python_interpreter': python}}}}, out)
        with open(paths['vars'], 'w', encoding='utf-8') as out:
            json.dump({'vms': self.specs, 'connection': self.connection[side]}, out)
        args = [os.path.join(bin_dir, 'ansible-playbook'), '-i', paths['inventory'], '-e', '@' + paths['vars'],
                paths['playbook']]
        self.log.mark()
        quiet = label in SPEED_LABELS
        proc, wall, cpu = timed_cpu(args, self.environment(side, None if quiet else paths['report']), cwd=work)
        requests = self.log.since()
        if quiet:
            return self.checked_output(label, proc, wall, cpu, requests, per_vm)
        report = {}
        if os.path.exists(paths['report']):
            with open(paths['report'], encoding='utf-8') as handle:
                report = json.load(handle)
        items = [item for task in report.get('tasks', []) for item in task['result'].get('results', [task['result']])]
        failed = [item for item in items if item.get('failed')]
        if proc.returncode != 0 or failed or len(items) != per_vm * len(self.specs):
            detail = failed[0].get('msg') if failed else proc.stdout[-3000:] + proc.stderr[-3000:]
            raise RuntimeError('{0}: ansible-playbook failed (rc {1}, {2} of {3} items failed): {4}'.format(
                label, proc.returncode, len(failed), len(items), detail))
        writes = [(method, path, body) for _cluster, method, path, body in requests if method != 'GET']
        return {'label': label, 'wall': wall, 'cpu': cpu, 'requests': len(requests), 'writes': writes,
                'by_kind': by_kind(requests, self.cluster.nodes), 'items': len(items), 'vms': len(self.specs),
                'changed': sum(1 for item in items if item.get('changed')), 'tasks_per_vm': per_vm,
                'results': items}

    def checked_output(self, label, proc, wall, cpu, requests, per_vm):
        """A run without the results callback, checked from ansible-playbook's own output: one line per item."""
        lines = proc.stdout.splitlines()
        items = [line for line in lines if re.match(r'^(ok|changed|failed|fatal): \[localhost\] => \(item=', line)]
        changed = [line for line in items if line.startswith('changed')]
        failed = [line for line in items if line.startswith(('failed', 'fatal'))]
        if proc.returncode != 0 or failed or len(items) != per_vm * len(self.specs):
            raise RuntimeError('{0}: ansible-playbook failed (rc {1}, {2} of {3} items failed): {4}'.format(
                label, proc.returncode, len(failed), len(items), proc.stdout[-3000:] + proc.stderr[-3000:]))
        writes = [(method, path, body) for _cluster, method, path, body in requests if method != 'GET']
        return {'label': label, 'wall': wall, 'cpu': cpu, 'requests': len(requests), 'writes': writes,
                'by_kind': by_kind(requests, self.cluster.nodes), 'items': len(items), 'vms': len(self.specs),
                'changed': len(changed), 'tasks_per_vm': per_vm, 'results': []}


def summarize(label, latency, runs):
    """One scenario's measured runs: medians and the request counts (the same every run, else the maximum)."""
    first = runs[0]
    vms = first['vms']
    kinds = {}
    for run in runs:
        for key, count in run['by_kind'].items():
            kinds[key] = max(kinds.get(key, 0), count)
    return {'label': label, 'latency': latency, 'vms': vms, 'tasks_per_vm': first['tasks_per_vm'],
            'runs': len(runs), 'wall': median([r['wall'] for r in runs]), 'walls': [r['wall'] for r in runs],
            'cpu': median([r['cpu'] for r in runs]), 'cpus': [r['cpu'] for r in runs],
            'requests': max(r['requests'] for r in runs), 'same_every_run': len(set(r['requests'] for r in runs)) == 1,
            'writes': max(len(r['writes']) for r in runs), 'write_samples': first['writes'][:5],
            'changed': max(r['changed'] for r in runs), 'changed_runs': [r['changed'] for r in runs], 'by_kind': kinds}


def bench(lab, directory, count=50, runs=3, latencies=(0.0,), peer_venv=None, say=print):
    """Converge `count` VMs with each tool, then measure no-change runs. Returns a dict of what was found."""
    runner = Runner(lab, directory, count, peer_venv)
    found = {'vms': count, 'nodes': len(runner.cluster.nodes), 'version': runner.cluster.version,
             'converge': {}, 'rows': [], 'after_peer': None}
    for pve in (c.pve for c in lab.clusters):
        pve.real_latency = 0.0
    say('converging {0} VMs with pve_vm (create and start)'.format(count))
    found['converge'][OURS] = runner.run(OURS)
    labels = [OURS]
    if peer_venv:
        say('converging with proxmox_kvm once')
        found['converge'][PEER_UPDATE] = runner.run(PEER_UPDATE)
        say('pve_vm once, right after the peer wrote')
        found['after_peer'] = runner.run(OURS)
        labels += [PEER_STARTED, PEER_UPDATE]
    for latency in latencies:
        for pve in (c.pve for c in lab.clusters):
            pve.real_latency = latency
        # Round after round, each scenario in turn: a machine that gets busier or quieter affects them alike.
        measured = dict((label, []) for label in labels)
        for round_number in range(runs):
            for label in labels:
                say('latency {0:g} ms, round {1} of {2}: {3}'.format(latency * 1000, round_number + 1, runs, label))
                measured[label].append(runner.run(label))
        found['rows'].extend(summarize(label, latency, measured[label]) for label in labels)
    for pve in (c.pve for c in lab.clusters):
        pve.real_latency = 0.0
    return found


def _ratios(measured, top, bottom, key):
    """Per-round ratios of two scenarios' `key` (cpu or wall): a list, in round order."""
    return [a[key] / b[key] for a, b in zip(measured[top], measured[bottom]) if b[key]]


def spread(values):
    """(median, lowest, highest) of a list."""
    return (median(values), min(values), max(values)) if values else (float('nan'),) * 3


# The ratios --speed reports: (top, bottom), each side by side in every round.
SPEED_RATIOS = ((SPEED_OURS, SPEED_PEER), (SPEED_OURS, FLOOR), (SPEED_PEER, FLOOR_PEER), (SPEED_PEER, FLOOR),
                (FLOOR_PEER, FLOOR), (SPEED_BASE, SPEED_PEER), (SPEED_BASE, FLOOR), (SPEED_OURS, SPEED_BASE))


def extract_baseline(ref, directory):
    """A collections path holding this repository's collection as commit `ref` has it (git archive): --baseline."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = os.path.join(directory, 'baseline-collections')
    target = os.path.join(base, 'ansible_collections', 'proxfleet', 'proxmox')
    os.makedirs(target)
    archive = subprocess.run(['git', '-C', root, 'archive', '--format=tar', ref, 'plugins', 'meta', 'galaxy.yml'],
                             capture_output=True, check=False)
    if archive.returncode:
        raise RuntimeError('--baseline {0}: git archive failed: {1}'.format(ref, archive.stderr.decode()[-2000:]))
    subprocess.run(['tar', '-x', '-C', target], input=archive.stdout, check=True)
    return base


def speed(lab, directory, count=50, rounds=5, peer_venv=None, say=print, baseline=None):
    """--speed: make `count` VMs with pve_vm (cores and memory, state: present), then `rounds` rounds in which a
    no-change pve_vm, proxmox_kvm's existence check and ansible.builtin.ping each run once over the VMs, in an order
    that turns every round. baseline: a git ref whose pve_vm runs in each round too. Returns a dict of what was
    found."""
    base = extract_baseline(baseline, directory) if baseline else None
    runner = Runner(lab, directory, count, peer_venv, speed=True, baseline=base)
    found = {'baseline': baseline, 'vms': count, 'nodes': len(runner.cluster.nodes), 'version': runner.cluster.version,
             'rounds': rounds, 'converge': {}, 'rows': [], 'ratios': []}
    for pve in (c.pve for c in lab.clusters):
        pve.real_latency = 0.0
    say('making {0} VMs with pve_vm (cores and memory, state: present)'.format(count))
    found['converge'][SPEED_OURS] = runner.run(SPEED_OURS)
    labels = [label for label in SPEED_LABELS if label in runner.scenarios]
    measured = dict((label, []) for label in labels)
    for round_number in range(rounds):
        shift = round_number % len(labels)
        for label in labels[shift:] + labels[:shift]:
            say('round {0} of {1}: {2}'.format(round_number + 1, rounds, label))
            measured[label].append(runner.run(label))
    for label in labels:
        row = summarize(label, 0.0, measured[label])
        row['cpu_spread'] = spread(row['cpus'])
        row['wall_spread'] = spread(row['walls'])
        found['rows'].append(row)
    for top, bottom in SPEED_RATIOS:
        if top in measured and bottom in measured:
            found['ratios'].append({'top': top, 'bottom': bottom,
                                    'cpu': spread(_ratios(measured, top, bottom, 'cpu')),
                                    'wall': spread(_ratios(measured, top, bottom, 'wall'))})
    return found


# ---------------------------------------------------------------- the report

def _per_vm(count, vms):
    value = count / float(vms)
    return '{0:g}'.format(round(value, 2))


def report(found):
    rows = []
    for row in found['rows']:
        vms = row['vms']
        reads = row['requests'] - row['writes']
        rows.append(['{0:g} ms'.format(row['latency'] * 1000), row['label'], vms * row['tasks_per_vm'],
                     row['changed'], _per_vm(reads, vms), _per_vm(row['writes'], vms), row['requests'],
                     '{0:.1f} s'.format(row['wall']), '{0:.2f} s'.format(row['wall'] / vms),
                     '{0:.1f} s'.format(row['cpu'])])
    heading = '{0} VMs on one PVE {1} cluster of {2} nodes; medians of {3} runs ("reported changed": the most of any run).'
    text = [heading.format(found['vms'], found['version'], found['nodes'], found['rows'][0]['runs'] if found['rows'] else 0), '',
            table(['latency', 'scenario', 'tasks', 'reported changed', 'reads per VM', 'writes per VM',
                   'API requests', 'wall time (run)', 'wall time per VM', 'CPU time (run)'], rows), '']
    seen = set()
    for row in found['rows']:
        if row['label'] in seen:
            continue
        seen.add(row['label'])
        kinds = sorted(row['by_kind'].items(), key=lambda kv: (kv[0][0] != 'GET', kv[0][1]))
        text += ['Requests per VM, {0}:'.format(row['label']), '',
                 table(['method', 'path', 'per VM'], [[m, '`{0}`'.format(p), _per_vm(n, row['vms'])]
                                                      for (m, p), n in kinds]), '']
    for label, run in sorted(found['converge'].items()):
        text.append('Converging first, {0}: {1} of {2} tasks reported changed, {3} requests ({4} writes), {5:.1f} s.'.format(
            label, run['changed'], run['items'], run['requests'], len(run['writes']), run['wall']))
    after = found.get('after_peer')
    if after is not None:
        pending = sum(1 for item in after['results'] if item.get('pending'))
        text.append('pve_vm right after the peer converged: {0} of {1} VMs reported changed, {2} requests ({3} '
                    'writes), {4} VMs with pending changes.'.format(after['changed'], after['vms'], after['requests'],
                                                                    len(after['writes']), pending))
        changed = [item for item in after['results'] if item.get('changed')]
        if changed:
            keys = sorted(set(k for item in changed for k, v in (item.get('diff') or {}).get('after', {}).items()
                              if (item.get('diff') or {}).get('before', {}).get(k) != v))
            text.append('Keys it changed back: {0}.'.format(', '.join(keys) or 'none shown'))
    text.append('')
    return '\n'.join(text)


def speed_report(found):
    """The markdown of a speed() result: the runs, then the ratios, each with its spread over the rounds."""
    def cell(values, unit='s', digits=1):
        mid, low, high = values
        return '{0:.{3}f} {2} ({1:.{3}f} to {4:.{3}f})'.format(mid, low, unit, digits, high).replace('  ', ' ')

    floor = dict((row['label'], row) for row in found['rows'])
    rows = []
    for row in found['rows']:
        base = floor.get(FLOOR_PEER if row['label'] in (SPEED_PEER, FLOOR_PEER) else FLOOR)
        above = (row['cpu'] - base['cpu']) / (row['vms'] * row['tasks_per_vm']) if base else float('nan')
        rows.append([row['label'], row['vms'] * row['tasks_per_vm'], row['changed'],
                     _per_vm(row['requests'] - row['writes'], row['vms']), _per_vm(row['writes'], row['vms']),
                     cell(row['cpu_spread']), cell(row['wall_spread']),
                     '{0:.0f} ms'.format(above * 1000)])
    heading = ('{0} VMs on one PVE {1} cluster of {2} nodes; {3} rounds, each scenario once per round in an order that '
               'turns; medians with the lowest and highest run in brackets.{4}')
    based = ' Baseline: pve_vm at {0}.'.format(found['baseline']) if found.get('baseline') else ''
    text = [heading.format(found['vms'], found['version'], found['nodes'], found['rounds'], based), '',
            table(['scenario', 'tasks', 'reported changed', 'reads per VM', 'writes per VM',
                   'CPU time (run)', 'wall time (run)', 'CPU per task above its floor'], rows), '',
            table(['ratio', 'CPU time, median of the rounds (range)', 'wall time, median of the rounds (range)'],
                  [['{0} / {1}'.format(r['top'], r['bottom']), cell(r['cpu'], '', 2), cell(r['wall'], '', 2)]
                   for r in found['ratios']]), '']
    for row in found['rows']:
        kinds = sorted(row['by_kind'].items(), key=lambda kv: (kv[0][0] != 'GET', kv[0][1]))
        if kinds:
            text.append('Requests per VM, {0}: {1}.'.format(row['label'], ', '.join(
                '{0} `{1}` {2}'.format(m, p, _per_vm(n, row['vms'])) for (m, p), n in kinds)))
    text.append('')
    return '\n'.join(text)


def jsonable(found):
    """The numbers of a bench() result as JSON takes them: request kinds as [method, path, count], no results."""
    def run(entry):
        out = dict((k, v) for k, v in entry.items() if k != 'results')
        out['by_kind'] = [[m, p, n] for (m, p), n in sorted(entry['by_kind'].items())]
        out['writes'] = [[m, p] for m, p, _body in entry['writes']] if 'writes' in entry and isinstance(
            entry['writes'], list) else entry.get('writes')
        out.pop('write_samples', None)
        return out
    return dict(found, converge=dict((k, run(v)) for k, v in found['converge'].items()),
                rows=[run(r) for r in found['rows']],
                after_peer=run(found['after_peer']) if found.get('after_peer') else None)


def say(text):
    print(text, file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.vm_bench', description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, default=50)
    parser.add_argument('--nodes', type=int, default=3)
    parser.add_argument('--pve-version', default='9.0.10', help="the lab cluster's PVE version (9.0.10 or 8.4.14)")
    parser.add_argument('--runs', type=int, default=3, help='rounds of measured runs per latency (medians)')
    parser.add_argument('--latency', type=float, nargs='*', default=[0.0], help='real seconds added per request')
    parser.add_argument('--peer-venv', help='virtualenv with ansible (community.proxmox) and proxmoxer installed')
    parser.add_argument('--out', help='write the markdown report here too')
    parser.add_argument('--json', help='write every measured number here (JSON)')
    parser.add_argument('--speed', action='store_true',
                        help='instead: no-change pve_vm (cores, memory, state: present) beside proxmox_kvm checking '
                             'existence only and ansible.builtin.ping, in --rounds interleaved rounds')
    parser.add_argument('--rounds', type=int, default=5, help='rounds of --speed')
    parser.add_argument('--baseline', help='with --speed: a git ref (e.g. main) whose pve_vm runs in every round too')
    args = parser.parse_args(argv)
    if args.peer_venv and not os.path.exists(os.path.join(args.peer_venv, 'bin', 'ansible-playbook')):
        parser.error('--peer-venv {0}: no bin/ansible-playbook there (see the docstring to make it)'.format(
            args.peer_venv))
    peer_venv = os.path.abspath(args.peer_venv) if args.peer_venv else None
    with tempfile.TemporaryDirectory(prefix='vm-bench-') as directory:
        with Lab(directory, clusters=1, nodes=args.nodes, guests=0, versions=[args.pve_version], pbs=False) as lab:
            if args.speed:
                found = speed(lab, directory, args.vms, args.rounds, peer_venv, say=say, baseline=args.baseline)
            else:
                found = bench(lab, directory, args.vms, args.runs, args.latency, peer_venv, say=say)
    text = speed_report(found) if args.speed else report(found)
    print(text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as out:
            out.write(text)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as out:
            json.dump(jsonable(found), out, indent=1, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
