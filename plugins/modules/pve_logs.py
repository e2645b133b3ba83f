#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: pve_logs
short_description: Read the task logs and system log of a Proxmox VE node or guest over a time range, redacted
version_added: 0.1.0
description:
  - Reads, for a node or a guest and a time range, the tasks that started in the range with their logs
    (C(GET /nodes/{node}/tasks) and C(/tasks/{upid}/log)), the node's system log (C(GET /nodes/{node}/syslog)),
    and, for a VM with the QEMU guest agent, the guest's own journal (C(journalctl) run through the agent).
  - Returns the lines; it writes no file. To keep them on the controller, run it with a local connection
    (C(delegate_to) V(localhost), as every module of the collection) and write them with M(ansible.builtin.copy) -
    the playbook C(proxfleet.proxmox.collect_logs) does that, one file per log. Each log comes with a suggested
    relative file name, C(file).
  - B(Redaction is on by default.) E-mail addresses, IPv4 and IPv6 addresses, MAC addresses, login tickets, CSRF
    tokens, API tokens, C(password=) style secrets and the values of guest configuration secrets (C(cipassword))
    are replaced, in every line and every field returned, by placeholders numbered per value (C(<ipv4-1>),
    C(<email-2>)) - the same value gets the same placeholder throughout one run (one task on one host), so a log
    stays readable. Host names are replaced too with O(redact_hostnames=true) - node and guest names of the cluster
    and fully qualified names - including the node names in task ids and file names. The result counts what was replaced, per category.
  - Loopback and unspecified addresses (C(127.0.0.1), C(::1), C(0.0.0.0)) and the all-zero MAC address are kept.
    Proxmox user ids such as C(root@pam) are kept; one that is an e-mail address loses the address part.
  - The option values themselves (O(node), O(since), ...) appear in C(invocation) as given.
  - Times - a task belongs to the range when it started in it. The system log API takes the node's local time; the
    module converts with the node's current offset from UTC (C(GET /nodes/{node}/time)), so a range across a
    daylight saving change may be off by that hour at its ends.
  - Needs C(Sys.Syslog) on C(/nodes/{node}) for the system log, C(Sys.Audit) on C(/nodes/{node}) to see the tasks
    of other users (without it only the user's own tasks are listed), C(VM.Audit) on a guest named by O(vmid) (to
    find its node), and C(VM.Monitor) (PVE 8) or C(VM.GuestAgent.Unrestricted) (PVE 9) on the guest for its journal.
author:
  - proxfleet developers (@proxfleet)
extends_documentation_fragment:
  - proxfleet.proxmox.connection
  - proxfleet.proxmox.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only reads, and runs the same in check mode. O(sources=guest_journal) runs a read-only
        C(journalctl) in the guest through the agent, in check mode too.
  diff_mode:
    support: N/A
    details: This module only reads.
options:
  node:
    description:
      - The node whose logs are read.
      - With O(vmid), only the guest's tasks that ran on this node are read; by default those of every online node.
      - One of O(node) and O(vmid) is required.
    type: str
  vmid:
    description:
      - The guest whose logs are read - its tasks on every node (migrations leave them on the nodes that ran
        them) and, with O(sources=guest_journal), its own journal.
    type: int
  since:
    description:
      - Start of the time range - UNIX epoch seconds, V(now), a time before now (V(-90s), V(-30m), V(-2h), V(-1d),
        V(-1w), V(-1d12h)), or a date and time C(YYYY-MM-DD[ HH:MM[:SS]]) or ISO 8601 (C(2026-11-22T06:00:00Z),
        C(2026-11-22T07:00:00+01:00)). A date and time without an offset is UTC.
      - Defaults to a day before now.
    type: str
  until:
    description:
      - End of the time range, in the forms of O(since). Defaults to now.
    type: str
  sources:
    description:
      - What to read. V(tasks) - the tasks that started in the range, with their logs. V(syslog) - the system log
        of the node (for a guest, of the node it is on now). V(guest_journal) - the journal of a VM, through its
        QEMU guest agent (not for containers, which have none).
      - Defaults to V(tasks) and V(syslog) for a node, V(tasks) for a guest.
    type: list
    elements: str
    choices: [tasks, syslog, guest_journal]
  task_type:
    description:
      - Only tasks of this type (V(vzdump), V(qmstart), V(qmigrate), ...).
    type: str
  errors_only:
    description:
      - Only tasks that failed (or ended with warnings).
    type: bool
    default: false
  service:
    description:
      - Only system log lines of this systemd unit (V(pvedaemon), V(pveproxy), V(corosync), V(sshd), ...).
    type: str
  max_tasks:
    description:
      - At most this many tasks per node, the newest; RV(logs.tasks_truncated) tells when there were more.
    type: int
    default: 50
  max_lines:
    description:
      - At most this many lines per log - the first ones of a task log or of the system log, the last ones of a
        guest journal; each log's C(truncated) tells when there were more. Narrow the time range to read the rest.
    type: int
    default: 1000
  redact:
    description:
      - Replace personal data and credentials in everything returned (see the description). Turn it off only for
        logs that never leave a trusted place.
      - The values of guest configuration secrets (C(cipassword=...), C(-cipassword ...)) are masked even with
        O(redact=false).
    type: bool
    default: true
  redact_hostnames:
    description:
      - With O(redact), replace host names too - the cluster's node and guest names and fully qualified names.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the guest agent's C(journalctl) to finish.
    type: int
    default: 60
notes:
  - The journal of a container cannot be read through the API; read it on its node (C(pct exec <vmid> journalctl)).
seealso:
  - name: Collecting logs
    description: The playbook C(proxfleet.proxmox.collect_logs) and what redaction covers.
    link: https://github.com/proxfleet/proxfleet.proxmox/blob/main/docs/logs.md
'''

EXAMPLES = r'''
- name: Logs of the last two hours of a node, redacted
  proxfleet.proxmox.pve_logs:
    api_host: pve1.example.com
    api_token_id: auditor@pve!logs
    api_token_secret: "{{ vault_pve_token_secret }}"
    node: pve1
    since: -2h
  delegate_to: localhost
  register: node_logs

- name: Failed backups of a guest last week, with host names hidden too
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: pve1.example.com
      api_token_id: auditor@pve!logs
      api_token_secret: "{{ vault_pve_token_secret }}"
  block:
    - name: Read them
      proxfleet.proxmox.pve_logs:
        vmid: 101
        since: "2026-11-15"
        until: "2026-11-22"
        task_type: vzdump
        errors_only: true
        redact_hostnames: true
      delegate_to: localhost
      register: guest_logs

    - name: Create the directories the suggested file names need
      ansible.builtin.file:
        path: "/srv/incident-42/{{ item }}"
        state: directory
        mode: "0700"
      loop: "{{ guest_logs.logs.tasks | map(attribute='file') | map('dirname') | unique }}"
      delegate_to: localhost

    - name: Write each log to a file on the controller
      ansible.builtin.copy:
        content: "{{ item.lines | join('\n') }}\n"
        dest: "/srv/incident-42/{{ item.file }}"
        mode: "0600"
      loop: "{{ guest_logs.logs.tasks }}"
      loop_control:
        label: "{{ item.file }}"
      delegate_to: localhost

- name: The guest's own journal through the QEMU guest agent
  proxfleet.proxmox.pve_logs:
    vmid: 101
    since: -30m
    sources: [guest_journal]
  delegate_to: localhost
'''

RETURN = r'''
logs:
  description: What was read, redacted unless O(redact=false).
  returned: success
  type: dict
  contains:
    target:
      description: The node (C(node)) or guest (C(vmid), C(type) V(qemu) or V(lxc), C(node) it is on, C(name)).
      type: dict
      sample: {node: pve1}
    since:
      description: Start of the range, ISO 8601 UTC.
      type: str
      sample: '2026-11-22T04:00:00Z'
    until:
      description: End of the range, ISO 8601 UTC.
      type: str
      sample: '2026-11-22T06:00:00Z'
    since_epoch:
      description: Start of the range, UNIX epoch seconds.
      type: int
    until_epoch:
      description: End of the range, UNIX epoch seconds.
      type: int
    tasks:
      description: The tasks that started in the range, oldest first, each with its log.
      type: list
      elements: dict
      contains:
        upid:
          description: Task id.
          type: str
        node:
          description: Node the task ran on.
          type: str
        type:
          description: Task type.
          type: str
          sample: vzdump
        id:
          description: What the task worked on (a VMID, a storage, ...); empty for node tasks.
          type: str
        user:
          description: User (or C(user@realm!token)) that started the task.
          type: str
        starttime:
          description: Start, UNIX epoch seconds.
          type: int
        endtime:
          description: End, UNIX epoch seconds; null while running.
          type: int
        status:
          description: Exit status - V(OK), C(WARNINGS) with a count, the error text - or V(RUNNING).
          type: str
        lines:
          description: The log lines.
          type: list
          elements: str
        truncated:
          description: Whether the log had more than O(max_lines) lines.
          type: bool
        file:
          description: Suggested relative file name, C(tasks/<node>/<start>-<type>-<id>-<pid>.log).
          type: str
    tasks_truncated:
      description: Whether some node had more than O(max_tasks) tasks in the range (the oldest were left out).
      type: bool
    syslog:
      description: The system log of each node read (none or one), oldest line first.
      type: list
      elements: dict
      contains:
        node:
          description: The node.
          type: str
        lines:
          description: The log lines, as C(journalctl -o short) prints them in the node's local time.
          type: list
          elements: str
        truncated:
          description: Whether the range held more than O(max_lines) lines.
          type: bool
        file:
          description: Suggested relative file name, C(syslog/<node>.log).
          type: str
    guest_journal:
      description: The guest's journal (none or one), oldest line first.
      type: list
      elements: dict
      contains:
        vmid:
          description: The guest.
          type: int
        lines:
          description: The journal lines (C(journalctl -o short-iso)).
          type: list
          elements: str
        truncated:
          description: Whether the range held more than O(max_lines) lines (the first were left out).
          type: bool
        file:
          description: Suggested relative file name, C(guest/<vmid>-journal.log).
          type: str
redaction:
  description: What redaction did.
  returned: success
  type: dict
  contains:
    enabled:
      description: Whether redaction was on.
      type: bool
    hostnames:
      description: Whether host names were redacted.
      type: bool
    counts:
      description: Values replaced per category (C(ticket), C(token), C(secret), C(email), C(mac), C(ipv6), C(ipv4),
        C(hostname)), every occurrence counted.
      type: dict
      sample: {email: 4, ipv4: 12, ipv6: 2, mac: 1, ticket: 1, token: 1, secret: 0, hostname: 0}
    distinct:
      description: Different values replaced per category (the highest placeholder number).
      type: dict
    total:
      description: All occurrences replaced.
      type: int
'''

import re
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import logs as pvelogs
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.plugins.module_utils.redact import CATEGORIES, Redactor, mask_guest_secrets
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import AdaptivePoll, Deadline, poll_until

_FILE_UNSAFE_RE = re.compile(r'[^A-Za-z0-9._-]+')


class _Plain(object):
    """Stands in for a Redactor when redaction is off: only the secrets of guest configurations are masked."""

    hostnames = False

    @staticmethod
    def redact(text):
        return mask_guest_secrets(text)

    def redact_lines(self, lines):
        return [mask_guest_secrets(line) for line in lines]


def _file_part(text):
    return _FILE_UNSAFE_RE.sub('', str(text)) or 'none'


def _stamp(epoch):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(int(epoch)))


def _online_nodes(client):
    return sorted(n['node'] for n in client.get('/nodes') or [] if n.get('node') and n.get('status', 'online') == 'online')


def _known_hosts(client, guest_items):
    names = set(n['node'] for n in client.get('/nodes') or [] if n.get('node'))
    names.update(g.get('name') for g in guest_items if g.get('name'))
    for item in client.get('/cluster/status') or []:
        if item.get('type') == 'cluster' and item.get('name'):
            names.add(item['name'])
    return sorted(names)


def _task_entry(client, scrub, task, max_lines):
    node = task.get('node') or task['upid'].split(':')[1]
    lines, truncated = pvelogs.read_task_log(client, node, task['upid'], max_lines)
    start = int(task.get('starttime') or 0)
    rnode = scrub.redact(node)
    ident = scrub.redact(task.get('id') or '') or 'node'
    # The list gives a token's tasks as user and tokenid; the UPID has them joined, as users write them.
    user = task.get('user')
    if user and task.get('tokenid'):
        user = '{0}!{1}'.format(user, task['tokenid'])
    return {
        'upid': scrub.redact(task['upid']), 'node': rnode, 'type': task.get('type'), 'id': scrub.redact(task.get('id') or ''),
        'user': scrub.redact(user), 'starttime': start, 'endtime': task.get('endtime'),
        'status': scrub.redact(task.get('status')), 'lines': scrub.redact_lines(lines), 'truncated': truncated,
        'file': 'tasks/{0}/{1}-{2}-{3}-{4}.log'.format(_file_part(rnode), _stamp(start), _file_part(task.get('type')),
                                                       _file_part(ident), '{0:x}'.format(int(task.get('pid') or 0))),
    }


def _guest_journal(module, client, node, vmid, since, until, max_lines):
    """journalctl in the guest through the agent: (lines, truncated), the last max_lines of the range."""
    base = client.path('nodes', node, 'qemu', vmid, 'agent')
    command = ['journalctl', '--no-pager', '--output=short-iso', '--since=@{0}'.format(since),
               '--until=@{0}'.format(until), '--lines={0}'.format(max_lines + 1)]
    started = client.post(base + '/exec', command=command) or {}

    def timed_out(_status):
        return ProxmoxError('journalctl in guest {0} did not finish within {1} s'.format(vmid, module.params['timeout']),
                            url=client.settings.url)

    status = poll_until(lambda: client.get(base + '/exec-status', pid=started.get('pid')) or {},
                        lambda status: status.get('exited') in (True, 1, '1'), Deadline(module.params['timeout']),
                        timed_out, poll=AdaptivePoll(first=0.2, cap=2.0))
    if int(status.get('exitcode') or 0) != 0:
        raise ProxmoxError('journalctl in guest {0} failed with exit code {1}: {2}'.format(
            vmid, status.get('exitcode'), module.scrub.redact(str(status.get('err-data') or '').strip()[:500])),
            url=client.settings.url)
    lines = [line for line in str(status.get('out-data') or '').splitlines() if line.strip()]
    if lines and lines[0].startswith('-- No entries --'):
        lines = []
    truncated = len(lines) > max_lines or bool(status.get('out-truncated'))
    return lines[-max_lines:], truncated


def read_logs(module):
    p = module.params
    client = module.client
    since, until = pvelogs.time_range(p['since'], p['until'], time.time())
    vmid, node = p['vmid'], p['node']
    sources = p['sources'] or (['tasks'] if vmid is not None else ['tasks', 'syslog'])

    guest = None
    guest_items = []
    if vmid is not None or (p['redact'] and p['redact_hostnames']):
        guest_items = client.get('/cluster/resources', type='vm') or []
    if vmid is not None:
        guest = next((g for g in guest_items if g.get('vmid') is not None and int(g['vmid']) == vmid), None)
        if guest is None:
            raise ProxmoxConfigError('guest {0} does not exist on {1}'.format(vmid, client.settings.url))
        if 'guest_journal' in sources and guest.get('type') != 'qemu':
            raise ProxmoxConfigError(
                'guest {0} is a container: its journal cannot be read through the API (containers have no guest '
                'agent); read it on node {1} with pct exec {0} journalctl'.format(vmid, guest.get('node')))

    if p['redact']:
        known = _known_hosts(client, guest_items) if p['redact_hostnames'] else ()
        scrub = Redactor(hostnames=p['redact_hostnames'], known_hosts=known)
    else:
        scrub = _Plain()
    module.scrub = scrub

    if vmid is not None:
        target = {'vmid': vmid, 'type': guest.get('type'), 'node': scrub.redact(guest.get('node')),
                  'name': scrub.redact(guest.get('name'))}
        task_nodes = [node] if node else _online_nodes(client)
        log_node = guest.get('node')
    else:
        target = {'node': scrub.redact(node)}
        task_nodes = [node]
        log_node = node

    result = {'target': target, 'since': pvelogs.iso(since), 'until': pvelogs.iso(until), 'since_epoch': since,
              'until_epoch': until, 'tasks': [], 'tasks_truncated': False, 'syslog': [], 'guest_journal': []}

    if 'tasks' in sources:
        found = []
        for name in task_nodes:
            tasks, truncated = pvelogs.list_tasks(client, name, since, until, p['max_tasks'], vmid=vmid,
                                                  task_type=p['task_type'], errors_only=p['errors_only'])
            result['tasks_truncated'] = result['tasks_truncated'] or truncated
            found.extend(dict(t, node=t.get('node') or name) for t in tasks)
        found.sort(key=lambda t: (int(t.get('starttime') or 0), t['upid']))
        result['tasks'] = [_task_entry(client, scrub, task, p['max_lines']) for task in found]

    if 'syslog' in sources:
        lines, truncated = pvelogs.read_syslog(client, log_node, since, until, p['max_lines'], service=p['service'])
        rnode = scrub.redact(log_node)
        result['syslog'].append({'node': rnode, 'lines': scrub.redact_lines(lines), 'truncated': truncated,
                                 'file': 'syslog/{0}.log'.format(_file_part(rnode))})

    if 'guest_journal' in sources:
        lines, truncated = _guest_journal(module, client, log_node, vmid, since, until, p['max_lines'])
        result['guest_journal'].append({'vmid': vmid, 'lines': scrub.redact_lines(lines), 'truncated': truncated,
                                        'file': 'guest/{0}-journal.log'.format(vmid)})

    if p['redact']:
        counts = dict(scrub.counts)
        redaction = {'enabled': True, 'hostnames': bool(p['redact_hostnames']), 'counts': counts,
                     'distinct': scrub.distinct(), 'total': sum(counts.values())}
    else:
        zero = dict((category, 0) for category in CATEGORIES)
        redaction = {'enabled': False, 'hostnames': False, 'counts': zero, 'distinct': dict(zero), 'total': 0}
    return {'changed': False, 'logs': result, 'redaction': redaction}


def _target(module):
    if module.params.get('vmid') is not None:
        return 'guest {0}'.format(module.params['vmid'])
    return 'node {0}'.format(module.params.get('node'))


def main():
    module = ProxmoxModule(
        argument_spec=dict(
            node=dict(type='str'),
            vmid=dict(type='int'),
            since=dict(type='str'),
            until=dict(type='str'),
            sources=dict(type='list', elements='str', choices=['tasks', 'syslog', 'guest_journal']),
            task_type=dict(type='str'),
            errors_only=dict(type='bool', default=False),
            service=dict(type='str'),
            max_tasks=dict(type='int', default=50),
            max_lines=dict(type='int', default=1000),
            redact=dict(type='bool', default=True),
            redact_hostnames=dict(type='bool', default=False),
            timeout=dict(type='int', default=60),
        ),
        required_one_of=[('node', 'vmid')],
        supports_check_mode=True,
    )
    p = module.params
    for name in ('max_tasks', 'max_lines', 'timeout'):
        if p[name] < 1:
            module.fail_json(msg='{0} must be at least 1, got {1}'.format(name, p[name]))
    if p['vmid'] is None and p['sources'] and 'guest_journal' in p['sources']:
        module.fail_json(msg='sources guest_journal needs vmid: the journal of a guest')
    if p['redact_hostnames'] and not p['redact']:
        module.fail_json(msg='redact_hostnames needs redact: true')
    try:
        pvelogs.time_range(p['since'], p['until'], time.time())
    except ProxmoxConfigError as error:
        module.fail_json(msg=str(error))
    module.run(read_logs, target=_target)


if __name__ == '__main__':
    main()
