# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/firewall.py: rule identity, field normalisation, the comment marker and the planner."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall as fw
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


def rule(**values):
    return fw.DesiredRule(dict((k.replace('icmp_type', 'icmp-type'), v) for k, v in values.items()),
                          rule_id=values.pop('rule_id', None) if 'rule_id' in values else None)


def desired(level='cluster', **options):
    return fw.DesiredRule.from_options(options, level)


# ---------------------------------------------------------------- comment marker

@pytest.mark.parametrize('comment, expected', [
    (None, (None, None)),
    ('', (None, None)),
    ('plain', (None, 'plain')),
    ('[id=web-https]', ('web-https', None)),
    ('[id=web-https] front ends', ('web-https', 'front ends')),
    ('front ends [id=web.1:a]', ('web.1:a', 'front ends')),
])
def test_split_comment(comment, expected):
    assert fw.split_comment(comment) == expected


@given(st.from_regex(r'[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}', fullmatch=True),
       st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_characters='[]\n\r'), max_size=30)))
@hsettings(deadline=None, max_examples=60)
def test_marker_round_trip(rule_id, comment):
    stored = fw.join_comment(rule_id, comment)
    assert fw.split_comment(stored) == (rule_id, (comment or '').strip() or None)


# ---------------------------------------------------------------- ports

@pytest.mark.parametrize('value, expected', [
    ('80,443', ['80', '443']),
    (['443', '8000-8100'], ['443', '8000:8100']),
    ('8000:8100', ['8000:8100']),
    ('22:22', ['22']),
    ('https', ['https']),
    ([' 0080 '], ['80']),
])
def test_parse_ports(value, expected):
    assert fw.parse_ports(value) == expected


@pytest.mark.parametrize('value, words', [
    ('70000', 'invalid port'),
    ('100:90', 'backwards range'),
    ('80,,443', 'empty entry'),
    ('8$0', 'invalid port'),
    (','.join(str(p) for p in range(1, 17)), 'too many entries'),
])
def test_parse_ports_refuses(value, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        fw.parse_ports(value)


def test_port_order_and_spelling_do_not_matter():
    assert fw.canonical('dport', '443,80') == fw.canonical('dport', ['80', '443'])
    assert fw.canonical('dport', '8000-8100') == fw.canonical('dport', '8000:8100')


# ---------------------------------------------------------------- identity

def test_match_by_fields_ignores_case_and_spelling():
    want = desired(type='in', action='accept', macro='ssh', source='10.0.0.0/24')
    assert want.matches({'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH', 'source': '10.0.0.0/24', 'enable': 1})
    # A field the user left out must be absent from the rule.
    assert not want.matches({'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH', 'source': '10.0.0.0/24',
                             'dest': '10.0.1.1'})
    # A rule someone named belongs to that name.
    assert not want.matches({'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH', 'source': '10.0.0.0/24',
                             'comment': '[id=other]'})


def test_match_by_id_ignores_the_fields():
    want = desired(rule_id='web', type='in', action='ACCEPT', proto='tcp', dport=['443'])
    assert want.matches({'type': 'out', 'action': 'DROP', 'comment': '[id=web] moved'})
    assert not want.matches({'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '443'})


@pytest.mark.parametrize('level, options, words', [
    ('cluster', dict(type='in', action='ACCEPT', proto='tcp', dport=['99999']), 'invalid port'),
    ('cluster', dict(type='in', action='ACCEPT', dport=['22']), 'needs proto'),
    ('cluster', dict(type='in', action='ACCEPT', proto='icmp', sport=['22']), 'does not support ports'),
    ('cluster', dict(type='forward', action='REJECT'), 'forward chain'),
    ('cluster', dict(type='in', action='ALLOW'), 'not one of ACCEPT'),
    ('vm', dict(type='forward', action='ACCEPT'), "type 'forward' is not allowed at level vm"),
    ('vnet', dict(type='in', action='ACCEPT'), 'not allowed at level vnet'),
    ('vnet', dict(type='forward', action='ACCEPT', iface='vmbr0'), 'iface is not allowed'),
    ('group', dict(type='group', action='web'), "type 'group' is not allowed at level group"),
    ('cluster', dict(type='in'), 'action is required'),
    ('cluster', dict(type='in', action='ACCEPT', comment='[id=x]'), 'marker'),
    ('cluster', dict(rule_id='bad id', type='in', action='ACCEPT'), 'rule_id'),
    ('cluster', dict(type='in', action='ACCEPT', source=''), 'only make sense with a rule_id'),
    ('cluster', dict(type='in', action='ACCEPT', icmp_type='echo-request'), 'icmp_type needs proto'),
])
def test_bad_input_is_refused(level, options, words):
    with pytest.raises(ProxmoxConfigError, match=words):
        desired(level, **options)


# ---------------------------------------------------------------- changes

def test_update_keeps_what_is_not_given_and_removes_empty():
    want = desired(rule_id='web', dport=['443', '80'], source='', comment='new')
    have = {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '80,443', 'source': '10.0.0.1',
            'comment': '[id=web] old'}
    params, delete = want.update_params(have)
    assert params == {'comment': '[id=web] new'}
    assert delete == ['source']


def test_settings_of_an_id_less_rule_keep_its_comment_unless_given():
    want = desired(type='in', action='ACCEPT', log='info')
    params, delete = want.update_params({'type': 'in', 'action': 'ACCEPT', 'comment': 'keep me', 'log': 'nolog'})
    assert params == {'log': 'info'} and delete == []


def test_create_params_enable_by_default_and_mark_the_comment():
    params = desired(rule_id='web', type='in', action='accept', proto='tcp', dport=['443', '80']).create_params()
    assert params == {'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': '443,80', 'enable': 1,
                      'comment': '[id=web]'}


# ---------------------------------------------------------------- planner

def api_rules(*ports):
    return [{'type': 'in', 'action': 'ACCEPT', 'proto': 'tcp', 'dport': p, 'enable': 1, 'pos': i}
            for i, p in enumerate(ports)]


def ports(rules):
    return [r.get('dport') for r in rules]


def test_plan_create_goes_first_then_moves_to_pos():
    want = desired(type='in', action='ACCEPT', proto='tcp', dport=['25'], pos=2)
    ops, final, matches = fw.plan(api_rules('22', '80', '443'), [want])
    assert [op[0] for op in ops] == ['create', 'move']
    assert ports(final) == ['22', '80', '25', '443']
    assert fw.find_key(final, matches[0])['pos'] == 2


@pytest.mark.parametrize('start, target, expected', [
    (0, 2, ['80', '443', '22']),
    (2, 0, ['443', '22', '80']),
    (0, 9, ['80', '443', '22']),
    (1, 1, ['22', '80', '443']),
])
def test_plan_move_semantics(start, target, expected):
    rules = api_rules('22', '80', '443')
    want = desired(type='in', action='ACCEPT', proto='tcp', dport=[rules[start]['dport']], pos=target)
    ops, final, _matches = fw.plan(rules, [want])
    assert ports(final) == expected
    assert (ops == []) == (start == min(target, 2))


def test_plan_is_idempotent_and_keeps_foreign_rules():
    wants = [desired('group', type='in', action='ACCEPT', proto='tcp', dport=[p], pos=i) for i, p in enumerate(['1', '2'])]
    _ops, final, _matches = fw.plan(api_rules('9'), wants)
    assert ports(final) == ['1', '2', '9']
    ops, again, _matches = fw.plan([dict(r) for r in final], wants)
    assert ops == [] and ports(again) == ['1', '2', '9']
    ops, purged, _matches = fw.plan([dict(r) for r in final], wants, purge=True)
    assert [op[0] for op in ops] == ['delete'] and ports(purged) == ['1', '2']


def test_plan_absent_deletes_every_match():
    want = desired(type='in', action='ACCEPT', proto='tcp', dport=['22'])
    ops, final, matches = fw.plan(api_rules('22', '80', '22'), [want], state='absent')
    assert ops == [('delete', 2), ('delete', 0)] and ports(final) == ['80']
    assert matches[0] == ('old', 0)


@given(st.lists(st.sampled_from(['1', '2', '3', '4', '5']), max_size=5),
       st.lists(st.sampled_from(['1', '2', '3', '4', '5', '6']), max_size=4, unique=True), st.booleans())
@hsettings(deadline=None, max_examples=80)
def test_plan_converges_in_one_pass(existing, wanted, purge):
    wants = [desired('group', type='in', action='ACCEPT', proto='tcp', dport=[p], pos=i) for i, p in enumerate(wanted)]
    _ops, final, _matches = fw.plan(api_rules(*existing), wants, purge=purge)
    assert ports(final)[:len(wanted)] == wanted
    if purge:
        assert ports(final) == wanted
    again, _final, _matches = fw.plan([dict(r) for r in final], wants, purge=purge)
    assert again == []


@pytest.mark.parametrize('value, expected', [
    ('10.0.0.1/32', '10.0.0.1'),
    ('10.0.0.5/24', '10.0.0.0/24'),
    ('fd00::1/128', 'fd00::1'),
    ('FD00::/64', 'fd00::/64'),
    ('myalias', 'myalias'),
])
def test_canonical_cidr(value, expected):
    assert fw.canonical_cidr(value) == expected


def test_a_named_rule_adopts_an_unnamed_twin_instead_of_duplicating_it():
    rules = api_rules('22', '80')
    want = desired(rule_id='web', type='in', action='ACCEPT', proto='tcp', dport=['80'], comment='web')
    ops, final, matches = fw.plan(rules, [want])
    assert ops == [('update', 1, {'comment': '[id=web] web'}, [])]
    assert len(final) == 2 and matches[0] == ('old', 1)
    again, _final, _matches = fw.plan([dict(r) for r in final], [want])
    assert again == []
    # A rule that differs in a match field is not adopted.
    other = desired(rule_id='web', type='in', action='ACCEPT', proto='tcp', dport=['81'])
    ops, _final, _matches = fw.plan(api_rules('22', '80'), [other])
    assert ops[0][0] == 'create'


def test_check_rule_needs_a_validated_rule():
    # The level comes from validate(); without it the check says so instead of failing on RULE_TYPES[None].
    with pytest.raises(ValueError, match='call validate'):
        rule(type='in', action='ACCEPT').check_rule({'type': 'in', 'action': 'ACCEPT'})
    assert desired(type='in', action='ACCEPT').level_kind == 'cluster'
