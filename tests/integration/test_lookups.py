# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_nextid and pve_resources through ansible-playbook against both lab clusters."""

import pytest

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook


def test_lookups(lab):
    guests = [(c.name, g) for c in lab.clusters for g in list(c.pve.vms) + list(c.pve.cts)]
    cluster, guest = guests[len(guests) // 2]
    extra = {'expected_guest_count': len(guests),
             'expected_guest': {'name': guest.name, 'vmid': guest.vmid, 'cluster': cluster}}
    run = run_playbook(target('lookups'), lab, extra_vars=extra)
    assert run.ok, run.explain()
    assert len(run.failed) == 2  # the two expected failures, checked by the playbook


LEAST_PLAY = '''
- name: Lookups with least-privilege tokens
  hosts: localhost
  gather_facts: false
  vars:
    nextid_connection:
      api_host: "{{ nextid.host }}"
      api_port: "{{ nextid.port }}"
      api_token_id: "{{ nextid.token_id }}"
      api_token_secret: "{{ nextid.token_secret }}"
      ca_path: "{{ nextid.ca_path }}"
    resources_connection:
      api_host: "{{ resources.host }}"
      api_port: "{{ resources.port }}"
      api_token_id: "{{ resources.token_id }}"
      api_token_secret: "{{ resources.token_secret }}"
      ca_path: "{{ resources.ca_path }}"
  tasks:
    - name: Read free VMIDs and the resources
      ansible.builtin.set_fact:
        next_any: "{{ lookup('proxfleet.proxmox.pve_nextid', **nextid_connection) }}"
        next_from_100: "{{ lookup('proxfleet.proxmox.pve_nextid', 100, **nextid_connection) }}"
        guests: "{{ query('proxfleet.proxmox.pve_resources', 'vm', **resources_connection) }}"
        nodes: "{{ query('proxfleet.proxmox.pve_resources', 'node', **resources_connection) }}"
        storages: "{{ query('proxfleet.proxmox.pve_resources', 'storage', **resources_connection) }}"

    - name: Show them
      ansible.builtin.debug:
        msg:
          next_any: "{{ next_any | int }}"
          next_from_100: "{{ next_from_100 | int }}"
          guests: "{{ guests }}"
          nodes: "{{ nodes }}"
          storages: "{{ storages }}"
'''


@pytest.mark.lab(clusters=1, nodes=2, guests=6)
def test_least_privilege(lab_fn):
    """Tokens holding only what docs/privileges.md lists: pve_nextid's (nothing) answers free ids, a start VMID
    included, though it sees no guest; pve_resources' (on half the guests, one node, one storage) returns those and
    leaves out the rest."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    taken = sorted(guest.vmid for guest in list(pve.vms) + list(pve.cts))
    free = min(set(range(100, 1000)) - set(taken))
    seen = taken[::2]
    one, two = sorted(cluster.nodes)
    run = run_playbook(LEAST_PLAY, lab_fn, extra_vars={
        'nextid': least_privilege_token(cluster, 'pve_nextid', precise=True),
        'resources': least_privilege_token(cluster, 'pve_resources', precise=True, vmid=seen, node=[one],
                                           storage=['local'])})
    assert run.ok, run.explain()
    shown = run.result('Show them')['msg']
    assert int(shown['next_any']) == free and int(shown['next_from_100']) == free
    assert [guest['vmid'] for guest in shown['guests']] == seen
    nodes = dict((node['node'], node) for node in shown['nodes'])
    assert sorted(nodes) == [one, two] and nodes[one]['maxmem'] > 0 and not nodes[two].get('maxmem')
    assert sorted(set(item['storage'] for item in shown['storages'])) == ['local']
