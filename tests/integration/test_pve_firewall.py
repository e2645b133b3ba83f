# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pve_firewall_* modules through ansible-playbook against the lab."""

import uuid

from tests.integration.conftest import pve_vars, target
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
