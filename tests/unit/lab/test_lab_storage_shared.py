# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`shared` as PVE reports it: 1 for every storage of a shared type (pve-storage's @SHARED_STORAGE, set when
storage.cfg is parsed), whatever made the storage; for the other types only when configured."""

import pytest

pytestmark = pytest.mark.lab(clusters=1, nodes=2, guests=0)

# type -> the options PVE needs to create one
SHARED = {
    'nfs': {'server': '192.0.2.10', 'export': '/export/a'},
    'cifs': {'server': '192.0.2.11', 'share': 'a'},
    'cephfs': {'monhost': '192.0.2.12'},
    'rbd': {'pool': 'a', 'monhost': '192.0.2.13'},
    'iscsi': {'portal': '192.0.2.14', 'target': 'iqn.2026-01.example:a'},
    'iscsidirect': {'portal': '192.0.2.15', 'target': 'iqn.2026-01.example:b'},
    'zfs': {'portal': '192.0.2.16', 'target': 'iqn.2026-01.example:c', 'pool': 'tank', 'iscsiprovider': 'LIO',
            'blocksize': '4k', 'lio_tpg': 'tpg1'},
    'pbs': {'server': '192.0.2.17', 'datastore': 'store1', 'username': 'backup@pbs', 'password': 'secret'},
}
LOCAL = {
    'dir': {'path': '/srv/a'},
    'lvmthin': {'vgname': 'vg0', 'thinpool': 'data'},
    'zfspool': {'pool': 'rpool/a'},
}


def _by_id(items, key='storage'):
    return dict((item[key], item) for item in items)


def test_shared_follows_the_storage_type(lab_fn, api):
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    node = cluster.nodes[0]
    for kind, options in sorted(dict(SHARED, **LOCAL).items()):
        client.storage.post(storage='s-' + kind, type=kind, content=None, **options)
    client.storage.post(storage='s-dir-shared', type='dir', path='/srv/b', shared=1)
    # A test (or an area) writing storage.cfg straight into the lab gets what PVE would read back.
    cluster.pve.storages['s-direct-pbs'] = {'type': 'pbs', 'server': '192.0.2.18', 'datastore': 'x', 'active': 1,
                                            'content': 'backup', 'files': set(), 'volumes': {}}
    expected = dict(('s-' + kind, 1) for kind in SHARED)
    expected.update(('s-' + kind, 0) for kind in LOCAL)
    expected.update({'s-dir-shared': 1, 's-direct-pbs': 1, 'local': 0})

    resources = [r for r in client.cluster.resources.get(type='storage') if r['node'] == node]
    assert dict((sid, _by_id(resources)[sid]['shared']) for sid in expected) == expected
    status = _by_id(client.nodes(node).storage.get())
    assert dict((sid, status[sid]['shared']) for sid in expected) == expected
    config = _by_id(client.storage.get())
    assert dict((sid, config[sid].get('shared', 0)) for sid in expected) == expected


def test_a_shared_type_takes_no_shared_option(lab_fn, api):
    from proxmoxer.core import ResourceException
    cluster = lab_fn.clusters[0]
    client = api(cluster)
    client.storage.post(storage='s-pbs', type='pbs', **SHARED['pbs'])
    with pytest.raises(ResourceException) as caught:
        client.storage('s-pbs').put(shared=0)
    assert "unexpected property 'shared'" in caught.value.content
    assert client.storage('s-pbs').get()['shared'] == 1
