# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Least-privilege API tokens built from docs/privileges.md, so that table is tested, not believed.

`privileges_row(module)` reads a module's row; `acl_grants(row, **where)` turns its clauses into
(privileges, ACL path) pairs (`` `VM.Snapshot` on `/vms/<vmid>` ``, "on the guest" -> `/vms/<vmid>`; no path: where
the privilege's kind lives, `VM.*` on `/vms/<vmid>`, `Datastore.*` on `/storage/<storage>`, the rest on `/`),
with `<vmid>`, `<node>`, `<storage>`, `<pool>` filled from `where` (a list gives one entry each); and
`acl_grants(row, precise=True, ...)` reads a cell phrase by phrase instead (see `precise_grants`): each
comma-separated phrase on its own path, `A` or `B` as alternatives of which one is granted, `.Memory` after
`VM.Config.CPU` as `VM.Config.Memory`, `on `/vms/<vmid>` or `/pool/<pool>`` as the first path whose placeholders
are given, parenthesised remarks left out. `least_privilege_token(cluster, module, **where)` makes, through the cluster's API, a role holding exactly those
privileges per path, a privilege-separated token `lp-<module>@pve!ansible`, and ACL entries for the user and the
token (a privilege-separated token holds the intersection of both). It returns the cluster's `pve_vars` with that
token. The user is put straight into the lab's login table (as a realm would have it).

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
    """(read, write) text of the module's row in docs/privileges.md; 'pve_migrate (target cluster)' names the row
    `pve_migrate` (target cluster)."""
    name, _sep, qualifier = module.partition(' (')
    wanted = '`{0}` ({1}'.format(name, qualifier) if qualifier else None
    with open(doc, encoding='utf-8') as handle:
        for line in handle:
            cells = [cell.strip() for cell in line.strip().strip('|').split('|')]
            if not cells:
                continue
            plain = cells[0] == '`{0}`'.format(module) or cells[0].startswith('`{0}` ('.format(module))
            if (cells[0] == wanted) if wanted else plain:
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


def acl_grants(text, major=None, level=None, precise=False, pick=0, skip=(), **where):
    """{ACL path: set of privileges} for the clauses of one cell (`;`-separated). A privilege marked `(PVE N)` counts
    only when major (the cluster's major version) is N. With level, a clause headed by level words (`node: ...`)
    counts only when one of them is level. With precise, phrase by phrase (precise_grants)."""
    if precise:
        return precise_grants(text, major=major, pick=pick, skip=skip, **where)
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


# precise mode: more words for where a privilege is granted, and the kinds' homes it adds.
PRECISE_WORDS = (
    (re.compile(r"\bon (?:the|its|every|a) [\w' -]*?storages?\b"), '/storage/<storage>'),
    (re.compile(r'\bon (?:the|its|every) [\w\' -]*?vnets?\b'), '/sdn/zones/<zone>/<bridge>'),
    (re.compile(r'\bon the source\b'), '/vms/<source>'),
)
ON_PATHS = re.compile(r'\bon `(/[^`]*)`((?:,? or `/[^`]*`)*)')
ALTERNATIVE = re.compile(r'^\s*(?:\(PVE \d+\))?\s*or\s*$')


def _top_level(text, sep):
    """text split at sep outside parentheses; the parenthesised parts left out."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == '(':
            depth += 1
        elif char == ')':
            depth = max(depth - 1, 0)
        elif depth == 0 and char == sep:
            parts.append(''.join(current))
            current = []
        elif depth == 0:
            current.append(char)
    parts.append(''.join(current))
    return parts


def _phrase_privileges(phrase, versioned, prefix, major, pick):
    """The privileges one phrase grants (one of each `A` or `B`), and the last full privilege's prefix."""
    found = [(match.start(), match.end(), match.group(1)) for match in re.finditer(r'`([^`]+)`', phrase)]
    groups, last_end = [], None
    for start, end, word in found:
        if word.startswith('.') and prefix and PRIV.match('Xx' + word):
            word = prefix + word
        if not PRIV.match(word):
            continue
        prefix = word.rsplit('.', 1)[0]
        if groups and last_end is not None and ALTERNATIVE.match(phrase[last_end:start]):
            groups[-1].append(word)
        else:
            groups.append([word])
        last_end = end
    privs = []
    for group in groups:
        # A privilege of another release is no alternative at all.
        kept = [word for word in group if versioned.get(word) is None or major is None or versioned[word] == major]
        if kept:
            privs.append(kept[min(pick, len(kept) - 1)])
    return privs, prefix


def precise_grants(text, major=None, pick=0, skip=(), **where):
    """acl_grants, phrase by phrase: each comma-separated phrase of a clause is granted on its own path (a
    backquoted path after `on`, the first of `on `A` or `B`` whose placeholders where gives, or words such as
    "on the guest", "on the target storages"; else where its kind lives), a phrase that begins with "or" is an
    alternative to the one before, `A` or `B` in a phrase are alternatives: pick chooses which (0 the first); a
    phrase whose path needs a value where does not give is left out (`/pool/<pool>` without pool);
    `.Memory` after `VM.Config.CPU` is `VM.Config.Memory`; parenthesised remarks are left out, and so are the
    phrases that name a case of skip (words such as "privileged container" the test's scenario does not have)."""
    versioned = dict((name, int(version)) for name, version in re.findall(r'`([^`]+)` \(PVE (\d+)\)', text))
    grants = {}
    for clause in text.split(';'):
        chosen, prefix = [], None
        for phrase in _top_level(clause, ','):
            privs, prefix = _phrase_privileges(phrase, versioned, prefix, major, pick)
            if not privs or any(words in phrase for words in skip):
                continue
            paths = []
            for first, more in ON_PATHS.findall(phrase)[:1]:
                paths = [first] + re.findall(r'`(/[^`]*)`', more)
            if not paths:
                paths = [path for pattern, path in ON_WORDS + PRECISE_WORDS if pattern.search(phrase)][:1]
            if not paths:
                paths = [_home(priv) for priv in privs][:1]
            given = [path for path in paths if all(where.get(name) is not None
                                                   for name in re.findall(r'<([a-z_]+)>', path))]
            if not given:
                # Granted where no value is given for: the case this phrase covers does not arise.
                continue
            entry = (privs, given[:1])
            if re.match(r'^\s*or\b', phrase) and chosen:
                if pick:
                    chosen[-1] = entry
                continue
            chosen.append(entry)
        for privs, paths in chosen:
            for priv in privs:
                for path in paths:
                    for filled in _fill(path, where):
                        grants.setdefault(filled, set()).add(priv)
    return grants


def least_privilege_token(cluster, module, level=None, precise=False, pick=0, skip=(), user=None, also=(), **where):
    """A privilege-separated token holding only what docs/privileges.md lists for module; the cluster's pve_vars
    with it (for one level of the row, with level). Made through the API as root (the role, the token, the ACL
    entries). precise, pick and skip: as acl_grants; user: another user than lp-<module>@pve, for a second token of the same module (PVE deletes a
    guest's ACL entries when it is destroyed, so a scenario that reuses a destroyed guest's id needs a new grant);
    also: other modules whose rows are granted too (pve_apply: the modules whose items it changes), each path then
    holding what its parent paths hold as well (the most specific path wins, so a role there must hold both)."""
    name = module if level is None else '{0}-{1}'.format(module, level)
    user = user or 'lp-{0}@pve'.format(re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-'))
    cluster.pve.users[user] = 'lp-password'
    read, write = privileges_row(module)
    major = int(str(cluster.version).split('.', maxsplit=1)[0])
    # A row for both kinds of server (the inventory's) names the PVE privileges first, then `PBS: ...`: PVE's only.
    read = read.split('PBS: ', 1)[0]
    grants = acl_grants(read + ';' + (write if write != '-' else ''), major=major, level=level, precise=precise,
                        pick=pick, skip=skip, **where)
    for other in also:
        other_read, other_write = privileges_row(other)
        for path, privs in acl_grants(other_read + ';' + (other_write if other_write != '-' else ''), major=major,
                                      level=level, precise=precise, pick=pick, skip=skip, **where).items():
            grants.setdefault(path, set()).update(privs)
    if also:
        grants = dict((path, set().union(*(privs for parent, privs in grants.items()
                                           if parent == '/' or path == parent or path.startswith(parent + '/'))))
                      for path in grants)

    def call(method, where, **params):
        answer = requests.request(method, cluster.url + '/api2/json' + where, data=params, timeout=30,
                                  verify=cluster.ca_path,
                                  headers={'Authorization': 'PVEAPIToken={0}={1}'.format(cluster.token_id,
                                                                                         cluster.token_secret)})
        answer.raise_for_status()
        return answer.json()['data']

    made = call('POST', '/access/users/{0}/token/ansible'.format(user), privsep=1)
    for index, (path, privs) in enumerate(sorted(grants.items())):
        role = 'LP-{0}-{1}'.format(re.sub(r'[^A-Za-z0-9_]+', '-', user.partition('@')[0]), index)
        call('POST', '/access/roles', roleid=role, privs=','.join(sorted(privs)))
        call('PUT', '/access/acl', path=path, roles=role, users=user, tokens=made['full-tokenid'])
    out = pve_vars(cluster)
    out.update(token_id=made['full-tokenid'], token_secret=made['value'])
    return out
