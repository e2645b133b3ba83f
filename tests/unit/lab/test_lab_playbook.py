# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_playbook: the real ansible-playbook against the lab, results per task."""

import os

from tests.lab.playbook import collections_path
from tests.lab.pytest_plugin import run_playbook

PLAY = '''
- name: Talk to every lab cluster
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the version with the lab token, verified against the lab CA
      ansible.builtin.uri:
        url: "{{ item.url }}/api2/json/nodes/{{ item.nodes[0] }}/version"
        ca_path: "{{ lab_ca_path }}"
        headers:
          Authorization: "PVEAPIToken={{ item.token_id }}={{ item.token_secret }}"
      loop: "{{ lab_clusters }}"
      register: versions

    - name: Write a file
      ansible.builtin.copy:
        content: "{{ greeting }}\\n"
        dest: "{{ out }}"

    - name: Fail on purpose
      ansible.builtin.fail:
        msg: "cluster {{ lab_cluster.lab2.name }} runs {{ lab_cluster.lab2.version }}"
      ignore_errors: true
'''


def test_run_playbook_against_the_lab(lab, tmp_path):
    out = str(tmp_path / 'out.txt')
    checked = run_playbook(PLAY, lab, extra_vars={'greeting': 'hello', 'out': out}, check=True, diff=True)
    assert checked.rc == 0, checked.explain()
    assert not os.path.exists(out)
    write = checked.results('Write a file')[0]
    assert write['status'] == 'changed' and write['result']['diff'][0]['after'] == 'hello\n'

    result = run_playbook(PLAY, lab, extra_vars={'greeting': 'hello', 'out': out})
    assert result.ok, result.explain()
    with open(out, encoding='utf-8') as handle:
        assert handle.read() == 'hello\n'
    versions = result.result('Read the version with the lab token, verified against the lab CA')['results']
    assert [v['json']['data']['version'] for v in versions] == [c.version for c in lab.clusters]
    failed = result.failed
    assert [t['task'] for t in failed] == ['Fail on purpose']
    assert failed[0]['status'] == 'ignored' and failed[0]['result']['msg'] == 'cluster lab2 runs 8.4.14'
    assert result.stats['localhost']['ignored'] == 1
    assert 'PLAY RECAP' in result.stdout


def test_playbook_from_a_file_sees_the_collection(lab, tmp_path):
    path = tmp_path / 'play.yml'
    path.write_text('''
- name: Find this collection
  hosts: localhost
  gather_facts: false
  tasks:
    - name: List it
      ansible.builtin.command: ansible-galaxy collection list proxfleet.proxmox --format json
      changed_when: false
''', encoding='utf-8')
    result = run_playbook(path, lab)
    assert result.ok, result.explain()
    assert 'proxfleet.proxmox' in result.result('List it')['stdout']


def test_collection_is_on_the_collections_path():
    link = os.path.join(collections_path(), 'ansible_collections', 'proxfleet', 'proxmox')
    assert os.path.realpath(link) == os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
