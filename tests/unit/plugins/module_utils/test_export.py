# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/export.py: API items -> module options, checked against the modules themselves.

Every exported dict is validated against the real argument spec of the module it is for (nothing unknown, nothing
converted), then handed to that module's own desired-state and compare code together with the API item it came
from: the module must find nothing to change. Changing the API item afterwards must make it find a change.
"""

from __future__ import annotations

import importlib

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import given, settings as hsettings, strategies as st

from ansible_collections.proxfleet.proxmox.plugins.module_utils import export, firewall as fw, ha, lxc, sdn, storage as storage_utils
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


class _Captured(Exception):
    pass


def module(name):
    return importlib.import_module('ansible_collections.proxfleet.proxmox.plugins.modules.' + name)


def argument_spec(name):
    """The argument spec a module's main() builds (its own options, without the connection ones)."""
    mod = module(name)
    seen = {}

    class Capture(object):
        def __init__(self, argument_spec=None, **_kwargs):
            seen['spec'] = argument_spec
            raise _Captured()

    original = mod.ProxmoxModule
    mod.ProxmoxModule = Capture
    try:
        mod.main()
    except _Captured:
        pass
    finally:
        mod.ProxmoxModule = original
    return seen['spec']


def _same(given, validated):
    """The validator changed nothing the export gave (it may add suboption defaults)."""
    if isinstance(given, dict):
        return all(_same(value, validated.get(key)) for key, value in given.items())
    if isinstance(given, list):
        return len(given) == len(validated) and all(_same(a, b) for a, b in zip(given, validated))
    return given == validated and type(given) is type(validated)


def params_of(name, options):
    """The module's params for the exported options: validated by its argument spec, as AnsibleModule would."""
    spec = argument_spec(name)
    unknown = sorted(set(options) - set(spec))
    assert not unknown, '{0} has no option {1}'.format(name, unknown)
    result = ArgumentSpecValidator(spec).validate(dict(options))
    assert not result.error_messages, result.error_messages
    assert _same(options, result.validated_parameters), (options, result.validated_parameters)
    return result.validated_parameters


# ------------------------------------------------------------------------------------------------ storage

STORAGES = [
    {'type': 'dir', 'content': 'iso,vztmpl,backup', 'path': '/var/lib/vz', 'storage': 'local', 'digest': 'ab'},
    {'type': 'lvmthin', 'content': 'images,rootdir', 'vgname': 'pve', 'thinpool': 'data', 'storage': 'local-lvm'},
    {'type': 'nfs', 'server': '192.0.2.50', 'export': '/export/pve-backup', 'path': '/mnt/pve/nfs-backup',
     'content': 'backup', 'shared': 1, 'prune-backups': 'keep-last=7', 'storage': 'nfs-backup', 'options': 'vers=4.2'},
    {'type': 'cifs', 'storage': 'cifs-iso', 'server': '192.0.2.60', 'share': 'iso', 'username': 'svc',
     'content': 'iso,vztmpl', 'nodes': 'n1,n2', 'path': '/mnt/pve/cifs-iso', 'smbversion': '3.0', 'domain': 'EX'},
    {'type': 'dir', 'storage': 'dir-x', 'path': '/srv/x', 'content': 'backup,images', 'shared': 1, 'disable': 1,
     'prune-backups': 'keep-daily=3,keep-weekly=2', 'max-protected-backups': 2, 'is_mountpoint': 'yes'},
    {'type': 'pbs', 'storage': 'pbs', 'server': 'pbs.example.com', 'datastore': 'main', 'namespace': 'a',
     'username': 'backup@pbs!pve', 'fingerprint': 'ab:cd', 'content': 'backup', 'port': 8007,
     'prune-backups': {'keep-all': '1'}, 'encryption-key': '12:34'},
    {'type': 'rbd', 'storage': 'ceph', 'pool': 'rbd', 'krbd': 0, 'content': 'images', 'monhost': '10.0.0.1 10.0.0.2',
     'username': 'admin'},
    {'type': 'zfspool', 'storage': 'zfs', 'pool': 'rpool/data', 'sparse': 1, 'blocksize': '16k',
     'content': 'images,rootdir'},
    {'type': 'lvm', 'storage': 'san-lvm', 'vgname': 'san', 'shared': 1, 'saferemove': 1, 'tagged_only': 1,
     'content': 'images'},
]


def storage_plan(options, item):
    pve_storage = module('pve_storage')
    params = params_of('pve_storage', options)
    fields = pve_storage.fields_for(item['type'])
    given = [opt for opt in storage_utils.TYPE_OPTIONS if params.get(opt) is not None]
    storage_utils.check_options(item['type'], given, creating=False)
    storage_utils.check_content(item['type'], params.get('content'))
    return compare(fields, pve_storage.desired_state(params, fields, item), item)


@pytest.mark.parametrize('item', STORAGES, ids=[s['storage'] for s in STORAGES])
def test_a_storage_exported_is_what_pve_storage_finds_unchanged(item):
    options = export.storage_options(item)
    assert options['storage'] == item['storage'] and options['type'] == item['type']
    changes = storage_plan(options, item)
    assert not changes.changed and not changes.immutable
    drifted = dict(item, content='images' if 'images' not in item['content'] else 'backup')
    if item['type'] in ('dir', 'nfs', 'cifs'):
        assert storage_plan(options, drifted).changed


def test_storage_secrets_and_what_is_not_exported():
    skipped = export.Skipped()
    by_id = dict((s['storage'], export.storage_options(s, skipped)) for s in STORAGES)
    # Write-only values are never exported, whatever the API shows of them.
    assert 'encryption_key' not in by_id['pbs'] and 'password' not in by_id['cifs-iso']
    assert by_id['pbs']['pbs_fingerprint'] == 'ab:cd'
    assert by_id['pbs']['prune_backups'] == {'keep_all': True}
    assert by_id['ceph']['monhost'] == ['10.0.0.1', '10.0.0.2'] and by_id['ceph']['krbd'] is False
    assert export.storage_secrets(by_id['cifs-iso']) == ['password']
    assert export.storage_secrets(by_id['pbs']) == ['password']
    assert export.storage_secrets(by_id['ceph']) == ['keyring']
    assert export.storage_secrets(by_id['local']) == []
    # A network storage's implicit `shared` is no drift and no loss; an unknown type is reported.
    assert skipped.items == []
    assert export.storage_options({'type': 'iscsi', 'storage': 'san', 'portal': 'x'}, skipped) is None
    assert skipped.items == [{'module': 'pve_storage', 'item': 'san', 'reason':
                              "storage type 'iscsi' is not managed by pve_storage"}]


# ------------------------------------------------------------------------------------------------ backup jobs

JOBS = [
    {'id': 'nightly', 'type': 'vzdump', 'schedule': '02:30', 'storage': 'nfs-backup', 'vmid': '101,100', 'mode': 'snapshot',
     'compress': 'zstd', 'enabled': 1, 'comment': 'nightly job', 'mailto': 'ops@example.com,dev@example.com',
     'prune-backups': {'keep-last': '3'}, 'notes-template': '{{guestname}}', 'next-run': 1767225600,
     'repeat-missed': 1, 'notification-mode': 'auto', 'bwlimit': 1000},
    {'id': 'weekly', 'type': 'vzdump', 'schedule': 'sun 04:00', 'storage': 'nfs-backup', 'all': 1, 'exclude': '101',
     'mode': 'stop', 'enabled': 0, 'protected': 1, 'node': 'n1'},
    {'id': 'pool', 'type': 'vzdump', 'schedule': 'daily', 'storage': 'pbs', 'pool': 'prod', 'fleecing': 'enabled=1'},
]


def job_plan(options, item):
    pve_backup_job = module('pve_backup_job')
    params = params_of('pve_backup_job', options)
    return compare(pve_backup_job.SPEC.fields, pve_backup_job.desired_state(params), item)


@pytest.mark.parametrize('item', JOBS, ids=[j['id'] for j in JOBS])
def test_a_backup_job_exported_is_what_pve_backup_job_finds_unchanged(item):
    options = export.backup_job_options(item)
    assert not job_plan(options, item).changed
    assert job_plan(options, dict(item, schedule='05:00')).changed


def test_backup_job_values_and_left_out_keys():
    skipped = export.Skipped()
    nightly, weekly, pool = [export.backup_job_options(job, skipped) for job in JOBS]
    assert nightly['vmid'] == [100, 101] and nightly['prune_backups'] == {'keep_last': 3}
    assert nightly['notes_template'] == '{{guestname}}' and nightly['mailto'] == ['ops@example.com', 'dev@example.com']
    assert weekly['all'] is True and weekly['exclude'] == [101] and weekly['protected'] is True
    assert pool['pool'] == 'prod'
    # all=0 is no selection: exporting it next to pool would be refused by the module.
    assert 'all' not in export.backup_job_options(dict(JOBS[2], all=0))
    assert skipped.items == [{'module': 'pve_backup_job', 'item': 'pool', 'reason': 'not options of pve_backup_job',
                              'keys': ['fleecing']}]


# ------------------------------------------------------------------------------------------------ HA

def test_ha_resources_round_trip_on_pve8_and_pve9():
    item = {'sid': 'vm:100', 'type': 'vm', 'state': 'enabled', 'group': 'g1', 'max_restart': 2, 'comment': 'db',
            'digest': 'x'}
    current = dict(item)
    for key, value in ha.RESOURCE_DEFAULTS.items():
        current.setdefault(key, value)
    for uses_rules in (False, True):
        options = export.ha_resource_options(item, uses_rules)
        params = params_of('pve_ha_resource', options)
        assert options['state'] == 'started' and options['max_relocate'] == 1
        assert ('group' in options) is not uses_rules
        desired = ha.absent_if_empty(params, ('comment',))
        desired.update(state=params['state'], max_restart=params['max_restart'], max_relocate=params['max_relocate'],
                       group=params['group'])
        assert not compare(ha.RESOURCE_SPEC.fields, desired, current).changed
        assert compare(ha.RESOURCE_SPEC.fields, desired, dict(current, max_restart=3)).changed


def test_ha_group_round_trip():
    item = {'group': 'prefer1', 'type': 'group', 'nodes': 'n2,n1:2', 'restricted': 1, 'comment': 'grp'}
    options = export.ha_group_options(item)
    assert options == {'name': 'prefer1', 'nodes': ['n1:2', 'n2'], 'restricted': True, 'nofailback': False,
                       'comment': 'grp'}
    params = params_of('pve_ha_group', options)
    desired = {'nodes': ha.parse_nodes(params['nodes']), 'restricted': params['restricted'],
               'nofailback': params['nofailback'], 'comment': params['comment']}
    current = dict(item, **ha.GROUP_DEFAULTS) if 'nofailback' not in item else item
    current['restricted'] = 1
    assert not compare(ha.GROUP_SPEC.fields, desired, current).changed
    assert compare(ha.GROUP_SPEC.fields, desired, dict(current, nodes='n1,n2')).changed


@pytest.mark.parametrize('item', [
    {'rule': 'pin', 'type': 'node-affinity', 'resources': 'vm:101,vm:100', 'nodes': 'n1:2,n2', 'strict': 1,
     'affinity': 'positive', 'comment': 'pin it', 'order': 1},
    {'rule': 'apart', 'type': 'resource-affinity', 'affinity': 'negative', 'resources': 'vm:100,vm:102', 'disable': 1},
    {'rule': 'ha-group-web', 'type': 'node-affinity', 'resources': 'ct:200', 'nodes': 'n3'},
], ids=['node-affinity', 'resource-affinity', 'migrated-group'])
def test_ha_rules_round_trip(item):
    options = export.ha_rule_options(item)
    params = params_of('pve_ha_rule', options)
    if item['type'] == 'resource-affinity':
        # The module refuses node options on a resource-affinity rule.
        assert 'nodes' not in options and 'strict' not in options
    desired = {'type': params['type'], 'resources': params['resources'],
               'nodes': ha.parse_nodes(params['nodes']) if params['nodes'] is not None else None,
               'strict': params['strict'], 'affinity': params['affinity'],
               'disable': ABSENT if params['disable'] is False else params['disable'], 'comment': params['comment']}
    current = dict(item)
    if item['type'] == 'node-affinity':
        for key, value in ha.RULE_DEFAULTS.items():
            current.setdefault(key, value)
    assert not compare(ha.RULE_SPEC.fields, desired, current).changed
    assert compare(ha.RULE_SPEC.fields, desired, dict(current, resources='vm:999')).changed


# ------------------------------------------------------------------------------------------------ SDN

ZONES = [
    {'zone': 'zvlan', 'type': 'vlan', 'bridge': 'vmbr0', 'mtu': 1450, 'digest': 'x', 'state': None},
    {'zone': 'zsimple', 'type': 'simple', 'dhcp': 'dnsmasq', 'ipam': 'pve', 'nodes': 'n1,n2'},
    {'zone': 'zqinq', 'type': 'qinq', 'bridge': 'vmbr1', 'tag': 20, 'vlan-protocol': '802.1ad',
     'bridge-disable-mac-learning': 1},
    {'zone': 'zvx', 'type': 'vxlan', 'peers': '10.0.0.1,10.0.0.2', 'vxlan-port': 4790},
    {'zone': 'zevpn', 'type': 'evpn', 'controller': 'ctl', 'vrf-vxlan': 5000, 'exitnodes': 'n1', 'mac': 'bc:24:11:00:00:01',
     'advertise-subnets': 1, 'rt-import': '65000:1'},
    # Pending: the configuration it has once applied is exported.
    {'zone': 'zpend', 'type': 'vlan', 'bridge': 'vmbr0', 'state': 'changed', 'pending': {'bridge': 'vmbr9', 'mtu': 'deleted'},
     'mtu': 1400},
]


@pytest.mark.parametrize('item', ZONES, ids=[z['zone'] for z in ZONES])
def test_an_sdn_zone_exported_is_what_pve_sdn_zone_finds_unchanged(item):
    pve_sdn_zone = module('pve_sdn_zone')
    options = export.sdn_zone_options(item)
    params = params_of('pve_sdn_zone', options)
    sdn.check_zone_options(params)
    current = sdn.effective(item)
    assert not compare(pve_sdn_zone.SPEC.fields, pve_sdn_zone.desired_state(params), current).changed
    if item['zone'] == 'zpend':
        assert options == {'zone': 'zpend', 'type': 'vlan', 'bridge': 'vmbr9'}


def test_sdn_vnet_and_subnet_round_trip():
    pve_sdn_vnet, pve_sdn_subnet = module('pve_sdn_vnet'), module('pve_sdn_subnet')
    vnet = {'vnet': 'vnet10', 'type': 'vnet', 'zone': 'zvlan', 'tag': 10, 'alias': 'ten', 'vlanaware': 1,
            'isolate-ports': 1, 'digest': 'x'}
    options = export.sdn_vnet_options(vnet)
    params = params_of('pve_sdn_vnet', options)
    assert not compare(pve_sdn_vnet.SPEC.fields, pve_sdn_vnet.desired_state(params), sdn.effective(vnet)).changed
    subnet = {'subnet': 'zs-10.9.0.0-24', 'type': 'subnet', 'vnet': 'vnets', 'zone': 'zs', 'cidr': '10.9.0.0/24',
              'network': '10.9.0.0', 'mask': '24', 'gateway': '10.9.0.1', 'snat': 1, 'dnszoneprefix': 'lab',
              'dhcp-range': [{'start-address': '10.9.0.100', 'end-address': '10.9.0.150'},
                             'start-address=10.9.0.20,end-address=10.9.0.30'], 'dhcp-dns-server': '10.9.0.2'}
    options = export.sdn_subnet_options('vnets', subnet)
    assert options['dhcp_ranges'] == [{'start': '10.9.0.100', 'end': '10.9.0.150'},
                                      {'start': '10.9.0.20', 'end': '10.9.0.30'}]
    params = params_of('pve_sdn_subnet', options)
    pve_sdn_subnet.check_values(params, sdn.network(params['cidr']))
    assert not compare(pve_sdn_subnet.SPEC.fields, pve_sdn_subnet.desired_state(params), sdn.effective(subnet)).changed
    assert compare(pve_sdn_subnet.SPEC.fields, pve_sdn_subnet.desired_state(params),
                   dict(sdn.effective(subnet), gateway='10.9.0.254')).changed
    # Without a cidr key, the subnet's id says it.
    assert export.sdn_subnet_options('v', {'subnet': 'zone1-fd00::-64'})['cidr'] == 'fd00::/64'


# ------------------------------------------------------------------------------------------------ firewall

RULES = [
    {'pos': 0, 'type': 'in', 'action': 'ACCEPT', 'macro': 'SSH', 'source': 'adminnet', 'enable': 1,
     'comment': '[id=ssh] admins', 'digest': 'd'},
    {'pos': 1, 'type': 'in', 'action': 'DROP', 'proto': 'tcp', 'dport': '8000:8100,443', 'enable': 0, 'log': 'info',
     'digest': 'd'},
    {'pos': 2, 'type': 'group', 'action': 'webs', 'enable': 1, 'iface': 'net0', 'digest': 'd'},
    {'pos': 3, 'type': 'out', 'action': 'ACCEPT', 'proto': 'icmp', 'icmp-type': 'echo-request', 'dest': '+mgmt',
     'digest': 'd', 'comment': 'pings'},
]


def rules_plan(level_kind, options, api_rules):
    wants = fw.desired_rules(options['rules'], level_kind)
    return fw.plan(api_rules, wants, purge=options['purge'])[0]


def test_a_rule_list_exported_plans_no_operation():
    options = {'level': 'vm', 'vmid': 100, 'rules': [export.rule_options(r, 'vm') for r in RULES], 'purge': True}
    params = params_of('pve_firewall_rule', options)
    assert rules_plan('vm', params, RULES) == []
    first, second = params['rules'][:2]
    assert (first['rule_id'], first['comment'], first['macro'], first['enabled']) == ('ssh', 'admins', 'SSH', True)
    assert second['dport'] == ['8000:8100', '443'] and second['enabled'] is False
    # A rule added on the cluster is deleted (purge), a changed one is updated.
    assert [op[0] for op in rules_plan('vm', params, RULES + [dict(RULES[1], dport='22', pos=4)])] == ['delete']
    assert [op[0] for op in rules_plan('vm', params, [dict(RULES[0], source='10.0.0.0/8')] + RULES[1:])] == ['update']


def test_group_rules_drop_iface_and_duplicates_are_found():
    group_rules = [export.rule_options(r, 'group') for r in RULES[:2]]
    params = params_of('pve_firewall_group', {'name': 'webs', 'comment': 'web', 'rules': group_rules, 'purge': True})
    assert rules_plan('group', params, RULES[:2]) == []
    same = [export.rule_options(RULES[1]), export.rule_options(dict(RULES[1], comment='again'))]
    assert export.duplicate_rules(same) == [(0, 1)]
    assert export.duplicate_rules([export.rule_options(RULES[0]), export.rule_options(RULES[0])]) == []


@st.composite
def api_rules(draw):
    """A rule list as Proxmox VE stores it: unique rule ids, no two unnamed rules with the same match fields."""
    rules, seen = [], set()
    for index in range(draw(st.integers(0, 6))):
        rule = {'type': draw(st.sampled_from(['in', 'out'])), 'action': draw(st.sampled_from(fw.ACTIONS)),
                'enable': draw(st.sampled_from([0, 1])), 'pos': index}
        proto = draw(st.sampled_from([None, 'tcp', 'udp', 'icmp']))
        if proto:
            rule['proto'] = proto
        if proto in ('tcp', 'udp') and draw(st.booleans()):
            ports = draw(st.lists(st.sampled_from(['22', '80', '443', '8000:8100', 'https']), min_size=1, max_size=3,
                                  unique=True))
            rule['dport'] = ','.join(ports)
        source = draw(st.sampled_from([None, '10.0.0.0/24', '+mgmt', 'adminnet', '192.0.2.1']))
        if source:
            rule['source'] = source
        if draw(st.booleans()):
            rule['log'] = draw(st.sampled_from(['info', 'nolog', 'warning']))
        rule_id = 'r{0}'.format(index) if draw(st.booleans()) else None
        comment = draw(st.sampled_from([None, 'note', 'two words']))
        joined = fw.join_comment(rule_id, comment)
        if joined:
            rule['comment'] = joined
        identity = rule_id or tuple(fw.canonical(k, rule.get(k)) for k in fw.MATCH_FIELDS)
        if identity in seen:
            continue
        seen.add(identity)
        rules.append(rule)
    for index, rule in enumerate(rules):
        rule['pos'] = index
    return rules


@hsettings(max_examples=150, deadline=None)
@given(api_rules())
def test_any_rule_list_exported_plans_no_operation(rules):
    options = {'level': 'cluster', 'rules': [export.rule_options(r, 'cluster') for r in rules], 'purge': True}
    assert export.duplicate_rules(options['rules']) == []
    assert rules_plan('cluster', options, rules) == []


@pytest.mark.parametrize('kind, current', [
    ('cluster', {'enable': 1733990400, 'policy_in': 'DROP', 'ebtables': 0, 'log_ratelimit': 'enable=1,rate=1/second',
                 'digest': 'x'}),
    ('node', {'enable': 1, 'nosmurfs': 1, 'log_level_in': 'info', 'nf_conntrack_max': '262144', 'nftables': 0}),
    ('vm', {'enable': 1, 'dhcp': 1, 'policy_in': 'REJECT', 'macfilter': 0, 'ndp': 1}),
    ('ct', {'ipfilter': 1, 'radv': 0}),
    ('vnet', {'enable': 1, 'policy_forward': 'DROP', 'log_level_forward': 'info'}),
])
def test_firewall_options_round_trip(kind, current):
    options = export.options_options(kind, current)
    assert 'digest' not in options
    names = {'node': {'node': 'n1'}, 'vnet': {'vnet': 'vnet10'}}.get(kind, {})
    params = params_of('pve_firewall_options', dict(options, level=kind, **names))
    fw.check_options_level(params, 'vm' if kind == 'ct' else kind)
    fields = fw.options_fields(kind)
    desired = dict((f.name, params.get(f.name)) for f in fields)
    assert not compare(fields, desired, current).changed
    if kind == 'cluster':
        # The time stamp the cluster's enable holds is on.
        assert options['enable'] is True
    assert compare(fields, desired, dict(current, enable=0 if options.get('enable', True) else 1)).changed \
        or 'enable' not in options


def test_ipset_and_alias_round_trip():
    pve_firewall_ipset, pve_firewall_alias = module('pve_firewall_ipset'), module('pve_firewall_alias')
    entries = [{'cidr': '10.1.0.0/24', 'digest': 'x'}, {'cidr': '10.1.0.5', 'nomatch': 1, 'comment': 'not this'}]
    options = {'level': 'cluster', 'name': 'mgmt', 'entries': [export.ipset_entry(e) for e in entries], 'purge': True}
    params = params_of('pve_firewall_ipset', options)
    assert pve_firewall_ipset.plan_entries(entries, params['entries'], True)[0] == []
    assert pve_firewall_ipset.plan_entries(entries[:1], params['entries'], True)[0] == [
        ('add', '10.1.0.5', 'not this', True)]
    alias = {'name': 'adminnet', 'cidr': '10.0.0.0/24', 'comment': 'admins', 'ipversion': 4, 'digest': 'x'}
    params = params_of('pve_firewall_alias', dict(export.alias_options(alias), level='cluster'))
    level = fw.Level('cluster', ('cluster', 'firewall'), 'cluster firewall')
    fields = pve_firewall_alias.spec_for(level).fields
    desired = {'cidr': params['cidr'], 'comment': params['comment']}
    assert not compare(fields, desired, alias).changed
    assert compare(fields, desired, dict(alias, cidr='10.0.1.0/24')).changed


def test_level_params():
    assert export.level_params(fw.Level('cluster', ('cluster', 'firewall'), 'c')) == {'level': 'cluster'}
    assert export.level_params(fw.Level('node', (), 'n', node='n1')) == {'level': 'node', 'node': 'n1'}
    assert export.level_params(fw.Level('ct', (), 'g', node='n1', vmid='200')) == {'level': 'ct', 'vmid': 200}
    assert export.level_params(fw.Level('vnet', (), 'v', vnet='v1')) == {'level': 'vnet', 'vnet': 'v1'}


# ------------------------------------------------------------------------------------------------ guests

VM_CONFIG = {
    'name': 'web-01', 'cores': 2, 'sockets': 1, 'cpu': 'x86-64-v2-AES,flags=+aes', 'memory': 'current=2048',
    'balloon': 1024, 'numa': 0, 'ostype': 'l26', 'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0;ide2;net0',
    'agent': '1,fstrim_cloned_disks=1', 'onboot': 1, 'tags': 'web;prod', 'description': 'the web server\n',
    'ide2': 'none,media=cdrom', 'scsi0': 'local-lvm:vm-100-disk-0,iothread=1,size=32G,discard=on,aio=native',
    'scsi1': 'local-lvm:vm-100-disk-1,size=1536M,backup=0', 'efidisk0': 'local-lvm:vm-100-disk-2,efitype=4m,size=4M',
    'ide0': 'local-lvm:vm-100-cloudinit,media=cdrom,size=4M',
    'net0': 'virtio=BC:24:11:C5:D7:14,bridge=vmbr0,firewall=1,tag=10,rate=12.5',
    'net1': 'e1000=bc:24:11:00:00:02,bridge=vnet10,trunks=20;30,link_down=1',
    'ipconfig0': 'ip=198.51.100.10/24,gw=198.51.100.1', 'serial0': 'socket', 'sshkeys': 'ssh-ed25519%20AAAA%20me%0A',
    'ciuser': 'admin', 'cipassword': '**********', 'smbios1': 'uuid=1234', 'vmgenid': 'abc', 'digest': 'x',
    'hotplug': 'disk,network,usb', 'kvm': 1, 'unused0': 'local-lvm:vm-100-disk-9', 'citype': 'nocloud',
}


def test_a_vm_exported_is_what_pve_vm_finds_unchanged():
    pve_vm = module('pve_vm')
    skipped = export.Skipped()
    options = export.vm_options({'vmid': 100, 'node': 'n1', 'pool': 'prod'}, VM_CONFIG, skipped)
    params = params_of('pve_vm', options)
    pve_vm.check_input(params)
    plan = pve_vm.make_plan(params, VM_CONFIG, pool='prod')
    assert not plan.changed, (plan.params, plan.delete, plan.resize)
    assert 'cipassword' not in options and options['memory'] == 2048 and options['sshkeys'] == ['ssh-ed25519 AAAA me']
    disks = dict((d['slot'], d) for d in options['disks'])
    assert disks['scsi0'] == {'slot': 'scsi0', 'storage': 'local-lvm', 'size': '32G', 'discard': 'on', 'iothread': True,
                              'options': {'aio': 'native'}}
    assert disks['scsi1']['size'] == '1536M' and disks['ide0'] == {'slot': 'ide0', 'cloudinit': True,
                                                                   'storage': 'local-lvm'}
    assert disks['ide2'] == {'slot': 'ide2', 'media': 'cdrom', 'volume': 'none'}
    assert options['config'] == {'hotplug': 'disk,network,usb', 'kvm': '1'}
    assert skipped.items == [{'module': 'pve_vm', 'item': '100', 'reason':
                              'no option of pve_vm sets them (unusedN: detached volumes)', 'keys': ['citype', 'unused0']}]
    for drift in ({'cores': 4}, {'net0': 'virtio=BC:24:11:C5:D7:14,bridge=vmbr1,firewall=1,tag=10,rate=12.5'},
                  {'tags': 'web;prod;extra'}, {'hotplug': 'disk'}):
        assert pve_vm.make_plan(params, dict(VM_CONFIG, **drift), pool='prod').changed, drift


CT_CONFIG = {
    'hostname': 'proxy-04', 'unprivileged': 1, 'cores': 1, 'memory': 512, 'swap': 512, 'onboot': 1, 'cpulimit': '1.5',
    'description': 'lab container\n', 'ostype': 'debian', 'arch': 'amd64', 'tags': 'prod;proxy', 'features': 'nesting=1,mount=nfs;cifs',
    'rootfs': 'local-lvm:vm-103-disk-0,size=8G', 'nameserver': '192.0.2.53 192.0.2.54', 'startup': 'order=2,up=30',
    'mp0': 'local-lvm:vm-103-disk-1,mp=/srv,size=16G,backup=1,mountoptions=noatime', 'mp1': '/host/data,mp=/data,ro=1',
    'net0': 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:68:F4:E2,ip=dhcp,firewall=1,type=veth,trunks=10;20',
    'lxc.cgroup2.devices.allow': 'c 10:200 rwm', 'digest': 'x', 'console': 1,
}


def test_a_container_exported_is_what_pve_lxc_finds_unchanged():
    options = export.ct_options({'vmid': 103, 'node': 'n2'}, CT_CONFIG)
    params = params_of('pve_lxc', options)
    desired = lxc.desired_config(params)
    desired['hostname'] = params['name']
    plan = lxc.plan_change(desired, CT_CONFIG, tags_purge=params['purge_tags'])
    assert not (plan.params or plan.delete or plan.resize), (plan.params, plan.delete, plan.resize)
    assert options['rootfs'] == {'storage': 'local-lvm', 'size': '8G'}
    assert options['mounts'][1] == {'slot': 'mp1', 'path': '/data', 'volume': '/host/data', 'ro': True}
    assert options['nets'][0]['trunks'] == [10, 20] and options['features'] == {'nesting': True, 'mount': ['nfs', 'cifs']}
    for drift in ({'memory': 1024}, {'mp0': 'local-lvm:vm-103-disk-1,mp=/srv,size=16G,backup=0,mountoptions=noatime'},
                  {'features': 'nesting=0'}):
        changed = lxc.plan_change(desired, dict(CT_CONFIG, **drift), tags_purge=True)
        assert changed.params or changed.delete, drift
    # A volume grown since the export fails the check, which shows it (volumes never shrink).
    with pytest.raises(ProxmoxConfigError, match='mp0 is 32G and cannot shrink to 16G'):
        lxc.plan_change(desired, dict(CT_CONFIG, mp0='local-lvm:vm-103-disk-1,mp=/srv,size=32G'), tags_purge=True)


# ------------------------------------------------------------------------------------------------ values and files

@pytest.mark.parametrize('kind, value, elements, expected', [
    ('bool', '1', None, True), ('bool', 0, None, False), ('int', '8', None, 8), ('int', 8.0, None, 8),
    ('list', 'a,b;c', None, ['a', 'b', 'c']), ('list', '101,100', 'int', [101, 100]), ('str', 12, None, '12'),
])
def test_option_value(kind, value, elements, expected):
    assert export.option_value(kind, value, elements) == expected


def test_prune_options():
    assert export.prune_options('keep-last=3,keep-all=0') == {'keep_last': 3, 'keep_all': False}
    assert export.prune_options({'keep-daily': '7'}) == {'keep_daily': 7}


# ------------------------------------------------------------------------------------------------ the apply playbook

def test_the_apply_playbook_passes_every_option_of_every_module():
    """apply_export.yml gives the export's files whole to pve_apply, which takes every option of every exported
    module: it validates each item against that module's own argument spec and runs that module's logic."""
    import os

    import yaml

    from ansible_collections.proxfleet.proxmox.plugins.plugin_utils.apply import ORDER, module_code
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'playbooks', 'apply_export.yml')
    with open(path, encoding='utf-8') as handle:
        play = yaml.safe_load(handle)[0]
    applied = [task for task in play['tasks'] if 'proxfleet.proxmox.pve_apply' in task]
    assert len(applied) == 1 and applied[0]['proxfleet.proxmox.pve_apply']['src'] == '{{ export_dir }}/{{ export_name }}'
    assert sorted(ORDER) == sorted(name for area in export.AREAS for name in export.MODULES[area])
    for name in ORDER:
        assert module_code(name)[1] == argument_spec(name), name
