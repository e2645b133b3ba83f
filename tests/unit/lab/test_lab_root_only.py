# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Methods declared without permissions are the root@pam login's alone, as pve-access-control's
PVE/RPCEnvironment.pm check_api2_permissions decides: only `root@pam` itself returns early, so every API token
(root's own too, with or without privilege separation) and every other user gets
`403 Permission check failed (user != root@pam)` before the handler, its parameters or its node are looked at."""

import pytest
from fakepve import schema as pve_schema

pytestmark = pytest.mark.lab(clusters=1, nodes=1, guests=1)

REFUSED = (403, 'Permission check failed (user != root@pam)')


def _root_only_methods():
    """(method, template) of every method of the lab's (PVE 9) schema without `permissions`."""
    return sorted((method, template) for template, methods in pve_schema.load().paths.items()
                  for method, info in methods.items() if info.get('permissions') is None)


def _path(template, node):
    filled = {'node': node, 'storage': 'local', 'volume': 'local:vm-100-disk-0', 'osdid': '0', 'name': 'default',
              'vnet': 'vnet1'}
    for key, value in filled.items():
        template = template.replace('{' + key + '}', value)
    return template


def test_the_schema_declares_the_known_root_only_methods():
    """The rule is read from the schema, not listed by hand; these are the ones PVE 9 (and 8.4) declare."""
    found = _root_only_methods()
    for known in (('POST', '/cluster/config'), ('POST', '/cluster/config/join'),
                  ('POST', '/cluster/config/nodes/{node}'), ('DELETE', '/cluster/config/nodes/{node}'),
                  ('POST', '/nodes/{node}/ceph/osd'), ('DELETE', '/nodes/{node}/ceph/osd/{osdid}'),
                  ('PUT', '/nodes/{node}/disks/wipedisk'), ('POST', '/cluster/acme/account'),
                  ('POST', '/nodes/{node}/storage/{storage}/content/{volume}')):
        assert known in found


@pytest.mark.parametrize('method,template', _root_only_methods())
def test_every_token_and_user_is_refused(lab_fn, raw, api, method, template):
    cluster = lab_fn.clusters[0]
    pve = cluster.pve
    path = _path(template, cluster.nodes[0])
    before = len(pve.tasklog)
    # The lab's own token: root@pam!lab, without privilege separation (it holds every privilege of root).
    status, body = raw(cluster, method, path)
    assert (status, body.get('message', '').strip()) == REFUSED
    # Also without any parameter and on a node that does not exist: the permission check comes first.
    status, body = raw(cluster, method, path.replace(cluster.nodes[0], 'no-such-node'))
    assert (status, body.get('message', '').strip()) == REFUSED
    # A root token with privilege separation and Administrator on /.
    secret = pve.add_token('root@pam', 'sep', privsep=1)
    api(cluster).access.acl.put(path='/', roles='Administrator', tokens='root@pam!sep')
    status, body = raw(cluster, method, path, token=('root@pam!sep', secret))
    assert (status, body.get('message', '').strip()) == REFUSED
    # Another user's token, the user an Administrator on /.
    pve.users['admin@pve'] = 'admin-secret'
    api(cluster).access.acl.put(path='/', roles='Administrator', users='admin@pve')
    secret = pve.add_token('admin@pve', 'ops', privsep=0)
    status, body = raw(cluster, method, path, token=('admin@pve!ops', secret))
    assert (status, body.get('message', '').strip()) == REFUSED
    # Nothing ran.
    assert len(pve.tasklog) == before


def test_root_login_passes_the_check(lab_fn, api):
    """root@pam with its password gets past the permission check (the handler then answers)."""
    from proxmoxer.core import ResourceException
    cluster = lab_fn.clusters[0]
    root = api(cluster, auth='ticket')
    node = cluster.nodes[0]
    try:
        root.nodes(node).disks.wipedisk.put(disk='/dev/sdb')
    except ResourceException as error:
        assert error.status_code != 403
    assert root.cluster('backup-info').get() is not None


def test_root_tokens_keep_checked_methods_as_privsep_says(lab_fn, api):
    """Methods with a `check` are not root-only: root's token without privsep holds every privilege; with privsep,
    only what its own ACL entries also give."""
    from proxmoxer.core import ResourceException
    cluster = lab_fn.clusters[0]
    node = cluster.nodes[0]
    vmid = cluster.pve.vms[0].vmid
    assert api(cluster).nodes(node).qemu(vmid).config.get()
    secret = cluster.pve.add_token('root@pam', 'sep', privsep=1)
    sep = api(cluster, token=('root@pam!sep', secret))
    with pytest.raises(ResourceException) as caught:
        sep.nodes(node).qemu(vmid).config.get()
    assert (caught.value.status_code, caught.value.content) == (
        403, 'Permission check failed (/vms/{0}, VM.Audit)'.format(vmid))
    api(cluster).access.acl.put(path='/vms/{0}'.format(vmid), roles='PVEAuditor', tokens='root@pam!sep')
    assert sep.nodes(node).qemu(vmid).config.get()
