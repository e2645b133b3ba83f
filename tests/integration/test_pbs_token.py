# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pbs_token (issue 16) through ansible-playbook against the lab's Backup Server, with the least-privilege token of
its row in docs/privileges.md, at -vvv: each secret (created, rotated, rotated by max_age) reaches the play, which
keeps it in a 0600 file, and never its output; the rotated secrets log in, the replaced ones no longer do."""

import stat
import uuid

import requests

from tests.integration.conftest import target
from tests.integration.least_privilege_pbs import admin_call, least_privilege_pbs_token
from tests.lab.pytest_plugin import run_playbook


def _logs_in(server, token_id, secret):
    answer = requests.get(server.url + '/api2/json/version', timeout=30, verify=server.ca_path,
                          headers={'Authorization': 'PBSAPIToken={0}:{1}'.format(token_id, secret)})
    return answer.status_code == 200


def test_token(lab, tmp_path):
    server = lab.pbs
    suffix = uuid.uuid4().hex[:6]
    userid = 'robot-{0}@pbs'.format(suffix)
    admin_call(server, 'POST', '/access/users', userid=userid)
    handmade = admin_call(server, 'POST', '/access/users/{0}/token/handmade'.format(userid))
    tokenid = 'it-' + suffix
    token_id, secret, _roles = least_privilege_pbs_token(server, 'pbs_token', suffix='-' + suffix)
    run = run_playbook(target('pbs_token'), lab, diff=True, verbosity=3, extra_vars={
        'token': {'id': token_id, 'secret': secret}, 'userid': userid, 'tokenid': tokenid, 'handmade': 'handmade',
        'secret_dir': str(tmp_path), 'missing_user': 'nobody-{0}@pbs'.format(suffix)})
    assert run.ok, run.explain()
    found = dict((name, (tmp_path / name).read_text()) for name in ('created', 'rotated', 'aged'))
    for name, value in found.items():
        assert len(value) == 36, name
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert value not in run.stdout and value not in run.stderr, name
    assert 'output has been hidden' in run.stdout
    assert found['rotated'] != found['created']
    assert _logs_in(server, userid + '!handmade', found['aged'])
    assert not _logs_in(server, userid + '!handmade', handmade['value'])
    assert userid + '!' + tokenid not in server.pbs.tokens
