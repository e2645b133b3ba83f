# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_apply's engine without a cluster: validation of a declaration, the plan against a given current state, the
comparison of declared and exported values, and the argument specs read from the single-item modules."""

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import AREAS, MODULES, Exporter
from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.apply import (
    AREA_OF,
    IDENTITY,
    ORDER,
    DeclarationError,
    Engine,
    identity,
    module_code,
    same,
)


def engine(**kwargs):
    return Engine(client=None, deadline=None, **kwargs)


def test_every_exported_module_has_a_place_in_the_order_and_an_identity():
    exported = set(m for area in AREAS for m in MODULES[area])
    assert set(ORDER) == exported == set(IDENTITY) == set(AREA_OF)
    # What others depend on first.
    for first, then in (('pve_storage', 'pve_vm'), ('pve_sdn_vnet', 'pve_vm'), ('pve_firewall_group', 'pve_firewall_rule'),
                        ('pve_vm', 'pve_ha_resource'), ('pve_sdn_zone', 'pve_sdn_vnet'), ('pve_sdn_vnet', 'pve_sdn_subnet')):
        assert ORDER.index(first) < ORDER.index(then)


@pytest.mark.parametrize('module', sorted(IDENTITY))
def test_the_argument_spec_is_the_modules_own(module):
    _code, spec, _validator = module_code(module)
    for name in IDENTITY[module]:
        assert name in spec
    assert 'api_host' not in spec


@pytest.mark.parametrize('declared, current, expected', [
    (2, 2, True), (2, '2', True), ('a', 'b', False), (True, True, True), (True, 1, True), (False, True, False),
    (['a', 'b'], ['a', 'b'], True), (['a', 'b'], ['b', 'a'], False), ({'a': 1}, {'a': 1}, True),
    ({'a': 1}, {'a': 1, 'b': 2}, False), ([{'x': 1}], [{'x': '1'}], True), ('a', ['a'], False),
])
def test_same(declared, current, expected):
    assert same(declared, current) is expected


def test_an_invalid_declaration_names_the_file_area_and_item_and_every_problem():
    with pytest.raises(DeclarationError) as caught:
        engine().declare([
            ('backup.yml', {'pve_backup_job': [{'id': 'nightly', 'schedul': '02:00'}, {'id': 'ok', 'schedule': '1:00'},
                                               {'id': 'ok', 'schedule': '3:00'}]}),
            ('storage.yml', {'pve_storage': [{'storage': 'x', 'content': 'not-a-list-is-fine', 'port': 'abc'}],
                             'pve_nothing': []}),
            ('ha.yml', {'pve_ha_rule': [{'name': 'gone', 'state': 'absent'}]}),
        ])
    message = str(caught.value)
    assert message.startswith('the declaration is invalid, nothing was changed')
    assert "backup.yml, area backup, pve_backup_job item 'nightly'" in message and 'schedul' in message
    assert "backup.yml, area backup, pve_backup_job item 'ok': declared twice" in message
    assert "storage.yml, area storage, pve_storage item 'x'" in message and 'port' in message
    assert "storage.yml: 'pve_nothing' is no module pve_apply applies" in message
    assert "ha.yml, area ha, pve_ha_rule item 'gone': state absent is not declared" in message


def test_prune_names_known_areas():
    with pytest.raises(DeclarationError, match='prune: unknown area'):
        engine(prune=['storages']).declare([('x', {})])


def test_the_plan_keeps_only_items_that_differ_in_dependency_order_and_prunes_last_in_reverse():
    run = engine(prune=['backup', 'sdn'])
    run.declare([('d', {
        'pve_backup_job': [{'id': 'same', 'schedule': '02:00', 'enabled': True},
                           {'id': 'moved', 'schedule': '03:00'}],
        'pve_sdn_zone': [{'zone': 'z1', 'type': 'simple'}],
        'pve_sdn_vnet': [{'vnet': 'v1', 'zone': 'z1'}],
        'pve_vm': [{'vmid': 100, 'node': 'n1', 'cores': 2}],
    })])
    run.current = {
        'pve_backup_job': {(('id', 'same'),): {'id': 'same', 'schedule': '02:00', 'enabled': True, 'mode': 'stop'},
                           (('id', 'moved'),): {'id': 'moved', 'schedule': '04:00'},
                           (('id', 'old'),): {'id': 'old', 'schedule': '05:00'}},
        'pve_sdn_zone': {(('zone', 'z1'),): {'zone': 'z1', 'type': 'simple'},
                         (('zone', 'zold'),): {'zone': 'zold', 'type': 'simple'}},
        'pve_sdn_vnet': {(('vnet', 'vold'),): {'vnet': 'vold', 'zone': 'zold'}},
        # On another node now: no drift with guest_nodes auto.
        'pve_vm': {(('vmid', '100'),): {'vmid': 100, 'node': 'n2', 'cores': 2},
                   (('vmid', '101'),): {'vmid': 101, 'node': 'n2'}},
        # Not declared, in an area not pruned: left alone.
        'pve_storage': {(('storage', 'local'),): {'storage': 'local', 'type': 'dir'}},
    }
    plan = [(item.module, item.label, item.op) for item in run.plan()]
    assert plan == [('pve_sdn_vnet', 'v1', 'create'), ('pve_backup_job', 'moved', 'update'),
                    ('pve_backup_job', 'old', 'delete'), ('pve_sdn_vnet', 'vold', 'delete'),
                    ('pve_sdn_zone', 'zold', 'delete')]
    assert run.items[2].params['state'] == 'absent'

    exported = engine(guest_nodes='exported')
    exported.declare([('d', {'pve_vm': [{'vmid': 100, 'node': 'n1', 'cores': 2}]})])
    exported.current = {'pve_vm': {(('vmid', '100'),): {'vmid': 100, 'node': 'n2', 'cores': 2}}}
    assert [(i.label, i.op) for i in exported.plan()] == [('100', 'update')]


def test_secrets_go_to_the_module_and_never_into_the_options_compared():
    run = engine(secrets={'pve_storage': {'cifs': {'password': 'pw'}}})
    run.declare([('d', {'pve_storage': [{'storage': 'cifs', 'type': 'cifs'}, {'storage': 'other', 'type': 'dir'}]})])
    cifs, other = run.declared['pve_storage']
    assert cifs.params['password'] == 'pw' and 'password' not in cifs.options
    assert other.params['password'] is None
    run.current = {'pve_storage': {identity('pve_storage', c.options): dict(c.options) for c in (cifs, other)}}
    # The one given a secret goes to pve_storage, which judges it; the other needs nothing.
    assert [i.label for i in run.plan()] == ['cifs']


class Scripted(Engine):
    """An engine whose operations succeed, or fail for the labels given, without a cluster."""

    def __init__(self, failing=(), **kwargs):
        super().__init__(client=None, deadline=None, **kwargs)
        self.failing = set(failing)
        self.ran = []

    def _run(self, item):
        self.ran.append(item.label)
        item.result = {'changed': True, 'diff': {'before': {}, 'after': {}}}
        item.status = 'failed' if item.label in self.failing else ('planned' if self.check_mode else 'done')
        if item.status == 'failed':
            item.error = 'refused'
        return item


@pytest.mark.parametrize('concurrency', [1, 4])
def test_a_failure_stops_what_comes_after_it_and_says_what_was_done(concurrency):
    run = Scripted(failing=['101'], concurrency=concurrency)
    run.declare([('d', {'pve_storage': [{'storage': 's1', 'type': 'dir'}],
                        'pve_vm': [{'vmid': 100}, {'vmid': 101}],
                        'pve_backup_job': [{'id': 'j1', 'schedule': '02:00'}]})])
    run.plan()
    assert run.apply() is False
    statuses = dict((op['item'], op['status']) for op in run.operations())
    assert statuses['s1'] == 'done' and statuses['101'] == 'failed' and statuses['j1'] == 'not_done'
    # The other guest of the same batch ran, or was left not done: never half of something.
    assert statuses['100'] in ('done', 'not_done')
    assert 'j1' not in run.ran
    assert run.counts(['storage', 'guests', 'backup'])['backup'] == {'create': 0, 'update': 0, 'delete': 0}


def test_in_check_mode_children_of_what_the_plan_creates_are_reported_not_checked():
    run = Scripted(check_mode=True)
    run.declare([('d', {'pve_sdn_zone': [{'zone': 'z1', 'type': 'simple'}],
                        'pve_sdn_vnet': [{'vnet': 'v1', 'zone': 'z1'}],
                        'pve_sdn_subnet': [{'vnet': 'v1', 'cidr': '10.0.0.0/24'}],
                        'pve_firewall_rule': [{'level': 'vnet', 'vnet': 'v1', 'rules': [], 'purge': True}]})])
    run.plan()
    assert run.apply() is True
    assert run.ran == ['z1']
    assert [(op['module'], op['status']) for op in run.operations()] == [
        ('pve_sdn_zone', 'planned'), ('pve_sdn_vnet', 'planned'), ('pve_sdn_subnet', 'planned'),
        ('pve_firewall_rule', 'planned')]
    assert run.counts(['sdn', 'firewall']) == {'sdn': {'create': 3, 'update': 0, 'delete': 0},
                                               'firewall': {'create': 1, 'update': 0, 'delete': 0}}


def test_the_read_is_parallel_and_reads_only_the_guest_firewall_parts_declared(monkeypatch):
    from tests.unit.plugins.module_utils.test_export_concurrency import FakeClient, guests

    monkeypatch.setattr(Exporter, 'running_vnets', lambda self: [])
    results = []
    for concurrency in (1, 4):
        client = FakeClient(guests(6), seed=concurrency)
        run = Engine(client=client, deadline=None, concurrency=concurrency)
        run.declare([('firewall.yml', {
            'pve_firewall_rule': [{'level': 'vm', 'vmid': 101, 'rules': [], 'purge': True}],
            'pve_firewall_alias': [{'level': 'ct', 'vmid': 102, 'name': 'a1', 'cidr': '192.0.2.1'}]})])
        assert run.read() == ['firewall']
        guest_paths = sorted(p for p in client.paths if '/qemu/' in p or '/lxc/' in p)
        assert guest_paths == ['/nodes/pve2/qemu/101/firewall/rules', '/nodes/pve3/lxc/102/firewall/aliases']
        assert client.most <= concurrency
        results.append((run.current, run.reads, [(i.module, i.key, i.op) for i in run.plan()]))
    assert results[0] == results[1]
    # The alias is as declared; the rule list differs (the guest has a rule, the declaration none).
    assert results[0][2] == [('pve_firewall_rule', (('level', 'vm'), ('vmid', '101')), 'update')]
