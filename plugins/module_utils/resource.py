# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""The generic engine for config-style resources (backup jobs, datastores, remotes, pools, zones, HA groups ...).

Proxmox exposes them alike: GET a collection or an item (with a `digest`), POST the collection to create, PUT the
item with `digest` and a `delete` list to update, DELETE the item. A module built on this engine declares a
ResourceSpec (paths, id, fields) and calls ConfigResource.ensure(); the engine reads once, compares with
compare.compare(), writes only what differs (nothing in check mode), waits for any task, and returns the
result, diff and tasks in the module contract's shape.
"""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, MASK, assert_mutable, compare
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxError, is_not_found
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import join_list
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import is_upid
from ansible_collections.proxfleet.proxmox.plugins.module_utils.versions import check as check_version


class ResourceSpec(object):
    """What a config-style resource is.

    result_key: the result key holding the final state ('job', 'datastore', ...); label: how messages name it.
    collection: API path of the collection, with {placeholders} filled from path_vars ('/cluster/backup').
    id_field: the key that names an item in the API's answers and in the create call ('id', 'name', 'store').
    item: path of one item (default: collection/{id}); read: 'item' (GET the item, which carries the digest) or
    'list' (GET the collection and pick the item, for APIs whose item GET is missing or partial).
    fields: compare.Field list. digest: send the read digest with updates. delete_param: name of the update's
    list of keys to remove. requires: API key -> keys the schema says must come in the same request (its
    `requires`); on update they are sent with their current value when the user did not change them.
    delete_as_list: send the delete list as an array (PBS) instead of a comma-separated string (PVE).
    update: 'item' (PUT the item) or 'collection' (POST the collection with the id field, and each key of
    update_identity, set to the id: Proxmox VE's firewall security groups and IP sets are updated as a rename to
    their own name).
    """

    def __init__(self, result_key, label, collection, fields, id_field='id', item=None, read='item', digest=True,
                 delete_param='delete', id_in_create=True, requires=None, delete_as_list=False, update='item',
                 update_identity=()):
        self.result_key = result_key
        self.label = label
        self.collection = collection
        self.fields = fields
        self.id_field = id_field
        self.item = item or collection.rstrip('/') + '/{id}'
        self.read = read
        self.digest = digest
        self.delete_param = delete_param
        self.id_in_create = id_in_create
        self.requires = requires or {}
        # PVE takes the keys to delete as one comma-separated string, PBS as an array (repeated parameters).
        self.delete_as_list = delete_as_list
        self.update = update
        self.update_identity = tuple(update_identity)


class Members(object):
    """A list held under an item (an IP set's entries, a security group's rules), handled with it.

    The engine reads the list whenever the item exists, plans it after the item's own fields when the user manages
    it (from an empty list on creation), empties it before deleting the item when `clear_before_delete`, and puts
    it in the result (and in the diff when managed) under `name`. A subclass gives read, converge and the views.
    """

    name = 'members'
    clear_before_delete = False

    def read(self, resource):
        """The list as the API has it (the item exists)."""
        raise NotImplementedError

    def converge(self, resource, current, creating):
        """Bring the list to what the user wants; write nothing in check mode. Returns (changed, final list)."""
        raise NotImplementedError

    def clear(self, resource, current):
        """Empty the list before the item is deleted (only with clear_before_delete; never in check mode)."""
        raise NotImplementedError

    def diff_view(self, items):
        return list(items)

    def result_view(self, items):
        return list(items)


class ConfigResource(object):
    """One item of a ResourceSpec, bound to a module run."""

    def __init__(self, module, spec, ident, path_vars=None):
        self.module = module
        self.client = module.client
        self.spec = spec
        self.ident = ident
        self.path_vars = dict(path_vars or {})
        self.current = None
        self._final = None

    # ---------------------------------------------------------------- paths

    def _fill(self, template):
        values = dict(self.path_vars, id=self.ident)
        parts = template.strip('/').split('/')
        out = []
        for part in parts:
            if part.startswith('{') and part.endswith('}'):
                out.append(values[part[1:-1]])
            else:
                out.append(part)
        return self.client.path(*out)

    @property
    def target(self):
        return '{0} {1!r}'.format(self.spec.label, self.ident)

    # ---------------------------------------------------------------- read

    def read(self):
        """The item as the API has it, or None when it does not exist."""
        try:
            if self.spec.read == 'list':
                for item in self.client.get(self._fill(self.spec.collection)) or []:
                    if str(item.get(self.spec.id_field)) == str(self.ident):
                        self.current = item
                        return item
                self.current = None
                return None
            self.current = self.client.get(self._fill(self.spec.item))
        except ProxmoxError as error:
            if is_not_found(error):
                self.current = None
                return None
            raise
        if isinstance(self.current, dict):
            self.current.setdefault(self.spec.id_field, self.ident)
        return self.current

    def shown(self, state):
        """The state as results show it: write-only values masked (the API does not return them anyway)."""
        if state is None:
            return {}
        shown = dict(state)
        for field in self.spec.fields:
            if field.secret and field.api_name in shown:
                shown[field.api_name] = MASK
        return shown

    # ---------------------------------------------------------------- write

    def _finish(self, answer):
        if is_upid(answer):
            self.module.wait_task(answer)

    def ensure(self, state, desired, send_secrets=False, delete_params=None):
        """Make the item present with `desired` (option name -> value, None unmanaged, ABSENT removed) or absent."""
        return self._ensure_item(state, desired, send_secrets, delete_params)

    def ensure_with_members(self, state, desired, members, manage_members, delete_params=None):
        """ensure() for an item holding a Members list: the item first, then its list (read once, shown in the
        result; planned, and shown in the diff, when manage_members: the user gave it)."""
        send_secrets = False
        existed = self.read() is not None
        items = members.read(self) if existed else []
        check = self.module.check_mode
        if state == 'absent':
            if not existed:
                return self.result(False, {}, {}, None)
            before = self._managed(self.current)
            before[members.name] = members.diff_view(items)
            if not check and members.clear_before_delete:
                members.clear(self, items)
            self._ensure_item('absent', {}, send_secrets, delete_params)
            return self.result(True, before, {}, None)
        out = self._ensure_item(state, desired, send_secrets, delete_params, reuse_read=True)
        changed = out['changed']
        final = self._final
        before, after = out['diff']['before'], out['diff']['after']
        if manage_members:
            if existed:
                before[members.name] = members.diff_view(items)
            members_changed, items = members.converge(self, items, not existed)
            changed = changed or members_changed
            after[members.name] = members.diff_view(items)
        if changed and not check:
            final = self.read() or final
            items = members.read(self)
            if manage_members:
                after[members.name] = members.diff_view(items)
        final = dict(final or {})
        final[members.name] = members.result_view(items)
        return self.result(changed, before, after, final)

    def _ensure_item(self, state, desired, send_secrets=False, delete_params=None, reuse_read=False):
        current = self.current if reuse_read else self.read()
        check = self.module.check_mode
        if state == 'absent':
            if current is None:
                return self.result(False, {}, {}, None)
            if not check:
                self._finish(self.client.delete(self._fill(self.spec.item), **(delete_params or {})))
            return self.result(True, self._managed(current), {}, None)

        if current is None:
            changes = compare(self.spec.fields, dict((k, v) for k, v in desired.items() if v is not ABSENT), None,
                              creating=True)
            params = dict(changes.params)
            if self.spec.id_in_create:
                params[self.spec.id_field] = self.ident
            final = dict(params)
            # The version gate in check mode too: a key this cluster's release lacks fails the same way.
            check_version(self.client, 'POST', self._fill(self.spec.collection), params)
            if not check:
                self._finish(self.client.post(self._fill(self.spec.collection), **params))
                final = self.read() or final
            self._final = final
            return self.result(True, {}, changes.after, final)

        changes = compare(self.spec.fields, desired, current, send_secrets=send_secrets)
        assert_mutable(changes, self.target)
        self._final = current
        if not changes.changed:
            return self.result(False, changes.before, changes.after, current)
        params = dict(changes.params)
        for key in list(changes.params):
            for companion in self.spec.requires.get(key, ()):
                if companion not in params and companion not in changes.delete and current.get(companion) is not None:
                    params[companion] = current[companion]
        if changes.delete:
            params[self.spec.delete_param] = list(changes.delete) if self.spec.delete_as_list else join_list(changes.delete)
        if self.spec.digest and current.get('digest'):
            params['digest'] = current['digest']
        final = dict(current)
        final.update(changes.params)
        for key in changes.delete:
            final.pop(key, None)
        if self.spec.update == 'collection':
            method, path = 'POST', self._fill(self.spec.collection)
            for key in (self.spec.id_field,) + self.spec.update_identity:
                params[key] = self.ident
        else:
            method, path = 'PUT', self._fill(self.spec.item)
        check_version(self.client, method, path, params)
        if not check:
            write = self.client.post if method == 'POST' else self.client.put
            self._finish(write(path, **params))
            final = self.read() or final
        self._final = final
        return self.result(True, changes.before, changes.after, final)

    def _managed(self, state):
        """The managed fields of an API state, keyed by option name, as a diff shows them."""
        out = {}
        for field in self.spec.fields:
            if field.api_name in state:
                out[field.name] = field.shown(state[field.api_name])
        return out

    def result(self, changed, before, after, final):
        return {
            'changed': changed,
            'diff': {'before': before, 'after': after},
            self.spec.result_key: self.shown(final) if final is not None else None,
        }
