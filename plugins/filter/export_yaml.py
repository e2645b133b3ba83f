# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: export_yaml
short_description: A vars file's YAML text for data read from Proxmox VE, never templated when loaded
version_added: 0.1.0
description:
  - Dumps data (an export of M(proxfleet.proxmox.pve_export)) as the text of a vars file, in block style.
  - A value read from Proxmox VE may hold C({{), C({%) or C({#) - a backup job's notes template such as
    C({{guestname}}) does. Such strings are written with the C(!unsafe) tag, so that M(ansible.builtin.include_vars)
    and C(vars_files) load them as they are instead of templating them.
author:
  - proxfleet developers (@proxfleet)
options:
  _input:
    description: The data to dump (dicts, lists, strings, numbers, booleans, null).
    type: raw
    required: true
  header:
    description: A comment put at the top of the file (each line prefixed with C(# )).
    type: str
'''

EXAMPLES = r'''
- name: Write the storages of an export as a vars file
  ansible.builtin.copy:
    content: "{{ {'pve_storage': exported.export.pve_storage} | proxfleet.proxmox.export_yaml(header='exported') }}"
    dest: export/storage.yml
    mode: "0600"
'''

RETURN = r'''
_value:
  description: The YAML text.
  type: str
'''

from collections.abc import Mapping, Sequence

import yaml
from ansible.errors import AnsibleFilterError

_MARKERS = ('{{', '{%', '{#')


def plain(data):
    """Data as plain Python types (Ansible's tagged or unsafe strings and numbers become str and int)."""
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, str):
        return str.__str__(data)
    if isinstance(data, int):
        return int(data)
    if isinstance(data, float):
        return float(data)
    if isinstance(data, Mapping):
        return dict((plain(key), plain(value)) for key, value in data.items())
    if isinstance(data, Sequence):
        return [plain(item) for item in data]
    raise AnsibleFilterError('export_yaml: cannot write a value of type {0}'.format(type(data).__name__))


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key (as yamllint's default wants)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_str(dumper, value):
    if any(marker in value for marker in _MARKERS):
        return dumper.represent_scalar('!unsafe', value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def export_yaml(data, header=None):
    text = yaml.dump(plain(data), Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=120, explicit_start=True)
    if header:
        comment = ''.join('# {0}\n'.format(line).replace('# \n', '#\n') for line in str(header).splitlines())
        text = text.replace('---\n', '---\n' + comment, 1)
    return text


class FilterModule(object):
    def filters(self):
        return {'export_yaml': export_yaml}
