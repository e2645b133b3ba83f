"""The docs/ pages hold together: every module and plugin has a row in docs/privileges.md, and no page links to a
file or an anchor that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / 'docs'
PRIVILEGES = DOCS / 'privileges.md'

# Directories under plugins/ that hold plugins a user calls (not shared code or documentation fragments).
NOT_PLUGINS = {'module_utils', 'plugin_utils', 'doc_fragments', '__pycache__'}


def plugin_names():
    """(type, name) of every module and plugin in plugins/, e.g. ('modules', 'pve_storage')."""
    found = []
    for kind in sorted(p for p in (ROOT / 'plugins').iterdir() if p.is_dir() and p.name not in NOT_PLUGINS):
        for path in sorted(kind.glob('*.py')):
            if path.name != '__init__.py':
                found.append((kind.name, path.stem))
    return found


def table_rows(text):
    """The first cell of every Markdown table row, with backticks and a trailing '(type)' removed."""
    cells = []
    for line in text.splitlines():
        match = re.match(r'^\|\s*([^|]+?)\s*\|', line)
        if match:
            cell = re.sub(r'\s*\([a-z ]+\)$', '', match.group(1)).strip('` ')
            cells.append(cell.rsplit('.', 1)[-1])
    return cells


def test_plugins_are_found():
    names = plugin_names()
    assert ('modules', 'pve_storage') in names
    assert ('inventory', 'proxmox') in names
    assert ('lookup', 'pve_nextid') in names


def test_table_rows_reads_first_cells():
    text = '| module | reads |\n| --- | --- |\n| `pve_storage` | x |\n| `proxmox` (inventory) | y |\nnot | a row\n'
    assert table_rows(text) == ['module', '---', 'pve_storage', 'proxmox']


@pytest.mark.parametrize('kind, name', plugin_names(), ids=str)
def test_every_plugin_has_a_privileges_row(kind, name):
    rows = table_rows(PRIVILEGES.read_text(encoding='utf-8'))
    assert name in rows, 'docs/privileges.md has no table row for {0} {1}: add one (the privileges and ACL paths ' \
                         'of every API call it makes)'.format(kind, name)


# ------------------------------------------------------------------ links

FENCE = re.compile(r'^(```|~~~).*?^\1[^\n]*$', re.S | re.M)
INLINE_CODE = re.compile(r'`[^`\n]*`')
LINK = re.compile(r'(?<!!)\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|^\s*\[[^\]\n]+\]:\s*(\S+)', re.M)
EXTERNAL = re.compile(r'^[a-z][a-z0-9+.-]*:', re.I)


def strip_code(text):
    return INLINE_CODE.sub('', FENCE.sub('', text))


def github_slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r'`|\*\*|__', '', heading.strip().lower())
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    seen = {}
    out = set()
    for line in FENCE.sub('', path.read_text(encoding='utf-8')).splitlines():
        match = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not match:
            continue
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else '{0}-{1}'.format(slug, count))
    out.update(re.findall(r'<a\s+(?:name|id)="([^"]+)"', path.read_text(encoding='utf-8')))
    return out


def relative_links(path):
    for match in LINK.finditer(strip_code(path.read_text(encoding='utf-8'))):
        target = match.group(1) or match.group(2)
        if not EXTERNAL.match(target):
            yield target


def broken_links(path):
    problems = []
    for target in relative_links(path):
        file_part, fragment = (target.split('#', 1) + [''])[:2]
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append('{0}: no such file or directory'.format(target))
        elif fragment and dest.suffix == '.md' and fragment not in anchors(dest):
            problems.append('{0}: {1} has no heading with that anchor'.format(target, dest.name))
    return problems


def doc_pages():
    return sorted(DOCS.rglob('*.md'))


@pytest.mark.parametrize('page', doc_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_relative_links_resolve(page):
    assert broken_links(page) == []


def test_github_slug():
    assert github_slug('Proxmox Backup Server roles') == 'proxmox-backup-server-roles'
    assert github_slug('TLS: `ca_path` and pinning') == 'tls-ca_path-and-pinning'
    assert github_slug('Read-only: inventory, facts') == 'read-only-inventory-facts'


def test_broken_links_are_found(tmp_path):
    (tmp_path / 'a.md').write_text('# Title\n\n## Second part\n', encoding='utf-8')
    page = tmp_path / 'b.md'
    page.write_text('[ok](a.md) [ok](a.md#second-part) [ok](#here) [web](https://example.com/x.md)\n'
                    '`[code](missing.md)`\n\n```\n[fenced](missing.md)\n```\n\n'
                    '# Here\n[gone](missing.md) [bad](a.md#nope) ![img](gone.png)\n[ref]: nothere.md\n',
                    encoding='utf-8')
    assert broken_links(page) == ['missing.md: no such file or directory',
                                  'a.md#nope: a.md has no heading with that anchor',
                                  'nothere.md: no such file or directory']
