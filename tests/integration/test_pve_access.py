# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_role and pve_acl (issue 16, access control) through ansible-playbook against the lab.

The modules run with a least-privilege token built from their rows in docs/privileges.md, so those rows are tested.
"""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def test_role(lab):
    cluster = lab.clusters[0]
    role = 'it-' + uuid.uuid4().hex[:8]
    pve = least_privilege_token(cluster, 'pve_role')
    run = run_playbook(target('pve_role'), lab, diff=True, extra_vars={'pve': pve, 'role': role})
    assert run.ok, run.explain()
    assert role not in cluster.pve.custom_roles
    # The refused changes wrote nothing: the built-in role is as PVE::AccessControl makes it.
    from tests.lab.areas.tokens import ROLES
    assert ROLES['PVEAuditor'] >= {'VM.Audit', 'Sys.Audit', 'Datastore.Audit'}


def _root_api(cluster):
    import proxmoxer
    userid, _sep, token = cluster.token_id.partition('!')
    return proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, verify_ssl=cluster.ca_path, user=userid,
                                token_name=token, token_value=cluster.token_secret)


def _robot(cluster, api):
    """A user (put in the lab's state) and a privilege-separated token of it, made through the API."""
    user = 'robot-{0}@pve'.format(uuid.uuid4().hex[:6])
    cluster.pve.users[user] = 'robot-password'
    made = api.access.users(user).token('ansible').post(privsep=1)
    return user, made['full-tokenid'], made['value']


def test_acl(lab):
    cluster = lab.clusters[0]
    api = _root_api(cluster)
    role = 'it-' + uuid.uuid4().hex[:8]
    api.access.roles.post(roleid=role, privs='VM.Audit')
    user, token, _secret = _robot(cluster, api)
    path = '/pool/it-' + uuid.uuid4().hex[:6]
    pve = least_privilege_token(cluster, 'pve_acl')
    try:
        run = run_playbook(target('pve_acl'), lab, diff=True, extra_vars={
            'pve': pve, 'role': role, 'acl_path': path, 'acl_user': user, 'acl_token': token})
        assert run.ok, run.explain()
        assert [e for e in api.access.acl.get() if e['path'] == path] == []
    finally:
        api.access.roles(role).delete()


def test_role_and_acl_grant_exactly_what_they_say(lab):
    """pve_role + pve_acl give a privilege-separated token snapshot rights on one guest: it can snapshot that guest
    and nothing more (not another guest, not a role of its own)."""
    import proxmoxer
    from proxmoxer.core import ResourceException
    cluster = lab.clusters[0]
    api = _root_api(cluster)
    guests = sorted((vm.vmid, vm.node) for vm in cluster.pve.vms)
    (vmid, node), (other, other_node) = guests[0], guests[1]
    role = 'it-' + uuid.uuid4().hex[:8]
    user, token, secret = _robot(cluster, api)
    robot = proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, verify_ssl=cluster.ca_path, user=user,
                                 token_name='ansible', token_value=secret)
    with pytest.raises(ResourceException) as before:
        robot.nodes(node).qemu(vmid).snapshot.post(snapname='before')
    assert before.value.status_code == 403
    run = run_playbook(target('pve_acl', 'grant.yml'), lab, diff=True, extra_vars={
        'pve': pve_vars(cluster), 'role': role, 'vmid': vmid, 'acl_user': user, 'acl_token': token})
    assert run.ok, run.explain()
    try:
        robot.nodes(node).qemu(vmid).snapshot.post(snapname='granted')
        assert 'granted' in [s['name'] for s in robot.nodes(node).qemu(vmid).snapshot.get()]
        for call in (lambda: robot.nodes(other_node).qemu(other).snapshot.post(snapname='denied'),
                     robot.nodes(node).qemu(vmid).status.stop.post,
                     lambda: robot.access.roles.post(roleid=role + 'x', privs='VM.Audit')):
            with pytest.raises(ResourceException) as denied:
                call()
            assert denied.value.status_code == 403
    finally:
        api.access.acl.put(path='/vms/{0}'.format(vmid), roles=role, users=user, tokens=token, delete=1)
        api.access.roles(role).delete()
        api.nodes(node).qemu(vmid).snapshot('granted').delete()


def test_group(lab):
    cluster = lab.clusters[0]
    group = 'it-' + uuid.uuid4().hex[:8]
    pve = least_privilege_token(cluster, 'pve_group', group=group)
    run = run_playbook(target('pve_group'), lab, diff=True, extra_vars={'pve': pve, 'group': group})
    assert run.ok, run.explain()
    assert group not in cluster.pve.groups


def test_user(lab):
    """pve_user end to end; the password set on creation logs in; no password shows in the output, even at -vvv; the
    user is gone afterwards with its group memberships."""
    cluster = lab.clusters[0]
    api = _root_api(cluster)
    suffix = uuid.uuid4().hex[:6]
    userid = 'robot-{0}@pve'.format(suffix)
    groups = ['it-a-' + suffix, 'it-b-' + suffix]
    for group in groups:
        api.access.groups.post(groupid=group)
    first, second = 'first-' + uuid.uuid4().hex, 'second-' + uuid.uuid4().hex
    pve = least_privilege_token(cluster, 'pve_user', realm='pve')
    run = run_playbook(target('pve_user'), lab, diff=True, verbosity=3, extra_vars={
        'pve': pve, 'userid': userid, 'group_a': groups[0], 'group_b': groups[1],
        'first_password': first, 'second_password': second})
    assert run.ok, run.explain()
    assert first not in run.stdout and second not in run.stdout
    assert not cluster.pve.user_exists(userid)
    assert all(userid not in cluster.pve.groups[g]['users'] for g in groups)
    for group in groups:
        api.access.groups(group).delete()


def test_token(lab, tmp_path):
    """pve_token end to end with the least-privilege token of its row, at -vvv: each secret (created, rotated, rotated
    by max_age) reaches the play, which keeps it in a 0600 file, and never its output; the rotated secret logs in,
    the replaced one no longer does; the token is gone afterwards."""
    import stat

    import proxmoxer
    from proxmoxer.core import ResourceException
    cluster = lab.clusters[0]
    api = _root_api(cluster)
    userid = 'robot-{0}@pve'.format(uuid.uuid4().hex[:6])
    cluster.pve.users[userid] = 'robot-password'
    handmade = api.access.users(userid).token('handmade').post(privsep=1)
    tokenid = 'it-' + uuid.uuid4().hex[:8]
    pve = least_privilege_token(cluster, 'pve_token')
    run = run_playbook(target('pve_token'), lab, diff=True, verbosity=3, extra_vars={
        'pve': pve, 'userid': userid, 'tokenid': tokenid, 'handmade': 'handmade', 'secret_dir': str(tmp_path),
        'missing_user': 'nobody-{0}@pve'.format(uuid.uuid4().hex[:6])})
    assert run.ok, run.explain()
    found = dict((name, (tmp_path / name).read_text()) for name in ('created', 'rotated', 'aged'))
    for name, secret in found.items():
        assert len(secret) == 36, name
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert secret not in run.stdout and secret not in run.stderr, name
    assert 'output has been hidden' in run.stdout
    assert found['rotated'] != found['created']
    # The handmade token now has the secret max_age gave it, and logs in with it; its old one is refused.
    assert cluster.pve.apitokens[userid + '!handmade'] == found['aged']
    robot = proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, verify_ssl=cluster.ca_path, user=userid,
                                 token_name='handmade', token_value=found['aged'])
    assert robot.access.roles('NoAccess').get() == {}
    stale = proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, verify_ssl=cluster.ca_path, user=userid,
                                 token_name='handmade', token_value=handmade['value'])
    with pytest.raises((ResourceException, proxmoxer.AuthenticationError)):
        stale.access.roles('NoAccess').get()
    assert tokenid not in cluster.pve.user_tokens.get(userid, {})


def test_access_info(lab):
    """pve_access_info reads, with the least-privilege token of its row, what root made through the API; no token
    secret shows in its output at -vvv; a token without privileges is told which lists are cut short."""
    cluster = lab.clusters[0]
    api = _root_api(cluster)
    suffix = uuid.uuid4().hex[:6]
    userid, groupid, roleid = 'robot-{0}@pve'.format(suffix), 'it-g-' + suffix, 'it-r-' + suffix
    api.access.groups.post(groupid=groupid, comment='made for pve_access_info')
    api.access.users.post(userid=userid, email='robot@example.com', groups=groupid)
    api.access.roles.post(roleid=roleid, privs='VM.Audit,Sys.Audit')
    made = api.access.users(userid).token('reader').post(comment='read by pve_access_info [created 2026-01-02T03:04:05Z]')
    acl_path = '/pool/it-' + suffix
    api.access.acl.put(path=acl_path, roles=roleid, users=userid, tokens=made['full-tokenid'])
    bare_user = 'bare-{0}@pve'.format(suffix)
    api.access.users.post(userid=bare_user)
    bare = api.access.users(bare_user).token('ansible').post(privsep=1)
    pve = least_privilege_token(cluster, 'pve_access_info')
    try:
        run = run_playbook(target('pve_access_info'), lab, verbosity=3, extra_vars={
            'pve': pve, 'userid': userid, 'groupid': groupid, 'roleid': roleid, 'tokenid': 'reader',
            'acl_path': acl_path, 'bare_token_id': bare['full-tokenid'], 'bare_token_secret': bare['value']})
        assert run.ok, run.explain()
        assert made['value'] not in run.stdout and made['value'] not in run.stderr
    finally:
        api.access.users(userid).delete()
        api.access.users(bare_user).delete()
        api.access.groups(groupid).delete()
        api.access.roles(roleid).delete()
