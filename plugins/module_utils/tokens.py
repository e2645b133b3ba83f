# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""API tokens (PVE and PBS): the creation stamp kept in a token's comment, and rotation by age.

Neither Proxmox VE nor the Backup Server keeps when a token was made, and a token's secret is in the answer of the
call that creates (or regenerates) it only. The token modules therefore write a stamp at the end of the comment,
` [created 2026-12-08T01:02:03Z]`, whenever they create or rotate a token, and keep it when the user's comment
changes; `max_age` compares it with the clock. A token without a stamp (made by hand) has an unknown age: under
`max_age` it is rotated, so that from then on its age is known.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Optional, Tuple

STAMP = re.compile(r'^(?P<text>.*?)\s*\[created (?P<when>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\]$', re.S)
STAMP_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def split_comment(comment: Any) -> Tuple[Optional[str], Optional[str]]:
    """(the user's comment or None, the creation stamp or None) of a stored comment."""
    text = str(comment or '')
    found = STAMP.match(text)
    if found is None:
        return (text.strip() or None, None)
    return (found.group('text').strip() or None, found.group('when'))


def join_comment(text: Optional[str], when: Optional[str]) -> str:
    """The comment to store: the user's text, then the stamp."""
    parts = [str(text).strip()] if text and str(text).strip() else []
    if when:
        parts.append('[created {0}]'.format(when))
    return ' '.join(parts)


def now_stamp(now: Optional[datetime.datetime] = None) -> str:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime(STAMP_FORMAT)


def age_days(when: Optional[str], now: Optional[datetime.datetime] = None) -> Optional[float]:
    """Days since the stamp `when`, or None for a token without one."""
    if not when:
        return None
    made = datetime.datetime.strptime(when, STAMP_FORMAT).replace(tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return (now - made).total_seconds() / 86400.0


def rotation_reason(rotate: bool, max_age: Optional[int], when: Optional[str],
                    now: Optional[datetime.datetime] = None) -> Optional[str]:
    """Why an existing token's secret is to be regenerated, or None."""
    if rotate:
        return 'rotate: true'
    if max_age is None:
        return None
    age = age_days(when, now)
    if age is None:
        return 'no creation stamp (age unknown) and max_age {0} days'.format(max_age)
    if age >= max_age:
        return 'created {0}, {1:.1f} days ago, max_age {2} days'.format(when, age, max_age)
    return None
