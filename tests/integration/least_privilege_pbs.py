# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least-privilege PBS API tokens built from docs/privileges.md, so its Proxmox Backup Server table is tested, not
believed (the PBS counterpart of least_privilege.py).

`pbs_grants(module, options=(), **where)` reads the module's row (a plugin's "PBS:" part) and turns its clauses
(`;`-separated, `` `Datastore.Audit` on `/datastore/<store>` ``) into {ACL path: privileges}. Text in parentheses
is explanation, not a grant. A clause starting `with remove_vanished:` (or any `with <option>:`) counts only when
the option is in `options`; `with another owner than the login` counts only with `other_owner` in `options`.
A clause starting `sync:`, `verify:` or `prune:` starts that job type's part of the cell: it and the clauses after it
count only when the type is in `options`. `<store>`, `<name>`, `<remote>`, `<remote_store>` are filled from
`where`.

PBS has fixed roles only, so `least_privilege_pbs_token(server, module, ...)` grants on each path the set of PBS
roles holding the fewest privileges beyond the row's (tests/lab/pbs/access.py ROLES) that holds the row's privileges there, to a user `lp-<module>@pbs`
and to its token `lp-<module>@pbs!ansible` (a token holds the intersection of both), all through the lab's PBS
API with the lab's Admin token. It returns (token id, secret, {path: [roles]}).
"""

import re

import requests

from tests.integration.least_privilege import DOC, _fill
from tests.lab.pbs.access import ROLES, UNMODELLED_ROLES

PRIV = re.compile(r'^[A-Z][A-Za-z]+\.[A-Za-z.]+$')
ON_PATH = re.compile(r'\bon `(/[^`]*)`')
SECTION = re.compile(r'^(sync|verify|prune)\s*:')
CONDITION = re.compile(r'^with (?:`?([a-z_]+)`?|another owner than the login[^:]*):')


def privileges_row(module, doc=DOC):
    """(reads, writes) cells of the module's (or plugin's: `` `proxmox` (inventory) ``) row."""
    with open(doc, encoding='utf-8') as handle:
        for line in handle:
            cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
            if cells and re.match(r'^`{0}`(?: \(\w+\))?$'.format(re.escape(module)), cells[0]):
                return cells[1], cells[2] if len(cells) > 2 else '-'
    raise KeyError('docs/privileges.md has no row for {0}'.format(module))


def pbs_grants(module, options=(), **where):
    """{ACL path: set of privileges} of the module's row in docs/privileges.md (reads and writes)."""
    grants = {}
    for cell in privileges_row(module):
        if 'PBS:' in cell:
            cell = cell.split('PBS:', 1)[1]
        _cell_grants(module, cell, options, where, grants)
    return grants


def _cell_grants(module, cell, options, where, grants):
    section = None
    for clause in re.sub(r'\([^)]*\)', '', cell).split(';'):
        clause = clause.strip()
        found = SECTION.match(clause)
        if found:
            section, clause = found.group(1), clause[found.end():].strip()
        if section and section not in options:
            continue
        condition = CONDITION.match(clause)
        if condition:
            if (condition.group(1) or 'other_owner') not in options:
                continue
            clause = clause[condition.end():]
        privs = [word for word in re.findall(r'`([^`]+)`', clause) if PRIV.match(word)]
        paths = ON_PATH.findall(clause)[:1]
        if not privs:
            continue
        if not paths:
            raise ValueError('{0}: a PBS privilege needs its ACL path: {1!r}'.format(module, clause))
        for filled in _fill(paths[0], where):
            grants.setdefault(filled, set()).update(privs)


def smallest_roles(privs):
    """The fixed PBS roles that together hold privs with the fewest privileges beyond them, then the fewest roles."""
    import itertools
    wanted = frozenset(privs)
    candidates = sorted(name for name, held in ROLES.items() if held and name not in UNMODELLED_ROLES)
    best = None
    for count in (1, 2, 3):
        for combo in itertools.combinations(candidates, count):
            held = frozenset().union(*(ROLES[name] for name in combo))
            if wanted <= held:
                key = (len(held - wanted), count, combo)
                best = key if best is None or key < best else best
    if best is None:
        raise ValueError('no PBS roles hold {0}'.format(', '.join(sorted(wanted))))
    return list(best[2])


def admin_call(server, method, where, **params):
    """A request with the lab's Admin token; the answer's data."""
    header = {'Authorization': 'PBSAPIToken={0}:{1}'.format(server.token_id, server.token_secret)}
    answer = requests.request(method, server.url + '/api2/json' + where, timeout=30, verify=server.ca_path,
                              headers=header, **({'params': params} if method == 'GET' else {'data': params}))
    if answer.status_code != 200:
        raise AssertionError('{0} {1}: {2} {3}'.format(method, where, answer.status_code, answer.text))
    return answer.json()['data']


def token_with(server, user, grants):
    """A user and its token `ansible` made through the API, both granted the smallest roles per path;
    (token id, secret, {path: roles})."""
    admin_call(server, 'POST', '/access/users', userid=user)
    made = admin_call(server, 'POST', '/access/users/{0}/token/ansible'.format(user))
    roles = {}
    for path, privs in sorted(grants.items()):
        roles[path] = smallest_roles(privs)
        for role in roles[path]:
            for auth_id in (user, made['tokenid']):
                admin_call(server, 'PUT', '/access/acl', path=path, role=role, **{'auth-id': auth_id})
    return made['tokenid'], made['value'], roles


def least_privilege_pbs_token(server, module, options=(), suffix='', **where):
    """A token holding what docs/privileges.md lists for module (and no more than the fixed roles force)."""
    user = 'lp-{0}{1}@pbs'.format(module.replace('_', '-'), suffix)
    return token_with(server, user, pbs_grants(module, options, **where))
