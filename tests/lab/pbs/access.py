# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Permissions in the PBS fake, as PBS decides them.

Modelled on proxmox-backup (read at commit 4940514b, June 2024; facts only):
- privileges and the fixed roles: pbs-api-types/src/acl.rs (PRIVILEGES, ROLE_*; `Admin` holds every privilege,
  `NoAccess` none);
- the ACL tree: pbs-config/src/acl.rs (AclTree::roles: roles with the propagate flag along the path, every role on
  the last component, the most specific node with an entry for the auth id replaces what was above; a `NoAccess`
  entry stands alone; insert_user_role: `NoAccess` replaces the auth id's other roles on that node and any other
  role removes `NoAccess`);
- privileges of an auth id: pbs-config/src/cached_user_info.rs (lookup_privs_details: only root@pam itself, never
  a token of it, is the superuser; a token's privileges are its ACL's intersected with its owner's;
  any_privs_below; check_privs and its "missing permissions" words);
- the declared permission of each API method: proxmox-router's Permission (Privilege, Anybody, World, UserParam,
  Or) as the API method declares it in src/api2/**, checked before the parameters, a refusal being
  `403 permission check failed`.

Each method's declared permission lives in PERMISSIONS below (the lab's own, so that the lab needs no schema file
at runtime); tests/unit/lab/pbs/test_pbs_access.py compares them with the official schema when it is present.
Handlers of `Anybody` methods make the finer checks themselves (lists filtered silently, as PBS does).
"""

from .model import PbsError

# pbs-api-types' PRIVILEGES, in their bit order.
PRIVILEGES = (
    'Sys.Audit', 'Sys.Modify', 'Sys.PowerManagement',
    'Datastore.Audit', 'Datastore.Allocate', 'Datastore.Modify', 'Datastore.Read', 'Datastore.Verify',
    'Datastore.Backup', 'Datastore.Prune',
    'Permissions.Modify',
    'Remote.Audit', 'Remote.Modify', 'Remote.Read',
    'Sys.Console',
    'Tape.Audit', 'Tape.Modify', 'Tape.Write', 'Tape.Read',
    'Realm.Allocate',
)
ALL = frozenset(PRIVILEGES)

ROLES = {
    'Admin': ALL,
    'NoAccess': frozenset(),
    'Audit': frozenset(['Sys.Audit', 'Datastore.Audit']),
    'DatastoreAdmin': frozenset(['Datastore.Audit', 'Datastore.Modify', 'Datastore.Read', 'Datastore.Verify',
                                 'Datastore.Backup', 'Datastore.Prune']),
    'DatastoreReader': frozenset(['Datastore.Audit', 'Datastore.Verify', 'Datastore.Read']),
    'DatastoreBackup': frozenset(['Datastore.Backup']),
    'DatastorePowerUser': frozenset(['Datastore.Prune', 'Datastore.Backup']),
    'DatastoreAudit': frozenset(['Datastore.Audit']),
    'RemoteAudit': frozenset(['Remote.Audit']),
    'RemoteAdmin': frozenset(['Remote.Audit', 'Remote.Modify', 'Remote.Read']),
    'RemoteSyncOperator': frozenset(['Remote.Audit', 'Remote.Read']),
    'TapeAudit': frozenset(['Tape.Audit']),
    'TapeAdmin': frozenset(['Tape.Audit', 'Tape.Modify', 'Tape.Read', 'Tape.Write']),
    'TapeOperator': frozenset(['Tape.Audit', 'Tape.Read', 'Tape.Write']),
    'TapeReader': frozenset(['Tape.Audit', 'Tape.Read']),
}
# PBS 4 roles for push sync jobs: their names are accepted by the schema, their privileges are not modelled.
UNMODELLED_ROLES = ('RemoteSyncPushOperator', 'RemoteDatastorePowerUser', 'RemoteDatastoreAdmin')
NO_ACCESS = 'NoAccess'
SUPERUSER = 'root@pam'

# src/backup/hierarchy.rs NS_PRIVS_OK: any of these on a namespace makes it visible.
NS_PRIVS_OK = frozenset(['Datastore.Modify', 'Datastore.Read', 'Datastore.Backup', 'Datastore.Audit'])


def priv_names(privs):
    """Privilege names in PBS's order (privs_to_priv_names)."""
    return [name for name in PRIVILEGES if name in privs]


# The permission each API method declares (src/api2/**): ('world',), ('anybody',), ('privilege', path, privs,
# partial) with {param} placeholders filled from the URL, ('user-param', name), ('or', [...]).
def _priv(path, *privs):
    return ('privilege', path, tuple(privs), False)


ANYBODY = ('anybody',)
WORLD = ('world',)
USERS_MODIFY = ('or', [_priv('/access/users', 'Permissions.Modify'), ('user-param', 'userid')])
USERS_AUDIT = ('or', [_priv('/access/users', 'Sys.Audit'), ('user-param', 'userid')])

PERMISSIONS = {
    ('GET', '/version'): ANYBODY,
    ('POST', '/access/ticket'): WORLD,
    ('DELETE', '/access/ticket'): WORLD,
    ('GET', '/access/acl'): ANYBODY,
    ('PUT', '/access/acl'): ANYBODY,
    ('POST', '/access/users'): _priv('/access/users', 'Permissions.Modify'),
    ('DELETE', '/access/users/{userid}'): USERS_MODIFY,
    ('GET', '/access/users/{userid}/token/{token-name}'): USERS_AUDIT,
    ('POST', '/access/users/{userid}/token/{token-name}'): USERS_MODIFY,
    ('PUT', '/access/users/{userid}/token/{token-name}'): USERS_MODIFY,
    ('DELETE', '/access/users/{userid}/token/{token-name}'): USERS_MODIFY,
    ('GET', '/config/datastore'): ANYBODY,
    ('POST', '/config/datastore'): _priv('/datastore', 'Datastore.Allocate'),
    ('GET', '/config/datastore/{name}'): _priv('/datastore/{name}', 'Datastore.Audit'),
    ('PUT', '/config/datastore/{name}'): _priv('/datastore/{name}', 'Datastore.Modify'),
    ('DELETE', '/config/datastore/{name}'): _priv('/datastore/{name}', 'Datastore.Allocate'),
    ('GET', '/config/remote'): ANYBODY,
    ('POST', '/config/remote'): _priv('/remote', 'Remote.Modify'),
    ('GET', '/config/remote/{name}'): _priv('/remote/{name}', 'Remote.Audit'),
    ('PUT', '/config/remote/{name}'): _priv('/remote/{name}', 'Remote.Modify'),
    ('DELETE', '/config/remote/{name}'): _priv('/remote/{name}', 'Remote.Modify'),
    ('GET', '/admin/datastore'): ANYBODY,
    ('GET', '/admin/datastore/{store}/gc'): _priv('/datastore/{store}', 'Datastore.Audit'),
    ('POST', '/admin/datastore/{store}/gc'): _priv('/datastore/{store}', 'Datastore.Modify'),
}
# Every other method the fake serves declares Permission::Anybody and checks in its handler.


def declared(method, template):
    return PERMISSIONS.get((method, template), ANYBODY)


def acl_components(path):
    """PBS's split_acl_path."""
    return [part for part in path.split('/') if part]


class AclTree(object):
    """pbs-config's AclTree, for users and tokens (groups are not supported by PBS either)."""

    def __init__(self):
        self.root = self._node()

    @staticmethod
    def _node():
        return {'children': {}, 'users': {}}

    def _find(self, components, create=False):
        node = self.root
        for part in components:
            child = node['children'].get(part)
            if child is None:
                if not create:
                    return None
                child = node['children'][part] = self._node()
            node = child
        return node

    def insert(self, path, auth_id, role, propagate=True):
        roles = self._find(acl_components(path), create=True)['users'].setdefault(auth_id, {})
        if role == NO_ACCESS:
            roles.clear()
        else:
            roles.pop(NO_ACCESS, None)
        roles[role] = propagate

    def delete(self, path, auth_id, role):
        node = self._find(acl_components(path))
        if node is None:
            return
        roles = node['users'].get(auth_id)
        if roles is not None:
            roles.pop(role, None)
            if not roles:
                del node['users'][auth_id]

    def delete_auth_id(self, auth_id):
        def walk(node):
            node['users'].pop(auth_id, None)
            for child in node['children'].values():
                walk(child)
        walk(self.root)

    @staticmethod
    def _extract(node, auth_id, leaf):
        out = {}
        for role, propagate in (node['users'].get(auth_id) or {}).items():
            if propagate or leaf:
                if role == NO_ACCESS:
                    return {NO_ACCESS: False}
                out[role] = propagate
        return out

    def roles(self, auth_id, components):
        """{role: propagate} that apply to auth_id on the path (AclTree::roles)."""
        node = self.root
        found = self._extract(node, auth_id, not components)
        for idx, part in enumerate(components):
            node = node['children'].get(part)
            if node is None:
                return found
            here = self._extract(node, auth_id, idx == len(components) - 1)
            if here:
                found = here
        return found

    def child_paths(self, auth_id, components):
        """Paths below components holding an entry of auth_id (get_child_paths)."""
        node = self._find(components)
        out = []

        def walk(node, path):
            for name, child in node['children'].items():
                sub = path + [name]
                if auth_id in child['users']:
                    out.append(sub)
                walk(child, sub)
        if node is not None:
            walk(node, list(components))
        return out

    def paths(self, node=None, path=''):
        """The path of every node below the root (populate_acl_paths)."""
        node = node or self.root
        for name, child in node['children'].items():
            yield path + '/' + name
            yield from self.paths(child, path + '/' + name)

    def items(self, node=None, path=''):
        """Every (path, auth_id, role, propagate), depth first (extract_acl_node_data)."""
        node = node or self.root
        for auth_id, roles in sorted(node['users'].items()):
            for role, propagate in sorted(roles.items()):
                yield path or '/', auth_id, role, propagate
        for name, child in sorted(node['children'].items()):
            yield from self.items(child, path + '/' + name)


class AccessArea(object):
    """Mixin of FakePbs: the ACL tree, privilege look-ups and checks, /access/acl, /access/users."""

    def _init_access(self):
        self.acl = AclTree()

    def _routes_access(self):
        return [
            ('GET', '/access/acl', self._acl_read),
            ('PUT', '/access/acl', self._acl_update),
            ('GET', '/access/permissions', self._permissions),
            ('POST', '/access/users', self._user_create),
            ('DELETE', '/access/users/{userid}', self._user_delete),
        ]

    # ------------------------------------------------------------ privileges

    @staticmethod
    def is_superuser(auth_id):
        return auth_id == SUPERUSER

    def privs_details(self, auth_id, path):
        """(privileges, propagated privileges) of auth_id on an ACL path (lookup_privs_details)."""
        if self.is_superuser(auth_id):
            return ALL, ALL
        components = acl_components(path) if isinstance(path, str) else list(path)
        privs, propagated = set(), set()
        for role, propagate in self.acl.roles(auth_id, components).items():
            granted = ROLES.get(role, frozenset())
            privs |= granted
            if propagate:
                propagated |= granted
        if '!' in auth_id:
            owner_privs, owner_propagated = self.privs_details(auth_id.partition('!')[0], components)
            privs &= owner_privs
            propagated &= owner_propagated
        return frozenset(privs), frozenset(propagated)

    def privs(self, auth_id, path):
        return self.privs_details(auth_id, path)[0]

    def any_privs_below(self, auth_id, path, wanted):
        components = acl_components(path)
        if self.privs_details(auth_id, components)[1] & wanted:
            return True
        return any(self.privs(auth_id, sub) & wanted for sub in self.acl.child_paths(auth_id, components))

    def check_privs(self, auth_id, path, wanted, partial=False):
        """CachedUserInfo::check_privs: a 400 naming what is missing where."""
        have = self.privs(auth_id, path)
        wanted = frozenset(wanted)
        if (have & wanted) if partial else wanted <= have:
            return
        names = ('|' if partial else '&').join(priv_names(wanted))
        raise PbsError("missing permissions '{0}' on '/{1}'".format(names, '/'.join(acl_components(path))))

    def check_ns_privs_full(self, auth_id, store, ns, full, partial=()):
        """hierarchy.rs check_ns_privs_full: False with full access, True with partial (owner checks follow),
        403 otherwise."""
        path = ns_acl_path(store, ns)
        have = self.privs(auth_id, path)
        if full and have & frozenset(full):
            return False
        if partial and have & frozenset(partial):
            return True
        raise PbsError('permission check failed - missing {0} on {1}'.format(
            '|'.join(priv_names(frozenset(full) | frozenset(partial))), path), 403)

    def check_permission(self, method, template, path_params, auth_id):
        """The method's declared permission, before its parameters are read: 403 when it does not hold."""
        if not self._permitted(declared(method, template), path_params, auth_id):
            raise PbsError('permission check failed', 403)

    def _permitted(self, perm, params, auth_id):
        kind = perm[0]
        if kind == 'world':
            return True
        if auth_id is None:
            return False
        if self.is_superuser(auth_id) or kind == 'anybody':
            return True
        if kind == 'user-param':
            return params.get(perm[1]) == auth_id
        if kind == 'or':
            return any(self._permitted(p, params, auth_id) for p in perm[1])
        _kind, path, wanted, partial = perm
        for name, value in params.items():
            path = path.replace('{' + name + '}', value)
        if '{' in path:
            return False
        have = self.privs(auth_id, path)
        if not have:
            return False
        return bool(have & frozenset(wanted)) if partial else frozenset(wanted) <= have

    # -------------------------------------------------------------- the ACL

    def grant(self, path, auth_id, role, propagate=True):
        """An ACL entry, as `proxmox-backup-manager acl update` makes it (test hook, no checks)."""
        self.acl.insert(path, auth_id, role, propagate)

    def acl_digest(self):
        """SHA-256 of the ACL as acl.cfg lines (propagate:path:auth-id:role)."""
        import hashlib
        lines = ''.join('acl:{0}:{1}:{2}:{3}\n'.format(int(propagate), path, auth_id, role)
                        for path, auth_id, role, propagate in self.acl.items())
        return hashlib.sha256(lines.encode('utf-8')).hexdigest()

    def _acl_read(self, values, auth):
        from .server import Answer
        # Without Sys.Audit on /access/acl: only the entries of the caller's user's tokens.
        own_tokens_of = None if 'Sys.Audit' in self.privs(auth, '/access/acl') else auth
        out = []
        path = values.get('path')
        start = self.acl.root if path is None else self.acl._find(acl_components(path))
        if start is not None and not (own_tokens_of and '!' in own_tokens_of):
            items = self.acl.items(start, '' if path is None or path == '/' else '/' + '/'.join(acl_components(path)))
            for item_path, auth_id, role, propagate in items:
                if values.get('exact') and item_path != (path or '/'):
                    continue
                if own_tokens_of and not ('!' in auth_id and auth_id.partition('!')[0] == own_tokens_of):
                    continue
                out.append({'path': item_path, 'ugid': auth_id, 'ugid_type': 'user', 'roleid': role,
                            'propagate': propagate})
        return Answer(out, digest=self.acl_digest())

    def _acl_update(self, values, auth):
        auth_id = values.get('auth-id')
        if 'Permissions.Modify' not in self.privs(auth, '/access/acl'):
            if values.get('group'):
                raise PbsError('Unprivileged users are not allowed to create group ACL item.')
            if auth_id is None:
                raise PbsError('Unprivileged user needs to provide auth_id to update ACL item.')
            if '!' in auth:
                raise PbsError("Unprivileged API tokens can't set ACL items.")
            if '!' not in auth_id:
                raise PbsError('Unprivileged users can only set ACL items for API tokens.')
            if auth_id.partition('!')[0] != auth:
                raise PbsError('Unprivileged users can only set ACL items for their own API tokens.')
        self._check_digest(values, self.acl_digest())
        if values.get('group'):
            raise PbsError("parameter 'group' - groups are currently not supported.")
        if auth_id is None:
            raise PbsError("missing 'userid' or 'group' parameter.")
        role, path = values['role'], values['path']
        if values.get('delete'):
            self.acl.delete(path, auth_id, role)
            return None
        known = self.tokens if '!' in auth_id else self.users
        if auth_id not in known:
            raise PbsError('no such {0}.'.format('API token' if '!' in auth_id else 'user'))
        check_acl_path(path)
        if role in UNMODELLED_ROLES:
            raise PbsError("the lab does not model the privileges of role '{0}'".format(role))
        self.acl.insert(path, auth_id, role, values.get('propagate', True))
        return None

    def _permissions(self, values, auth):
        """src/api2/access/mod.rs list_permissions: {path: {privilege: propagated}} of the caller (or, with
        Sys.Audit on /access, of anyone; a user may ask for its own tokens), for the given path or for every ACL
        path and /, /access, /datastore, /remote, /system; paths without any privilege are left out."""
        target = values.get('auth-id') or auth
        if target != auth and 'Sys.Audit' not in self.privs(auth, '/access') and not (
                '!' in target and '!' not in auth and target.partition('!')[0] == auth):
            raise PbsError('not allowed to list permissions of {0}'.format(target))
        if values.get('path'):
            paths = {values['path']}
        else:
            paths = {'/', '/access', '/datastore', '/remote', '/system'}
            paths.update(self.acl.paths())
        out = {}
        for path in sorted(paths):
            privs, propagated = self.privs_details(target, path)
            if privs:
                out[path] = dict((name, name in propagated) for name in priv_names(privs))
        return out

    # ---------------------------------------------------------------- users

    def _user_create(self, values, _auth):
        userid = values['userid']
        if userid in self.users:
            raise PbsError("user '{0}' already exists.".format(userid))
        self.users[userid] = {'password': values.get('password'), 'enable': values.get('enable', True),
                              'expire': values.get('expire', 0)}
        return None

    def _user_delete(self, values, _auth):
        userid = values['userid']
        if self.users.pop(userid, None) is None:
            raise PbsError("user '{0}' does not exist.".format(userid))
        return None

    # ---------------------------------------------------------------- tasks

    def check_task_access(self, auth_id, task_auth_id):
        """src/api2/node/tasks.rs check_task_access: the task's own auth id (or the user of its token) may read it;
        others need Sys.Audit on /system/tasks."""
        if auth_id == task_auth_id or ('!' in task_auth_id and task_auth_id.partition('!')[0] == auth_id):
            return
        if 'Sys.Audit' not in self.privs(auth_id, '/system/tasks'):
            raise PbsError('task access not allowed')


def ns_acl_path(store, ns):
    """A namespace's ACL path: /datastore/{store}[/{ns}] (BackupNamespace::acl_path)."""
    return '/datastore/{0}{1}'.format(store, '/' + ns if ns else '')


# pbs-config acl.rs check_acl_path: the ACL paths PBS accepts, by their first components and depth.
_ACL_PATHS = (
    (('access',), 1), (('access', 'acl'), 2), (('access', 'users'), 2), (('access', 'domains'), 2),
    (('access', 'openid'), 3), (('datastore',), 9), (('remote',), 3), (('system',), 1),
    (('system', 'certificates'), 2), (('system', 'disks'), 2), (('system', 'log'), 2),
    (('system', 'notifications'), 2), (('system', 'status'), 2), (('system', 'tasks'), 2), (('system', 'time'), 2),
    (('system', 'services'), 3), (('system', 'network'), 2), (('system', 'network', 'dns'), 3),
    (('system', 'network', 'interfaces'), 4), (('tape',), 1), (('tape', 'device'), 3), (('tape', 'pool'), 3),
    (('tape', 'job'), 3),
)


def check_acl_path(path):
    parts = acl_components(path)
    if not parts or any(tuple(parts[:len(prefix)]) == prefix and len(parts) <= depth for prefix, depth in _ACL_PATHS
                        if len(parts) >= len(prefix)):
        return
    raise PbsError("invalid acl path '{0}'.".format(path))
