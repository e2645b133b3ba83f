# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root-only VM keys, as qemu-server's PVE/API2/Qemu.pm check_vm_modify_config_perm, check_usb_perm and
check_hostpci_perm decide: `$authuser eq 'root@pam'` compares the whole id, so every API token is refused."""

import pytest

from tests.lab.areas.qemu_perms import root_only_keys

pytestmark = pytest.mark.lab(clusters=1, nodes=1, guests=1)


def test_root_only_keys_follow_the_privilege_groups():
    keys = ['args', 'affinity', 'hookscript', 'hugepages', 'keephugepages', 'ivshmem', 'spice_enhancements', 'lock',
            'memory', 'cores', 'numa0', 'scsi0', 'efidisk0', 'cdrom', 'net0', 'ipconfig0', 'tags', 'serial0', 'usb1',
            'hostpci0', 'virtiofs0', 'unused3', 'startup', 'cicustom', 'vmstate', 'rng0', 'allow-ksm']
    assert root_only_keys(keys) == ['args', 'affinity', 'hookscript', 'hugepages', 'keephugepages', 'ivshmem',
                                    'spice_enhancements', 'lock']


def _message(body):
    return (body.get('message') or '').strip()


def test_tokens_are_refused_root_only_keys(lab_fn, raw, api, until):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    node = cluster.nodes[0]
    vm = pve.vms[0]
    config = '/nodes/{0}/qemu/{1}/config'.format(node, vm.vmid)
    # The lab's token is root@pam!lab without privilege separation: all of root's privileges, but no root login.
    for key, value in (('args', '-no-reboot'), ('affinity', '0-1'), ('hugepages', '2'), ('ivshmem', 'size=32'),
                       ('spice_enhancements', 'foldersharing=1'), ('hookscript', 'local:snippets/hook.pl')):
        status, body = raw(cluster, 'PUT', config, **{key: value})
        assert (status, _message(body)) == (500, "only root can set '{0}' config".format(key))
        # The asynchronous form refuses before its task.
        before = len(pve.tasklog)
        status, body = raw(cluster, 'POST', config, **{key: value})
        assert (status, _message(body)) == (500, "only root can set '{0}' config".format(key))
        assert len(pve.tasklog) == before
    status, body = raw(cluster, 'PUT', config, delete='args')
    assert (status, _message(body)) == (500, "only root can set 'args' config")
    # Value-dependent keys.
    status, body = raw(cluster, 'PUT', config, serial0='/dev/ttyS0')
    assert (status, _message(body)) == (500, "only root can modify 'serial0' config for real devices")
    status, body = raw(cluster, 'PUT', config, hostpci0='0000:01:00.0')
    assert (status, _message(body)) == (500, "only root can set 'hostpci0' config for non-mapped devices")
    status, body = raw(cluster, 'PUT', config, usb0='host=1234:5678')
    assert (status, _message(body)) == (500, "only root can set 'usb0' config for real devices")
    # Their permitted forms pass: a socket, SPICE USB redirection, ordinary keys.
    assert raw(cluster, 'PUT', config, serial0='socket', usb0='spice', memory='2048')[0] == 200
    # Nothing root-only was written.
    assert not set(vm.config) & {'args', 'affinity', 'hugepages', 'ivshmem', 'spice_enhancements', 'hookscript',
                                 'hostpci0'}
    # In the asynchronous form the value checks fail the qmconfig task.
    client = api(cluster)
    upid = client.nodes(node).qemu(vm.vmid).config.post(hostpci0='0000:01:00.0')

    def ended():
        answer = client.nodes(node).tasks(upid).status.get()
        return answer if answer.get('status') == 'stopped' else None
    status = until(ended, 'the qmconfig task')
    assert status['exitstatus'] == "only root can set 'hostpci0' config for non-mapped devices"
    # A token of root@pam with privilege separation and Administrator on / is no root either.
    secret = pve.add_token('root@pam', 'sep', privsep=1)
    client.access.acl.put(path='/', roles='Administrator', tokens='root@pam!sep')
    status, body = raw(cluster, 'PUT', config, token=('root@pam!sep', secret), args='-no-reboot')
    assert (status, _message(body)) == (500, "only root can set 'args' config")
    # Creating with a root-only key is refused as well.
    status, body = raw(cluster, 'POST', '/nodes/{0}/qemu'.format(node), vmid=950, args='-no-reboot')
    assert (status, _message(body)) == (500, "only root can set 'args' config")
    assert pve.vm(950) is None


def test_root_login_sets_them(lab_fn, api):
    cluster = lab_fn.clusters[0]
    node = cluster.nodes[0]
    vm = cluster.pve.vms[0]
    root = api(cluster, auth='ticket')
    root.nodes(node).qemu(vm.vmid).config.put(args='-no-reboot', hostpci0='0000:01:00.0', serial0='/dev/ttyS0')
    # Written, or pending until the next start of a running VM.
    for key in ('args', 'hostpci0', 'serial0'):
        assert vm.config.get(key, vm.pending.get(key))


@pytest.mark.lab(clusters=1, nodes=1, guests=4)
def test_bridge_access_and_destroyed_guests_access(lab_fn, raw, api, until):
    """check_bridge_access (SDN.Use on the NIC's bridge, or per VLAN tag) on create, update and clone; a destroyed
    guest's ACL entries go with it (AccessControl::remove_vm_access), a VM's and a container's."""
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    node = cluster.nodes[0]
    root = api(cluster)
    pve.users['ops@pve'] = 'x'
    secret = pve.add_token('ops@pve', 'ci', privsep=1)
    token = ('ops@pve!ci', secret)
    root.access.roles.post(roleid='Guests', privs='VM.Allocate,VM.Audit,VM.Clone,VM.Config.Network,VM.Config.Memory')
    root.access.roles.post(roleid='Use', privs='SDN.Use')
    for path in ('/vms/950', '/vms/951', '/vms/952'):
        root.access.acl.put(path=path, roles='Guests', users='ops@pve', tokens='ops@pve!ci')
    qemu = '/nodes/{0}/qemu'.format(node)
    status, body = raw(cluster, 'POST', qemu, token=token, vmid=950, net0='virtio,bridge=vmbr0')
    assert (status, _message(body)) == (403, 'Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)')
    assert pve.vm(950) is None
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr0/20', roles='Use', users='ops@pve', tokens='ops@pve!ci')
    # A VLAN tag needs SDN.Use on the tag only; the untagged bridge needs it on the bridge.
    status, body = raw(cluster, 'POST', qemu, token=token, vmid=950, net0='virtio,bridge=vmbr0,tag=20')
    assert status == 200, body
    until(lambda: pve.vm(950) is not None and not pve.vm(950).lock, 'VM 950')
    status, body = raw(cluster, 'PUT', qemu + '/950/config', token=token, net1='virtio,bridge=vmbr0')
    assert (status, _message(body)) == (403, 'Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)')
    assert raw(cluster, 'PUT', qemu + '/950/config', token=token, memory='1024')[0] == 200
    # A clone checks the source's bridges: allowed on the tag.
    status, body = raw(cluster, 'POST', qemu + '/950/clone', token=token, newid=951)
    assert status == 200, body
    until(lambda: pve.vm(951) is not None and not pve.vm(951).lock, 'VM 951')
    # Destroyed: the entries on /vms/951 are gone from the ACL list and from the privileges.
    assert raw(cluster, 'DELETE', qemu + '/951')[0] == 200
    until(lambda: pve.vm(951) is None, 'VM 951 gone')
    paths = [entry['path'] for entry in root.access.acl.get()]
    assert '/vms/951' not in paths and '/vms/950' in paths
    assert not pve.allowed('ops@pve!ci', '/vms/951', 'VM.Allocate')
    # ... and another ACL update does not bring them back.
    root.access.acl.put(path='/vms/952', roles='Guests', users='ops@pve')
    assert not pve.allowed('ops@pve!ci', '/vms/951', 'VM.Allocate')
    # A container's too.
    ct = pve.cts[0]
    ct.status = 'stopped'
    root.access.acl.put(path='/vms/{0}'.format(ct.vmid), roles='Guests', users='ops@pve')
    assert raw(cluster, 'DELETE', '/nodes/{0}/lxc/{1}'.format(ct.node, ct.vmid))[0] == 200
    until(lambda: pve.ct(ct.vmid) is None, 'the container gone')
    assert '/vms/{0}'.format(ct.vmid) not in [entry['path'] for entry in root.access.acl.get()]
