# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_guest_info through ansible-playbook against a lab cluster (PVE 9).

A fresh estate of one cluster, 2 nodes and 8 guests (lab_fn): VMs 100 (running, node 1), 101, 102, 104, 105
(running, node 2) and 106; containers 103 and 107. The driver starts container 103 with a static address and
stops VM 100's guest agent, so the interfaces come from all three sources: an agent, a container, and none.
"""

import fnmatch

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def tags_of(guest):
    return [t for t in str(guest.config.get('tags') or '').replace(',', ';').split(';') if t]


def guests_of(pve):
    return sorted(list(pve.vms) + list(pve.cts), key=lambda guest: guest.vmid)


@pytest.mark.lab(clusters=1, nodes=2, guests=8)
def test_filters_config_and_interfaces(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    ct = pve.ct(103)
    ct.status = 'running'
    ct.config['net0'] = 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:03,ip=192.0.2.103/24,ip6=2001:db8::103/64,type=veth'
    pve.vm(100).agent = None
    first = pve.vm(102)
    probe = {'tag': tags_of(first)[0], 'node': first.node, 'pattern': first.name.split('-')[0] + '-*'}
    # A change waiting for the next start: `config` holds the values in effect now (current=1).
    first.pending['memory'] = '65536'
    pve.requests.clear()
    # A privilege-separated token holding only what docs/privileges.md lists for pve_guest_info, on every guest.
    token = least_privilege_token(cluster, 'pve_guest_info', vmid=[guest.vmid for guest in guests_of(pve)])
    pve.requests.clear()
    run = run_playbook(target('pve_guest_info'), lab_fn, extra_vars={'pve': token, 'probe': probe})
    assert run.ok, run.explain()
    everything = run.result('All guests')['guests']
    assert [g['vmid'] for g in everything] == [g.vmid for g in guests_of(pve)]
    by_id = dict((g['vmid'], g) for g in everything)
    for guest in guests_of(pve):
        seen = by_id[guest.vmid]
        assert (seen['name'], seen['node'], seen['status']) == (guest.name, guest.node, guest.status)
        assert seen['tags'] == tags_of(guest)
    assert [g['vmid'] for g in run.result('Containers')['guests']] == [103, 107]
    # Interfaces: the agent's for VM 105, the container's own for CT 103, none for VM 100 (agent down).
    running = dict((g['vmid'], g) for g in run.result('Running guests with their interfaces')['guests'])
    assert sorted(running) == [100, 103, 105]
    assert running[105]['ipv4'] == ['203.0.113.15']
    assert [i['name'] for i in running[105]['interfaces']] == ['lo', 'eth0']
    assert running[103]['ipv4'] == ['192.0.2.103'] and running[103]['ipv6'] == ['2001:db8::103']
    assert {'address': '192.0.2.103', 'prefix': 24, 'family': 'ipv4'} in running[103]['interfaces'][1]['ip_addresses']
    assert running[100]['interfaces'] is None
    assert 'agent' in running[100]['interfaces_error']
    tagged = run.result('By tag and node, with the configuration')['guests']
    expected = [g.vmid for g in guests_of(pve) if probe['tag'] in tags_of(g) and g.node == probe['node']]
    assert [g['vmid'] for g in tagged] == expected
    for seen in tagged:
        guest = pve.vm(seen['vmid']) or pve.ct(seen['vmid'])
        assert str(seen['config']['memory']) == str(guest.config['memory'])
        assert seen['config']['tags'] == guest.config['tags']
    named = run.result('By name pattern')['guests']
    assert [g['vmid'] for g in named] == [g.vmid for g in guests_of(pve) if fnmatch.fnmatchcase(g.name, probe['pattern'])]
    # Requests: one /cluster/resources read per run (10 runs); per-guest reads only where asked.
    gets = [path for method, path, _body in pve.requests if method == 'GET']
    assert len([p for p in gets if p.endswith('/cluster/resources')]) == 10
    assert len([p for p in gets if p.endswith('/config')]) == len(tagged)
    assert len([p for p in gets if p.endswith('/agent/network-get-interfaces')]) == 2
    assert len([p for p in gets if p.endswith('/interfaces') and '/lxc/' in p]) == 1


CONFIG_PLAY = '''
- name: Pve_guest_info with configurations on a degraded cluster
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/proxfleet.proxmox.proxmox:
      api_host: "{{ pve.host }}"
      api_port: "{{ pve.port }}"
      api_token_id: "{{ pve.token_id }}"
      api_token_secret: "{{ pve.token_secret }}"
      ca_path: "{{ pve.ca_path }}"
  tasks:
    - name: Every guest with its configuration
      proxfleet.proxmox.pve_guest_info:
        config: true
        interfaces: true
      register: listed
'''


@pytest.mark.lab(clusters=1, nodes=2, guests=6)
def test_config_masks_secrets_and_keeps_the_guests_of_an_offline_node(lab_fn):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    up, down = cluster.nodes[0], cluster.nodes[1]
    vms_up = [vm for vm in pve.vms if vm.node == up]
    assert vms_up and [g for g in guests_of(pve) if g.node == down]
    # Whatever the API returns: this one answers cipassword as stored (PVE itself answers asterisks).
    pve.secrets_in_clear = True
    for vm in vms_up:
        vm.config['cipassword'] = 'clear-text-from-the-api'
    pve.set_node_offline(down)
    run = run_playbook(CONFIG_PLAY, lab_fn, extra_vars={'pve': pve_vars(cluster)}, verbosity=3)
    assert run.ok, run.explain()
    assert 'clear-text-from-the-api' not in run.stdout + run.stderr
    result = run.result('Every guest with its configuration')
    listed = dict((g['vmid'], g) for g in result['guests'])
    assert sorted(listed) == [g.vmid for g in guests_of(pve)]
    for guest in guests_of(pve):
        seen = listed[guest.vmid]
        if guest.node == down:
            assert seen['config'] is None and seen['status'] == 'unknown'
            assert '595' in seen['config_error'] and down in seen['config_error'], seen['config_error']
        else:
            assert 'config_error' not in seen
            assert str(seen['config']['memory']) == str(guest.config['memory'])
    for vm in vms_up:
        assert listed[vm.vmid]['config']['cipassword'] == '********'
    warnings = result.get('warnings') or []
    assert [w for w in warnings if 'node {0}'.format(down) in w and 'could not be read' in w], warnings
