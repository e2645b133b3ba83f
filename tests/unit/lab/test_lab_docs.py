# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/lab.md lists every area mixed into LabPve, and nothing else; tests/lab/areas exports no area."""

import os
import re

from fakepve import FakePve

import tests.lab.areas
from tests.lab.pve import LabPve

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'docs', 'lab.md')
# A row of the areas table: | `module` (`Class`) | what it models | known gaps |
ROW = re.compile(r'^\| `(\w+)` \(`(\w+)`\) \|([^|]|\\\|)+\|([^|]|\\\|)+\|$')


def _rows():
    with open(DOC, encoding='utf-8') as handle:
        text = handle.read()
    section = text.split("## What the lab's areas add", 1)[1].split('\n## ', 1)[0]
    return [ROW.match(line) for line in section.splitlines() if line.startswith('| `')]


def _mixins():
    return [base for base in LabPve.__bases__ if base is not FakePve]


def test_every_mixin_of_labpve_has_a_row_and_every_row_a_mixin():
    rows = _rows()
    assert None not in rows, 'a row of the areas table is not | `module` (`Class`) | models | gaps |'
    documented = dict((row.group(2), row.group(1)) for row in rows)
    mixed_in = dict((cls.__name__, cls.__module__.rsplit('.', 1)[-1]) for cls in _mixins())
    assert sorted(set(mixed_in) - set(documented)) == [], 'LabPve mixes these in; docs/lab.md does not list them'
    assert sorted(set(documented) - set(mixed_in)) == [], 'docs/lab.md lists these; LabPve does not mix them in'
    assert documented == mixed_in, 'a row names the wrong module'
    assert len(rows) == len(documented), 'a mixin has two rows'


def test_the_areas_package_exports_no_area():
    exported = [name for name, value in vars(tests.lab.areas).items() if isinstance(value, type)]
    assert exported == [] and not hasattr(tests.lab.areas, 'AREAS')
