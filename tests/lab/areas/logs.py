# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logs of the lab's nodes: the task list with PVE's filters, old tasks with their logs, the system log, the journal.

What PVE does (pve-manager PVE/API2/Tasks.pm and Nodes.pm, pve-common PVE::Tools::dump_journal):
- GET /nodes/{node}/tasks reads the node's task index newest first and filters by `since`/`until` (epochs compared
  with the start time), `vmid`, `typefilter` (exact type), `userfilter` (case-insensitive substring), `errors` and
  `statusfilter` (ok, warning, error, unknown), then `start` (offset) and `limit`; `source` is `archive` (finished
  tasks, the default), `active` (running ones, status RUNNING) or `all`.
- GET /nodes/{node}/syslog runs `journalctl -o short --no-pager [--unit] [--since] [--until]` (times in the node's
  local time) and pages its lines by `start` and `limit` (0 or unset: 50) as {n, t} with n counted from 1 over the
  whole output; nothing at all gives one line {n: 1, t: 'no content'}. A date journalctl cannot read fails the call
  with run_command's "command '...' failed: exit code 1".
- GET /nodes/{node}/journal (mini-journalreader -j) takes `since`/`until` as epochs, `lastentries`, and cursors; it
  answers plain text lines with the cursor of the first entry before them and the cursor of the last after them.
  (The `structured` form of newer releases is not modelled.)
- GET /nodes/{node}/time: {time, localtime, timezone}; localtime is the epoch shifted by the zone's offset.

The lab seeds, on first use, three days of old tasks and system log lines per node, dense with the personal data
and credentials that real logs hold: e-mail addresses, IPv4 and IPv6 addresses, MAC addresses, login tickets, API
tokens and host names. SEEDED_SECRETS lists every such value, so tests can prove none leaves a redacted read.
The old tasks live beside fakepve's task log (pve.archived_tasks), so suites counting pve.tasklog see no change.
"""

import datetime
import hashlib
import re
import time

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes

from ._common import all_guests

SEED_DAYS = 3
SYSLOG_STEP = 15 * 60
TASK_STEP = 2 * 3600
# The lab's nodes keep central European winter time, so that a client must convert epochs to the node's local time.
TIMEZONE = ('Europe/Vienna', 3600)

TICKET = 'PVE:backup@pve:6740A1B2::c2lnbmF0dXJlLW9mLXRoZS1sYWItdGlja2V0LTAxMjM0NTY3ODk='
TOKEN_SECRET = '5f1d1b7e-3c2a-4e59-9d7a-2b8e4c6f0a11'
TOKEN = 'automation@pve!ansible=' + TOKEN_SECRET
SEEDED_SECRETS = {
    'email': ['jane.doe@example.com', 'ops-team@example.org', 'admin@example.net', 'John.Smith@Example.COM'],
    'ipv4': ['198.51.100.23', '203.0.113.7', '10.10.0.57', '192.0.2.80', '172.16.4.20'],
    'ipv6': ['2001:db8:42::17', '2001:db8::123', 'fe80::be24:11ff:fe5e:7a01'],
    'mac': ['bc:24:11:5e:7a:01', 'BC:24:11:9F:00:3C', '52-54-00-12-34-56'],
    'ticket': [TICKET, TICKET.split('::')[1]],
    'token': [TOKEN, TOKEN_SECRET],
    'hostname': ['mail.example.net', 'ntp1.example.net', 'backup01.corp.example.com'],
}

# Templates of system log lines: (identifier, unit, message). {node}, {peer} and {vmid} are filled in.
SYSLOG_TEMPLATES = (
    ('pvedaemon', 'pvedaemon', "authentication failure; rhost=::ffff:198.51.100.23 user=jane.doe@example.com@pve "
                               "msg=no such user ('jane.doe@example.com@pve')"),
    ('sshd', 'ssh', 'Accepted publickey for root from 203.0.113.7 port 51234 ssh2: ED25519 SHA256:x9Qm'),
    ('postfix/smtp', 'postfix@-', '4F2A81C0A2: to=<ops-team@example.org>, relay=mail.example.net[192.0.2.80]:25, '
                                  'delay=0.52, status=sent (250 2.0.0 Ok: queued)'),
    ('dnsmasq-dhcp', 'dnsmasq@vnet1', 'DHCPACK(vnet1) 10.10.0.57 bc:24:11:5e:7a:01 web01'),
    ('kernel', None, 'vmbr0: port 2(tap{vmid}i0) entered forwarding state; fwbr{vmid}i0 address BC:24:11:9F:00:3C'),
    ('chronyd', 'chrony', 'Selected source 2001:db8::123 (ntp1.example.net)'),
    ('cron-backup', 'cron', 'curl -sS -b PVEAuthCookie=' + TICKET + ' https://{node}.example.com:8006/api2/json/'
                            'nodes (from 172.16.4.20)'),
    ('ansible-pull', 'ansible-pull', 'calling https://backup01.corp.example.com:8007 with Authorization: '
                                     'PVEAPIToken=' + TOKEN),
    ('corosync', 'corosync', '[KNET  ] link: host: 2 link: 0 is up; peer {peer} at 2001:db8:42::17'),
    ('pvedaemon', 'pvedaemon', '<root@pam> successful auth for user \'John.Smith@Example.COM@pve\''),
    ('qemu-guest-agent', 'qemu-guest-agent', 'guest {vmid} reports eth0 fe80::be24:11ff:fe5e:7a01 and '
                                             'mac 52-54-00-12-34-56'),
    ('pve-ha-lrm', 'pve-ha-lrm', "successfully acquired lock 'ha_agent_{node}_lock'"),
)

# Old tasks: (type, for a guest, exit status, log lines). {vmid}, {node} and {peer} are filled in.
TASK_TEMPLATES = (
    ('vzdump', True, 'OK', (
        'INFO: starting new backup job: vzdump {vmid} --mailto admin@example.net --storage pbs --mode snapshot',
        'INFO: Starting Backup of VM {vmid} (qemu)',
        'INFO: creating Proxmox Backup Server archive \'vm/{vmid}/2026-11-20T01:00:00Z\' on 192.0.2.80:8007',
        'INFO: Finished Backup of VM {vmid} (00:00:42)',
        'INFO: sending mail to admin@example.net',
        'TASK OK')),
    ('qmigrate', True, 'OK', (
        'starting migration of VM {vmid} to node \'{peer}\' (172.16.4.20)',
        'found local disk \'local-lvm:vm-{vmid}-disk-0\' (attached)',
        'ssh tunnel: root@2001:db8:42::17, mac BC:24:11:9F:00:3C',
        'migration finished successfully (duration 00:00:12)',
        'TASK OK')),
    ('vzdump', True, 'job errors', (
        'INFO: starting new backup job: vzdump {vmid} --mailto ops-team@example.org --storage pbs',
        'ERROR: Backup of VM {vmid} failed - connection to backup01.corp.example.com (192.0.2.80) refused',
        'INFO: Failed at 2026-11-21 01:00:07',
        'TASK ERROR: job errors')),
    ('aptupdate', False, 'OK', (
        'starting apt-get update',
        'Get:1 http://download.proxmox.com/debian/pve trixie InRelease',
        'notify admin@example.net: 3 updates; ticket ' + TICKET,
        'TASK OK')),
    ('vncproxy', True, 'OK', (
        'starting vnc proxy UPID for {vmid} from 203.0.113.7 with PVEAPIToken=' + TOKEN,
        'TASK OK')),
)

_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')
_SYSLOG_TIME_RE = re.compile(r'^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$')
_STATUS_TYPES = ('ok', 'warning', 'error', 'unknown')


def status_type(status):
    """PVE::UPID::normalize_status_type: a task's exit status as ok, warning, error or unknown."""
    if not status:
        return 'unknown'
    if status == 'OK':
        return 'ok'
    if re.match(r'^WARNINGS: \d+$', status):
        return 'warning'
    return 'error'


def _cursor(node, index, stamp):
    """A journal cursor in systemd's shape (s=;i=;b=;m=;t=;x=)."""
    digest = hashlib.sha1('{0}-{1}'.format(node, index).encode()).hexdigest()
    return 's={0};i={1:x};b={2};m={3:x};t={4:x};x={5}'.format(
        digest[:32], 4096 + index, digest[8:40], index * 1000000, stamp * 1000000, digest[:16])


class LogsArea(StatefulRoutes):
    """Mixin of the lab's PVE: task list filters, old tasks, the system log and the journal of every node."""

    timezone = TIMEZONE

    def _routes_logs(self):
        return [('GET', '/nodes/{node}/syslog', self._syslog),
                ('GET', '/nodes/{node}/journal', self._journal),
                ('GET', '/nodes/{node}/time', self._node_time)]

    # ------------------------------------------------------------------ seeds

    def _log_seed(self):
        """Seed every node's old tasks and system log once, relative to the first time they are read."""
        if getattr(self, 'archived_tasks', None) is not None:
            return
        now = int(time.time())
        self.archived_tasks = []
        self.journal_entries = {}
        guests = all_guests(self)
        nodes = sorted(self.nodes)
        for idx, node in enumerate(nodes):
            peer = nodes[(idx + 1) % len(nodes)]
            mine = [g for g in guests if g.node == node] or guests[:1]
            vmid = mine[0].vmid if mine else 100
            entries = []
            count = SEED_DAYS * 86400 // SYSLOG_STEP
            for number in range(count):
                stamp = now - (count - number) * SYSLOG_STEP + idx
                ident, unit, message = SYSLOG_TEMPLATES[number % len(SYSLOG_TEMPLATES)]
                entries.append({'time': stamp, 'ident': ident, 'unit': unit, 'pid': 1000 + number % 97,
                                'message': message.format(node=node, peer=peer, vmid=vmid)})
            self.journal_entries[node] = entries
            count = SEED_DAYS * 86400 // TASK_STEP
            for number in range(count):
                start = now - (count - number) * TASK_STEP + 60 + idx
                ttype, for_guest, status, lines = TASK_TEMPLATES[number % len(TASK_TEMPLATES)]
                guest = mine[number % len(mine)] if mine else None
                tid = str(guest.vmid) if for_guest and guest else ''
                pid = 200000 + idx * 1000 + number
                user = 'root@pam' if number % 3 else 'automation@pve!ansible'
                upid = 'UPID:{0}:{1:08X}:{2:08X}:{3:08X}:{4}:{5}:{6}:'.format(node, pid, pid * 7, start, ttype, tid, user)
                self.archived_tasks.append({
                    'upid': upid, 'node': node, 'pid': pid, 'pstart': pid * 7, 'starttime': start, 'type': ttype,
                    'id': tid, 'user': user, 'status': 'stopped', 'exitstatus': status, 'endtime': start + 42,
                    'log': [line.format(vmid=tid or vmid, node=node, peer=peer) for line in lines]})

    def add_journal_entry(self, node, message, ident='pvedaemon', unit='pvedaemon', stamp=None):
        """Log a line in a node's system log (now, unless stamp is given)."""
        self._log_seed()
        entry = {'time': int(time.time() if stamp is None else stamp), 'ident': ident, 'unit': unit,
                 'pid': 4242, 'message': message}
        self.journal_entries.setdefault(node, []).append(entry)
        self.journal_entries[node].sort(key=lambda e: e['time'])

    def _local(self, epoch):
        return datetime.datetime.fromtimestamp(int(epoch) + self.timezone[1], datetime.timezone.utc)

    def _short_line(self, node, entry):
        """journalctl -o short: 'Nov 22 07:01:21 pve1 sshd[1042]: message', in the node's local time."""
        moment = self._local(entry['time'])
        pid = '[{0}]'.format(entry['pid']) if entry['ident'] != 'kernel' else ''
        return '{0} {1:2d} {2} {3} {4}{5}: {6}'.format(_MONTHS[moment.month - 1], moment.day, moment.strftime('%H:%M:%S'),
                                                       node, entry['ident'], pid, entry['message'])

    # ------------------------------------------------------------------ tasks

    def _all_tasks(self):
        self._log_seed()
        return list(self.archived_tasks) + list(self.tasklog)

    def _get_task(self, request):
        """fakepve's lookup, which also finds the old tasks the lab seeded."""
        self._log_seed()
        upid = request.match_info['upid']
        if upid not in self.tasks:
            for task in self.archived_tasks:
                if task['upid'] == upid and task['node'] == request.match_info['node']:
                    user = self._request_user(request)
                    if not self._task_owner(user, task):
                        self.require(user, '/nodes/' + task['node'], 'Sys.Audit')
                    return task
        return super()._get_task(request)

    @staticmethod
    def _request_user(request):
        from fakepve.server import USER
        return request[USER]

    async def _task_list(self, request):
        """GET /nodes/{node}/tasks with PVE's filters; newest first, running tasks first with source active/all."""
        from fakepve.server import ok, params
        node = request.match_info['node']
        user = self._request_user(request)
        p = self._verify(request, await params(request))
        if node not in self.nodes:
            raise PveError(500, "hostname lookup '{0}' failed - failed to get address info for: {0}: "
                                "Name or service not known".format(node))
        start, limit = int(p.get('start') or 0), int(p.get('limit', 50))
        source = p.get('source') or 'archive'
        errors = bool(int(p.get('errors') or 0))
        statuses = set(_STATUS_TYPES)
        if p.get('statusfilter') is not None and not errors:
            statuses = set(item.lower() for item in re.split(r'[\s,;]+', p['statusfilter']) if item)
        elif errors:
            statuses.discard('ok')
        auditor = self.allowed(user, '/nodes/' + node, 'Sys.Audit')
        since, until, vmid = p.get('since'), p.get('until'), p.get('vmid')
        userfilter, typefilter = p.get('userfilter'), p.get('typefilter')
        counted = [0]

        def keep(task, status):
            # PVE splits a token's task owner into user and tokenid before it filters.
            if userfilter and userfilter.lower() not in task['user'].split('!')[0].lower():
                return False
            if not (auditor or self._task_owner(user, task)):
                return False
            if typefilter and task['type'] != typefilter:
                return False
            if vmid and (not task['id'] or task['id'] != str(vmid)):
                return False
            if since is not None and task['starttime'] < int(since):
                return False
            if until is not None and task['starttime'] > int(until):
                return False
            if status_type(status) not in statuses:
                return False
            counted[0] += 1
            return counted[0] > start

        mine = sorted((t for t in self._all_tasks() if t['node'] == node), key=lambda t: -t['starttime'])
        out = []
        if source in ('active', 'all'):
            for task in mine:
                if task['status'] == 'running' and keep(task, None) and len(out) < limit:
                    out.append(dict(self._listed(task), status='RUNNING'))
        if source != 'active':
            for task in mine:
                if task['status'] != 'running' and keep(task, task.get('exitstatus')) and len(out) < limit:
                    out.append(self._listed(task))
        return ok(out)

    def _listed(self, task):
        """A task as the list shows it: a token's task has the user in `user` and the token's name in `tokenid`."""
        view = self._task_view(task, True)
        if '!' in view['user']:
            view['user'], view['tokenid'] = view['user'].split('!', 1)
        return view

    # -------------------------------------------------------------- system log

    async def _node_time(self, v, user):
        now = int(time.time())
        return {'time': now, 'localtime': now + self.timezone[1], 'timezone': self.timezone[0]}

    def _syslog_epoch(self, text, option):
        """A since/until value as journalctl reads it: the node's local time; its failure as PVE reports it."""
        if text is None:
            return None
        moment = None
        for form in ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d'):
            try:
                moment = datetime.datetime.strptime(text, form)
                break
            except ValueError:
                continue
        if moment is None:
            quoted = "'{0}'".format(text) if ' ' in text else text
            raise PveError(500, "command 'journalctl -o short --no-pager --{0} {1}' failed: exit code 1".format(
                option, quoted))
        return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()) - self.timezone[1]

    @staticmethod
    def _unit_matches(entry, unit):
        aliases = {'postfix': 'postfix@-', 'sshd': 'ssh'}
        unit = aliases.get(unit, unit)
        return entry['unit'] is not None and (entry['unit'] == unit or entry['unit'] + '.service' == unit)

    async def _syslog(self, v, user):
        """GET /nodes/{node}/syslog: journalctl's short lines in the range, paged."""
        self._log_seed()
        node = v['node']
        since = self._syslog_epoch(v.get('since'), 'since')
        until = self._syslog_epoch(v.get('until'), 'until')
        service = v.get('service')
        lines = []
        for entry in self.journal_entries.get(node, []):
            if service and not self._unit_matches(entry, service):
                continue
            if (since is not None and entry['time'] < since) or (until is not None and entry['time'] > until):
                continue
            lines.append(self._short_line(node, entry))
        start = int(v.get('start') or 0)
        limit = int(v.get('limit') or 0) or 50
        if not lines:
            return [{'n': 1, 't': 'no content'}]
        return [{'n': n + 1, 't': text} for n, text in enumerate(lines)][start:start + limit]

    async def _journal(self, v, user):
        """GET /nodes/{node}/journal: lines between two epochs (or the last ones), framed by their cursors."""
        self._log_seed()
        node = v['node']
        entries = list(enumerate(self.journal_entries.get(node, [])))
        since, until = v.get('since'), v.get('until')
        if since:
            entries = [(i, e) for i, e in entries if e['time'] >= int(since)]
        if until:
            entries = [(i, e) for i, e in entries if e['time'] <= int(until)]
        cursors = dict((_cursor(node, i, e['time']), i) for i, e in enumerate(self.journal_entries.get(node, [])))
        if v.get('startcursor') in cursors:
            entries = [(i, e) for i, e in entries if i > cursors[v['startcursor']]]
        if v.get('endcursor') in cursors:
            entries = [(i, e) for i, e in entries if i < cursors[v['endcursor']]]
        if v.get('lastentries'):
            entries = entries[-int(v['lastentries']):]
        if not entries:
            return []
        first, last = entries[0], entries[-1]
        return ([_cursor(node, first[0], first[1]['time'])] + [self._short_line(node, e) for _i, e in entries]
                + [_cursor(node, last[0], last[1]['time'])])
