# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API tokens: create, read, update, delete, log in, and privilege separation."""

import time

import pytest
from proxmoxer.core import ResourceException

SMALL = dict(clusters=1, nodes=1, guests=2)


def refused(call, **params):
    with pytest.raises(ResourceException) as caught:
        call(**params)
    return caught.value.status_code, caught.value.content, caught.value.errors


@pytest.mark.lab(**SMALL)
def test_token_lifecycle(lab_fn, api, raw):
    cluster = lab_fn.clusters[0]
    root = api(cluster)
    tokens = root.access.users('root@pam').token
    made = tokens('ci').post(comment='for CI')
    assert made['full-tokenid'] == 'root@pam!ci'
    assert made['info'] == {'privsep': 1, 'comment': 'for CI'}
    assert len(made['value']) == 36
    assert sorted(t['tokenid'] for t in tokens.get()) == ['ci', 'lab']
    assert tokens('ci').get() == {'privsep': 1, 'comment': 'for CI'}
    # It logs in at once; with privilege separation and no ACL of its own it may see nothing.
    ci = api(cluster, token=('root@pam!ci', made['value']))
    assert ci.version.get()['version'] == cluster.version
    assert ci.cluster.resources.get(type='vm') == []
    node = cluster.nodes[0]
    assert refused(ci.nodes(node).qemu(100).config.get) == (403, 'Permission check failed (/vms/100, VM.Audit)',
                                                            None)
    # The token's own ACL entry gives it the role on that path only.
    root.access.acl.put(path='/vms/100', roles='PVEVMAdmin', tokens='root@pam!ci')
    assert ci.nodes(node).qemu(100).config.get()['name']
    assert [g['vmid'] for g in ci.cluster.resources.get(type='vm')] == [100]
    assert {'path': '/vms/100', 'type': 'token', 'ugid': 'root@pam!ci', 'roleid': 'PVEVMAdmin',
            'propagate': 1} in root.access.acl.get()
    # Updates: comment, privsep, delete list, regenerate.
    assert tokens('ci').put(comment='changed', privsep=0) == {'privsep': 0, 'comment': 'changed'}
    assert len(ci.cluster.resources.get(type='vm')) == 2
    assert tokens('ci').put(delete='comment') == {'privsep': 0}
    status, body = raw(cluster, 'PUT', '/access/users/root@pam/token/ci', delete='privsep')
    assert status == 500
    assert body['message'] == ("updating token info failed: 400 Parameter verification failed.\n"
                               "delete: unknown option 'privsep'\n")
    fresh = tokens('ci').put(regenerate=1)
    assert fresh['full-tokenid'] == 'root@pam!ci' and fresh['value'] != made['value']
    assert refused(ci.version.get)[0] == 401
    assert api(cluster, token=('root@pam!ci', fresh['value'])).version.get()
    # Gone: it no longer logs in, and its ACL entries went with it.
    tokens('ci').delete()
    assert refused(api(cluster, token=('root@pam!ci', fresh['value'])).version.get)[0] == 401
    assert [t['tokenid'] for t in tokens.get()] == ['lab']
    assert not [e for e in root.access.acl.get() if e['ugid'] == 'root@pam!ci']


@pytest.mark.lab(**SMALL)
def test_token_errors(lab_fn, api):
    cluster = lab_fn.clusters[0]
    root = api(cluster)
    assert refused(root.access.users('root@pam').token('lab').post) == (
        400, 'Parameter verification failed.', {'tokenid': 'Token already exists.'})
    assert refused(root.access.users('nobody@pve').token('tt').post)[:2] == (500, "no such user ('nobody@pve')")
    assert refused(root.access.users('nobody@pve').token.get)[:2] == (500, "no such user ('nobody@pve')")
    assert refused(root.access.users('root@pam').token('nosuch').get)[:2] == (
        500, "no such token 'nosuch' for user 'root@pam'")
    assert refused(root.access.users('root@pam').token('nosuch').delete)[:2] == (
        500, "no such token 'nosuch' for user 'root@pam'")
    assert refused(root.access.users('root@pam').token('1bad').post)[0] == 400
    assert refused(root.access.acl.put, path='/', roles='NoSuchRole', tokens='root@pam!lab')[:2] == (
        500, "ACL update failed: error during cfs-locked 'file-user_cfg' operation: role 'NoSuchRole' does not exist")
    assert refused(root.access.acl.put, path='/', roles='PVEAuditor')[2] == dict.fromkeys(
        ('users', 'groups', 'tokens'), "either 'users', 'groups' or 'tokens' is required.")


@pytest.mark.lab(**SMALL)
def test_privilege_separation_of_a_users_tokens(lab_fn, api):
    cluster = lab_fn.clusters[0]
    node = cluster.nodes[0]
    cluster.pve.users['alice@pve'] = 'alice-secret'
    root = api(cluster)
    root.access.acl.put(path='/vms', roles='PVEVMAdmin', users='alice@pve')
    alice = api(cluster, auth='ticket', user='alice@pve', password='alice-secret')
    assert alice.nodes(node).qemu(100).config.get()
    # A user manages their own tokens.
    separated = alice.access.users('alice@pve').token('sep').post()
    full = alice.access.users('alice@pve').token('full').post(privsep=0)
    sep = api(cluster, token=(separated['full-tokenid'], separated['value']))
    assert refused(sep.nodes(node).qemu(100).config.get)[:2] == (403, 'Permission check failed (/vms/100, VM.Audit)')
    assert api(cluster, token=(full['full-tokenid'], full['value'])).nodes(node).qemu(100).config.get()
    # A token never holds more than its user: Sys.Audit on / for the token alone gives nothing.
    root.access.acl.put(path='/', roles='PVEAuditor', tokens='alice@pve!sep')
    assert refused(sep.cluster.backup.get)[:2] == (403, 'Permission check failed (/, Sys.Audit)')
    assert sep.nodes(node).qemu(100).config.get()
    # propagate=0 limits an entry to its own path.
    root.access.acl.put(path='/', roles='PVEAuditor', users='alice@pve', propagate=0)
    assert isinstance(sep.cluster.backup.get(), list)
    assert refused(alice.storage('local').get)[:2] == (
        403, 'Permission check failed (/storage/local, Datastore.Allocate)')
    assert alice.nodes(node).storage.get() == []
    # What each of them holds, as /access/permissions tells it.
    mine, its = alice.access.permissions.get(), sep.access.permissions.get()
    assert mine['/vms']['VM.Allocate'] == 1 and 'VM.Allocate' not in its['/vms']
    assert its['/vms']['VM.Audit'] == 1 and set(its['/vms']) <= set(mine['/vms'])
    assert its['/']['Sys.Audit'] == 1
    # Another user's tokens are not hers to see.
    assert refused(alice.access.users('root@pam').token.get)[0] == 403


@pytest.mark.lab(**SMALL)
def test_root_token_with_privilege_separation_is_not_root(lab_fn, api):
    cluster = lab_fn.clusters[0]
    root = api(cluster)
    made = root.access.users('root@pam').token('sep').post()
    sep = api(cluster, token=(made['full-tokenid'], made['value']))
    assert refused(sep.cluster.backup.get)[:2] == (403, 'Permission check failed (/, Sys.Audit)')
    root.access.acl.put(path='/', roles='Administrator', tokens='root@pam!sep')
    assert isinstance(sep.cluster.backup.get(), list)


@pytest.mark.lab(**SMALL)
def test_expired_token_is_refused(lab_fn, api):
    cluster = lab_fn.clusters[0]
    root = api(cluster)
    made = root.access.users('root@pam').token('old').post(expire=int(time.time()) - 60, privsep=0)
    assert refused(api(cluster, token=(made['full-tokenid'], made['value'])).version.get)[0] == 401
    root.access.users('root@pam').token('old').put(expire=0)
    assert api(cluster, token=(made['full-tokenid'], made['value'])).version.get()


@pytest.mark.lab(clusters=1, nodes=2, guests=2)
def test_node_usage_and_storages_need_their_audit_privileges(lab_fn, api):
    """Nodes.pm index and Cluster.pm resources: a node's usage only with Sys.Audit on it, a storage only with
    Datastore.Audit on it, a guest's pool only with Pool.Audit on the pool."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    one, two = sorted(cluster.nodes)
    guest = pve.vms[0]
    pve._pool_join('web', guest.vmid)
    pve.users['viewer@pve'] = 'x'
    secret = pve.add_token('viewer@pve', 'ci', privsep=1)
    root = api(cluster)
    root.access.roles.post(roleid='Look', privs='Sys.Audit,VM.Audit,Datastore.Audit')
    for path in ('/nodes/' + one, '/vms/{0}'.format(guest.vmid), '/storage/local'):
        root.access.acl.put(path=path, roles='Look', users='viewer@pve', tokens='viewer@pve!ci')
    viewer = api(cluster, token=('viewer@pve!ci', secret))
    nodes = dict((item['node'], item) for item in viewer.nodes.get())
    assert sorted(nodes) == [one, two]
    assert nodes[one]['maxmem'] > 0 and 'maxmem' not in nodes[two] and nodes[two]['status'] == 'online'
    listed = viewer.cluster.resources.get()
    assert sorted(set(item['storage'] for item in listed if item['type'] == 'storage')) == ['local']
    by_node = dict((item['node'], item) for item in listed if item['type'] == 'node')
    assert 'maxmem' in by_node[one] and 'maxmem' not in by_node[two]
    assert [item['vmid'] for item in listed if item['type'] == 'qemu'] == [guest.vmid]
    assert 'pool' not in [item for item in listed if item['type'] == 'qemu'][0]
    # root's own token (no privilege separation) sees it all.
    everything = root.cluster.resources.get()
    assert len([item for item in everything if item['type'] == 'storage']) > 2
    assert [item for item in everything if item.get('vmid') == guest.vmid][0]['pool'] == 'web'


@pytest.mark.lab(clusters=2, nodes=1, guests=8)
def test_guest_agent_privileges_by_release(lab_fn, api):
    """PVE 9 knows VM.GuestAgent.* and no VM.Monitor; PVE 8 the other way round, and its agent methods check
    VM.Monitor (qemu-server stable-bookworm API2/Qemu/Agent.pm)."""
    for cluster in lab_fn.clusters:
        pve = cluster.pve
        pve8 = cluster.version.startswith('8.')
        root = api(cluster)
        known, unknown = ('VM.Monitor', 'VM.GuestAgent.Audit') if pve8 else ('VM.GuestAgent.Audit', 'VM.Monitor')
        status, _content, _errors = refused(root.access.roles.post, roleid='Bad', privs='VM.Audit,' + unknown)
        assert status == 500
        root.access.roles.post(roleid='Agent', privs='VM.Audit,' + known)
        vm = [vm for vm in pve.vms if vm.agent is not None][0]
        vm.status = 'running'
        pve.users['agent@pve'] = 'x'
        secret = pve.add_token('agent@pve', 'ci', privsep=1)
        path = '/vms/{0}'.format(vm.vmid)
        root.access.acl.put(path=path, roles='PVEAuditor', users='agent@pve', tokens='agent@pve!ci')
        client = api(cluster, token=('agent@pve!ci', secret))
        agent = client.nodes(vm.node).qemu(vm.vmid).agent('network-get-interfaces')
        if pve8:
            # PVEAuditor holds no VM.Monitor on PVE 8.
            assert refused(agent.get)[0] == 403
        else:
            assert agent.get()['result']
        root.access.acl.put(path=path, roles='Agent', users='agent@pve', tokens='agent@pve!ci')
        assert agent.get()['result']
