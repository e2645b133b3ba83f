# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_cluster through ansible-playbook: a cluster made of standalone lab nodes, joins, refusals, a removal."""

import uuid

import pytest

from tests.integration.conftest import pve_vars, target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.areas.cluster_join import start_standalone_nodes, stop_standalone_nodes
from tests.lab.pytest_plugin import run_playbook


@pytest.fixture
def standalone(lab):
    """Three standalone PVE 9 nodes (no cluster, no guests), stopped after the test.

    Their tasks run in (scaled) time, so the module polls the create and join tasks while they run, across the
    moment the joining node's tickets become the cluster's, and a join needs 30 PVE seconds for quorum.
    """
    nodes = start_standalone_nodes(lab, 3)
    for node in nodes:
        node.pve.time_scale = 0.01
        node.pve.join_quorum_secs = 30
    try:
        yield nodes
    finally:
        stop_standalone_nodes(lab, nodes)


def test_create_join_remove(lab, standalone):
    a, b, c = standalone
    name = 'it-' + uuid.uuid4().hex[:6]
    other = pve_vars(lab.clusters[0])
    run = run_playbook(target('pve_cluster'), lab, verbosity=3, diff=True,
                       extra_vars={'a': a.vars, 'b': b.vars, 'c': c.vars, 'other': other, 'cluster_name': name})
    assert run.ok, run.explain()
    # Root passwords never show, not even at -vvv.
    for secret in (a.password, b.password, c.password, other['password']):
        assert secret not in run.stdout and secret not in run.stderr
    # The refusals wrote nothing: b ran one join task, c one.
    assert [t['type'] for t in b.pve.tasklog] == ['clusterjoin']
    assert [t['type'] for t in c.pve.tasklog] == ['clusterjoin']
    cluster = a.pve
    assert cluster.cluster_name == name
    assert sorted(cluster.cj_conf()['nodelist']) == sorted([a.name, b.name])
    assert sorted(cluster.nodes) == sorted([a.name, b.name])
    # c was removed while it ran: alone with its old configuration, without quorum.
    assert c.pve.cj_cluster is None and not c.pve.quorate


LP_PLAY = '''
- name: Pve_cluster with the least privileges docs/privileges.md lists (root@pam only), through a token
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
    - name: Read (check mode)
      proxfleet.proxmox.pve_cluster: {cluster_name: "{{ pve.name }}"}
      check_mode: true
      register: read_check
      ignore_errors: true
    - name: Create
      proxfleet.proxmox.pve_cluster: {cluster_name: lp-cluster}
      register: create
      ignore_errors: true
    - name: Remove a node
      proxfleet.proxmox.pve_cluster: {state: absent, node: "{{ pve.nodes[-1] }}"}
      register: remove
      ignore_errors: true
    - name: Each refused, naming the token and what to use instead
      ansible.builtin.assert:
        that:
          - item is failed
          - item.msg is search('needs the root@pam login with its password')
          - item.msg is search('uses the API token ' ~ pve.token_id)
      loop: ["{{ read_check }}", "{{ create }}", "{{ remove }}"]
      loop_control:
        label: "{{ item.msg | default('') }}"
'''


def test_a_least_privilege_token_is_refused_before_any_request(lab):
    cluster = lab.clusters[0]
    # docs/privileges.md lists no privilege for pve_cluster (root@pam only): the token holds none.
    token = least_privilege_token(cluster, 'pve_cluster')
    assert [e for e in cluster.pve.acl_entries if e['ugid'] == token['token_id']] == []
    before = len(cluster.pve.requests)
    run = run_playbook(LP_PLAY, lab, extra_vars={'pve': token})
    assert run.ok, run.explain()
    # Not one request reached the cluster, reads included.
    assert len(cluster.pve.requests) == before
