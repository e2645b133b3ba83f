# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.connection: the modules' client for plugins, failing with AnsibleError."""

import json

import pytest
from ansible.errors import AnsibleError

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import PluginEstate, client_from_options, plugin_error


def test_token_options_make_a_pbs_client():
    client = client_from_options({'api_host': 'pbs.example.com', 'api_token_id': 'backup@pbs!ansible',
                                  'api_token_secret': 'abc', 'validate_certs': True, 'api_timeout': 10}, service='PBS')
    assert client.settings.url == 'https://pbs.example.com:8007'
    assert client.settings.auth_id == 'backup@pbs!ansible'
    assert client.settings.timeout == 10


@pytest.mark.parametrize('options, words', [
    ({'api_host': 'pve1', 'api_user': 'root@pam'}, 'give api_user with api_password'),
    ({'api_host': 'pve1', 'api_token_id': 'x', 'api_token_secret': 's'}, 'has no user'),
    ({'api_host': 'pve1', 'api_user': 'root@pam', 'api_password': 'p', 'fingerprint': 'nope'}, 'fingerprint must be'),
    ({'api_user': 'root@pam', 'api_password': 'p'}, 'api_host is required'),
])
def test_bad_options_are_an_ansible_error(options, words):
    with pytest.raises(AnsibleError, match=words):
        client_from_options(options)


def test_api_errors_keep_the_modules_wording():
    error = ProxmoxApiError('permission denied', status_code=403, url='https://pve1:8006', method='GET', path='/nodes')
    assert str(plugin_error(error, target='cluster prod')) == 'cluster prod on https://pve1:8006: GET /nodes: 403 permission denied'


# ---------------------------------------------------------------- estates, as plugins read them

ESTATE = {'clusters': {'prod-a': {'api_host': ['pve1', 'pve2'], 'api_token_id': 'ro@pve!a', 'api_token_secret': 'secret-of-prod-a'}},
          'pbs_servers': [{'name': 'pbs1', 'api_host': 'pbs1', 'api_token_id': 'ro@pbs!a', 'api_token_secret': 'sp'}]}


def _loader():
    from ansible.parsing.dataloader import DataLoader
    return DataLoader()


def test_plugin_estate_from_a_file_and_inline(tmp_path):
    path = tmp_path / 'estate.json'
    path.write_text(json.dumps(ESTATE))
    for estate in (PluginEstate(_loader(), estate_file=str(path)), PluginEstate(_loader(), estate=ESTATE)):
        assert estate.names() == ['prod-a'] and estate.names('PBS') == ['pbs1']
        assert estate.has('prod-a') and not estate.has('pbs1')
        assert estate.options('prod-a', given={'api_timeout': 5, 'api_user': None}) == {
            'api_host': ['pve1', 'pve2'], 'api_token_id': 'ro@pve!a', 'api_token_secret': 'secret-of-prod-a', 'api_timeout': 5}


@pytest.mark.parametrize('kwargs, name, words', [
    ({}, 'prod-a', 'set estate_file \\(or the PROXMOX_ESTATE_FILE environment variable'),
    ({'estate_file': '/nonexistent/estate.yml'}, 'prod-a', 'estate file /nonexistent/estate.yml does not exist'),
    ({'estate': ESTATE}, 'prod-c', "cluster 'prod-c' is not in the clusters of estate \\(the estate option\\): it names prod-a"),
    ({'estate': {'clusters': {'a': {'api_host': 'h', 'token': 'secret-of-prod-a'}}}}, 'a', 'unknown options token'),
])
def test_plugin_estate_errors(kwargs, name, words):
    with pytest.raises(AnsibleError, match=words) as info:
        PluginEstate(_loader(), **kwargs).options(name)
    assert 'secret-of-prod-a' not in str(info.value)


def test_plugin_estate_never_quotes_a_broken_file(tmp_path):
    path = tmp_path / 'estate.yml'
    path.write_text('clusters:\n  a:\n    api_token_secret: "s3cr3t-in-a-broken-line\n  - ]\n')
    with pytest.raises(AnsibleError, match='cannot be read as YAML or JSON') as info:
        PluginEstate(_loader(), estate_file=str(path)).options('a')
    assert 's3cr3t' not in str(info.value)
