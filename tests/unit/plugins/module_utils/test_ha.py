# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/ha.py: HA resource ids."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils import ha
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


@pytest.mark.parametrize('sid, expected', [('vm:100', 'vm:100'), (' ct:200 ', 'ct:200'), ('vm:123456789', 'vm:123456789')])
def test_check_sid_gives_the_id_back(sid, expected):
    assert ha.check_sid(sid) == expected


@pytest.mark.parametrize('sid', ['vm:99', 'qemu:100', 'vm:100\n1', '', None, 'ct:0100'])
def test_check_sid_refuses_what_is_not_an_id(sid):
    with pytest.raises(ProxmoxConfigError, match='is not a valid HA resource id'):
        ha.check_sid(sid)


def test_check_guest_refuses_a_malformed_id_before_any_read():
    # No client calls: the id is refused first (it used to fail with an AttributeError on None.groups()).
    cluster = ha.HaCluster(SimpleNamespace(client=None))
    with pytest.raises(ProxmoxConfigError, match="'vm-100' is not a valid HA resource id"):
        cluster.check_guest('vm-100')
