# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate: clusters, TLS under the lab CA, ticket and token logins, versions, guests, vars."""

import hashlib
import ipaddress
import os
import socket
import ssl
import subprocess

import pytest
import requests
import yaml


def test_clusters_have_their_own_loopback_address_on_8006(lab):
    assert len(lab.clusters) == 2
    hosts = set()
    for cluster in lab.clusters:
        assert ipaddress.ip_address(cluster.host).is_loopback
        assert cluster.host.startswith('127.0.')
        assert cluster.port == 8006
        assert cluster.url == 'https://{0}:8006'.format(cluster.host)
        assert len(cluster.nodes) == 3
        assert cluster.user == 'root@pam'
        assert cluster.token_id == 'root@pam!lab'
        assert cluster.ca_path == lab.ca_path
        hosts.add(cluster.host)
    assert len(hosts) == 2
    assert [c.name for c in lab.clusters] == ['lab1', 'lab2']


def test_versions_per_cluster(lab, api):
    assert [c.version for c in lab.clusters] == ['9.0.10', '8.4.14']
    for cluster in lab.clusters:
        client = api(cluster)
        version = client.version.get()
        assert version['version'] == cluster.version
        assert version['release'] == cluster.version.rsplit('.', 1)[0]
        for node in cluster.nodes:
            assert client.nodes(node).version.get() == version


@pytest.mark.parametrize('auth', ['ticket', 'token'])
def test_login_on_every_cluster(lab, api, auth):
    for cluster in lab.clusters:
        client = api(cluster, auth=auth)
        nodes = sorted(n['node'] for n in client.nodes.get())
        assert nodes == cluster.nodes
        assert client.cluster.status.get()[0]['name'] == cluster.name


def test_wrong_secrets_are_refused(lab, api):
    from proxmoxer.core import AuthenticationError, ResourceException
    cluster = lab.clusters[0]
    with pytest.raises(AuthenticationError):
        api(cluster, auth='ticket', password='wrong').version.get()
    with pytest.raises(ResourceException) as caught:
        api(cluster, token=(cluster.token_id, '00000000-0000-0000-0000-000000000000')).version.get()
    assert caught.value.status_code == 401


def test_tls_verifies_against_the_lab_ca_only(lab):
    cluster = lab.clusters[0]
    # Against the system's bundle (REQUESTS_CA_BUNDLE may name one), the lab's certificate is unknown.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(cluster.url + '/api2/json/version', verify=os.environ.get('REQUESTS_CA_BUNDLE') or True,
                     timeout=10)
    answer = requests.get(cluster.url + '/api2/json/version', verify=lab.ca_path, timeout=10)
    assert answer.status_code == 401
    assert answer.json()['message'] == 'permission denied - invalid PVE ticket\n'


def test_fingerprints_are_the_served_certificates(lab):
    for cluster in lab.clusters:
        ctx = ssl.create_default_context(cafile=lab.ca_path)
        with socket.create_connection((cluster.host, cluster.port), timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname=cluster.host) as tls:
                der = tls.getpeercert(binary_form=True)
        digest = hashlib.sha256(der).hexdigest().upper()
        assert cluster.fingerprint == ':'.join(digest[i:i + 2] for i in range(0, 64, 2))
    assert len(set(c.fingerprint for c in lab.clusters)) == 2


def test_certificates_through_the_api(lab, api):
    for cluster in lab.clusters:
        client = api(cluster)
        assert set(n['ssl_fingerprint'] for n in client.nodes.get()) == {cluster.fingerprint}
        info = dict((c['filename'], c) for c in client.nodes(cluster.nodes[0]).certificates.info.get())
        assert info['pve-ssl.pem']['fingerprint'] == cluster.fingerprint
        assert cluster.host in info['pve-ssl.pem']['san']
        assert info['pve-ssl.pem']['issuer'] == info['pve-root-ca.pem']['subject']
        with open(lab.ca_path, encoding='ascii') as handle:
            assert info['pve-root-ca.pem']['pem'] == handle.read()


def test_curl_with_the_ca_bundle(lab):
    for cluster in lab.clusters:
        login = subprocess.run(['curl', '-sS', '--cacert', lab.ca_path, '--data-urlencode', 'username=root@pam',
                                '--data-urlencode', 'password=' + cluster.password,
                                cluster.url + '/api2/json/access/ticket'],
                               capture_output=True, text=True, check=True, timeout=30)
        assert '"ticket":"PVE:root@pam:' in login.stdout.replace(' ', '')
        token = subprocess.run(['curl', '-sS', '--fail', '--cacert', lab.ca_path, '-H',
                                'Authorization: PVEAPIToken={0}={1}'.format(cluster.token_id, cluster.token_secret),
                                cluster.url + '/api2/json/nodes/{0}/version'.format(cluster.nodes[0])],
                               capture_output=True, text=True, check=True, timeout=30)
        assert cluster.version in token.stdout
        # Without the bundle, curl refuses the certificate (exit 60).
        bare = subprocess.run(['curl', '-sS', '--capath', '/nonexistent', '--cacert', '/dev/null',
                               cluster.url + '/api2/json/version'], capture_output=True, text=True, timeout=30,
                              check=False)
        assert bare.returncode in (35, 60, 77)


def test_guests_are_spread_and_realistic(lab, api):
    everything = []
    for cluster in lab.clusters:
        guests = api(cluster).cluster.resources.get(type='vm')
        assert set(g['node'] for g in guests) == set(cluster.nodes)
        everything += guests
    assert len(everything) == 20
    assert sorted(g['vmid'] for g in everything) == list(range(100, 120))
    kinds = set(g['type'] for g in everything)
    assert kinds == {'qemu', 'lxc'}
    assert any(g['status'] == 'running' for g in everything)
    assert any(g['status'] == 'stopped' for g in everything)
    cluster = lab.clusters[0]
    vm = next(g for g in api(cluster).cluster.resources.get(type='vm') if g['type'] == 'qemu')
    config = api(cluster).nodes(vm['node']).qemu(vm['vmid']).config.get()
    assert config['name'] == vm['name']
    assert config['scsi0'].startswith('local-lvm:vm-{0}-disk-0,'.format(vm['vmid']))
    assert 'size=' in config['scsi0']
    assert config['net0'].startswith('virtio=BC:24:11:') and 'bridge=vmbr0' in config['net0']
    assert ';' in config['tags'] and int(config['memory']) >= 512 and config['cores'] >= 1
    ct = next(g for g in everything if g['type'] == 'lxc')
    owner = next(c for c in lab.clusters if ct['node'] in c.nodes)
    ct_config = api(owner).nodes(ct['node']).lxc(ct['vmid']).config.get()
    assert ct_config['hostname'] == ct['name'] and 'bridge=vmbr0' in ct_config['net0']


def test_vars_file_matches_lab_vars(lab):
    path = lab.write()
    with open(os.path.join(os.path.dirname(path), 'lab_vars.yml'), encoding='utf-8') as handle:
        written = yaml.safe_load(handle)
    assert written == lab.vars
    first = written['lab_clusters'][0]
    for key in ('name', 'api_host', 'api_port', 'url', 'nodes', 'version', 'user', 'password', 'token_id',
                'token_secret', 'ca_path', 'fingerprint'):
        assert first[key] not in (None, '', [])
    assert written['lab_cluster']['lab2']['version'] == '8.4.14'
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'


@pytest.mark.lab(clusters=3, nodes=1, guests=0, versions=['8.4.14', '9.0.10', '8.4.14'])
def test_marker_shapes_a_fresh_estate(lab_fn, api):
    assert [c.version for c in lab_fn.clusters] == ['8.4.14', '9.0.10', '8.4.14']
    assert [c.nodes for c in lab_fn.clusters] == [['lab1-n1'], ['lab2-n1'], ['lab3-n1']]
    assert api(lab_fn.clusters[2]).cluster.resources.get(type='vm') == []
