# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers the lab's areas share: PVE's error wrapping, guests, calendar events."""

import datetime
import re

from fakepve.model import PveError

_DAYS = ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')


def stringify(error):
    """PVE::Exception::stringify: a raised exception turned into the text `die "$@"` passes on."""
    text = error.message
    if error.status and error.errors:
        text = '{0} {1}'.format(error.status, text)
    text = text.rstrip('\n') + '\n'
    for key, value in (error.errors or {}).items():
        text += '{0}: {1}\n'.format(key, str(value).rstrip('\n'))
    return text.rstrip('\n')


def cfs_locked(filename, error):
    """What PVE::Cluster::cfs_lock_file makes of an error raised inside it, then `die "$@"` by the caller.

    A PVE::Exception (a parameter error, status 400 with per-field errors) passes through unchanged;
    a plain `die` gets the lock's name in front. Returns the PveError to raise.
    """
    if error.errors:
        return error
    lockid = 'file-' + re.sub(r'[./]', '_', filename)
    return PveError(500, "error during cfs-locked '{0}' operation: {1}".format(lockid, error.message))


def flatten(error):
    """`die "$@"` of a PVE::Exception: a plain error (status 500) with the stringified text."""
    if not error.errors:
        return error
    return PveError(500, stringify(error))


def is_vm(guest):
    """True for a qemu guest, False for a container."""
    return guest.guest.startswith('qemu/')


def set_lock(guest, lock):
    """Set or clear the `lock` of a guest's config (VM or container)."""
    guest.lock = lock
    if is_vm(guest):
        if lock:
            guest.config['lock'] = lock
        else:
            guest.config.pop('lock', None)


def all_guests(pve):
    """Every VM and container of a FakePve, by vmid."""
    return sorted(list(pve.vms) + list(pve.cts), key=lambda g: g.vmid)


# ---------------------------------------------------------------- calendar events

def _numbers(text, low, high):
    """The values a calendar field (`*`, `5`, `1,3`, `1..4`, `*/15`, `0/20`) allows, or None if unparseable."""
    out = set()
    for part in text.split(','):
        found = re.fullmatch(r'(\*|\d+)(?:\.\.(\d+))?(?:/(\d+))?', part)
        if not found:
            return None
        start = low if found.group(1) == '*' else int(found.group(1))
        end = int(found.group(2)) if found.group(2) else (high if found.group(1) == '*' or found.group(3) else start)
        step = int(found.group(3) or 1)
        if step < 1:
            return None
        out.update(v for v in range(start, end + 1, step) if low <= v <= high)
    return out


def _weekdays(text):
    out = set()
    for part in text.split(','):
        found = re.fullmatch(r'([a-z]{3})(?:\.\.([a-z]{3}))?', part.lower())
        if not found or found.group(1) not in _DAYS or (found.group(2) and found.group(2) not in _DAYS):
            return None
        first = _DAYS.index(found.group(1))
        last = _DAYS.index(found.group(2)) if found.group(2) else first
        out.update(range(first, last + 1) if first <= last else list(range(first, 7)) + list(range(0, last + 1)))
    return out


SPECIAL = {'minutely': '*:*', 'hourly': '*:00', 'daily': '00:00', 'weekly': 'mon 00:00'}


def parse_calendar(text):
    """A subset of PVE's calendar events (`[weekdays] [hour]:minute`, hourly, daily, ...): (days, hours, minutes).

    Returns None for what this subset does not read (the caller then leaves `next-run` out).
    """
    text = SPECIAL.get(text.strip(), text.strip())
    parts = text.split()
    days = set(range(7))
    if len(parts) == 2:
        days = _weekdays(parts[0])
        parts = parts[1:]
    if len(parts) != 1 or days is None:
        return None
    clock = parts[0].split(':')
    if len(clock) == 1:
        hours, minutes = set(range(24)), _numbers(clock[0], 0, 59)
    elif len(clock) in (2, 3):
        hours, minutes = _numbers(clock[0], 0, 23), _numbers(clock[1], 0, 59)
    else:
        return None
    if not hours or not minutes:
        return None
    return days, hours, minutes


def next_run(schedule, now):
    """Epoch seconds of the next time the schedule fires after now (epoch seconds), or None."""
    spec = parse_calendar(schedule)
    if spec is None:
        return None
    days, hours, minutes = spec
    moment = datetime.datetime.fromtimestamp(int(now) // 60 * 60 + 60)
    for _minute in range(8 * 24 * 60):
        if moment.weekday() in days and moment.hour in hours and moment.minute in minutes:
            return int(moment.timestamp())
        moment += datetime.timedelta(minutes=1)
    return None


def task_log(pve, first_line):
    """The log list of the running task whose log starts with this very string object.

    fakepve's task() makes the task's record before its body runs, with a copy of the `log` list it is
    given; the body finds its record again by the identity of the first line it passed.
    """
    for record in reversed(pve.tasklog):
        if record['log'] and record['log'][0] is first_line:
            return record['log']
    raise LookupError('no task with that log')
