# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pve_template through ansible-playbook against a lab cluster (PVE 9), with the lab's templates area
(tests/lab/areas/templates.py): its appliance list, the files its stand-in web server serves, and uploads."""

import hashlib

import pytest

from tests.integration.conftest import target
from tests.integration.least_privilege import least_privilege_token
from tests.lab.pytest_plugin import run_playbook

ISO = 'https://images.example.com/lab/netinst.iso'
IMAGE = 'https://images.example.com/lab/cloud-image.qcow2'


@pytest.mark.lab(clusters=1, nodes=2, guests=2)
def test_download_upload_remove(lab_fn, tmp_path):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    iso_bytes = b'lab netinst image\n' * 64
    pve.web_files[ISO] = iso_bytes
    pve.web_files[IMAGE] = b'QFI\xfb lab cloud image'
    pve.storages['it-images'] = {'type': 'dir', 'path': '/mnt/it-images', 'content': 'import,iso', 'active': 1,
                                 'files': set(), 'volumes': {}}
    upload = tmp_path / 'from-controller.iso'
    data = bytes(range(256)) * 4096  # 1 MiB, several blocks of the streamed body
    upload.write_bytes(data)
    appliance = sorted(pve.appliances)[0]
    # A privilege-separated token holding only what docs/privileges.md lists for pve_template on the storages
    # the playbook names and the node (a download from a URL: Sys.Audit and Sys.Modify on /, the first of the row's alternatives).
    token = least_privilege_token(cluster, 'pve_template', precise=True,
                                  storage=['local', 'it-images', 'nfs-backup'], node=cluster.nodes[0])
    run = run_playbook(target('pve_template'), lab_fn, diff=True, extra_vars={
        'pve': token, 'node': cluster.nodes[0], 'appliance': appliance, 'iso': ISO, 'image': IMAGE,
        'iso_sha256': hashlib.sha256(iso_bytes).hexdigest(), 'images': 'it-images',
        'upload': {'path': str(upload), 'name': upload.name, 'size': len(data)}})
    assert run.ok, run.explain()
    # What arrived is what was sent, with the checksum the module computed; PVE checked it in the imgcopy task.
    assert pve.uploaded['data'] == data
    assert pve.uploaded['checksum'] == hashlib.sha256(data).hexdigest()
    assert pve.uploaded['checksum-algorithm'] == 'sha256'
    kinds = [t['type'] for t in pve.tasklog]
    # Downloads: the template, the ISO (+ its verification), the failed mismatches (2), the image; one upload;
    # removals: the template, then the cleanup of the other three.
    assert kinds.count('download') == 6
    assert kinds.count('imgcopy') == 1
    assert kinds.count('imgdel') == 4
    assert not any(name.startswith(('vztmpl/', 'iso/')) for name in pve.storages['local'].get('volumes', {}))
    assert pve.storages['it-images']['volumes'] == {}


@pytest.mark.lab(clusters=1, nodes=2, guests=2)
def test_download_with_network_access_on_the_node_only(lab_fn):
    """The row's other alternative for a download from a URL: Sys.AccessNetwork on the node, nothing on `/`."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    iso_bytes = b'lab netinst image\n' * 64
    pve.web_files[ISO] = iso_bytes
    token = least_privilege_token(cluster, 'pve_template', precise=True, pick=1, storage=['local'],
                                  node=cluster.nodes[0])
    assert not pve.allowed(token['token_id'], '/', 'Sys.Modify')
    run = run_playbook(PLAY_ISO, lab_fn, extra_vars={'pve': token, 'node': cluster.nodes[0], 'iso': ISO,
                                                     'iso_sha256': hashlib.sha256(iso_bytes).hexdigest()})
    assert run.ok, run.explain()
    assert run.result('Download the ISO')['changed'] and not run.result('Remove the ISO again')['changed']
    assert not any(name.startswith('iso/') for name in pve.storages['local'].get('volumes', {}))


PLAY_ISO = '''
- name: Pve_template downloads an ISO by URL and removes it
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
    - name: Download the ISO
      proxfleet.proxmox.pve_template:
        node: "{{ node }}"
        storage: local
        url: "{{ iso }}"
        checksum: "{{ iso_sha256 }}"
        checksum_algorithm: sha256
      register: downloaded

    - name: Remove the ISO
      proxfleet.proxmox.pve_template:
        node: "{{ node }}"
        storage: local
        filename: netinst.iso
        state: absent

    - name: Remove the ISO again
      proxfleet.proxmox.pve_template:
        node: "{{ node }}"
        storage: local
        filename: netinst.iso
        state: absent
'''
