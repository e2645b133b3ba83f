# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/redact.py: what is replaced, what is kept, consistency and counts (parametrize + hypothesis)."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.redact import (
    CATEGORIES,
    GUEST_SECRET_KEYS,
    GUEST_SECRET_MASK,
    Redactor,
    mask_guest_config,
    mask_guest_secrets,
    redact,
)

TICKET = 'PVE:root@pam:6740A1B2::c2lnbmF0dXJlLW9mLXRoZS1sYWItdGlja2V0LTAxMjM0NTY3ODk='
UUID = '5f1d1b7e-3c2a-4e59-9d7a-2b8e4c6f0a11'


def one(text, **kwargs):
    lines, counts, distinct = redact([text], **kwargs)
    return lines[0], counts, distinct


# ============================================================================================ replaced


@pytest.mark.parametrize('text, expected, category', [
    ('mail to jane.doe@example.com now', 'mail to <email-1> now', 'email'),
    ('to=<ops-team@example.org>, relay', 'to=<<email-1>>, relay', 'email'),
    ("user 'jane@example.com@pve' failed", "user '<email-1>@pve' failed", 'email'),
    ('from 198.51.100.23 port 22', 'from <ipv4-1> port 22', 'ipv4'),
    ('connection from 192.0.2.10.', 'connection from <ipv4-1>.', 'ipv4'),
    ('net 10.0.0.0/24 gw 10.0.0.1', 'net <ipv4-1>/24 gw <ipv4-2>', 'ipv4'),
    ('relay=mail[192.0.2.80]:25', 'relay=mail[<ipv4-1>]:25', 'ipv4'),
    ('peer 2001:db8:42::17 up', 'peer <ipv6-1> up', 'ipv6'),
    ('link fe80::be24:11ff:fe5e:7a01%vmbr0 up', 'link <ipv6-1> up', 'ipv6'),
    ('rhost=::ffff:198.51.100.23 user', 'rhost=<ipv6-1> user', 'ipv6'),
    ('url https://[2001:db8::1]:8006/', 'url https://[<ipv6-1>]:8006/', 'ipv6'),
    ('full 2001:0db8:0000:0000:0000:0000:0000:0001.', 'full <ipv6-1>.', 'ipv6'),
    ('mac BC:24:11:9F:00:3C seen', 'mac <mac-1> seen', 'mac'),
    ('mac 52-54-00-12-34-56 seen', 'mac <mac-1> seen', 'mac'),
    ('cookie PVEAuthCookie=' + TICKET + '; path=/', 'cookie PVEAuthCookie=<ticket-1>; path=/', 'ticket'),
    ('PVEAuthCookie=PVE%3Aroot%40pam%3A6740A1B2%3A%3Ac2ln%2Fbg%3D%3D end', 'PVEAuthCookie=<ticket-1> end', 'ticket'),
    ('PBS:backup@pbs:6740A1B2::c2lnbmF0dXJl', '<ticket-1>', 'ticket'),
    ('CSRFPreventionToken: 6740A1B2:Zm9vYmFyYmF6', 'CSRFPreventionToken: <ticket-1>', 'ticket'),
    ('Authorization: PVEAPIToken=ci@pve!deploy=' + UUID, 'Authorization: PVEAPIToken=<token-1>', 'token'),
    ('Authorization: PBSAPIToken=ci@pbs!deploy:' + UUID, 'Authorization: PBSAPIToken=<token-1>', 'token'),
    ('token root@pam!lab=' + UUID + ' used', 'token <token-1> used', 'token'),
    ('Authorization: PVEAPIToken=garbage-not-a-uuid', 'Authorization: PVEAPIToken=<token-1>', 'token'),
    ('mount -o password=hunter2,uid=0', 'mount -o password=<secret-1>,uid=0', 'secret'),
    ('"client_secret": "s3cr3t"', '"client_secret": "<secret-1>"', 'secret'),
])
def test_replaced(text, expected, category):
    out, counts, distinct = one(text)
    assert out == expected
    assert counts[category] >= 1
    assert distinct[category] >= 1


@pytest.mark.parametrize('text', [
    'Nov 22 06:01:21 pve1 pvedaemon[1234]: <root@pam> starting task',
    'PVE::API2::Tasks::read_task_log at line 42',
    'version 9.0.10, kernel 6.8.12-4-pve, 1.2.3.4.5',
    'loopback 127.0.0.1 and ::1 and 0.0.0.0 and :: and 00:00:00:00:00:00',
    'UPID:pve1:0003A2F1:00155DB5:6B026ABB:vzdump:102:root@pam:',
    'file vzdump-qemu-101-2026_11_22-06_00_01.vma.zst in /var/lib/vz/dump',
    'uuid ' + UUID + ' of the VM (smbios)',
    'time 2026-11-22T06:01:21+01:00 and 06:01:21',
    'disk local-lvm:vm-101-disk-0, size=32G',
    'ab:cd is a ratio, dead::beef::1 has two gaps, 1:2:3:4:5:6:7:8:9 too many groups',
])
def test_kept(text):
    out, counts, _distinct = one(text)
    assert out == text
    assert sum(counts.values()) == 0


# ============================================================================================ host names


def test_hostnames_off_by_default():
    text = 'Selected source 2001:db8::123 (ntp1.example.net) on pve1'
    assert one(text)[0] == 'Selected source <ipv6-1> (ntp1.example.net) on pve1'


@pytest.mark.parametrize('text, expected', [
    ('Selected source (ntp1.example.net) on pve1', 'Selected source (<host-1>) on <host-2>'),
    ('https://pve1.example.com:8006/api2/json', 'https://<host-1>:8006/api2/json'),
    ('UPID:pve1:0003A2F1:00155DB5:6B026ABB:vzdump:102:root@pam:', 'UPID:<host-1>:0003A2F1:00155DB5:6B026ABB:vzdump:102:root@pam:'),
    ("lock 'ha_agent_pve1_lock' and PVE1 and pve10", "lock 'ha_agent_<host-1>_lock' and <host-1> and pve10"),
    ('guest web01 and web01.corp.example.com', 'guest <host-1> and <host-2>'),
    ('file backup.tar.gz and notes.txt and ceph.conf', 'file backup.tar.gz and notes.txt and ceph.conf'),
])
def test_hostnames(text, expected):
    assert one(text, hostnames=True, known_hosts=['pve1', 'web01'])[0] == expected


def test_known_host_named_like_a_placeholder_does_not_break_placeholders():
    out = one('mail jane@example.com from host email', hostnames=True, known_hosts=['email', 'host'])[0]
    assert out == 'mail <email-1> from <host-1> <host-2>'


# ============================================================================================ consistency


def test_same_value_same_placeholder_across_lines_and_forms():
    lines = ['login from 2001:DB8::1 and jane@Example.com', 'logout 2001:db8:0:0::1, jane@example.com',
             'mac BC:24:11:00:00:01 = bc-24-11-00-00-01', 'other 2001:db8::2']
    out, counts, distinct = redact(lines)
    assert out == ['login from <ipv6-1> and <email-1>', 'logout <ipv6-1>, <email-1>', 'mac <mac-1> = <mac-1>',
                   'other <ipv6-2>']
    assert counts['ipv6'] == 3 and distinct['ipv6'] == 2
    assert counts['email'] == 2 and distinct['email'] == 1
    assert counts['mac'] == 2 and distinct['mac'] == 1


def test_one_redactor_keeps_numbers_between_calls():
    redactor = Redactor()
    assert redactor.redact('a 192.0.2.1') == 'a <ipv4-1>'
    assert redactor.redact('b 192.0.2.2 c 192.0.2.1') == 'b <ipv4-2> c <ipv4-1>'
    assert redactor.counts['ipv4'] == 3
    assert redactor.distinct()['ipv4'] == 2
    assert redactor.redact(None) is None


def test_counts_cover_every_category():
    _out, counts, distinct = redact([])
    assert set(counts) == set(CATEGORIES) == set(distinct)


# ============================================================================================ hypothesis

octet = st.integers(0, 255)
ipv4s = st.tuples(st.integers(1, 223), octet, octet, st.integers(1, 254)).map(lambda t: '{0}.{1}.{2}.{3}'.format(*t)) \
    .filter(lambda a: not ipaddress.ip_address(a).is_loopback)
ipv6s = st.ip_addresses(v=6).filter(lambda a: not (a.is_loopback or a.is_unspecified) and a.ipv4_mapped is None) \
    .map(lambda a: a.exploded if int(a) % 2 else str(a))
macs = st.lists(st.integers(0, 255), min_size=6, max_size=6).filter(any) \
    .map(lambda b: ':'.join('{0:02x}'.format(x) for x in b))
emails = st.tuples(st.from_regex(r'\A[a-z][a-z0-9._]{0,10}[a-z0-9]\Z'), st.from_regex(r'\A[a-z][a-z0-9-]{0,8}[a-z]\Z'),
                   st.sampled_from(['com', 'org', 'net', 'example'])).map(lambda t: '{0}@{1}.{2}'.format(*t))
secrets = st.one_of(ipv4s, ipv6s, macs, emails)
# Filler words that cannot form an address with what is next to them.
filler = st.lists(st.sampled_from(['from', 'to', 'user', 'ok', '-', 'port 22', '(x)', 'a,', 'ssh2:', '[pid]']),
                  max_size=3).map(' '.join)


@hsettings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(filler, secrets), min_size=1, max_size=6))
def test_no_secret_survives_and_counts_add_up(parts):
    text = ' '.join('{0} {1}'.format(words, secret) for words, secret in parts)
    out, counts, distinct = one(text)
    for _words, secret in parts:
        assert secret not in out
    assert sum(counts.values()) == len(parts)
    # Every placeholder in the output is counted, numbered from 1 without gaps.
    found = re.findall(r'<(\w+)-(\d+)>', out)
    assert len(found) == len(parts)
    for name in set(n for n, _number in found):
        numbers = sorted(set(int(k) for n, k in found if n == name))
        assert numbers == list(range(1, len(numbers) + 1))
    assert sum(distinct.values()) <= len(parts)


@hsettings(deadline=None, max_examples=200)
@given(secrets, st.lists(filler, min_size=2, max_size=4))
def test_same_secret_same_placeholder(secret, words):
    lines = ['{0} {1}'.format(w, secret) for w in words]
    out, counts, distinct = redact(lines)
    placeholders = set(line.rsplit(' ', 1)[1] for line in out)
    assert len(placeholders) == 1
    assert sum(counts.values()) == len(lines)
    assert sum(distinct.values()) == 1


@hsettings(deadline=None, max_examples=200)
@given(st.text(st.characters(blacklist_categories=('Cs',)), max_size=80))
def test_pure_and_stable(text):
    first = redact([text], hostnames=True, known_hosts=['pve1'])
    assert redact([text], hostnames=True, known_hosts=['pve1']) == first
    # Redacting redacted text changes nothing more: placeholders are never taken for data.
    again = redact(first[0], hostnames=True, known_hosts=['pve1'])
    assert again[0] == first[0]
    assert sum(again[1].values()) == 0


# ============================================================================================ guest configurations
# Secret keys of guest configurations are masked whatever the API returns: PVE answers `**********` for cipassword,
# a fake or a proxy may answer the clear value or the hash.


@pytest.mark.parametrize('value', ['hunter2', '$5$abcd$0123456789abcdef', '**********'])
def test_mask_guest_config_masks_every_secret_value(value):
    config = {'cipassword': value, 'ciuser': 'ops', 'memory': 2048, 'sshkeys': 'ssh-ed25519%20AAAA'}
    masked = mask_guest_config(config)
    assert masked == {'cipassword': GUEST_SECRET_MASK, 'ciuser': 'ops', 'memory': 2048, 'sshkeys': 'ssh-ed25519%20AAAA'}
    assert config['cipassword'] == value, 'the input is not changed'


def test_mask_guest_config_keeps_an_unset_secret_and_what_is_not_a_dict():
    assert mask_guest_config({'cipassword': '', 'name': 'x'}) == {'cipassword': '', 'name': 'x'}
    assert mask_guest_config({}) == {} and mask_guest_config(None) is None
    assert 'cipassword' in GUEST_SECRET_KEYS


@pytest.mark.parametrize('text, expected', [
    ('update VM 100: -cipassword hunter2 -ciuser ops', 'update VM 100: -cipassword <secret-1> -ciuser ops'),
    ('cipassword: $5$salt$hash', 'cipassword: <secret-1>'),
    ('cipassword=hunter2,ciuser=ops', 'cipassword=<secret-1>,ciuser=ops'),
    ('{"cipassword": "hunter2"}', '{"cipassword": "<secret-1>"}'),
    ("qm set 100 --cipassword 'hunter2'", "qm set 100 --cipassword '<secret-1>'"),
    # What PVE already hid stays as it is.
    ('update VM 100: -cipassword <hidden> -ciuser ops', 'update VM 100: -cipassword <hidden> -ciuser ops'),
    ('cipassword: **********', 'cipassword: **********'),
])
def test_guest_secrets_in_log_text(text, expected):
    out, counts, _distinct = one(text)
    assert out == expected
    assert counts['secret'] == expected.count('<secret-')


@pytest.mark.parametrize('text, expected', [
    ('update VM 100: -cipassword hunter2 -ciuser ops from 192.0.2.1',
     'update VM 100: -cipassword ******** -ciuser ops from 192.0.2.1'),
    ('cipassword: <hidden>', 'cipassword: <hidden>'),
    (None, None),
])
def test_guest_secrets_masked_without_redaction(text, expected):
    assert mask_guest_secrets(text) == expected


@hsettings(deadline=None, max_examples=200)
@given(st.from_regex(r'\A[A-Za-z0-9$./+_!?-]{4,24}\Z'), st.sampled_from(['-cipassword ', 'cipassword: ', 'cipassword=']))
def test_no_guest_secret_survives(secret, form):
    text = 'update VM 100: {0}{1} -ciuser ops'.format(form, secret)
    assert one(text)[0] == 'update VM 100: {0}<secret-1> -ciuser ops'.format(form)
    assert mask_guest_secrets(text) == 'update VM 100: {0}{1} -ciuser ops'.format(form, GUEST_SECRET_MASK)
