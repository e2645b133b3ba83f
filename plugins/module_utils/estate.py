# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""An estate: every cluster and Backup Server a job may talk to, with their connection options, by name.

One description serves the modules (option `cluster`, with `estate_file` or `estate`), the lookups and the
inventory plugin. Its sections are the inventory plugin's own: `clusters` and `pbs_servers`, each a list of
entries with a `name` (as the inventory file writes them) or a mapping from name to options:

    clusters:
      prod-a:
        api_host: pve1.example.com
        api_token_id: automation@pve!ansible
        api_token_secret: 3f1c...
    pbs_servers:
      - name: pbs1
        api_host: pbs1.example.com
        ...

Nothing here ever puts a secret into a message.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

ESTATE_ENV = 'PROXMOX_ESTATE_FILE'
CONNECTION_KEYS = ('api_host', 'api_port', 'api_user', 'api_password', 'api_token_id', 'api_token_secret',
                   'validate_certs', 'ca_path', 'fingerprint', 'api_timeout')
SECRET_KEYS = ('api_password', 'api_token_secret')
# Which section a service looks its names up in, and what an entry of it is called in messages.
SECTIONS = {'PVE': ('clusters', 'cluster'), 'PBS': ('pbs_servers', 'Backup Server')}
_INT_KEYS = ('api_port', 'api_timeout')
_TRUE = ('1', 'true', 'yes', 'on', 'y', 't')
_FALSE = ('0', 'false', 'no', 'off', 'n', 'f')
VAULT_HEADER = '$ANSIBLE_VAULT;'


class EstateError(ProxmoxConfigError):
    """The estate cannot be read, is malformed, or does not name what was asked for."""


def estate_secrets(data):
    """Every secret value (api_password, api_token_secret) anywhere in raw estate data, to mask in output.

    Walks whatever it is given, well-formed or not, so secrets are masked even when the estate is then refused."""
    found = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in SECRET_KEYS and value is not None and not isinstance(value, (dict, list)):
                    text = str(value)
                    if text:
                        found.add(text)
                        if text.strip() != text and text.strip():
                            found.add(text.strip())
                else:
                    stack.append(value)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def parse_estate_text(text, source):
    """The estate data a file's text holds (JSON, or YAML when PyYAML is there). Messages never quote the text."""
    if text.lstrip().startswith(VAULT_HEADER):
        raise EstateError(
            'estate file {0} is vault-encrypted: a module cannot decrypt it. Give its content with the estate option '
            "(estate: \"{{{{ lookup('ansible.builtin.file', '{0}') | from_yaml }}}}\") or an unencrypted file "
            '(as the AWX estate credential writes)'.format(source))
    try:
        return json.loads(text)
    except ValueError:
        pass
    yaml = _yaml()
    if yaml is None:
        raise EstateError('estate file {0} is not JSON, and reading YAML needs the PyYAML Python package'.format(source))
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as error:
        if '!vault' in str(getattr(error, 'problem', '')):
            raise EstateError(
                'estate file {0} holds vault-encrypted values (!vault): a module cannot decrypt them. Give the '
                'estate with the estate option from a variable (decrypted by Ansible) or an unencrypted file'.format(source)) from None
        raise EstateError('estate file {0} is not valid YAML or JSON{1}'.format(source, _where(error))) from None
    except yaml.YAMLError as error:
        raise EstateError('estate file {0} is not valid YAML or JSON{1}'.format(source, _where(error))) from None


def _yaml():
    """PyYAML, imported when an estate file is not JSON (never on a run without one: its import is a good part of a
    module's start-up); None without it: JSON estates still work and a YAML one says what is missing."""
    try:
        import yaml
    except ImportError:
        return None
    return yaml


def _where(error):
    """' (line L, column C)' of a YAML error: never the snippet PyYAML would quote, which may hold a secret."""
    mark = getattr(error, 'problem_mark', None)
    if mark is None:
        return ''
    return ' (line {0}, column {1})'.format(mark.line + 1, mark.column + 1)


def read_estate_file(path):
    """The raw data of an estate file; EstateError naming the file when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise EstateError('estate file {0} does not exist'.format(path)) from None
    except IsADirectoryError:
        raise EstateError('estate file {0} is a directory'.format(path)) from None
    except OSError as error:
        raise EstateError('estate file {0} cannot be read: {1}'.format(path, error.strerror or error)) from None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise EstateError('estate file {0} is not UTF-8 text'.format(path)) from None
    return parse_estate_text(text, path)


def _bool(value, where):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise EstateError('{0}: validate_certs must be a boolean, got {1!r}'.format(where, value))


def _entry(name, options, where):
    """One entry's options, typed: api_host a list of hosts (tried in order by the inventory), ints, a boolean."""
    if not isinstance(options, dict):
        raise EstateError('{0}: the options of {1!r} must be a mapping'.format(where, name))
    unknown = sorted(str(k) for k in options if k not in CONNECTION_KEYS and k != 'name')
    if unknown:
        raise EstateError('{0} {1!r}: unknown options {2} (known: {3})'.format(
            where, name, ', '.join(unknown), ', '.join(CONNECTION_KEYS)))
    entry: Dict[str, Any] = {}
    for key, value in options.items():
        if key == 'name' or value is None:
            continue
        if key == 'api_host':
            hosts = value if isinstance(value, list) else [value]
            hosts = [str(h).strip() for h in hosts if h is not None and str(h).strip()]
            if hosts:
                entry[key] = hosts
        elif key in _INT_KEYS:
            try:
                entry[key] = int(value)
            except (TypeError, ValueError):
                raise EstateError('{0} {1!r}: {2} must be an integer, got {3!r}'.format(where, name, key, value)) from None
        elif key == 'validate_certs':
            entry[key] = _bool(value, '{0} {1!r}'.format(where, name))
        else:
            entry[key] = str(value)
    if not entry.get('api_host'):
        raise EstateError('{0} {1!r} has no api_host'.format(where, name))
    return entry


def _section(data, section, source):
    value = data.get(section)
    where = '{0} of {1}'.format(section, source)
    if value is None:
        return {}
    if isinstance(value, dict):
        items = [(str(name), options) for name, options in value.items()]
    elif isinstance(value, list):
        items = []
        for options in value:
            if not isinstance(options, dict) or not options.get('name'):
                raise EstateError('{0}: each entry of the list needs a name'.format(where))
            items.append((str(options['name']), options))
    else:
        raise EstateError('{0}: a mapping from names to options, or a list of entries with a name'.format(where))
    entries = {}
    for name, options in items:
        if name in entries:
            raise EstateError('{0}: {1!r} is named twice'.format(where, name))
        entries[name] = _entry(name, options, where)
    return entries


def normalize_estate(data, source):
    """{'clusters': {name: options}, 'pbs_servers': {name: options}} from raw data; EstateError when malformed."""
    if not isinstance(data, dict):
        raise EstateError('estate {0} must be a mapping with clusters and/or pbs_servers'.format(source))
    sections = [s for s, _label in SECTIONS.values()]
    unknown = sorted(str(k) for k in data if k not in sections)
    if unknown:
        raise EstateError('estate {0}: unknown keys {1} (it holds {2})'.format(source, ', '.join(unknown), ' and '.join(sections)))
    estate = dict((section, _section(data, section, source)) for section in sections)
    if not any(estate.values()):
        raise EstateError('estate {0} lists no cluster and no Backup Server'.format(source))
    return estate


def estate_entry(estate, name, service, source):
    """The options of the cluster (PVE) or Backup Server (PBS) called name; EstateError listing the known names."""
    section, label = SECTIONS[service]
    entries = estate.get(section) or {}
    if name in entries:
        return dict(entries[name])
    if entries:
        known = 'it names {0}'.format(', '.join(sorted(entries)))
    else:
        known = 'it has no {0}'.format(section)
    hint = ''
    other_section, other_label = SECTIONS['PBS' if service == 'PVE' else 'PVE']
    if name in (estate.get(other_section) or {}):
        hint = ' ({0!r} is a {1} there)'.format(name, other_label)
    raise EstateError('{0} {1!r} is not in the {2} of estate {3}: {4}{5}'.format(label, name, section, source, known, hint))


def merge_options(entry, given):
    """The estate entry's options overridden by those given explicitly (not None)."""
    merged = dict(entry)
    for key, value in given.items():
        if value is not None:
            merged[key] = value
    return merged
