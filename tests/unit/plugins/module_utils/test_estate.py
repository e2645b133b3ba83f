# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""module_utils/estate.py and a module's `cluster` option: connection options by name from an estate."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.estate import (
    EstateError,
    estate_entry,
    estate_secrets,
    normalize_estate,
    read_estate_file,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.module import ProxmoxModule
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import HOST, reply

testing = pytest.importorskip('ansible.module_utils.testing', reason='patch_module_args needs ansible-core 2.19+')

SECRET_A = '11111111-estate-secret-of-prod-a'
SECRET_PBS = '22222222-estate-secret-of-pbs1'

ESTATE_YAML = '''
clusters:
  prod-a:
    api_host: [pve1.example.com, pve2.example.com]
    api_token_id: automation@pve!ansible
    api_token_secret: {0}
    validate_certs: "no"
  prod-b:
    api_host: pve10.example.com
    api_port: "8443"
    api_user: root@pam
    api_password: hunter2-prod-b
pbs_servers:
  - name: pbs1
    api_host: pbs1.example.com
    api_token_id: backup@pbs!ansible
    api_token_secret: {1}
'''.format(SECRET_A, SECRET_PBS)


def _estate():
    import yaml
    return normalize_estate(yaml.safe_load(ESTATE_YAML), 'estate.yml')


def test_both_section_forms_give_typed_entries():
    estate = _estate()
    assert estate['clusters']['prod-a'] == {'api_host': ['pve1.example.com', 'pve2.example.com'],
                                            'api_token_id': 'automation@pve!ansible', 'api_token_secret': SECRET_A,
                                            'validate_certs': False}
    assert estate['clusters']['prod-b']['api_port'] == 8443
    assert estate_entry(estate, 'pbs1', 'PBS', 'estate.yml')['api_host'] == ['pbs1.example.com']


def test_unknown_names_list_the_known_ones():
    estate = _estate()
    with pytest.raises(EstateError, match=r"cluster 'prod-c' is not in the clusters of estate estate.yml: it names prod-a, prod-b$"):
        estate_entry(estate, 'prod-c', 'PVE', 'estate.yml')
    with pytest.raises(EstateError, match=r"Backup Server 'prod-a' is not in the pbs_servers .*it names pbs1 \('prod-a' is a cluster there\)"):
        estate_entry(estate, 'prod-a', 'PBS', 'estate.yml')
    with pytest.raises(EstateError, match='it has no pbs_servers'):
        estate_entry(normalize_estate({'clusters': {'a': {'api_host': 'h'}}}, 'x'), 'pbs1', 'PBS', 'x')


@pytest.mark.parametrize('data, words', [
    ([], 'must be a mapping'),
    ({}, 'lists no cluster and no Backup Server'),
    ({'clusters': {}, 'backup_servers': {}}, 'unknown keys backup_servers'),
    ({'clusters': [{'api_host': 'h'}]}, 'each entry of the list needs a name'),
    ({'clusters': [{'name': 'a', 'api_host': 'h'}, {'name': 'a', 'api_host': 'g'}]}, "'a' is named twice"),
    ({'clusters': {'a': {'api_token_id': 't'}}}, "'a' has no api_host"),
    ({'clusters': {'a': {'api_host': 'h', 'api_tokn_secret': SECRET_A}}}, 'unknown options api_tokn_secret'),
    ({'clusters': {'a': {'api_host': 'h', 'api_port': 'eighty'}}}, 'api_port must be an integer'),
    ({'clusters': {'a': {'api_host': 'h', 'validate_certs': 'maybe'}}}, 'validate_certs must be a boolean'),
    ({'clusters': 'a'}, 'a mapping from names to options'),
])
def test_malformed_estates_are_refused_without_their_secrets(data, words):
    with pytest.raises(EstateError, match=words) as info:
        normalize_estate(data, 'estate.yml')
    assert SECRET_A not in str(info.value)


def test_secrets_are_found_anywhere():
    import yaml
    assert estate_secrets(yaml.safe_load(ESTATE_YAML)) == {SECRET_A, SECRET_PBS, 'hunter2-prod-b'}
    assert estate_secrets({'clusters': [{'x': {'api_password': ' padded '}}]}) == {' padded ', 'padded'}


def test_files(tmp_path):
    good = tmp_path / 'estate.json'
    good.write_text(json.dumps({'clusters': {'a': {'api_host': 'h'}}}))
    assert read_estate_file(str(good)) == {'clusters': {'a': {'api_host': 'h'}}}
    with pytest.raises(EstateError, match='does not exist'):
        read_estate_file(str(tmp_path / 'missing.yml'))
    with pytest.raises(EstateError, match='is a directory'):
        read_estate_file(str(tmp_path))
    vaulted = tmp_path / 'vaulted.yml'
    vaulted.write_text('$ANSIBLE_VAULT;1.1;AES256\n6231\n')
    with pytest.raises(EstateError, match='vault-encrypted: a module cannot decrypt it.*estate option'):
        read_estate_file(str(vaulted))
    inline = tmp_path / 'inline.yml'
    inline.write_text('clusters:\n  a:\n    api_host: h\n    api_token_secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6231\n')
    with pytest.raises(EstateError, match=r'vault-encrypted values \(!vault\)'):
        read_estate_file(str(inline))
    broken = tmp_path / 'broken.yml'
    broken.write_text('clusters:\n  a:\n    api_token_secret: "{0}\n  - ]\n'.format(SECRET_A))
    with pytest.raises(EstateError, match=r'not valid YAML or JSON \(line') as info:
        read_estate_file(str(broken))
    assert SECRET_A not in str(info.value)
    if os.geteuid() != 0:
        locked = tmp_path / 'locked.yml'
        locked.write_text('{}')
        locked.chmod(0)
        with pytest.raises(EstateError, match='cannot be read'):
            read_estate_file(str(locked))


# ---------------------------------------------------------------- the modules' `cluster` option


def _module(args, capsys, service=None, body=None):
    with testing.patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            module = ProxmoxModule(argument_spec=dict(fallback_hosts=dict(type='list', elements='str', default=[])),
                                   service=service)
            module.run(body or (lambda m: {'params': dict((k, m.params[k]) for k in (
                'api_host', 'api_port', 'api_user', 'api_token_id', 'validate_certs', 'api_timeout', 'fallback_hosts'))}))
    return info.value.code, json.loads(capsys.readouterr().out)


@pytest.fixture
def estate_file(tmp_path):
    path = tmp_path / 'estate.yml'
    path.write_text(ESTATE_YAML)
    return str(path)


def test_cluster_takes_its_options_from_the_file(estate_file, capsys, monkeypatch):
    # Another credential in the environment (say the single-cluster AWX credential) does not leak in.
    monkeypatch.setenv('PROXMOX_HOST', 'elsewhere.example.com')
    monkeypatch.setenv('PROXMOX_USER', 'someone@pam')
    monkeypatch.setenv('PROXMOX_ESTATE_FILE', estate_file)
    code, result = _module({'cluster': 'prod-a'}, capsys)
    assert code == 0, result
    assert result['params'] == {'api_host': 'pve1.example.com', 'api_port': None, 'api_user': None,
                                'api_token_id': 'automation@pve!ansible', 'validate_certs': False, 'api_timeout': 30,
                                'fallback_hosts': ['pve2.example.com']}
    assert SECRET_A not in json.dumps(result) and SECRET_PBS not in json.dumps(result)


def test_options_given_override_the_estate(estate_file, capsys):
    code, result = _module({'cluster': 'prod-b', 'estate_file': estate_file, 'api_host': 'pve11.example.com',
                            'validate_certs': True, 'api_timeout': 5}, capsys)
    assert code == 0, result
    assert result['params']['api_host'] == 'pve11.example.com'
    assert result['params']['api_port'] == 8443 and result['params']['api_user'] == 'root@pam'
    assert (result['params']['validate_certs'], result['params']['api_timeout']) == (True, 5)
    assert 'hunter2-prod-b' not in json.dumps(result)


def test_pbs_modules_look_names_up_among_backup_servers(estate_file, capsys):
    code, result = _module({'cluster': 'pbs1', 'estate_file': estate_file}, capsys, service='PBS')
    assert code == 0 and result['params']['api_host'] == 'pbs1.example.com'
    code, result = _module({'cluster': 'prod-a', 'estate_file': estate_file}, capsys, service='PBS')
    assert code == 1 and "Backup Server 'prod-a' is not in the pbs_servers of estate" in result['msg']
    assert 'it names pbs1' in result['msg']


def test_inline_estate_secrets_are_masked_and_reach_the_server(server, capsys):
    server.on('GET', '/version', reply(data={'version': '9.0.10', 'release': '9.0'}))
    estate = {'clusters': {'lab': {'api_host': HOST, 'api_port': server.port, 'api_token_id': 'root@pam!ci',
                                   'api_token_secret': SECRET_A, 'fingerprint': server.pki.fingerprint_colons}}}
    code, result = _module({'cluster': 'lab', 'estate': estate}, capsys,
                           body=lambda m: {'version': m.client.version(), 'echo': m.params['api_token_secret']})
    assert code == 0, result
    assert result['version']['version'] == '9.0.10'
    (request,) = server.calls()
    assert request.headers['authorization'] == 'PVEAPIToken=root@pam!ci=' + SECRET_A
    assert SECRET_A not in json.dumps(result)
    assert result['invocation']['module_args']['estate']['clusters']['lab']['api_host'] == HOST


@pytest.mark.parametrize('args, words', [
    ({'cluster': 'prod-c'}, "cluster 'prod-c' is not in the clusters of estate .*: it names prod-a, prod-b"),
    ({'cluster': 'prod-a', 'estate_file': '/nonexistent/estate.yml'}, 'estate file /nonexistent/estate.yml does not exist'),
    ({'cluster': 'prod-a', 'estate_file': None}, 'set estate_file \\(or the PROXMOX_ESTATE_FILE environment variable'),
    ({}, 'missing required arguments: api_host'),
])
def test_errors_come_before_any_connection(estate_file, args, words, capsys, monkeypatch):
    for name in ('PROXMOX_HOST', 'PROXMOX_ESTATE_FILE'):
        monkeypatch.delenv(name, raising=False)
    if 'estate_file' not in args:
        args = dict(args, estate_file=estate_file)
    args = dict((k, v) for k, v in args.items() if v is not None)
    code, result = _module(args, capsys)
    assert code == 1
    import re
    assert re.search(words, result['msg']), result['msg']
    assert SECRET_A not in json.dumps(result)
