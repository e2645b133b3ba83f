# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM restored from the backup of a VM with the guest agent enabled has an agent that answers while it runs."""

import pytest
from proxmoxer.core import ResourceException

from tests.lab.areas.restored_agent import agent_enabled


@pytest.mark.parametrize('value, enabled', [
    ('1', True), ('0', False), ('enabled=1,fstrim_cloned_disks=1', True), ('enabled=0,type=virtio', False),
    ('1,type=isa', True), ('fstrim_cloned_disks=1', False), (None, False), (1, True), ('', False),
])
def test_agent_enabled(value, enabled):
    assert agent_enabled(value) is enabled


def restore(client, node, source, target, start):
    upid = client.nodes(node).vzdump.post(vmid=source, storage='local')
    assert client.nodes(node).tasks(upid).status.get()['exitstatus'] == 'OK'
    volid = [i['volid'] for i in client.nodes(node).storage('local').content.get(content='backup')
             if i['vmid'] == source][-1]
    upid = client.nodes(node).qemu.post(vmid=target, archive=volid, storage='local-lvm', unique=1, start=int(start))
    assert client.nodes(node).tasks(upid).status.get()['exitstatus'] == 'OK'


@pytest.mark.lab(clusters=1, nodes=1, guests=3)
def test_restored_vm_agent_answers_while_it_runs(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client, node = api(cluster), cluster.nodes[0]
    # VM 101 (stopped, agent: 1 as every lab VM) restored as 901 and started: its agent answers.
    restore(client, node, 101, 901, start=True)
    assert client.nodes(node).qemu(901).agent('ping').post() is not None
    interfaces = client.nodes(node).qemu(901).agent('network-get-interfaces').get()['result']
    assert [i['name'] for i in interfaces] == ['lo', 'eth0']
    # Stopped, it does not, as before.
    restore(client, node, 101, 902, start=False)
    with pytest.raises(ResourceException, match='QEMU guest agent is not running'):
        client.nodes(node).qemu(902).agent('ping').post()
    # A VM whose configuration disables the agent gets none.
    cluster.pve.vm(102).config['agent'] = '0'
    restore(client, node, 102, 903, start=True)
    with pytest.raises(ResourceException, match='QEMU guest agent is not running'):
        client.nodes(node).qemu(903).agent('ping').post()
