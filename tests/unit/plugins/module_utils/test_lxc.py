# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/lxc.py: container options, property strings, checks and change plans."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import lxc
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError

GIB = 1024 ** 3
CURRENT = {
    'hostname': 'web-01', 'memory': 512, 'swap': 512, 'cores': 1, 'unprivileged': 1, 'ostype': 'debian',
    'rootfs': 'local-lvm:vm-100-disk-0,size=8G',
    'mp0': 'local-lvm:vm-100-disk-1,mp=/srv,backup=1,size=4G',
    'net0': 'name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth',
    'features': 'nesting=1', 'tags': 'prod;web', 'nameserver': '192.0.2.53 192.0.2.54',
    'startup': 'order=2,up=30',
}


def params(**given):
    """Module params as Ansible hands them over: every option present, None when not given."""
    out = dict.fromkeys(('cores', 'cpulimit', 'cpuunits', 'memory', 'swap', 'onboot', 'protection', 'description',
                         'searchdomain', 'nameserver', 'tags', 'timezone', 'ostype', 'arch', 'features', 'startup',
                         'rootfs', 'mounts', 'nets', 'config', 'absent_keys'))
    out.update(given)
    return out


def mount(**given):
    spec = dict.fromkeys(('slot', 'storage', 'size', 'volume', 'path', 'acl', 'quota', 'ro', 'backup', 'replicate',
                          'shared', 'keepattrs', 'mountoptions', 'state'))
    spec.update(given)
    return spec


def net(**given):
    spec = dict.fromkeys(lxc.NET_OPTION_KEYS + ('slot', 'state'))
    spec.update(given)
    return spec


# ---------------------------------------------------------------- desired configuration

def test_only_given_options_are_desired():
    assert lxc.desired_config(params(memory=1024)) == {'memory': 1024}
    assert lxc.desired_config(params()) == {}


def test_absent_keys_are_absent_and_refuse_conflicts():
    assert lxc.desired_config(params(absent_keys=['cpulimit', 'mp1'])) == {'cpulimit': ABSENT, 'mp1': ABSENT}
    with pytest.raises(ProxmoxConfigError, match='also given a value'):
        lxc.desired_config(params(cores=2, absent_keys=['cores']))
    with pytest.raises(ProxmoxConfigError, match='required'):
        lxc.desired_config(params(absent_keys=['rootfs']))
    with pytest.raises(ProxmoxConfigError, match="unknown container option 'bogus'"):
        lxc.desired_config(params(absent_keys=['bogus']))


@pytest.mark.parametrize('key', ['foo', 'net32', 'mp256', 'scsi0', 'name'])
def test_unknown_config_keys_fail(key):
    with pytest.raises(ProxmoxConfigError, match='unknown container option'):
        lxc.desired_config(params(config={key: '1'}))


@pytest.mark.parametrize('key', ['unprivileged', 'template', 'lock', 'digest'])
def test_read_only_config_keys_fail(key):
    with pytest.raises(ProxmoxConfigError, match='cannot be set through config'):
        lxc.desired_config(params(config={key: '1'}))


def test_config_key_with_its_own_option_fails():
    with pytest.raises(ProxmoxConfigError, match='also given by its own option'):
        lxc.desired_config(params(memory=1024, config={'memory': 2048}))


@pytest.mark.parametrize('key', ['cmode', 'tty', 'lxc.cgroup2.devices.allow', 'dev0', 'net31', 'mp255'])
def test_known_config_keys_pass(key):
    value = 'name=eth1,bridge=vmbr0' if key.startswith('net') else \
        'local-lvm:vm-100-disk-3,mp=/x' if key.startswith('mp') else '1'
    assert key in lxc.desired_config(params(config={key: value}))


@pytest.mark.parametrize('text, word', [
    ('name=eth1,ip=300.1.1.1/24', 'ip'),
    ('name=eth1,ip=192.0.2.1', 'ip'),
    ('name=eth1,ip6=192.0.2.1/24', 'ip6'),
    ('name=eth1,gw=dhcp', 'gw'),
    ('name=eth1,tag=4095', 'tag'),
    ('name=eth1,tag=0', 'tag'),
    ('name=eth1,mtu=10', 'mtu'),
    ('name=eth 1', 'name'),
    ('name=eth1,hwaddr=01:00:00:00:00:01', 'multicast'),
    ('name=eth1,hwaddr=zz', 'hwaddr'),
    ('name=eth1,speed=10', 'unknown key'),
    ('name=eth1,type=macvlan', 'veth'),
    ('eth1', 'expected key=value'),
])
def test_invalid_net_strings_fail(text, word):
    with pytest.raises(ProxmoxConfigError, match=word):
        lxc.desired_config(params(config={'net1': text}))


@pytest.mark.parametrize('spec', [
    dict(ip='dhcp'), dict(ip='manual'), dict(ip='192.0.2.10/24', gw='192.0.2.1'), dict(ip6='auto'),
    dict(ip6='2001:db8::10/64', gw6='2001:db8::1'), dict(tag=1), dict(tag=4094), dict(trunks=[10, 20]),
    dict(hwaddr='BC:24:11:00:00:01'), dict(mtu=9000, rate=12.5, firewall=True, link_down=False),
])
def test_valid_nets_pass(spec):
    desired = lxc.desired_config(params(nets=[net(slot='net0', name='eth0', bridge='vmbr0', **spec)]))
    assert desired['net0']['bridge'] == 'vmbr0'


def test_nets_and_mounts_given_twice_or_out_of_range_fail():
    with pytest.raises(ProxmoxConfigError, match='given twice'):
        lxc.desired_config(params(nets=[net(slot='net0', name='eth0'), net(slot='net0', name='eth1')]))
    with pytest.raises(ProxmoxConfigError, match=r'not one of net0 \.\.\. net31'):
        lxc.desired_config(params(nets=[net(slot='net32', name='eth0')]))
    with pytest.raises(ProxmoxConfigError, match=r'not one of mp0 \.\.\. mp255'):
        lxc.desired_config(params(mounts=[mount(slot='mp300', storage='x', size='1G', path='/x')]))
    with pytest.raises(ProxmoxConfigError, match='not one of'):
        lxc.desired_config(params(mounts=[mount(slot='net0', storage='x', size='1G', path='/x')]))


@pytest.mark.parametrize('slot, key', [('net0', 'net0'), ('7', 'net7'), (' net31 ', 'net31'), ('net007', 'net7')])
def test_slots(slot, key):
    assert lxc.slot_key(slot, 'net', lxc.MAX_NETS, 'nets') == key


@pytest.mark.parametrize('spec, word', [
    (dict(storage='local-lvm', volume='local-lvm:vm-1-disk-0'), 'not both'),
    (dict(volume='/srv/share', size='1G', path='/x'), 'no size'),
    (dict(volume='/srv/share', quota=True, path='/x'), 'volumes only'),
    (dict(volume='/srv/../etc', path='/x'), 'absolute path'),
    (dict(volume='nocolon', path='/x'), 'not a volume id'),
    (dict(storage='local-lvm', size='-1G', path='/x'), 'not a size'),
    (dict(storage='local-lvm', size='0', path='/x'), 'more than 0'),
    (dict(storage='local-lvm', size='1G', path='relative'), 'absolute path'),
    (dict(storage='local-lvm', size='1G', path='/x', mountoptions=['rw']), 'mount option'),
])
def test_invalid_mounts_fail(spec, word):
    with pytest.raises(ProxmoxConfigError, match=word):
        lxc.desired_config(params(mounts=[mount(slot='mp0', **spec)]))


def test_rootfs_has_no_path():
    with pytest.raises(ProxmoxConfigError, match='no path'):
        lxc.desired_config(params(rootfs=mount(storage='local-lvm', size='8G', path='/')))


@pytest.mark.parametrize('option, value, word', [
    ('tags', ['ok', 'bad tag'], 'tag'), ('nameserver', ['dns.example.com'], 'nameserver'),
    ('cpulimit', 9000.0, 'cpulimit'), ('cores', 0, 'cores'), ('memory', 8, 'memory'), ('swap', -1, 'swap'),
    ('features', {'mount': 'nfs,cifs'}, 'features.mount'),
])
def test_invalid_scalars_fail(option, value, word):
    with pytest.raises(ProxmoxConfigError, match=word):
        lxc.desired_config(params(**{option: value}))


@pytest.mark.parametrize('name', ['web-01', 'a', 'web.example.com'])
def test_hostnames(name):
    assert lxc.check_hostname(name) == name


@pytest.mark.parametrize('name', ['-web', 'web_01', 'web..x', 'a' * 64 + '.' * 200])
def test_bad_hostnames(name):
    with pytest.raises(ProxmoxConfigError, match='not a valid hostname'):
        lxc.check_hostname(name)


# ---------------------------------------------------------------- create

def test_create_params_allocate_new_volumes_in_gib():
    desired = lxc.desired_config(params(
        memory=1024, features={'nesting': True, 'keyctl': None, 'mount': ['nfs', 'cifs']},
        rootfs=mount(storage='local-lvm', size='8G'),
        mounts=[mount(slot='mp1', storage='local-lvm', size='512M', path='/srv', backup=True)],
        nets=[net(slot='net0', name='eth0', bridge='vmbr0', ip='dhcp', firewall=True)],
        tags=['web', 'prod'], nameserver=['192.0.2.53', '192.0.2.54'], onboot=True))
    assert lxc.create_params(desired) == {
        'memory': 1024, 'features': 'mount=nfs;cifs,nesting=1', 'rootfs': 'local-lvm:8',
        'mp1': 'local-lvm:0.5,mp=/srv,backup=1', 'net0': 'name=eth0,bridge=vmbr0,firewall=1,ip=dhcp',
        'tags': 'prod;web', 'nameserver': '192.0.2.53 192.0.2.54', 'onboot': 1}


def test_create_diff_shows_new_volumes():
    desired = lxc.desired_config(params(memory=512, rootfs=mount(storage='local-lvm', size='8192M'),
                                        mounts=[mount(slot='mp0', volume='/srv/share', path='/share')]))
    assert lxc.shown_new(desired, lxc.create_params(desired)) == {
        'memory': '512', 'rootfs': 'local-lvm:(new),size=8G', 'mp0': '/srv/share,mp=/share'}


@pytest.mark.parametrize('given, word', [
    (dict(rootfs=mount(storage='local-lvm')), 'needs a size'),
    (dict(mounts=[mount(slot='mp0', storage='local-lvm', size='1G')]), 'needs a path'),
    (dict(nets=[net(slot='net0', bridge='vmbr0')]), 'needs a name'),
])
def test_create_params_need_the_essentials(given, word):
    with pytest.raises(ProxmoxConfigError, match=word):
        lxc.create_params(lxc.desired_config(params(**given)))


@given(st.integers(min_value=1, max_value=64 * 1024).map(lambda mib: mib * 1024 ** 2))
def test_new_volume_sizes_are_exact(size):
    storage, gib = lxc.new_volume('local-lvm', size).split(':')
    assert storage == 'local-lvm'
    assert float(gib) * GIB == pytest.approx(size)


# ---------------------------------------------------------------- plans

def plan(**given):
    return lxc.plan_change(lxc.desired_config(params(**given)), CURRENT, label='CT 100')


def test_same_values_in_other_spellings_change_nothing():
    same = plan(memory=512, cores=1, tags=['WEB', 'prod'], nameserver=['192.0.2.53', '192.0.2.54'],
                features={'nesting': True}, startup={'up': 30, 'order': 2},
                rootfs=mount(storage='local-lvm', size='8192M'),
                mounts=[mount(slot='mp0', storage='local-lvm', size='4G', path='/srv', backup=True)],
                nets=[net(slot='net0', name='eth0', bridge='vmbr0', ip='dhcp', firewall=True)])
    assert not same.changed
    assert same.params == {} and same.delete == [] and same.resize == []


def test_one_changed_field_sends_only_that_field():
    changed = plan(memory=1024, cores=1)
    assert changed.params == {'memory': 1024}
    assert changed.before['memory'] == '512' and changed.after['memory'] == '1024'


def test_net_keeps_sub_keys_not_given_and_its_mac():
    changed = plan(nets=[net(slot='net0', ip='192.0.2.10/24', gw='192.0.2.1', tag=20)])
    assert lxc.parse_props('net', changed.params['net0']) == {
        'name': 'eth0', 'bridge': 'vmbr0', 'firewall': '1', 'hwaddr': 'BC:24:11:00:00:01', 'ip': '192.0.2.10/24',
        'type': 'veth', 'gw': '192.0.2.1', 'tag': '20'}


def test_a_new_net_needs_a_name_and_absent_removes():
    with pytest.raises(ProxmoxConfigError, match='needs a name'):
        plan(nets=[net(slot='net1', bridge='vmbr0')])
    removed = plan(nets=[net(slot='net0', state='absent'), net(slot='net5', state='absent')])
    assert removed.delete == ['net0'] and removed.params == {}


def test_features_merge():
    changed = plan(features={'keyctl': True, 'nesting': None})
    assert changed.params == {'features': 'keyctl=1,nesting=1'}


def test_tags_add_unless_purged():
    desired = lxc.desired_config(params(tags=['db']))
    assert lxc.plan_change(desired, CURRENT).params == {'tags': 'db;prod;web'}
    assert lxc.plan_change(desired, CURRENT, tags_purge=True).params == {'tags': 'db'}
    assert not lxc.plan_change(lxc.desired_config(params(tags=['web'])), CURRENT).changed


def test_rootfs_and_mount_points_grow_only():
    grown = plan(rootfs=mount(size='16G'), mounts=[mount(slot='mp0', size='6G')])
    assert grown.resize == [('mp0', 6 * GIB), ('rootfs', 16 * GIB)]
    assert grown.params == {}
    with pytest.raises(ProxmoxConfigError, match='cannot shrink'):
        plan(rootfs=mount(size='4G'))
    with pytest.raises(ProxmoxConfigError, match='cannot shrink'):
        plan(config={'mp0': 'local-lvm:vm-100-disk-1,mp=/srv,size=1G'})


def test_volumes_are_not_moved_or_replaced():
    with pytest.raises(ProxmoxConfigError, match='moving a volume'):
        plan(rootfs=mount(storage='ceph', size='8G'))
    with pytest.raises(ProxmoxConfigError, match='replacing'):
        plan(mounts=[mount(slot='mp0', volume='local-lvm:vm-100-disk-9', path='/srv')])


def test_new_mount_point_and_option_change():
    added = plan(mounts=[mount(slot='mp1', storage='local-lvm', size='2G', path='/data'),
                         mount(slot='mp0', ro=True)])
    assert added.params['mp1'] == 'local-lvm:2,mp=/data'
    assert lxc.parse_props('mount', added.params['mp0']) == {
        'volume': 'local-lvm:vm-100-disk-1', 'mp': '/srv', 'backup': '1', 'size': '4G', 'ro': '1'}
    assert added.before['mp1'] is None


def test_delete_only_keys_that_exist():
    removed = plan(absent_keys=['swap', 'cpulimit'])
    assert removed.delete == ['swap'] and removed.before == {'swap': '512'}


# ---------------------------------------------------------------- results

def test_binds_storages_and_bridges_named():
    desired = lxc.desired_config(params(
        rootfs=mount(storage='local-lvm', size='8G'),
        mounts=[mount(slot='mp0', volume='/srv/share', path='/share'), mount(slot='mp1', storage='tank', size='1G', path='/t')],
        nets=[net(slot='net0', name='eth0', bridge='vmbr1'), net(slot='net1', state='absent')],
        config={'mp2': '/dev/sdb,mp=/dev/sdb', 'net3': 'name=eth3,bridge=vnet7'}))
    assert lxc.bind_mounts(desired) == ['mp0', 'mp2']
    assert lxc.storages_named(desired) == {'local-lvm': ['rootfs'], 'tank': ['mp1']}
    assert lxc.bridges_named(desired) == {'vmbr1': ['net0'], 'vnet7': ['net3']}


def test_interfaces_and_addresses():
    config = {'net0': 'name=eth0,bridge=vmbr0,ip=192.0.2.10/24,ip6=auto', 'net1': 'name=eth1,ip=dhcp'}
    from_config = lxc.interfaces_from_config(config)
    assert [i['inet'] for i in from_config] == ['192.0.2.10/24', None]
    assert from_config[1]['inet_method'] == 'dhcp'
    assert lxc.ip_addresses(from_config) == ['192.0.2.10']
    answer = [{'name': 'lo', 'inet': '127.0.0.1/8'},
              {'name': 'eth0', 'hwaddr': 'bc:24:11:00:00:01', 'inet': '192.0.2.10/24', 'inet6': 'fe80::1/64',
               'ip-addresses': [{'ip-address': '192.0.2.10', 'prefix': '24', 'ip-address-type': 'inet'},
                                {'ip-address': 'fe80::1', 'prefix': 64, 'ip-address-type': 'inet6'}]}]
    from_api = lxc.interfaces_from_api(answer)
    assert [i['name'] for i in from_api] == ['eth0']
    assert lxc.ip_addresses(from_api) == ['192.0.2.10', 'fe80::1']


@given(st.dictionaries(st.sampled_from(sorted(lxc.NET_KEYS)), st.from_regex(r'\A[a-z0-9./:]{1,12}\Z'), max_size=6))
def test_net_strings_round_trip(props):
    assert lxc.parse_props('net', lxc.render_props('net', props)) == props
