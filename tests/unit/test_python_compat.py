# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module-side code (plugins/) parses with the Python 3.8 grammar, the oldest module-host Python the README names.

This is the grammar only (ast's feature_version: no match statements, no parenthesised context managers, ...): the
tests run the modules on Python 3.11 alone, which is why the README's support matrix promises 3.11 and no more.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
OLDEST = (3, 8)
SOURCES = sorted(ROOT.joinpath('plugins').rglob('*.py'))


def parses(source, version=OLDEST):
    try:
        ast.parse(source, feature_version=version)
    except SyntaxError as error:
        return error
    return None


def test_the_check_catches_newer_grammar():
    assert parses('match x:\n    case 1:\n        pass\n') is not None
    assert parses('with (open(a) as b, open(c) as d):\n    pass\n') is not None
    assert parses('x = [y := 1, y ** 2]\n') is None


@pytest.mark.parametrize('path', SOURCES, ids=[str(path.relative_to(ROOT)) for path in SOURCES])
def test_plugins_parse_with_python_3_8(path):
    assert SOURCES
    error = parses(path.read_text(encoding='utf-8'))
    assert error is None, '{0}: {1}'.format(path.relative_to(ROOT), error)
