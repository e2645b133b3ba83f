# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""High availability: /cluster/ha/groups, /cluster/ha/rules, /cluster/ha/resources and /cluster/ha/status.

Follows pve-ha-manager's PVE/API2/HA/*.pm. On PVE 8 (pve.version 8.x) HA groups exist and rules do not
(PVE 8 has no such API: 501). On PVE 9 whether groups or rules apply is decided by the cluster's state, as
PVE::HA::Config::have_groups_been_migrated decides it: while groups.cfg has groups (a cluster upgraded from
PVE 8, see ha_seed_upgraded) the groups API works, rules are shown with the groups' rules made in memory
(`ha-group-<group>`) and creating or updating a rule is refused; once the CRM has migrated the groups
(ha_crm_round, PVE::HA::Manager::try_persistent_group_migration) or when there never were any, every groups
call dies and a resource's `group` is refused. groups.cfg,
resources.cfg and rules.cfg each have a digest (the SHA-1 of the file), given with every item and checked
on updates; writes run under the `ha` cfs domain lock (one at a time, as the lab's event loop runs each
handler to its end) and its errors carry the lock's name and the API's own prefix ("create resource
failed: ..."), as PVE's do. A resource's state shows in its guest's `ha_state`, so /cluster/resources
gives `hastate`."""

import asyncio
import hashlib
import json
import re
import time

from fakepve.model import PveError
from fakepve.routing import StatefulRoutes, check_digest, die, param_error, split_list

from ._common import all_guests, is_vm, stringify

RESOURCE_OPTIONS = ('state', 'group', 'comment', 'failback', 'max_restart', 'max_relocate')
GROUP_OPTIONS = {'nodes': False, 'comment': True, 'nofailback': True, 'restricted': True}
RULE_OPTIONS = {
    'node-affinity': {'resources': False, 'nodes': False, 'strict': True, 'comment': True, 'disable': True,
                      'affinity': True},
    'resource-affinity': {'resources': False, 'affinity': False, 'comment': True, 'disable': True},
}
# Options PVE 9 added to resources; PVE 8's schema has no such property.
PVE9_ONLY_RESOURCE_OPTIONS = ('failback', 'auto-rebalance')
NOT_IN_SCHEMA = 'property is not defined in schema and the schema does not allow additional properties'


def ha_locked(errmsg, error):
    """PVE::HA::Config::lock_ha_domain: cfs_lock_domain('ha') then `die "$errmsg: $err"`.

    A plain die inside gets the lock's name first; a PVE::Exception keeps its text (stringified).
    """
    if error.errors:
        return PveError(500, '{0}: {1}'.format(errmsg, stringify(error)))
    return PveError(500, "{0}: error during cfs-locked 'domain-ha' operation: {1}".format(errmsg, error.message))


def digest_of(data):
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=sorted).encode()).hexdigest()


def parse_node_list(text, field='nodes'):
    """pve-ha-node-list: node[:priority], ... -> {node: priority or None}, or PVE's parameter error."""
    out = {}
    for entry in split_list(text):
        found = re.fullmatch(r'([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)(?::(\d+))?', entry)
        if not found:
            raise param_error(**{field: "value '{0}' does not look like a valid node name".format(entry)})
        out[found.group(1)] = int(found.group(3)) if found.group(3) is not None else None
    return out


def encode_nodes(nodes):
    return ','.join('{0}:{1}'.format(n, p) if p else n for n, p in sorted(nodes.items()))


def parse_resource_list(text, field='resources'):
    out = []
    for sid in split_list(text):
        if not re.fullmatch(r'[a-z]+:\S+', sid):
            raise param_error(**{field: "value '{0}' does not look like a valid ha resource id".format(sid)})
        if sid not in out:
            out.append(sid)
    return sorted(out)


class HaArea(StatefulRoutes):
    """Mixin of the lab's PVE: HA groups (PVE 8), rules (PVE 9) and resources, and the HA status.

    `pve.ha_groups`, `pve.ha_rules` and `pve.ha_resources` map ids to their config sections.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ha_groups = {}
        self.ha_rules = {}
        self.ha_rule_order = {}
        self.ha_resources = {}
        # Every write to an HA config file, as (file, id), in order (tests look at it).
        self.ha_writes = []
        # Updates refused for a stale digest, as (file, id).
        self.ha_digest_refusals = []
        # Each node's LRM mode (active, maintenance, restart, shutdown); 'active' unless a test sets it.
        self.ha_lrm_mode = {}
        # The CRM's group migration: rounds left until its next try (Manager.pm starts at 3, then waits 6),
        # and what it logged, as (level, message).
        self.ha_group_migration_round = 3
        self.ha_crm_log = []

    def _routes_ha(self):
        return [
            ('GET', '/cluster/ha/groups', self._ha_group_index),
            ('POST', '/cluster/ha/groups', self._ha_group_create),
            ('GET', '/cluster/ha/groups/{group}', self._ha_group_read),
            ('PUT', '/cluster/ha/groups/{group}', self._ha_group_update),
            ('DELETE', '/cluster/ha/groups/{group}', self._ha_group_delete),
            ('GET', '/cluster/ha/rules', self._ha_rule_index),
            ('POST', '/cluster/ha/rules', self._ha_rule_create),
            ('GET', '/cluster/ha/rules/{rule}', self._ha_rule_read),
            ('PUT', '/cluster/ha/rules/{rule}', self._ha_rule_update),
            ('DELETE', '/cluster/ha/rules/{rule}', self._ha_rule_delete),
            ('GET', '/cluster/ha/resources', self._ha_resource_index),
            ('POST', '/cluster/ha/resources', self._ha_resource_create),
            ('GET', '/cluster/ha/resources/{sid}', self._ha_resource_read),
            ('PUT', '/cluster/ha/resources/{sid}', self._ha_resource_update),
            ('DELETE', '/cluster/ha/resources/{sid}', self._ha_resource_delete),
            ('POST', '/cluster/ha/resources/{sid}/migrate', self._ha_resource_migrate),
            ('GET', '/cluster/ha/status/current', self._ha_status_current),
            ('GET', '/cluster/ha/status/manager_status', self._ha_manager_status),
        ]

    # ------------------------------------------------------------- helpers

    @property
    def ha_pve8(self):
        return str(self.version).split('.', maxsplit=1)[0] == '8'

    def ha_digest(self, name):
        if name == 'groups':
            return digest_of(self.ha_groups)
        if name == 'rules':
            return digest_of([self.ha_rules, self.ha_rule_order])
        return digest_of(self.ha_resources)

    def _ha_groups_migrated(self):
        """PVE::HA::Config::have_groups_been_migrated: PVE 9 whose groups.cfg has no group (any more).

        PVE 8 has no migration: its groups always apply.
        """
        return not self.ha_pve8 and not self.ha_groups

    def _ha_not_migrated(self, what):
        """PVE 9's rules API refuses writes while groups.cfg still has groups (API2/HA/Rules.pm)."""
        if not self.ha_pve8 and not self._ha_groups_migrated():
            raise die('cannot {0}: ha groups have not been migrated yet'.format(what))

    def ha_seed_upgraded(self, groups, members=None):
        """The config files a PVE 8 cluster upgraded to PVE 9 still has: groups.cfg with `groups`
        ({name: {'nodes': 'n1:2,n2', 'restricted': 1, 'nofailback': 1, 'comment': ...}}) and resources naming
        them (`members`: {sid: group}), which become HA resources here when they are not yet."""
        for name, conf in groups.items():
            entry = {'type': 'group', 'nodes': encode_nodes(parse_node_list(conf['nodes']))}
            entry.update((k, v) for k, v in conf.items() if k != 'nodes' and v is not None)
            self.ha_groups[name] = entry
        for sid, group in (members or {}).items():
            _sid, kind, _name = self._ha_parse_sid(sid)
            conf = dict(self.ha_resources.get(sid) or {'type': kind})
            conf['group'] = group
            self.ha_resources[sid] = conf
        self._ha_sync_guests()

    @staticmethod
    def _ha_rules_of_groups(groups, resources, rules, order):
        """PVE::HA::Groups::migrate_groups_to_rules: each existing group that resources name becomes the
        node-affinity rule `ha-group-<group>` (its nodes and priorities, strict from restricted, its comment or
        "Generated from HA group '<group>'."), placed after every rule. Changes rules and order in place."""
        members = {}
        for sid, conf in resources.items():
            if conf.get('group'):
                members.setdefault(conf['group'], []).append(sid)
        for group in sorted(members):
            if group not in groups:
                continue
            rule_id = 'ha-group-' + group
            rule = {'type': 'node-affinity', 'resources': sorted(members[group]),
                    'nodes': parse_node_list(groups[group]['nodes'])}
            if groups[group].get('restricted') is not None:
                rule['strict'] = groups[group]['restricted']
            rule['comment'] = groups[group].get('comment') or "Generated from HA group '{0}'.".format(group)
            rules[rule_id] = rule
            order[rule_id] = max(order.values(), default=0) + 1

    def _ha_full_rules(self):
        """Rules.pm's get_full_rules_config: rules.cfg plus, while groups are not migrated, the groups' rules
        (in memory only: nothing is written)."""
        rules, order = dict(self.ha_rules), dict(self.ha_rule_order)
        if not self.ha_pve8:
            self._ha_rules_of_groups(self.ha_groups, self.ha_resources, rules, order)
        return rules, order

    def _ha_crm_log(self, level, message):
        self.ha_crm_log.append((level, message))

    def _ha_assert_can_migrate_groups(self):
        """Manager.pm assert_cluster_can_migrate_ha_groups: quorate, and every node online, its LRM in mode
        active and in state active or idle (waiting for the agent lock with no active service). The lab's nodes all
        run the cluster's version, so the minimum version check holds on PVE 9."""
        if not self.quorate:
            raise die('cluster is not quorate')
        status = {}
        for node in sorted(self.nodes):
            busy = any(self._ha_service_node(sid) == node for sid in self.ha_resources)
            status[node] = 'active' if busy else 'wait_for_agent_lock'
        for node in sorted(self.nodes):
            online = self.nodes[node].get('online', True)
            self._ha_crm_log('notice', "ha groups migration: node '{0}' is in state '{1}'".format(
                node, 'online' if online else 'unknown'))
            if not online:
                raise die("node '{0}' is not online".format(node))
            mode = self.ha_lrm_mode.get(node, 'active')
            self._ha_crm_log('notice', "ha groups migration: lrm '{0}' is in state '{1}' and mode '{2}'".format(
                node, status[node], mode))
            if mode != 'active':
                raise die("lrm '{0}' is not in mode 'active'".format(node))

    def ha_crm_round(self):
        """One round of the CRM (every 10 s on PVE), as far as groups go: Manager.pm's
        try_persistent_group_migration. Nothing while groups are migrated; else the first try comes on the
        third round and a failed one is retried six rounds later. A try that finds the cluster fit writes the
        groups' rules to rules.cfg, removes `group` from every resource (setting failback 0 where the group had
        nofailback) and deletes groups.cfg. Returns True when this round migrated."""
        if self.ha_pve8 or self._ha_groups_migrated():
            return False
        self.ha_group_migration_round -= 1
        if self.ha_group_migration_round > 0:
            return False
        self.ha_group_migration_round = 6
        self._ha_crm_log('notice', 'start ha group migration...')
        try:
            self._ha_assert_can_migrate_groups()
        except PveError as error:
            self._ha_crm_log('err', 'abort ha groups migration: {0}'.format(error.message))
            self._ha_crm_log('err', 'ha groups migration failed')
            return False
        self._ha_rules_of_groups(self.ha_groups, self.ha_resources, self.ha_rules, self.ha_rule_order)
        for rule_id in sorted(self.ha_rules):
            if rule_id.startswith('ha-group-'):
                self._ha_wrote('rules', rule_id)
        for sid in sorted(self.ha_resources):
            conf = dict(self.ha_resources[sid])
            group = conf.pop('group', None)
            if group is None:
                continue
            # migrate_groups_to_resources: failback is the group's !nofailback; only 0 is written.
            if group in self.ha_groups and int(self.ha_groups[group].get('nofailback') or 0):
                conf['failback'] = 0
            self.ha_resources[sid] = conf
            self._ha_wrote('resources', sid)
        self.ha_groups.clear()
        self._ha_wrote('groups', None)
        self._ha_crm_log('notice', 'ha groups migration successful')
        return True

    def _ha_not_on_pve8(self, method, path):
        if self.ha_pve8:
            raise PveError(501, "Method '{0} /api2/json{1}' not implemented".format(method, path))

    def _ha_check_digest(self, kind, ident, given):
        try:
            check_digest(self.ha_digest(kind), given)
        except PveError:
            self.ha_digest_refusals.append((kind, ident))
            raise

    def _ha_wrote(self, kind, ident):
        self.ha_writes.append((kind, ident))
        self._ha_sync_guests()

    def _ha_power(self, guest, state):
        """The CRM and LRM act on a requested state: a started resource's guest runs, a stopped or disabled one's
        does not (after fakepve's `ha_delay`, scaled as every PVE time is)."""
        want = {'started': 'running', 'stopped': 'stopped', 'disabled': 'stopped'}.get(state)
        if want is None or guest.status == want:
            return

        def act():
            if want == 'running':
                if is_vm(guest):
                    guest.apply_pending()
                    guest.qmpstatus = 'running'
                else:
                    self._apply(guest)
                    guest.pid = next(self._ct_pids)
                guest.started_at = time.time()
            else:
                if is_vm(guest):
                    guest.qmpstatus = 'stopped'
                else:
                    guest.pid = None
            guest.status = want

        if self.time_scale:
            async def later():
                await self.pause(self.ha_delay)
                act()
            asyncio.ensure_future(later())
        else:
            act()

    def _ha_sync_guests(self):
        """fakepve's `ha_state` of every guest from the resources (ignored ones are not HA managed), and the
        guests' power state as the HA stack makes it."""
        for guest in all_guests(self):
            kind = 'vm' if guest.guest.startswith('qemu/') else 'ct'
            conf = self.ha_resources.get('{0}:{1}'.format(kind, guest.vmid))
            state = None
            if conf is not None:
                state = conf.get('state') or 'started'
                state = 'started' if state == 'enabled' else state
                if state == 'ignored':
                    state = None
            if state != guest.ha_state:
                self._ha_power(guest, state)
            guest.ha_state = state

    def _ha_set_requested(self, sid, state):
        """`qm start|stop|shutdown` (`pct ...`) of an HA-managed guest is a request to the HA stack: PVE sets the
        resource's state (as `ha-manager set <sid> --state ...` does) and the CRM acts on it."""
        if sid in self.ha_resources:
            self.ha_resources[sid] = dict(self.ha_resources[sid], state=state)
            self._ha_wrote('resources', sid)

    async def _ha_request(self, vm, user, state):
        self._ha_set_requested('vm:{0}'.format(vm.vmid), state)
        return await super()._ha_request(vm, user, state)

    async def _ct_ha(self, ct, user, state, timeout=None):
        self._ha_set_requested('ct:{0}'.format(ct.vmid), state)
        return await super()._ct_ha(ct, user, state, timeout=timeout)

    def _ha_guest(self, vmid):
        for guest in all_guests(self):
            if str(guest.vmid) == str(vmid):
                return guest
        return None

    def _ha_parse_sid(self, sid):
        """PVE::HA::Config::parse_sid: (sid, type, name)."""
        sid = str(sid)
        if re.fullmatch(r'\d+', sid):
            guest = self._ha_guest(sid)
            if guest is None:
                raise die('unable to detect SID from VMID - VM/CT {0} does not exist'.format(sid))
            kind = 'vm' if guest.guest.startswith('qemu/') else 'ct'
            return '{0}:{1}'.format(kind, sid), kind, sid
        found = re.fullmatch(r'(\S+):(\S+)', sid)
        if not found:
            raise die("unable to parse service id '{0}'".format(sid))
        return sid, found.group(1), found.group(2)

    @staticmethod
    def _ha_bools(param, keys):
        for key in keys:
            if key in param and param[key] is not None:
                param[key] = 1 if str(param[key]).lower() in ('1', 'true', 'yes', 'on') else 0

    # ---------------------------------------------------------------- groups

    def _ha_group_view(self, name):
        data = dict(self.ha_groups[name])
        data['group'] = name
        data['digest'] = self.ha_digest('groups')
        return data

    def _ha_group_gate(self, what):
        if self._ha_groups_migrated():
            raise die('cannot {0}: ha groups have been migrated to rules'.format(what))

    async def _ha_group_index(self, v, user):
        self._ha_group_gate('index groups')
        return [self._ha_group_view(name) for name in self.ha_groups]

    async def _ha_group_read(self, v, user):
        self._ha_group_gate('read group')
        if v['group'] not in self.ha_groups:
            raise die("no such ha group '{0}'".format(v['group']))
        return self._ha_group_view(v['group'])

    async def _ha_group_create(self, v, user):
        self._ha_group_gate('create group')
        self.need_quorum()
        param = dict(v)
        name = param.pop('group')
        kind = param.pop('type', None)
        if kind and kind != 'group':
            raise die('types does not match')
        conf = {'type': 'group', 'nodes': encode_nodes(parse_node_list(param.pop('nodes')))}
        self._ha_bools(param, ('restricted', 'nofailback'))
        conf.update((k, val) for k, val in param.items() if val is not None)
        try:
            if name in self.ha_groups:
                raise die("ha group ID '{0}' already defined".format(name))
        except PveError as e:
            raise ha_locked('create ha group failed', e) from None
        self.ha_groups[name] = conf
        self._ha_wrote('groups', name)

    async def _ha_group_update(self, v, user):
        self._ha_group_gate('update group')
        param = dict(v)
        name = param.pop('group')
        digest = param.pop('digest', None)
        deletes = split_list(param.pop('delete', None))
        if param.get('nodes') is not None:
            param['nodes'] = encode_nodes(parse_node_list(param['nodes']))
        self._ha_bools(param, ('restricted', 'nofailback'))
        self.need_quorum()
        try:
            self._ha_check_digest('groups', name, digest)
            if name not in self.ha_groups:
                raise die("no such ha group '{0}'".format(name))
            conf = dict(self.ha_groups[name])
            conf.update((k, val) for k, val in param.items() if val is not None)
            for key in deletes:
                if key not in GROUP_OPTIONS:
                    raise die("no such option '{0}'".format(key))
                if not GROUP_OPTIONS[key]:
                    raise die("unable to delete required option '{0}'".format(key))
                conf.pop(key, None)
        except PveError as e:
            raise ha_locked('update ha group failed', e) from None
        self.ha_groups[name] = conf
        self._ha_wrote('groups', name)

    async def _ha_group_delete(self, v, user):
        self._ha_group_gate('delete group')
        self.need_quorum()
        name = v['group']
        try:
            for sid, conf in sorted(self.ha_resources.items()):
                if conf.get('group') == name:
                    raise die("ha group is used by service '{0}'".format(sid))
        except PveError as e:
            raise ha_locked('delete ha group failed', e) from None
        self.ha_groups.pop(name, None)
        self._ha_wrote('groups', name)

    # ----------------------------------------------------------------- rules

    def _ha_rule_view(self, rule_id, errors=None, rules=None, order=None):
        rules = self.ha_rules if rules is None else rules
        order = self.ha_rule_order if order is None else order
        rule = rules[rule_id]
        data = dict((k, val) for k, val in rule.items() if k not in ('resources', 'nodes'))
        if rule['type'] == 'node-affinity':
            data.setdefault('affinity', 'positive')
        data['rule'] = rule_id
        data['digest'] = self.ha_digest('rules')
        data['order'] = order[rule_id]
        data['resources'] = ','.join(rule['resources'])
        if rule.get('nodes') is not None:
            data['nodes'] = encode_nodes(rule['nodes'])
        if errors:
            data['errors'] = errors
        return data

    def _ha_rule_errors(self, rules):
        """PVE::HA::Rules::check_feasibility, the checks the lab models: {rule: {option: [messages]}}."""
        errors = {}
        used = {}
        for rule_id, rule in sorted(rules.items()):
            if rule.get('disable'):
                continue
            if rule['type'] == 'node-affinity':
                for sid in rule['resources']:
                    used.setdefault(sid, []).append(rule_id)
            elif len(rule['resources']) < 2:
                errors.setdefault(rule_id, {}).setdefault('resources', []).append(
                    'rule is ineffective as there are less than two resources')
        for sid, rule_ids in sorted(used.items()):
            if len(rule_ids) > 1:
                for rule_id in rule_ids:
                    errors.setdefault(rule_id, {}).setdefault('resources', []).append(
                        "resource '{0}' is already used in another node affinity rule".format(sid))
        return errors

    def _ha_assert_feasible(self, rules, rule_id):
        found = self._ha_rule_errors(rules).get(rule_id)
        if found:
            raise PveError(400, "Rule '{0}' is invalid.".format(rule_id),
                           dict((k, ', '.join(msgs)) for k, msgs in found.items()))

    def _ha_rule_opts(self, kind, param, create):
        """check_config of the rule plugin: canonical values, PVE's errors for what the type does not take."""
        options = RULE_OPTIONS[kind]
        opts = {}
        for key, val in param.items():
            if val is None:
                continue
            if key not in options:
                raise param_error(**{key: "property is not defined in schema and the schema does not allow "
                                          "additional properties"})
            if key == 'resources':
                val = parse_resource_list(val)
            elif key == 'nodes':
                val = parse_node_list(val)
            elif key in ('strict', 'disable'):
                val = 1 if str(val).lower() in ('1', 'true', 'yes', 'on') else 0
            opts[key] = val
        if create:
            for key, optional in options.items():
                if not optional and key not in opts:
                    raise param_error(**{key: 'property is missing and it is not optional'})
        return opts

    def _ha_rule_refs(self, opts):
        missing = [sid for sid in opts.get('resources', ()) if sid not in self.ha_resources]
        if missing:
            raise die('cannot use unmanaged resource(s) {0}.'.format(', '.join(sorted(missing))))
        unknown = [node for node in sorted(opts.get('nodes') or {}) if node not in self.nodes]
        if unknown:
            raise die('cannot use non-existant node(s) {0}.'.format(', '.join(unknown)))

    async def _ha_rule_index(self, v, user):
        self._ha_not_on_pve8('GET', '/cluster/ha/rules')
        rules, order = self._ha_full_rules()
        errors = self._ha_rule_errors(rules)
        out = []
        for rule_id in sorted(rules, key=lambda r: (order[r], r)):
            rule = rules[rule_id]
            if v.get('type') and rule['type'] != v['type']:
                continue
            if v.get('resource') and v['resource'] not in rule['resources']:
                continue
            out.append(self._ha_rule_view(rule_id, self._ha_flat_errors(errors.get(rule_id)), rules, order))
        return out

    @staticmethod
    def _ha_flat_errors(errors):
        return dict((k, ', '.join(msgs)) for k, msgs in errors.items()) if errors else None

    async def _ha_rule_read(self, v, user):
        self._ha_not_on_pve8('GET', '/cluster/ha/rules/' + v['rule'])
        rules, order = self._ha_full_rules()
        if v['rule'] not in rules:
            raise die("no such ha rule '{0}'".format(v['rule']))
        errors = self._ha_rule_errors(rules).get(v['rule'])
        return self._ha_rule_view(v['rule'], self._ha_flat_errors(errors), rules, order)

    async def _ha_rule_create(self, v, user):
        self._ha_not_on_pve8('POST', '/cluster/ha/rules')
        self.need_quorum()
        self._ha_not_migrated('create ha rule')
        param = dict(v)
        kind = param.pop('type')
        rule_id = param.pop('rule')
        if not param.get('disable') or str(param.get('disable')) in ('0', 'false'):
            param.pop('disable', None)
        opts = self._ha_rule_opts(kind, param, True)
        try:
            if rule_id in self.ha_rules:
                raise die("HA rule '{0}' already defined".format(rule_id))
            self._ha_rule_refs(opts)
            rules = dict(self.ha_rules)
            rules[rule_id] = dict(opts, type=kind)
            self._ha_assert_feasible(rules, rule_id)
        except PveError as e:
            raise ha_locked('create ha rule failed', e) from None
        self.ha_rule_order[rule_id] = max(self.ha_rule_order.values(), default=0) + 1
        self.ha_rules[rule_id] = dict(opts, type=kind)
        self._ha_wrote('rules', rule_id)

    async def _ha_rule_update(self, v, user):
        self._ha_not_on_pve8('PUT', '/cluster/ha/rules/' + v['rule'])
        self._ha_not_migrated('update ha rule')
        param = dict(v)
        rule_id = param.pop('rule')
        digest = param.pop('digest', None)
        deletes = split_list(param.pop('delete', None))
        given_type = param.pop('type', None)
        if given_type is None:
            # The schema selects a rule's options by its type (type-property), which is not optional.
            raise param_error(type='property is missing and it is not optional')
        if not param.get('disable') or str(param.get('disable')) in ('0', 'false'):
            param.pop('disable', None)
        self.need_quorum()
        try:
            self._ha_check_digest('rules', rule_id, digest)
            if rule_id not in self.ha_rules:
                raise die("HA rule '{0}' does not exist".format(rule_id))
            rule = dict(self.ha_rules[rule_id])
            kind = rule['type']
            if given_type and given_type != kind:
                raise param_error(type='type change not allowed')
            opts = self._ha_rule_opts(kind, param, False)
            self._ha_rule_refs(opts)
            options = RULE_OPTIONS[kind]
            for key in deletes:
                if key not in options:
                    raise param_error(delete="unknown option '{0}'".format(key))
                if not options[key]:
                    raise param_error(delete="unable to delete required option '{0}'".format(key))
                if key in opts:
                    raise param_error(delete="cannot set and delete property '{0}' at the same time!".format(key))
                rule.pop(key, None)
            rule.update(opts)
            rules = dict(self.ha_rules)
            rules[rule_id] = rule
            self._ha_assert_feasible(rules, rule_id)
        except PveError as e:
            raise ha_locked('update HA rules failed', e) from None
        self.ha_rules[rule_id] = rule
        self._ha_wrote('rules', rule_id)

    async def _ha_rule_delete(self, v, user):
        self._ha_not_on_pve8('DELETE', '/cluster/ha/rules/' + v['rule'])
        self.need_quorum()
        self.ha_rules.pop(v['rule'], None)
        self.ha_rule_order.pop(v['rule'], None)
        self._ha_wrote('rules', v['rule'])

    # ------------------------------------------------------------- resources

    def _ha_resource_view(self, sid):
        data = dict(self.ha_resources[sid])
        data['sid'] = sid
        data['digest'] = self.ha_digest('resources')
        if self._ha_groups_migrated():
            data.pop('group', None)
        elif data.get('group') and data['group'] not in self.ha_groups:
            data['errors'] = {'group': "group '{0}' does not exist".format(data['group'])}
        return data

    def _ha_resource_param(self, param):
        """What the schema of the cluster's version takes; PVE 8 has no failback (PVE 9 added it)."""
        if self.ha_pve8:
            for key in PVE9_ONLY_RESOURCE_OPTIONS:
                if param.get(key) is not None:
                    raise param_error(**{key: NOT_IN_SCHEMA})
        self._ha_bools(param, ('failback', 'auto-rebalance'))

    async def _ha_resource_index(self, v, user):
        out = []
        for sid in sorted(self.ha_resources):
            if v.get('type') and self.ha_resources[sid]['type'] != v['type']:
                continue
            out.append(self._ha_resource_view(sid))
        return out

    async def _ha_resource_read(self, v, user):
        sid, _kind, _name = self._ha_parse_sid(v['sid'])
        if sid not in self.ha_resources:
            raise die("no such resource '{0}'".format(sid))
        return self._ha_resource_view(sid)

    async def _ha_resource_create(self, v, user):
        param = dict(v)
        self._ha_resource_param(param)
        self.need_quorum()
        sid, kind, name = self._ha_parse_sid(param.pop('sid'))
        given_type = param.pop('type', None)
        if given_type and given_type != kind:
            raise die('types does not match')
        if param.get('group') is not None and self._ha_groups_migrated():
            raise die("invalid parameter 'group': ha groups have been migrated to rules")
        if kind not in ('vm', 'ct'):
            raise param_error(type="value '{0}' does not have a value in the enumeration 'ct, vm'".format(kind))
        if not re.fullmatch(r'[1-9][0-9]+', name):
            raise die('invalid VMID')
        if self._ha_guest(name) is None:
            raise die("resource '{0}:{1}' does not exist in cluster".format(kind, name))
        conf = {'type': kind}
        conf.update((k, val) for k, val in param.items() if val is not None)
        try:
            if sid in self.ha_resources:
                raise die("resource ID '{0}' already defined".format(sid))
        except PveError as e:
            raise ha_locked('create resource failed', e) from None
        self.ha_resources[sid] = conf
        self._ha_wrote('resources', sid)

    async def _ha_resource_update(self, v, user):
        param = dict(v)
        self._ha_resource_param(param)
        digest = param.pop('digest', None)
        deletes = split_list(param.pop('delete', None))
        sid, kind, _name = self._ha_parse_sid(param.pop('sid'))
        given_type = param.pop('type', None)
        if given_type and given_type != kind:
            raise die('types does not match')
        group = param.get('group')
        if group:
            if self._ha_groups_migrated():
                raise die("invalid parameter 'group': ha groups have been migrated to rules")
            if group not in self.ha_groups:
                raise die("HA group '{0}' does not exist".format(group))
        self.need_quorum()
        try:
            self._ha_check_digest('resources', sid, digest)
            if sid not in self.ha_resources:
                raise die("no such resource '{0}'".format(sid))
            conf = dict(self.ha_resources[sid])
            conf.update((k, val) for k, val in param.items() if val is not None)
            for key in deletes:
                if key not in RESOURCE_OPTIONS or (self.ha_pve8 and key in PVE9_ONLY_RESOURCE_OPTIONS):
                    raise die("no such option '{0}'".format(key))
                conf.pop(key, None)
        except PveError as e:
            raise ha_locked('update resources config failed', e) from None
        self.ha_resources[sid] = conf
        self._ha_wrote('resources', sid)

    async def _ha_resource_migrate(self, v, user):
        """pve-ha-manager's migrate: the resource must be HA managed and not in error; the CRM is asked to move it
        (online) to the node, which it does after `ha_delay`. PVE 9 answers the request, PVE 8 nothing."""
        sid, _kind, name = self._ha_parse_sid(v['sid'])
        if sid not in self.ha_resources:
            raise die("resource '{0}' is not HA managed".format(sid))
        if self._ha_status_of(sid) == 'error':
            raise die("service '{0}' in error state, must be disabled and fixed first".format(sid))
        node = v['node']
        if node not in self.nodes:
            raise param_error(node="no such cluster node '{0}'".format(node))
        guest = self._ha_guest(name)

        def act():
            if guest is not None and self.nodes[node].get('online', True):
                guest.node = node

        if self.time_scale:
            async def later():
                await self.pause(self.ha_delay)
                act()
            asyncio.ensure_future(later())
        else:
            act()
        if self.ha_pve8:
            return None
        return {'sid': sid, 'requested-node': node, 'comigrated-resources': [], 'blocking-resources': []}

    def _ha_status_of(self, sid):
        """The HA state the status shows for a resource (its guest's `ha_state`)."""
        _sid, _kind, name = self._ha_parse_sid(sid)
        guest = self._ha_guest(name)
        return guest.ha_state if guest is not None else None

    async def _ha_resource_delete(self, v, user):
        self.need_quorum()
        sid, _kind, _name = self._ha_parse_sid(v['sid'])
        if sid not in self.ha_resources:
            raise die("cannot delete service '{0}', not HA managed!".format(sid))
        purge = str(v.get('purge', 1)).lower() not in ('0', 'false', 'no', 'off')
        del self.ha_resources[sid]
        self._ha_wrote('resources', sid)
        if purge and not self.ha_pve8:
            for rule_id in sorted(self.ha_rules):
                rule = self.ha_rules[rule_id]
                if sid not in rule['resources']:
                    continue
                if rule['resources'] == [sid]:
                    del self.ha_rules[rule_id]
                    self.ha_rule_order.pop(rule_id, None)
                else:
                    self.ha_rules[rule_id] = dict(rule, resources=[r for r in rule['resources'] if r != sid])
                self._ha_wrote('rules', rule_id)

    # ---------------------------------------------------------------- status

    def _ha_master(self):
        online = [n for n, s in sorted(self.nodes.items()) if s.get('online', True)]
        return online[0] if online else sorted(self.nodes)[0]

    def _ha_service_node(self, sid):
        guest = self._ha_guest(sid.split(':', 1)[1])
        return guest.node if guest is not None else None

    async def _ha_manager_status(self, v, user):
        now = int(time.time())
        service_status = {}
        for sid, conf in sorted(self.ha_resources.items()):
            state = conf.get('state') or 'started'
            if state == 'ignored':
                continue
            state = 'started' if state == 'enabled' else state
            service_status[sid] = {'node': self._ha_service_node(sid), 'state': 'stopped' if state == 'disabled'
                                   else state, 'uid': hashlib.sha1(sid.encode()).hexdigest()[:22]}
        node_status = dict((n, 'online' if s.get('online', True) else 'unknown') for n, s in sorted(self.nodes.items()))
        return {'manager_status': {'master_node': self._ha_master(), 'node_status': node_status,
                                   'service_status': service_status, 'timestamp': now},
                'quorum': {'node': self._ha_master(), 'quorate': '1' if self.quorate else '0'},
                'lrm_status': dict((n, {'mode': self.ha_lrm_mode.get(n, 'active'), 'state': 'active' if service_status else
                                        'wait_for_agent_lock', 'timestamp': now}) for n in sorted(self.nodes))}

    async def _ha_status_current(self, v, user):
        now = int(time.time())
        master = self._ha_master()
        out = [{'id': 'quorum', 'type': 'quorum', 'node': master, 'quorate': 1 if self.quorate else 0,
                'status': 'OK' if self.quorate else 'No quorum on node {0!r}!'.format(master)}]
        stamp = time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(now))
        if self.ha_resources:
            out.append({'id': 'master', 'type': 'master', 'node': master, 'timestamp': now,
                        'status': '{0} (active, {1})'.format(master, stamp)})
        for node, state in sorted(self.nodes.items()):
            busy = any(self._ha_service_node(sid) == node for sid in self.ha_resources)
            mode = ('active' if busy else 'idle') if state.get('online', True) else 'old timestamp - dead?'
            if state.get('online', True) and self.ha_lrm_mode.get(node, 'active') != 'active':
                mode = '{0} mode'.format(self.ha_lrm_mode[node])
            out.append({'id': 'lrm:' + node, 'type': 'lrm', 'node': node, 'timestamp': now,
                        'status': '{0} ({1}, {2})'.format(node, mode, stamp)})
        for sid, conf in sorted(self.ha_resources.items()):
            node = self._ha_service_node(sid)
            request = conf.get('state') or 'started'
            state = {'enabled': 'started', 'disabled': 'disabled'}.get(request, request)
            data = {'id': 'service:' + sid, 'type': 'service', 'sid': sid, 'node': node, 'state': state,
                    'request_state': request, 'status': '{0} ({1}, {2})'.format(sid, node or '---', state)}
            if request != 'ignored':
                data['crm_state'] = 'stopped' if request in ('stopped', 'disabled') else 'started'
            for key in ('group', 'max_restart', 'max_relocate', 'failback', 'comment'):
                if conf.get(key) is not None and not (key == 'group' and self._ha_groups_migrated()):
                    data[key] = conf[key]
            out.append(data)
        return out
