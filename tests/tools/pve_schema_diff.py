#!/usr/bin/env python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Developer aid: what PVE 8.4's API schema and fakepve's PVE 9 schema differ in, for writes.

usage: python tests/tools/pve_schema_diff.py [PVE_8.4_APIDOC_JSON]
(default: ../shared/api-schema/pve-8.4-apidoc.json beside the checkout, or $PROXFLEET_PVE84_SCHEMA).
Prints the paths one release has and the other not, then per write method the parameters and property-string
keys only one of them has. plugins/module_utils/versions.py's GATED table is chosen from this by hand: only keys
our modules can send. Nothing is written; the schemas stay where they are.
"""

from __future__ import annotations

import gzip
import json
import os
import pkgutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.lab.areas import schema84  # noqa: E402 - after the path is set


def _props(paths, path, method):
    return ((paths[path].get(method) or {}).get('parameters') or {}).get('properties') or {}


def diff(old, new):
    """Lines describing what `old` ({path: {METHOD: info}}, 8.4) and `new` (9) differ in, for writes."""
    lines = ['paths only in 9: ' + ', '.join(sorted(set(new) - set(old))),
             'paths only in 8.4: ' + ', '.join(sorted(set(old) - set(new)))]
    for path in sorted(set(old) & set(new)):
        for method in ('POST', 'PUT', 'DELETE'):
            if method not in old[path] or method not in new[path]:
                if method in old[path] or method in new[path]:
                    lines.append('{0} {1}: only in {2}'.format(method, path, '8.4' if method in old[path] else '9'))
                continue
            a, b = _props(old, path, method), _props(new, path, method)
            only9, only8 = sorted(set(b) - set(a)), sorted(set(a) - set(b))
            if only9 or only8:
                lines.append('{0} {1}: 9 only {2}, 8.4 only {3}'.format(method, path, only9, only8))
            for key in sorted(set(a) & set(b)):
                fa, fb = a[key].get('format'), b[key].get('format')
                if isinstance(fa, dict) and isinstance(fb, dict) and set(fa) != set(fb):
                    lines.append('{0} {1} {2}: keys 9 only {3}, 8.4 only {4}'.format(
                        method, path, key, sorted(set(fb) - set(fa)), sorted(set(fa) - set(fb))))
    return lines


def main(argv):
    path = argv[1] if len(argv) > 1 else schema84.schema_path()
    if not os.path.exists(path):
        sys.stderr.write('the PVE 8.4 schema is not at {0}\n'.format(path))
        return 2
    with open(path, encoding='utf-8') as handle:
        old = schema84.flatten(json.load(handle))
    new = json.loads(gzip.decompress(pkgutil.get_data('fakepve', 'data/pve-api.json.gz')))['paths']
    sys.stdout.write('\n'.join(diff(old, new)) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
