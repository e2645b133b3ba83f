# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_logs and playbooks/collect_logs.yml against the lab, whose nodes hold three days of old tasks and system log
lines full of e-mail, IP and MAC addresses, tickets, tokens and host names (tests/lab/areas/logs.py).

The proof that matters: with redaction on, none of the seeded values shows anywhere - not in the files written, not
in the module results, not in ansible-playbook's output at -vvv - while the same read with redaction off shows them.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.areas.logs import SEEDED_SECRETS
from tests.lab.pytest_plugin import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'collect_logs.yml')
PLACEHOLDER_RE = re.compile(r'<(?:ticket|token|secret|email|mac|ipv4|ipv6|host)-\d+>')
DAY = 86400


def secrets(hostnames=False):
    """Every seeded value that must not survive redaction."""
    kinds = [k for k in SEEDED_SECRETS if hostnames or k != 'hostname']
    return [value for kind in kinds for value in SEEDED_SECRETS[kind]]


def leaks(text, hostnames=False):
    """The seeded values found in text (case-insensitive)."""
    lower = text.lower()
    return [value for value in secrets(hostnames) if value.lower() in lower]


def files_under(path):
    return sorted(os.path.join(d, f) for d, _dirs, names in os.walk(path) for f in names)


# ======================================================================================== the module


@pytest.mark.lab(clusters=1, nodes=2, guests=8)
def test_pve_logs_module(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    node = cluster.nodes[0]
    vm = next(v for v in pve.vms if v.node == node and v.status == 'running' and v.agent is not None)
    ct = pve.cts[0]
    now = int(time.time())
    since, until = now - 2 * DAY, now
    marker = {'time': now - 300, 'text': 'marker-{0}'.format(now)}
    pve.add_journal_entry(node, '{0} from 203.0.113.7'.format(marker['text']), ident='sshd', unit='ssh',
                          stamp=marker['time'])
    argv = 'journalctl --no-pager --output=short-iso --since=@{0} --until=@{1} --lines=5'.format(since, until)
    vm.agent.setdefault('exec', {})[argv] = {'out-data': '\n'.join([
        '2026-11-21T08:00:00+0000 web01 postfix/smtp[77]: to=<jane.doe@example.com>, relay=none',
        '2026-11-21T08:00:01+0000 web01 dhclient[90]: DHCPACK of 10.10.0.57 from 172.16.4.20',
        '2026-11-21T08:00:02+0000 web01 kernel: eth0: link up, mac bc:24:11:5e:7a:01',
        '2026-11-21T08:00:03+0000 web01 app[12]: calling with PVEAPIToken=' + SEEDED_SECRETS['token'][0],
        '2026-11-21T08:00:04+0000 web01 sshd[811]: Accepted password for jane from 203.0.113.99 port 4242 ssh2',
    ]) + '\n', 'exitcode': 0}
    # A privilege-separated token holding only what docs/privileges.md lists for pve_logs, on this node and these
    # guests (the tasks the target reads are other users' too: Sys.Audit on the node shows them).
    token = least_privilege_token(cluster, 'pve_logs', precise=True, node=[node], vmid=[vm.vmid, ct.vmid])
    extra = {'pve': token, 'node': node, 'vmid': vm.vmid, 'ct_vmid': ct.vmid, 'missing_vmid': 99999,
             'range_since': since, 'range_until': until, 'marker': marker}
    run = run_playbook(target('pve_logs'), lab_fn, extra_vars=extra)
    assert run.ok, run.explain()
    # The agent ran journalctl once, with the range as epochs.
    assert [c for c in vm.agent_requests if c[0] == 'exec'] == [('exec', {'command': argv.split()})]
    # Nothing redacted leaks: every result of a read with redaction on, and the whole output.
    for entry in run.tasks:
        if entry['action'] != 'proxfleet.proxmox.pve_logs' or entry['task'] == 'The same lines without redaction hold the seeded data':
            continue
        text = json.dumps(entry['result'])
        assert leaks(text) == [], entry['task']
    raw = json.dumps(run.result('The same lines without redaction hold the seeded data'))
    assert len(leaks(raw)) > 5
    hidden = json.dumps(run.result('Hide host names too')['logs'])
    assert leaks(hidden, hostnames=True) == []
    assert leaks(run.stdout + run.stderr) == []


# ======================================================================================== the playbook


def _vaulted(value, password_file):
    vault = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    proc = subprocess.run([vault, 'encrypt_string', '--vault-password-file', str(password_file), value],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def write_inventory(lab, tmp_path):
    """An inventory source as a real estate has one: nodes as hosts, one token from the environment, one vaulted."""
    one, two = lab.clusters[0], lab.clusters[1]
    password_file = tmp_path / 'vault-password'
    password_file.write_text('logs-vault\n')
    text = '\n'.join([
        'plugin: proxfleet.proxmox.proxmox',
        'want_nodes: true',
        'clusters:',
        '  - name: {0}'.format(one.name),
        '    api_host: {0}'.format(one.host),
        '    api_token_id: "{0}"'.format(one.token_id),
        '    api_token_secret: "{{ lookup(\'ansible.builtin.env\', \'LOGS_LAB_TOKEN\') }}"',
        '    ca_path: {0}'.format(one.ca_path),
        '  - name: {0}'.format(two.name),
        '    api_host: {0}'.format(two.host),
        '    api_token_id: "{0}"'.format(two.token_id),
        '    api_token_secret: ' + _vaulted(two.token_secret, password_file).replace('\n', '\n    '),
        '    ca_path: {0}'.format(two.ca_path),
        '',
    ])
    path = tmp_path / 'estate.proxmox.yml'
    path.write_text(text)
    return ['-i', str(path), '--vault-password-file', str(password_file)], {'LOGS_LAB_TOKEN': one.token_secret}


def _guest_host(cluster, vm, all_names):
    """The inventory host name of a guest: its name, with .<cluster> when another cluster has it too."""
    return vm.name if all_names.count(vm.name) == 1 else '{0}.{1}'.format(vm.name, cluster.name)


def test_collect_logs_playbook(lab, tmp_path):
    one, two = lab.clusters[0], lab.clusters[1]
    args, env = write_inventory(lab, tmp_path)
    names = [g.name for c in (one, two) for g in list(c.pve.vms) + list(c.pve.cts)]
    node = one.nodes[0]
    guest = next(v for v in two.pve.vms if v.node == two.nodes[1])
    guest_host = _guest_host(two, guest, names)
    out = tmp_path / 'logs'
    run = run_playbook(PLAYBOOK, lab, verbosity=3, env=env, extra_args=args + ['-l', '{0},{1}'.format(node, guest_host)],
                       # The session lab's nodes collect tasks from every suite run before this one: room for all.
                       extra_vars={'logs_dir': str(out), 'logs_since': '-2d', 'logs_max_lines': 5000,
                                   'logs_max_tasks': 5000})
    assert run.ok, run.explain()
    node_dir, guest_dir = out / one.name / node, out / two.name / guest_host
    assert sorted(os.listdir(node_dir)) == ['summary.json', 'syslog.log', 'tasks.log']
    assert sorted(os.listdir(guest_dir)) == ['summary.json', 'tasks.log']
    assert files_under(out) == sorted(str(p) for p in [node_dir / 'summary.json', node_dir / 'syslog.log',
                                                       node_dir / 'tasks.log', guest_dir / 'summary.json',
                                                       guest_dir / 'tasks.log'])
    for path in (node_dir, guest_dir):
        summary = json.loads((path / 'summary.json').read_text())
        written = ''.join((path / name).read_text() for name in summary['files'])
        # Every replacement the module counted is in the files, and nothing else looks like one.
        assert summary['redaction']['enabled'] and summary['redaction']['total'] > 0
        assert len(PLACEHOLDER_RE.findall(written)) == summary['redaction']['total']
        assert summary['tasks'] == written.count('==== UPID:')
        assert summary['tasks'] > 0 and summary['truncated_logs'] == [] and not summary['tasks_truncated']
    node_summary = json.loads((node_dir / 'summary.json').read_text())
    assert node_summary['target'] == {'node': node} and node_summary['cluster'] == one.name
    for kind in ('email', 'ipv4', 'ipv6', 'mac', 'ticket', 'token'):
        assert node_summary['redaction']['counts'][kind] > 0, kind
    guest_summary = json.loads((guest_dir / 'summary.json').read_text())
    assert guest_summary['target']['vmid'] == guest.vmid
    assert ' {0} '.format(guest.vmid) in (guest_dir / 'tasks.log').read_text()
    syslog = (node_dir / 'syslog.log').read_text().splitlines()
    # The lab seeds its system log up to the first time it is read; the session lab may have been read long before
    # this run, so the last two days hold only the seeded lines from then on.
    seeded_until = one.pve.journal_entries[node][-1]['time']
    assert len(syslog) >= (2 * DAY - (time.time() - seeded_until)) // 900 - 1
    assert all(' {0} '.format(node) in line for line in syslog)
    # No seeded value in any file, in any module result, in the -vvv output.
    for path in files_under(out):
        with open(path, encoding='utf-8') as handle:
            assert leaks(handle.read()) == [], path
    assert leaks(json.dumps(run.tasks)) == []
    assert leaks(run.stdout + run.stderr) == []
    assert 'Read the logs' in run.stdout and '<ipv4-1>' in run.stdout
    # Credentials neither.
    for secret in (one.token_secret, two.token_secret):
        assert secret not in run.stdout + run.stderr
        assert secret not in json.dumps(run.tasks)


def test_collect_logs_hides_host_names(lab, tmp_path):
    one = lab.clusters[0]
    args, env = write_inventory(lab, tmp_path)
    node = one.nodes[1]
    out = tmp_path / 'logs'
    run = run_playbook(PLAYBOOK, lab, env=env, extra_args=args,
                       extra_vars={'logs_dir': str(out), 'logs_since': '-1d', 'logs_hosts': node,
                                   'logs_redact_hostnames': True})
    assert run.ok, run.explain()
    (label,) = os.listdir(out / one.name)
    assert re.fullmatch(r'node-[0-9a-f]{12}', label)
    written = ''.join(open(p, encoding='utf-8').read() for p in files_under(out))
    assert json.loads((out / one.name / label / 'summary.json').read_text())['redaction']['counts']['hostname'] > 0
    guest_names = [g.name for g in list(one.pve.vms) + list(one.pve.cts)]
    for name in one.nodes + guest_names:
        assert not re.search(r'(?<![\w-]){0}(?![\w-])'.format(re.escape(name)), written, re.IGNORECASE), name
    assert leaks(written, hostnames=True) == []


def test_collect_logs_needs_named_hosts(lab, tmp_path):
    args, env = write_inventory(lab, tmp_path)
    out = tmp_path / 'logs'
    run = run_playbook(PLAYBOOK, lab, env=env, extra_args=args, extra_vars={'logs_dir': str(out)})
    assert not run.ok
    assert 'with -l (--limit) or -e logs_hosts=PATTERN' in run.stdout
    assert not out.exists()


SECRET_LOG_PLAY = '''
- name: Pve_logs never returns a guest configuration secret
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ pve.host }}"
      api_port: "{{ pve.port }}"
      api_token_id: "{{ pve.token_id }}"
      api_token_secret: "{{ pve.token_secret }}"
      ca_path: "{{ pve.ca_path }}"
  tasks:
    - name: Redacted
      proxfleet.proxmox.pve_logs:
        node: "{{ node }}"
        sources: [syslog]
        since: -1h
        service: pvedaemon
      register: redacted

    - name: Not redacted
      proxfleet.proxmox.pve_logs:
        node: "{{ node }}"
        sources: [syslog]
        since: -1h
        service: pvedaemon
        redact: false
      register: plain
'''


@pytest.mark.lab(clusters=1, nodes=1, guests=2)
def test_guest_config_secrets_never_leave_even_unredacted(lab_fn):
    cluster = lab_fn.clusters[0]
    node = cluster.nodes[0]
    # PVE logs '-cipassword <hidden>'; a fake, or another tool through the same log, may write the value.
    cluster.pve.add_journal_entry(node, 'update VM 100: -cipassword clear-text-in-the-log -ciuser ops')
    cluster.pve.add_journal_entry(node, 'update VM 101: -cipassword <hidden> -ciuser ops')
    run = run_playbook(SECRET_LOG_PLAY, lab_fn, extra_vars={'pve': pve_vars(cluster), 'node': node}, verbosity=3)
    assert run.ok, run.explain()
    assert 'clear-text-in-the-log' not in run.stdout + run.stderr
    redacted = [line for line in run.result('Redacted')['logs']['syslog'][0]['lines'] if 'update VM' in line]
    plain = [line for line in run.result('Not redacted')['logs']['syslog'][0]['lines'] if 'update VM' in line]
    assert [line.split(': ', 1)[1] for line in redacted] == [
        'update VM 100: -cipassword <secret-1> -ciuser ops', 'update VM 101: -cipassword <hidden> -ciuser ops']
    assert [line.split(': ', 1)[1] for line in plain] == [
        'update VM 100: -cipassword ******** -ciuser ops', 'update VM 101: -cipassword <hidden> -ciuser ops']
