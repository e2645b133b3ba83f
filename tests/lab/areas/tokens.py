# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API tokens and ACLs: /access/users/{userid}/token[/{tokenid}] and /access/acl.

Follows pve-access-control (PVE/API2/User.pm, PVE/API2/ACL.pm, PVE/RPCEnvironment.pm): a token is
created with privsep=1 unless told otherwise, its secret is shown once, and it logs in at once. A
token with privilege separation holds what both its user and its own ACL entries allow; one
without holds its user's privileges. ACL entries name roles; privileges follow PVE/AccessControl.pm
`roles` (most specific path wins, user entries override group entries on a path, `propagate=0`
counts on its own path only, NoAccess) and RPCEnvironment.pm `compile_acl_path` (pool roles, token
intersection). Every request's permission rule follows RPCEnvironment::check_api2_permissions: a
method declared without permissions is the root@pam login's alone. Errors raised under PVE's
user.cfg lock carry the lock's and the action's words.
"""

import re
import time
import uuid

from aiohttp import web
from fakepve import shapes
from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, param_error, split_list

from ._common import cfs_locked, stringify

# PVE's built-in ("special") roles, as PVE::AccessControl::create_roles derives them from its privilege groups:
# per category the privileges only root@pam should hold, those of an admin, of a user, and the audit ones.
_PRIV_GROUPS = {
    'VM': {'root': (), 'audit': ('VM.Audit', 'VM.GuestAgent.Audit'),
           'admin': ('VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
                     'VM.Config.Options', 'VM.Allocate', 'VM.Clone', 'VM.GuestAgent.Unrestricted', 'VM.Migrate',
                     'VM.Replicate', 'VM.Snapshot', 'VM.Snapshot.Rollback'),
           'user': ('VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead',
                    'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt')},
    'Sys': {'root': ('Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'),
            'admin': ('Sys.Console', 'Sys.Syslog'), 'user': (), 'audit': ('Sys.Audit',)},
    'Datastore': {'root': (), 'admin': ('Datastore.Allocate', 'Datastore.AllocateTemplate'),
                  'user': ('Datastore.AllocateSpace',), 'audit': ('Datastore.Audit',)},
    'SDN': {'root': (), 'admin': ('SDN.Allocate', 'SDN.Audit'), 'user': ('SDN.Use',), 'audit': ('SDN.Audit',)},
    'User': {'root': ('Realm.Allocate',), 'admin': ('User.Modify', 'Group.Allocate', 'Realm.AllocateUser'),
             'user': (), 'audit': ()},
    'Pool': {'root': (), 'admin': ('Pool.Allocate',), 'user': ('Pool.Audit',), 'audit': ('Pool.Audit',)},
    'Mapping': {'root': (), 'admin': ('Mapping.Modify',), 'user': ('Mapping.Use',), 'audit': ('Mapping.Audit',)},
}


def _builtin_roles():
    roles = {'NoAccess': set(), 'Administrator': set(shapes.PRIVILEGES), 'PVEAdmin': set(), 'PVEAuditor': set(),
             'PVETemplateUser': {'VM.Clone', 'VM.Audit'}}
    for cat, group in _PRIV_GROUPS.items():
        everything = set(group['admin']) | set(group['user']) | set(group['audit'])
        roles['PVE{0}Admin'.format(cat)] = set(everything)
        roles['PVEAdmin'] |= everything
        if group['user']:
            roles['PVE{0}User'.format(cat)] = set(group['user']) | set(group['audit'])
        roles['PVEAuditor'] |= set(group['audit'])
    # Mapping.Modify is Administrator's and PVEMappingAdmin's only.
    roles['PVEAdmin'].discard('Mapping.Modify')
    return roles


ROLES = _builtin_roles()
# PVE 8 (pve-access-control stable-bookworm, PVE/AccessControl.pm's privilege groups) has `VM.Monitor` and none of
# PVE 9's `VM.GuestAgent.*`; its guest-agent methods (qemu-server stable-bookworm PVE/API2/Qemu/Agent.pm
# register_command) check `VM.Monitor` where PVE 9's check a `VM.GuestAgent.*` privilege.
_AGENT_PRIVS = tuple(p for p in shapes.PRIVILEGES if p.startswith('VM.GuestAgent.'))
PVE8_PRIVILEGES = tuple(p for p in shapes.PRIVILEGES if p not in _AGENT_PRIVS) + ('VM.Monitor',)
# Built-in roles that hold every VM privilege hold VM.Monitor on PVE 8; PVEAuditor holds none of it.
_PVE8_MONITOR_ROLES = ('Administrator', 'PVEAdmin', 'PVEVMAdmin')
# pve-access-control's token id pattern (the realm pattern), which fakepve's schema check cannot read.
TOKEN_ID = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
# The only identity RPCEnvironment::check_api2_permissions lets past every rule, and its words for everyone else
# on a method declared without permissions.
ROOT_LOGIN = 'root@pam'
NOT_ROOT = 'Permission check failed (user != root@pam)'
ACL_PATH = re.compile(r'^/(?:|access(?:/(?:groups|realm)(?:/[^/]+)?)?|vms(?:/\d+)?|storage(?:/[^/]+)?|'
                      r'pool/[^/].*|nodes(?:/[^/]+)?|sdn(?:/.*)?|mapping(?:/.*)?)$')


class AclEntry(tuple):
    """(path, privileges), as fakepve's pve.acl holds them, that also knows its `propagate` flag and its role."""

    def __new__(cls, path, privs, propagate=1, roleid=None):
        entry = super().__new__(cls, (path, privs))
        entry.propagate = propagate
        entry.roleid = roleid
        return entry


def _acl_key(entry):
    """The key of an API ACL entry in pve.acl: the user or token id, `@<groupid>` for a group."""
    return '@' + entry['ugid'] if entry['type'] == 'group' else entry['ugid']


def acl_levels(path):
    """The ACL tree's nodes from the root down to path, as AccessControl::roles walks them: '/vms/100' ->
    ['/', '/vms', '/vms/100']."""
    parts = [seg for seg in path.split('/') if seg]
    return ['/'] + ['/' + '/'.join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def _locked(action, error):
    """PVE::AccessControl::lock_user_config: `<action>: <error>`, the error as cfs_lock_file left it."""
    inner = cfs_locked('user.cfg', error)
    return PveError(500, '{0}: {1}'.format(action, stringify(inner) if inner.errors else inner.message))


class TokensArea(StatefulRoutes):
    """Mixin of the lab's PVE: API tokens of users, ACL entries, and privilege separation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # userid -> {tokenid -> {'privsep': 0|1, 'expire': epoch, 'comment': str}}
        self.user_tokens = {}
        # groupid -> {'comment': str, 'users': set of userids}; their ACL entries are pve.acl['@<groupid>']
        self.groups = {}
        # roleid -> set of privileges, the roles made through POST /access/roles
        self.custom_roles = {}
        # [{'path', 'type' (user, group, token), 'ugid', 'roleid', 'propagate'}], as GET /access/acl shows them
        self.acl_entries = []
        # vmids of guests being destroyed through the API (their ACL entries go with them)
        self._destroying = set()

    def _routes_tokens(self):
        one = '/access/users/{userid}/token/{tokenid}'
        return [('GET', '/access/users/{userid}/token', self._tok_index), ('GET', one, self._tok_read),
                ('POST', one, self._tok_create), ('PUT', one, self._tok_update), ('DELETE', one, self._tok_delete),
                ('GET', '/access/acl', self._acl_read), ('PUT', '/access/acl', self._acl_update),
                ('GET', '/access/groups', self._grp_index), ('POST', '/access/groups', self._grp_create),
                ('GET', '/access/groups/{groupid}', self._grp_read), ('PUT', '/access/groups/{groupid}', self._grp_update),
                ('GET', '/access/roles', self._role_index), ('POST', '/access/roles', self._role_create),
                ('GET', '/access/roles/{roleid}', self._role_read), ('PUT', '/access/roles/{roleid}', self._role_update),
                ('DELETE', '/access/roles/{roleid}', self._role_delete),
                ('DELETE', '/access/groups/{groupid}', self._grp_delete)]

    # ---------------------------------------------------------------- state

    def user_exists(self, userid):
        """True for the lab's login user, root@pam and the users in pve.users."""
        return userid in (self.user, 'root@pam') or userid in self.users

    def _check_user(self, userid):
        if not self.user_exists(userid):
            raise PveError(500, "no such user ('{0}')".format(userid))

    @staticmethod
    def _check_tokenid(tokenid):
        if not TOKEN_ID.match(tokenid):
            raise param_error(tokenid='value does not match the regex pattern')

    def _check_token(self, userid, tokenid):
        self._check_tokenid(tokenid)
        self._check_user(userid)
        info = self.user_tokens.get(userid, {}).get(tokenid)
        if info is None:
            raise PveError(500, "no such token '{0}' for user '{1}'".format(tokenid, userid))
        return info

    def token_info(self, full_tokenid):
        """The token's settings (privsep, expire, comment), or None for a token the lab did not create."""
        userid, _sep, tokenid = full_tokenid.partition('!')
        return self.user_tokens.get(userid, {}).get(tokenid)

    def add_token(self, userid, tokenid, privsep=1, comment=None, expire=None, secret=None):
        """Create a token as the API does (no checks); returns its secret."""
        info = {'privsep': 1 if privsep else 0}
        if comment:
            info['comment'] = comment
        if expire is not None:
            info['expire'] = expire
        self.user_tokens.setdefault(userid, {})[tokenid] = info
        secret = secret or str(uuid.uuid4())
        self.apitokens['{0}!{1}'.format(userid, tokenid)] = secret
        return secret

    # ------------------------------------------------------------ tokens

    async def _tok_index(self, v, user):
        self._check_user(v['userid'])
        return [dict(info, tokenid=tokenid) for tokenid, info in sorted(self.user_tokens.get(v['userid'], {}).items())]

    async def _tok_read(self, v, user):
        return dict(self._check_token(v['userid'], v['tokenid']))

    async def _tok_create(self, v, user):
        userid, tokenid = v['userid'], v['tokenid']
        self._check_tokenid(tokenid)
        self._check_user(userid)
        if tokenid in self.user_tokens.get(userid, {}):
            raise param_error(tokenid='Token already exists.')
        self.need_quorum()
        secret = self.add_token(userid, tokenid, privsep=v.get('privsep', 1), comment=v.get('comment'),
                                expire=v.get('expire'))
        return {'info': dict(self.user_tokens[userid][tokenid]), 'value': secret,
                'full-tokenid': '{0}!{1}'.format(userid, tokenid)}

    async def _tok_update(self, v, user):
        userid, tokenid = v['userid'], v['tokenid']
        self._check_token(userid, tokenid)
        deletes = split_list(v.get('delete'))
        self.need_quorum()
        info = dict(self.user_tokens[userid][tokenid])
        for key in ('privsep', 'expire', 'comment'):
            if v.get(key) is not None:
                info[key] = v[key]
        if not info.get('comment'):
            info.pop('comment', None)
        for key in deletes:
            if key != 'comment':
                raise _locked('updating token info failed', param_error(delete="unknown option '{0}'".format(key)))
            info.pop(key, None)
        self.user_tokens[userid][tokenid] = info
        out = dict(info)
        if v.get('regenerate'):
            full = '{0}!{1}'.format(userid, tokenid)
            self.apitokens[full] = out['value'] = str(uuid.uuid4())
            out['full-tokenid'] = full
        return out

    async def _tok_delete(self, v, user):
        userid, tokenid = v['userid'], v['tokenid']
        self._check_token(userid, tokenid)
        self.need_quorum()
        full = '{0}!{1}'.format(userid, tokenid)
        del self.user_tokens[userid][tokenid]
        self.apitokens.pop(full, None)
        self.acl_entries = [e for e in self.acl_entries if not (e['type'] == 'token' and e['ugid'] == full)]
        self._acl_sync(full)

    # --------------------------------------------------------------- ACLs

    async def _acl_read(self, v, user):
        audit = self.allowed(user, '/access', 'Sys.Audit')
        return [dict(e) for e in self.acl_entries if audit or self.allowed(user, e['path'], 'Permissions.Modify')]

    async def _acl_update(self, v, user):
        if not (v.get('users') or v.get('groups') or v.get('tokens')):
            raise param_error(**dict((k, "either 'users', 'groups' or 'tokens' is required.")
                                     for k in ('users', 'groups', 'tokens')))
        path = '/' + '/'.join(seg for seg in str(v['path']).split('/') if seg)
        if not ACL_PATH.match(path) and not v.get('delete'):
            raise param_error(path="invalid ACL path '{0}'".format(v['path']))
        propagate = 0 if v.get('propagate') is not None and not v['propagate'] else 1
        self.need_quorum()
        entries = [dict(e) for e in self.acl_entries]
        try:
            for role in split_list(v.get('roles')):
                if role not in ROLES and role not in self.custom_roles:
                    raise PveError(500, "role '{0}' does not exist".format(role))
                targets = []
                for group in split_list(v.get('groups')):
                    if group not in self.groups:
                        raise PveError(500, "group '{0}' does not exist".format(group))
                    targets.append(('group', group))
                for userid in split_list(v.get('users')):
                    if not self.user_exists(userid):
                        raise PveError(500, "user '{0}' does not exist".format(userid))
                    targets.append(('user', userid))
                for full in split_list(v.get('tokens')):
                    owner, _sep, tokenid = full.partition('!')
                    self._check_token(owner, tokenid)
                    targets.append(('token', full))
                for kind, ugid in targets:
                    entries = [e for e in entries if not (e['path'] == path and e['type'] == kind
                                                          and e['ugid'] == ugid and e['roleid'] == role)]
                    if not v.get('delete'):
                        entries.append({'path': path, 'type': kind, 'ugid': ugid, 'roleid': role,
                                        'propagate': propagate})
        except PveError as e:
            raise _locked('ACL update failed', e) from None
        touched = set(_acl_key(e) for e in entries) | set(_acl_key(e) for e in self.acl_entries)
        self.acl_entries = entries
        for key in touched:
            self._acl_sync(key)

    def _acl_sync(self, key):
        """Put the API's entries for key (a user or token id, `@group` for a group) into pve.acl (path, privileges,
        propagate, role), beside those of grant()."""
        if self.acl is None:
            self.acl = {}
        kept = [e for e in self.acl.get(key, []) if not isinstance(e, AclEntry)]
        made = [AclEntry(e['path'], set(self.role_privs(e['roleid'])), e['propagate'], e['roleid'])
                for e in self.acl_entries
                if _acl_key(e) == key]
        if kept or made:
            self.acl[key] = kept + made
        else:
            self.acl.pop(key, None)

    def remove_vm_access(self, vmid):
        """PVE::AccessControl::remove_vm_access, which the destroy of a VM (qemu-server PVE/API2/Qemu.pm
        destroy_vm) or a container (pve-container src/PVE/API2/LXC.pm destroy_vm) calls once the guest is gone: the
        ACL entries on /vms/<vmid> are deleted (the pool membership too, which fakepve's _pool_leave does)."""
        path = '/vms/{0}'.format(vmid)
        touched = set(_acl_key(e) for e in self.acl_entries if e['path'] == path)
        self.acl_entries = [e for e in self.acl_entries if e['path'] != path]
        for key in touched:
            self._acl_sync(key)
        for key, entries in list((self.acl or {}).items()):
            self.acl[key] = [e for e in entries if e[0] != path]

    async def _qm_destroy(self, v, user):
        return await self._destroy_guest(super()._qm_destroy, v, user)

    async def _lxc_destroy(self, user, v):
        return await self._destroy_guest(lambda v, user: super(TokensArea, self)._lxc_destroy(user, v), v, user)

    async def _destroy_guest(self, destroy, v, user):
        vmid = int(v['vmid'])
        self._destroying.add(vmid)
        try:
            return await destroy(v, user)
        except Exception:
            self._destroying.discard(vmid)
            raise

    def _pool_leave(self, vmid):
        """The guest is gone: if a destroy asked for it, its access goes too (remove_vm_access)."""
        super()._pool_leave(vmid)
        if vmid in self._destroying:
            self._destroying.discard(vmid)
            self.remove_vm_access(vmid)

    # -------------------------------------------------------------- roles

    def pve8(self):
        return str(getattr(self, 'version', '9')).split('.', maxsplit=1)[0] == '8'

    def known_privileges(self):
        """The privileges of this cluster's release (PVE 8: VM.Monitor, no VM.GuestAgent.*)."""
        return PVE8_PRIVILEGES if self.pve8() else tuple(shapes.PRIVILEGES)

    def role_privs(self, roleid):
        """The privileges of a built-in or custom role (a built-in one as the cluster's release defines it; none for
        a role deleted since)."""
        if roleid in self.custom_roles:
            return self.custom_roles[roleid]
        privs = set(ROLES.get(roleid, set()))
        if privs and self.pve8():
            privs -= set(_AGENT_PRIVS)
            if roleid in _PVE8_MONITOR_ROLES:
                privs.add('VM.Monitor')
        return privs

    def _role_privs_param(self, action, text):
        """PVE::AccessControl::add_role_privs: every privilege must be one this release of PVE knows."""
        privs = split_list(text)
        for priv in privs:
            if priv not in self.known_privileges():
                raise PveError(500, "{0}: invalid privilege '{1}'".format(action, priv))
        return privs

    @staticmethod
    def _check_roleid(roleid):
        """PVE::AccessControl::verify_rolename, the pve-roleid format."""
        if not re.match(r'^[A-Za-z0-9.\-_]+$', roleid):
            raise param_error(roleid="role name '{0}' contains invalid characters".format(roleid))

    async def _role_index(self, v, user):
        """GET /access/roles (PVE/API2/Role.pm index): every role, its privileges sorted, built-in ones special."""
        out = [{'roleid': name, 'privs': ','.join(sorted(privs)), 'special': 1} for name, privs in ROLES.items()]
        out += [{'roleid': name, 'privs': ','.join(sorted(privs)), 'special': 0}
                for name, privs in self.custom_roles.items()]
        return sorted(out, key=lambda role: role['roleid'])

    async def _role_read(self, v, user):
        """GET /access/roles/{roleid} (read_role): {privilege: 1}."""
        roleid = v['roleid']
        if roleid not in ROLES and roleid not in self.custom_roles:
            raise PveError(500, "role '{0}' does not exist".format(roleid))
        return dict.fromkeys(sorted(self.role_privs(roleid)), 1)

    async def _role_create(self, v, user):
        """POST /access/roles (pve-access-control PVE/API2/Role.pm create_role): a name not taken, known privileges."""
        roleid = v['roleid']
        self._check_roleid(roleid)
        if roleid in ROLES or roleid in self.custom_roles:
            raise PveError(500, "create role failed: role '{0}' already exists".format(roleid))
        privs = self._role_privs_param('create role failed', v.get('privs'))
        self.need_quorum()
        self.custom_roles[roleid] = set(privs)

    async def _role_update(self, v, user):
        """PUT /access/roles/{roleid} (update_role): a built-in role is refused before the lock; the privileges
        replace the role's unless `append`."""
        roleid = v['roleid']
        if roleid in ROLES:
            raise PveError(500, "auto-generated role '{0}' cannot be modified".format(roleid))
        if roleid not in self.custom_roles:
            raise PveError(500, "update role failed: role '{0}' does not exist".format(roleid))
        if v.get('append') is not None and v.get('privs') is None:
            raise param_error(append="parameter 'append' requires 'privs'")
        privs = self._role_privs_param('update role failed', v.get('privs'))
        self.need_quorum()
        self.custom_roles[roleid] = (set(self.custom_roles[roleid]) if v.get('append') else set()) | set(privs)
        self._role_resync(roleid)

    async def _role_delete(self, v, user):
        """DELETE /access/roles/{roleid} (delete_role). The ACL entries naming it stay in user.cfg, where
        AccessControl::parse_user_config ignores an unknown role: they vanish from every answer."""
        roleid = v['roleid']
        if roleid in ROLES:
            raise PveError(500, "auto-generated role '{0}' cannot be deleted".format(roleid))
        if roleid not in self.custom_roles:
            raise PveError(500, "delete role failed: role '{0}' does not exist".format(roleid))
        self.need_quorum()
        del self.custom_roles[roleid]
        self.acl_entries = [e for e in self.acl_entries if e['roleid'] != roleid]
        self._role_resync(roleid)

    def _role_resync(self, roleid):
        """Every holder of the role's ACL entries sees its new privileges."""
        keys = set(key for key, entries in (self.acl or {}).items()
                   for entry in entries if getattr(entry, 'roleid', None) == roleid)
        for key in keys:
            self._acl_sync(key)

    # ------------------------------------------------------------- groups

    def add_group(self, groupid, users=(), comment=None):
        """Lab scenario: a group with these members (PVE sets membership through the users' `groups`)."""
        self.groups[groupid] = {'comment': comment or '', 'users': set(users)}

    async def _grp_index(self, v, user):
        """GET /access/groups (PVE/API2/Group.pm index): the groups on which the caller holds User.Modify, Sys.Audit or
        Group.Allocate."""
        return [dict({'groupid': name, 'users': ','.join(sorted(group['users']))},
                     **({'comment': group['comment']} if group['comment'] else {}))
                for name, group in sorted(self.groups.items())
                if any(self.allowed(user, '/access/groups/' + name, priv)
                       for priv in ('User.Modify', 'Sys.Audit', 'Group.Allocate'))]

    async def _grp_create(self, v, user):
        if v['groupid'] in self.groups:
            raise PveError(500, "create group failed: group '{0}' already exists".format(v['groupid']))
        self.need_quorum()
        self.add_group(v['groupid'], comment=v.get('comment'))

    async def _grp_update(self, v, user):
        """PUT /access/groups/{groupid} (update_group): the comment, under the user.cfg lock."""
        if v['groupid'] not in self.groups:
            raise PveError(500, "update group failed: group '{0}' does not exist".format(v['groupid']))
        self.need_quorum()
        if v.get('comment') is not None:
            self.groups[v['groupid']]['comment'] = v['comment']

    def _grp(self, groupid):
        if groupid not in self.groups:
            raise PveError(500, "group '{0}' does not exist".format(groupid))
        return self.groups[groupid]

    async def _grp_read(self, v, user):
        group = self._grp(v['groupid'])
        out = {'members': sorted(group['users'])}
        if group['comment']:
            out['comment'] = group['comment']
        return out

    async def _grp_delete(self, v, user):
        if v['groupid'] not in self.groups:
            raise PveError(500, "delete group failed: group '{0}' does not exist".format(v['groupid']))
        self.need_quorum()
        del self.groups[v['groupid']]
        # PVE::AccessControl::delete_group_acl: its ACL entries go with it.
        self.acl_entries = [e for e in self.acl_entries if not (e['type'] == 'group' and e['ugid'] == v['groupid'])]
        self._acl_sync('@' + v['groupid'])

    # -------------------------------------------------------- permissions

    def _acl_level(self, ugids, level, final):
        """The entries of ugids set on exactly this ACL path that apply there (all on the path itself, only the
        propagating ones above it)."""
        found = []
        for ugid in ugids:
            for entry in (self.acl or {}).get(ugid, []):
                if entry[0] == level and (final or getattr(entry, 'propagate', 1)):
                    found.append(entry)
        return found

    def acl_roles(self, ugid, path):
        """AccessControl::roles: the ACL entries in force for a user or token on path. Walking from `/` down, the
        entries of a level that apply replace those above (the most specific path wins); on one level the
        token's or user's own entries override its groups'; `propagate=0` entries count on their own path only; a
        `NoAccess` in force is all that is left."""
        token = '!' in ugid
        groups = [] if token else [name for name, group in sorted(self.groups.items()) if ugid in group['users']]
        levels = acl_levels(path)
        held = []
        for level in levels:
            final = level == levels[-1]
            own = self._acl_level([ugid], level, final)
            if own:
                held = own
                continue
            shared = self._acl_level(['@' + name for name in groups], level, final)
            if shared:
                held = shared
        noaccess = [entry for entry in held if getattr(entry, 'roleid', None) == 'NoAccess']
        return noaccess[:1] if noaccess else held

    def _pool_roles(self, ugid, path):
        """The entries a guest or storage gets from the pools it is in (RPCEnvironment's compile_acl_path)."""
        parts = path.split('/')
        if len(parts) != 3 or not parts[2]:
            return []
        if parts[1] == 'vms' and parts[2].isdigit():
            names = [name for name, ids in self.pools.items() if int(parts[2]) in ids]
        elif parts[1] == 'storage':
            names = [name for name, meta in self.pool_info.items() if parts[2] in meta.get('storage', ())]
        else:
            return []
        found = []
        for name in sorted(names):
            found.extend(self.acl_roles(ugid, '/pool/' + name))
        return found

    def acl_privileges(self, ugid, path):
        """RPCEnvironment::permissions for one user or token on its own ACLs: the privileges of the entries in
        force, with those of its pools added (a pool's NoAccess trumps them, a NoAccess on the path itself is never
        trumped)."""
        held = self.acl_roles(ugid, path)
        if not any(getattr(entry, 'roleid', None) == 'NoAccess' for entry in held):
            pooled = self._pool_roles(ugid, path)
            if any(getattr(entry, 'roleid', None) == 'NoAccess' for entry in pooled):
                held = pooled[:0]
            else:
                held = list(held) + pooled
        privs = set()
        for entry in held:
            privs.update(entry[1])
        return privs

    def allowed(self, user, path, priv):
        """PVE's RPCEnvironment::permissions, per privilege: root@pam holds all; a token without privilege
        separation holds its user's; one with it the intersection of its own ACLs and its user's (root@pam's
        tokens just their own)."""
        userid, _sep, tokenid = user.partition('!')
        if tokenid:
            info = self.token_info(user)
            if info is None:
                # A token put straight into pve.apitokens: fakepve's meaning, the user's privileges and its own.
                return self.allowed(userid, path, priv) or priv in self.acl_privileges(user, path)
            if not info.get('privsep', 1):
                return self.allowed(userid, path, priv)
            if userid == ROOT_LOGIN:
                return priv in self.acl_privileges(user, path)
            return self.allowed(userid, path, priv) and priv in self.acl_privileges(user, path)
        if userid == ROOT_LOGIN or self.acl is None:
            return True
        return priv in self.acl_privileges(userid, path)

    async def answer(self, request, match, params, user, call=None):
        """A method the schema declares without permissions is the root@pam login's alone, refused to everyone else
        (every API token too) before its parameters and its node are looked at, as pveproxy checks permissions
        before it calls the handler (RPCEnvironment::check_api2_permissions)."""
        if match is not None and user is not None and user != ROOT_LOGIN:
            info = match.methods.get(request.method)
            if info is not None and info.get('permissions') is None:
                raise PveError(403, NOT_ROOT)
        return await super().answer(request, match, params, user, call)

    def check_permissions(self, user, perms, values, declared=None):
        """PVE's RPCEnvironment::check_api2_permissions, in its order: only the root@pam login itself skips the
        rule (fakepve also lets root's tokens through: PVE compares the whole id, so `root@pam!name` is no root);
        no `permissions` -> root@pam only; `user => 'all'` -> every logged-in user, before any `check`; a `check`
        -> evaluated with the caller's privileges (a root token's as its privsep says); otherwise refused."""
        if user is None or user == ROOT_LOGIN:
            return super().check_permissions(user, perms, values, declared)
        if perms is None:
            raise PveError(403, NOT_ROOT)
        if perms.get('user') == 'all':
            return None
        if 'check' not in perms:
            if perms.get('user') == 'world':
                return None
            raise PveError(403, 'Permission check failed')
        check = self._pve8_check(perms['check']) if self.pve8() else perms['check']
        granted, why = self._check(user, check, values, declared)
        if not granted:
            raise PveError(403, 'Permission check failed ({0})'.format(why) if why else 'Permission check failed')
        return None

    @classmethod
    def _pve8_check(cls, check):
        """A PVE 9 schema's permission rule as PVE 8 declares it: VM.GuestAgent.* are VM.Monitor there."""
        if not isinstance(check, (list, tuple)) or not check:
            return check
        if check[0] == 'perm' and len(check) > 2 and isinstance(check[2], (list, tuple)):
            privs = []
            for priv in check[2]:
                priv = 'VM.Monitor' if priv in _AGENT_PRIVS else priv
                if priv not in privs:
                    privs.append(priv)
            return [check[0], check[1], privs] + list(check[3:])
        if check[0] in ('and', 'or'):
            return [check[0]] + [cls._pve8_check(sub) for sub in check[1:]]
        return check

    async def _permissions(self, v, user):
        """GET /access/permissions (fakepve's route): {path: {privilege: 1}}, a token's as its privsep says."""
        who = v.get('userid') or user
        if who.partition('!')[0] == 'root@pam' and not (self.token_info(who) or {}).get('privsep', 0):
            held = {'/': set(self.known_privileges())}
        else:
            paths = set(['/'])
            owner = who.partition('!')[0]
            keys = [who, owner] + ['@' + name for name, group in self.groups.items() if owner in group['users']]
            for ugid in keys:
                paths.update(entry[0] for entry in (self.acl or {}).get(ugid, []))
            held = {}
            for path in paths:
                privs = set(p for p in self.known_privileges() if self.allowed(who, path, p))
                if privs:
                    held[path] = privs
        if v.get('path') is not None:
            held = dict((p, ps) for p, ps in held.items()
                        if v['path'] == p or p == '/' or v['path'].startswith(p + '/'))
        return dict((path, dict.fromkeys(sorted(privs), 1)) for path, privs in sorted(held.items()))

    # The usage fields PVE/API2Tools.pm extract_node_stats leaves out for a node the caller may not audit.
    _NODE_STATS = ('uptime', 'cpu', 'mem', 'disk', 'maxcpu', 'maxmem', 'maxdisk')

    def _audit_node(self, user, item):
        if item.get('node') and not self.allowed(user, '/nodes/' + item['node'], 'Sys.Audit'):
            for key in self._NODE_STATS:
                item.pop(key, None)
        return item

    async def _nodes(self, request):
        """GET /nodes as pve-manager's PVE/API2/Nodes.pm index answers it: every node, the usage of those the caller
        holds Sys.Audit on (/nodes/<node>) only (extract_node_stats with exclude_stats)."""
        import json

        from fakepve.server import USER
        response = await super()._nodes(request)
        if response.status != 200:
            return response
        body = json.loads(response.text)
        body['data'] = [self._audit_node(request[USER], item) for item in body.get('data') or []]
        return web.json_response(body)

    async def _resources(self, request):
        """GET /cluster/resources as pve-manager's PVE/API2/Cluster.pm resources filters it: storages only with
        Datastore.Audit on /storage/<id>, node usage only with Sys.Audit on /nodes/<node>, a guest's pool only with
        Pool.Audit on /pool/<pool> (guests without VM.Audit fakepve leaves out already)."""
        import json

        from fakepve.server import USER
        response = await super()._resources(request)
        user = request[USER]
        if response.status != 200 or user == ROOT_LOGIN:
            return response
        body = json.loads(response.text)
        data = []
        for item in body.get('data') or []:
            store = '/storage/' + str(item.get('storage'))
            if item.get('type') == 'storage' and not self.allowed(user, store, 'Datastore.Audit'):
                continue
            if item.get('type') == 'node':
                item = self._audit_node(user, item)
            if item.get('type') in ('qemu', 'lxc') and item.get('pool') and \
                    not self.allowed(user, '/pool/' + item['pool'], 'Pool.Audit'):
                item.pop('pool')
            data.append(item)
        body['data'] = data
        return web.json_response(body)

    def _authenticate(self, request):
        """fakepve's login check, then a token's expiry."""
        user = super()._authenticate(request)
        info = self.token_info(user) if user and '!' in user else None
        if info and info.get('expire') and info['expire'] < time.time():
            raise PveError(401, 'authentication failure')
        return user
