# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/nodes/{node}/{qemu,lxc}/{vmid}/remote_migrate: guests move between two lab clusters, with PVE's checks."""

import pytest

from tests.lab.areas.remote_migrate import map_id, parse_idmap, registered

TWO = dict(clusters=2, nodes=2, guests=6)


def endpoint(cluster, fingerprint=None, secret=None, port=True):
    parts = ['host={0}'.format(cluster.host)]
    if port:
        parts.append('port={0}'.format(cluster.port))
    parts.append('apitoken=PVEAPIToken={0}={1}'.format(cluster.token_id, secret or cluster.token_secret))
    parts.append('fingerprint={0}'.format(fingerprint or cluster.fingerprint))
    return ','.join(parts)


def task_end(raw, cluster, upid):
    node = upid.split(':')[1]
    status = raw(cluster, 'GET', '/nodes/{0}/tasks/{1}/status'.format(node, upid))[1]['data']
    log = raw(cluster, 'GET', '/nodes/{0}/tasks/{1}/log'.format(node, upid))[1]['data']
    return status['exitstatus'], [line['t'] for line in log]


def test_idmaps_as_pve_parses_them():
    assert parse_idmap('local-lvm:fast,vmbr0', 'pve-storage-id') == {'entries': {'local-lvm': 'fast'}, 'default': 'vmbr0'}
    assert parse_idmap('1', 'pve-bridge-id') == {'identity': 1}
    with pytest.raises(ValueError, match='identity mapping cannot be combined'):
        parse_idmap('1,st1:st2', 'pve-storage-id')
    with pytest.raises(ValueError, match="duplicate mapping for source 'st1'"):
        parse_idmap('st1:st2,st1:st3', 'pve-storage-id')
    with pytest.raises(ValueError, match='default target ID can only be provided once'):
        parse_idmap('st1,st2', 'pve-storage-id')
    assert map_id({'entries': {'a': 'b'}, 'default': 'c'}, 'a') == 'b'
    assert map_id({'entries': {'a': 'b'}, 'default': 'c'}, 'x') == 'c'
    assert map_id({'entries': {'a': 'b'}}, 'x') == 'x'


@pytest.mark.lab(**TWO)
def test_vm_moves_with_mapped_storage_and_bridge_and_source_is_deleted(lab_fn, raw):
    source, target = lab_fn.clusters
    assert registered(target.host, target.port) is target.pve
    target.pve.bridges.add('vmbr1')
    vm = source.pve.vm(102)
    node = vm.node
    status, body = raw(source, 'POST', '/nodes/{0}/qemu/102/remote_migrate'.format(node),
                       **{'target-endpoint': endpoint(target), 'target-storage': 'local-lvm:local-lvm',
                          'target-bridge': 'vmbr0:vmbr1', 'target-vmid': 1102, 'delete': 1})
    assert status == 200, body
    upid = body['data']
    assert ':qmigrate:102:' in upid and upid.startswith('UPID:{0}:'.format(node))
    exitstatus, log = task_end(raw, source, upid)
    assert exitstatus == 'OK', log
    assert "Establishing API connection with remote at '{0}'".format(target.host) in log
    assert 'mapped: net0 from vmbr0 to vmbr1' in log
    moved = target.pve.vm(1102)
    assert moved is not None and moved.name == vm.name and moved.node == target.nodes[0]
    assert moved.config['scsi0'].startswith('local-lvm:vm-1102-disk-0,')
    assert 'bridge=vmbr1' in moved.config['net0'] and 'lock' not in moved.config
    assert source.pve.vm(102) is None


@pytest.mark.lab(**TWO)
def test_without_delete_the_source_stays_stopped_and_locked(lab_fn, raw):
    source, target = lab_fn.clusters
    node = source.pve.vm(100).node
    status, body = raw(source, 'POST', '/nodes/{0}/qemu/100/remote_migrate'.format(node),
                       **{'target-endpoint': endpoint(target, port=False).replace(',apitoken', ',port={0},apitoken'.format(target.port)),
                          'target-storage': 'local-lvm', 'target-bridge': 'vmbr0'})
    assert status == 500 and body['message'].startswith("can't migrate running VM without --online")
    status, body = raw(source, 'POST', '/nodes/{0}/qemu/100/remote_migrate'.format(node),
                       **{'target-endpoint': endpoint(target), 'target-storage': 'local-lvm', 'target-bridge': 'vmbr0',
                          'online': 1})
    assert status == 200, body
    exitstatus, log = task_end(raw, source, body['data'])
    assert exitstatus == 'OK', log
    assert target.pve.vm(100).status == 'running'
    kept = source.pve.vm(100)
    assert kept.status == 'stopped' and kept.lock == 'migrate'


@pytest.mark.lab(**TWO)
def test_checks_before_anything_moves(lab_fn, raw):
    source, target = lab_fn.clusters
    node = source.pve.vm(102).node
    path = '/nodes/{0}/qemu/102/remote_migrate'.format(node)
    good = {'target-endpoint': endpoint(target), 'target-storage': 'local-lvm', 'target-bridge': 'vmbr0'}
    wrong_fp = endpoint(target, fingerprint=':'.join(['AB'] * 32))
    status, body = raw(source, 'POST', path, **dict(good, **{'target-endpoint': wrong_fp}))
    assert (status, body['message'].strip()) == (
        500, "500 Can't connect to {0}:{1} (certificate verify failed)".format(target.host, target.port))
    status, body = raw(source, 'POST', path, **dict(good, **{'target-endpoint': endpoint(target, secret='nope')}))
    assert (status, body['message'].strip()) == (500, '401 authentication failure')
    assert 'nope' not in str(body)
    status, body = raw(source, 'POST', path, **dict(good, **{'target-storage': '1'}))
    assert (status, body['message'].strip()) == (500, 'remote migration requires explicit storage mapping!')
    status, body = raw(source, 'POST', path, **dict(good, **{'target-storage': 'st1:st2,st1:st3'}))
    assert status == 400 and body['errors']['target-storage'].startswith("failed to parse storage map: duplicate mapping")
    status, body = raw(source, 'POST', path, **dict(good, **{'target-endpoint': 'host={0}'.format(target.host)}))
    assert status == 400 and 'apitoken: property is missing' in body['errors']['target-endpoint']
    assert source.pve.vm(102).node == node and target.pve.vm(102) is None
    # The remote's own checks fail the task: a bridge it lacks, a vmid it has.
    status, body = raw(source, 'POST', path, **dict(good, **{'target-bridge': 'vmbr7'}))
    exitstatus, _log = task_end(raw, source, body['data'])
    assert exitstatus == "migration aborted (duration 00:00:00): bridge 'vmbr7' does not exist"
    status, body = raw(source, 'POST', path, **dict(good, **{'target-vmid': 101}))
    exitstatus, _log = task_end(raw, source, body['data'])
    assert exitstatus.endswith("unable to create empty VM config - VM 101 already exists on node '{0}'".format(
        target.pve.vm(101).node))
    assert source.pve.vm(102).lock is None and source.pve.vm(102).node == node


@pytest.mark.lab(**TWO)
def test_container_restart_migration_and_ha_refusal(lab_fn, raw):
    target, source = lab_fn.clusters
    ct = source.pve.ct(103)
    node = ct.node
    assert raw(source, 'POST', '/nodes/{0}/lxc/103/status/start'.format(node))[0] == 200
    assert ct.status == 'running'
    path = '/nodes/{0}/lxc/103/remote_migrate'.format(node)
    good = {'target-endpoint': endpoint(target), 'target-storage': 'local-lvm', 'target-bridge': 'vmbr0'}
    status, body = raw(source, 'POST', path, **good)
    assert (status, body['message'].strip()) == (500, "can't migrate running container without --online or --restart")
    status, body = raw(source, 'POST', path, **dict(good, restart=1, delete=1))
    assert status == 200 and ':vzmigrate:103:' in body['data']
    exitstatus, log = task_end(raw, source, body['data'])
    assert exitstatus == 'OK', log
    moved = target.pve.ct(103)
    assert moved.status == 'running' and moved.config['rootfs'].startswith('local-lvm:vm-103-disk-0')
    assert source.pve.ct(103) is None
    # HA-managed guests are refused before anything happens.
    vm = source.pve.vm(105)
    vm.ha_state = 'started'
    status, body = raw(source, 'POST', '/nodes/{0}/qemu/105/remote_migrate'.format(vm.node), online=1, **good)
    assert status == 400 and body['errors'] == {'vmid': 'cannot remote-migrate VM that is configured for HA'}


@pytest.mark.lab(time_scale=0.001, **TWO)
def test_the_task_holds_the_migrate_lock(lab_fn, raw, until):
    source, target = lab_fn.clusters
    gate = lab_fn.event()
    source.pve.remote_migrate_gate = gate
    node = source.pve.vm(102).node
    path = '/nodes/{0}/qemu/102/remote_migrate'.format(node)
    good = {'target-endpoint': endpoint(target), 'target-storage': 'local-lvm', 'target-bridge': 'vmbr0', 'delete': 1}
    status, body = raw(source, 'POST', path, **good)
    assert status == 200
    until(lambda: source.pve.vm(102).lock == 'migrate', 'the migrate lock')
    assert raw(source, 'GET', '/nodes/{0}/qemu/102/config'.format(node))[1]['data']['lock'] == 'migrate'
    status, again = raw(source, 'POST', path, **good)
    assert (status, again['message'].strip()) == (500, 'VM is locked (migrate)')
    assert target.pve.vm(102) is None
    lab_fn.set_event(gate)
    until(lambda: source.pve.vm(102) is None and target.pve.vm(102) is not None, 'the end of the migration')
    assert task_end(raw, source, body['data'])[0] == 'OK'
