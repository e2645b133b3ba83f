# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The one exception family every part of the collection raises and reports.

An error carries what a person needs to act: the target (cluster URL, node, guest), the HTTP status, the API's own
message and its per-field errors. Modules turn it into fail_json; plugins into AnsibleError.
"""

from __future__ import annotations

import re


class ProxmoxError(Exception):
    """Base of every expected failure: API answers, TLS, connection, authentication, tasks."""

    def __init__(self, message, status_code=None, errors=None, url=None, method=None, path=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.errors = errors or {}
        self.url = url
        self.method = method
        self.path = path

    def describe(self, target=None):
        """One line naming the target, the request and the API's words, each once.

        The context (the target, the server's URL, the request) is put in front of the message only where the
        message does not already say it: a message that names its guest ('VM 100 (web) on node pve1 is a
        template'), or that holds another error's whole description, is not prefixed with the same words again.
        """
        # PVE wraps errors raised under a cluster lock in a second message line: keep the report on one line.
        text = '; '.join(line.strip() for line in str(self.message).splitlines() if line.strip())
        if self.status_code:
            text = '{0} {1}'.format(self.status_code, text)
        if self.errors:
            text += ' (' + '; '.join('{0}: {1}'.format(k, str(v).strip()) for k, v in sorted(self.errors.items())) + ')'
        target = str(target).strip() if target else ''
        if target and mentions(text, target):
            target = ''
        url = self.url or ''
        if url and (mentions(text, url) or mentions(target, url)):
            url = ''
        request = '{0} {1}'.format(self.method, self.path) if self.method and self.path else ''
        if request and mentions(text, request):
            request = ''
        parts = []
        where = ' on '.join(part for part in (target, url) if part)
        if where:
            parts.append(where)
        if request:
            parts.append(request)
        head = ': '.join(parts)
        return '{0}: {1}'.format(head, text) if head else text

    def __str__(self):
        return self.describe()


def mentions(text, words):
    """True when `text` holds `words` as a whole: 'VM 100' is in 'VM 100 (web) is a template', not in 'VM 1000'."""
    if not words:
        return False
    return re.search(r'(?<![\w.-])' + re.escape(words) + r'(?![\w-])', text) is not None


class ProxmoxApiError(ProxmoxError):
    """The API answered with an HTTP error status."""


class ProxmoxAuthError(ProxmoxError):
    """Login or API token refused."""


class ProxmoxTLSError(ProxmoxError):
    """The server's certificate could not be trusted, or did not match the pinned fingerprint."""


class ProxmoxConnectionError(ProxmoxError):
    """The server could not be reached or did not answer in time."""


class ProxmoxConfigError(ProxmoxError):
    """The connection options themselves are wrong (caught before any request)."""


class ProxmoxTaskError(ProxmoxError):
    """A task (UPID) ended with an error exit status."""

    def __init__(self, message, upid=None, exitstatus=None, log_tail=None, node=None, **kwargs):
        super().__init__(message, **kwargs)
        self.upid = upid
        self.exitstatus = exitstatus
        self.log_tail = log_tail or []
        self.node = node


class ProxmoxTaskTimeout(ProxmoxTaskError):
    """A task was still running when the timeout budget ran out."""


def is_not_found(error):
    """True when an API error says the object does not exist.

    PVE answers a missing object with 404 on some paths and 500 with 'does not exist' (or 'no such ...') on
    others; PBS with 404 or 400. The status is checked first; the wording only where PVE gives no other sign.
    """
    if not isinstance(error, ProxmoxApiError):
        return False
    if error.status_code == 404:
        return True
    text = (error.message or '').lower()
    return error.status_code in (400, 500) and ('does not exist' in text or 'no such' in text or 'not found' in text)
