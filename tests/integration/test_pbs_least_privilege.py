# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS modules, the pbs_latest_backup lookup and the inventory's Backup Server part, each with a token holding
only what its row in docs/privileges.md lists (tests/integration/least_privilege_pbs.py); and the notes they give
when a list PBS filters by privilege may be incomplete, instead of reporting nothing."""

import json
import uuid

from tests.integration.conftest import target
from tests.integration.least_privilege_pbs import admin_call, least_privilege_pbs_token, token_with
from tests.integration.test_inventory_proxmox import _plain, _run
from tests.lab.pytest_plugin import run_playbook

T1, T2, T3 = 1767225600, 1767312000, 1767398400


def _seed(lab, tag):
    """Datastores src (four snapshots, two owned by someone else) and dst, and a remote to the lab itself, made as
    an admin would (the lab's Admin token)."""
    fake, server = lab.pbs.pbs, lab.pbs
    src, dst, remote = tag + '-src', tag + '-dst', tag + '-self'

    async def seed():
        fake.add_datastore(src)
        fake.add_datastore(dst)
        fake.add_snapshot(src, 'vm', '100', T1)
        fake.add_snapshot(src, 'vm', '100', T2)
        fake.add_snapshot(src, 'ct', '101', T1, owner='someone@pbs')
        fake.add_snapshot(src, 'ct', '101', T3, owner='someone@pbs')
    lab.call(seed())
    admin_call(server, 'POST', '/config/remote', name=remote, host=server.host, password=server.token_secret,
               **{'auth-id': server.token_id})
    return src, dst, remote


def _cleanup(lab, names, remote):
    fake = lab.pbs.pbs

    async def cleanup():
        for name in names:
            store = fake.datastores.pop(name, None)
            if store is not None:
                fake.chunk_stores.pop(store.config['path'], None)
        fake.remotes.pop(remote, None)
    lab.call(cleanup())


def _token(server, module, tag, options=(), **where):
    token_id, secret, _roles = least_privilege_pbs_token(server, module, options, suffix='-' + tag, **where)
    return {'id': token_id, 'secret': secret}


def test_every_pbs_module_with_the_privileges_its_row_lists(lab):
    server = lab.pbs
    tag = 'lp' + uuid.uuid4().hex[:6]
    ds = tag + '-new'
    src, dst, remote = _seed(lab, tag)
    try:
        def token(module, options=(), **where):
            suffix = '-{0}-{1}'.format('-'.join(options), tag) if options else '-' + tag
            token_id, secret, _roles = least_privilege_pbs_token(server, module, options, suffix=suffix, **where)
            return {'id': token_id, 'secret': secret}
        tokens = {
            'pbs_datastore': token('pbs_datastore', name=ds),
            'pbs_remote': token('pbs_remote', name=tag + '-lp'),
            'sync': token('pbs_job', ('sync',), store=dst, remote=remote, remote_store=src),
            'verify': token('pbs_job', ('verify',), store=dst),
            'prune': token('pbs_job', ('prune',), store=dst),
            'pbs_info': token('pbs_info'),
            'pbs_snapshot_info': token('pbs_snapshot_info', store=src),
            'pbs_latest_backup': token('pbs_latest_backup', store=src),
        }
    except BaseException:
        _cleanup(lab, (src, dst, ds), remote)
        raise
    try:
        run = run_playbook(target('pbs_least_privilege'), lab, diff=True, extra_vars={
            'tokens': tokens, 'ds': ds, 'src': src, 'dst': dst, 'remote': remote, 'tag': tag})
        assert run.ok, run.explain()
        assert not run.failed
        # The sync pulled into dst for its owner, the least-privilege token.
        owners = set(s.owner for s in lab.pbs.pbs.datastores[dst].snapshots.values())
        assert owners == {tokens['sync']['id']}
    finally:
        _cleanup(lab, (src, dst, ds), remote)


def test_least_privilege_tokens_are_distinct_per_job_type():
    """pbs_job's row has one part per job type: a verify token gets Datastore.Verify, not the sync privileges."""
    from tests.integration.least_privilege_pbs import pbs_grants
    assert pbs_grants('pbs_job', ('verify',), store='s') == {'/datastore/s': {'Datastore.Audit', 'Datastore.Verify'}}
    sync = pbs_grants('pbs_job', ('sync',), store='s', remote='r', remote_store='x')
    assert sync == {'/datastore/s': {'Datastore.Audit', 'Datastore.Backup'}, '/remote/r': {'Remote.Audit'},
                    '/remote/r/x': {'Remote.Read'}}


INFO_PLAY = '''
- name: Read the server with a token
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Pbs_info
      proxfleet.proxmox.pbs_info:
        api_host: "{{ lab_pbs.api_host }}"
        api_port: "{{ lab_pbs.api_port }}"
        api_token_id: "{{ token.id }}"
        api_token_secret: "{{ token.secret }}"
        ca_path: "{{ lab_pbs.ca_path }}"
      register: info
    - name: Pbs_snapshot_info
      proxfleet.proxmox.pbs_snapshot_info:
        datastore: "{{ src }}"
        api_host: "{{ lab_pbs.api_host }}"
        api_port: "{{ lab_pbs.api_port }}"
        api_token_id: "{{ token.id }}"
        api_token_secret: "{{ token.secret }}"
        ca_path: "{{ lab_pbs.ca_path }}"
      register: snaps
      ignore_errors: true
'''


def test_lists_filtered_by_privilege_say_they_may_be_incomplete(lab):
    server = lab.pbs
    tag = 'lq' + uuid.uuid4().hex[:6]
    src, dst, remote = _seed(lab, tag)
    try:
        # Nothing at all: every list is empty, and pbs_info says why instead of reporting no datastores.
        nothing = dict(zip(('id', 'secret'), token_with(server, tag + '-none@pbs', {})[:2]))
        run = run_playbook(INFO_PLAY, lab, extra_vars={'token': nothing, 'src': src})
        assert run.ok, run.explain()
        info = run.result('Pbs_info')
        assert info['datastores'] == [] and info['remotes'] == []
        notes = ' '.join(info['incomplete'])
        assert 'datastores may be incomplete' in notes and 'Datastore.Audit on /datastore' in notes
        assert 'remotes may be incomplete' in notes and 'Remote.Audit on /remote' in notes
        assert any('may be incomplete' in w for w in info.get('warnings', []))
        # Datastore.Backup on src, Datastore.Audit on dst: dst is listed, src is named as seen without Audit; the
        # snapshot list of src holds only the token's own groups, and says so.
        token_id, secret, _roles = token_with(server, tag + '-some@pbs', {
            '/datastore/' + src: {'Datastore.Backup'}, '/datastore/' + dst: {'Datastore.Audit'}})
        lab.call(_own(lab, src, token_id))
        run = run_playbook(INFO_PLAY, lab, extra_vars={'token': {'id': token_id, 'secret': secret}, 'src': src})
        assert run.ok, run.explain()
        info = run.result('Pbs_info')
        assert [d['name'] for d in info['datastores']] == [dst]
        assert any('without Datastore.Audit: {0}'.format(src) in note for note in info['incomplete'])
        snaps = run.result('Pbs_snapshot_info')
        assert [s['owner'] for s in snaps['snapshots']] == [token_id]
        assert snaps['incomplete'] and 'Datastore.Audit on /datastore/' + src in snaps['incomplete'][0]
    finally:
        _cleanup(lab, (src, dst), remote)


async def _own(lab, store, owner):
    lab.pbs.pbs.add_snapshot(store, 'host', 'mine', T3, owner=owner)


def test_job_checks_say_a_datastore_may_only_be_hidden(lab):
    server = lab.pbs
    tag = 'lh' + uuid.uuid4().hex[:6]
    src, dst, remote = _seed(lab, tag)
    try:
        # Datastore.Backup on dst (DatastoreBackup: no Datastore.Audit), the remote readable: the check cannot tell
        # whether dst exists, since PBS lists only the datastores one may audit.
        token_id, secret, roles = token_with(server, tag + '-b@pbs', {
            '/datastore/' + dst: {'Datastore.Backup'}, '/remote': {'Remote.Audit', 'Remote.Read'}})
        assert roles['/datastore/' + dst] == ['DatastoreBackup']
        play = '''
- name: A sync job into a datastore the token may not audit
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Pbs_job
      proxfleet.proxmox.pbs_job:
        type: sync
        id: "{{ tag }}-hidden"
        store: "{{ dst }}"
        remote: "{{ remote }}"
        remote_store: "{{ src }}"
        api_host: "{{ lab_pbs.api_host }}"
        api_port: "{{ lab_pbs.api_port }}"
        api_token_id: "{{ token_id }}"
        api_token_secret: "{{ secret }}"
        ca_path: "{{ lab_pbs.ca_path }}"
      check_mode: true
      register: job
      ignore_errors: true
'''
        run = run_playbook(play, lab, extra_vars={'token_id': token_id, 'secret': secret, 'tag': tag, 'dst': dst,
                                                  'src': src, 'remote': remote})
        assert [t['task'] for t in run.failed] == ['Pbs_job']
        failed = run.result('Pbs_job')
        # It does not claim dst is missing: it names the privilege PBS filters by.
        assert 'has no Datastore.Audit on /datastore/' + dst in failed['msg'], failed['msg']
        assert 'does not exist' not in failed['msg']
    finally:
        _cleanup(lab, (src, dst), remote)


def test_inventory_pbs_datastores_with_the_row_and_without(lab, tmp_path):
    server = lab.pbs
    tag = 'li' + uuid.uuid4().hex[:6]
    src, dst, remote = _seed(lab, tag)
    try:
        one = lab.clusters[0]
        enough = _token(server, 'proxmox', tag)
        token_id, secret, _roles = token_with(server, tag + '-one@pbs', {'/datastore/' + src: {'Datastore.Audit'}})
        hosts = {}
        for name, token in (('full', enough), ('partial', {'id': token_id, 'secret': secret})):
            path = tmp_path / '{0}.proxmox.yml'.format(name)
            path.write_text('\n'.join([
                'plugin: proxfleet.proxmox.proxmox',
                'clusters:',
                '  - {{name: {0}, api_host: {1}, api_token_id: "{2}", api_token_secret: "{3}", ca_path: {4}}}'.format(
                    one.name, one.host, one.token_id, one.token_secret, one.ca_path),
                'pbs_servers:',
                '  - name: backup-{0}'.format(name),
                '    api_host: {0}'.format(server.host),
                '    api_token_id: "{0}"'.format(token['id']),
                '    api_token_secret: "{0}"'.format(token['secret']),
                '    ca_path: {0}'.format(server.ca_path),
                '',
            ]))
            proc = _run('ansible-inventory', ['-i', str(path), '--list'], tmp_path)
            assert proc.returncode == 0, proc.stderr
            hostvars = _plain(json.loads(proc.stdout))['_meta']['hostvars']
            assert 'backup-' + name in hostvars, (proc.stdout, proc.stderr)
            hosts[name] = (hostvars['backup-' + name], proc.stderr)
        full, _stderr = hosts['full']
        assert {src, dst} <= set(full['proxmox_datastores']) and full['proxmox_datastores_incomplete'] is None
        partial, stderr = hosts['partial']
        assert partial['proxmox_datastores'] == [src]
        assert 'Datastore.Audit on /datastore' in partial['proxmox_datastores_incomplete']
        assert 'may be incomplete' in stderr
    finally:
        _cleanup(lab, (src, dst), remote)
