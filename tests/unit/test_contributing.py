# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CONTRIBUTING.md stays true: the README links to it, every file, module_utils name and link it cites exists, and
the registration it asks of a new module (meta/runtime.yml's action group) holds for every module."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from tests.unit.test_docs import broken_links, strip_code

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / 'CONTRIBUTING.md'
UTILS = 'ansible_collections.proxfleet.proxmox.plugins.module_utils.'
MODULES = 'ansible_collections.proxfleet.proxmox.plugins.modules.'


def text():
    return PAGE.read_text(encoding='utf-8')


def module_names():
    return sorted(p.stem for p in (ROOT / 'plugins' / 'modules').glob('*.py') if p.name != '__init__.py')


def test_the_readme_links_to_it():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert '(CONTRIBUTING.md)' in strip_code(readme)


def test_its_links_resolve():
    assert broken_links(PAGE) == []


def test_the_picture_and_the_table_name_files_that_exist():
    page = text()
    paths = set(re.findall(r'`((?:plugins|tests|docs|meta|changelogs)/[^`\s]+)`', page))
    paths |= set('plugins/' + m for m in re.findall(r'(?<![\w/])(module_utils/\w+\.py)', page))
    paths |= set(re.findall(r'(?<![\w/])((?:plugins|tests)/[\w/]+\.py)', page))
    concrete = sorted(p for p in paths if '<' not in p)
    assert len(concrete) > 15
    missing = [p for p in concrete if not (ROOT / p.rstrip('/')).exists()]
    assert missing == []


def test_the_names_it_cites_exist():
    """`area.name` for a module_utils module, and the engine's classes, are found where the page says."""
    page = text()
    for area, name in sorted(set(re.findall(r'`(firewall|compare|export|resource|tasks|propstring)\.(\w+)', page))):
        assert hasattr(importlib.import_module(UTILS + area), name), (area, name)
    where = {'ProxmoxModule': 'module', 'ConfigResource': 'resource', 'ResourceSpec': 'resource',
             'ProxmoxClient': 'client', 'Deadline': 'tasks', 'ProxmoxError': 'errors', 'ProxmoxConfigError': 'errors'}
    for name, area in where.items():
        assert name in page and hasattr(importlib.import_module(UTILS + area), name), name
    alias = importlib.import_module(MODULES + 'pve_firewall_alias')
    for name in ('spec_for', 'AliasResource', 'run', 'main'):
        assert '`{0}'.format(name) in page and hasattr(alias, name), name
    assert hasattr(importlib.import_module(UTILS + 'module').ProxmoxModule, 'wait_task')


@pytest.mark.parametrize('name', module_names())
def test_every_module_is_in_the_action_group(name):
    runtime = yaml.safe_load((ROOT / 'meta' / 'runtime.yml').read_text(encoding='utf-8'))
    assert name in runtime['action_groups']['proxmox'], (
        'meta/runtime.yml: add {0} to action_groups.proxmox, or module_defaults for '
        'group/proxfleet.proxmox.proxmox do not reach it'.format(name))
