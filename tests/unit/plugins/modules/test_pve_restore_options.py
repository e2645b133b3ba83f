# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/modules/pve_restore.py: the checks of its options before any request, with and without vmid. The
restores themselves run against the lab (tests/integration/test_pve_backup_restore.py, test_vmid_concurrency.py)."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.modules.pve_restore import check_options, describe_target

ARCHIVE = 'local:backup/vzdump-qemu-100-2026_11_22-03_00_00.vma.zst'


def options(**given):
    base = {'vmid': None, 'archive': None, 'latest': None, 'backup_storage': None, 'source_vmid': None,
            'force': False}
    base.update(given)
    return base


@pytest.mark.parametrize('given', [
    {'archive': ARCHIVE},
    {'latest': True, 'backup_storage': 'pbs-main', 'source_vmid': 100},
    {'vmid': 900, 'archive': ARCHIVE, 'force': True},
    {'vmid': 900, 'latest': True, 'backup_storage': 'pbs-main'},
])
def test_accepted(given):
    check_options(options(**given))


@pytest.mark.parametrize('given, words', [
    ({'archive': ARCHIVE, 'force': True}, 'force replaces guest vmid: give vmid'),
    ({'latest': True, 'backup_storage': 'pbs-main'}, 'latest: true without vmid needs source_vmid'),
    ({'vmid': 42, 'archive': ARCHIVE}, 'vmid must be between 100 and 999999999'),
])
def test_refused(given, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        check_options(options(**given))


def test_target_named_without_vmid():
    class Module(object):
        params = {'vmid': None, 'node': 'dr1'}
    assert describe_target(Module()) == "restore of a new guest to node 'dr1'"
    Module.params = {'vmid': 900, 'node': 'dr1'}
    assert describe_target(Module()) == "restore of guest 900 to node 'dr1'"
