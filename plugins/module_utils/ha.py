# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Proxmox VE high availability: groups, rules and resources, and the one place PVE 8 and PVE 9 differ.

PVE 8 has HA groups (/cluster/ha/groups: nodes with priorities, restricted, nofailback) that resources name
with `group`. PVE 9 has node-affinity rules (/cluster/ha/rules, which list their resources). Which of the two
a cluster uses is its state, not its version: a cluster upgraded from PVE 8 keeps its groups (and refuses to
create or change rules) until its CRM has migrated them, which it does only when every node is online and
every LRM active (pve-ha-manager's Config.pm have_groups_been_migrated, Manager.pm
try_persistent_group_migration). After that, or on a PVE 9 cluster that never had groups, the groups API and
a resource's `group` are refused. HaCluster.model reads it once per run: `groups` or `rules`.
PVE's own migration names the rule of group G `ha-group-G` and turns the group's nofailback into each
resource's failback; this module does the same, so a playbook written for groups keeps working on rules.

groups.cfg, rules.cfg and resources.cfg each carry one digest for the whole file, so two writers of
different items collide. Updates send the digest they read; on PVE's "detected modified configuration" answer
(which PVE gives before writing anything) the item is read again and compared again, which is safe because
only the module's own keys are sent. Creates and deletes need no digest: PVE serialises them under its
cluster-wide `ha` lock.
"""

from __future__ import annotations

import random
import re
import time

from ansible_collections.proxfleet.proxmox.plugins.module_utils import propstring, versions
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec

DIGEST_CHANGED = 'detected modified configuration'
# PVE 9's answer to the groups API once groups have been migrated (or when there never were any).
GROUPS_MIGRATED = 'ha groups have been migrated to rules'
SID_RE = re.compile(r'^(vm|ct):([1-9][0-9]{2,8})$')
NODE_RE = re.compile(r'^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)(?::(\d+))?$')
GROUP_RULE_PREFIX = 'ha-group-'
DIGEST_ATTEMPTS = 6


# ---------------------------------------------------------------- values

def parse_nodes(value):
    """A node list (`['n1:2', 'n2']`, `'n1:2,n2'`) -> {node: priority or None}; ValueError when malformed."""
    if isinstance(value, dict):
        return dict((str(node), int(prio) if prio else None) for node, prio in value.items())
    out = {}
    for entry in propstring.split_list(value, ', ;'):
        found = NODE_RE.match(str(entry).strip())
        if not found:
            raise ValueError('{0!r} is not a node name with an optional priority (node or node:priority)'.format(entry))
        priority = found.group(3)
        out[found.group(1)] = int(priority) if priority is not None and int(priority) else None
    return out


def format_nodes(value):
    """{node: priority} (or any form parse_nodes reads) -> PVE's `n1:2,n2`, sorted by node."""
    nodes = value if isinstance(value, dict) else parse_nodes(value)
    return ','.join('{0}:{1}'.format(n, p) if p else n for n, p in sorted(nodes.items()))


def _nodes_canonical(value):
    try:
        return parse_nodes(value)
    except ValueError:
        return propstring.stringify(value)


def _match_sid(sid):
    """SID_RE's match of `vm:100` or `ct:200`; ProxmoxConfigError otherwise (before any request)."""
    found = SID_RE.match(str(sid).strip())
    if found is None:
        raise ProxmoxConfigError('{0!r} is not a valid HA resource id: use vm:<vmid> for a VM or ct:<vmid> for a '
                                 'container (vmid 100 or more), e.g. vm:100'.format(sid))
    return found


def check_sid(sid):
    """`vm:100` or `ct:200` as given; ProxmoxConfigError otherwise (before any request)."""
    return _match_sid(sid).group(0)


def sid_set(value):
    return sorted(set(propstring.split_list(value, ', ;')))


def group_rule_id(group):
    """The node-affinity rule PVE 9's migration makes of HA group `group`."""
    return GROUP_RULE_PREFIX + group


def digest_conflict(error):
    return isinstance(error, ProxmoxApiError) and DIGEST_CHANGED in str(error.message)


# ---------------------------------------------------------------- specs

def _state_canonical(value):
    text = propstring.stringify(value).strip()
    return 'started' if text in ('', 'enabled') else text


RESOURCE_SPEC = ResourceSpec(
    result_key='resource',
    label='HA resource',
    collection='/cluster/ha/resources',
    id_field='sid',
    fields=[
        Field('state', normalize=_state_canonical),
        Field('group'),
        Field('max_restart', api_name='max_restart', kind='int'),
        Field('max_relocate', api_name='max_relocate', kind='int'),
        Field('failback', kind='bool'),
        Field('comment'),
    ],
)
# What PVE uses when a resource's config leaves a key out (PVE::HA::Config::read_and_check_resources_config).
RESOURCE_DEFAULTS = {'state': 'started', 'max_restart': 1, 'max_relocate': 1}

GROUP_SPEC = ResourceSpec(
    result_key='group',
    label='HA group',
    collection='/cluster/ha/groups',
    id_field='group',
    fields=[
        Field('nodes', normalize=_nodes_canonical, serialize=format_nodes),
        Field('restricted', kind='bool'),
        Field('nofailback', kind='bool'),
        Field('comment'),
    ],
)
GROUP_DEFAULTS = {'restricted': 0, 'nofailback': 0}

RULE_SPEC = ResourceSpec(
    result_key='rule',
    label='HA rule',
    collection='/cluster/ha/rules',
    id_field='rule',
    # PVE 9's rules schema selects the rule's options by its type: updates name it too (see _TypedUpdates).
    fields=[
        Field('type', create_only=True),
        Field('resources', normalize=sid_set, serialize=lambda v: ','.join(sid_set(v))),
        Field('nodes', normalize=_nodes_canonical, serialize=format_nodes),
        Field('strict', kind='bool'),
        Field('affinity'),
        Field('disable', kind='bool'),
        Field('comment'),
    ],
)
RULE_DEFAULTS = {'strict': 0}


class _TypedUpdates(object):
    """The client, except that every update names the item's type (PVE 9's rules schema selects options by it,
    and requires it even when only the `delete` list changes)."""

    def __init__(self, client, item):
        self._client = client
        self._item = item

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put(self, path, **data):
        if (self._item.current or {}).get('type'):
            data.setdefault('type', self._item.current['type'])
        return self._client.put(path, **data)


class HaItem(ConfigResource):
    """A ConfigResource whose reads fill in PVE's defaults for keys the config leaves out, and whose ensure()
    reads again and retries when another writer changed the file between the read and the update."""

    def __init__(self, module, spec, ident, defaults=None, path_vars=None):
        super().__init__(module, spec, ident, path_vars)
        self.defaults = defaults or {}
        if spec is RULE_SPEC:
            self.client = _TypedUpdates(self.client, self)

    def read(self):
        current = super().read()
        if isinstance(current, dict):
            for key, value in self.defaults.items():
                if key == 'affinity' and current.get('type') != 'node-affinity':
                    continue
                current.setdefault(key, value)
        return current

    def ensure(self, state, desired, send_secrets=False, delete_params=None):
        for attempt in range(DIGEST_ATTEMPTS):
            try:
                return super().ensure(state, desired, send_secrets=send_secrets, delete_params=delete_params)
            except ProxmoxApiError as error:
                if not digest_conflict(error) or attempt == DIGEST_ATTEMPTS - 1:
                    raise
                # Nothing was written: read again and compare again, after a short random pause so that
                # writers that collided do not collide again in step.
                time.sleep(random.uniform(0.02, 0.1 * (attempt + 1)))
        raise AssertionError('unreachable')  # pragma: no cover


# ---------------------------------------------------------------- cluster context

def read_model(client, get=None):
    """('groups' | 'rules', {group: config} or None): what places HA resources on the cluster, from its state.

    PVE 8 uses groups. PVE 9 uses groups while its groups API still answers (groups the CRM has not migrated
    yet), and rules once it answers that they have been migrated (Config.pm have_groups_been_migrated).
    get: the call that reads (client.get unless given).
    """
    if not versions.has_path(client, '/cluster/ha/rules'):
        return 'groups', None
    try:
        found = (get or client.get)('/cluster/ha/groups') or []
    except ProxmoxApiError as error:
        if GROUPS_MIGRATED not in str(error.message):
            raise
        return 'rules', None
    return 'groups', dict((str(item['group']), item) for item in found)


class HaCluster(object):
    """What the HA modules read about a cluster, each at most once per run: version, nodes, guests, HA config."""

    def __init__(self, module):
        self.module = module
        self.client = module.client
        self._nodes = None
        self._guests = None
        self._resources = None
        self._rules = None
        self._groups = None
        self._model = None

    # -------------------------------------------------------- version and model

    @property
    def version_text(self):
        return str(self.client.version().get('version') or 'unknown')

    @property
    def model(self):
        """`groups` or `rules`: what places HA resources on this cluster, read once per run.

        PVE 8: groups. PVE 9: groups while the groups API still answers (an upgraded cluster whose groups the CRM
        has not migrated yet), rules once it answers that they have been migrated.
        """
        if self._model is None:
            self._model, groups = read_model(self.client)
            if groups is not None:
                self._groups = groups
        return self._model

    @property
    def uses_rules(self):
        """Node-affinity rules instead of groups (PVE 9 once its groups have been migrated)."""
        return self.model == 'rules'

    @property
    def pending_migration(self):
        """PVE 9 whose HA groups the CRM has not migrated to rules yet."""
        return versions.has_path(self.client, '/cluster/ha/rules') and self.model == 'groups'

    def refuse(self, message):
        """An error found before any write, naming the cluster."""
        return ProxmoxConfigError(message, url=self.client.settings.url)

    def require_rules(self, action='create or change HA rules'):
        if self.uses_rules:
            return
        if self.pending_migration:
            raise self.refuse(
                'cannot {0}: this Proxmox VE {1} cluster still has HA groups, which its CRM has not migrated to rules '
                'yet (it does so once every node is online and every node\'s LRM is active), and Proxmox VE refuses '
                'rule changes until then ("ha groups have not been migrated yet"). Bring the nodes online and out of '
                'maintenance, or manage placement with HA groups (proxfleet.proxmox.pve_ha_group, and group on '
                'pve_ha_resource) until the migration.'.format(action, self.version_text))
        raise self.refuse('HA rules exist from Proxmox VE 9 on; this cluster runs Proxmox VE {0}. Use HA groups '
                          '(proxfleet.proxmox.pve_ha_group, and group on pve_ha_resource) there.'.format(
                              self.version_text))

    # -------------------------------------------------------- reads

    def nodes(self):
        if self._nodes is None:
            self._nodes = sorted(str(item['name']) for item in self.client.get('/cluster/status') or []
                                 if item.get('type') == 'node')
        return self._nodes

    def check_nodes(self, nodes):
        unknown = sorted(set(nodes) - set(self.nodes()))
        if unknown:
            raise self.refuse('unknown node(s) {0}; the cluster has {1}'.format(
                ', '.join(unknown), ', '.join(self.nodes()) or 'no nodes'))

    def guests(self):
        """{vmid: 'qemu' | 'lxc'} of every guest the user may see."""
        if self._guests is None:
            self._guests = dict((int(item['vmid']), item.get('type')) for item in
                                self.client.get('/cluster/resources', type='vm') or [] if item.get('vmid') is not None)
        return self._guests

    def check_guest(self, sid):
        kind, vmid = _match_sid(sid).groups()
        found = self.guests().get(int(vmid))
        if found is None:
            raise self.refuse('guest {0} does not exist on this cluster'.format(vmid))
        actual = 'vm' if found == 'qemu' else 'ct'
        if actual != kind:
            raise self.refuse('guest {0} is a {1}: its HA resource id is {2}:{0}'.format(
                vmid, 'VM' if actual == 'vm' else 'container', actual))

    def resources(self):
        """{sid: config} of every HA resource."""
        if self._resources is None:
            self._resources = dict((str(item['sid']), item) for item in self.client.get('/cluster/ha/resources') or [])
        return self._resources

    def check_resources(self, sids):
        missing = sorted(set(sids) - set(self.resources()))
        if missing:
            raise self.refuse('{0}: not HA resource(s) of this cluster; add them with proxfleet.proxmox.pve_ha_resource '
                              'first'.format(', '.join(missing)))

    def rules(self):
        """{rule id: rule} (PVE 9)."""
        if self._rules is None:
            self._rules = dict((str(item['rule']), item) for item in self.client.get('/cluster/ha/rules') or [])
        return self._rules

    def groups(self):
        """{group: config} (PVE 8, and PVE 9 before the groups' migration)."""
        if self._groups is None:
            self._groups = dict((str(item['group']), item) for item in self.client.get('/cluster/ha/groups') or [])
        return self._groups

    def forget(self):
        self._resources = self._rules = self._groups = None

    # -------------------------------------------------------- rule membership (PVE 9)

    def rules_of(self, sid, kind=None):
        return sorted(rule_id for rule_id, rule in self.rules().items()
                      if sid in sid_set(rule.get('resources')) and (kind is None or rule.get('type') == kind))

    def add_to_rule(self, rule_id, sids):
        """Make sure the rule lists these resources (adding, never removing). Returns True when it changed.

        Reads the rule, sends the new list with the digest it read, and on a digest conflict reads again.
        """
        item = HaItem(self.module, RULE_SPEC, rule_id, RULE_DEFAULTS)
        for attempt in range(DIGEST_ATTEMPTS):
            current = item.read()
            if current is None:
                raise self.refuse('HA rule {0!r} does not exist'.format(rule_id))
            have = sid_set(current.get('resources'))
            want = sorted(set(have) | set(sids))
            if want == have:
                return False
            if self.module.check_mode:
                return True
            try:
                self.client.put(self.client.path('cluster', 'ha', 'rules', rule_id), resources=','.join(want),
                                type=current.get('type'), digest=current.get('digest'))
                self._rules = None
                return True
            except ProxmoxApiError as error:
                if not digest_conflict(error) or attempt == DIGEST_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.02, 0.1 * (attempt + 1)))
        return False  # pragma: no cover


def absent_if_empty(params, names):
    """Options given as '' (or an empty list) mean: remove the key."""
    out = {}
    for name in names:
        value = params.get(name)
        out[name] = ABSENT if value in ('', []) else value
    return out
