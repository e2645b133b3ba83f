# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/filter/duration.py: durations in the unit that fits, never `0.0 h`."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.filter.duration import FilterModule, duration


@pytest.mark.parametrize('seconds, text', [
    (0, '0 s'),
    (0.4, '0 s'),
    (1, '1 s'),
    (45, '45 s'),
    (45.6, '46 s'),
    (89, '89 s'),
    (90, '1.5 min'),
    (120, '2 min'),
    (599, '10 min'),
    (720, '12 min'),
    (2700, '45 min'),
    (5399, '90 min'),
    (5400, '1.5 h'),
    (3.5 * 3600, '3.5 h'),
    (12 * 3600, '12 h'),
    (26 * 3600, '26 h'),
    (47 * 3600, '47 h'),
    (48 * 3600, '2 d'),
    (36 * 3600 * 2, '3 d'),
    (2.25 * 86400, '2.3 d'),
    (30 * 86400, '30 d'),
    (-45, '-45 s'),
    (-3 * 3600, '-3 h'),
    ('720', '12 min'),
    ('12.5', '13 s'),
    (None, None),
])
def test_duration_picks_the_unit_that_fits(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize('value', ['soon', [], {}, True, float('nan'), float('inf')])
def test_duration_refuses_what_is_not_a_number_of_seconds(value):
    with pytest.raises(AnsibleFilterError, match='duration: expected'):
        duration(value)


@given(st.floats(min_value=0, max_value=10 ** 9, allow_nan=False))
def test_duration_is_a_number_and_a_unit(seconds):
    number, unit = duration(seconds).split(' ')
    assert unit in ('s', 'min', 'h', 'd')
    assert float(number) >= 0
    # Never 0 of a unit larger than seconds: short durations are shown in a smaller unit.
    assert unit == 's' or float(number) > 0


def test_filter_is_registered():
    assert FilterModule().filters()['duration'] is duration
