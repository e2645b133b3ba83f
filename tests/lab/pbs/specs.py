# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PBS fake's own parameter specs, written for what it models, and the checks PBS makes with them.

Each spec is {name: Param}; a Param has a type (string, integer, boolean, array), optional, and simple
constraints (enum, pattern, length, range, a format check such as a calendar event). They were written from
the PBS API documentation and pbs-api-types; tests/unit/lab/pbs/test_pbs_specs.py compares names, types, enums
and required fields with the official PBS schema whenever ../shared/api-schema/pbs-api.json is present.

Errors read as proxmox-schema words them: HTTP 400 with
    parameter verification errors

    parameter 'name': value does not match the regex pattern
"""

import re


class Param(object):
    """One parameter: type, optional, and its constraints."""

    def __init__(self, type_, optional=True, enum=None, pattern=None, min_length=None, max_length=None,
                 minimum=None, maximum=None, default=None, fmt=None, items=None):
        self.type = type_
        self.optional = optional
        self.enum = list(enum) if enum else None
        self.pattern = re.compile(pattern) if pattern else None
        self.min_length = min_length
        self.max_length = max_length
        self.minimum = minimum
        self.maximum = maximum
        self.default = default
        self.fmt = fmt
        self.items = items

    def required(self):
        """The same parameter, not optional."""
        clone = Param(self.type)
        clone.__dict__.update(self.__dict__)
        clone.optional = False
        return clone


SAFE_ID = r'(?:[A-Za-z0-9_][A-Za-z0-9._\-]*)'
USER_NAME = r'(?:[^\s:/\x00-\x1f\x7f]+)'
USERID = '{0}@{1}'.format(USER_NAME, SAFE_ID)
TOKENID = '{0}!{1}'.format(USERID, SAFE_ID)
CNTRL_FREE = r'^[^\x00-\x1f\x7f]*$'

SAFE_NAME = dict(pattern='^' + SAFE_ID + '$', min_length=3, max_length=32)


def s(**kw):
    return Param('string', **kw)


def i(**kw):
    return Param('integer', **kw)


def b(default=None):
    return Param('boolean', default=default)


def a(items):
    return Param('array', items=items)


DATASTORE = s(**SAFE_NAME)
JOB_ID = s(**SAFE_NAME)
REMOTE_ID = s(**SAFE_NAME)
NS = s(pattern=r'^(?:(?:{0}/){{0,7}}{0})?$'.format(SAFE_ID), max_length=256)
AUTH_ID = s(pattern='^(?:{0}|{1})$'.format(USERID, TOKENID), min_length=3, max_length=64)
USER_ID = s(pattern='^' + USERID + '$', min_length=3, max_length=64)
COMMENT = s(pattern=CNTRL_FREE, max_length=128)
DIGEST = s(pattern=r'^[a-f0-9]{64}$')
CALENDAR = s(fmt='calendar-event')
BYTES = s(min_length=1, max_length=64, fmt='byte-size')
MAX_DEPTH = i(minimum=0, maximum=7)
BACKUP_TYPE = s(enum=['vm', 'ct', 'host'])
BACKUP_ID = s(pattern=r'^' + SAFE_ID + '$')
BACKUP_TIME = i(minimum=1)
UPID = s(pattern=r'^UPID:[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?:[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8,16}:'
                 r'[0-9A-Fa-f]{8}:[^:\s]+:[^:\s]*:[^:\s]+:$', min_length=36)
NODE = s(pattern=r'^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$')
HOST = s(pattern=r'^[A-Za-z0-9.:\-\[\]]+$')
FINGERPRINT = s(pattern=r'^(?:[0-9a-fA-F][0-9a-fA-F])(?::[0-9a-fA-F][0-9a-fA-F]){31}$')
PROPERTY_STRING = s(fmt='property-string')
KEEP_NAMES = ('keep-last', 'keep-hourly', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly')
KEEP = dict((name, i(minimum=1)) for name in KEEP_NAMES)
TOKEN_NAME = s(pattern='^' + SAFE_ID + '$')
SYNC_DIRECTION = s(enum=['pull', 'push'], default='pull')
ACL_PATH = s(pattern=r'^(?:/|(?:/{0})+)$'.format(SAFE_ID), min_length=1, max_length=128)
# pbs-api-types' Role enum (PBS 4 adds the push-sync roles)
ROLE = s(enum=['Admin', 'Audit', 'NoAccess', 'DatastoreAdmin', 'DatastoreReader', 'DatastoreBackup',
               'DatastorePowerUser', 'DatastoreAudit', 'RemoteAudit', 'RemoteAdmin', 'RemoteSyncOperator',
               'RemoteSyncPushOperator', 'RemoteDatastorePowerUser', 'RemoteDatastoreAdmin', 'TapeAudit',
               'TapeAdmin', 'TapeOperator', 'TapeReader'])


def delete_list(*names):
    """The `delete` parameter of an update: an array of property names."""
    return a(s(enum=names))


# ------------------------------------------------------------------- datastores

_DATASTORE_COMMON = dict(KEEP, **{
    'comment': COMMENT, 'gc-schedule': CALENDAR, 'prune-schedule': CALENDAR, 'verify-new': b(),
    'notify': PROPERTY_STRING, 'notify-user': USER_ID, 'tuning': PROPERTY_STRING,
    'maintenance-mode': PROPERTY_STRING, 'gc-on-unmount': b(), 'counter-reset-schedule': CALENDAR,
    'notification-thresholds': PROPERTY_STRING,
    'notification-mode': s(enum=['legacy-sendmail', 'notification-system'], default='notification-system'),
})
DATASTORE_CREATE = dict(_DATASTORE_COMMON, **{
    'name': DATASTORE.required(), 'path': s(min_length=1, max_length=4096).required(),
    'backing-device': s(pattern=r'^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$'), 'backend': PROPERTY_STRING,
    'overwrite-in-use': b(False), 'reuse-datastore': b(False),
})
DATASTORE_DELETABLE = ('comment', 'gc-schedule', 'gc-on-unmount', 'prune-schedule') + KEEP_NAMES + (
    'verify-new', 'notify-user', 'notify', 'notification-mode', 'tuning', 'maintenance-mode',
    'notification-thresholds', 'counter-reset-schedule')
DATASTORE_UPDATE = dict(_DATASTORE_COMMON, **{
    'name': DATASTORE.required(), 'digest': DIGEST, 'delete': delete_list(*DATASTORE_DELETABLE)})
DATASTORE_DELETE = {'name': DATASTORE.required(), 'digest': DIGEST, 'destroy-data': b(False),
                    'keep-job-configs': b(False)}

# ---------------------------------------------------------------------- remotes

REMOTE_CREATE = {'name': REMOTE_ID.required(), 'host': HOST.required(), 'port': i(), 'auth-id': AUTH_ID.required(),
                 'password': s(pattern=CNTRL_FREE, min_length=1, max_length=1024).required(),
                 'fingerprint': FINGERPRINT, 'comment': COMMENT, 'use-node-proxy': b(False)}
REMOTE_DELETABLE = ('comment', 'fingerprint', 'port', 'use-node-proxy')
REMOTE_UPDATE = dict(REMOTE_CREATE, **{
    'host': HOST, 'auth-id': AUTH_ID, 'password': s(pattern=CNTRL_FREE, min_length=1, max_length=1024),
    'digest': DIGEST, 'delete': delete_list(*REMOTE_DELETABLE)})

# ------------------------------------------------------------------------- jobs

SYNC_CREATE = {
    'id': JOB_ID.required(), 'store': DATASTORE.required(), 'remote-store': DATASTORE.required(), 'remote': REMOTE_ID,
    'ns': NS, 'remote-ns': NS, 'owner': AUTH_ID, 'remove-vanished': b(False), 'max-depth': MAX_DEPTH,
    'group-filter': a(s(fmt='group-filter')), 'rate-in': BYTES, 'burst-in': BYTES, 'rate-out': BYTES,
    'burst-out': BYTES, 'transfer-last': i(minimum=1), 'sync-direction': SYNC_DIRECTION, 'schedule': CALENDAR,
    'comment': COMMENT, 'encrypted-only': b(), 'verified-only': b(), 'run-on-mount': b(), 'unmount-on-done': b(),
    'resync-corrupt': b(), 'worker-threads': i(minimum=1, maximum=32, default=1),
    'active-encryption-key': s(**SAFE_NAME), 'associated-key': a(s(**SAFE_NAME)),
}
SYNC_DELETABLE = ('remote', 'owner', 'comment', 'schedule', 'remove-vanished', 'group-filter', 'rate-in', 'burst-in',
                  'rate-out', 'burst-out', 'ns', 'remote-ns', 'max-depth', 'transfer-last', 'encrypted-only',
                  'verified-only', 'run-on-mount', 'unmount-on-done', 'sync-direction', 'worker-threads',
                  'active-encryption-key', 'associated-key')
SYNC_UPDATE = dict(SYNC_CREATE, **{'store': DATASTORE, 'remote-store': DATASTORE, 'digest': DIGEST,
                                   'delete': delete_list(*SYNC_DELETABLE)})
SYNC_LIST = {'sync-direction': s(enum=['all', 'push', 'pull'], default='pull')}

VERIFY_CREATE = {
    'id': JOB_ID.required(), 'store': DATASTORE.required(), 'ns': NS, 'ignore-verified': b(True),
    'outdated-after': i(minimum=0), 'max-depth': i(minimum=0, maximum=7, default=7), 'schedule': CALENDAR,
    'comment': COMMENT, 'read-threads': i(minimum=1, maximum=32, default=1),
    'verify-threads': i(minimum=1, maximum=32, default=4),
}
VERIFY_DELETABLE = ('ignore-verified', 'comment', 'schedule', 'outdated-after', 'ns', 'max-depth', 'read-threads',
                    'verify-threads')
VERIFY_UPDATE = dict(VERIFY_CREATE, **{'store': DATASTORE, 'digest': DIGEST, 'delete': delete_list(*VERIFY_DELETABLE)})

PRUNE_CREATE = dict(KEEP, **{
    'id': JOB_ID.required(), 'store': DATASTORE.required(), 'schedule': CALENDAR.required(), 'ns': NS,
    'max-depth': MAX_DEPTH, 'comment': COMMENT, 'disable': b(False)})
PRUNE_DELETABLE = ('comment', 'disable', 'ns', 'max-depth') + KEEP_NAMES
PRUNE_UPDATE = dict(PRUNE_CREATE, **{'store': DATASTORE, 'schedule': CALENDAR, 'digest': DIGEST,
                                     'delete': delete_list(*PRUNE_DELETABLE)})

ITEM = {'id': JOB_ID.required()}
ITEM_DELETE = {'id': JOB_ID.required(), 'digest': DIGEST}

# ------------------------------------------------------------ datastore admin

STORE = {'store': DATASTORE.required()}
SNAPSHOT = {'store': DATASTORE.required(), 'ns': NS, 'backup-type': BACKUP_TYPE.required(),
            'backup-id': BACKUP_ID.required(), 'backup-time': BACKUP_TIME.required()}
GROUP_DELETE = {'store': DATASTORE.required(), 'ns': NS, 'backup-type': BACKUP_TYPE.required(),
                'backup-id': BACKUP_ID.required(), 'error-on-protected': b(True)}
PRUNE_DATASTORE = dict(KEEP, **{'store': DATASTORE.required(), 'ns': NS, 'max-depth': MAX_DEPTH, 'dry-run': b(False)})
VERIFY_DATASTORE = {'store': DATASTORE.required(), 'ns': NS, 'backup-type': BACKUP_TYPE, 'backup-id': BACKUP_ID,
                    'backup-time': BACKUP_TIME, 'ignore-verified': b(True), 'outdated-after': i(minimum=0),
                    'max-depth': i(minimum=0, maximum=7, default=7), 'read-threads': i(minimum=1, maximum=32, default=1),
                    'verify-threads': i(minimum=1, maximum=32, default=4)}

# ----------------------------------------------------------------- endpoints

# (method, path) -> spec; the path parameters are part of the spec, as PBS's schema has them.
SPECS = {
    ('GET', '/version'): {},
    ('POST', '/access/ticket'): {'username': USER_ID.required(), 'password': s(), 'path': s(), 'privs': s(),
                                 'port': i(minimum=0, maximum=65535), 'tfa-challenge': s(), 'http-only': b(False)},
    ('DELETE', '/access/ticket'): {},
    ('GET', '/config/datastore'): {},
    ('POST', '/config/datastore'): DATASTORE_CREATE,
    ('GET', '/config/datastore/{name}'): {'name': DATASTORE.required()},
    ('PUT', '/config/datastore/{name}'): DATASTORE_UPDATE,
    ('DELETE', '/config/datastore/{name}'): DATASTORE_DELETE,
    ('GET', '/config/remote'): {},
    ('POST', '/config/remote'): REMOTE_CREATE,
    ('GET', '/config/remote/{name}'): {'name': REMOTE_ID.required()},
    ('PUT', '/config/remote/{name}'): REMOTE_UPDATE,
    ('DELETE', '/config/remote/{name}'): {'name': REMOTE_ID.required(), 'digest': DIGEST},
    ('GET', '/config/sync'): SYNC_LIST,
    ('POST', '/config/sync'): SYNC_CREATE,
    ('GET', '/config/sync/{id}'): ITEM,
    ('PUT', '/config/sync/{id}'): SYNC_UPDATE,
    ('DELETE', '/config/sync/{id}'): ITEM_DELETE,
    ('GET', '/config/verify'): {},
    ('POST', '/config/verify'): VERIFY_CREATE,
    ('GET', '/config/verify/{id}'): ITEM,
    ('PUT', '/config/verify/{id}'): VERIFY_UPDATE,
    ('DELETE', '/config/verify/{id}'): ITEM_DELETE,
    ('GET', '/config/prune'): {},
    ('POST', '/config/prune'): PRUNE_CREATE,
    ('GET', '/config/prune/{id}'): ITEM,
    ('PUT', '/config/prune/{id}'): PRUNE_UPDATE,
    ('DELETE', '/config/prune/{id}'): ITEM_DELETE,
    ('POST', '/admin/sync/{id}/run'): ITEM,
    ('POST', '/admin/verify/{id}/run'): ITEM,
    ('POST', '/admin/prune/{id}/run'): ITEM,
    ('GET', '/admin/gc'): {'store': DATASTORE},
    ('GET', '/admin/datastore/{store}/status'): {'store': DATASTORE.required(), 'verbose': b(False)},
    ('GET', '/admin/datastore/{store}/gc'): STORE,
    ('POST', '/admin/datastore/{store}/gc'): STORE,
    ('GET', '/admin/datastore/{store}/snapshots'): {'store': DATASTORE.required(), 'ns': NS, 'backup-type': BACKUP_TYPE,
                                                    'backup-id': BACKUP_ID},
    ('DELETE', '/admin/datastore/{store}/snapshots'): SNAPSHOT,
    ('GET', '/admin/datastore/{store}/groups'): {'store': DATASTORE.required(), 'ns': NS},
    ('DELETE', '/admin/datastore/{store}/groups'): GROUP_DELETE,
    ('GET', '/admin/datastore/{store}/namespace'): {'store': DATASTORE.required(), 'parent': NS,
                                                    'max-depth': i(minimum=0, maximum=7, default=7)},
    ('POST', '/admin/datastore/{store}/namespace'): {'store': DATASTORE.required(), 'parent': NS,
                                                     'name': s(pattern='^' + SAFE_ID + '$', max_length=32).required()},
    ('DELETE', '/admin/datastore/{store}/namespace'): {'store': DATASTORE.required(), 'ns': NS.required(),
                                                       'delete-groups': b(False), 'error-on-protected': b(True)},
    ('POST', '/admin/datastore/{store}/prune-datastore'): PRUNE_DATASTORE,
    ('POST', '/admin/datastore/{store}/verify'): VERIFY_DATASTORE,
    ('GET', '/nodes/{node}/tasks/{upid}/status'): {'node': NODE.required(), 'upid': UPID.required()},
    ('GET', '/nodes/{node}/tasks/{upid}/log'): {'node': NODE.required(), 'upid': UPID.required(),
                                                'start': i(minimum=0, default=0), 'limit': i(minimum=0, default=50),
                                                'download': b(False), 'test-status': b()},
    ('GET', '/access/users/{userid}/token/{token-name}'): {'userid': USER_ID.required(),
                                                           'token-name': TOKEN_NAME.required()},
    ('POST', '/access/users/{userid}/token/{token-name}'): {
        'userid': USER_ID.required(), 'token-name': TOKEN_NAME.required(), 'comment': COMMENT,
        'enable': b(True), 'expire': i(minimum=0, default=0), 'digest': DIGEST},
    ('PUT', '/access/users/{userid}/token/{token-name}'): {
        'userid': USER_ID.required(), 'token-name': TOKEN_NAME.required(), 'comment': COMMENT,
        'enable': b(True), 'expire': i(minimum=0, default=0), 'digest': DIGEST, 'regenerate': b(False),
        'delete': delete_list('comment')},
    ('DELETE', '/access/users/{userid}/token/{token-name}'): {
        'userid': USER_ID.required(), 'token-name': TOKEN_NAME.required(), 'digest': DIGEST},
    ('GET', '/access/acl'): {'path': ACL_PATH, 'exact': b(False)},
    ('GET', '/access/permissions'): {'auth-id': AUTH_ID, 'path': ACL_PATH},
    ('PUT', '/access/acl'): {'path': ACL_PATH.required(), 'role': ROLE.required(), 'propagate': b(True),
                             'auth-id': AUTH_ID, 'group': s(pattern=r'^' + USER_NAME + '$', min_length=3, max_length=64),
                             'delete': b(), 'digest': DIGEST},
    ('POST', '/access/users'): {
        'userid': USER_ID.required(), 'comment': COMMENT, 'email': s(pattern=CNTRL_FREE, min_length=2, max_length=64),
        'enable': b(True), 'expire': i(minimum=0, default=0),
        'firstname': s(pattern=CNTRL_FREE, min_length=2, max_length=64),
        'lastname': s(pattern=CNTRL_FREE, min_length=2, max_length=64),
        'password': s(pattern=CNTRL_FREE, min_length=8, max_length=64)},
    ('DELETE', '/access/users/{userid}'): {'userid': USER_ID.required(), 'digest': DIGEST},
    ('GET', '/admin/datastore'): {},
}

# ------------------------------------------------------------------- checking

_CALENDAR_WORDS = {'minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly',
                   'semiannually', 'semi-annually'}
_DAYS = r'(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?'
_CAL_TOKEN = re.compile(r'^(?:{0}(?:\.\.{0})?(?:,{0}(?:\.\.{0})?)*|[0-9*/.,~:\-]+)$'.format(_DAYS), re.I)
_BYTES = re.compile(r'^\d+(?:\.\d+)?\s*(?:[KMGTPE]i?B?|B)?$', re.I)
_GROUP_FILTER = re.compile(r'^(?:(?:exclude|include):)?(?:type:(?:vm|ct|host)|group:(?:vm|ct|host)/\S+|regex:.+)$')


def _check_calendar(value):
    """The calendar-event check, basic: a known word, or weekdays / dates / times made of the allowed tokens."""
    text = value.strip()
    if text.lower() in _CALENDAR_WORDS:
        return None
    tokens = text.split()
    if tokens and all(_CAL_TOKEN.match(token) for token in tokens) and len(tokens) <= 3:
        return None
    return "unable to parse calendar event '{0}'".format(value)


def _check_format(fmt, value):
    if fmt == 'calendar-event':
        return _check_calendar(value)
    if fmt == 'byte-size' and not _BYTES.match(value):
        return "unable to parse byte size '{0}'".format(value)
    if fmt == 'group-filter' and not _GROUP_FILTER.match(value):
        return "invalid group filter '{0}'".format(value)
    return None


_TRUE = ('1', 'on', 'yes', 'true')
_FALSE = ('0', 'off', 'no', 'false')


def _convert(param, raw):
    """(value, error) of one raw form value (a string) or JSON value."""
    if param.type == 'boolean':
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, 'Unable to parse boolean option.'
    if param.type == 'integer':
        if isinstance(raw, bool) or isinstance(raw, float):
            return None, 'Expected integer value.'
        try:
            value = int(raw) if isinstance(raw, int) else int(str(raw).strip(), 10)
        except ValueError:
            return None, 'invalid digit found in string'
        if param.minimum is not None and value < param.minimum:
            return None, 'value must have a minimum value of {0} (got {1})'.format(param.minimum, value)
        if param.maximum is not None and value > param.maximum:
            return None, 'value must have a maximum value of {0} (got {1})'.format(param.maximum, value)
        return value, None
    value = raw if isinstance(raw, str) else str(raw)
    if param.min_length is not None and len(value) < param.min_length:
        return None, 'value must be at least {0} characters long'.format(param.min_length)
    if param.max_length is not None and len(value) > param.max_length:
        return None, 'value may only be {0} characters long'.format(param.max_length)
    if param.pattern is not None and not param.pattern.match(value):
        return None, 'value does not match the regex pattern'
    if param.enum is not None and value not in param.enum:
        return None, "value '{0}' is not defined in the enumeration.".format(value)
    if param.fmt:
        problem = _check_format(param.fmt, value)
        if problem:
            return None, problem
    return value, None


def check(spec, raw):
    """(values, errors) of raw parameters {name: str | list}: values converted, errors {name: message}."""
    values, errors = {}, {}
    for name, given in raw.items():
        param = spec.get(name)
        if param is None:
            errors[name] = 'schema does not allow additional properties.'
            continue
        if param.type == 'array':
            items = given if isinstance(given, list) else [given]
            out = []
            for idx, item in enumerate(items):
                value, problem = _convert(param.items, item)
                if problem:
                    errors['{0}[{1}]'.format(name, idx)] = problem
                out.append(value)
            values[name] = out
            continue
        if isinstance(given, list):
            if len(given) != 1:
                errors[name] = 'got multiple values for non-array parameter'
                continue
            given = given[0]
        value, problem = _convert(param, given)
        if problem:
            errors[name] = problem
        else:
            values[name] = value
    for name, param in spec.items():
        if not param.optional and name not in raw:
            errors[name] = 'parameter is missing and it is not optional.'
    return values, errors


def error_text(errors):
    """proxmox-schema's words for a failed parameter check."""
    lines = ["parameter '{0}': {1}".format(name, errors[name]) for name in sorted(errors)]
    return 'parameter verification errors\n\n' + '\n'.join(lines) + '\n'
