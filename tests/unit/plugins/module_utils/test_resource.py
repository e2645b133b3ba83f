# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/resource.py: the config-resource engine against an in-memory config API.

ConfigApi behaves like a PVE/PBS config collection (GET list/item with a digest, POST create, PUT with digest and
a delete list, DELETE, 404 or PVE's 500 "does not exist" for a missing item), so the engine's logic is tested
without HTTP; the lab tests it against the real thing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from urllib.parse import unquote

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT, MASK, Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxApiError, ProxmoxConfigError
from ansible_collections.proxfleet.proxmox.plugins.module_utils.propstring import stringify
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, Members, ResourceSpec

UPID = 'UPID:pve1:0000ABCD:00123456:6502A5A8:vzcreate:backup-1:root@pam:'

FIELDS = [
    Field('schedule'),
    Field('storage'),
    Field('enabled', kind='bool'),
    Field('comment'),
    Field('mailto', kind='set'),
    Field('max_files', kind='int'),
    Field('password', write_only=True),
    Field('node', create_only=True),
]


def job_spec(**kwargs):
    options = dict(result_key='job', label='backup job', collection='/cluster/backup', fields=FIELDS)
    options.update(kwargs)
    return ResourceSpec(**options)


class ConfigApi(object):
    """An in-memory config collection at `collection`, answering as PVE does."""

    path = staticmethod(ProxmoxClient.path)

    def __init__(self, collection='/cluster/backup', id_field='id', items=None, missing='404', answer=None,
                 item_get=True, defaults=None):
        self.collection = collection
        self.id_field = id_field
        self.items = copy.deepcopy(items or {})
        self.missing = missing
        self.answer = answer
        self.item_get = item_get
        self.defaults = dict(defaults or {})
        self.calls = []

    @staticmethod
    def digest(item):
        return hashlib.sha1(json.dumps(item, sort_keys=True).encode()).hexdigest()

    def _ident(self, path):
        assert path.startswith(self.collection + '/'), path
        return unquote(path[len(self.collection) + 1:])

    def _not_found(self, ident):
        if self.missing == '404':
            return ProxmoxApiError('no such job', status_code=404)
        return ProxmoxApiError("job '{0}' does not exist".format(ident), status_code=500)

    def writes(self):
        return [call for call in self.calls if call[0] != 'GET']

    def get(self, path, **params):
        self.calls.append(('GET', path, dict(params)))
        if path == self.collection:
            return [dict(item, **{self.id_field: ident}) for ident, item in sorted(self.items.items())]
        if not self.item_get:
            raise ProxmoxApiError("Method 'GET {0}' not implemented".format(path), status_code=501)
        ident = self._ident(path)
        if ident not in self.items:
            raise self._not_found(ident)
        item = dict(self.items[ident], **{self.id_field: ident})
        item['digest'] = self.digest(self.items[ident])
        return item

    def post(self, path, **params):
        self.calls.append(('POST', path, dict(params)))
        assert path == self.collection
        ident = str(params.pop(self.id_field, 'generated'))
        if ident in self.items:
            raise ProxmoxApiError("job '{0}' already exists".format(ident), status_code=500)
        item = dict(self.defaults)
        item.update((k, stringify(v)) for k, v in params.items() if k != 'password')
        self.items[ident] = item
        return self.answer

    def put(self, path, **params):
        self.calls.append(('PUT', path, dict(params)))
        ident = self._ident(path)
        if ident not in self.items:
            raise self._not_found(ident)
        item = self.items[ident]
        digest = params.pop('digest', None)
        if digest is not None and digest != self.digest(item):
            raise ProxmoxApiError('detected modified configuration - file changed by other user? Try again.', status_code=500)
        for key in (params.pop('delete', None) or '').split(','):
            if key:
                item.pop(key, None)
        item.update((k, stringify(v)) for k, v in params.items() if k != 'password')
        return self.answer

    def delete(self, path, **params):
        self.calls.append(('DELETE', path, dict(params)))
        ident = self._ident(path)
        if ident not in self.items:
            raise self._not_found(ident)
        del self.items[ident]
        return self.answer


class FakeModule(object):
    """What ConfigResource uses of ProxmoxModule: client, check_mode and wait_task."""

    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode
        self.waited = []

    def wait_task(self, upid):
        self.waited.append(upid)


EXISTING = {'backup-1': {'schedule': 'sun 01:00', 'storage': 'local', 'enabled': '1', 'comment': 'weekly',
                         'mailto': 'a@example.org,b@example.org', 'node': 'pve1', 'max-files': '3'}}


def ensure(api, state='present', desired=None, check=False, spec=None, ident='backup-1', **kwargs):
    module = FakeModule(api, check_mode=check)
    resource = ConfigResource(module, spec or job_spec(), ident, path_vars=kwargs.pop('path_vars', None))
    return resource.ensure(state, desired or {}, **kwargs), module


def both_modes(items, **kwargs):
    """ensure() in check mode and for real on two copies of the same state: (check result, check api, real result, real api)."""
    check_api, real_api = ConfigApi(items=items), ConfigApi(items=items)
    check_result, _module = ensure(check_api, check=True, **kwargs)
    real_result, _module = ensure(real_api, **kwargs)
    return check_result, check_api, real_result, real_api


# ============================================================================================ create


def test_create_posts_the_collection_with_the_id():
    api = ConfigApi()
    desired = {'schedule': 'daily', 'storage': 'pbs', 'enabled': True, 'mailto': ['b@x', 'a@x'], 'password': 's3cret',
               'comment': ABSENT, 'max_files': None, 'node': 'pve2'}
    result, module = ensure(api, desired=desired)
    assert api.writes() == [('POST', '/cluster/backup', {
        'id': 'backup-1', 'schedule': 'daily', 'storage': 'pbs', 'enabled': 1, 'mailto': 'a@x,b@x', 'password': 's3cret',
        'node': 'pve2'})]
    assert result['changed'] is True
    assert result['diff'] == {'before': {}, 'after': {
        'schedule': 'daily', 'storage': 'pbs', 'enabled': True, 'mailto': ['a@x', 'b@x'], 'password': MASK, 'node': 'pve2'}}
    # The final state is read back after the write.
    assert result['job']['id'] == 'backup-1' and 'digest' in result['job']
    assert module.waited == []


def test_create_in_check_mode_writes_nothing_and_reports_the_same():
    desired = {'schedule': 'daily', 'storage': 'pbs', 'enabled': False, 'password': 's3cret'}
    check, check_api, real, real_api = both_modes({}, desired=desired)
    assert check_api.writes() == [] and check_api.items == {}
    assert len(real_api.writes()) == 1
    assert (check['changed'], check['diff']) == (real['changed'], real['diff'])
    assert check['job'] == {'id': 'backup-1', 'schedule': 'daily', 'storage': 'pbs', 'enabled': 0, 'password': MASK}


def test_create_without_the_id_in_the_body():
    api = ConfigApi()
    ensure(api, desired={'schedule': 'daily'}, spec=job_spec(id_in_create=False))
    (call,) = api.writes()
    assert call == ('POST', '/cluster/backup', {'schedule': 'daily'})


# ============================================================================================ update


def test_update_sends_digest_delete_and_only_the_changes():
    api = ConfigApi(items=EXISTING)
    digest = ConfigApi.digest(EXISTING['backup-1'])
    desired = {'schedule': 'sun 01:00', 'storage': 'pbs', 'enabled': 'no', 'comment': ABSENT,
               'mailto': 'b@example.org a@example.org', 'password': 'not-sent', 'node': 'pve1'}
    result, _module = ensure(api, desired=desired)
    assert api.writes() == [('PUT', '/cluster/backup/backup-1', {
        'storage': 'pbs', 'enabled': 0, 'delete': 'comment', 'digest': digest})]
    assert result['changed'] is True
    assert result['diff'] == {
        'before': {'schedule': 'sun 01:00', 'storage': 'local', 'enabled': True, 'comment': 'weekly',
                   'mailto': ['a@example.org', 'b@example.org'], 'node': 'pve1'},
        'after': {'schedule': 'sun 01:00', 'storage': 'pbs', 'enabled': False,
                  'mailto': ['a@example.org', 'b@example.org'], 'node': 'pve1'}}
    assert 'comment' not in result['job'] and result['job']['storage'] == 'pbs'
    assert 'comment' not in api.items['backup-1']


def test_update_in_check_mode_writes_nothing_and_reports_the_same():
    desired = {'storage': 'pbs', 'comment': ABSENT, 'max_files': 7}
    check, check_api, real, real_api = both_modes(EXISTING, desired=desired)
    assert check_api.writes() == [] and check_api.items == EXISTING
    assert [call[0] for call in real_api.writes()] == ['PUT']
    assert (check['changed'], check['diff']) == (real['changed'], real['diff'])
    # The predicted final state: the changes applied to what was read.
    assert check['job']['storage'] == 'pbs' and check['job']['max-files'] == 7 and 'comment' not in check['job']


def test_same_input_twice_changes_nothing_the_second_time():
    api = ConfigApi(items=EXISTING)
    desired = {'storage': 'pbs', 'enabled': True, 'mailto': ['c@example.org'], 'comment': ABSENT, 'max_files': '5'}
    first, _module = ensure(api, desired=desired)
    assert first['changed']
    writes = len(api.writes())
    second, _module = ensure(api, desired=desired)
    assert second['changed'] is False
    assert len(api.writes()) == writes
    assert second['diff']['before'] == second['diff']['after']
    check, _module = ensure(api, desired=desired, check=True)
    assert check['changed'] is False


def test_no_change_returns_the_current_state():
    api = ConfigApi(items=EXISTING)
    result, _module = ensure(api, desired={'storage': 'local', 'enabled': 1, 'max_files': 3, 'password': None})
    assert result['changed'] is False and api.writes() == []
    assert result['job']['comment'] == 'weekly'
    assert set(result['diff']['before']) == {'storage', 'enabled', 'max_files'}


def test_write_only_sent_on_update_only_when_asked():
    api = ConfigApi(items=EXISTING)
    result, _module = ensure(api, desired={'password': 'rotated'})
    assert result['changed'] is False and api.writes() == []
    result, _module = ensure(api, desired={'password': 'rotated'}, send_secrets=True)
    assert result['changed'] is True
    (call,) = api.writes()
    assert call[2]['password'] == 'rotated'
    assert result['diff'] == {'before': {'password': MASK}, 'after': {'password': MASK}}
    assert 'rotated' not in repr(result)


def test_create_only_change_fails_before_any_write():
    api = ConfigApi(items=EXISTING)
    with pytest.raises(ProxmoxConfigError) as info:
        ensure(api, desired={'node': 'pve2', 'storage': 'pbs'})
    assert "backup job 'backup-1'" in str(info.value) and 'node' in str(info.value)
    assert api.writes() == []


def test_update_without_digest_and_with_another_delete_name():
    api = ConfigApi(items=EXISTING)
    ensure(api, desired={'comment': ABSENT, 'storage': 'pbs'}, spec=job_spec(digest=False, delete_param='delete-keys'))
    (call,) = api.writes()
    assert call[2] == {'storage': 'pbs', 'delete-keys': 'comment'}


def test_a_stale_digest_is_refused_by_the_server():
    """Someone changed the item between our read and our write: the API refuses, nothing is overwritten."""
    api = ConfigApi(items=EXISTING)
    original_get = api.get

    def get_then_race(path, **params):
        answer = original_get(path, **params)
        api.items['backup-1']['comment'] = 'changed meanwhile'
        return answer

    api.get = get_then_race
    with pytest.raises(ProxmoxApiError, match='detected modified configuration'):
        ensure(api, desired={'storage': 'pbs'})
    assert api.items['backup-1']['storage'] == 'local'


# ============================================================================================ absent


def test_absent_deletes_the_item():
    api = ConfigApi(items=EXISTING)
    result, _module = ensure(api, state='absent', delete_params={'purge': 1})
    assert api.writes() == [('DELETE', '/cluster/backup/backup-1', {'purge': 1})]
    assert result['changed'] is True and result['job'] is None
    assert result['diff']['after'] == {}
    assert result['diff']['before'] == {'schedule': 'sun 01:00', 'storage': 'local', 'enabled': True, 'comment': 'weekly',
                                        'mailto': ['a@example.org', 'b@example.org'], 'max_files': 3, 'node': 'pve1'}
    assert api.items == {}


def test_absent_in_check_mode_writes_nothing_and_reports_the_same():
    check, check_api, real, real_api = both_modes(EXISTING, state='absent')
    assert check_api.writes() == [] and check_api.items == EXISTING
    assert real_api.items == {}
    assert (check['changed'], check['diff']) == (real['changed'], real['diff'])


@pytest.mark.parametrize('missing', ['404', '500'])
def test_absent_when_missing_is_no_change(missing):
    api = ConfigApi(missing=missing)
    result, _module = ensure(api, state='absent')
    assert result == {'changed': False, 'diff': {'before': {}, 'after': {}}, 'job': None}
    assert api.writes() == []


# ============================================================================================ tasks


@pytest.mark.parametrize('state, items, desired, method', [
    ('present', {}, {'schedule': 'daily'}, 'POST'),
    ('present', EXISTING, {'schedule': 'daily'}, 'PUT'),
    ('absent', EXISTING, {}, 'DELETE'),
])
def test_a_task_answer_is_waited_for(state, items, desired, method):
    api = ConfigApi(items=items, answer=UPID)
    _result, module = ensure(api, state=state, desired=desired)
    assert [call[0] for call in api.writes()] == [method]
    assert module.waited == [UPID]


@pytest.mark.parametrize('answer', [None, {'id': 'backup-1'}, 'backup-1', ''])
def test_other_answers_are_not_waited_for(answer):
    api = ConfigApi(answer=answer)
    _result, module = ensure(api, desired={'schedule': 'daily'})
    assert module.waited == []


def test_check_mode_waits_for_nothing():
    api = ConfigApi(items=EXISTING, answer=UPID)
    _result, module = ensure(api, desired={'schedule': 'daily'}, check=True)
    assert module.waited == [] and api.writes() == []


# ============================================================================================ reading


@pytest.mark.parametrize('missing', ['404', '500'])
def test_missing_item_is_created(missing):
    api = ConfigApi(missing=missing)
    result, _module = ensure(api, desired={'schedule': 'daily'})
    assert result['changed'] and [call[0] for call in api.writes()] == ['POST']


def test_other_read_errors_propagate():
    api = ConfigApi()

    def refuse(path, **params):
        raise ProxmoxApiError('Permission check failed (/, Sys.Audit)', status_code=403)

    api.get = refuse
    with pytest.raises(ProxmoxApiError, match='Permission check failed'):
        ensure(api, desired={'schedule': 'daily'})


def test_read_from_the_list():
    """For APIs without a (full) item GET: one list call, the item picked by its id."""
    spec = job_spec(read='list', digest=False)
    api = ConfigApi(items=EXISTING, item_get=False)
    result, _module = ensure(api, desired={'storage': 'local'}, spec=spec)
    assert result['changed'] is False
    assert [call[:2] for call in api.calls] == [('GET', '/cluster/backup')]
    result, _module = ensure(api, desired={'storage': 'local'}, spec=spec, ident='backup-2')
    assert result['changed'] is True
    assert [call[0] for call in api.writes()] == ['POST']


def test_paths_are_filled_and_quoted():
    spec = ResourceSpec('storage', 'storage', '/nodes/{node}/custom', FIELDS, id_field='name')
    api = ConfigApi(collection='/nodes/pve%201/custom', id_field='name')
    ensure(api, desired={'comment': 'x'}, spec=spec, ident='a/b', path_vars={'node': 'pve 1'})
    assert api.calls[0][:2] == ('GET', '/nodes/pve%201/custom/a%2Fb')
    assert api.writes()[0][:2] == ('POST', '/nodes/pve%201/custom')
    assert api.writes()[0][2]['name'] == 'a/b'
    assert api.items == {'a/b': {'comment': 'x'}}


def test_results_mask_secret_fields():
    spec = job_spec(fields=FIELDS + [Field('token', secret=True)])
    api = ConfigApi(items={'backup-1': {'token': 'abc', 'storage': 'local'}})
    result, _module = ensure(api, desired={'storage': 'pbs'}, spec=spec)
    assert result['job']['token'] == MASK
    assert 'abc' not in repr(result)


# ==================================================================================== required companions


def test_required_companions_are_sent_with_their_current_value():
    """A key whose schema `requires` another: the other goes along unchanged, so PVE accepts the update."""
    spec = job_spec(requires={'storage': ['schedule', 'missing-key']})
    api = ConfigApi(items=EXISTING)
    check, _module = ensure(api, desired={'storage': 'pbs'}, spec=spec, check=True)
    result, _module = ensure(api, desired={'storage': 'pbs'}, spec=spec)
    (call,) = api.writes()
    assert call[2]['storage'] == 'pbs' and call[2]['schedule'] == 'sun 01:00'
    assert 'missing-key' not in call[2]
    # Not a change of its own: the diff shows only what the user manages.
    assert result['diff'] == check['diff'] == {'before': {'storage': 'local'}, 'after': {'storage': 'pbs'}}


def test_a_changed_companion_keeps_the_new_value():
    spec = job_spec(requires={'storage': ['schedule']})
    api = ConfigApi(items=EXISTING)
    ensure(api, desired={'storage': 'pbs', 'schedule': 'daily'}, spec=spec)
    (call,) = api.writes()
    assert call[2]['schedule'] == 'daily'


def test_no_companion_without_a_change():
    spec = job_spec(requires={'storage': ['schedule']})
    api = ConfigApi(items=EXISTING)
    ensure(api, desired={'comment': 'new'}, spec=spec)
    (call,) = api.writes()
    assert 'schedule' not in call[2]


def test_a_companion_being_deleted_is_not_also_sent():
    # Regression: a companion the user removes (ABSENT) was also sent with its current value, next to its name in
    # the delete list; PVE refuses setting and deleting one key at once.
    spec = job_spec(requires={'storage': ['comment']})
    api = ConfigApi(items=EXISTING)
    ensure(api, desired={'storage': 'pbs', 'comment': ABSENT}, spec=spec)
    (call,) = api.writes()
    assert call[2]['delete'] == 'comment'
    assert 'comment' not in call[2]


# ============================================================================ update on the collection


class RenameApi(ConfigApi):
    """A collection updated as PVE's firewall groups and IP sets are: POST with rename=<its own name> and a digest."""

    def post(self, path, **params):
        if 'rename' not in params:
            return ConfigApi.post(self, path, **params)
        self.calls.append(('POST', path, dict(params)))
        ident = str(params.pop(self.id_field))
        assert params.pop('rename') == ident
        item = self.items[ident]
        digest = params.pop('digest', None)
        if digest is not None and digest != self.digest(item):
            raise ProxmoxApiError('detected modified configuration - file changed by other user? Try again.', status_code=500)
        item.update((k, stringify(v)) for k, v in params.items())
        return self.answer

    def get(self, path, **params):
        if path != self.collection:
            return ConfigApi.get(self, path, **params)
        self.calls.append(('GET', path, dict(params)))
        return [dict(item, digest=self.digest(item), **{self.id_field: ident}) for ident, item in sorted(self.items.items())]


def test_update_on_the_collection_posts_a_rename_with_the_digest():
    spec = job_spec(read='list', update='collection', update_identity=('rename',))
    api = RenameApi(items=EXISTING)
    digest = api.digest(EXISTING['backup-1'])
    result, _module = ensure(api, desired={'comment': 'monthly'}, spec=spec)
    assert api.writes() == [('POST', '/cluster/backup', {'id': 'backup-1', 'rename': 'backup-1', 'comment': 'monthly',
                                                         'digest': digest})]
    assert result['changed'] is True and result['job']['comment'] == 'monthly'
    assert result['diff'] == {'before': {'comment': 'weekly'}, 'after': {'comment': 'monthly'}}
    result, _module = ensure(api, desired={'comment': 'monthly'}, spec=spec)
    assert result['changed'] is False


# ================================================================================== members of an item


class Tags(Members):
    """Members kept beside the API (one list per item), additive unless exact."""

    name = 'tags'
    clear_before_delete = True

    def __init__(self, store, wanted=None, exact=False):
        self.store, self.wanted, self.exact, self.cleared = store, wanted, exact, []

    def read(self, resource):
        return list(self.store.get(resource.ident, []))

    def converge(self, resource, current, creating):
        final = sorted(set(self.wanted) | (set() if self.exact else set(current)))
        if not resource.module.check_mode:
            self.store[resource.ident] = final
        return final != sorted(current), final

    def clear(self, resource, current):
        self.cleared.append(list(current))
        self.store.pop(resource.ident, None)

    def result_view(self, items):
        return [t.upper() for t in items]


def with_members(api, store, state='present', desired=None, wanted=None, exact=False, check=False, manage=True):
    module = FakeModule(api, check_mode=check)
    resource = ConfigResource(module, job_spec(), 'backup-1')
    members = Tags(store, wanted, exact)
    return resource.ensure_with_members(state, desired or {}, members, manage), members


def test_members_are_planned_after_the_item_on_create_and_check_mode_reports_the_same():
    check_api, check_store = ConfigApi(), {}
    check, _m = with_members(check_api, check_store, desired={'storage': 'pbs'}, wanted=['b', 'a'], check=True)
    assert check_api.writes() == [] and check_store == {}
    api, store = ConfigApi(), {}
    real, _m = with_members(api, store, desired={'storage': 'pbs'}, wanted=['b', 'a'])
    assert [call[0] for call in api.writes()] == ['POST'] and store == {'backup-1': ['a', 'b']}
    assert real['changed'] is check['changed'] is True
    assert real['diff'] == check['diff'] == {'before': {}, 'after': {'storage': 'pbs', 'tags': ['a', 'b']}}
    assert real['job']['tags'] == check['job']['tags'] == ['A', 'B']
    again, _m = with_members(api, store, desired={'storage': 'pbs'}, wanted=['a'])
    assert again['changed'] is False and again['diff']['before']['tags'] == ['a', 'b']


def test_only_members_changing_is_a_change_and_unmanaged_members_are_shown_not_diffed():
    api, store = ConfigApi(items=EXISTING), {'backup-1': ['a']}
    result, _m = with_members(api, store, desired={'storage': 'local'}, wanted=['c'], exact=True)
    assert api.writes() == [] and store == {'backup-1': ['c']}
    assert result['changed'] is True
    assert result['diff'] == {'before': {'storage': 'local', 'tags': ['a']}, 'after': {'storage': 'local', 'tags': ['c']}}
    result, _m = with_members(api, store, desired={'storage': 'local'}, manage=False)
    assert result['changed'] is False and 'tags' not in result['diff']['after'] and result['job']['tags'] == ['C']


def test_members_are_cleared_before_the_item_is_deleted():
    api, store = ConfigApi(items=EXISTING), {'backup-1': ['a', 'b']}
    result, _m = with_members(api, store, state='absent', check=True)
    assert api.writes() == [] and store == {'backup-1': ['a', 'b']}
    assert result['diff']['before']['tags'] == ['a', 'b'] and result['diff']['after'] == {}
    result, members = with_members(api, store, state='absent')
    assert members.cleared == [['a', 'b']] and store == {} and api.items == {}
    assert result['changed'] is True and result['job'] is None
    result, _m = with_members(api, store, state='absent')
    assert result['changed'] is False
