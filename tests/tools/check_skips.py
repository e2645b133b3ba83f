#!/usr/bin/env python
"""List the skipped tests of a pytest JUnit report and fail on any skip the allow-list does not allow.

usage: check_skips.py ALLOWED_SKIPS_FILE JUNIT_XML...
The allow-list holds one Python regular expression a line (blank lines and lines starting with # are ignored),
searched in each skip's message. Exits 1 when a skip matches none of them, 0 otherwise. xfail is not a skip here.
"""

from __future__ import annotations

import ast
import re
import sys
import xml.etree.ElementTree as ET


def allowed_patterns(path: str) -> list[re.Pattern[str]]:
    with open(path, encoding='utf-8') as handle:
        return [re.compile(line.strip()) for line in handle if line.strip() and not line.lstrip().startswith('#')]


def collection_reason(text: str) -> str:
    """The reason of a whole module skipped at collection: pytest writes ('path', line, 'Skipped: reason')."""
    try:
        where = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        where = None
    if isinstance(where, tuple) and where and isinstance(where[-1], str):
        text = where[-1]
    return re.sub(r'^Skipped: ', '', text)


def skips(report: str) -> list[tuple[str, str]]:
    """(test id, message) of every skipped test in one JUnit report."""
    found = []
    for case in ET.parse(report).getroot().iter('testcase'):
        for skipped in case.findall('skipped'):
            if skipped.get('type') == 'pytest.xfail':
                continue
            message = skipped.get('message') or ''
            if not message or message == 'collection skipped':
                message = collection_reason((skipped.text or '').strip())
            test = '::'.join(part for part in (case.get('classname'), case.get('name')) if part)
            found.append((test, message))
    return found


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    patterns = allowed_patterns(argv[0])
    refused = 0
    for report in argv[1:]:
        for test, message in skips(report):
            ok = any(pattern.search(message) for pattern in patterns)
            refused += not ok
            print('check_skips: %s skip: %s: %s' % ('allowed' if ok else 'REFUSED', test, message),
                  file=sys.stdout if ok else sys.stderr)
    if refused:
        print('check_skips: %d test(s) skipped for a reason tests/tools/allowed_skips.txt does not allow: make the'
              ' test run (install what it needs: tests/tools/ensure_tools.sh) or fail' % refused, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
