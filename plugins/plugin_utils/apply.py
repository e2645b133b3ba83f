# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""pve_apply's engine: a declared state for one cluster, in pve_export's format, planned and applied as a whole.

The declaration is what pve_export returns (module name -> list of that module's option dicts). The engine
1. validates every item against its module's own argument spec, before any request (errors name the file, area
   and item);
2. reads the cluster once with export.Exporter - list calls, one per collection (one per guest for its
   configuration) - and turns what it reads into the same option dicts;
3. plans: an item whose declared options all equal what the cluster has needs nothing; any other item, and any
   item a pruned area has that the declaration does not name, is a candidate, and the module that manages it decides
   (its own read, compare and diff: the single-item modules' logic, reused as it is, not copied);
4. applies the candidates in dependency order (storages and SDN before guests, security groups before the rules that
   name them, guests before HA resources, deletions last and in reverse), guests in parallel up to a bound, every
   task within one deadline; a failure stops what comes after it and the result says what was done and what not.

It runs on the controller (the action plugin pve_apply) because the single-item modules' code lives in
plugins/modules, which a module cannot import.
"""

from __future__ import annotations

import importlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.export import AREAS, MODULES, Exporter
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import wait_for_task

# The order operations are applied in: what others depend on first. Deletions run in the reverse order.
ORDER = ('pve_storage', 'pve_sdn_zone', 'pve_sdn_vnet', 'pve_sdn_subnet', 'pve_vm', 'pve_lxc', 'pve_firewall_alias',
         'pve_firewall_ipset', 'pve_firewall_group', 'pve_firewall_options', 'pve_firewall_rule', 'pve_ha_group',
         'pve_ha_resource', 'pve_ha_rule', 'pve_backup_job')
AREA_OF = dict((module, area) for area, modules in MODULES.items() for module in modules)
# The options that name an item of each module (None where they do not apply).
IDENTITY = {
    'pve_storage': ('storage',), 'pve_backup_job': ('id',), 'pve_ha_group': ('name',), 'pve_ha_resource': ('sid',),
    'pve_ha_rule': ('name',), 'pve_sdn_zone': ('zone',), 'pve_sdn_vnet': ('vnet',), 'pve_sdn_subnet': ('vnet', 'cidr'),
    'pve_firewall_alias': ('level', 'node', 'vmid', 'name'),
    'pve_firewall_ipset': ('level', 'node', 'vmid', 'name'), 'pve_firewall_group': ('name',),
    'pve_firewall_options': ('level', 'node', 'vmid', 'vnet'),
    'pve_firewall_rule': ('level', 'node', 'vmid', 'group', 'vnet', 'rule_id'),
    'pve_vm': ('vmid',), 'pve_lxc': ('vmid',),
}
# Kinds `prune` deletes when the declaration does not name them. A level's firewall options and rule list are no
# items of their own (rule lists are purged with their `purge`), so they are never pruned.
PRUNABLE = tuple(m for m in ORDER if m not in ('pve_firewall_options', 'pve_firewall_rule'))
GUESTS = ('pve_vm', 'pve_lxc')
# The part of a guest's firewall level each firewall module's items are read from (export.FIREWALL_PARTS).
FIREWALL_PART = {'pve_firewall_options': 'options', 'pve_firewall_rule': 'rules', 'pve_firewall_alias': 'aliases',
                 'pve_firewall_ipset': 'ipsets'}
# Write-only options `secrets` supplies per module, by item name (storage) or vmid.
SECRET_OPTIONS = {'pve_storage': ('password', 'keyring', 'encryption_key', 'master_pubkey'),
                  'pve_vm': ('cipassword',), 'pve_lxc': ('password', 'ssh_public_keys')}


class DeclarationError(Exception):
    """An invalid declaration: raised before any write."""


class _Captured(Exception):
    pass


_SPECS: Dict[str, Any] = {}
_SPECS_LOCK = threading.Lock()


def module_code(name):
    """(the module's Python module, its argument spec and constraints), read from its main() without running it."""
    with _SPECS_LOCK:
        if name in _SPECS:
            return _SPECS[name]
        code: Any = importlib.import_module('ansible_collections.proxfleet.proxmox.plugins.modules.' + name)
        captured = {}

        class Capture(object):
            def __init__(self, argument_spec=None, **kwargs):
                captured['spec'] = argument_spec or {}
                captured['kwargs'] = kwargs
                raise _Captured()

        original = code.ProxmoxModule
        code.ProxmoxModule = Capture
        try:
            code.main()
        except _Captured:
            pass
        finally:
            code.ProxmoxModule = original
        kwargs = captured['kwargs']
        validator = ArgumentSpecValidator(
            captured['spec'], mutually_exclusive=kwargs.get('mutually_exclusive'),
            required_together=kwargs.get('required_together'), required_one_of=kwargs.get('required_one_of'),
            required_if=kwargs.get('required_if'), required_by=kwargs.get('required_by'))
        _SPECS[name] = (code, captured['spec'], validator)
        return _SPECS[name]


def identity(module, options):
    """The item's name as a tuple of (option, value) pairs, values as strings."""
    return tuple((key, str(options[key])) for key in IDENTITY[module] if options.get(key) not in (None, ''))


def label(module, options):
    return ' '.join(value for _key, value in identity(module, options)) or module


def same(declared, current):
    """Whether a declared option value equals the current one as pve_export writes it."""
    if isinstance(declared, dict) and isinstance(current, dict):
        return set(declared) == set(current) and all(same(v, current[k]) for k, v in declared.items())
    if isinstance(declared, (list, tuple)) and isinstance(current, (list, tuple)):
        return len(declared) == len(current) and all(same(a, b) for a, b in zip(declared, current))
    if isinstance(declared, bool) or isinstance(current, bool):
        return declared is current or declared == current
    if isinstance(declared, (dict, list, tuple)) or isinstance(current, (dict, list, tuple)):
        return False
    return declared == current or str(declared) == str(current)


class SubModule(object):
    """What a single-item module's run() uses of its ProxmoxModule, for one item of the plan."""

    def __init__(self, engine, module, params, raw):
        self.engine = engine
        self.name = module
        self.params = params
        self.raw = raw
        self.check_mode = engine.check_mode
        self.deadline = engine.deadline
        self.task_results = []
        self.warnings = []

    @property
    def client(self):
        return self.engine.client

    @property
    def target_url(self):
        return self.engine.client.settings.url

    def wait_task(self, upid):
        result = wait_for_task(self.engine.client, upid, self.engine.deadline)
        self.task_results.append(result.as_dict())
        return result

    def warn(self, message):
        self.warnings.append(message)

    def given_suboptions(self, name):
        return dict((k, v) for k, v in (self.raw.get(name) or {}).items() if v is not None)

    def fail_from(self, error, target=None, **_extra):
        raise error

    def fail_json(self, msg='', **_extra):
        raise ProxmoxError(msg)


class Item(object):
    """One declared (or, for prune, current) item and what the plan does with it."""

    def __init__(self, module, options, source, state='present'):
        self.module = module
        self.area = AREA_OF[module]
        self.options = options
        self.source = source
        self.state = state
        self.key = identity(module, options)
        self.label = label(module, options)
        self.params = None
        self.op = None
        self.status = None
        self.result = None
        self.error = None

    def describe(self):
        return '{0} {1!r} ({2}, area {3})'.format(self.module, self.label, self.source, self.area)


class Engine(object):
    """One run of pve_apply against one cluster."""

    def __init__(self, client, deadline, check_mode=False, prune=(), guest_nodes='auto', concurrency=4,
                 secrets=None, warn=None):
        self.client = client
        self.deadline = deadline
        self.check_mode = check_mode
        self.prune = set(prune or ())
        self.guest_nodes = guest_nodes
        self.concurrency = max(1, int(concurrency or 1))
        self.secrets = secrets or {}
        self.warn = warn or (lambda message: None)
        self.items = []
        self.declared = {}
        self.current = {}
        self.reads = 0
        self.tasks = []
        self.warnings = []

    # ------------------------------------------------------------ validation

    def declare(self, declaration):
        """declaration: [(source, {module: [options, ...]})]. Every item is validated; DeclarationError lists all
        that are wrong, naming the file, area and item."""
        errors = []
        seen: Dict[Any, Any] = {}
        for source, modules in declaration:
            if not isinstance(modules, dict):
                errors.append('{0}: expected a mapping of module names to lists of items'.format(source))
                continue
            for module, items in modules.items():
                if module not in AREA_OF:
                    errors.append('{0}: {1!r} is no module pve_apply applies (known: {2})'.format(
                        source, module, ', '.join(ORDER)))
                    continue
                if items is None:
                    items = []
                if not isinstance(items, list):
                    errors.append('{0}, area {1}: {2} must be a list of items'.format(source, AREA_OF[module], module))
                    continue
                self.declared.setdefault(module, [])
                for index, options in enumerate(items):
                    where = '{0}, area {1}, {2} item {3}'.format(source, AREA_OF[module], module, index + 1)
                    if not isinstance(options, dict):
                        errors.append('{0}: expected a mapping of options, got {1}'.format(where, type(options).__name__))
                        continue
                    item = Item(module, dict(options), source)
                    where = '{0}, area {1}, {2} item {3!r}'.format(source, item.area, module, item.label)
                    problem = self._validate(item)
                    if problem:
                        errors.append('{0}: {1}'.format(where, problem))
                        continue
                    if (module, item.key) in seen:
                        errors.append('{0}: declared twice (also in {1})'.format(where, seen[(module, item.key)]))
                        continue
                    seen[(module, item.key)] = source
                    self.declared[module].append(item)
        unknown = sorted(set(self.prune) - set(AREAS))
        if unknown:
            errors.append('prune: unknown area(s) {0} (known: {1})'.format(', '.join(unknown), ', '.join(AREAS)))
        if errors:
            raise DeclarationError('the declaration is invalid, nothing was changed: ' + '; '.join(errors))

    def _params(self, item, options):
        options = dict(options)
        if item.module in GUESTS and self.guest_nodes == 'auto':
            options['node'] = 'auto'
        names = SECRET_OPTIONS.get(item.module, ())
        if names:
            key = str(options.get('storage') if item.module == 'pve_storage' else options.get('vmid'))
            given = (self.secrets.get(item.module) or {})
            given = dict((str(k), v) for k, v in given.items()).get(key) or {}
            for name in names:
                if given.get(name) is not None:
                    options[name] = given[name]
        return options

    def _has_secrets(self, item):
        return any(name in item.params and name not in item.options and item.params[name] is not None
                   for name in SECRET_OPTIONS.get(item.module, ()))

    def _validate(self, item):
        _code, _spec, validator = module_code(item.module)
        if item.state == 'present' and item.options.get('state') == 'absent':
            return 'state absent is not declared: a declared item is present, and prune removes the ones not declared'
        result = validator.validate(self._params(item, item.options))
        if result.error_messages:
            return '; '.join(result.error_messages)
        item.params = result.validated_parameters
        return None

    # ------------------------------------------------------------ reading and planning

    def read(self):
        """The cluster as pve_export sees it, for the areas declared (and pruned)."""
        areas = sorted(set(AREA_OF[m] for m in self.declared) | self.prune, key=AREAS.index)
        # Independent reads (each guest's configuration, each level's firewall) run up to `concurrency` at once.
        exporter = Exporter(self.client, warn=self.warn, concurrency=self.concurrency)
        if 'firewall' not in self.prune:
            # Only the guest levels the declaration names need reading, and of each only the parts it declares
            # (options, rules, aliases, IP sets): what it leaves out is not managed.
            wanted: Dict[int, set] = {}
            for module in MODULES['firewall']:
                for item in self.declared.get(module, []):
                    if item.options.get('level') in ('vm', 'ct') and item.options.get('vmid') is not None \
                            and module in FIREWALL_PART:
                        wanted.setdefault(int(item.options['vmid']), set()).add(FIREWALL_PART[module])
            exporter.firewall_guests = wanted
        found = exporter.export(areas)
        self.reads = exporter.reads
        for module, items in found.items():
            self.current[module] = dict((identity(module, options), options) for options in items)
        return areas

    def _unchanged(self, item, current):
        for key, value in item.options.items():
            if key == 'node' and item.module in GUESTS and self.guest_nodes == 'auto':
                continue
            if key == 'ostemplate' and item.module == 'pve_lxc':
                continue
            if key not in current or not same(value, current[key]):
                return False
        return True

    def plan(self):
        """The candidates, in the order they are applied: declared items that differ, then prune deletions."""
        candidates = []
        for module in ORDER:
            current = self.current.get(module, {})
            for item in self.declared.get(module, []):
                have = current.get(item.key)
                # An item given secrets goes to its module, which judges them (and sends them only as it would).
                if have is not None and self._unchanged(item, have) and not self._has_secrets(item):
                    continue
                item.op = 'create' if have is None else 'update'
                candidates.append(item)
        for module in reversed(ORDER):
            if module not in PRUNABLE or AREA_OF[module] not in self.prune:
                continue
            named = set(item.key for item in self.declared.get(module, []))
            for key, options in sorted(self.current.get(module, {}).items()):
                if key in named:
                    continue
                ident = dict((k, options[k]) for k in IDENTITY[module] if options.get(k) not in (None, ''))
                item = Item(module, ident, 'the cluster', state='absent')
                item.op = 'delete'
                problem = self._validate_absent(item)
                if problem:
                    raise DeclarationError('cannot prune {0}: {1}'.format(item.describe(), problem))
                candidates.append(item)
        self.items = candidates
        return candidates

    def _validate_absent(self, item):
        _code, _spec, validator = module_code(item.module)
        result = validator.validate(dict(item.options, state='absent'))
        if result.error_messages:
            return '; '.join(result.error_messages)
        item.params = result.validated_parameters
        return None

    # ------------------------------------------------------------ applying

    def _parent_created(self, item, created):
        """In check mode, the parent an item needs and the plan creates (so the item cannot be checked yet)."""
        options = item.options
        if item.module == 'pve_sdn_vnet' and options.get('zone') in created.get('pve_sdn_zone', ()):
            return 'zone {0}'.format(options['zone'])
        if item.module == 'pve_sdn_subnet' and options.get('vnet') in created.get('pve_sdn_vnet', ()):
            return 'vnet {0}'.format(options['vnet'])
        if item.module.startswith('pve_firewall_'):
            level = options.get('level')
            if level == 'vnet' and options.get('vnet') in created.get('pve_sdn_vnet', ()):
                return 'vnet {0}'.format(options['vnet'])
            if level in ('vm', 'ct') and str(options.get('vmid')) in created.get('pve_vm', set()) | created.get('pve_lxc', set()):
                return 'guest {0}'.format(options['vmid'])
        return None

    def _run(self, item):
        code, _spec, _validator = module_code(item.module)
        sub = SubModule(self, item.module, dict(item.params), item.options)
        try:
            result = code.run(sub)
        except ProxmoxError as error:
            target = getattr(sub, 'fw_target', None) or getattr(sub, 'guest_label', None) or item.label
            item.error = '{0}: {1}'.format(item.module, error.describe(target))
            item.status = 'failed'
        else:
            item.result = result
            item.status = ('planned' if self.check_mode else 'done') if result.get('changed') else 'unchanged'
        self.tasks.extend(sub.task_results)
        self.warnings.extend(sub.warnings)
        return item

    def _run_batch(self, batch):
        """Guests in parallel, up to `concurrency`; after a failure, those not started yet are not done."""
        stop = threading.Event()

        def one(entry):
            if stop.is_set():
                entry.status = 'not_done'
                return entry
            self._run(entry)
            if entry.status == 'failed':
                stop.set()
            return entry

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(one, batch))

    def apply(self):
        """Run the candidates in order; stop at the first failure (what is left is reported as not done)."""
        created: Dict[Any, Any] = {}
        failed = False
        index = 0
        items = self.items
        while index < len(items):
            item = items[index]
            if failed:
                item.status = 'not_done'
                index += 1
                continue
            if item.module in GUESTS and item.op != 'delete' and self.concurrency > 1:
                batch = []
                while index < len(items) and items[index].module == item.module and items[index].op != 'delete':
                    batch.append(items[index])
                    index += 1
                self._run_batch(batch)
                failed = any(entry.status == 'failed' for entry in batch)
                for entry in batch:
                    if entry.status in ('planned', 'done') and entry.op == 'create':
                        created.setdefault(entry.module, set()).add(str(entry.options.get('vmid')))
                continue
            parent = self._parent_created(item, created) if self.check_mode else None
            if parent:
                item.status = 'planned'
                item.result = {'changed': True, 'diff': {'before': {}, 'after': dict(item.options)},
                               'msg': 'would be created once its {0} is'.format(parent)}
            else:
                self._run(item)
            if item.status == 'failed':
                failed = True
            elif item.status in ('planned', 'done') and item.op == 'create':
                created.setdefault(item.module, set()).add(
                    str(item.options.get('vmid')) if item.module in GUESTS else item.label)
            index += 1
        return not failed

    # ------------------------------------------------------------ result

    def operations(self, with_diff=False):
        """Every operation the plan holds (items a module found nothing to change in are left out)."""
        out = []
        for item in self.items:
            if item.status == 'unchanged':
                continue
            entry = {'area': item.area, 'module': item.module, 'item': item.label,
                     'id': dict((k, v) for k, v in item.options.items() if k in IDENTITY[item.module]),
                     'op': item.op, 'status': item.status}
            diff = (item.result or {}).get('diff') or {}
            if isinstance(diff, list):
                diff = diff[0] if diff else {}
            if item.op == 'update' and isinstance(diff.get('after'), dict):
                before = diff.get('before') or {}
                entry['keys'] = sorted(k for k, v in diff['after'].items() if before.get(k) != v)
            if item.error:
                entry['error'] = item.error
            if with_diff and isinstance(diff, dict) and item.status in ('planned', 'done'):
                entry['diff'] = {'before': diff.get('before') or {}, 'after': diff.get('after') or {}}
            out.append(entry)
        return out

    def counts(self, areas):
        counts = dict((area, {'create': 0, 'update': 0, 'delete': 0}) for area in areas)
        for entry in self.operations():
            if entry['status'] in ('planned', 'done'):
                counts.setdefault(entry['area'], {'create': 0, 'update': 0, 'delete': 0})[entry['op']] += 1
        return counts

    def diffs(self):
        out = []
        for item in self.items:
            if item.status not in ('planned', 'done') or not item.result:
                continue
            diff = item.result.get('diff')
            if isinstance(diff, list):
                diff = diff[0] if diff else None
            if not isinstance(diff, dict):
                continue
            header = '{0} {1} ({2})'.format(item.module, item.label, item.op)
            out.append({'before_header': header, 'after_header': header,
                        'before': diff.get('before') or {}, 'after': diff.get('after') or {}})
        return out
