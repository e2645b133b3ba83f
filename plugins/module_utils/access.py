# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Access control: ACL entries of one path, planned against `GET /access/acl` and written through `PUT /access/acl`.

An ACL entry is (path, type, ugid, roleid) with a `propagate` flag; `PUT /access/acl` sets or (with `delete`) removes
every role x user/group/token pair it names in one locked write of user.cfg, so a plan is at most one write that
adds or updates, then one removal per role for `purge`.
"""

from __future__ import annotations

import re
from typing import Dict, List

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

KINDS = ('user', 'group', 'token')
# pve-access-control's user id (name@realm), group id and token id (user!name) formats.
USER_ID = re.compile(r'^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$')
GROUP_ID = re.compile(r'^[A-Za-z0-9.\-_]+$')
TOKEN_ID = re.compile(r'^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+![A-Za-z][A-Za-z0-9.\-_]+$')
CHECKS = {'user': (USER_ID, 'name@realm'), 'group': (GROUP_ID, 'letters, digits, ".", "-" and "_"'),
          'token': (TOKEN_ID, 'name@realm!tokenid')}


def normalize_path(path):
    """PVE::AccessControl::normalize_path: one leading `/`, no repeated or trailing `/`."""
    text = str(path or '').strip()
    if not text.startswith('/'):
        raise ProxmoxConfigError('ACL path {0!r} is not valid: it starts with "/" (/, /vms/100, /storage/local, '
                                 '/pool/web ...)'.format(path))
    return '/' + '/'.join(part for part in text.split('/') if part)


def check_ids(kind, ids):
    pattern, form = CHECKS[kind]
    for ident in ids:
        if not pattern.match(ident):
            raise ProxmoxConfigError('{0} {1!r} is not valid: write it as {2}'.format(kind, ident, form))


def entry_key(entry):
    return (entry['type'], entry['ugid'], entry['roleid'])


def canonical(entry):
    """An entry of `GET /access/acl` as results and diffs show it."""
    return {'path': entry['path'], 'type': entry['type'], 'ugid': entry['ugid'], 'roleid': entry['roleid'],
            'propagate': bool(int(entry.get('propagate', 1)))}


def entries_of(acl, path):
    """The entries of one path in a `GET /access/acl` answer, canonical and sorted."""
    return _sorted(canonical(e) for e in acl or [] if e.get('path') == path)


def _sorted(entries):
    return sorted(entries, key=lambda e: (KINDS.index(e['type']) if e['type'] in KINDS else 9, e['ugid'], e['roleid']))


class AclPlan(object):
    """What to write on one path. put: params of the one set-or-update call (None: nothing to add); deletes:
    params of removal calls; before/after: the managed entries; final: every entry of the path afterwards."""

    def __init__(self):
        self.put = None
        self.deletes = []
        self.before = []
        self.after = []
        self.final = []

    @property
    def changed(self):
        return self.put is not None or bool(self.deletes)


def plan(current, path, roles, members, propagate=True, state='present', purge=False):
    """Plan the entries roles x members (kind -> list of ids) on path against `current` (GET /access/acl).

    present: each entry exists with `propagate`; purge: every other entry of the path goes. absent: they go.
    """
    on_path = [canonical(e) for e in current or [] if e.get('path') == path]
    have = dict((entry_key(e), e) for e in on_path)
    wanted = dict(((kind, ugid, role), {'path': path, 'type': kind, 'ugid': ugid, 'roleid': role,
                                        'propagate': bool(propagate)})
                  for role in roles for kind in KINDS for ugid in members.get(kind) or [])
    out = AclPlan()
    removed = []
    if state == 'absent':
        removed = [have[key] for key in wanted if key in have]
        managed = set(wanted)
        final = [e for e in on_path if entry_key(e) not in wanted]
    else:
        missing = [e for key, e in wanted.items() if have.get(key) != e]
        if missing:
            out.put = {'path': path, 'roles': ','.join(sorted(roles)), 'propagate': 1 if propagate else 0}
            for kind in KINDS:
                if members.get(kind):
                    out.put[kind + 's'] = ','.join(sorted(members[kind]))
        if purge:
            removed = [e for key, e in have.items() if key not in wanted]
        managed = set(wanted) | set(entry_key(e) for e in removed)
        gone = set(entry_key(e) for e in removed)
        final = [e for e in on_path if entry_key(e) not in wanted and entry_key(e) not in gone] + list(wanted.values())
    by_role: Dict[str, Dict[str, List[str]]] = {}
    for entry in removed:
        by_role.setdefault(entry['roleid'], {}).setdefault(entry['type'], []).append(entry['ugid'])
    for role in sorted(by_role):
        params = {'path': path, 'roles': role, 'delete': 1}
        for kind, ids in sorted(by_role[role].items()):
            params[kind + 's'] = ','.join(sorted(ids))
        out.deletes.append(params)
    out.before = _sorted(e for e in on_path if entry_key(e) in managed)
    out.after = _sorted(e for e in final if entry_key(e) in managed)
    out.final = _sorted(final)
    return out
