# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/lab/areas/datacenter.py: datacenter options, nextid within the next-id range, a VM clone's id check.

A fresh estate (lab_fn) of one cluster with 4 guests: VMs 100 (running, n1), 101 (n2), 102 (n1), container 103.
"""

import pytest
from proxmoxer.core import ResourceException

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=4, pbs=False)


def test_next_id_range_is_set_read_and_followed(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    assert int(client.cluster.nextid.get()) == 104
    client.cluster.options.put(**{'next-id': 'lower=500,upper=503'})
    assert cluster.pve.datacenter['next-id'] == 'lower=500,upper=503'
    # get_options answers the property string parsed, as cfs_read_file does.
    assert client.cluster.options.get()['next-id'] == {'lower': 500, 'upper': 503}
    assert int(client.cluster.nextid.get()) == 500
    for vmid in (500, 501, 502):
        cluster.pve.add_vm(vmid, 'in-range-{0}'.format(vmid), node=cluster.nodes[0])
    # The upper boundary is exclusive.
    with pytest.raises(ResourceException, match=r'unable to get any free VMID in range \[500, 503\]'):
        client.cluster.nextid.get()
    # An id outside the range is still checked as asked.
    assert int(client.cluster.nextid.get(vmid=9000)) == 9000
    with pytest.raises(ResourceException, match='VM 100 already exists'):
        client.cluster.nextid.get(vmid=100)
    client.cluster.options.put(delete='next-id')
    assert int(client.cluster.nextid.get()) == 104


def test_boundaries_in_the_wrong_order_are_refused(lab_fn, api):
    cluster = lab_fn.clusters[0]
    with pytest.raises(ResourceException, match=r'lower \(900\) <= upper \(800\) boundary rule broken'):
        api(cluster).cluster.options.put(**{'next-id': 'lower=900,upper=800'})
    assert 'next-id' not in cluster.pve.datacenter


def test_options_without_sys_audit_are_reduced(lab_fn, api):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    pve.datacenter.update({'next-id': 'lower=700', 'console': 'xtermjs', 'keyboard': 'de'})
    pve.users['viewer@pve'] = 'viewer-secret'
    pve.grant('viewer@pve', '/vms', 'VM.Audit')
    seen = api(cluster, auth='ticket', user='viewer@pve', password='viewer-secret').cluster.options.get()
    assert 'next-id' not in seen and 'keyboard' not in seen
    assert seen['console'] == 'xtermjs'
    # nextid itself is open to every user, and follows the range.
    assert int(api(cluster, auth='ticket', user='viewer@pve', password='viewer-secret').cluster.nextid.get()) == 700
    with pytest.raises(ResourceException) as refused:
        api(cluster, auth='ticket', user='viewer@pve', password='viewer-secret').cluster.options.put(console='html5')
    assert refused.value.status_code == 403


def test_a_vm_clone_to_a_taken_id_fails_its_task(lab_fn, api):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    upid = api(cluster).nodes(cluster.nodes[0]).qemu(102).clone.post(newid=101)
    task = pve.tasks[upid]
    assert task['type'] == 'qmclone' and task['exitstatus'] == 'unable to create VM 101: config file already exists'
    assert pve.vm(101).node == cluster.nodes[1]
    # A free id clones as before.
    upid = api(cluster).nodes(cluster.nodes[0]).qemu(102).clone.post(newid=150)
    assert pve.tasks[upid]['exitstatus'] == 'OK' and pve.vm(150) is not None
