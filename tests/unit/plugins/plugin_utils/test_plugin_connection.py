# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.connection: the modules' client for plugins, failing with AnsibleError."""

import pytest
from ansible.errors import AnsibleError

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.connection import client_from_options, plugin_error


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
