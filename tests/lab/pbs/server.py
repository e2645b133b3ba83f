# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FakePbs: a Proxmox Backup Server on loopback (aiohttp, HTTPS, port 8007) for the lab.

    pbs = FakePbs(host='127.0.0.5', password='secret')
    await pbs.start(certfile, keyfile)     # https://127.0.0.5:8007/api2/json/...
    pbs.add_snapshot('store1', 'vm', '100', 1767225600)
    await pbs.stop()

Authentication as PBS does it: POST /access/ticket gives a ticket (cookie `PBSAuthCookie`) and a
`CSRFPreventionToken` header every write must carry; API tokens come as `Authorization: PBSAPIToken=user@realm!id:secret`.
Every request is checked against the fake's own parameter specs (specs.py); answers are `{"data": ...}` with
attributes such as `digest` and `total` beside it; errors are an HTTP status with PBS's message as the body.
The areas (config.py, admin.py) add the endpoints; tasks finish before their request returns unless
`task_delay` (real seconds) or `task_gate` (an asyncio.Event they wait for) is set.
"""

import asyncio
import base64
import re
import secrets
import time
import uuid

from aiohttp import web

from . import specs
from .access import AccessArea
from .admin import AdminArea
from .config import ConfigArea
from .model import Datastore, PbsError, Snapshot, Task, chunk_digest, unescape_unit

API = '/api2/json'
DEFAULT_CAPACITY = 1024 ** 4
TICKET_LIFETIME = 7200


class Answer(object):
    """Data with attributes for the envelope (digest, total, active)."""

    def __init__(self, data, **attrs):
        self.data = data
        self.attrs = attrs


class FakePbs(ConfigArea, AdminArea, AccessArea):
    """One PBS: root@pam with a password, users, API tokens, ACLs, datastores, remotes, jobs, tasks; `instances`
    finds running ones by address."""

    instances = {}

    def __init__(self, host=None, port=8007, user='root@pam', password=None, version='4.0.14'):
        self.host = host or '127.0.0.1'
        self.port = port
        self.user = user
        self.password = password or secrets.token_urlsafe(12)
        self.version = version
        self.repoid = secrets.token_hex(4)
        self.users = {user: {'password': self.password, 'enable': True, 'expire': 0}}
        self.tokens = {}
        self._init_access()
        self.tickets = {}
        self.tasks = {}
        self.task_counter = 0
        self.task_delay = 0.0
        # An asyncio.Event of the server's loop: while set here and not yet set, new tasks wait for it (running).
        self.task_gate = None
        self.clock_offset = 0
        self.capacity = DEFAULT_CAPACITY
        self.datastores = {}
        self.chunk_stores = {}
        self.remotes = {}
        self.jobs = {'sync': {}, 'verification': {}, 'prune': {}}
        self.fingerprint = None
        self.requests = []
        self.runner = None
        self._routes = self._build_routes()

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self):
        return 'https://{0}:{1}'.format(self.host, self.port)

    async def start(self, certfile, keyfile):
        """Listen on https://host:port with this certificate and key (PEM files)."""
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(certfile, keyfile)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route('*', API + '/{tail:.*}', self._serve)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port, ssl_context=ctx).start()
        if not self.port:
            self.port = self.runner.addresses[0][1]
        FakePbs.instances[(self.host, self.port)] = self

    async def stop(self):
        """Stop listening."""
        FakePbs.instances.pop((self.host, self.port), None)
        if self.runner:
            await self.runner.cleanup()
            self.runner = None

    def now(self):
        return int(time.time()) + self.clock_offset

    # ----------------------------------------------------------------- auth

    def add_user(self, userid, password):
        """Another user (PBS realm users: user@pbs)."""
        self.users[userid] = {'password': password, 'enable': True, 'expire': 0}

    def add_token(self, userid, name, comment=None, secret=None):
        """An API token of userid; returns its secret. Like every token it holds no privilege until an ACL entry
        grants one (grant())."""
        secret = secret or str(uuid.uuid4())
        self.tokens['{0}!{1}'.format(userid, name)] = {'secret': secret, 'comment': comment, 'enable': True,
                                                       'expire': 0}
        return secret

    def _active(self, entry):
        return entry and entry.get('enable', True) and not (entry.get('expire') and entry['expire'] < self.now())

    def login(self, userid, password):
        """(ticket, csrf) for good credentials or a valid ticket of the same user; None otherwise."""
        entry = self.users.get(userid)
        if not self._active(entry):
            return None
        ticket_user = self._ticket_user(password)
        if password != entry['password'] and ticket_user != userid:
            return None
        stamp = '{0:08X}'.format(self.now())
        ticket = 'PBS:{0}:{1}::{2}'.format(userid, stamp, base64.b64encode(secrets.token_bytes(48)).decode())
        csrf = '{0}:{1}'.format(stamp, base64.b64encode(secrets.token_bytes(32)).decode().rstrip('='))
        self.tickets[ticket] = {'user': userid, 'csrf': csrf, 'time': self.now()}
        return ticket, csrf

    def _ticket_user(self, ticket):
        entry = self.tickets.get(ticket)
        if entry and self.now() - entry['time'] < TICKET_LIFETIME:
            return entry['user']
        return None

    def check_token(self, value):
        """The auth id of an API token header value ('user@realm!id:secret'); PbsError otherwise."""
        tokenid, sep, secret = value.partition(':')
        if not sep:
            raise PbsError('authentication failed - failed to split API token header', 401)
        entry = self.tokens.get(tokenid)
        user = self.users.get(tokenid.partition('!')[0])
        if not self._active(entry) or not self._active(user):
            raise PbsError('authentication failed - user account or token disabled or expired.', 401)
        if not secrets.compare_digest(entry['secret'], secret):
            raise PbsError('authentication failed - invalid API token', 401)
        return tokenid

    def _authenticate(self, request):
        header = request.headers.get('Authorization', '')
        if header.startswith('PBSAPIToken'):
            return self.check_token(re.sub(r'^PBSAPIToken[= ]', '', header))
        ticket = request.cookies.get('PBSAuthCookie')
        if not ticket:
            raise PbsError('no authentication credentials provided.', 401)
        user = self._ticket_user(ticket)
        if user is None or not self._active(self.users.get(user)):
            raise PbsError('authentication failed - invalid ticket', 401)
        if request.method != 'GET':
            csrf = request.headers.get('CSRFPreventionToken')
            if not csrf:
                raise PbsError('authentication failed - missing CSRF prevention token', 401)
            if not secrets.compare_digest(csrf, self.tickets[ticket]['csrf']):
                raise PbsError('authentication failed - invalid CSRF prevention token', 401)
        return user

    # --------------------------------------------------------------- routing

    def _build_routes(self):
        routes = [
            ('GET', '/version', self._version),
            ('POST', '/access/ticket', self._ticket),
            ('DELETE', '/access/ticket', self._logout),
            ('GET', '/nodes/{node}/tasks/{upid}/status', self._task_status),
            ('GET', '/nodes/{node}/tasks/{upid}/log', self._task_log),
            ('GET', '/access/users/{userid}/token/{token-name}', self._token_read),
            ('POST', '/access/users/{userid}/token/{token-name}', self._token_create),
            ('PUT', '/access/users/{userid}/token/{token-name}', self._token_update),
            ('DELETE', '/access/users/{userid}/token/{token-name}', self._token_delete),
        ]
        routes += self._routes_access() + self._routes_config() + self._routes_admin()
        table = []
        for method, template, handler in routes:
            spec = specs.SPECS[(method, template)]
            names = re.findall(r'\{([^}]+)\}', template)
            pattern = re.compile('^' + re.sub(r'\\\{[^}]+\\\}', '([^/]+)', re.escape(template)) + '$')
            table.append((method, template, pattern, names, spec, handler))
        return table

    def _match(self, method, path):
        allowed = False
        for verb, template, pattern, names, spec, handler in self._routes:
            found = pattern.match(path)
            if not found:
                continue
            if verb != method:
                allowed = True
                continue
            from urllib.parse import unquote
            return template, dict(zip(names, (unquote(g) for g in found.groups()))), spec, handler
        if allowed:
            raise PbsError('Method not allowed', 405)
        raise PbsError('Path \'{0}\' not found.'.format(API + path), 404)

    async def _params(self, request):
        raw = {}
        for key in request.query:
            values = request.query.getall(key)
            raw[key] = values if len(values) > 1 else values[0]
        if request.method in ('POST', 'PUT') and request.can_read_body:
            if request.content_type == 'application/json':
                body = await request.json()
                for key, value in (body or {}).items():
                    raw[key] = value if isinstance(value, (list, str)) else (
                        value if isinstance(value, bool) else str(value))
            else:
                form = await request.post()
                for key in form:
                    values = form.getall(key)
                    raw[key] = values if len(values) > 1 else values[0]
        return raw

    async def _serve(self, request):
        path = '/' + request.match_info['tail']
        try:
            template, path_params, spec, handler = self._match(request.method, path.rstrip('/') or '/')
            if template == '/access/ticket':
                auth_id = None
            else:
                auth_id = self._authenticate(request)
            # The method's declared permission is checked before its parameters are read (proxmox-rest-server).
            self.check_permission(request.method, template, path_params, auth_id)
            raw = await self._params(request)
            raw.update(path_params)
            values, errors = specs.check(spec, raw)
            if errors:
                raise PbsError(specs.error_text(errors), 400)
            self.requests.append((request.method, template, auth_id))
            result = handler(values, auth_id)
            if asyncio.iscoroutine(result):
                result = await result
        except PbsError as exc:
            return web.Response(status=exc.status, text=exc.message, content_type='application/json')
        if isinstance(result, web.Response):
            return result
        out = {'data': result.data, **result.attrs} if isinstance(result, Answer) else {'data': result}
        return web.json_response(out)

    # ----------------------------------------------------------------- tasks

    def start_task(self, worker_type, worker_id, auth_id, work):
        """A task running work(task) (which raises PbsError to fail); returns its UPID at once."""
        self.task_counter += 1
        task = Task(self.task_counter, worker_type, worker_id, auth_id, self.now())
        self.tasks[task.upid] = task
        if self.task_delay or self.task_gate is not None:
            gate = self.task_gate

            async def later():
                await asyncio.sleep(self.task_delay)
                if gate is not None:
                    await gate.wait()
                self._run_task(task, work)
            asyncio.get_running_loop().create_task(later())
        else:
            self._run_task(task, work)
        return task.upid

    def _run_task(self, task, work):
        try:
            work(task)
        except PbsError as exc:
            task.finish(exc.message.strip(), self.now())
            return
        task.finish(None, self.now())

    def _task_status(self, values, auth):
        parts = values['upid'].split(':')
        self.check_task_access(auth, parts[8])
        task = self.tasks.get(values['upid'])
        if task is not None:
            return task.status()
        # PBS answers any well-formed UPID: a task it has no record of stopped with an unknown state
        user, _sep, token = parts[8].partition('!')
        out = {'upid': values['upid'], 'node': parts[1], 'pid': int(parts[2], 16), 'pstart': int(parts[3], 16),
               'starttime': int(parts[5], 16), 'type': parts[6], 'user': user, 'status': 'stopped',
               'exitstatus': 'unknown'}
        if parts[7]:
            out['id'] = unescape_unit(parts[7])
        if token:
            out['tokenid'] = token
        return out

    def _task_log(self, values, auth):
        """As PBS reads a task log: lines numbered from 1, `start` skips the lines numbered below it, `limit` 0
        reads to the end; `download` is the whole log as text, alone."""
        self.check_task_access(auth, values['upid'].split(':')[8])
        task = self.tasks.get(values['upid'])
        if task is None:
            raise PbsError('No such file or directory (os error 2)')
        if values.get('download'):
            if any(k in values for k in ('start', 'limit', 'test-status')):
                raise PbsError("Parameter 'download' cannot be used with other parameters")
            return web.Response(text=''.join(line + '\n' for line in task.lines), content_type='text/plain')
        start, limit = values.get('start', 0), values.get('limit', 50)
        lines = [{'n': n, 't': text} for n, text in enumerate(task.lines, 1) if n >= start]
        if limit:
            lines = lines[:limit]
        attrs = {'total': len(task.lines), 'success': 1}
        if values.get('test-status'):
            attrs['active'] = task.running
        return Answer(lines, **attrs)

    # ---------------------------------------------------- version and tickets

    def _version(self, _values, _auth):
        """As PBS answers: the package version split into 'version' (4.0) and 'release' (14)."""
        version, _sep, release = self.version.rpartition('.')
        return {'version': version, 'release': release, 'repoid': self.repoid}

    def _ticket(self, values, _auth):
        got = self.login(values['username'], values.get('password') or '')
        if got is None:
            raise PbsError('permission check failed.', 401)
        ticket, csrf = got
        return {'username': values['username'], 'ticket': ticket, 'CSRFPreventionToken': csrf}

    def _logout(self, _values, _auth):
        return None

    # ---------------------------------------------------------------- tokens

    def _token_entry(self, values):
        userid = values['userid']
        if userid not in self.users:
            raise PbsError("no such user '{0}'".format(userid))
        return userid, '{0}!{1}'.format(userid, values['token-name'])

    def _token_digest(self):
        from .model import digest_of
        return digest_of('token', dict((k, {'comment': v.get('comment') or '', 'enable': v['enable'],
                                            'expire': v['expire']}) for k, v in self.tokens.items()))

    def _token_item(self, tokenid):
        entry = self.tokens[tokenid]
        out = {'tokenid': tokenid, 'enable': entry['enable'], 'expire': entry['expire']}
        if entry.get('comment'):
            out['comment'] = entry['comment']
        return out

    def _token_read(self, values, _auth):
        _userid, tokenid = self._token_entry(values)
        if tokenid not in self.tokens:
            raise PbsError("no such token '{0}'".format(tokenid))
        return Answer(self._token_item(tokenid), digest=self._token_digest())

    def _token_create(self, values, _auth):
        userid, tokenid = self._token_entry(values)
        self._check_digest(values, self._token_digest())
        if tokenid in self.tokens:
            raise PbsError("token '{0}' for user '{1}' already exists.".format(values['token-name'], userid))
        secret = self.add_token(userid, values['token-name'], comment=values.get('comment'))
        self.tokens[tokenid].update(enable=values.get('enable', True), expire=values.get('expire', 0))
        return {'tokenid': tokenid, 'value': secret}

    def _token_update(self, values, _auth):
        _userid, tokenid = self._token_entry(values)
        self._check_digest(values, self._token_digest())
        if tokenid not in self.tokens:
            raise PbsError("no such token '{0}'".format(tokenid))
        entry = self.tokens[tokenid]
        if 'comment' in values.get('delete', []):
            entry['comment'] = None
        if 'comment' in values:
            entry['comment'] = values['comment'].strip() or None
        for key in ('enable', 'expire'):
            if key in values:
                entry[key] = values[key]
        if values.get('regenerate'):
            entry['secret'] = str(uuid.uuid4())
            return {'tokenid': tokenid, 'secret': entry['secret']}
        return None

    def _token_delete(self, values, _auth):
        userid, tokenid = self._token_entry(values)
        self._check_digest(values, self._token_digest())
        if self.tokens.pop(tokenid, None) is None:
            raise PbsError("token '{0}' of user '{1}' does not exist.".format(values['token-name'], userid), 404)
        return None

    # ------------------------------------------------------------ test hooks

    def add_datastore(self, name, path=None, **config):
        """A datastore made at once, without a task (for tests and the estate)."""
        path = path or '/mnt/datastore/' + name
        conf = dict(config, path=path)
        self.datastores[name] = Datastore(name, conf, self.capacity)
        self.chunk_stores[path] = self.datastores[name]
        return self.datastores[name]

    def add_snapshot(self, store, backup_type, backup_id, backup_time, ns=None, files=None, chunks=None, owner=None,
                     comment=None, protected=False):
        """A finished snapshot in store (and namespace ns), as a backup client would leave it.

        files: {name: [(digest, size), ...] for an index, or an int for a blob}; or chunks: [(digest, size), ...]
        (or sizes, each chunk then unique to this snapshot), stored as one drive image index. By default one chunk
        of 4 MiB. Returns the Snapshot.

        This is the hook the later PVE wiring (a `pbs` storage, vzdump to it) calls when a backup ends.
        """
        datastore = self._store(store)
        ns = ns or ''
        if ns and ns not in datastore.namespaces:
            raise PbsError("namespace '{0}' does not exist".format(ns))
        if files is None:
            if chunks is None:
                chunks = [4 * 1024 * 1024]
            index = []
            for idx, chunk in enumerate(chunks):
                if isinstance(chunk, int):
                    chunk = (chunk_digest((store, ns, backup_type, backup_id, backup_time, idx)), chunk)
                index.append((chunk[0], int(chunk[1])))
            name = 'root.pxar.didx' if backup_type in ('ct', 'host') else 'drive-scsi0.img.fidx'
            files = {name: index, 'index.json.blob': 512}
            if backup_type == 'vm':
                files['qemu-server.conf.blob'] = 384
        snap = Snapshot(ns, backup_type, str(backup_id), backup_time, files, owner or self.user, comment=comment,
                        protected=protected)
        datastore.add(snap)
        return snap

    def corrupt_chunk(self, store, digest):
        """Make a chunk fail verification."""
        self._store(store).bad_chunks.add(digest)

    def task(self, upid):
        return self.tasks[upid]

    def _store(self, name):
        if name not in self.datastores:
            raise PbsError("no such datastore '{0}'".format(name))
        return self.datastores[name]

    def __repr__(self):
        return '<FakePbs {0} PBS {1}>'.format(self.url, self.version)
