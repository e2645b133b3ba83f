# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's cluster join area: standalone nodes, create, join (checks, task log, shared state), quorum, removal."""

import pytest
import requests

from tests.lab.areas.cluster_join import start_standalone_nodes, stop_standalone_nodes


@pytest.fixture
def nodes(lab):
    """Three standalone nodes on the session lab's loop."""
    made = start_standalone_nodes(lab, 3)
    try:
        yield made
    finally:
        stop_standalone_nodes(lab, made)


class Session(object):
    """root@pam logged in on one node by ticket; call() -> (status, data or message)."""

    def __init__(self, node, password=None):
        self.node = node
        self.http = requests.Session()
        answer = self.http.post(node.url + '/api2/json/access/ticket', verify=node.ca_path, timeout=30,
                                data={'username': 'root@pam', 'password': password or node.password})
        self.status = answer.status_code
        data = answer.json()['data'] or {}
        self.http.cookies.set('PVEAuthCookie', data.get('ticket', ''))
        self.http.headers['CSRFPreventionToken'] = data.get('CSRFPreventionToken', '')

    def call(self, method, path, **params):
        answer = self.http.request(method, self.node.url + '/api2/json' + path, data=params or None,
                                   verify=self.node.ca_path, timeout=30)
        body = answer.json()
        return answer.status_code, body['data'] if answer.status_code == 200 else body.get('message', '').strip()

    def task(self, upid):
        node = upid.split(':')[1]
        _code, status = self.call('GET', '/nodes/{0}/tasks/{1}/status'.format(node, upid))
        _code, log = self.call('GET', '/nodes/{0}/tasks/{1}/log'.format(node, upid), limit=500)
        return status, [line['t'] for line in log]


def create(node, name='c1', **params):
    session = Session(node)
    code, upid = session.call('POST', '/cluster/config', clustername=name, **params)
    assert code == 200, upid
    status, log = session.task(upid)
    assert status['exitstatus'] == 'OK', log
    return status, log


def join(node, member, password=None, fingerprint=None, **params):
    session = Session(node)
    code, upid = session.call('POST', '/cluster/config/join', hostname=member.host,
                              fingerprint=fingerprint or member.fingerprint, password=password or member.password,
                              **params)
    assert code == 200, upid
    # A joined node's tickets are the cluster's: log in again (with the node's own root password).
    return Session(node).task(upid)


def test_a_standalone_node_answers_as_pve_does(nodes):
    a = Session(nodes[0])
    assert a.call('GET', '/cluster/status') == (200, [{
        'type': 'node', 'id': 'node/' + nodes[0].name, 'name': nodes[0].name, 'ip': nodes[0].host, 'local': 1,
        'nodeid': 0, 'online': 1, 'level': ''}])
    assert a.call('GET', '/cluster/config/nodes') == (200, [])
    assert a.call('GET', '/cluster/config/join') == (424, 'node is not in a cluster, no join info available!')
    assert a.call('GET', '/cluster/config/totem') == (200, None)
    assert a.call('GET', '/cluster/config/qdevice') == (200, {})
    assert a.call('GET', '/cluster/config/apiversion') == (200, 1)


def test_create_writes_corosync_conf_once(nodes):
    node = nodes[0]
    status, log = create(node, 'alpha', link0='{0},priority=10'.format(node.host))
    assert (status['type'], status['id']) == ('clustercreate', 'alpha')
    assert 'Writing corosync config to /etc/pve/corosync.conf' in log
    a = Session(node)
    code, cluster = a.call('GET', '/cluster/status')
    assert cluster[0] == {'type': 'cluster', 'id': 'cluster', 'name': 'alpha', 'nodes': 1, 'quorate': 1, 'version': 1,
                          'online': 1}
    assert cluster[1]['nodeid'] == 1 and cluster[1]['local'] == 1
    assert a.call('GET', '/cluster/config/nodes')[1] == [
        {'node': node.name, 'name': node.name, 'nodeid': '1', 'quorum_votes': '1', 'ring0_addr': node.host}]
    totem = a.call('GET', '/cluster/config/totem')[1]
    assert totem['cluster_name'] == 'alpha' and totem['config_version'] == '1' and totem['token_coefficient'] == '125'
    assert totem['interface'] == {'0': {'linknumber': '0', 'knet_link_priority': '10'}}
    assert a.call('POST', '/cluster/config', clustername='beta') == (
        500, "cluster config '/etc/pve/corosync.conf' already exists")


def test_join_shares_the_cluster_on_every_member(nodes):
    a, b, c = nodes
    create(a, 'gamma')
    old_b = Session(b)
    status, log = join(b, a)
    assert (status['type'], status['id'], status['exitstatus']) == ('clusterjoin', '', 'OK')
    assert log[:2] == ["Establishing API connection with host '{0}'".format(a.host), 'Login succeeded.']
    assert "No cluster network links passed explicitly, fallback to local node IP '{0}'".format(b.host) in log
    assert 'waiting for quorum...OK' in log and log[-2] == "successfully added node '{0}' to cluster.".format(b.name)
    # Through b, as a member since the join before.
    status, log = join(c, b, link0=c.host)
    assert status['exitstatus'] == 'OK', log
    views = {}
    for node in nodes:
        session = Session(node)
        views[node.name] = session.call('GET', '/cluster/status')[1]
        assert [e['node'] for e in session.call('GET', '/cluster/config/nodes')[1]] == [a.name, b.name, c.name]
        assert session.call('GET', '/cluster/config/join')[1]['preferred_node'] == node.name
        fingerprints = dict((n['node'], n['ssl_fingerprint']) for n in session.call('GET', '/nodes')[1])
        assert fingerprints == {a.name: a.fingerprint, b.name: b.fingerprint, c.name: c.fingerprint}
    for name, view in views.items():
        assert view[0] == {'type': 'cluster', 'id': 'cluster', 'name': 'gamma', 'nodes': 3, 'quorate': 1, 'version': 3,
                           'online': 3}
        assert [(e['name'], e['nodeid'], e['local']) for e in view[1:]] == [
            (n.name, i, 1 if n.name == name else 0) for i, n in enumerate(nodes, 1)]
    # b's tickets and tokens are the cluster's now; root@pam still logs in there with b's own password.
    assert old_b.call('GET', '/version')[0] == 401
    assert Session(b).status == 200 and Session(b, password=a.password).status == 401
    token = requests.get(b.url + '/api2/json/version', verify=b.ca_path, timeout=30,
                         headers={'Authorization': 'PVEAPIToken={0}={1}'.format(b.token_id, b.token_secret)})
    assert token.status_code == 401


@pytest.mark.parametrize('case', ['fingerprint', 'password', 'guests', 'in_cluster', 'link_not_local', 'link_missing'])
def test_join_refusals_in_the_task(lab, nodes, case):
    a, b, _c = nodes
    create(a, 'delta', link0=a.host, link1='{0}'.format(a.host.rsplit('.', 1)[0] + '.1'))
    params = {'link0': b.host, 'link1': b.host}
    if case == 'fingerprint':
        status, log = join(b, a, fingerprint=b.fingerprint, **params)
        expected = "fingerprint '{0}' not verified, abort!".format(a.fingerprint)
    elif case == 'password':
        status, log = join(b, a, password='wrong', **params)
        expected = '401 authentication failure'
    elif case == 'guests':
        b.pve.add_vm(100, 'guest', node=b.name)
        status, log = join(b, a, **params)
        expected = 'Check if node may join a cluster failed!'
        assert log[:2] == ['detected the following error(s):', '* this host already contains virtual guests']
    elif case == 'in_cluster':
        create(b, 'epsilon')
        status, log = join(b, a, link0=b.host, link1=b.host)
        expected = 'Check if node may join a cluster failed!'
        assert "* cluster config '/etc/pve/corosync.conf' already exists" in log
        assert '* corosync is already running, is this node already in a cluster?!' in log
    elif case == 'link_not_local':
        status, log = join(b, a, link0='192.0.2.77', link1=b.host)
        expected = 'Check if node may join a cluster failed!'
        assert "* link0: cannot use IP '192.0.2.77', not found on local node!" in log
    else:
        status, log = join(b, a, link0=b.host)
        expected = 'Cluster join aborted!'
        assert "An error occurred on the cluster node: corosync: link 1 exists in cluster config but wasn't specified " \
               "for new node" in log
    assert status['exitstatus'] == expected and log[-1] == 'TASK ERROR: ' + expected
    # Nothing changed on either side.
    assert sorted(a.pve.nodes) == [a.name] and b.pve.cj_cluster is None


def test_the_cluster_waits_for_the_new_nodes_vote(nodes, until):
    a, b, _c = nodes
    create(a, 'zeta')
    for node in (a, b):
        node.pve.time_scale = 0.01
    a.pve.join_quorum_secs = 100
    session = Session(b)
    code, upid = session.call('POST', '/cluster/config/join', hostname=a.host, fingerprint=a.fingerprint,
                              password=a.password)
    assert code == 200
    watcher = Session(a)
    view = until(lambda: [v for v in [watcher.call('GET', '/cluster/status')[1]] if len(v) == 3], 'b in the list')[0]
    # Two votes expected: while b's corosync is not up yet, a alone has no quorum.
    assert view[0]['quorate'] == view[2]['online']
    until(lambda: watcher.call('GET', '/cluster/status')[1][0]['quorate'] == 1, 'quorum with b')
    until(lambda: Session(b).task(upid)[0]['status'] == 'stopped', 'the join task to end')
    assert Session(b).task(upid)[0]['exitstatus'] == 'OK'


def test_removing_a_node(nodes):
    a, b, c = nodes
    create(a, 'eta')
    join(b, a)
    join(c, a)
    session = Session(a)
    assert session.call('DELETE', '/cluster/config/nodes/' + a.name) == (500, 'Cannot delete myself from cluster!')
    assert session.call('DELETE', '/cluster/config/nodes/nosuch') == (
        500, 'Node/IP: nosuch is not a known host of the cluster.')
    assert session.call('DELETE', '/cluster/config/nodes/' + c.name) == (200, None)
    for node in (a, b):
        view = Session(node).call('GET', '/cluster/status')[1]
        assert [e['name'] for e in view[1:]] == [a.name, b.name] and view[0]['quorate'] == 1 and view[0]['version'] == 4
    # c, still running, keeps its old configuration, alone and without quorum.
    view = Session(c).call('GET', '/cluster/status')[1]
    assert view[0]['quorate'] == 0 and view[0]['nodes'] == 3
    assert [(e['name'], e['online']) for e in view[1:]] == [(a.name, 0), (b.name, 0), (c.name, 1)]


def test_estate_clusters_keep_their_shape(lab, api):
    cluster = lab.clusters[0]
    status = api(cluster).cluster.status.get()
    assert status[0]['name'] == cluster.name and status[0]['nodes'] == len(cluster.nodes)
    assert [(e['name'], e['nodeid'], e['ip'], e['local']) for e in status[1:]] == [
        (name, i, '192.0.2.{0}'.format(10 + i), 1 if i == 1 else 0) for i, name in enumerate(cluster.nodes, 1)]
    info = api(cluster).cluster.config.join.get()
    assert [n['name'] for n in info['nodelist']] == cluster.nodes
    assert all(n['pve_fp'] == cluster.fingerprint for n in info['nodelist'])
