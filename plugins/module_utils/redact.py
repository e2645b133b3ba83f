# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Personal data and secrets out of log text: e-mail, IP and MAC addresses, tickets, tokens, secrets, host names.

Every value found is replaced by a placeholder naming its category and a number, `<ipv4-1>`, `<email-2>`, and the
same value gets the same placeholder for the whole run (one Redactor), so a log stays readable: "<ipv4-1> logged
in ... <ipv4-1> logged out". Values are compared in canonical form (IPv6 compressed, MAC and e-mail lower case), so
`2001:DB8::1` and `2001:db8:0::1` are one address.

Guest configurations: `GUEST_SECRET_KEYS` are the keys whose values are secrets, and `mask_guest_config` masks them
in a configuration (a dict) whatever the API returned, for every reader of configurations (pve_guest_info, pve_export,
the inventory's config_keys, pve_vm's results). In log text they are the `secret` category.

Kept as they are, because they identify nothing: loopback and unspecified addresses (127.0.0.0/8, ::1, 0.0.0.0,
::) and the all-zero MAC address. Proxmox user ids such as `root@pam` are not e-mail addresses (their realm has no
dot) and stay; a user id that is an e-mail address (`jane@example.com@pve`) loses the address part.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Dict

# The categories, in the order they are looked for: credentials first (they contain user ids that may be e-mail
# addresses), then the addresses, host names last (an e-mail address or URL holds one).
CATEGORIES = ('ticket', 'token', 'secret', 'email', 'mac', 'ipv6', 'ipv4', 'hostname')

# A PVE or PBS login ticket: PVE:user@realm:HEX8::signature (the signature is base64, the user may be a token's),
# also URL-encoded as it travels in a cookie (PVE%3Aroot%40pam%3A...).
_TICKET_RE = re.compile(
    r'\b(?:PVE|PBS|PMG)(?::|%3A)[^\s:%]+(?:%40|@)[^\s:%]+(?::|%3A)[0-9A-Fa-f]{8}(?:(?::|%3A){2})[A-Za-z0-9+/=%._-]+')
# A CSRF prevention token: HEX8:base64, after its header or field name.
_CSRF_RE = re.compile(r'(?i)(CSRFPreventionToken["\']?\s*[:=]\s*["\']?)([0-9A-Fa-f]{8}:[A-Za-z0-9+/=_-]+)')
# An API token with its secret: PVEAPIToken=user@realm!name=secret (PBS: PBSAPIToken=user@realm!name:secret), and the
# same pair without the scheme (user@realm!name=uuid, as `pvesh` and curl users paste it).
_TOKEN_RE = re.compile(
    r'(?P<scheme>\b(?:PVE|PBS|PMG)APIToken[= ])?'
    r'(?P<token>[A-Za-z0-9._+-]+(?:@[A-Za-z0-9._-]+)+![A-Za-z][A-Za-z0-9._-]*[=:]'
    r'[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})')
_TOKEN_SCHEME_RE = re.compile(r'\b((?:PVE|PBS|PMG)APIToken[= ])([^\s"\',;]+)')
# key=value or key: value secrets (passwords in a command line or a config dump).
_SECRET_RE = re.compile(
    r'(?i)\b((?:password|passwd|passphrase|secret|api[_-]?key|token[_-]?secret|client[_-]?secret)'
    r'["\']?\s*[=:]\s*["\']?)([^\s"\',;]+)')
_EMAIL_RE = re.compile(
    r'(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}'
    r'(?![\w-])')
_MAC_RE = re.compile(r'(?<![\w:.-])[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![\w:-])')
# An IPv6 candidate: hex groups and colons (at least two), maybe an embedded IPv4 and a zone; ipaddress decides.
_IPV6_RE = re.compile(r'(?<![\w:.%])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?'
                      r'(?:%[A-Za-z0-9_-]+)?(?![\w:%]|\.\w)')
_IPV4_RE = re.compile(r'(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)')
# A fully qualified host name: two labels at least, the last alphabetic; file names are not host names.
_FQDN_RE = re.compile(
    r'(?<![\w.@-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-]|\.\w)')
_NOT_TLDS = frozenset((
    'bak', 'cfg', 'conf', 'cpio', 'crt', 'csr', 'db', 'deb', 'diff', 'gz', 'html', 'img', 'ini', 'iso', 'js', 'json',
    'key', 'list', 'lock', 'log', 'lzo', 'md', 'mount', 'old', 'patch', 'pem', 'pid', 'pl', 'pm', 'py', 'qcow', 'raw',
    'rrd', 'service', 'sh', 'slice', 'so', 'socket', 'swap', 'target', 'tar', 'tgz', 'timer', 'tmp', 'toml', 'txt',
    'vma', 'vmdk', 'xml', 'xz', 'yaml', 'yml', 'zip', 'zst',
))

# The keys of a guest configuration whose values are secrets. qemu-server's GET config, GET pending and GET cloudinit
# replace `cipassword` (kept hashed in the file) by asterisks (PVE/API2/Qemu.pm: vm_config, vm_pending,
# cloudinit_pending); a fake, a proxy or an older version may not. pve-container keeps no secret in a configuration
# (the root `password` is a creation parameter only, never written). Nothing else in either is a secret: `sshkeys`
# holds public keys, `cicustom` names snippet files, `args` and `hookscript` are commands and paths.
GUEST_SECRET_KEYS = ('cipassword',)
# What a masked value reads: the same mask pve_vm shows in its results.
GUEST_SECRET_MASK = '********'
# A guest secret key in log text: `cipassword=..`, `cipassword: ..`, or the option form `-cipassword ..` of PVE's own
# task log ("update VM 100: -cipassword <hidden>"); what PVE already hid (<hidden>, asterisks) stays.
_GUEST_SECRET_RE = re.compile(
    r'(?i)(?<![\w])(-{{0,2}}(?:{0})(?:["\']?\s*[=:]\s*["\']?|\s+["\']?))([^\s"\',;]+)'.format('|'.join(GUEST_SECRET_KEYS)))
_ALREADY_HIDDEN_RE = re.compile(r'^(?:<hidden>|\*+)$')

PLACEHOLDER = {'ticket': 'ticket', 'token': 'token', 'secret': 'secret', 'email': 'email', 'mac': 'mac',
               'ipv6': 'ipv6', 'ipv4': 'ipv4', 'hostname': 'host'}
_PLACEHOLDER_RE = re.compile(r'<(?:{0})-\d+>'.format('|'.join(sorted(set(PLACEHOLDER.values())))))


def mask_guest_config(config, keys=GUEST_SECRET_KEYS):
    """A copy of a guest configuration (dict) with the value of every secret key masked; anything else as it is.

    A key holding no value (None or '') stays as it is: it hides nothing and says the secret is not set.
    """
    if not isinstance(config, dict):
        return config
    return dict((key, GUEST_SECRET_MASK if key in keys and value not in (None, '') else value)
                for key, value in config.items())


def mask_guest_secrets(text):
    """Log text with the values of guest configuration secret keys masked, and nothing else touched (for logs read
    without redaction: a secret stays out of them all the same)."""
    if text is None:
        return None
    return _GUEST_SECRET_RE.sub(
        lambda m: m.group(0) if _guest_secret(m) is None else m.group(1) + GUEST_SECRET_MASK, str(text))


def _canonical_ip(text):
    """The address in canonical form, or None when it is not one worth hiding (invalid, loopback, unspecified)."""
    try:
        address = ipaddress.ip_address(text.split('%', 1)[0])
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified:
        return None
    return str(address)


class Redactor(object):
    """Replaces what it finds by placeholders, consistently for as long as it lives; counts what it replaced.

    `hostnames`: also replace fully qualified host names and every name in `known_hosts` (node and guest names,
    matched as whole words, case-insensitively).
    """

    def __init__(self, hostnames=False, known_hosts=()):
        self.hostnames = bool(hostnames)
        names = sorted(set(str(n) for n in known_hosts or () if n and str(n).strip()), key=lambda n: (-len(n), n))
        # Known names and fully qualified ones in one pass, so that placeholders number in order of appearance.
        # A known name may stand inside an identifier made with underscores (ha_agent_pve1_lock).
        known = r'(?<![A-Za-z0-9.<-])(?P<known>{0})(?![A-Za-z0-9-]|\.\w)|'.format('|'.join(re.escape(n) for n in names)) if names else ''
        self._host_re = re.compile(r'(?i){0}(?P<fqdn>{1})'.format(known, _FQDN_RE.pattern))
        self.seen: Dict[str, Dict[str, str]] = dict((category, {}) for category in CATEGORIES)
        self.counts = dict((category, 0) for category in CATEGORIES)

    # ------------------------------------------------------------- mapping

    def placeholder(self, category, canonical):
        """The placeholder of a value (given in canonical form), numbered in order of first appearance."""
        known = self.seen[category]
        if canonical not in known:
            known[canonical] = '<{0}-{1}>'.format(PLACEHOLDER[category], len(known) + 1)
        self.counts[category] += 1
        return known[canonical]

    def distinct(self):
        """How many different values of each category were replaced."""
        return dict((category, len(values)) for category, values in self.seen.items())

    # ------------------------------------------------------------- passes

    def _sub(self, regex, category, text, canon=lambda m: m.group(0), keep=None):
        def replace(match):
            value = canon(match)
            if value is None:
                return match.group(0)
            head = match.group(keep) if keep else ''
            return head + self.placeholder(category, value)
        return regex.sub(replace, text)

    def _token(self, match):
        return (match.group('scheme') or '') + self.placeholder('token', match.group('token'))

    def _ipv6(self, match):
        text = match.group(0)
        canonical = _canonical_ip(text)
        if canonical is None or ':' not in canonical:
            return text
        return self.placeholder('ipv6', canonical)

    def _host(self, match):
        name = match.group(0)
        if match.group('fqdn') is not None and name.rsplit('.', 1)[1].lower() in _NOT_TLDS:
            return name
        return self.placeholder('hostname', name.lower().rstrip('.'))

    def redact(self, text):
        """The text with every finding replaced."""
        if text is None:
            return None
        text = str(text)
        text = self._sub(_TICKET_RE, 'ticket', text)
        text = self._sub(_CSRF_RE, 'ticket', text, canon=lambda m: m.group(2), keep=1)
        text = _TOKEN_RE.sub(self._token, text)
        # A scheme with some other credential after it (not a UUID secret): the whole credential goes.
        text = _TOKEN_SCHEME_RE.sub(
            lambda m: m.group(0) if _PLACEHOLDER_RE.fullmatch(m.group(2)) else m.group(1) + self.placeholder(
                'token', m.group(2)), text)
        text = self._sub(_SECRET_RE, 'secret', text,
                         canon=lambda m: None if _PLACEHOLDER_RE.fullmatch(m.group(2)) else m.group(2), keep=1)
        text = self._sub(_GUEST_SECRET_RE, 'secret', text, canon=_guest_secret, keep=1)
        text = self._sub(_EMAIL_RE, 'email', text, canon=lambda m: m.group(0).lower())
        text = self._sub(_MAC_RE, 'mac', text, canon=_canonical_mac)
        text = _IPV6_RE.sub(self._ipv6, text)
        text = self._sub(_IPV4_RE, 'ipv4', text, canon=lambda m: _canonical_ip(m.group(0)))
        if self.hostnames:
            text = self._host_re.sub(self._host, text)
        return text

    def redact_lines(self, lines):
        return [self.redact(line) for line in lines]


def _guest_secret(match):
    value = match.group(2)
    if _PLACEHOLDER_RE.fullmatch(value) or _ALREADY_HIDDEN_RE.match(value):
        return None
    return value


def _canonical_mac(match):
    value = match.group(0).lower().replace('-', ':')
    return None if value == '00:00:00:00:00:00' else value


def redact(lines, hostnames=False, known_hosts=()):
    """Lines of text -> (redacted lines, {category: occurrences replaced}, {category: distinct values}).

    A pure function over one fresh Redactor: the same input always gives the same output, and within the input the
    same value always gets the same placeholder.
    """
    redactor = Redactor(hostnames=hostnames, known_hosts=known_hosts)
    out = redactor.redact_lines(lines)
    return out, dict(redactor.counts), redactor.distinct()
