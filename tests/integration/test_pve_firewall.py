# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pve_firewall_* modules through ansible-playbook against the lab.

test_least_privileges_per_level runs every module at every level its docs/privileges.md row distinguishes with a
token holding only that level's privileges; the other tests use root's token.
"""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def first_vm(cluster):
    vm = sorted(cluster.pve.vms, key=lambda g: g.vmid)[0]
    return vm.vmid, vm.node


def test_rule(lab):
    cluster = lab.clusters[0]
    rid = uuid.uuid4().hex[:8]
    vmid, node = first_vm(cluster)
    before_rules = [dict(r) for r in cluster.pve.firewall_config('cluster')['rules']]
    run = run_playbook(target('pve_firewall_rule'), lab, diff=True,
                       extra_vars={'pve': pve_vars(cluster), 'rid': rid, 'vm': vmid, 'vm_node': node})
    assert run.ok, run.explain()
    # The cleanup left nothing of ours, nor the foreign rules, behind.
    rules = cluster.pve.firewall_config('cluster')['rules'] + cluster.pve.firewall_config('vm', vmid=vmid)['rules']
    assert not [r for r in rules if rid in (r.get('comment') or '')]
    assert not [r for r in rules if r.get('macro') == 'SSH' and r.get('source') == '10.0.0.0/24']
    # The refused tasks wrote nothing: no rule was ever made for them (the cleanup would not have removed one).
    assert cluster.pve.firewall_config('cluster')['rules'] == before_rules


def test_group(lab):
    cluster = lab.clusters[0]
    group = 'it-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pve_firewall_group'), lab, diff=True,
                       extra_vars={'pve': pve_vars(cluster), 'group': group, 'node': cluster.nodes[0]})
    assert run.ok, run.explain()
    assert group not in cluster.pve.firewall_config('cluster')['groups']


def test_ipset(lab):
    cluster = lab.clusters[0]
    name = 'it-' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pve_firewall_ipset'), lab, diff=True, extra_vars={'pve': pve_vars(cluster), 'ipset': name})
    assert run.ok, run.explain()
    assert name not in cluster.pve.firewall_config('cluster')['ipset']


def test_alias(lab):
    cluster = lab.clusters[0]
    name = 'it' + uuid.uuid4().hex[:8]
    run = run_playbook(target('pve_firewall_alias'), lab, diff=True, extra_vars={'pve': pve_vars(cluster), 'alias': name})
    assert run.ok, run.explain()
    assert name not in cluster.pve.firewall_config('cluster')['aliases']


def test_options_and_vnet(lab):
    import proxmoxer
    cluster = lab.clusters[0]
    rid = uuid.uuid4().hex[:6]
    vnet = 'fw' + rid[:5]
    userid, _sep, token = cluster.token_id.partition('!')
    api = proxmoxer.ProxmoxAPI(cluster.host, port=cluster.port, verify_ssl=cluster.ca_path, user=userid,
                               token_name=token, token_value=cluster.token_secret)
    api.cluster.sdn.zones.post(zone='z' + rid[:5], type='simple')
    api.cluster.sdn.vnets.post(vnet=vnet, zone='z' + rid[:5])
    api.cluster.sdn.put()
    vmid, _node = first_vm(cluster)
    run = run_playbook(target('pve_firewall_options'), lab, diff=True,
                       extra_vars={'pve': pve_vars(cluster), 'vm': vmid, 'vnet': vnet, 'rid': rid})
    assert run.ok, run.explain()
    assert cluster.pve.vnet_firewall(vnet)['rules'] == []
    assert cluster.pve.firewall_config('vm', vmid=vmid)['options'].get('log_level_in') is None


class _Run(object):
    """What firewall.RuleList needs of a module run: a client and check mode."""

    def __init__(self, client):
        self.client = client
        self.check_mode = False


def test_a_concurrent_change_is_refused_not_overwritten(lab):
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import firewall
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError

    cluster = lab.clusters[0]
    rid = uuid.uuid4().hex[:8]
    client = ProxmoxClient(ConnectionSettings(cluster.host, port=cluster.port, token_id=cluster.token_id,
                                              token_secret=cluster.token_secret, ca_path=cluster.ca_path))
    group = 'cc' + rid
    client.post(client.path('cluster', 'firewall', 'groups'), group=group)
    level = firewall.Level('group', ('cluster', 'firewall', 'groups', group), 'security group', group=group)
    rules = firewall.RuleList(_Run(client), level)
    want = firewall.DesiredRule.from_options(dict(rule_id='a', type='in', action='ACCEPT', proto='tcp', dport=['22']),
                                             'group')
    rules.converge([want])
    stale = rules.read()
    # Someone else changes the group between our read and our write.
    client.post(level.rules_path(client), type='out', action='DROP', comment='theirs')
    changed = firewall.DesiredRule.from_options(dict(rule_id='a', dport=['2222']), 'group')
    try:
        rules.converge([changed], rules=stale)
    except ProxmoxError as error:
        assert 'detected modified configuration' in str(error)
    else:
        raise AssertionError('a write planned on a stale list went through')
    now = rules.read()
    assert [r.get('comment') for r in now] == ['theirs', '[id=a]'] and now[1]['dport'] == '22'
    rules.converge([], purge=True)
    client.delete(client.path('cluster', 'firewall', 'groups', group))


def _lp_scenario(key, module, create, modify, remove):
    """Check mode -> create -> check mode again -> again (no change) -> modify -> remove -> remove again, asserted."""
    action = 'proxfleet.proxmox.' + module
    steps = [('create_check', create, True), ('create', create, False), ('again_check', create, True),
             ('again', create, False), ('modify', modify, False), ('remove', remove, False),
             ('remove_again', remove, False)]
    tasks = []
    for step, args, check in steps:
        task = {'name': '{0}: {1}'.format(key, step), action: args, 'register': '{0}_{1}'.format(key, step)}
        if check:
            task['check_mode'] = True
        tasks.append(task)
    tasks.append({'name': '{0}: as check mode predicted, once'.format(key), 'ansible.builtin.assert': {'that': [
        '{0}_create_check is changed and {0}_create is changed'.format(key),
        '{0}_create_check.diff == {0}_create.diff'.format(key),
        '{0}_again_check is not changed and {0}_again is not changed'.format(key),
        '{0}_modify is changed and {0}_remove is changed'.format(key),
        '{0}_remove_again is not changed'.format(key)]}})
    return tasks


def _lp_play(cluster, tokens, scenarios):
    """One play; each scenario in a block whose modules log in with its own token (tokens[key])."""
    blocks = []
    for key, module, create, modify, remove in scenarios:
        token = tokens[key]
        blocks.append({'name': key, 'module_defaults': {'group/proxfleet.proxmox.proxmox': {
            'api_host': cluster.host, 'api_port': cluster.port, 'api_token_id': token['token_id'],
            'api_token_secret': token['token_secret'], 'ca_path': cluster.ca_path}},
            'block': _lp_scenario(key, module, create, modify, remove)})
    return [{'name': 'The firewall modules, each level with the least privileges docs/privileges.md lists for it',
             'hosts': 'localhost', 'gather_facts': False, 'tasks': blocks}]


@pytest.mark.lab(clusters=1, nodes=2, guests=2)
def test_least_privileges_per_level(lab_fn):
    """Every firewall module at every level its docs/privileges.md row distinguishes, with a privilege-separated
    token holding only that level's privileges (least_privilege.py)."""
    import yaml
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    vmid, node = first_vm(cluster)
    zone, vnet, group = 'lpz', 'lpvnet', 'lp-group'
    root = requests_as_root(cluster)
    root('POST', '/cluster/sdn/zones', zone=zone, type='simple')
    root('POST', '/cluster/sdn/vnets', vnet=vnet, zone=zone)
    root('PUT', '/cluster/sdn')
    root('POST', '/cluster/firewall/groups', group=group)
    where = {'cluster': {}, 'group': {}, 'node': {'node': node}, 'guest': {'vmid': vmid},
             'vnet': {'zone': zone, 'vnet': vnet}}
    at = {'cluster': {}, 'group': {'level': 'group', 'group': group}, 'node': {'level': 'node', 'node': node},
          'guest': {'level': 'guest', 'vmid': vmid}, 'vnet': {'level': 'vnet', 'vnet': vnet}}
    scenarios = []
    tokens = {}

    def add(module, level, create, modify, remove):
        key = '{0}_{1}'.format(module.replace('pve_firewall_', ''), level or 'all')
        tokens[key] = least_privilege_token(cluster, module, level=level, **where.get(level, {}))
        scenarios.append((key, module, dict(at.get(level, {}), **create), dict(at.get(level, {}), **modify),
                          dict(at.get(level, {}), **remove)))

    for level in ('cluster', 'group', 'node', 'guest', 'vnet'):
        rule = {'rule_id': 'lp-' + level, 'type': 'forward' if level == 'vnet' else 'in', 'action': 'ACCEPT',
                'proto': 'tcp', 'dport': ['22']}
        add('pve_firewall_rule', level, rule, {'rule_id': 'lp-' + level, 'dport': ['2222']},
            {'rule_id': 'lp-' + level, 'state': 'absent'})
    for level, option in (('cluster', 'policy_out'), ('node', 'log_level_in'), ('guest', 'log_level_in'),
                          ('vnet', 'log_level_forward')):
        values = ('REJECT', 'ACCEPT', '') if option.startswith('policy') else ('info', 'warning', '')
        add('pve_firewall_options', level, {option: values[0]}, {option: values[1]}, {option: values[2]})
    for level in ('cluster', 'guest'):
        add('pve_firewall_ipset', level, {'name': 'lp-' + level, 'entries': [{'cidr': '192.0.2.1'}]},
            {'name': 'lp-' + level, 'entries': [{'cidr': '192.0.2.2'}], 'purge': True},
            {'name': 'lp-' + level, 'state': 'absent'})
        add('pve_firewall_alias', level, {'name': 'lp' + level, 'cidr': '198.51.100.0/24'},
            {'name': 'lp' + level, 'cidr': '198.51.100.7/32'}, {'name': 'lp' + level, 'state': 'absent'})
    add('pve_firewall_group', None, {'name': 'lp-made', 'rules': [{'rule_id': 'a', 'type': 'in', 'action': 'ACCEPT',
                                                                   'proto': 'tcp', 'dport': [443]}]},
        {'name': 'lp-made', 'comment': 'changed', 'rules': [{'rule_id': 'a', 'dport': [8443]}]},
        {'name': 'lp-made', 'state': 'absent'})
    # Pipelining: a module runs in one process (98 tasks).
    run = run_playbook(yaml.safe_dump(_lp_play(cluster, tokens, scenarios), sort_keys=False), lab_fn, diff=True,
                       env={'ANSIBLE_PIPELINING': '1'})
    assert run.ok, run.explain()
    # Everything made was removed again, the guest's and vnet's options included.
    assert pve.firewall_config('cluster')['rules'] == [] and pve.firewall_config('vm', vmid=vmid)['rules'] == []
    assert pve.firewall_config('cluster')['groups'][group] == [] and 'lp-made' not in pve.firewall_config('cluster')['groups']
    assert pve.vnet_firewall(vnet)['rules'] == []
    assert pve.firewall_config('vm', vmid=vmid)['options'].get('log_level_in') is None


def requests_as_root(cluster):
    """A call through the API with root's token (setting up what a test needs)."""
    import requests

    def call(method, path, **params):
        answer = requests.request(method, cluster.url + '/api2/json' + path, data=params, timeout=30,
                                  verify=cluster.ca_path, headers={'Authorization': 'PVEAPIToken={0}={1}'.format(
                                      cluster.token_id, cluster.token_secret)})
        answer.raise_for_status()
        return answer.json()['data']
    return call
