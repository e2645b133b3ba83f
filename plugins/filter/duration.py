# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: duration
short_description: A number of seconds as a person reads it, in the unit that fits (s, min, h, d)
version_added: 0.1.0
description:
  - Formats a duration given in seconds (an RPO, a backup's age, an RTO) with the unit that fits it - seconds below
    90 seconds, minutes below 90 minutes, hours below 48 hours, days above - so that short durations do not read as
    C(0.0 h).
  - Below 10 of the unit one decimal is kept (C(1.5 min), C(3.5 h)), dropped when it is zero (C(2 d)); from 10 on
    the value is rounded to a whole number (C(12 min), C(26 h)).
  - A negative duration (a clock ahead of another) keeps its sign. Null gives null.
author:
  - proxfleet developers (@proxfleet)
options:
  _input:
    description: The duration in seconds (an integer, a float, or a string holding one).
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Say how old the newest backup is
  ansible.builtin.debug:
    msg: "newest backup {{ age_seconds | proxfleet.proxmox.duration }} old"
  vars:
    age_seconds: 2700   # newest backup 45 min old
'''

RETURN = r'''
_value:
  description: The duration with its unit, for example V(45 s), V(12 min), V(3.5 h) or V(2 d); null for null.
  type: str
'''

import math

from ansible.errors import AnsibleFilterError

# (limit in seconds below which the unit is used, seconds per unit, unit name), smallest unit first.
_UNITS = (
    (90, 1, 's'),
    (90 * 60, 60, 'min'),
    (48 * 3600, 3600, 'h'),
    (None, 86400, 'd'),
)


def _number(value):
    if isinstance(value, bool):
        raise AnsibleFilterError('duration: expected a number of seconds, got a boolean ({0})'.format(value))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError('duration: expected a number of seconds, got {0!r}'.format(value)) from None


def duration(seconds):
    """seconds -> '45 s', '12 min', '3.5 h', '2 d' (None -> None)."""
    if seconds is None:
        return None
    value = _number(seconds)
    if math.isnan(value) or math.isinf(value):
        raise AnsibleFilterError('duration: expected a finite number of seconds, got {0!r}'.format(seconds))
    sign = '-' if value < 0 else ''
    value = abs(value)
    size, unit = next((size, unit) for limit, size, unit in _UNITS if limit is None or value < limit)
    amount = value / size
    # Halves round up (2.25 d is 2.3 d), as people round.
    tenths = int(math.floor(amount * 10 + 0.5))
    if unit != 's' and tenths < 100:
        text = '{0}.{1}'.format(tenths // 10, tenths % 10)
        if text.endswith('.0'):
            text = text[:-2]
    else:
        text = '{0:d}'.format(int(math.floor(amount + 0.5)))
    if text == '0':
        sign = ''
    return '{0}{1} {2}'.format(sign, text, unit)


class FilterModule(object):
    def filters(self):
        return {'duration': duration}
