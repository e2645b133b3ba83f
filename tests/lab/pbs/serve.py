# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One FakePbs on its own loopback address (port 8007) with a certificate of the lab CA.

PbsInstance binds it on the caller's event loop (what the estate would do beside its clusters);
PbsServer serves one on an event loop in a daemon thread (the pytest fixtures):

    server = PbsServer(directory)              # or PbsServer(directory, ca=estate.ca) to share a lab's CA
    server.url, server.token_id, server.token_secret, server.ca_path, server.fingerprint, server.pbs
    server.add_snapshot('store1', 'vm', '100', 1767225600)
    server.stop()
"""

import asyncio
import os
import secrets

from ..estate import LabThread, random_hosts
from ..pki import LabCa, serve_certified
from .server import FakePbs

PORT = 8007
TOKEN_NAME = 'lab'
USER = 'root@pam'
VERSION = '4.0.14'


class PbsInstance(object):
    """A FakePbs with the lab's token and datastores, and what clients need to reach it: host, port, url, user,
    password, token_id, token_secret, ca_path, fingerprint, pbs (the FakePbs), vars. start()/stop() on a loop."""

    def __init__(self, ca, name='pbs1', hosts=None, port=PORT, password=None, task_delay=0.0,
                 datastores=('store1',), version=VERSION):
        self.ca = ca
        self.name = name
        self.hosts = list(hosts) if hosts else None
        self.pbs = FakePbs(port=port, user=USER, password=password or secrets.token_urlsafe(12), version=version)
        self.pbs.task_delay = task_delay
        self.token_id = '{0}!{1}'.format(USER, TOKEN_NAME)
        self.token_secret = self.pbs.add_token(USER, TOKEN_NAME, comment='proxfleet lab')
        # A token holds nothing until an ACL grants it: the lab grants its own token what an admin would.
        self.pbs.grant('/', self.token_id, 'Admin')
        for store in datastores:
            self.pbs.add_datastore(store)
        self.fingerprint = None

    host = property(lambda self: self.pbs.host)
    port = property(lambda self: self.pbs.port)
    url = property(lambda self: self.pbs.url)
    user = property(lambda self: self.pbs.user)
    password = property(lambda self: self.pbs.password)
    ca_path = property(lambda self: self.ca.path)

    async def start(self):
        """Listen on a free loopback address (from hosts, or random 127.0.x.y), port 8007."""
        hosts = iter(self.hosts) if self.hosts else random_hosts()
        self.fingerprint, _pem = await serve_certified(self.pbs, self.ca, self.name, hosts)
        self.pbs.fingerprint = self.fingerprint

    async def stop(self):
        await self.pbs.stop()

    @property
    def vars(self):
        """The server as lab_vars.yml would list it (lab_pbs)."""
        return {'name': self.name, 'api_host': self.host, 'api_port': self.port, 'url': self.url,
                'version': self.pbs.version, 'user': self.user, 'password': self.password,
                'token_id': self.token_id, 'token_name': TOKEN_NAME, 'token_secret': self.token_secret,
                'ca_path': self.ca_path, 'fingerprint': self.fingerprint,
                'datastores': sorted(self.pbs.datastores)}


class PbsServer(object):
    """A PbsInstance served on its own event loop in a daemon thread; the same attributes, plus call(coroutine),
    run(function, ...) and add_snapshot(...) on that loop, and stop()."""

    def __init__(self, directory, ca=None, **options):
        directory = os.path.abspath(directory)
        os.makedirs(directory, exist_ok=True)
        self.instance = PbsInstance(ca or LabCa(directory), **options)
        self._thread = LabThread(self.instance)

    def __getattr__(self, name):
        if name in ('instance', '_thread'):
            raise AttributeError(name)
        return getattr(self.instance, name)

    def call(self, coro, timeout=60):
        """Run a coroutine on the server's loop."""
        return self._thread.call(coro, timeout)

    def run(self, func, *args, **kwargs):
        """Run a plain function of the fake (add_snapshot, add_datastore, corrupt_chunk, ...) on the server's loop."""
        async def call():
            return func(*args, **kwargs)
        return self.call(call())

    def event(self):
        """A new asyncio.Event of the server's loop: give it to pbs.task_gate, then set_event() it."""
        async def make():
            return asyncio.Event()
        return self.call(make())

    def set_event(self, event):
        """Set an event made by event(), from the test's thread."""
        async def fire():
            event.set()
        self.call(fire())

    def add_snapshot(self, *args, **kwargs):
        """FakePbs.add_snapshot on the server's loop: store, backup_type, backup_id, backup_time, ns=, chunks=, ..."""
        return self.run(self.instance.pbs.add_snapshot, *args, **kwargs)

    def stop(self):
        self._thread.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
