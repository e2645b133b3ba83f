# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""What is specific to the Proxmox VE firewall: levels and their API paths, rule identity, rule fields.

A firewall rule has no id in the API: it is addressed by its position, which changes whenever a rule is added,
moved or removed anywhere above it. The modules therefore never identify a rule by position. A rule is found by
its `rule_id`, kept in its comment as a marker (`[id=web-https] the user's comment`), or, without one, by all its
match fields (type, action, macro, source, dest, proto, dport, sport, iface, icmp-type). Rules are written one
request at a time, each with the digest of the list it was planned on, so a concurrent change is detected by
Proxmox VE (`detected modified configuration`) and never overwritten.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError, ProxmoxError

# ------------------------------------------------------------------------------------------------ levels

LEVELS = ('cluster', 'node', 'guest', 'vm', 'ct', 'group', 'vnet')
# Rule types each level accepts (pve-firewall's $rule_env_direction_lookup).
RULE_TYPES = {
    'cluster': ('in', 'out', 'forward', 'group'),
    'node': ('in', 'out', 'forward', 'group'),
    'vm': ('in', 'out', 'group'),
    'ct': ('in', 'out', 'group'),
    'group': ('in', 'out', 'forward'),
    'vnet': ('forward', 'group'),
}
# Levels whose rules may name an interface.
IFACE_LEVELS = ('cluster', 'node', 'vm', 'ct')
NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_-]+$')
VNET_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]$')


class Level(object):
    """A resolved firewall level: its kind (cluster, node, vm, ct, group, vnet), its API base path and a label."""

    def __init__(self, kind, segments, label, node=None, vmid=None, group=None, vnet=None):
        self.kind = kind
        self.segments = tuple(segments)
        self.label = label
        self.node = node
        self.vmid = vmid
        self.group = group
        self.vnet = vnet

    def path(self, client, *more):
        return client.path(*(self.segments + tuple(more)))

    @property
    def rules_segments(self):
        """Where the rules live: a security group's rules are the group's own path."""
        return self.segments if self.kind == 'group' else self.segments + ('rules',)

    def rules_path(self, client, *more):
        return client.path(*(self.rules_segments + tuple(str(m) for m in more)))


def level_argument_spec(levels):
    """The options that name a level: level, node, vmid, group, vnet."""
    return dict(
        level=dict(type='str', choices=list(levels), default='cluster'),
        node=dict(type='str'),
        vmid=dict(type='int'),
        group=dict(type='str'),
        vnet=dict(type='str'),
    )


def check_level_options(params, allowed):
    """Fail, before any request, when the options do not name one level of the allowed kinds."""
    level = params['level']
    if level not in allowed:
        raise ProxmoxConfigError('level {0!r} is not supported here; use one of {1}'.format(level, ', '.join(allowed)))
    needs = {'node': ('node',), 'guest': ('vmid',), 'vm': ('vmid',), 'ct': ('vmid',), 'group': ('group',),
             'vnet': ('vnet',), 'cluster': ()}[level]
    for name in needs:
        if params.get(name) in (None, ''):
            raise ProxmoxConfigError('level {0} needs the option {1}'.format(level, name))
    used = [name for name in ('node', 'vmid', 'group', 'vnet') if params.get(name) not in (None, '')]
    extra = [name for name in used if name not in needs and not (name == 'node' and level in ('guest', 'vm', 'ct'))]
    if extra:
        raise ProxmoxConfigError('level {0} does not take the option(s) {1}'.format(level, ', '.join(extra)))
    if level == 'group' and not NAME_RE.match(params['group']) or level == 'group' and len(params['group']) > 18:
        raise ProxmoxConfigError('security group name {0!r} is not valid: a letter, then letters, digits, - or _ '
                                 '(2 to 18 characters)'.format(params['group']))
    if level == 'vnet' and not VNET_RE.match(params['vnet']) or level == 'vnet' and len(params['vnet']) > 8:
        raise ProxmoxConfigError('vnet name {0!r} is not valid: letters and digits, starting with a letter, '
                                 'at most 8 characters'.format(params['vnet']))
    if params.get('vmid') is not None and params['vmid'] < 100:
        raise ProxmoxConfigError('vmid {0} is not a guest id (100 or more)'.format(params['vmid']))


def resolve_level(client, params):
    """The Level the options name, reading the cluster where needed (a guest's node and type, a node's existence).

    Only reads: an unknown node or guest fails here, before any write.
    """
    level = params['level']
    if level == 'cluster':
        return Level('cluster', ('cluster', 'firewall'), 'cluster firewall')
    if level == 'group':
        return Level('group', ('cluster', 'firewall', 'groups', params['group']),
                     'security group {0!r}'.format(params['group']), group=params['group'])
    if level == 'vnet':
        return Level('vnet', ('cluster', 'sdn', 'vnets', params['vnet'], 'firewall'),
                     'firewall of vnet {0!r}'.format(params['vnet']), vnet=params['vnet'])
    if level == 'node':
        node = params['node']
        names = sorted(item.get('node') for item in client.get(client.path('nodes')) or [])
        if node not in names:
            raise ProxmoxConfigError('no such node {0!r} in this cluster (nodes: {1})'.format(node, ', '.join(names)))
        return Level('node', ('nodes', node, 'firewall'), 'firewall of node {0!r}'.format(node), node=node)
    vmid = params['vmid']
    found = None
    for item in client.get(client.path('cluster', 'resources'), type='vm') or []:
        if str(item.get('vmid')) == str(vmid):
            found = item
            break
    if found is None:
        raise ProxmoxConfigError('no guest with vmid {0} in this cluster'.format(vmid))
    kind = 'ct' if found.get('type') == 'lxc' else 'vm'
    if level in ('vm', 'ct') and level != kind:
        raise ProxmoxConfigError('guest {0} is a {1}, not a {2}: use level {3} (or guest)'.format(
            vmid, 'container' if kind == 'ct' else 'virtual machine', 'container' if level == 'ct' else 'virtual machine',
            kind))
    node = found.get('node')
    if params.get('node') and params['node'] != node:
        raise ProxmoxConfigError('guest {0} is on node {1!r}, not {2!r}'.format(vmid, node, params['node']))
    return Level(kind, ('nodes', node, 'qemu' if kind == 'vm' else 'lxc', vmid, 'firewall'),
                 'firewall of {0} {1}'.format('container' if kind == 'ct' else 'VM', vmid), node=node, vmid=vmid)


# ------------------------------------------------------------------------------------------------ rule fields

# API name -> module option name.
MATCH_FIELDS = ('type', 'action', 'macro', 'source', 'dest', 'proto', 'dport', 'sport', 'iface', 'icmp-type')
SETTING_FIELDS = ('enable', 'log', 'comment')
OPTION_NAMES = {'icmp-type': 'icmp_type', 'enable': 'enabled'}
LOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog')
ACTIONS = ('ACCEPT', 'DROP', 'REJECT')
ICMP_PROTOS = ('icmp', 'icmpv6', 'ipv6-icmp', '1', '58')
PORT_PROTOS = ('udp', '17', 'udplite', '136', 'tcp', '6', 'dccp', '33', 'sctp', '132')
RULE_ID_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$')
MARKER_RE = re.compile(r'\s*\[id=([A-Za-z0-9][A-Za-z0-9_.:-]*)\]\s*')
_PORT_NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_.+-]*$')


def option_name(api_name):
    return OPTION_NAMES.get(api_name, api_name)


# ---------------------------------------------------------------- comment marker

def split_comment(comment):
    """A rule's comment -> (rule_id or None, the user's comment or None). The marker may be anywhere in it."""
    if comment is None:
        return None, None
    text = str(comment)
    found = MARKER_RE.search(text)
    if not found:
        return None, (text or None)
    rest = (text[:found.start()] + ' ' + text[found.end():]).strip()
    return found.group(1), (rest or None)


def join_comment(rule_id, comment):
    """(rule_id, user comment) -> the comment stored in Proxmox VE: `[id=<rule_id>] <comment>`."""
    comment = (comment or '').strip()
    if not rule_id:
        return comment or None
    marker = '[id={0}]'.format(rule_id)
    return '{0} {1}'.format(marker, comment) if comment else marker


# ---------------------------------------------------------------- ports

def parse_ports(value, field='dport', icmp_ok=False):
    """A port list (`80,443`, `8000:8100`, `8000-8100`, `https`, or a list of those) -> canonical items.

    Ranges are written `first:last` as Proxmox VE stores them. Raises ProxmoxConfigError with what is wrong.
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        raw = [str(item).strip() for item in value]
    else:
        raw = [item.strip() for item in str(value).split(',')]
    items = []
    numbers = 0
    for item in raw:
        if item == '':
            raise ProxmoxConfigError('{0}: empty entry in port list {1!r}'.format(field, value))
        found = re.match(r'^(\d+)\s*[:-]\s*(\d+)$', item)
        if found:
            first, last = int(found.group(1)), int(found.group(2))
            if first > 65535 or last > 65535:
                raise ProxmoxConfigError("{0}: invalid port range '{1}' (ports go from 0 to 65535)".format(field, item))
            if first > last:
                raise ProxmoxConfigError("{0}: backwards range '{1}', did you mean '{2}:{3}'?".format(field, item, last, first))
            items.append('{0}:{1}'.format(first, last) if first != last else str(first))
            numbers += 2 if first != last else 1
        elif item.isdigit():
            if int(item) > 65535:
                raise ProxmoxConfigError("{0}: invalid port '{1}' (ports go from 0 to 65535)".format(field, item))
            items.append(str(int(item)))
            numbers += 1
        elif _PORT_NAME_RE.match(item):
            items.append(item)
        else:
            raise ProxmoxConfigError("{0}: invalid port '{1}': a number, a range like 8000:8100, or a service name "
                                     "from /etc/services".format(field, item))
    if numbers > 15:
        raise ProxmoxConfigError('{0}: too many entries in port list (more than 15 numbers; a range counts 2)'.format(field))
    return items


def _ports_canonical(value):
    try:
        return tuple(sorted(set(parse_ports(value) or ())))
    except ProxmoxConfigError:
        return str(value)


def _address_canonical(value):
    items = [item.strip() for item in str(value).split(',') if item.strip()]
    out = []
    for item in items:
        try:
            if '/' in item:
                out.append(str(ipaddress.ip_network(item, strict=False)) if '-' not in item else item)
            elif '-' not in item:
                out.append(str(ipaddress.ip_address(item)))
            else:
                out.append(item)
        except ValueError:
            # Aliases are case-insensitive in Proxmox VE; ipset references are not.
            out.append(item if item.startswith('+') else item.lower())
    return ','.join(out)


def canonical(api_name, value):
    """One rule field in the form two equal rules share."""
    if value is None or value == '':
        return None
    if api_name == 'type':
        return str(value).lower()
    if api_name == 'action':
        text = str(value).strip()
        return text.upper() if text.upper() in ACTIONS else text
    if api_name in ('macro', 'proto', 'icmp-type'):
        return str(value).strip().lower()
    if api_name in ('dport', 'sport'):
        return _ports_canonical(value)
    if api_name in ('source', 'dest'):
        return _address_canonical(value)
    if api_name == 'enable':
        return 1 if str(value).strip().lower() in ('1', 'true', 'yes', 'on') else 0
    return str(value).strip()


def shown(api_name, value):
    """A field as diffs show it: the canonical value, with port lists as strings."""
    value = canonical(api_name, value)
    if isinstance(value, tuple):
        return ','.join(value)
    return value


def serialize(api_name, value):
    """A desired value as it is sent."""
    if api_name in ('dport', 'sport'):
        return ','.join(parse_ports(value, api_name))
    if api_name == 'enable':
        return 1 if value else 0
    if api_name == 'action':
        text = str(value).strip()
        return text.upper() if text.upper() in ACTIONS else text
    if api_name == 'type':
        return str(value).lower()
    return str(value).strip()


# ---------------------------------------------------------------- desired rules

class DesiredRule(object):
    """A rule as the user asked for it.

    values: API name -> value for the fields the user gave ('' means: remove the field, with a rule_id only).
    rule_id: the marker in the comment, or None (then the rule is identified by all its match fields).
    pos: the wanted position, or None (unmanaged).
    """

    def __init__(self, values, rule_id=None, pos=None, comment=None, create_enabled=True):
        self.values = dict((k, v) for k, v in values.items() if v is not None)
        self.rule_id = rule_id
        self.pos = pos
        self.comment = comment
        self.create_enabled = create_enabled
        # Set by validate(): the level the rule is at (cluster, node, vm, ct, group).
        self.level_kind: Optional[str] = None

    @classmethod
    def from_options(cls, options, level_kind, pos=None):
        """From module options (option names) -> a validated DesiredRule; ProxmoxConfigError before any request."""
        values = {}
        for api_name in MATCH_FIELDS + ('enable', 'log'):
            value = options.get(option_name(api_name))
            if isinstance(value, list) and not any(str(item).strip() for item in value):
                value = ''
            if value is not None:
                values[api_name] = value
        rule_id = options.get('rule_id')
        rule = cls(values, rule_id=rule_id, pos=options.get('pos', pos), comment=options.get('comment'))
        rule.validate(level_kind)
        return rule

    def label(self):
        if self.rule_id:
            return 'rule {0!r}'.format(self.rule_id)
        parts = []
        for name in ('type', 'action', 'macro', 'proto', 'dport', 'source', 'dest'):
            value = self.values.get(name)
            if value not in (None, '', []):
                parts.append(','.join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value))
        return 'rule ' + ' '.join(parts)

    def validate(self, level_kind):
        """What Proxmox VE would refuse, refused first, with what to do about it."""
        values = self.values
        where = self.label()
        if self.rule_id is not None and not RULE_ID_RE.match(str(self.rule_id)):
            raise ProxmoxConfigError('rule_id {0!r} is not valid: letters, digits, _ . : -, starting with a letter or '
                                     'digit, at most 64 characters'.format(self.rule_id))
        if self.comment is not None and ('\n' in self.comment or MARKER_RE.search(self.comment)):
            raise ProxmoxConfigError('{0}: the comment must be one line and must not hold an [id=...] marker '
                                     '(use rule_id)'.format(where))
        if self.rule_id is None:
            for name in ('type', 'action'):
                if not values.get(name):
                    raise ProxmoxConfigError('{0}: a rule without rule_id is found by its match fields, so {1} is '
                                             'required (or give a rule_id)'.format(where, name))
            empty = [option_name(k) for k, v in values.items() if v == '' or v == []]
            if empty:
                raise ProxmoxConfigError('{0}: empty values ({1}) only make sense with a rule_id: without one, '
                                         'leave the option out'.format(where, ', '.join(empty)))
        self.level_kind = level_kind
        for name in ('dport', 'sport'):
            if values.get(name) not in (None, '', []):
                values[name] = parse_ports(values[name], name)
        if values.get('log') not in (None, '') and values['log'] not in LOG_LEVELS:
            raise ProxmoxConfigError('{0}: log must be one of {1}'.format(where, ', '.join(LOG_LEVELS)))
        if self.rule_id is None:
            self.check_rule(values)
        else:
            # The other fields of a named rule are known once it is read: checked then, still before any write.
            self.check_rule(dict((k, v) for k, v in values.items() if k in ('type', 'action', 'iface')), partial=True)

    def check_rule(self, values, partial=False):
        """The checks across fields of a whole rule (API names), as Proxmox VE's verify_rule makes them."""
        where = self.label()
        level_kind = self.level_kind
        if level_kind is None:
            raise ValueError('check_rule needs the level of the rule: call validate(level_kind) first')
        rtype = values.get('type')
        if rtype:
            rtype = str(rtype).lower()
            allowed = RULE_TYPES[level_kind]
            if rtype not in allowed:
                raise ProxmoxConfigError('{0}: type {1!r} is not allowed at level {2}; use one of {3}'.format(
                    where, rtype, level_kind, ', '.join(allowed)))
        action = values.get('action')
        if action and rtype in ('in', 'out', 'forward'):
            if str(action).upper() not in ACTIONS:
                raise ProxmoxConfigError('{0}: action {1!r} is not one of ACCEPT, DROP, REJECT (for a security group, '
                                         'use type group with the group name as action)'.format(where, action))
            if rtype == 'forward' and str(action).upper() == 'REJECT':
                raise ProxmoxConfigError('{0}: REJECT is not allowed on the forward chain: use DROP'.format(where))
        if action and rtype == 'group' and (not NAME_RE.match(str(action)) or len(str(action)) > 18):
            raise ProxmoxConfigError('{0}: action {1!r} must name a security group'.format(where, action))
        if values.get('iface') and level_kind not in IFACE_LEVELS:
            raise ProxmoxConfigError('{0}: iface is not allowed at level {1}'.format(where, level_kind))
        if partial:
            return
        proto = str(values.get('proto') or '').lower()
        for name in ('dport', 'sport'):
            if values.get(name) in (None, '', []):
                continue
            if not proto:
                raise ProxmoxConfigError('{0}: {1} needs proto (tcp, udp, ...): Proxmox VE matches ports only with a '
                                         'protocol, even with a macro'.format(where, name))
            if proto not in PORT_PROTOS and not (name == 'dport' and proto in ICMP_PROTOS):
                raise ProxmoxConfigError("{0}: protocol '{1}' does not support ports".format(where, proto))
        if values.get('icmp-type') and proto not in ICMP_PROTOS:
            raise ProxmoxConfigError('{0}: icmp_type needs proto icmp or icmpv6'.format(where))

    # ------------------------------------------------------------ matching

    def matches(self, rule):
        """Does this API rule stand for this desired rule?"""
        rule_id, _comment = split_comment(rule.get('comment'))
        if self.rule_id is not None:
            return rule_id == self.rule_id
        if rule_id is not None:
            # A rule someone named belongs to that name.
            return False
        return all(canonical(name, self.values.get(name)) == canonical(name, rule.get(name)) for name in MATCH_FIELDS)

    def adopts(self, rule):
        """A named rule not found by its id takes over an unnamed rule with exactly its match fields, rather
        than adding a second rule that does the same (the marker is then added to that rule's comment)."""
        if self.rule_id is None or split_comment(rule.get('comment'))[0] is not None:
            return False
        if not self.values.get('type') or not self.values.get('action'):
            return False
        return all(canonical(name, self.values.get(name)) == canonical(name, rule.get(name)) for name in MATCH_FIELDS)

    # ------------------------------------------------------------ changes

    def wanted_comment(self, rule):
        """The comment to store, or None when the current one is right (or unmanaged)."""
        current = rule.get('comment') if rule else None
        cur_id, cur_comment = split_comment(current)
        comment = cur_comment if self.comment is None else self.comment
        want = join_comment(self.rule_id if self.rule_id is not None else cur_id, comment)
        return want

    def create_params(self):
        missing = [option_name(name) for name in ('type', 'action') if self.values.get(name) in (None, '')]
        if missing:
            raise ProxmoxConfigError('{0} does not exist yet: give {1} to create it'.format(self.label(), ' and '.join(missing)))
        if self.level_kind:
            self.check_rule(self.values)
        params = {}
        for name, value in self.values.items():
            if value in ('', []):
                continue
            params[name] = serialize(name, value)
        if 'enable' not in params:
            params['enable'] = 1 if self.create_enabled else 0
        comment = join_comment(self.rule_id, self.comment)
        if comment:
            params['comment'] = comment
        return params

    def update_params(self, rule):
        """(params, delete) that make the API rule `rule` what the user asked; both empty when it already is."""
        params, delete = {}, []
        for name, value in self.values.items():
            have = canonical(name, rule.get(name))
            if value in ('', []):
                if have is not None:
                    if name in ('type', 'action'):
                        raise ProxmoxConfigError('{0}: {1} cannot be removed from a rule'.format(self.label(), name))
                    delete.append(name)
                continue
            if canonical(name, value) != have:
                params[name] = serialize(name, value)
        want = self.wanted_comment(rule)
        if (want or None) != (rule.get('comment') or None):
            if want:
                params['comment'] = want
            else:
                delete.append('comment')
        if (params or delete) and self.rule_id is not None and self.level_kind:
            merged = dict((k, v) for k, v in rule.items() if k not in delete)
            merged.update(params)
            self.check_rule(merged)
        return params, delete

    def view(self, rule, pos=None):
        """The managed keys of an API rule (option names, canonical values), as diffs show them."""
        if rule is None:
            return {}
        out = {}
        for name in self.values:
            out[option_name(name)] = shown(name, rule.get(name))
        if self.comment is not None:
            out['comment'] = split_comment(rule.get('comment'))[1]
        if self.rule_id is not None:
            out['rule_id'] = self.rule_id
        if self.pos is not None and pos is not None:
            out['pos'] = pos
        return out


def full_view(rule):
    """Every field of an API rule (option names, canonical values), for diffs of whole rule lists."""
    out = {}
    for name in MATCH_FIELDS + ('enable', 'log'):
        value = shown(name, rule.get(name))
        if value is not None:
            out[option_name(name)] = value
    rule_id, comment = split_comment(rule.get('comment'))
    if rule_id:
        out['rule_id'] = rule_id
    if comment:
        out['comment'] = comment
    return out


def public_rule(rule):
    """An API rule as results show it: without the list's digest, with rule_id and the user's comment apart."""
    if rule is None:
        return None
    out = dict((k, v) for k, v in rule.items() if k not in ('digest', '_k'))
    rule_id, comment = split_comment(rule.get('comment'))
    out['rule_id'] = rule_id
    if rule_id:
        if comment:
            out['comment'] = comment
        else:
            out.pop('comment', None)
    return out


# ---------------------------------------------------------------- planning

def _apply(sim, op):
    """Apply one planned operation to a simulated rule list (what Proxmox VE does with it)."""
    kind = op[0]
    if kind == 'create':
        rule = dict(op[1])
        rule['_k'] = op[2]
        sim.insert(0, rule)
    elif kind == 'update':
        _kind, pos, params, delete = op
        rule = dict(sim[pos])
        for name, value in params.items():
            if value in ('', '-'):
                rule.pop(name, None)
            else:
                rule[name] = value
        for name in delete:
            rule.pop(name, None)
        sim[pos] = rule
    elif kind == 'move':
        _kind, pos, moveto = op
        rule = sim[pos]
        moved = [entry for index, entry in enumerate(sim) if index != pos]
        # The rule goes in front of the one at `moveto` counted before the move (past the end: last).
        anchor = sim[moveto] if moveto < len(sim) else None
        index = moved.index(anchor) if anchor is not None else len(moved)
        moved.insert(index, rule)
        sim[:] = moved
    elif kind == 'delete':
        del sim[op[1]]
    for index, rule in enumerate(sim):
        rule['pos'] = index


def plan(rules, desired, state='present', purge=False):
    """The operations that turn the API's rule list into the desired one, and the list they leave.

    desired: DesiredRule list, in order. A rule with a pos is moved there (past the end means last); without a
    pos it stays where it is, and a new one goes where Proxmox VE puts it (first). purge: delete the rules no
    desired rule matched. state absent: delete every rule a desired rule matches.
    Returns (ops, final list, matches) where matches maps a desired index to its rule's final key or None.
    """
    sim = [dict(rule, _k=('old', index)) for index, rule in enumerate(rules)]
    for index, rule in enumerate(sim):
        rule['pos'] = index
    ops: List[Tuple[Any, ...]] = []
    claimed = []
    for number, want in enumerate(desired):
        found = [index for index, rule in enumerate(sim) if rule['_k'] not in claimed and want.matches(rule)]
        if not found and state != 'absent':
            found = [index for index, rule in enumerate(sim) if rule['_k'] not in claimed and want.adopts(rule)][:1]
        if state == 'absent':
            claimed.append(sim[found[0]]['_k'] if found else None)
            for index in reversed(found):
                op: Tuple[Any, ...] = ('delete', index)
                ops.append(op)
                _apply(sim, op)
            continue
        if found:
            index = found[0]
            params, delete = want.update_params(sim[index])
            if params or delete:
                op = ('update', index, params, delete)
                ops.append(op)
                _apply(sim, op)
        else:
            op = ('create', want.create_params(), ('new', number))
            ops.append(op)
            _apply(sim, op)
            index = 0
        key = sim[index]['_k']
        claimed.append(key)
        if want.pos is not None:
            target = min(want.pos, len(sim) - 1)
            if index != target:
                op = ('move', index, target + 1 if index < target else target)
                ops.append(op)
                _apply(sim, op)
    if purge and state != 'absent':
        for index in reversed(range(len(sim))):
            if sim[index]['_k'] not in claimed:
                op = ('delete', index)
                ops.append(op)
                _apply(sim, op)
    matches = {}
    for number in range(len(desired)):
        matches[number] = claimed[number] if number < len(claimed) else None
    return ops, sim, matches


class RuleList(object):
    """The rules of one level, read once, planned, and written one request at a time with the list's digest."""

    def __init__(self, module, level):
        self.module = module
        self.client = module.client
        self.level = level

    def read(self):
        return self.client.get(self.level.rules_path(self.client)) or []

    def _execute(self, op, digest):
        client, level = self.client, self.level
        extra = {'digest': digest} if digest else {}
        if op[0] == 'create':
            client.post(level.rules_path(client), **op[1])
        elif op[0] == 'update':
            params = dict(op[2])
            if op[3]:
                params['delete'] = ','.join(op[3])
            params.update(extra)
            client.put(level.rules_path(client, op[1]), **params)
        elif op[0] == 'move':
            client.put(level.rules_path(client, op[1]), moveto=op[2], **extra)
        elif op[0] == 'delete':
            client.delete(level.rules_path(client, op[1]), **extra)

    def converge(self, desired, state='present', purge=False, rules=None):
        """Plan on one read; in check mode stop there. Otherwise write the first operation with the digest of the
        list it was planned on, read again, plan again, until nothing is left.

        Returns (changed, rules before, matches in them, final rules, matches in those): matches map a desired
        rule's index to the key (`_k`) of its rule, ('old', index in the list read) or ('new', n) when created.
        """
        before = self.read() if rules is None else rules
        ops, final, matches = plan(before, desired, state, purge)
        first = dict(matches)
        if not ops or self.module.check_mode:
            return bool(ops), before, first, final, matches
        budget = len(ops) * 2 + 4
        current = before
        while ops:
            if budget <= 0:
                raise ProxmoxError('{0}: the rules did not settle after {1} writes; next step would be {2!r}. '
                                   'Something else may be changing them.'.format(self.level.label, len(ops) * 2 + 4, ops[0]))
            budget -= 1
            digest = current[0].get('digest') if current else None
            self._execute(ops[0], digest)
            current = self.read()
            ops, final, matches = plan(current, desired, state, purge)
        return True, before, first, final, matches


def find_key(rules, key):
    """The rule with this planning key: ('old', i) is the i-th rule of the list read, ('new', n) a created one."""
    if key is None:
        return None
    if key[0] == 'old' and not any('_k' in rule for rule in rules):
        return rules[key[1]] if key[1] < len(rules) else None
    for rule in rules:
        if rule.get('_k') == key:
            return rule
    return None


# ---------------------------------------------------------------- small shared helpers

def canonical_cidr(value):
    """An IP set entry as Proxmox VE stores it: host bits dropped, /32 and /128 left out; names kept."""
    text = str(value).strip()
    try:
        if '/' in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.prefixlen == net.max_prefixlen:
                return str(net.network_address)
            return str(net)
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


# ---------------------------------------------------------------- rule lists given as module options

# The rules of a security group: no interface, no group rules.
GROUP_RULE_SUBOPTIONS = dict(
    rule_id=dict(type='str'),
    type=dict(type='str', choices=['in', 'out', 'forward']),
    action=dict(type='str'),
    macro=dict(type='str'),
    source=dict(type='str'),
    dest=dict(type='str'),
    proto=dict(type='str'),
    dport=dict(type='list', elements='str'),
    sport=dict(type='list', elements='str'),
    icmp_type=dict(type='str'),
    log=dict(type='str', choices=list(LOG_LEVELS)),
    enabled=dict(type='bool'),
    comment=dict(type='str'),
)


# The rules of any level, in pve_firewall_rule's list mode: the level checks types and interfaces.
RULE_SUBOPTIONS = dict(GROUP_RULE_SUBOPTIONS)
RULE_SUBOPTIONS['type'] = dict(type='str', choices=['in', 'out', 'forward', 'group'])
RULE_SUBOPTIONS['iface'] = dict(type='str')


def desired_rules(rules, level_kind):
    """A module's `rules` list -> DesiredRule list, each at its index; duplicate identities refused."""
    out = []
    seen: Dict[Tuple[Any, ...], int] = {}
    for index, options in enumerate(rules or []):
        want = DesiredRule.from_options(dict(options, pos=index), level_kind)
        key = ('id', want.rule_id) if want.rule_id is not None else tuple(
            (name, canonical(name, want.values.get(name))) for name in MATCH_FIELDS)
        if key in seen:
            raise ProxmoxConfigError('rules[{0}] and rules[{1}] are the same rule ({2}): give each rule once, or tell '
                                     'them apart with rule_id'.format(seen[key], index, want.label()))
        seen[key] = index
        out.append(want)
    return out


# ---------------------------------------------------------------- options per level

def _bool01(value):
    return 1 if str(value).strip().lower() in ('1', 'true', 'yes', 'on') else 0


def _enabled(value):
    """The cluster's `enable` may hold a time stamp (the moment it was enabled): any value above 0 is on."""
    try:
        return 1 if int(float(value)) > 0 else 0
    except (TypeError, ValueError):
        return _bool01(value)


# option -> (kind, levels)
OPTIONS = {
    'enable': ('bool', ('cluster', 'node', 'vm', 'ct', 'vnet')),
    'policy_in': ('str', ('cluster', 'vm', 'ct')),
    'policy_out': ('str', ('cluster', 'vm', 'ct')),
    'policy_forward': ('str', ('cluster', 'vnet')),
    'ebtables': ('bool', ('cluster',)),
    'log_ratelimit': ('str', ('cluster',)),
    'log_level_in': ('str', ('node', 'vm', 'ct')),
    'log_level_out': ('str', ('node', 'vm', 'ct')),
    'log_level_forward': ('str', ('node', 'vnet')),
    'log_nf_conntrack': ('bool', ('node',)),
    'ndp': ('bool', ('node', 'vm', 'ct')),
    'nf_conntrack_allow_invalid': ('bool', ('node',)),
    'nf_conntrack_helpers': ('str', ('node',)),
    'nf_conntrack_max': ('int', ('node',)),
    'nf_conntrack_tcp_timeout_established': ('int', ('node',)),
    'nf_conntrack_tcp_timeout_syn_recv': ('int', ('node',)),
    'nftables': ('bool', ('node',)),
    'nosmurfs': ('bool', ('node',)),
    'protection_synflood': ('bool', ('node',)),
    'protection_synflood_burst': ('int', ('node',)),
    'protection_synflood_rate': ('int', ('node',)),
    'smurf_log_level': ('str', ('node',)),
    'tcp_flags_log_level': ('str', ('node',)),
    'tcpflags': ('bool', ('node',)),
    'dhcp': ('bool', ('vm', 'ct')),
    'ipfilter': ('bool', ('vm', 'ct')),
    'macfilter': ('bool', ('vm', 'ct')),
    'radv': ('bool', ('vm', 'ct')),
}

OPTIONS_PATHS = {
    'cluster': '/cluster/firewall/options',
    'node': '/nodes/{node}/firewall/options',
    'vm': '/nodes/{node}/qemu/{vmid}/firewall/options',
    'ct': '/nodes/{node}/lxc/{vmid}/firewall/options',
    'vnet': '/cluster/sdn/vnets/{vnet}/firewall/options',
}


def options_fields(level_kind):
    """compare.Field list of the options a level has."""
    fields = []
    for name, (kind, levels) in sorted(OPTIONS.items()):
        if level_kind not in levels:
            continue
        if name == 'enable':
            fields.append(Field(name, api_name=name, normalize=_enabled, serialize=_bool01))
        elif kind == 'bool':
            fields.append(Field(name, api_name=name, normalize=_bool01, serialize=_bool01))
        else:
            fields.append(Field(name, api_name=name, kind=kind))
    return fields


def check_options_level(params, level_kind):
    """Options the level does not have are refused before any request."""
    wrong = sorted(name for name, (_kind, levels) in OPTIONS.items()
                   if params.get(name) not in (None,) and level_kind not in levels)
    if wrong:
        raise ProxmoxConfigError('{0} level has no option(s) {1}; it has {2}'.format(
            level_kind, ', '.join(wrong), ', '.join(sorted(n for n, (_k, lv) in OPTIONS.items() if level_kind in lv))))
