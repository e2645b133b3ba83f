# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Permissions in the PBS fake, as PBS decides them: users, API tokens (a token holds what its ACL entries grant,
intersected with its owner's), ACLs (propagation, most specific path wins, NoAccess), the fixed roles, each
method's declared permission (compared with the official schema when it is at hand), lists filtered silently."""

import json
import os

import pytest

from tests.lab.pbs import access, specs
from tests.lab.pbs.access import AclTree
from tests.lab.pbs.server import FakePbs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMA = os.path.join(REPO, '..', 'shared', 'api-schema', 'pbs-api.json')


# ---------------------------------------------------------------- the model, without a server

def fake():
    pbs = FakePbs(password='pw')
    pbs.add_user('alice@pbs', 'secret12')
    pbs.add_token('alice@pbs', 'auto')
    pbs.add_token('root@pam', 'tok')
    return pbs


def test_root_password_is_superuser_but_its_tokens_hold_nothing_without_acl():
    pbs = fake()
    assert pbs.privs('root@pam', '/datastore/x') == access.ALL
    # cached_user_info.rs is_superuser: a token is never the superuser, root@pam's included.
    assert pbs.privs('root@pam!tok', '/datastore/x') == frozenset()
    pbs.grant('/datastore', 'root@pam!tok', 'DatastoreAudit')
    assert pbs.privs('root@pam!tok', '/datastore/x') == {'Datastore.Audit'}


def test_token_privileges_are_the_intersection_with_its_owner():
    pbs = fake()
    pbs.grant('/', 'alice@pbs!auto', 'Admin')
    assert pbs.privs('alice@pbs!auto', '/datastore/x') == frozenset()  # alice has nothing
    pbs.grant('/datastore/x', 'alice@pbs', 'DatastoreBackup')
    assert pbs.privs('alice@pbs!auto', '/datastore/x') == {'Datastore.Backup'}
    assert pbs.privs('alice@pbs!auto', '/datastore/y') == frozenset()


def test_most_specific_path_wins_propagation_and_no_access():
    tree = AclTree()
    tree.insert('/datastore', 'u@pbs', 'DatastoreAdmin')
    tree.insert('/datastore/a', 'u@pbs', 'DatastoreAudit')
    tree.insert('/datastore/b', 'u@pbs', 'NoAccess')
    tree.insert('/remote', 'u@pbs', 'RemoteAudit', propagate=False)
    assert tree.roles('u@pbs', ['datastore', 'c']) == {'DatastoreAdmin': True}
    # the entry on /datastore/a replaces the inherited DatastoreAdmin, it does not add to it
    assert tree.roles('u@pbs', ['datastore', 'a']) == {'DatastoreAudit': True}
    assert tree.roles('u@pbs', ['datastore', 'b', 'ns1']) == {'NoAccess': False}
    # propagate=0 holds on the path itself only
    assert tree.roles('u@pbs', ['remote']) == {'RemoteAudit': False}
    assert tree.roles('u@pbs', ['remote', 'r1']) == {}
    # NoAccess replaces the auth id's other roles on that node, another role replaces NoAccess
    tree.insert('/datastore', 'u@pbs', 'NoAccess')
    assert tree.roles('u@pbs', ['datastore']) == {'NoAccess': False}
    tree.insert('/datastore', 'u@pbs', 'DatastoreAudit')
    assert tree.roles('u@pbs', ['datastore']) == {'DatastoreAudit': True}


def test_roles_hold_pbs_privileges():
    assert access.ROLES['DatastoreAdmin'] >= {'Datastore.Audit', 'Datastore.Modify', 'Datastore.Backup',
                                              'Datastore.Prune', 'Datastore.Verify', 'Datastore.Read'}
    assert 'Datastore.Allocate' not in access.ROLES['DatastoreAdmin']
    assert access.ROLES['RemoteSyncOperator'] == {'Remote.Audit', 'Remote.Read'}
    assert access.ROLES['Audit'] == {'Sys.Audit', 'Datastore.Audit'}


# ----------------------------------------------------------------------- over HTTP

@pytest.fixture
def alice(pbs_fn, pbs_raw):
    """A user alice@pbs and her token alice@pbs!auto made through the API by the lab's Admin token; returns a
    request function with that token."""
    status, text, _body = pbs_raw(pbs_fn, 'POST', '/access/users', userid='alice@pbs', password='secret123')
    assert status == 200, text
    status, text, body = pbs_raw(pbs_fn, 'POST', '/access/users/alice@pbs/token/auto')
    assert status == 200, text
    secret = body['data']['value']
    header = {'Authorization': 'PBSAPIToken=alice@pbs!auto:' + secret}

    def call(method, where, **params):
        return pbs_raw(pbs_fn, method, where, headers=header, **params)
    call.server = pbs_fn
    return call


def grant(server, raw, path, auth_id, role, **extra):
    status, text, _body = raw(server, 'PUT', '/access/acl', path=path, role=role, **dict(extra, **{'auth-id': auth_id}))
    assert status == 200, text


def test_secret_is_shown_once(pbs_fn, pbs_raw, alice):
    status, _text, body = pbs_raw(pbs_fn, 'GET', '/access/users/alice@pbs/token/auto')
    assert status == 200 and 'value' not in body['data'] and 'secret' not in body['data']


def test_a_new_token_can_do_nothing_and_lists_filter_silently(pbs_fn, pbs_raw, alice):
    status, text, _body = alice('POST', '/config/datastore', name='nope', path='/mnt/datastore/nope')
    assert (status, text) == (403, 'permission check failed')
    for where in ('/config/datastore', '/admin/datastore', '/config/remote', '/config/sync', '/admin/gc'):
        status, text, body = alice('GET', where)
        assert status == 200 and body['data'] == [], (where, text)
    status, text, _body = alice('GET', '/config/datastore/store1')
    assert (status, text) == (403, 'permission check failed')
    status, text, _body = alice('GET', '/admin/datastore/store1/snapshots')
    assert status == 403 and 'missing Datastore.Audit|Datastore.Backup on /datastore/store1' in text


def test_acl_grants_what_the_owner_also_has(pbs_fn, pbs_raw, alice):
    grant(pbs_fn, pbs_raw, '/datastore/store1', 'alice@pbs!auto', 'DatastoreAudit')
    # the token's entry alone is not enough: alice herself has nothing
    assert alice('GET', '/config/datastore')[2]['data'] == []
    grant(pbs_fn, pbs_raw, '/datastore', 'alice@pbs', 'DatastoreAdmin')
    assert [d['name'] for d in alice('GET', '/config/datastore')[2]['data']] == ['store1']
    assert [d['store'] for d in alice('GET', '/admin/datastore')[2]['data']] == ['store1']
    status, _text, body = alice('GET', '/admin/datastore/store1/status', verbose=1)
    assert status == 200 and body['data']['total'] > 0
    # DatastoreAudit holds no Datastore.Modify: the token cannot change the datastore
    status, text, _body = alice('PUT', '/config/datastore/store1', comment='x')
    assert (status, text) == (403, 'permission check failed')
    # the ACL as the token's owner sees it: only the entries of her tokens
    status, _text, body = pbs_raw(pbs_fn, 'GET', '/access/acl')
    assert {'path': '/datastore/store1', 'ugid': 'alice@pbs!auto', 'ugid_type': 'user', 'roleid': 'DatastoreAudit',
            'propagate': True} in body['data']
    status, _text, body = alice('GET', '/access/acl')
    assert status == 200 and body['data'] == []  # tokens see nothing of it


def test_unprivileged_acl_updates_are_refused(pbs_fn, pbs_raw, alice):
    status, text, _body = alice('PUT', '/access/acl', path='/', role='Admin', **{'auth-id': 'alice@pbs!auto'})
    assert (status, text) == (400, "Unprivileged API tokens can't set ACL items.")
    status, text, _body = pbs_raw(pbs_fn, 'PUT', '/access/acl', path='/', role='Admin', **{'auth-id': 'ghost@pbs!x'})
    assert (status, text) == (400, 'no such API token.')
    status, text, _body = pbs_raw(pbs_fn, 'PUT', '/access/acl', path='/nowhere', role='Admin',
                                  **{'auth-id': 'alice@pbs'})
    assert (status, text) == (400, "invalid acl path '/nowhere'.")


def test_sync_job_needs_backup_on_the_store_and_remote_read_on_remote_store(pbs_fn, pbs_raw, alice):
    pbs_fn.run(pbs_fn.pbs.add_datastore, 'dst1')
    status, text, _body = pbs_raw(pbs_fn, 'POST', '/config/remote', name='rem1', host='192.0.2.1',
                                  password='x', **{'auth-id': 'sync@pbs'})
    assert status == 200, text
    job = {'id': 'job1', 'store': 'dst1', 'remote': 'rem1', 'remote-store': 'src1', 'owner': 'alice@pbs!auto'}
    for auth_id in ('alice@pbs', 'alice@pbs!auto'):
        grant(pbs_fn, pbs_raw, '/datastore/dst1', auth_id, 'DatastoreBackup')
    status, text, _body = alice('POST', '/config/sync', **job)
    assert (status, text) == (400, 'permission check failed')  # no Remote.Read yet
    for auth_id in ('alice@pbs', 'alice@pbs!auto'):
        grant(pbs_fn, pbs_raw, '/remote/rem1/src1', auth_id, 'RemoteSyncOperator')
    status, text, _body = alice('POST', '/config/sync', **job)
    assert status == 200, text
    # an owner other than the token itself needs Datastore.Modify too
    status, text, _body = alice('PUT', '/config/sync/job1', owner='root@pam')
    assert (status, text) == (400, 'permission check failed')
    # listing needs Datastore.Audit on the store and Remote.Audit on the remote: Backup alone hides the job
    assert alice('GET', '/config/sync')[2]['data'] == []


def test_tasks_of_others_need_sys_audit(pbs_fn, pbs_raw, alice):
    status, _text, body = pbs_raw(pbs_fn, 'POST', '/admin/datastore/store1/gc')
    upid = body['data']
    status, text, _body = alice('GET', '/nodes/localhost/tasks/{0}/status'.format(upid))
    assert (status, text) == (400, 'task access not allowed')
    status, _text, _body = pbs_raw(pbs_fn, 'GET', '/nodes/localhost/tasks/{0}/status'.format(upid))
    assert status == 200


# ------------------------------------------------------- declared permissions vs the schema

@pytest.fixture(scope='module')
def official():
    if not os.path.exists(SCHEMA):
        pytest.skip('the official PBS schema is not at {0}'.format(os.path.normpath(SCHEMA)))
    with open(SCHEMA, encoding='utf-8') as handle:
        return json.load(handle)['paths']


def _from_schema(perm):
    """The schema's permissions object as the lab's declaration tuple."""
    if 'or' in perm:
        return ('or', [_from_schema(p) for p in perm['or']])
    if 'check' in perm:
        check = perm['check']
        return ('privilege', '/' + '/'.join(check['path']), tuple(check['privs']), bool(check.get('partial')))
    if 'userParam' in perm:
        return ('user-param', perm['userParam'])
    return {'all': access.ANYBODY, 'world': access.WORLD}[perm.get('user')]


@pytest.mark.parametrize('method, path', sorted(specs.SPECS))
def test_declared_permission_matches_the_official_schema(official, method, path):
    assert access.declared(method, path) == _from_schema(official[path][method]['permissions'])


def test_own_permissions_list_only_paths_with_privileges(pbs_fn, pbs_raw, alice):
    status, _text, body = alice('GET', '/access/permissions')
    assert status == 200 and body['data'] == {}
    grant(pbs_fn, pbs_raw, '/datastore', 'alice@pbs', 'DatastoreAudit')
    grant(pbs_fn, pbs_raw, '/datastore', 'alice@pbs!auto', 'DatastoreAudit', propagate=0)
    status, _text, body = alice('GET', '/access/permissions')
    # propagate=0 on the token's entry: held on /datastore, not below it
    assert body['data'] == {'/datastore': {'Datastore.Audit': False}}
    status, text, _body = alice('GET', '/access/permissions', **{'auth-id': 'root@pam'})
    assert (status, text) == (400, 'not allowed to list permissions of root@pam')
