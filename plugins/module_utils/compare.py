# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Desired versus current state: the one comparison every module uses.

Each managed field declares how its values are made canonical (so `1` and `'1'`, `'b;a'` and `['a', 'b']`,
`'32G'` and `'32768M'` compare equal) and how the desired value is sent. compare() makes one pass and yields the
parameters to send, the keys to delete, and a before/after pair that holds only the managed keys, secrets masked.
"""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


class _Absent(object):
    """The user asks for a key to be removed (sent in PVE's `delete` list)."""

    def __repr__(self):
        return 'ABSENT'


ABSENT = _Absent()


def _text(value):
    return propstring.stringify(value).strip()


def _int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return _text(value)


def _bool(value):
    try:
        return propstring.to_bool(value)
    except ValueError:
        return _text(value)


def _list(separators):
    def normalize(value):
        return propstring.split_list(value, separators)
    return normalize


def _set(separators):
    def normalize(value):
        return sorted(set(propstring.split_list(value, separators)))
    return normalize


def _size(default_unit=''):
    def normalize(value):
        try:
            return propstring.parse_size(value, default_unit)
        except ValueError:
            return _text(value)
    return normalize


def _props(default_key=None, normalizers=None):
    """A property string compared key by key; `normalizers` canonicalise single keys (e.g. size)."""
    def normalize(value):
        parsed = propstring.parse(value, default_key)
        for key, fn in (normalizers or {}).items():
            if key in parsed:
                parsed[key] = fn(parsed[key])
        return parsed
    return normalize


NORMALIZERS = {
    'str': _text,
    'int': _int,
    'bool': _bool,
    'list': _list(','),
    'set': _set(',; '),
    'size': _size(),
    'raw': lambda value: value,
}


def _serialize_default(kind, separator):
    def serialize(value):
        if kind == 'bool':
            return propstring.pve_bool(value)
        if kind in ('list', 'set') and isinstance(value, (list, tuple, set)):
            items = sorted(value) if kind == 'set' else value
            return propstring.join_list(items, separator)
        if isinstance(value, dict):
            return propstring.render(value)
        return value
    return serialize


class Field(object):
    """One managed field of a resource.

    name: the module option; api_name: the key in the API (default: name with _ as -).
    kind: str, int, bool, list, set, size, raw (or give normalize=). secret: masked in diffs and results.
    write_only: the API never returns it (passwords, keys): sent on create, or on update when asked.
    create_only: cannot change after creation; a different value is an error, caught before any write.
    """

    def __init__(self, name, api_name=None, kind='str', normalize=None, serialize=None, secret=False,
                 write_only=False, create_only=False, separator=','):
        self.name = name
        self.api_name = api_name or name.replace('_', '-')
        self.kind = kind
        if normalize is None and kind == 'list':
            # A list compares item by item in the separator it is sent with.
            normalize = _list(separator)
        elif normalize is None and kind == 'set':
            normalize = _set(separator + ',; ')
        self.normalize = normalize or NORMALIZERS[kind]
        self.serialize = serialize or _serialize_default(kind, separator)
        self.secret = secret or write_only
        self.write_only = write_only
        self.create_only = create_only

    def canonical(self, value):
        if value is None:
            return None
        return self.normalize(value)

    def shown(self, value):
        """What a diff or result shows for a value of this field."""
        if value is None:
            return None
        return MASK if self.secret else self.canonical(value)


class Changes(object):
    """What compare() found: params to send, keys to delete, and the before/after of the managed keys."""

    def __init__(self):
        self.params = {}
        self.delete = []
        self.before = {}
        self.after = {}
        self.immutable = []

    @property
    def changed(self):
        return bool(self.params or self.delete)

    def diff(self):
        return {'before': self.before, 'after': self.after}


def compare(fields, desired, current, creating=False, send_secrets=False):
    """One pass over the managed fields.

    desired: option name -> value, holding only what the user gave (None means unmanaged, ABSENT means remove).
    current: the API's view (api_name -> value), or None when the resource does not exist yet.
    send_secrets: write-only fields are sent on update too (update_password: always).
    """
    changes = Changes()
    current = current or {}
    for field in fields:
        want = desired.get(field.name)
        if want is None:
            continue
        have = current.get(field.api_name)
        if want is ABSENT:
            if field.api_name in current:
                changes.delete.append(field.api_name)
                changes.before[field.name] = field.shown(have)
            continue
        if field.write_only:
            if creating or send_secrets:
                changes.params[field.api_name] = field.serialize(want)
                changes.after[field.name] = MASK
                if not creating:
                    changes.before[field.name] = MASK
            continue
        changes.after[field.name] = field.shown(want)
        if not creating:
            changes.before[field.name] = field.shown(have)
        if creating or field.canonical(want) != field.canonical(have):
            if field.create_only and not creating:
                changes.immutable.append((field.name, field.shown(have), field.shown(want)))
                continue
            changes.params[field.api_name] = field.serialize(want)
    return changes


def assert_mutable(changes, label):
    """Fail, before any write, when a create-only field would have to change."""
    if changes.immutable:
        detail = '; '.join('{0} is {1!r}, asked {2!r}'.format(name, have, want) for name, have, want in changes.immutable)
        raise ProxmoxConfigError('{0}: these options can only be set on creation: {1}. Remove and recreate it to change them.'.format(
            label, detail))
