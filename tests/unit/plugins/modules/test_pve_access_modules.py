# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_role and pve_group: name checks and the canonical privilege set."""

import pytest

from ansible_collections.proxfleet.proxmox.plugins.modules import pve_role


@pytest.mark.parametrize('name', ['Snapshotter', 'ops.read-only_2', 'PVEAuditor'])
def test_valid_names(name):
    assert pve_role.ROLE_ID.match(name)


@pytest.mark.parametrize('name', ['has space', 'a/b', 'role!', ''])
def test_invalid_names(name):
    assert not pve_role.ROLE_ID.match(name)


@pytest.mark.parametrize('value, expected', [
    (['VM.Snapshot', 'VM.Audit', 'VM.Audit'], ['VM.Audit', 'VM.Snapshot']),
    ('VM.Snapshot,VM.Audit', ['VM.Audit', 'VM.Snapshot']),
    ('', []),
    (None, []),
])
def test_privilege_sets_are_canonical(value, expected):
    assert pve_role._privs(value) == expected  # pylint: disable=protected-access


@pytest.mark.parametrize('name, valid', [('auditors', True), ('ops.night-2_x', True), ('has space', False),
                                         ('a/b', False), ('', False)])
def test_group_names(name, valid):
    from ansible_collections.proxfleet.proxmox.plugins.modules import pve_group
    assert bool(pve_group.GROUP_ID.match(name)) is valid


@pytest.mark.parametrize('userid, valid', [('alice@pve', True), ('root@pam', True), ('a.b-c@corp-ad', True),
                                           ('alice', False), ('alice@', False), ('al ice@pve', False),
                                           ('alice@pve!token', False)])
def test_user_ids(userid, valid):
    from ansible_collections.proxfleet.proxmox.plugins.modules import pve_user
    assert bool(pve_user.USER_ID.match(userid)) is valid
