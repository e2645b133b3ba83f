# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What PBS does differently on the wire: a `path` parameter, the version fields, the digest beside `data`, delete
lists as arrays, and task-log paging that repeats the boundary line."""

from __future__ import annotations

from urllib.parse import parse_qs

from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ConnectionSettings, ProxmoxClient
from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import Field
from ansible_collections.proxfleet.proxmox.plugins.module_utils.resource import ConfigResource, ResourceSpec
from ansible_collections.proxfleet.proxmox.plugins.module_utils.tasks import task_log_tail
from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import reply

PBS_UPID = 'UPID:localhost:000004D2:00001234:00000001:6502A5A8:garbage_collection:store1:root@pam:'


def pbs_client(server):
    return ProxmoxClient(ConnectionSettings('127.0.0.1', service='PBS', port=server.port, token_id='root@pam!ci',
                                            token_secret='0f0f0f0f-0000-4000-8000-000000000000',
                                            ca_path=server.pki.ca_file))


def test_a_parameter_named_path_reaches_the_api(server):
    server.on('POST', '/config/datastore', reply(200, data=PBS_UPID))
    assert pbs_client(server).post('/config/datastore', name='store2', path='/mnt/store2') == PBS_UPID
    assert parse_qs(server.calls()[0].body.decode()) == {'name': ['store2'], 'path': ['/mnt/store2']}


def test_major_version_of_pbs_and_pve(server):
    server.on('GET', '/version', reply(200, data={'version': '4.0', 'release': '14', 'repoid': 'x'}))
    assert pbs_client(server).major_version() == 4


def test_digest_beside_data_is_handed_over(server):
    server.on('GET', '/config/remote/r1', reply(200, body={'data': {'name': 'r1', 'host': 'pbs2'}, 'digest': 'abc'}))
    assert pbs_client(server).get('/config/remote/r1') == {'name': 'r1', 'host': 'pbs2', 'digest': 'abc'}


class _Module(object):
    check_mode = False

    def __init__(self, client):
        self.client = client
        self.task_results = []

    def wait_task(self, upid):
        self.task_results.append(upid)


def test_delete_list_as_an_array_and_digest_sent_back(server):
    server.on('GET', '/config/remote/r1', reply(200, body={'data': {'name': 'r1', 'comment': 'old', 'host': 'a'},
                                                           'digest': 'abc'}))
    server.on('PUT', '/config/remote/r1', reply(200, data=None))
    spec = ResourceSpec('remote', 'remote', '/config/remote', [Field('host'), Field('comment'), Field('port', kind='int')],
                        id_field='name', delete_as_list=True)
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.compare import ABSENT
    ConfigResource(_Module(pbs_client(server)), spec, 'r1').ensure('present', {'comment': ABSENT, 'host': 'b'})
    put = server.calls('PUT')[0]
    assert parse_qs(put.body.decode()) == {'delete': ['comment'], 'host': ['b'], 'digest': ['abc']}


class _PagedLog(object):
    """A PBS task log: `start` includes the line numbered `start` (1-based), so pages overlap by one line."""

    class settings(object):  # noqa: N801 - the attribute the tasks code reads
        url = 'https://pbs:8007'

    def __init__(self, count):
        self.lines = [{'n': n, 't': 'line {0}'.format(n)} for n in range(1, count + 1)]

    @staticmethod
    def path(*segments):
        return '/' + '/'.join(str(s) for s in segments)

    def get(self, api_path, /, **params):
        start, limit = params['start'], params['limit']
        return [line for line in self.lines if line['n'] >= max(start, 1)][:limit]


def test_log_tail_does_not_repeat_page_boundaries():
    tail = task_log_tail(_PagedLog(25), PBS_UPID, lines=30, page=10)
    assert tail == ['line {0}'.format(n) for n in range(1, 26)]


def test_list_gaps_name_what_pbs_filters_by(server):
    """/access/permissions decides whether a list may be incomplete: a privilege held on /datastore but not
    propagated, or missing, makes a note naming it; held and propagated, no note."""
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.pbs import list_gaps
    server.on('GET', '/access/permissions', reply(200, data={
        '/datastore': {'Datastore.Audit': False, 'Datastore.Verify': True},
        '/remote': {'Remote.Audit': True}}))
    gaps = list_gaps(pbs_client(server), ['datastores', 'remotes', 'verify jobs', 'sync jobs'])
    assert sorted(gaps) == ['datastores', 'sync jobs']
    assert gaps['datastores'].startswith('datastores may be incomplete: root@pam!ci has no Datastore.Audit on '
                                         '/datastore (propagated)')
