# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Users: /access/users[/{userid}] as pve-access-control's PVE/API2/User.pm has them.

The list shows every user to a caller with User.Modify or Sys.Audit on /access/groups, otherwise the caller and
the members of the groups it holds one of them on (index; with `full`, each user's tokens too); read answers `no such user ('<id>')`
(AccessControl::check_user_exist); create sets `enable` (default 1), the other properties only when not empty, the
groups (`no such group`), and a password through the realm (`domain_set_password`: `auth domain '<realm>' does
not exist`); update replaces the groups unless `append`; delete drops the user's group memberships, ACL entries
and tokens. Errors inside the user.cfg lock carry `create user failed: `, `update user failed: `,
`delete user failed: ` in front. Passwords live in fakepve's `users` (login), the rest in `user_info`.
"""

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, split_list

PROPS = ('firstname', 'lastname', 'email', 'comment', 'keys')
# The realms of a fresh PVE installation (domains.cfg).
REALMS = ('pam', 'pve')
REALM_COMMENTS = {'pam': 'Linux PAM standard authentication', 'pve': 'Proxmox VE authentication server'}


class UsersArea(StatefulRoutes):
    """Mixin of the lab's PVE: users and their properties."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # userid -> {'enable': 0|1, 'expire': epoch, 'firstname' ...}; users without an entry are enabled, bare
        self.user_info = {}

    def _routes_users(self):
        one = '/access/users/{userid}'
        return [('GET', '/access/users', self._user_index), ('POST', '/access/users', self._user_create),
                ('GET', one, self._user_read), ('PUT', one, self._user_update), ('DELETE', one, self._user_delete),
                ('GET', '/access/domains', self._realm_index)]

    async def _realm_index(self, v, user):
        """GET /access/domains (PVE/API2/Domains.pm index, open to every caller): the realms of domains.cfg as a
        fresh installation writes it (PVE/Auth/Plugin.pm write_config with the pam and pve realms), each with its
        type and comment."""
        return [dict(realm=realm, type=realm, comment=REALM_COMMENTS[realm]) for realm in REALMS]

    def _all_users(self):
        return sorted(set(self.users) | {'root@pam'} | ({self.user} if self.user else set()))

    def _user_groups(self, userid):
        return sorted(name for name, group in self.groups.items() if userid in group['users'])

    def _user_data(self, userid):
        info = self.user_info.get(userid, {})
        out = {'enable': info.get('enable', 1), 'expire': info.get('expire', 0)}
        out.update((key, info[key]) for key in PROPS if info.get(key) not in (None, ''))
        return out

    def _no_user(self, userid, action=None):
        message = "no such user ('{0}')".format(userid)
        return PveError(500, '{0}: {1}'.format(action, message) if action else message)

    async def _user_index(self, v, user):
        caller = user.partition('!')[0]
        privs = ('User.Modify', 'Sys.Audit')
        everyone = any(self.allowed(user, '/access/groups', p) for p in privs)
        visible = set()
        for name, group in self.groups.items():
            if any(self.allowed(user, '/access/groups/' + name, p) for p in privs):
                visible |= group['users']
        out = []
        for userid in self._all_users():
            if not (everyone or userid == caller or userid in visible):
                continue
            entry = dict(self._user_data(userid), userid=userid)
            if v.get('enabled') is not None and bool(int(entry['enable'])) != bool(int(v['enabled'])):
                continue
            groups = self._user_groups(userid)
            if groups:
                entry['groups'] = ','.join(groups)
            realm = userid.rpartition('@')[2]
            if realm in REALMS:
                entry['realm-type'] = realm
            if v.get('full'):
                # User.pm index with `full`: the user's tokens too (never their secrets).
                entry['tokens'] = [dict(info, tokenid=tokenid)
                                   for tokenid, info in sorted(self.user_tokens.get(userid, {}).items())]
            out.append(entry)
        return out

    async def _user_read(self, v, user):
        userid = v['userid']
        if not self.user_exists(userid):
            raise self._no_user(userid)
        out = self._user_data(userid)
        out['groups'] = self._user_groups(userid)
        out['tokens'] = dict((tid, dict(info)) for tid, info in self.user_tokens.get(userid, {}).items())
        return out

    def _set_groups(self, userid, groups, action, append=False):
        for group in groups:
            if group not in self.groups:
                raise PveError(500, "{0}: no such group '{1}'".format(action, group))
        if not append:
            for group in self.groups.values():
                group['users'].discard(userid)
        for group in groups:
            self.groups[group]['users'].add(userid)

    async def _user_create(self, v, user):
        userid = v['userid']
        action = 'create user failed'
        if self.user_exists(userid):
            raise PveError(500, "{0}: user '{1}' already exists".format(action, userid))
        realm = userid.rpartition('@')[2]
        if v.get('password') is not None and realm not in REALMS:
            raise PveError(500, "{0}: auth domain '{1}' does not exist".format(action, realm))
        groups = split_list(v.get('groups'))
        for group in groups:
            if group not in self.groups:
                raise PveError(500, "{0}: no such group '{1}'".format(action, group))
        self.need_quorum()
        info = {'enable': int(v['enable']) if v.get('enable') is not None else 1}
        if v.get('expire'):
            info['expire'] = int(v['expire'])
        info.update((key, v[key]) for key in PROPS if v.get(key))
        self.user_info[userid] = info
        # A user without a password cannot log in; fakepve's login table holds None for it.
        self.users[userid] = v.get('password')
        self._set_groups(userid, groups, action, append=True)

    async def _user_update(self, v, user):
        userid = v['userid']
        action = 'update user failed'
        if not self.user_exists(userid):
            raise self._no_user(userid, action)
        groups = split_list(v.get('groups')) if v.get('groups') is not None else None
        for group in groups or ():
            if group not in self.groups:
                raise PveError(500, "{0}: no such group '{1}'".format(action, group))
        self.need_quorum()
        info = self.user_info.setdefault(userid, {'enable': 1})
        for key in ('enable', 'expire'):
            if v.get(key) is not None:
                info[key] = int(v[key])
        for key in PROPS:
            if v.get(key) is not None:
                info[key] = v[key]
        if groups is not None:
            self._set_groups(userid, groups, action, append=bool(v.get('append')))

    async def _user_delete(self, v, user):
        userid = v['userid']
        if not self.user_exists(userid):
            raise self._no_user(userid, 'delete user failed')
        self.need_quorum()
        self.users.pop(userid, None)
        self.user_info.pop(userid, None)
        for group in self.groups.values():
            group['users'].discard(userid)
        for tokenid in list(self.user_tokens.pop(userid, {})):
            self.apitokens.pop('{0}!{1}'.format(userid, tokenid), None)
        # AccessControl::delete_user_acl, and the tokens' entries with them.
        gone = [e for e in self.acl_entries if e['ugid'] == userid or e['ugid'].startswith(userid + '!')]
        self.acl_entries = [e for e in self.acl_entries if e not in gone]
        for key in set(e['ugid'] for e in gone):
            self._acl_sync(key)
