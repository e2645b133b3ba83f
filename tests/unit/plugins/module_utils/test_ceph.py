# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/ceph.py: the min_size Ceph sets with a new pool size; client.require_root_login: methods declared
without permissions (OSD create and destroy, cluster create, join and node removal) need the root@pam login, checked
before any request."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ceph
from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, require_root_login
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

SECRET = '01234567-89ab-cdef-0123-456789abcdef'


def settings(**auth):
    return ConnectionSettings('pve1.example.com', **auth)


def test_root_login_with_password_passes():
    assert require_root_login(settings(user='root@pam', password='pw'), 'creating an OSD') is None


@pytest.mark.parametrize('auth, said', [
    (dict(token_id='root@pam!ansible', token_secret=SECRET),
     'this run uses the API token root@pam!ansible. Give this task api_user: root@pam and api_password instead of '
     'api_token_id and api_token_secret'),
    (dict(user='root@pam', token_id='ansible', token_secret=SECRET), 'uses the API token root@pam!ansible'),
    (dict(token_id='automation@pve!ci', token_secret=SECRET), 'uses the API token automation@pve!ci'),
    (dict(user='admin@pve', password='pw'), 'this run logs in as admin@pve. Give this task api_user: root@pam and '
                                            'api_password'),
    (dict(user='root@pve', password='pw'), 'logs in as root@pve'),
])
def test_anyone_else_is_refused_with_what_to_do(auth, said):
    with pytest.raises(ProxmoxConfigError) as caught:
        require_root_login(settings(**auth), 'destroying an OSD')
    message = str(caught.value)
    assert message.startswith('destroying an OSD needs the root@pam login with its password: Proxmox VE lets no '
                              'other user and no API token (not even one of root@pam) do it')
    assert said in message
    assert SECRET not in message and 'pw' not in message.split()


@pytest.mark.parametrize('size, configured, expected', [
    (3, 2, 2), (4, 2, 2), (5, 2, 2), (1, 2, 1), (2, 2, 2),
    # osd_pool_default_min_size 0 or unset: size - size/2.
    (3, 0, 2), (4, 0, 2), (5, None, 3), (1, 0, 1), (7, 0, 4),
    (4, 3, 3), (2, 3, 2),
])
def test_min_size_after_resize_is_cephs_rule(size, configured, expected):
    assert ceph.min_size_after_resize(size, configured) == expected
