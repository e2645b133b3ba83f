# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/compare.py: canonical forms, what is sent, deleted and shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import compare as cmp
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import (
    ABSENT,
    MASK,
    Field,
    assert_mutable,
    compare,
)
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import stringify

DISK = Field('scsi0', normalize=cmp._props('file', {'size': cmp._size()}))

FIELDS = [
    Field('comment'),
    Field('cores', kind='int'),
    Field('onboot', kind='bool'),
    Field('tags', kind='set', separator=';'),
    Field('boot_order', api_name='boot', kind='list', separator=';'),
    Field('size', kind='size'),
    Field('max_files', kind='int'),
    DISK,
    Field('password', write_only=True),
    Field('storage', create_only=True),
    Field('fingerprint', secret=True),
]
BY_NAME = dict((f.name, f) for f in FIELDS)

CURRENT = {
    'comment': 'web server', 'cores': 2, 'onboot': 1, 'tags': 'prod;web', 'boot': 'scsi0;net0', 'size': '32G',
    'max-files': '5', 'scsi0': 'local-lvm:vm-100-disk-0,size=32G,cache=none', 'storage': 'local-lvm',
    'fingerprint': 'AA:BB', 'digest': '0123abcd', 'vmgenid': 'c0ffee', 'name': 'web1',
}


# ==================================================================================== normalisers


@pytest.mark.parametrize('kind, left, right', [
    ('int', 1, '1'),
    ('int', '4', 4.0),
    ('int', True, 1),
    ('bool', True, '1'),
    ('bool', 1, 'yes'),
    ('bool', False, 'off'),
    ('bool', 0, '0'),
    ('set', 'b;a', ['a', 'b']),
    ('set', 'a,b', 'b a'),
    ('set', 'a; b ,a', ('b', 'a')),
    ('set', '', []),
    ('list', 'a,b', ['a', 'b']),
    ('size', '32G', '32768M'),
    ('size', '32G', 34359738368),
    ('size', '1T', '1024G'),
    ('size', '1.5G', '1536M'),
    ('str', ' x ', 'x'),
    ('str', 5, '5'),
    ('str', True, '1'),
])
def test_normalisers_equal(kind, left, right):
    field = Field('f', kind=kind)
    assert field.canonical(left) == field.canonical(right)


@pytest.mark.parametrize('kind, left, right', [
    ('int', 1, '2'),
    ('bool', True, '0'),
    ('set', 'a;b', 'a;b;c'),
    ('list', 'a,b', 'b,a'),
    ('size', '32G', '32769M'),
    ('str', 'x', 'X'),
    ('raw', {'a': 1}, 'a=1'),
])
def test_normalisers_differ(kind, left, right):
    field = Field('f', kind=kind)
    assert field.canonical(left) != field.canonical(right)


def test_unreadable_values_fall_back_to_text():
    assert Field('f', kind='int').canonical('abc') == 'abc'
    assert Field('f', kind='bool').canonical('maybe') == 'maybe'
    assert Field('f', kind='size').canonical(' lots ') == 'lots'
    assert Field('f', kind='int').canonical(None) is None


def test_property_strings_compare_key_by_key():
    assert DISK.canonical('size=32G,cache=none,local-lvm:vm-100-disk-0') == DISK.canonical(
        'local-lvm:vm-100-disk-0,cache=none,size=32768M')
    assert DISK.canonical({'file': 'local-lvm:vm-100-disk-0', 'size': 34359738368, 'cache': 'none'}) == DISK.canonical(
        'local-lvm:vm-100-disk-0,size=32G,cache=none')
    assert DISK.canonical('local-lvm:vm-100-disk-0,size=32G') != DISK.canonical('local-lvm:vm-100-disk-0,size=32G,ssd=1')


item = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=',;'), min_size=1, max_size=6)


@hsettings(deadline=None)
@given(st.lists(item, min_size=0, max_size=6), st.randoms(use_true_random=False), st.sampled_from([',', ';', ' ', ', ', ' ; ']))
def test_sets_equal_in_any_order_and_separator(items, rnd, separator):
    field = Field('tags', kind='set')
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert field.canonical(separator.join(shuffled)) == field.canonical(items) == field.canonical(set(items))


@hsettings(deadline=None)
@given(st.integers(0, 2 ** 30), st.sampled_from(['K', 'M', 'G']))
def test_sizes_equal_across_units(n, unit):
    field = Field('size', kind='size')
    factor = {'K': 1, 'M': 1024, 'G': 1024 ** 2}[unit]
    assert field.canonical('{0}{1}'.format(n, unit)) == field.canonical('{0}K'.format(n * factor)) == n * factor * 1024


def test_api_name_and_defaults():
    assert Field('max_files').api_name == 'max-files'
    assert Field('boot_order', api_name='boot').api_name == 'boot'
    assert Field('password', write_only=True).secret is True
    assert Field('x').shown(None) is None
    assert Field('x', secret=True).shown('s3cret') == MASK


# ========================================================================================== compare


def test_same_state_is_no_change():
    desired = {'comment': 'web server ', 'cores': '2', 'onboot': True, 'tags': ['web', 'prod'], 'boot_order': 'scsi0;net0',
               'size': '32768M', 'max_files': 5, 'scsi0': 'cache=none,size=32G,local-lvm:vm-100-disk-0', 'storage': 'local-lvm',
               'fingerprint': 'AA:BB'}
    changes = compare(FIELDS, desired, CURRENT)
    assert not changes.changed
    assert (changes.params, changes.delete, changes.immutable) == ({}, [], [])
    assert changes.before == changes.after
    # Only the managed keys, by option name, secrets masked.
    assert set(changes.before) == set(desired)
    assert changes.before['fingerprint'] == MASK


def test_changes_are_sent_in_the_api_form():
    desired = {'cores': 4, 'onboot': False, 'tags': ['web', 'db', 'prod'], 'boot_order': ['net0', 'scsi0'],
               'size': '64G', 'max_files': '7', 'scsi0': {'file': 'local-lvm:vm-100-disk-0', 'size': '64G'}}
    changes = compare(FIELDS, desired, CURRENT)
    assert changes.changed
    assert changes.params == {'cores': 4, 'onboot': 0, 'tags': 'db;prod;web', 'boot': 'net0;scsi0', 'size': '64G',
                              'max-files': '7', 'scsi0': 'file=local-lvm:vm-100-disk-0,size=64G'}
    assert changes.delete == []
    assert changes.before == {'cores': 2, 'onboot': True, 'tags': ['prod', 'web'], 'boot_order': ['scsi0', 'net0'],
                              'size': 32 * 1024 ** 3, 'max_files': 5,
                              'scsi0': {'file': 'local-lvm:vm-100-disk-0', 'size': 32 * 1024 ** 3, 'cache': 'none'}}
    assert changes.after['tags'] == ['db', 'prod', 'web'] and changes.after['onboot'] is False
    assert changes.diff() == {'before': changes.before, 'after': changes.after}


def test_only_changed_fields_are_sent():
    changes = compare(FIELDS, {'cores': 2, 'comment': 'new'}, CURRENT)
    assert changes.params == {'comment': 'new'}
    assert changes.before == {'cores': 2, 'comment': 'web server'}
    assert changes.after == {'cores': 2, 'comment': 'new'}


def test_unmanaged_options_are_left_alone():
    changes = compare(FIELDS, {'cores': None, 'comment': None}, CURRENT)
    assert not changes.changed and changes.before == {} and changes.after == {}


def test_absent_deletes_only_what_is_present():
    changes = compare(FIELDS, {'comment': ABSENT, 'max_files': ABSENT, 'boot_order': ABSENT}, {'comment': 'x', 'boot': 'net0'})
    assert changes.delete == ['comment', 'boot']
    assert changes.params == {}
    assert changes.before == {'comment': 'x', 'boot_order': ['net0']}
    assert changes.after == {}
    assert changes.changed
    again = compare(FIELDS, {'comment': ABSENT, 'max_files': ABSENT, 'boot_order': ABSENT}, {})
    assert not again.changed and again.delete == [] and again.before == {} and again.after == {}
    assert repr(ABSENT) == 'ABSENT'


def test_absent_secret_is_masked_in_before():
    changes = compare(FIELDS, {'fingerprint': ABSENT}, CURRENT)
    assert changes.delete == ['fingerprint'] and changes.before == {'fingerprint': MASK}


def test_write_only_on_create():
    changes = compare(FIELDS, {'password': 'hunter2-secret', 'comment': 'c'}, None, creating=True)
    assert changes.params == {'password': 'hunter2-secret', 'comment': 'c'}
    assert changes.after == {'password': MASK, 'comment': 'c'}
    assert changes.before == {}


def test_write_only_not_compared_on_update():
    changes = compare(FIELDS, {'password': 'hunter2-secret'}, CURRENT)
    assert not changes.changed
    assert changes.params == {} and changes.before == {} and changes.after == {}


def test_write_only_sent_with_send_secrets():
    changes = compare(FIELDS, {'password': 'hunter2-secret'}, CURRENT, send_secrets=True)
    assert changes.changed
    assert changes.params == {'password': 'hunter2-secret'}
    assert changes.before == {'password': MASK} and changes.after == {'password': MASK}
    assert 'hunter2-secret' not in repr(changes.diff())


def test_secret_compared_but_masked():
    changes = compare(FIELDS, {'fingerprint': 'CC:DD'}, CURRENT)
    assert changes.params == {'fingerprint': 'CC:DD'}
    assert changes.before == {'fingerprint': MASK} and changes.after == {'fingerprint': MASK}


def test_creating_sends_everything_given():
    desired = {'cores': '2', 'onboot': 'yes', 'tags': 'b;a', 'storage': 'local-lvm', 'comment': ABSENT}
    changes = compare(FIELDS, desired, None, creating=True)
    assert changes.params == {'cores': '2', 'onboot': 1, 'tags': 'b;a', 'storage': 'local-lvm'}
    assert changes.delete == [] and changes.immutable == []
    assert changes.before == {}
    assert changes.after == {'cores': 2, 'onboot': True, 'tags': ['a', 'b'], 'storage': 'local-lvm'}


def test_create_only_change_is_refused_before_any_write():
    changes = compare(FIELDS, {'storage': 'ceph-pool', 'cores': 8}, CURRENT)
    assert changes.immutable == [('storage', 'local-lvm', 'ceph-pool')]
    assert 'storage' not in changes.params and changes.params == {'cores': 8}
    with pytest.raises(ProxmoxConfigError) as info:
        assert_mutable(changes, "vm 'web1'")
    message = str(info.value)
    assert message.startswith("vm 'web1': these options can only be set on creation: storage is 'local-lvm', asked 'ceph-pool'")
    assert 'Remove and recreate it' in message


def test_create_only_same_value_is_fine():
    changes = compare(FIELDS, {'storage': ' local-lvm'}, CURRENT)
    assert changes.immutable == [] and not changes.changed
    assert_mutable(changes, 'vm 100')


def test_create_only_secret_not_shown_in_the_error():
    # Regression: assert_mutable used to show both values with repr, also for a secret field.
    fields = [Field('encryption_key', secret=True, create_only=True)]
    changes = compare(fields, {'encryption_key': 'new-key-material'}, {'encryption-key': 'old-key-material'})
    with pytest.raises(ProxmoxConfigError) as info:
        assert_mutable(changes, "datastore 'store1'")
    assert 'new-key-material' not in str(info.value) and 'old-key-material' not in str(info.value)


def test_list_field_with_its_own_separator_is_idempotent():
    # Regression: kind='list' used to normalise with ',' whatever the separator, so a ';' list sent as 'a;b' read
    # back as ['a;b'] and never compared equal (found by test_idempotence_property).
    fields = [Field('boot_order', api_name='boot', kind='list', separator=';')]
    first = compare(fields, {'boot_order': ['scsi0', 'net0']}, {'boot': 'net0'})
    assert first.params == {'boot': 'scsi0;net0'}
    assert not compare(fields, {'boot_order': ['scsi0', 'net0']}, {'boot': 'scsi0;net0'}).changed


def test_same_input_twice_is_no_change_after_a_real_write():
    desired = {'cores': 4, 'onboot': True, 'tags': ['web', 'db'], 'size': '64G', 'comment': 'x', 'max_files': ABSENT,
               'scsi0': {'file': 'local-lvm:vm-100-disk-0', 'size': '64G'}, 'password': 's3cret'}
    current = dict(CURRENT)
    first = compare(FIELDS, desired, current)
    assert first.changed
    _apply(current, first)
    second = compare(FIELDS, desired, current)
    assert not second.changed and second.before == second.after


def _apply(current, changes):
    """What PVE does with an update: store the values as text, drop the deleted keys."""
    for key, value in changes.params.items():
        current[key] = stringify(value)
    for key in changes.delete:
        current.pop(key, None)


_words = st.lists(st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=5), max_size=4)
_desired = st.fixed_dictionaries({}, optional={
    'comment': st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12), st.just(ABSENT)),
    'cores': st.one_of(st.integers(1, 512), st.integers(1, 512).map(str)),
    'onboot': st.sampled_from([True, False, 1, 0, 'yes', 'no', 'on', 'off', '1', '0']),
    'tags': st.one_of(_words, _words.map(';'.join), _words.map(', '.join)),
    'boot_order': st.one_of(_words, st.just(ABSENT)),
    'size': st.builds('{0}{1}'.format, st.integers(1, 4096), st.sampled_from(['', 'K', 'M', 'G', 'T'])),
    'max_files': st.one_of(st.integers(0, 100), st.just(ABSENT)),
    'fingerprint': st.text(st.characters(min_codepoint=48, max_codepoint=70), min_size=1, max_size=8),
})


@hsettings(deadline=None)
@given(_desired)
def test_idempotence_property(desired):
    """Whatever the user asks, after the write the same request finds nothing to do."""
    current = dict(CURRENT)
    first = compare(FIELDS, desired, current)
    _apply(current, first)
    second = compare(FIELDS, desired, current)
    assert not second.changed, (first.params, second.params)
    assert set(second.after) <= set(desired) and set(second.before) <= set(desired)
