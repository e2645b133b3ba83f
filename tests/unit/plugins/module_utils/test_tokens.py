# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.tokens: the creation stamp in a token's comment, rotation by age; the action plugin that hides a
result holding a secret; the version gate on `regenerate`."""

import datetime

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.action.pve_token import hide_secret
from ansible_collections.proxfleet.proxmox.plugins.module_utils import tokens, versions

NOW = datetime.datetime(2026, 12, 8, 2, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize('stored, expected', [
    ('', (None, None)),
    (None, (None, None)),
    ('ci runner', ('ci runner', None)),
    ('[created 2026-01-02T03:04:05Z]', (None, '2026-01-02T03:04:05Z')),
    ('ci runner [created 2026-01-02T03:04:05Z]', ('ci runner', '2026-01-02T03:04:05Z')),
    # A stamp-like text in the middle is the user's.
    ('[created 2026-01-02T03:04:05Z] later', ('[created 2026-01-02T03:04:05Z] later', None)),
])
def test_split_comment(stored, expected):
    assert tokens.split_comment(stored) == expected


@given(text=st.text(alphabet=st.characters(blacklist_categories=('Cs', 'Cc')), max_size=40),
       stamp=st.one_of(st.none(), st.just('2026-01-02T03:04:05Z')))
def test_join_then_split_round_trips(text, stamp):
    expected_text = text.strip() or None
    if stamp is None and tokens.STAMP.match(text.strip()):
        return  # a user text that ends like a stamp reads as one: documented
    assert tokens.split_comment(tokens.join_comment(text, stamp)) == (expected_text, stamp)


def test_now_stamp_and_age():
    assert tokens.now_stamp(NOW) == '2026-12-08T02:00:00Z'
    assert tokens.age_days('2026-11-08T02:00:00Z', NOW) == 30
    assert tokens.age_days(None, NOW) is None


@pytest.mark.parametrize('rotate, max_age, when, reason', [
    (False, None, None, None),
    (False, None, '2020-01-01T00:00:00Z', None),
    (True, None, '2026-12-08T01:00:00Z', 'rotate: true'),
    (False, 30, '2026-11-09T02:00:00Z', None),
    (False, 30, '2026-11-08T02:00:00Z', 'created 2026-11-08T02:00:00Z, 30.0 days ago, max_age 30 days'),
    (False, 30, None, 'no creation stamp (age unknown) and max_age 30 days'),
])
def test_rotation_reason(rotate, max_age, when, reason):
    assert tokens.rotation_reason(rotate, max_age, when, NOW) == reason


def test_hide_secret_marks_only_results_with_a_secret():
    assert hide_secret({'changed': True, 'secret': 'x'})['_ansible_no_log'] is True
    assert '_ansible_no_log' not in hide_secret({'changed': False, 'token': {}})
    assert '_ansible_no_log' not in hide_secret({'changed': True, 'secret': None})


def test_regenerate_is_gated_to_pve9():
    found = versions.gated('/access/users/ci@pve/token/runner', {'regenerate': 1, 'comment': 'x'})
    assert found == [('regenerate', (9, 0), None)]
    assert 'exists from Proxmox VE 9.0 on' in versions.refusal('regenerate', (9, 0), None, (8, 4))
    assert versions.gated('/access/users/ci@pve/token/runner', {'comment': 'x'}) == []
