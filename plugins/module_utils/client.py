# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The one client every module and plugin of the collection talks to Proxmox VE (8006) and PBS (8007) through.

It stands on proxmoxer's https backend (its session, serializer and API-token header, which differs between
PVE and PBS) and adds what a fleet tool needs around it: certificate-fingerprint pinning that also covers the
login, a bounded retry policy that never repeats a write that may have reached the server, one re-login on an
expired ticket, and errors that carry the target, the HTTP status and the API's own words.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import math
import random
import re
import threading
import time
import traceback
from typing import Any, Dict
from urllib.parse import quote

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import (
    ProxmoxApiError,
    ProxmoxAuthError,
    ProxmoxConfigError,
    ProxmoxConnectionError,
    ProxmoxTLSError,
)

PROXMOXER_IMPORT_ERROR = None
try:
    import requests
    import urllib3
    from proxmoxer.backends.https import (
        JsonSerializer,
        ProxmoxHTTPApiTokenAuth,
        ProxmoxHTTPAuthBase,
        ProxmoxHttpSession,
    )
    from requests.adapters import HTTPAdapter
    from requests.cookies import cookiejar_from_dict
except ImportError:  # reported by the module through missing_required_lib
    PROXMOXER_IMPORT_ERROR = traceback.format_exc()
    # Stand-ins so the classes below can be defined; no client is made without requests (see missing_required_lib).
    HTTPAdapter = object  # type: ignore[misc,assignment]  # the real class when requests is importable
    ProxmoxHTTPAuthBase = object

# What differs between the two services on the wire.
SERVICES: Dict[str, Dict[str, Any]] = {
    'PVE': {'port': 8006, 'cookie': 'PVEAuthCookie', 'env': 'PROXMOX', 'label': 'Proxmox VE'},
    'PBS': {'port': 8007, 'cookie': 'PBSAuthCookie', 'env': 'PBS', 'label': 'Proxmox Backup Server'},
}

# Characters kept as they are in a path segment (RFC 3986 pchar): UPIDs and token ids read naturally.
_PATH_SAFE = ':@!=,+'
_FINGERPRINT_RE = re.compile(r'^[0-9a-f]{64}$')


def normalize_fingerprint(value):
    """'AA:BB:...' (any case, with or without colons) -> 64 lowercase hex digits; ProxmoxConfigError otherwise."""
    digits = re.sub(r'[\s:]', '', str(value)).lower()
    if not _FINGERPRINT_RE.match(digits):
        raise ProxmoxConfigError(
            'fingerprint must be the SHA-256 of the server certificate as 32 colon-separated hex bytes '
            '(AA:BB:...:FF), got {0!r}'.format(value))
    return digits


def format_fingerprint(digits):
    """64 hex digits -> 'AA:BB:...', the form PVE shows and users copy."""
    digits = digits.upper()
    return ':'.join(digits[i:i + 2] for i in range(0, len(digits), 2))


def split_token_id(token_id, user=None):
    """A token id as 'user@realm!name', or a bare 'name' with user -> (user, name)."""
    token_id = str(token_id).strip()
    if '!' in token_id:
        token_user, _sep, name = token_id.partition('!')
        if user and user != token_user:
            raise ProxmoxConfigError(
                'api_token_id {0!r} belongs to {1!r}, but api_user is {2!r}: give one user'.format(token_id, token_user, user))
        user = token_user
    else:
        name = token_id
        if not user:
            raise ProxmoxConfigError(
                'api_token_id {0!r} has no user: give it as user@realm!{0} or set api_user'.format(token_id))
    if '@' not in user:
        raise ProxmoxConfigError('the user of an API token needs a realm (user@realm), got {0!r}'.format(user))
    if not name:
        raise ProxmoxConfigError('api_token_id {0!r} has an empty token name'.format(token_id))
    return user, name


_HOSTNAME_RE = re.compile(r'^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$')


def _check_host(host):
    """A host name or IP address (an IPv6 one with or without brackets); ProxmoxConfigError for anything else."""
    text = str(host).strip()
    bracketed = text.startswith('[') and text.endswith(']')
    bare = text[1:-1] if bracketed else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        if bracketed:
            raise ProxmoxConfigError('api_host {0!r}: brackets hold an IPv6 address only'.format(text)) from None
    # A fully qualified name may end with the root's dot.
    bare = bare[:-1] if bare.endswith('.') and len(bare) > 1 else bare
    if '://' in text or '/' in text:
        raise ProxmoxConfigError('api_host takes a host name or address, not a URL: {0!r} (the port goes in api_port)'.format(text))
    if ':' in text:
        raise ProxmoxConfigError('api_host takes a host name or address without a port: {0!r} (the port goes in api_port)'.format(text))
    if not _HOSTNAME_RE.match(bare):
        raise ProxmoxConfigError('api_host is not a valid host name or address: {0!r}'.format(text))
    return bare


def _check_token_secret(secret):
    """The secret as it goes into a header: surrounding white space (a trailing newline from a file or a YAML block)
    is dropped; anything a header cannot carry is refused without echoing the secret."""
    text = str(secret).strip()
    if not text or any(ord(c) < 0x21 or ord(c) > 0x7e for c in text):
        raise ProxmoxConfigError('api_token_secret holds characters an API token secret cannot have (it is shown as '
                                 'a UUID when the token is created)')
    return text


# The one identity Proxmox VE lets call an API method declared without permissions (cluster create, join and node
# removal, Ceph OSD create and destroy, disk wipe, ACME accounts, ...): RPCEnvironment::check_api2_permissions returns
# early for `root@pam` itself only; a token acts as `root@pam!name` and no privilege makes up for it.
ROOT_LOGIN = 'root@pam'


def require_root_login(settings, action):
    """Fail before any write unless the connection is the root@pam login with a password.

    `settings` is the client's ConnectionSettings; `action` says what needs it ('creating an OSD').
    """
    if settings.auth_id == ROOT_LOGIN:
        return
    if settings.uses_token:
        why, fix = 'uses the API token {0}'.format(settings.auth_id), ' instead of api_token_id and api_token_secret'
    else:
        why, fix = 'logs in as {0}'.format(settings.auth_id), ''
    raise ProxmoxConfigError(
        '{0} needs the root@pam login with its password: Proxmox VE lets no other user and no API token (not even '
        'one of root@pam) do it, and this run {1}. Give this task api_user: root@pam and api_password{2}'.format(
            action, why, fix))


class ConnectionSettings(object):
    """Validated connection options for one endpoint; built before any request so bad input fails first."""

    def __init__(self, host, service='PVE', port=None, user=None, password=None, token_id=None, token_secret=None,
                 validate_certs=True, ca_path=None, fingerprint=None, timeout=30, label=None):
        if service not in SERVICES:
            raise ProxmoxConfigError('unknown service {0!r}: PVE or PBS'.format(service))
        if not host:
            raise ProxmoxConfigError('api_host is required (or the {0}_HOST environment variable)'.format(SERVICES[service]['env']))
        self.service = service
        self.host = _check_host(host)
        self.port = int(port or SERVICES[service]['port'])
        self.timeout = float(timeout or 30)
        # Only an explicit false turns verification off: a null (say `validate_certs: "{{ omit_me | default(none) }}"`
        # or an unset variable) keeps the default, as the option's documentation promises.
        self.validate_certs = True if validate_certs is None else bool(validate_certs)
        self.ca_path = ca_path or None
        self.fingerprint = normalize_fingerprint(fingerprint) if fingerprint else None
        self.label = label
        # A token needs both halves; a half-token (say PROXMOX_TOKEN_SECRET left in the environment) does not
        # stand in the way of an explicit password login.
        if token_id and token_secret:
            self.user, self.token_name = split_token_id(token_id, user)
            self.token_secret = _check_token_secret(token_secret)
            self.password = None
        else:
            if (token_id or token_secret) and (not user or password is None):
                raise ProxmoxConfigError('API token authentication needs both api_token_id and api_token_secret')
            if not user or password is None:
                raise ProxmoxConfigError(
                    'give api_user with api_password, or api_token_id with api_token_secret '
                    '(or the {0}_* environment variables)'.format(SERVICES[service]['env']))
            self.user = user
            self.password = password
            self.token_name = None
            self.token_secret = None

    @property
    def url(self):
        """https://host:port, with IPv6 literals bracketed: the name errors give the target."""
        host = self.host
        if ':' in host and not host.startswith('['):
            host = '[{0}]'.format(host)
        return 'https://{0}:{1}'.format(host, self.port)

    @property
    def base_url(self):
        return self.url + '/api2/json'

    @property
    def uses_token(self):
        return self.token_name is not None

    @property
    def auth_id(self):
        """The identity acting: user@realm or user@realm!token."""
        return '{0}!{1}'.format(self.user, self.token_name) if self.uses_token else self.user

    @property
    def requests_verify(self):
        """The `verify` passed on every request.

        A pin replaces CA verification (as PVE and PBS clients treat a fingerprint): the pinned adapter checks the
        certificate itself, so requests must not also require a CA chain the self-signed cluster does not have.
        """
        if self.fingerprint or not self.validate_certs:
            return False
        return self.ca_path or True


def parse_retry_after(value, now=None):
    """Seconds a Retry-After header asks to wait: delta-seconds ('120') or an HTTP-date ('Wed, 21 Oct 2015 07:28:00
    GMT', counted from `now`, epoch seconds); never negative. None when absent or unreadable (the caller's own
    backoff applies)."""
    if value is None:
        return None
    text = str(value).strip()
    if re.match(r'^\d+$', text):
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryPolicy(object):
    """When and how long to wait before trying a request again.

    Reads (GET) are retried on connection errors and on 429/502/503/504 with exponential backoff and full jitter,
    bounded by an attempt count and a total time. A write (POST/PUT/DELETE) is retried only when it certainly
    never reached the server (the TCP connection could not be made) or the server refused it without acting on it
    (429 Too Many Requests, or 503 with a Retry-After); any other 5xx or a read timeout on a write may mean the
    write happened, so it is reported, never repeated.

    A 429 or 503 with Retry-After is tried again after the time the server asks (seconds or an HTTP-date), not
    sooner; that wait is bounded by what is left of the run's deadline (`remaining`, the module's timeout budget)
    or, without one, of `max_total`. When the server asks for more time than is left, the error is reported at once.
    """

    RETRYABLE_STATUS = (429, 502, 503, 504)
    # Answers that say the server (or a proxy in front of it) refused the request without processing it.
    THROTTLE_STATUS = (429, 503)
    SAFE_METHODS = ('GET', 'HEAD')

    def __init__(self, max_attempts=4, base_delay=0.5, max_delay=4.0, max_total=30.0, rng=None):
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_total = max_total
        self.rng = rng or random.Random()

    def delay(self, attempt):
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter over the exponential cap."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(cap / 2, cap)

    def budget(self, elapsed, remaining=None):
        """Seconds left to retry in: what is left of max_total, or of the run's deadline when there is one."""
        left = self.max_total - elapsed
        return left if remaining is None else min(left, remaining)

    def wait(self, attempt, elapsed, retry_after=None, remaining=None):
        """The time to wait after attempt `attempt`: the server's Retry-After when it gave one, else the backoff,
        cut to what is left of the budget."""
        if retry_after is not None:
            limit = self.max_total - elapsed if remaining is None else remaining
            return max(0.0, min(retry_after, limit))
        return max(0.0, min(self.delay(attempt), self.budget(elapsed, remaining)))

    def may_retry(self, method, attempt, elapsed, status=None, connect_failed=False, read_failed=False,
                  retry_after=None, remaining=None):
        """True when attempt number `attempt` may be followed by another."""
        if attempt >= self.max_attempts:
            return False
        if retry_after is not None and status in self.THROTTLE_STATUS:
            # The server said when: wait that long if the run's deadline (else max_total) allows it.
            limit = self.max_total - elapsed if remaining is None else remaining
            return 0 < limit and retry_after <= limit
        if self.budget(elapsed, remaining) <= 0:
            return False
        if connect_failed or status == 429:
            return True
        if method not in self.SAFE_METHODS:
            return False
        return read_failed or status in self.RETRYABLE_STATUS


class NoRetry(RetryPolicy):
    """For tests and callers that handle failures themselves."""

    def __init__(self):
        super().__init__(max_attempts=1)


class PinnedAdapter(HTTPAdapter):
    """An HTTPS adapter that accepts exactly one certificate, by its SHA-256 fingerprint.

    urllib3 compares the peer certificate with `assert_fingerprint` during the handshake, before a byte of the
    request (or the password of a login) is sent. CA and host name checks are left off: the pin is the trust.
    """

    def __init__(self, fingerprint, *args, **kwargs):
        self.fingerprint = fingerprint
        super().__init__(*args, **kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, typed_kwargs = super().build_connection_pool_key_attributes(request, False, cert)
        # urllib3 takes assert_fingerprint, which requests' own keyword list (and its type stubs) do not name.
        pool_kwargs: Dict[str, Any] = dict(typed_kwargs)
        pool_kwargs['cert_reqs'] = 'CERT_NONE'
        pool_kwargs.pop('ca_certs', None)
        pool_kwargs.pop('ca_cert_dir', None)
        pool_kwargs['assert_fingerprint'] = self.fingerprint
        return host_params, pool_kwargs


class TicketAuth(ProxmoxHTTPAuthBase):
    """Ticket (cookie) authentication whose login goes through the client's own session.

    proxmoxer's ticket auth logs in with a bare requests.post, outside any session adapter, so a pinned
    fingerprint would not protect the password; here the login uses the same pinned session as every call.
    """

    def __init__(self, service, **kwargs):
        super().__init__(service=service, **kwargs)
        self.ticket = None
        self.csrf = None

    def get_cookies(self):
        if not self.ticket:
            return cookiejar_from_dict({})
        return cookiejar_from_dict({SERVICES[self.service]['cookie']: self.ticket})

    def get_tokens(self):
        return self.ticket, self.csrf

    def __call__(self, req):
        if req.method != 'GET' and self.csrf:
            req.headers['CSRFPreventionToken'] = self.csrf
        return req


def _short_reason(exc):
    """The useful words inside a requests/urllib3 exception chain."""
    text = str(exc)
    for pattern in (r'\[Errno -?\d+\] ([^\'")]+)', r'(certificate verify failed: [^(\'")]+)',
                    r'(Fingerprints did not match[^)]*)', r'(timed out)', r'(Read timed out)'):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip().rstrip('.')
    return text.strip()


def _decode_error(resp):
    """(message, errors) of an error response: PVE puts the message in the reason phrase, PBS and fakes in the body."""
    message, errors = None, None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get('message')
        errors = body.get('errors') if isinstance(body.get('errors'), dict) else None
    if not message:
        message = resp.reason or ''
        text = (resp.text or '').strip()
        if text and not isinstance(body, dict) and len(text) < 500:
            message = text
    return str(message).strip(), errors


def _throttle_note(status, retry_after, attempt, policy, elapsed, remaining):
    """Why a 429 or 503 was not tried again, in words to append to the API's own."""
    if status not in policy.THROTTLE_STATUS:
        return ''
    attempts = '{0} attempt{1}'.format(attempt, '' if attempt == 1 else 's')
    if retry_after is not None and attempt < policy.max_attempts:
        limit = policy.max_total - elapsed if remaining is None else remaining
        return ' (after {0}; the server asked to retry in {1:g} s, more than the {2:g} s left of the {3})'.format(
            attempts, math.ceil(retry_after), max(0, math.floor(limit)),
            'time budget' if remaining is None else 'timeout')
    return ' (after {0})'.format(attempts) if attempt > 1 else ''


def _never_connected(exc):
    """True when the request certainly never reached a server: no TCP connection (refused, unresolvable name,
    connect timeout). Only then may a write be tried again."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    # requests wraps urllib3's MaxRetryError, whose reason is the NewConnectionError (NameResolutionError included).
    candidates = (inner, getattr(inner, 'reason', None))
    return any(isinstance(item, urllib3.exceptions.NewConnectionError) for item in candidates)


def _envelope_data(resp, url, method, path):
    """The `data` of a success answer; ProxmoxApiError when the body is not the API's JSON envelope (a proxy's
    page, a captive portal)."""
    if not resp.content:
        return None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or 'data' not in body:
        snippet = re.sub(r'\s+', ' ', resp.text or '')[:120]
        raise ProxmoxApiError('the server answered {0} with something that is not the Proxmox API: {1!r}'.format(
            resp.status_code, snippet), status_code=resp.status_code, url=url, method=method, path=path)
    data = body['data']
    # PBS puts a config item's digest beside `data`, PVE inside it: give callers one place to find it.
    if isinstance(data, dict) and 'digest' in body and 'digest' not in data:
        data = dict(data, digest=body['digest'])
    return data


def _form_value(value):
    """A parameter as PVE reads it: booleans as 0/1 (requests would send 'True'), a dict as a property string
    (requests would send its keys), list items alike (an array parameter is sent as repeated keys)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict):
        return propstring.render(value)
    if isinstance(value, (list, tuple)):
        return [_form_value(item) for item in value]
    return value


class ProxmoxClient(object):
    """A session with one PVE cluster or PBS server.

    `client.get('/nodes')`, `client.post('/nodes/pve1/qemu', vmid=100, ...)`: paths are API paths below /api2/json,
    parameters are sent as PVE expects them. Every failure raises a ProxmoxError subclass naming the server.
    """

    def __init__(self, settings, retry=None, sleep=time.sleep, clock=time.monotonic, deadline=None):
        if PROXMOXER_IMPORT_ERROR:
            raise ProxmoxConfigError('the proxmoxer and requests Python packages are required on the host that runs this')
        self.settings = settings
        self.retry = retry or RetryPolicy()
        # The run's one timeout budget (a tasks.Deadline, or anything with remaining()): retries, and waits a
        # server asks for with Retry-After, stay within it.
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        self._version = None
        self.serializer = JsonSerializer()
        verify = settings.requests_verify
        if settings.uses_token:
            self.auth = ProxmoxHTTPApiTokenAuth(settings.user, settings.token_name, settings.token_secret,
                                                verify_ssl=verify, timeout=settings.timeout, service=settings.service)
        else:
            self.auth = TicketAuth(settings.service, verify_ssl=verify, timeout=settings.timeout)
        self.session = ProxmoxHttpSession()
        self.session.auth = self.auth
        self.session.headers['accept'] = self.serializer.get_accept_types()
        if settings.fingerprint:
            self.session.mount(settings.url + '/', PinnedAdapter(settings.fingerprint))
        # Threads may share a client (pve_apply reads and applies guests in parallel): requests' Session and
        # urllib3's pool are shared safely for requests like these (no cookie jar changes with a token; the ticket is
        # passed on each request), and the count is kept under a lock.
        self._count_lock = threading.Lock()
        self.request_count = 0

    # ----------------------------------------------------------------- paths

    @staticmethod
    def path(*segments):
        """'/' + segments joined, each quoted: client.path('nodes', node, 'tasks', upid)."""
        return '/' + '/'.join(quote(str(s), safe=_PATH_SAFE) for s in segments)

    # ----------------------------------------------------------------- verbs

    # The API path is positional-only, and not called `path`: PBS has parameters named `path` (a datastore's),
    # which must reach **data.
    def get(self, api_path, /, **params):
        return self.request('GET', api_path, params)

    def post(self, api_path, /, **data):
        return self.request('POST', api_path, data)

    def put(self, api_path, /, **data):
        return self.request('PUT', api_path, data)

    def delete(self, api_path, /, **params):
        return self.request('DELETE', api_path, params)

    # ----------------------------------------------------------------- core

    def login(self):
        """Get a ticket (ticket auth only); ProxmoxAuthError when refused."""
        if self.settings.uses_token:
            return
        self.auth.ticket = self.auth.csrf = None
        bare = ProxmoxHTTPAuthBase(verify_ssl=self.settings.requests_verify, timeout=self.settings.timeout,
                                   service=self.settings.service)
        try:
            data = self._send('POST', '/access/ticket', {'username': self.settings.user, 'password': self.settings.password},
                              auth=bare)
        except ProxmoxApiError as exc:
            if exc.status_code in (401, 403):
                raise ProxmoxAuthError('login as {0} refused: {1}'.format(self.settings.user, exc.message),
                                       status_code=exc.status_code, url=self.settings.url) from None
            raise
        if not isinstance(data, dict) or not data.get('ticket'):
            raise ProxmoxAuthError('login as {0} returned no ticket'.format(self.settings.user), url=self.settings.url)
        if data.get('NeedTFA'):
            raise ProxmoxAuthError('login as {0} needs a second factor (TFA): use an API token for automation'.format(
                self.settings.user), url=self.settings.url)
        self.auth.ticket = data['ticket']
        self.auth.csrf = data.get('CSRFPreventionToken')

    def request(self, method, path, params=None):
        """One API call with the retry policy; returns the answer's `data`."""
        if method != 'GET':
            # The version gate: a key this cluster's release does not have fails here, before it is sent. Imported
            # with the first write: a run that only reads (nothing to change) does not compile it.
            from ansible_collections.proxfleet.proxmox.plugins.module_utils import versions
            versions.check(self, method, path, params)
        if not self.settings.uses_token and not self.auth.ticket:
            self.login()
        try:
            return self._send(method, path, params)
        except ProxmoxApiError as exc:
            # An expired or revoked ticket: log in again once and repeat. The 401 means the call was refused
            # before it did anything, so repeating even a write is safe.
            if exc.status_code != 401:
                raise
            if self.settings.uses_token:
                raise ProxmoxAuthError('API token {0} refused: {1}'.format(self.settings.auth_id, exc.message),
                                       status_code=401, url=self.settings.url, method=method, path=path) from None
            self.login()
            try:
                return self._send(method, path, params)
            except ProxmoxApiError as again:
                if again.status_code != 401:
                    raise
                raise ProxmoxAuthError('the new ticket of {0} was refused too: {1}'.format(self.settings.user, again.message),
                                       status_code=401, url=self.settings.url, method=method, path=path) from None

    def _send(self, method, path, params, auth=None):
        url = self.settings.base_url + path
        clean = dict((k, _form_value(v)) for k, v in (params or {}).items() if v is not None)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            kwargs = {'params': clean} if method in ('GET', 'DELETE') else {'data': clean}
            if auth is not None:
                kwargs['auth'] = auth
                kwargs['cookies'] = cookiejar_from_dict({})
            elif not self.settings.uses_token:
                # proxmoxer adds the ticket cookie only while the session's jar is empty; a cookie set by a proxy
                # (load-balancer stickiness) would hide it, so the ticket is passed on every request.
                kwargs['cookies'] = self.auth.get_cookies()
            with self._count_lock:
                self.request_count += 1
            try:
                # Never follow a redirect: it would carry the login (and its password) to an origin the pin and
                # the CA check were not set up for. The API does not redirect.
                resp = self.session.request(method, url, verify=self.settings.requests_verify,
                                            timeout=self.settings.timeout, allow_redirects=False, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(exc, method, path) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                connect_failed = _never_connected(exc)
                elapsed, remaining = self._clock() - started, self._remaining()
                if self.retry.may_retry(method, attempt, elapsed, connect_failed=connect_failed,
                                        read_failed=not connect_failed, remaining=remaining):
                    self._sleep(self.retry.wait(attempt, elapsed, remaining=remaining))
                    continue
                what = 'cannot connect' if connect_failed else 'no answer'
                raise ProxmoxConnectionError('{0} ({1}) after {2} attempt{3}'.format(
                    what, _short_reason(exc), attempt, '' if attempt == 1 else 's'),
                    url=self.settings.url, method=method, path=path) from None
            if resp.status_code >= 400:
                retry_after = None
                if resp.status_code in self.retry.THROTTLE_STATUS:
                    retry_after = parse_retry_after(resp.headers.get('Retry-After'))
                elapsed, remaining = self._clock() - started, self._remaining()
                if self.retry.may_retry(method, attempt, elapsed, status=resp.status_code, retry_after=retry_after,
                                        remaining=remaining):
                    self._sleep(self.retry.wait(attempt, elapsed, retry_after=retry_after, remaining=remaining))
                    continue
                message, errors = _decode_error(resp)
                message += _throttle_note(resp.status_code, retry_after, attempt, self.retry, elapsed, remaining)
                raise ProxmoxApiError(message, status_code=resp.status_code, errors=errors,
                                      url=self.settings.url, method=method, path=path)
            if 300 <= resp.status_code < 400:
                raise ProxmoxApiError('the server answered with a redirect to {0}, which is not followed'.format(
                    resp.headers.get('Location', '(no location)')), status_code=resp.status_code,
                    url=self.settings.url, method=method, path=path)
            return _envelope_data(resp, self.settings.url, method, path)

    def _remaining(self):
        return None if self.deadline is None else self.deadline.remaining()

    def _tls_error(self, exc, method, path):
        reason = _short_reason(exc)
        got = re.search(r'got "?([0-9a-fA-F]{64})', str(exc))
        if 'Fingerprints did not match' in str(exc) or got:
            message = ('TLS: the server certificate does not match the pinned fingerprint {0}{1}; refusing to connect'.format(
                format_fingerprint(self.settings.fingerprint),
                ' (it presented {0})'.format(format_fingerprint(got.group(1))) if got else ''))
        else:
            message = ('TLS: the server certificate is not trusted ({0}); give its CA with ca_path, pin it with '
                       'fingerprint, or (not recommended) set validate_certs to false'.format(reason))
        return ProxmoxTLSError(message, url=self.settings.url, method=method, path=path)

    # ------------------------------------------------------------- facts

    def version(self):
        """GET /version, read once per client: {'version': '9.0.10', 'release': '9.0', ...}."""
        if self._version is None:
            self._version = self.get('/version') or {}
        return self._version

    def major_version(self):
        """The major release (8, 9, ... for PVE; 3, 4 for PBS), for version-dependent paths."""
        # PVE answers version '9.0.10' and release '9.0'; PBS version '4.0' and release '14' (its patch level).
        text = str(self.version().get('version') or self.version().get('release') or '0')
        found = re.match(r'(\d+)', text)
        return int(found.group(1)) if found else 0
