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
