# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least-privilege API tokens built from docs/privileges.md, so that table is tested, not believed.

`privileges_row(module)` reads a module's row; `acl_grants(row, **where)` turns its clauses into
(privileges, ACL path) pairs (`` `VM.Snapshot` on `/vms/<vmid>` ``, "on the guest" -> `/vms/<vmid>`; no path: where
the privilege's kind lives, `VM.*` on `/vms/<vmid>`, `Datastore.*` on `/storage/<storage>`, the rest on `/`),
with `<vmid>`, `<node>`, `<storage>`, `<pool>` filled from `where` (a list gives one entry each); and
`least_privilege_token(cluster, module, **where)` makes, through the cluster's API, a role holding exactly those
privileges per path, a privilege-separated token `lp-<module>@pve!ansible`, and ACL entries for the user and the
token (a privilege-separated token holds the intersection of both). It returns the cluster's `pve_vars` with that
token. The user is put in the lab's state (the lab does not model `/access/users`).

A row that lists privileges per level (`cluster and security group: ...; node: ...; guest: ...`) is read for one
level with `level='node'`: only the clauses headed by that word (and those without a head) count, and the user is
`lp-<module>-<level>@pve`.
"""

import itertools
import os
import re

import requests

from tests.integration.conftest import pve_vars

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'docs',
                   'privileges.md')
PRIV = re.compile(r'^[A-Z][A-Za-z]+\.[A-Za-z.]+$')
ON_PATH = re.compile(r'\bon `(/[^`]*)`')
ON_WORDS = (
    (re.compile(r'\bon (?:the|its|every) (?:guests?|VMs?|containers?)\b'), '/vms/<vmid>'),
    (re.compile(r'\bon (?:the|its|every) nodes?\b'), '/nodes/<node>'),
    (re.compile(r'\bon (?:the|its|every) storages?\b'), '/storage/<storage>'),
)
# The head of a clause that names the level(s) it is for: `cluster and security group: `Sys.Audit` on `/``.
LEVEL_HEAD = re.compile(r'^\s*([a-z][a-z ]*):\s')


def privileges_row(module, doc=DOC):
    """(read, write) text of the module's row in docs/privileges.md."""
    with open(doc, encoding='utf-8') as handle:
        for line in handle:
            cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
            if cells and cells[0] == '`{0}`'.format(module):
                return cells[1], cells[2] if len(cells) > 2 else '-'
    raise KeyError('docs/privileges.md has no row for {0}'.format(module))


def _fill(path, where):
    """The ACL paths a path with placeholders stands for: one per value given."""
    names = re.findall(r'<([a-z_]+)>', path)
    choices = []
    for name in names:
        value = where.get(name)
        if value is None:
            raise KeyError('{0} needs a value for <{1}>'.format(path, name))
        choices.append(value if isinstance(value, (list, tuple)) else [value])
    out = []
    for combo in itertools.product(*choices):
        filled = path
        for name, value in zip(names, combo):
            filled = filled.replace('<{0}>'.format(name), str(value), 1)
        out.append(filled)
    return out


def acl_grants(text, major=None, level=None, **where):
    """{ACL path: set of privileges} for the clauses of one cell (`;`-separated). A privilege marked `(PVE N)` counts
    only when major (the cluster's major version) is N. With level, a clause headed by level words (`node: ...`)
    counts only when one of them is level."""
    grants = {}
    for clause in text.split(';'):
        head = LEVEL_HEAD.match(clause)
        if level is not None and head and level not in head.group(1).split():
            continue
        other = set(name for name, version in re.findall(r'`([^`]+)` \(PVE (\d+)\)', clause)
                    if major is not None and int(version) != major)
        privs = [word for word in re.findall(r'`([^`]+)`', clause) if PRIV.match(word) and word not in other]
        if not privs:
            continue
        paths = ON_PATH.findall(clause)[:1]
        if not paths:
            paths = [path for pattern, path in ON_WORDS if pattern.search(clause)][:1]
        for priv in privs:
            # A privilege named without a path is meant where its kind of object lives.
            for path in paths or [_home(priv)]:
                for filled in _fill(path, where):
                    grants.setdefault(filled, set()).add(priv)
    return grants


def _home(priv):
    for prefix, path in (('VM.', '/vms/<vmid>'), ('Datastore.', '/storage/<storage>'), ('Pool.', '/pool/<pool>')):
        if priv.startswith(prefix):
            return path
    return '/'


def least_privilege_token(cluster, module, level=None, **where):
    """A privilege-separated token holding only what docs/privileges.md lists for module (for one level of it, with
    level); the cluster's pve_vars with it. Made through the API as root (the role, the token, the ACL entries)."""
    name = module if level is None else '{0}-{1}'.format(module, level)
    user = 'lp-{0}@pve'.format(name.replace('_', '-'))
    cluster.pve.users[user] = 'lp-password'
    read, write = privileges_row(module)
    major = int(str(cluster.version).split('.', maxsplit=1)[0])
    grants = acl_grants(read + ';' + (write if write != '-' else ''), major=major, level=level, **where)

    def call(method, where, **params):
        answer = requests.request(method, cluster.url + '/api2/json' + where, data=params, timeout=30,
                                  verify=cluster.ca_path,
                                  headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id,
                                                                                         cluster.token_secret)})
        answer.raise_for_status()
        return answer.json()['data']

    made = call('POST', '/access/users/{0}/token/ansible'.format(user), privsep=1)
    for index, (path, privs) in enumerate(sorted(grants.items())):
        role = 'LP-{0}-{1}'.format(name, index)
        call('POST', '/access/roles', roleid=role, privs=','.join(sorted(privs)))
        call('PUT', '/access/acl', path=path, roles=role, users=user, tokens=made['full-tokenid'])
    out = pve_vars(cluster)
    out.update(token_id=made['full-tokenid'], token_secret=made['value'])
    return out
