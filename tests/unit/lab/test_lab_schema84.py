# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A PVE 8.4 cluster of the lab checks requests against the PVE 8.4 schema (tests/lab/areas/schema84.py).

The schema is reference data outside this repository (../shared/api-schema/pve-8.4-apidoc.json from the
repository root, or $PROXFLEET_PVE84_SCHEMA); without it these tests skip (tests/tools/allowed_skips.txt).
lab1 runs PVE 9 (fakepve's own schema), lab2 PVE 8.4.
"""

import pytest

from tests.lab.areas import schema84

pytestmark = pytest.mark.lab(clusters=2, nodes=2, guests=4, versions=['9.0.10', '8.4.14'])
NOT_IN_SCHEMA = 'property is not defined in schema and the schema does not allow additional properties'


@pytest.fixture
def pve84(lab_fn):
    if schema84.load() is None:
        pytest.skip('the PVE 8.4 schema is not at {0}'.format(schema84.schema_path()))
    return lab_fn.clusters[0], lab_fn.clusters[1]


def test_flatten_gives_every_path_of_the_tree():
    tree = [{'path': '/a', 'info': {'GET': {'parameters': {}}},
             'children': [{'path': '/a/{id}', 'info': {'PUT': {}}, 'children': []}]}]
    assert schema84.flatten(tree) == {'/a': {'GET': {'parameters': {}}}, '/a/{id}': {'PUT': {}}}


def test_without_the_schema_an_84_cluster_keeps_pve9s(lab_fn, raw, monkeypatch, tmp_path):
    monkeypatch.setenv(schema84.ENV, str(tmp_path / 'absent.json'))
    pve8 = lab_fn.clusters[1]
    assert pve8.pve.api_schema() is None
    # A key only 8.4 has is refused then, as fakepve's PVE 9 schema refuses it.
    status, body = raw(pve8, 'POST', '/cluster/backup', schedule='daily', storage='local', all=1,
                       **{'notification-policy': 'always'})
    assert status == 400 and body['errors'] == {'notification-policy': NOT_IN_SCHEMA}


@pytest.mark.parametrize('path, params, key', [
    ('/nodes/{node}/qemu/{vmid}/config', {'allow-ksm': 0}, 'allow-ksm'),
    ('/storage', {'storage': 'chain', 'type': 'lvm', 'vgname': 'vg0', 'snapshot-as-volume-chain': 1},
     'snapshot-as-volume-chain'),
    ('/cluster/ha/resources', {'sid': 'vm:{vmid}', 'failback': 0}, 'failback'),
    ('/cluster/sdn/zones', {'zone': 'z1', 'type': 'simple', 'lock-token': 'x'}, 'lock-token'),
])
def test_pve9_keys_are_refused_on_84_with_pves_wording(pve84, raw, path, params, key):
    pve9, pve8 = pve84
    for cluster in (pve9, pve8):
        vm = min(cluster.pve.vms, key=lambda v: v.vmid)
        method = 'PUT' if path.endswith('/config') else 'POST'
        values = dict((k, str(v).format(vmid=vm.vmid)) for k, v in params.items())
        status, body = raw(cluster, method, path.format(node=vm.node, vmid=vm.vmid), **values)
        if cluster is pve8:
            assert status == 400, body
            assert body['message'] == 'Parameter verification failed.\n'
            assert body['errors'] == {key: NOT_IN_SCHEMA}
        else:
            assert key not in (body.get('errors') or {}), body


def test_84_only_keys_are_accepted_on_84_and_refused_on_9(pve84, raw, api):
    pve9, pve8 = pve84
    extra = {'notification-policy': 'failure', 'maxfiles': 3}
    status, body = raw(pve9, 'POST', '/cluster/backup', schedule='daily', storage='local', all=1, **extra)
    assert status == 400 and body['errors'] == {'notification-policy': NOT_IN_SCHEMA, 'maxfiles': NOT_IN_SCHEMA}
    status, body = raw(pve8, 'POST', '/cluster/backup', schedule='daily', storage='local', all=1, id='old84',
                       **extra)
    assert status == 200, body
    job = api(pve8).cluster.backup('old84').get()
    assert job['schedule'] == 'daily' and job['notification-policy'] == 'failure' and job['maxfiles'] == 3
    # Values are still checked against 8.4's schema (its enumeration, its minimum).
    status, body = raw(pve8, 'PUT', '/cluster/backup/old84', **{'notification-policy': 'sometimes', 'maxfiles': -1})
    assert status == 400
    assert body['errors'] == {
        'notification-policy': "value 'sometimes' does not have a value in the enumeration 'always, failure, never'",
        'maxfiles': 'value must have a minimum value of 1'}


def test_paths_84_does_not_have_are_not_implemented(pve84, raw):
    pve9, pve8 = pve84
    for path in ('/cluster/ha/rules', '/cluster/bulk-action'):
        status, body = raw(pve8, 'GET', path)
        assert status == 501 and body['message'] == "Method 'GET /api2/json{0}' not implemented\n".format(path)
    status, _body = raw(pve9, 'GET', '/cluster/ha/rules')
    assert status == 200
    status, body = raw(pve8, 'POST', '/cluster/sdn/lock')
    assert status == 501 and body['message'] == "Method 'POST /api2/json/cluster/sdn/lock' not implemented\n"


def test_84_keeps_every_check_the_lab_makes(pve84, api):
    """Handlers still run after 8.4's checks: a good request to an 8.4 cluster does what it does on 9."""
    seen = []
    for cluster in pve84:
        client = api(cluster)
        vm = min(cluster.pve.vms, key=lambda v: v.vmid)
        client.nodes(vm.node).qemu(vm.vmid).config.put(cores=3, description='same')
        config = client.nodes(vm.node).qemu(vm.vmid).config.get()
        seen.append((config['cores'], config['description']))
    assert seen[0] == seen[1] and int(seen[0][0]) == 3
    pve8 = pve84[1]
    client = api(pve8)
    vm = min(pve8.pve.vms, key=lambda v: v.vmid)
    client.cluster.ha.groups.post(group='g84', nodes=vm.node)
    client.cluster.ha.resources.post(sid='vm:{0}'.format(vm.vmid), group='g84')
    assert client.cluster.ha.resources('vm:{0}'.format(vm.vmid)).get()['group'] == 'g84'


def test_the_schema_diff_tool_names_keys_and_paths_one_release_has():
    from tests.tools import pve_schema_diff

    def post(*keys, fmt=None):
        props = dict((k, {'type': 'string'}) for k in keys)
        if fmt:
            props['net[n]'] = {'type': 'string', 'format': dict((k, {}) for k in fmt)}
        return {'POST': {'parameters': {'properties': props}}}
    old = {'/a': post('x', 'maxfiles', fmt=['bridge']), '/old': post()}
    new = {'/a': post('x', 'allow-ksm', fmt=['bridge', 'host-tunnel']), '/new': post()}
    assert pve_schema_diff.diff(old, new) == [
        'paths only in 9: /new', 'paths only in 8.4: /old',
        "POST /a: 9 only ['allow-ksm'], 8.4 only ['maxfiles']",
        "POST /a net[n]: keys 9 only ['host-tunnel'], 8.4 only []"]
