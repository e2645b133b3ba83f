# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/propstring.py: property strings, lists, sizes and booleans (parametrize + hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import (
    SIZE_UNITS,
    PropertyStringError,
    format_size,
    join_list,
    parse,
    parse_size,
    pve_bool,
    render,
    split_list,
    stringify,
    to_bool,
)

KEY_RE = re.compile(r'\A[A-Za-z][A-Za-z0-9_.-]*\Z')

keys = st.from_regex(KEY_RE).filter(lambda k: len(k) <= 12)
# Printable text of any script, with the characters property strings must survive: , " \ = ; and spaces.
values = st.text(st.one_of(st.sampled_from(list(',"\\= ;:\'')),
                           st.characters(blacklist_categories=('Cs', 'Cc', 'Co', 'Cn'))), max_size=16)
props = st.dictionaries(keys, values, max_size=6)


# ===================================================================================== round trips


@hsettings(deadline=None)
@example({'a': 'x,y', 'b': '"quoted"', 'c': 'back\\slash', 'd': 'k=v', 'e': ' padded ', 'f': ''})
@given(props)
def test_round_trip(d):
    text = render(d)
    assert parse(text) == d
    # Canonical: rendering what was parsed gives the same text.
    assert render(parse(text)) == text


def _not_keylike(value):
    """Not a value that looks like key=value, nor empty (those have their own test below)."""
    key, sep, _rest = value.partition('=')
    return value != '' and not (sep and KEY_RE.match(key.strip()))


@hsettings(deadline=None)
@example({'size': '32G'}, 'local-lvm:vm-100-disk-0')
@example({}, 'cephfs:iso/debian 12,netinst.iso')
@given(props, values.filter(_not_keylike))
def test_round_trip_with_default_key(d, file_value):
    assume('file' not in d)
    d = dict(d, file=file_value)
    text = render(d, default_key='file')
    assert parse(text, default_key='file') == d
    # The default key's value comes first, bare (quoted only when it must be).
    assert not text.startswith('file=')


@pytest.mark.parametrize('d', [
    pytest.param({'file': 'a=b'}, id='value-with-key-like-prefix'),
    pytest.param({'file': 'iscsi=lun0', 'size': '4G'}, id='key-like-prefix-with-more'),
    pytest.param({'file': '', 'size': '4G'}, id='empty-default-value'),
])
def test_default_key_value_that_looks_like_a_key(d):
    # Regression (found by the round trip): such a value used to be written bare, and read back as another key or lost.
    assert parse(render(d, default_key='file'), default_key='file') == d


@hsettings(deadline=None)
@given(props)
def test_parse_keeps_the_string_order(d):
    text = ','.join('{0}={1}'.format(k, v) for k, v in d.items() if v and not set(v) & set(',"\\') and v == v.strip())
    assert list(parse(text)) == [k for k, v in d.items() if v and not set(v) & set(',"\\') and v == v.strip()]


# ======================================================================================== examples


@pytest.mark.parametrize('text, default_key, expected', [
    ('local-lvm:vm-100-disk-0,size=32G', 'file', {'file': 'local-lvm:vm-100-disk-0', 'size': '32G'}),
    ('size=32G,local-lvm:vm-100-disk-0', 'file', {'file': 'local-lvm:vm-100-disk-0', 'size': '32G'}),
    ('file=local:iso/x.iso,media=cdrom', 'file', {'file': 'local:iso/x.iso', 'media': 'cdrom'}),
    ('virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1', None, {'virtio': 'BC:24:11:AA:BB:CC', 'bridge': 'vmbr0', 'firewall': '1'}),
    ('name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto', None, {'name': 'eth0', 'bridge': 'vmbr0', 'ip': 'dhcp', 'ip6': 'auto'}),
    ('cmd="a,b",x=1', None, {'cmd': 'a,b', 'x': '1'}),
    ('k="say \\"hi\\"",z=\\n', None, {'k': 'say "hi"', 'z': '\\n'}),
    (' a= 1 ', None, {'a': ' 1'}),
    ('a=1,,b=2,', None, {'a': '1', 'b': '2'}),
    ('', None, {}),
    (None, 'file', {}),
    ('a=', None, {'a': ''}),
    ('opt=x=y', None, {'opt': 'x=y'}),
])
def test_parse_examples(text, default_key, expected):
    assert parse(text, default_key=default_key) == expected


def test_parse_a_dict_gives_strings():
    assert parse({'a': 1, 'b': True, 'c': None, 'd': 2.0, 'e': ['x', 'y'], 7: 'seven'}) == {
        'a': '1', 'b': '1', 'd': '2', 'e': 'x;y', '7': 'seven'}


@pytest.mark.parametrize('text, default_key, words', [
    ('a="unbalanced', None, 'unbalanced double quote'),
    ('"', None, 'unbalanced double quote'),
    ('bare', None, "cannot read 'bare'"),
    ('a=1,bare', None, 'expected key=value'),
    ('a=1,a=2', None, "duplicate key 'a'"),
    ('x,file=y', 'file', "duplicate key 'file'"),
    ('one,two', 'file', "cannot read 'two'"),
    ('1a=b', None, "cannot read '1a=b'"),
])
def test_parse_errors(text, default_key, words):
    with pytest.raises(PropertyStringError) as info:
        parse(text, default_key=default_key)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_render_order_and_values():
    d = {'size': '32G', 'file': 'local-lvm:vm-100-disk-0', 'cache': 'none', 'backup': False, 'iothread': True,
         'ssd': None, 'mbps': 1.0, 'tags': ['a', 'b']}
    assert render(d, default_key='file') == 'local-lvm:vm-100-disk-0,backup=0,cache=none,iothread=1,mbps=1,size=32G,tags=a;b'
    assert render(d, default_key='file', order=['size', 'cache', 'nosuch']) == (
        'local-lvm:vm-100-disk-0,size=32G,cache=none,backup=0,iothread=1,mbps=1,tags=a;b')
    assert render({'file': 'x'}) == 'file=x'
    assert render({}) == ''
    assert render({'a': ' x', 'b': 'y,z', 'c': 'q"r', 'd': 'b\\s'}) == 'a=" x",b="y,z",c="q\\"r",d="b\\\\s"'


@pytest.mark.parametrize('value, text', [
    (True, '1'), (False, '0'), (3, '3'), (2.0, '2'), (2.5, '2.5'), ('x', 'x'), (['a', 1, True], 'a;1;1'), ((), ''),
])
def test_stringify(value, text):
    assert stringify(value) == text


# ============================================================================================ lists


token = st.text(st.characters(blacklist_categories=('Cs', 'Cc', 'Zs', 'Zl', 'Zp'), blacklist_characters=',; '), min_size=1,
                max_size=8).filter(lambda t: t == t.strip() and not re.search(r'\s', t))


@hsettings(deadline=None)
@given(st.lists(token, max_size=8), st.sampled_from([',', ';', ' ', ', ', '; ']))
def test_split_join_round_trip(items, separator):
    assert split_list(join_list(items, separator)) == items


@pytest.mark.parametrize('text, separators, expected', [
    ('a,b;c d', ',; ', ['a', 'b', 'c', 'd']),
    (' a ,, ;b\n\tc ', ',; ', ['a', 'b', 'c']),
    ('a;b', ',', ['a;b']),
    ('a-b]c', '-]', ['a', 'b', 'c']),
    ('', ',; ', []),
    (None, ',; ', []),
    (['a', ' b ', '', '  '], ',; ', ['a', 'b']),
    (('x', 1), ',', ['x', '1']),
])
def test_split_list(text, separators, expected):
    assert split_list(text, separators) == expected


def test_join_list():
    assert join_list(['a', 1, 'b']) == 'a,1,b'
    assert join_list(['a', 'b'], ';') == 'a;b'
    assert join_list([]) == ''


# ============================================================================================ sizes


@pytest.mark.parametrize('text, default_unit, size', [
    ('32G', '', 32 * 1024 ** 3),
    ('32768M', '', 32 * 1024 ** 3),
    ('32GiB', '', 32 * 1024 ** 3),
    ('32GB', '', 32 * 1024 ** 3),
    (' 32 g ', '', 32 * 1024 ** 3),
    ('1.5T', '', 3 * 1024 ** 4 // 2),
    ('0.5K', '', 512),
    ('1P', '', 1024 ** 5),
    ('4096', '', 4096),
    ('512', 'M', 512 * 1024 ** 2),
    ('2G', 'M', 2 * 1024 ** 3),
    (2048, 'M', 2048 * 1024 ** 2),
    (1.5, 'K', 1536),
    (0, '', 0),
    ('0', '', 0),
])
def test_parse_size(text, default_unit, size):
    assert parse_size(text, default_unit) == size
    assert isinstance(parse_size(text, default_unit), int)


@pytest.mark.parametrize('value', ['', 'abc', 'G', '-1G', '1X', '1.2.3G', '1 2G', '1e3', '0x10', True, False, None, '32 GG'])
def test_parse_size_errors(value):
    with pytest.raises(PropertyStringError, match='not a size'):
        parse_size(value)


@pytest.mark.parametrize('value, default_unit, size', [
    pytest.param('512B', 'M', 512, id='explicit-bytes-with-default-unit'),
    pytest.param(str(2 ** 53 + 1), '', 2 ** 53 + 1, id='bytes-beyond-float-precision'),
    pytest.param('%dK' % (2 ** 53 + 1), '', (2 ** 53 + 1) * 1024, id='kib-beyond-float-precision'),
])
def test_parse_size_exactness(value, default_unit, size):
    # Regression: an explicit 'B' used to be swallowed (the default unit applied), and float() lost sizes past 2**53.
    assert parse_size(value, default_unit) == size


@pytest.mark.parametrize('value', [float('inf'), float('nan'), -5, -1.5])
def test_parse_size_rejects_non_finite_and_negative_numbers(value):
    # Regression: inf raised OverflowError, nan a bare ValueError, and negative numbers were accepted.
    with pytest.raises(PropertyStringError):
        parse_size(value)


@pytest.mark.parametrize('size, text', [
    (0, '0'), (1, '1'), (1023, '1023'), (1024, '1K'), (1536, '1536'), (512 * 1024, '512K'), (1024 ** 2, '1M'),
    (32 * 1024 ** 3, '32G'), (34359738368, '32G'), (1536 * 1024 ** 2, '1536M'), (1024 ** 4, '1T'), (1024 ** 5, '1024T'),
])
def test_format_size(size, text):
    assert format_size(size) == text


@hsettings(deadline=None)
@given(st.integers(0, 2 ** 53))
def test_size_round_trip_bytes(n):
    assert parse_size(format_size(n)) == n


@hsettings(deadline=None)
@given(st.integers(0, 2 ** 40), st.sampled_from(['K', 'M', 'G', 'T']))
def test_size_round_trip_units(n, unit):
    """A size in any unit comes back exact, in its shortest form, never rounded."""
    size = n * SIZE_UNITS[unit]
    text = format_size(size)
    assert parse_size(text) == size
    assert parse_size('{0}{1}'.format(n, unit)) == size
    number = re.match(r'\d+', text).group(0)
    # The shortest form: no larger unit divides it.
    assert text == number or int(number) % 1024 != 0 or text.endswith('T')


# ========================================================================================= booleans


@pytest.mark.parametrize('value', [True, 1, '1', 'yes', 'YES', 'on', 'On', 'true', 'True', ' true '])
def test_true_spellings(value):
    assert to_bool(value) is True and pve_bool(value) == 1


@pytest.mark.parametrize('value', [False, 0, '0', 'no', 'No', 'off', 'OFF', 'false', 'False', ' 0 '])
def test_false_spellings(value):
    assert to_bool(value) is False and pve_bool(value) == 0


@pytest.mark.parametrize('value', [2, -1, 'y', 'n', 't', '', 'enabled', None, '01', [], 'truee'])
def test_bool_errors(value):
    with pytest.raises(PropertyStringError, match='not a boolean'):
        to_bool(value)
    with pytest.raises(PropertyStringError):
        pve_bool(value)


@hsettings(deadline=None)
@given(st.sampled_from([True, False, 0, 1, '0', '1', 'yes', 'no', 'on', 'off', 'true', 'false', 'TRUE', 'Off']))
def test_pve_bool_is_canonical(value):
    assert pve_bool(value) in (0, 1)
    assert to_bool(pve_bool(value)) is to_bool(value)
    assert pve_bool(stringify(pve_bool(value))) == pve_bool(value)
