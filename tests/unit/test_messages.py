"""The modules' error messages read as one sentence each: every message template in plugins/ is collected from the
source (the string a `raise ...Error(...)`, a `fail_json(msg=...)` or a refusal is built from) and checked for the
repeats issue 15 found, such as '... VM 100 (web) on node c0n1 is on node c0n1, not nonode'.

The context every module adds in front of a message (target, cluster URL, request) is said once by
ProxmoxError.describe() (tests/unit/plugins/module_utils/test_errors.py); this is the other half: the words a
message itself puts together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / 'plugins'

# Calls whose text reaches the user as (part of) a failure message.
_MESSAGE_CALLS = re.compile(r'(Error|Refused|Locked|Timeout)$|^(fail_json|refuse|fail)$')
# Objects whose describe() already ends with 'on node X': guest_lifecycle.Guest ('VM 100 (web) on node pve1') and
# tasks.Upid ('task qmstart 100 on node pve1 (UPID...)').
_NODE_DESCRIBED = re.compile(r'guest|source|upid|^Guest\(', re.IGNORECASE)


def _call_name(call):
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ''


def _templates(node):
    """(template, [format args]) of the '...'.format(...) strings and plain strings under node."""
    for item in ast.walk(node):
        if (isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) and item.func.attr == 'format'
                and isinstance(item.func.value, ast.Constant) and isinstance(item.func.value.value, str)):
            yield item.func.value.value, list(item.args)


def collect_messages():
    """[(where, template, args)] of every message template in plugins/."""
    found = []
    for path in sorted(PLUGINS.rglob('*.py')):
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not _MESSAGE_CALLS.search(_call_name(call)):
                continue
            parts = list(call.args) + [kw.value for kw in call.keywords if kw.arg in (None, 'msg', 'message')]
            for part in parts:
                for template, args in _templates(part):
                    where = '{0}:{1}'.format(path.relative_to(ROOT), getattr(part, 'lineno', call.lineno))
                    found.append((where, template, args))
    return found


MESSAGES = collect_messages()


def _node_descriptions(args):
    """How many of the format args are describe() calls that say 'on node X' themselves."""
    count = 0
    for arg in args:
        if not (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == 'describe'):
            continue
        if any(kw.arg == 'node' and isinstance(kw.value, ast.Constant) and not kw.value.value for kw in arg.keywords):
            continue
        if _NODE_DESCRIBED.search(ast.unparse(arg.func.value)):
            count += 1
    return count


def test_the_collection_finds_the_messages():
    # A scan that finds nothing would pass every check below.
    assert len(MESSAGES) > 250
    assert any('is on node {1}, not {2}' in template for _where, template, _args in MESSAGES)


@pytest.mark.parametrize('where, template, args', MESSAGES, ids=[m[0] for m in MESSAGES])
def test_a_message_names_the_node_once(where, template, args):
    """A guest's or a task's description already says which node it is on: the sentence does not say it again."""
    said = len(re.findall(r'\bon node\b', template)) + _node_descriptions(args)
    assert said <= 1, '{0}: {1!r} says "on node" {2} times'.format(where, template, said)


@pytest.mark.parametrize('where, template, args', MESSAGES, ids=[m[0] for m in MESSAGES])
def test_a_message_does_not_define_a_word_by_itself(where, template, args):
    """Not "node 'x' is not a node of the cluster", "storage 'x' is not a storage": say what is wrong once."""
    found = re.search(r"\b(\w+) \{[^}]*\}'? is not an? \1\b", template)
    assert found is None, '{0}: {1!r}'.format(where, template)


@pytest.mark.parametrize('where, template, args', MESSAGES, ids=[m[0] for m in MESSAGES])
def test_a_message_gives_each_context_once(where, template, args):
    """The same context phrase ('on node {..}', 'of cluster {..}', 'storage {..}') with two placeholders in one
    sentence reads as a repeat: one of them is the target the module already names."""
    phrases = re.findall(r'\b((?:on|of|in) (?:node|cluster|storage|datastore)) \{', template)
    repeated = sorted(set(p for p in phrases if phrases.count(p) > 1))
    assert not repeated, '{0}: {1!r} repeats {2}'.format(where, template, repeated)
