# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's parameter specs against the official PBS 4.x API schema, when it is at hand.

The schema is reference data outside this repository (../shared/api-schema/pbs-api.json from the repository root,
AGPL-3.0, never copied here); without it these comparisons skip. A difference in parameter names, types, enums,
required fields or integer bounds fails.
"""

import json
import os

import pytest

from tests.lab.pbs import specs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMA = os.path.join(REPO, '..', 'shared', 'api-schema', 'pbs-api.json')


@pytest.fixture(scope='module')
def official():
    if not os.path.exists(SCHEMA):
        pytest.skip('the official PBS schema is not at {0}'.format(os.path.normpath(SCHEMA)))
    with open(SCHEMA, encoding='utf-8') as handle:
        return json.load(handle)['paths']


def _describe(param):
    """The comparable facts of one fake Param."""
    out = {'type': param.type, 'optional': param.optional, 'enum': sorted(param.enum) if param.enum else None}
    if param.type == 'integer':
        out['minimum'], out['maximum'] = param.minimum, param.maximum
    if param.type == 'array':
        out['items'] = _describe(param.items)
        del out['items']['optional']
    return out


def _describe_official(schema, item=False):
    out = {'type': schema.get('type'), 'enum': sorted(schema['enum']) if schema.get('enum') else None}
    if not item:
        out['optional'] = bool(schema.get('optional'))
    if out['type'] == 'integer':
        out['minimum'], out['maximum'] = schema.get('minimum'), schema.get('maximum')
    if out['type'] == 'array':
        out['items'] = _describe_official(schema.get('items') or {}, item=True)
    return out


@pytest.mark.parametrize('method, path', sorted(specs.SPECS))
def test_spec_matches_the_official_schema(official, method, path):
    assert path in official, 'PBS has no path {0}'.format(path)
    assert method in official[path], 'PBS has no {0} {1}'.format(method, path)
    properties = official[path][method].get('parameters', {}).get('properties', {})
    ours = specs.SPECS[(method, path)]
    assert sorted(ours) == sorted(properties), 'parameter names of {0} {1}'.format(method, path)
    for name, param in ours.items():
        assert _describe(param) == _describe_official(properties[name]), '{0} {1}: {2}'.format(method, path, name)


def test_every_fake_route_has_a_spec():
    from tests.lab.pbs.server import FakePbs
    routes = set((method, template) for method, template, _p, _n, _s, _h in FakePbs()._routes)
    assert routes == set(specs.SPECS)


@pytest.mark.parametrize('value, ok', [
    ('daily', True), ('hourly', True), ('mon..fri 02:30', True), ('*:0/15', True), ('sat *-*-1..7 03:00', True),
    ('2:00', True), ('whenever', False), ('', False), ('daily; rm -rf', False),
])
def test_calendar_event_check(value, ok):
    values, errors = specs.check({'schedule': specs.CALENDAR}, {'schedule': value})
    assert (not errors) is ok
