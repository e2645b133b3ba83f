# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's state: tasks (UPIDs), datastores with their snapshots and chunks, the keep rules, config digests.

A snapshot is a set of files; each index file is a list of chunks (digest, size). A datastore holds the chunks
once each (its chunk store), so deduplication follows from what is stored: logical bytes (every index's chunks,
repeats counted) over unique chunk bytes. Chunks no snapshot refers to any more stay until garbage collection.
"""

import datetime
import hashlib
import os
import time


class PbsError(Exception):
    """An error answer: HTTP status and PBS's message (the body of the answer)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def param_error(name, message):
    """PBS's param_bail!: a 400 naming the parameter."""
    return PbsError("parameter verification errors\n\nparameter '{0}': {1}\n".format(name, message))


def escape_unit(text):
    """systemd's unit-name escaping, which PBS applies to a task's worker id in its UPID."""
    out = []
    for idx, char in enumerate(text.encode('utf-8')):
        if char == ord('/'):
            out.append('-')
        elif (idx == 0 and char == ord('.')) or not (chr(char).isascii() and (chr(char).isalnum() or chr(char) in '_.')):
            out.append('\\x{0:02x}'.format(char))
        else:
            out.append(chr(char))
    return ''.join(out)


def unescape_unit(text):
    out, idx = bytearray(), 0
    while idx < len(text):
        if text.startswith('\\x', idx):
            out.append(int(text[idx + 2:idx + 4], 16))
            idx += 4
            continue
        out += b'/' if text[idx] == '-' else text[idx].encode('utf-8')
        idx += 1
    return out.decode('utf-8')


class Task(object):
    """One worker task: its UPID, log and end."""

    def __init__(self, task_id, worker_type, worker_id, auth_id, now):
        self.pid = os.getpid() & 0xFFFFFFFF
        self.pstart = int(time.monotonic() * 100) & 0xFFFFFFFF
        self.task_id = task_id
        self.starttime = int(now)
        self.worker_type = worker_type
        self.worker_id = worker_id
        self.auth_id = auth_id
        self.upid = 'UPID:localhost:{0:08X}:{1:08X}:{2:08X}:{3:08X}:{4}:{5}:{6}:'.format(
            self.pid, self.pstart, task_id, self.starttime, worker_type, escape_unit(worker_id or ''), auth_id)
        self.lines = []
        self.warnings = 0
        self.exitstatus = None
        self.endtime = None

    @property
    def running(self):
        return self.exitstatus is None

    def log(self, text):
        self.lines.append(str(text))

    def warn(self, text):
        self.warnings += 1
        self.lines.append('WARN: {0}'.format(text))

    def finish(self, error=None, now=None):
        if error is not None:
            self.exitstatus = str(error)
            self.lines.append('TASK ERROR: {0}'.format(error))
        elif self.warnings:
            self.exitstatus = 'WARNINGS: {0}'.format(self.warnings)
            self.lines.append('TASK WARNINGS: {0}'.format(self.warnings))
        else:
            self.exitstatus = 'OK'
            self.lines.append('TASK OK')
        self.endtime = int(now if now is not None else time.time())

    def status(self):
        user, _sep, token = self.auth_id.partition('!')
        out = {'upid': self.upid, 'node': 'localhost', 'pid': self.pid, 'pstart': self.pstart,
               'starttime': self.starttime, 'type': self.worker_type, 'user': user,
               'status': 'running' if self.running else 'stopped'}
        if self.worker_id is not None:
            out['id'] = self.worker_id
        if token:
            out['tokenid'] = token
        if not self.running:
            # PBS 4 adds the end time (the 4.x schema has it)
            out['exitstatus'] = self.exitstatus
            out['endtime'] = self.endtime
        return out


# ---------------------------------------------------------------- snapshots

def chunk_digest(seed):
    """A chunk digest (sha256 hex) made from any seed: the same seed gives the same chunk."""
    return hashlib.sha256(str(seed).encode('utf-8')).hexdigest()


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class Snapshot(object):
    """One backup snapshot: ns, type, id, time, files {name: [(digest, size), ...] or a blob size}."""

    def __init__(self, ns, backup_type, backup_id, backup_time, files, owner, comment=None, protected=False):
        self.ns = ns or ''
        self.backup_type = backup_type
        self.backup_id = backup_id
        self.backup_time = int(backup_time)
        self.files = files
        self.owner = owner
        self.comment = comment
        self.protected = protected
        self.verification = None

    @property
    def key(self):
        return (self.ns, self.backup_type, self.backup_id, self.backup_time)

    @property
    def group(self):
        return (self.ns, self.backup_type, self.backup_id)

    def path(self):
        """vm/100/2024-01-01T00:00:00Z, the form task logs use."""
        return '{0}/{1}/{2}'.format(self.backup_type, self.backup_id, rfc3339(self.backup_time))

    def chunks(self):
        """Every (digest, size) of the snapshot's indexes, repeats included."""
        for value in self.files.values():
            if isinstance(value, list):
                yield from value

    def file_size(self, name):
        value = self.files[name]
        return sum(size for _digest, size in value) if isinstance(value, list) else int(value)

    @property
    def size(self):
        return sum(self.file_size(name) for name in self.files)

    def item(self):
        """The snapshot as GET .../snapshots lists it."""
        out = {'backup-type': self.backup_type, 'backup-id': self.backup_id, 'backup-time': self.backup_time,
               'files': [{'filename': name, 'size': self.file_size(name), 'crypt-mode': 'none'}
                         for name in sorted(self.files)],
               'size': self.size, 'owner': self.owner, 'protected': self.protected}
        if self.comment is not None:
            out['comment'] = self.comment
        if self.verification is not None:
            out['verification'] = dict(self.verification)
        return out

    def copy(self, ns, owner):
        clone = Snapshot(ns, self.backup_type, self.backup_id, self.backup_time, dict(self.files), owner,
                         comment=self.comment)
        return clone


def ns_depth(ns):
    return 0 if not ns else ns.count('/') + 1


def ns_within(ns, parent, max_depth=None):
    """True when ns is parent or below it, at most max_depth levels down."""
    if parent and ns != parent and not ns.startswith(parent + '/'):
        return False
    return max_depth is None or ns_depth(ns) - ns_depth(parent) <= max_depth


class Datastore(object):
    """A datastore: its config, namespaces, snapshots and chunk store."""

    def __init__(self, name, config, capacity):
        self.name = name
        self.config = config
        self.capacity = capacity
        self.namespaces = {''}
        self.snapshots = {}
        self.chunks = {}
        self.bad_chunks = set()
        self.gc = None

    # usage and deduplication follow from the chunk store
    def used(self):
        return sum(self.chunks.values())

    def referenced(self):
        """{digest: size} of the chunks some snapshot still uses."""
        out = {}
        for snap in self.snapshots.values():
            for digest, size in snap.chunks():
                out[digest] = size
        return out

    def index_bytes(self):
        return sum(size for snap in self.snapshots.values() for _digest, size in snap.chunks())

    def index_files(self):
        return sum(1 for snap in self.snapshots.values() for value in snap.files.values() if isinstance(value, list))

    def dedup(self):
        """Logical bytes over unique chunk bytes of what snapshots refer to (1.0 for an empty store)."""
        unique = sum(self.referenced().values())
        return float(self.index_bytes()) / unique if unique else 1.0

    def status(self):
        used = self.used()
        return {'total': self.capacity, 'used': used, 'avail': max(self.capacity - used, 0)}

    def counts(self, keep=None):
        """Groups and snapshots per backup type (of the snapshots keep(snapshot) accepts, when given)."""
        out = {}
        for kind in ('ct', 'host', 'vm'):
            snaps = [s for s in self.snapshots.values() if s.backup_type == kind and (keep is None or keep(s))]
            groups = set(s.group for s in snaps)
            if snaps:
                out[kind] = {'groups': len(groups), 'snapshots': len(snaps)}
        return out

    def add(self, snap):
        self.snapshots[snap.key] = snap
        self.namespaces.add(snap.ns)
        for digest, size in snap.chunks():
            self.chunks[digest] = size

    def select(self, ns='', max_depth=None, backup_type=None, backup_id=None):
        """Snapshots in ns (and below, up to max_depth), oldest first."""
        out = [s for s in self.snapshots.values() if ns_within(s.ns, ns, max_depth)
               and (backup_type is None or s.backup_type == backup_type)
               and (backup_id is None or s.backup_id == backup_id)]
        return sorted(out, key=lambda s: (s.ns, s.backup_type, s.backup_id, s.backup_time))

    def groups(self, snaps):
        out = {}
        for snap in snaps:
            out.setdefault(snap.group, []).append(snap)
        return out


# -------------------------------------------------------------- keep rules

KEEP_PERIODS = (
    ('keep-last', None),
    ('keep-hourly', '%Y/%m/%d/%H'),
    ('keep-daily', '%Y/%m/%d'),
    ('keep-weekly', '%G/%V'),
    ('keep-monthly', '%Y/%m'),
    ('keep-yearly', '%Y'),
)


def prune_marks(snaps, keep):
    """{snapshot key: 'keep' | 'remove' | 'protected'} for one group, as PBS selects: newest first, option by
    option, each keeping the newest snapshot of as many periods as it allows. No keep option keeps everything."""
    if not any(keep.get(name) for name, _fmt in KEEP_PERIODS):
        return dict((s.key, 'keep') for s in snaps)
    newest = sorted(snaps, key=lambda s: s.backup_time, reverse=True)
    marks = {}
    for name, fmt in KEEP_PERIODS:
        count = keep.get(name)
        if not count:
            continue

        def period(snap, fmt=fmt):
            if fmt is None:
                return snap.key
            return datetime.datetime.fromtimestamp(snap.backup_time, datetime.timezone.utc).strftime(fmt)
        already = set(period(s) for s in newest if marks.get(s.key) == 'keep')
        chosen = set()
        for snap in newest:
            if snap.key in marks:
                continue
            if snap.protected:
                marks[snap.key] = 'protected'
                continue
            sel = period(snap)
            if sel in already:
                continue
            if sel not in chosen:
                if len(chosen) >= count:
                    break
                chosen.add(sel)
                marks[snap.key] = 'keep'
            else:
                marks[snap.key] = 'remove'
    for snap in newest:
        marks.setdefault(snap.key, 'protected' if snap.protected else 'remove')
    return marks


# ------------------------------------------------------------------ configs

def render_section(kind, sections):
    """A section config file's text as PBS writes it ({id: {key: value}}): its sha256 is the digest."""
    lines = []
    for ident in sorted(sections):
        lines.append('{0}: {1}'.format(kind(sections[ident]) if callable(kind) else kind, ident))
        for key in sorted(sections[ident]):
            value = sections[ident][key]
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            elif isinstance(value, list):
                value = ','.join(str(v) for v in value)
            lines.append('\t{0} {1}'.format(key, value))
        lines.append('')
    return '\n'.join(lines)


def digest_of(kind, sections):
    return hashlib.sha256(render_section(kind, sections).encode('utf-8')).hexdigest()
