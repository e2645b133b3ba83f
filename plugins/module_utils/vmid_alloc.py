# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Automatic VMIDs for new guests (create, clone, restore), reliable with many creators at once.

How PVE hands out ids (pve-manager PVE/API2/Cluster.pm `nextid`, pve-cluster PVE/DataCenterConfig.pm `next-id`):
GET /cluster/nextid answers the lowest id that no guest has within the datacenter's next-id range
(datacenter.cfg `next-id: lower=...,upper=...`, 100 and 1000000 by default, the upper boundary exclusive); with
`vmid` it answers that id if it is free, else 400 `VM <id> already exists`. Nothing is reserved: creators asking at
once get the same id, and the create request decides, as it writes the guest's config file under a lock
(`create_and_lock_config`); the others fail with `unable to create VM <id> - VM <id> already exists on node ...`
(a clone of a VM fails its task with `unable to create VM <id>: config file already exists`).

create_guest() claims an id for one creation:
- the first candidate is nextid's answer, the id a lone creator expects;
- after a lost race, candidates are spread: nextid's answer plus a random offset within a window that doubles
  with each loss (capped), inside the datacenter's next-id range; a candidate other than nextid's answer is
  checked free (/cluster/nextid?vmid=) before the create request;
- between attempts a random pause (full jitter) that grows with each loss;
- no fixed number of attempts: they go on within the module's one timeout budget (module.deadline).
The range is read once, after the first loss, from /cluster/options (its `next-id`; read with Sys.Audit on `/`).
When the range cannot be known (a user without Sys.Audit on `/`), candidates are nextid's answers only: they are
in the range by construction, and the pauses alone spread the creators.
"""

from __future__ import annotations

import random
import re
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxError,
    ProxmoxTaskError,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import is_upid

# PVE's defaults for datacenter.cfg next-id (DataCenterConfig.pm): lower inclusive, upper exclusive.
DEFAULT_RANGE = (100, 1000 * 1000)
# The spread window after the first loss, and its cap.
FIRST_WINDOW = 16
MAX_WINDOW = 4096
# Pauses between attempts: uniform in [0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** losses)].
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0
# PVE's words when an id is taken: check_vmid_unused ('VM 117 already exists on node ...', 'CT 117 ...'),
# nextid's check ('VM 117 already exists'), a VM clone's worker ('... config file already exists'), and pmxcfs
# refusing a second config file of one id on another node ('File exists').
_TAKEN_RE = re.compile(r'\b(?:VM|CT) \d+ already exists|config file already exists|\.conf\b.*File exists',
                       re.IGNORECASE)


def is_taken(error):
    """True when an API error or a failed task says the id is another guest's."""
    texts = [str(getattr(error, 'message', error))]
    texts.extend(str(value) for value in (getattr(error, 'errors', None) or {}).values())
    texts.extend(str(line) for line in (getattr(error, 'log_tail', None) or []))
    return any(_TAKEN_RE.search(text) for text in texts)


def next_vmid(client):
    """nextid's answer: the lowest free id of the datacenter's range."""
    return int(client.get('/cluster/nextid'))


def parse_range(value):
    """datacenter.cfg's next-id, parsed (an object, as /cluster/options answers it) or as a property string
    -> (lower, upper); None or empty -> PVE's defaults."""
    if not value:
        return DEFAULT_RANGE
    props = value if isinstance(value, dict) else propstring.parse(str(value))
    lower = int(props.get('lower') or DEFAULT_RANGE[0])
    upper = int(props.get('upper') or DEFAULT_RANGE[1])
    return lower, upper


def read_range(client):
    """The datacenter's next-id range, or None when this user cannot see it (no Sys.Audit on /: get_options
    then leaves out everything but console and tag-style)."""
    try:
        options = client.get('/cluster/options') or {}
    except ProxmoxApiError:
        return None
    if isinstance(options, dict) and options.get('next-id'):
        return parse_range(options['next-id'])
    # No next-id: PVE's defaults, if this user would have seen one.
    try:
        held = client.get('/access/permissions', path='/') or {}
    except ProxmoxApiError:
        return None
    privileges = held.get('/') if isinstance(held, dict) else None
    if isinstance(privileges, dict) and privileges.get('Sys.Audit'):
        return DEFAULT_RANGE
    return None


def window(losses, base, span):
    """How many ids above `base` (nextid's answer) a candidate may be after `losses` lost races: 1 (base itself)
    before any loss, then FIRST_WINDOW doubling up to MAX_WINDOW, never past the range (`span` ids from base to
    the upper boundary; None when the range is unknown, which keeps the window at 1)."""
    if losses <= 0 or span is None:
        return 1
    size = min(MAX_WINDOW, FIRST_WINDOW * 2 ** min(losses - 1, 30))
    return max(1, min(size, span))


def backoff(losses, rng):
    """The pause before the next attempt: full jitter, growing with the losses."""
    return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(losses, 30)))


def pick(base, losses, span, rng):
    """A candidate id: base (nextid's answer) plus a random offset within the window."""
    return base + rng.randrange(window(losses, base, span))


class Allocator(object):
    """Claims an id for one create request; see the module docstring."""

    def __init__(self, client, deadline, wait=None, rng=None, sleep=time.sleep):
        self.client = client
        self.deadline = deadline
        self.wait = wait
        self.rng = rng or random.SystemRandom()
        self.sleep = sleep
        self.range = None
        self._range_read = False
        self.tried = []

    def span(self, base):
        if not self._range_read:
            self.range = read_range(self.client)
            self._range_read = True
        if self.range is None:
            return None
        return max(1, self.range[1] - base)

    def candidate(self, losses):
        """(nextid's answer, the candidate to try)."""
        base = next_vmid(self.client)
        if losses <= 0:
            return base, base
        return base, pick(base, losses, self.span(base), self.rng)

    def free(self, candidate):
        """nextid's check of one id: True if free (at the time of the check)."""
        try:
            self.client.get('/cluster/nextid', vmid=candidate)
        except ProxmoxApiError as error:
            if is_taken(error):
                return False
            raise
        return True

    def attempt(self, create, candidate):
        answer = create(candidate)
        if self.wait is not None and is_upid(answer):
            self.wait(answer)
        return answer

    def run(self, create):
        losses = 0
        last = None
        while True:
            base, candidate = self.candidate(losses)
            self.tried.append(candidate)
            try:
                if candidate != base and not self.free(candidate):
                    raise ProxmoxApiError('VM {0} already exists'.format(candidate), status_code=400)
                return candidate, self.attempt(create, candidate)
            except (ProxmoxApiError, ProxmoxTaskError) as error:
                if not is_taken(error):
                    raise
                last = error
            losses += 1
            pause = backoff(losses, self.rng)
            if self.deadline.remaining() <= pause:
                raise self.gave_up(last)
            self.sleep(pause)

    def gave_up(self, last):
        message = ('no free VMID could be claimed within the timeout: {0} candidates ({1}) were taken by other '
                   'creations; the last answer: {2} (give vmid, or a longer timeout)'.format(
                       len(self.tried), ', '.join(str(vmid) for vmid in self.tried[-5:]),
                       str(getattr(last, 'message', last))))
        return ProxmoxError(message, status_code=getattr(last, 'status_code', None),
                            errors=getattr(last, 'errors', None))


def create_guest(module, create, vmid=None, rng=None, sleep=time.sleep):
    """Run create(vmid) -> its answer (a UPID), wait for its task, and return the vmid.

    With `vmid` given, create is called once. Without, the id is claimed as the module docstring says, within
    module.deadline; errors other than a taken id pass unchanged.
    """
    wait = module.wait_task
    if vmid is not None:
        answer = create(int(vmid))
        if is_upid(answer):
            wait(answer)
        return int(vmid)
    allocator = Allocator(module.client, module.deadline, wait=wait, rng=rng, sleep=sleep)
    return allocator.run(create)[0]
