# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox property strings, lists, sizes and booleans: the one place they are parsed and formatted.

A property string is `key=value` pairs joined by commas, where the first item may be a bare value for the
format's default key: `local-lvm:vm-100-disk-0,size=32G` is {'file': 'local-lvm:vm-100-disk-0', 'size': '32G'}
with default key 'file'. Values that contain a comma or a quote are double-quoted with backslash escapes, as
PVE's own formatter writes them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

SIZE_UNITS = {'': 1, 'B': 1, 'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4, 'P': 1024 ** 5}
_SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(?:([KMGTP])(?:i?B)?|(B))?\s*$', re.IGNORECASE)
_TRUE = ('1', 'yes', 'on', 'true')
_FALSE = ('0', 'no', 'off', 'false')


class PropertyStringError(ValueError):
    """A property string, size or boolean that cannot be read."""


def _split_items(text):
    """Split on commas outside double quotes; quotes and escapes are kept for _unquote."""
    items, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == '\\' and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == ',' and not quoted:
            items.append(''.join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise PropertyStringError('unbalanced double quote in property string {0!r}'.format(text))
    items.append(''.join(current))
    return items


def _unquote(value):
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r'\\(.)', r'\1', value[1:-1])
    return value


def _quote(value, bare_default=False):
    # A bare default-key value must not read back as key=value, nor vanish when empty.
    looks_like_key = bare_default and (value == '' or re.match(r'^[A-Za-z][A-Za-z0-9_.-]*=', value))
    if looks_like_key or any(c in value for c in ',"\\') or value != value.strip():
        return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'
    return value


def parse(text, default_key=None):
    """A property string -> dict (in the string's order); values stay strings.

    A bare item is the value of default_key; with no default key it is an error, as in PVE.
    """
    if text is None:
        return {}
    if isinstance(text, dict):
        return dict((str(k), stringify(v)) for k, v in text.items() if v is not None)
    result = {}
    for raw in _split_items(str(text)):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = item.partition('=')
        if sep and re.match(r'^[A-Za-z][A-Za-z0-9_.-]*$', key):
            name = key
        elif default_key is not None and default_key not in result:
            name, value = default_key, item
        else:
            raise PropertyStringError('cannot read {0!r} in property string {1!r}: expected key=value'.format(item, text))
        if name in result:
            raise PropertyStringError('duplicate key {0!r} in property string {1!r}'.format(name, text))
        result[name] = _unquote(value)
    return result


def stringify(value):
    """A value as it appears inside a property string: booleans as 1/0, numbers without trailing zeros."""
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ';'.join(stringify(v) for v in value)
    return str(value)


def render(props, default_key=None, order=None):
    """dict -> property string. The default key's value goes first, bare; then `order`, then the rest sorted."""
    props = dict((k, v) for k, v in props.items() if v is not None)
    parts = []
    if default_key is not None and default_key in props:
        parts.append(_quote(stringify(props.pop(default_key)), bare_default=True))
    keys = [k for k in (order or ()) if k in props] + sorted(k for k in props if k not in (order or ()))
    for key in keys:
        parts.append('{0}={1}'.format(key, _quote(stringify(props[key]))))
    return ','.join(parts)


def split_list(text, separators=',; '):
    """PVE's list formats: items separated by any of `separators` (and white space); empty items dropped."""
    if text is None:
        return []
    if isinstance(text, (list, tuple, set)):
        return [str(item).strip() for item in text if str(item).strip()]
    pattern = '[' + re.escape(separators) + r'\s]+'
    return [item for item in re.split(pattern, str(text)) if item]


def join_list(items, separator=','):
    return separator.join(str(item) for item in items)


def parse_size(value, default_unit=''):
    """'32G', '512M', '1.5T', 2048 -> bytes. A bare number is in default_unit (PVE: bytes for disks, MiB for memory)."""
    if isinstance(value, bool):
        raise PropertyStringError('not a size: {0!r}'.format(value))
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value) or value < 0:
            raise PropertyStringError('not a size: {0!r} (a size is a finite number, 0 or more)'.format(value))
        return int(Decimal(str(value)) * SIZE_UNITS[default_unit.upper()])
    found = _SIZE_RE.match(str(value))
    if not found:
        raise PropertyStringError('not a size: {0!r} (a number with an optional unit K, M, G, T)'.format(value))
    if found.group(3):
        unit = 'B'
    else:
        unit = (found.group(2) or default_unit).upper()
    # Decimal, not float: a size in bytes must stay exact however large.
    return int(Decimal(found.group(1)) * SIZE_UNITS[unit])


def format_size(num_bytes):
    """bytes -> the shortest exact PVE form: 34359738368 -> '32G', 1536 -> '1536' ... never rounded."""
    num_bytes = int(num_bytes)
    for unit in ('T', 'G', 'M', 'K'):
        factor = SIZE_UNITS[unit]
        if num_bytes and num_bytes % factor == 0:
            return '{0}{1}'.format(num_bytes // factor, unit)
    return str(num_bytes)


def to_bool(value):
    """PVE's boolean spellings -> bool (1/0, yes/no, on/off, true/false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise PropertyStringError('not a boolean: {0!r}'.format(value))


def pve_bool(value):
    """bool-ish -> 1 or 0, as PVE stores it."""
    return 1 if to_bool(value) else 0
