# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m tests.lab up / status / down: a detached server that leaves no process behind."""

import json
import os
import subprocess
import sys

import yaml

from tests.lab.__main__ import REPO, _is_lab_server


def lab_cli(*args, check=True):
    return subprocess.run([sys.executable, '-m', 'tests.lab'] + list(args), cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=check)


def test_up_status_down(tmp_path):
    state_dir = str(tmp_path / 'state')
    up = lab_cli('up', '--clusters', '2', '--nodes', '2', '--guests', '5', '--ttl', '300', '--state-dir', state_dir)
    assert 'lab: up' in up.stdout
    with open(os.path.join(state_dir, 'lab.json'), encoding='utf-8') as handle:
        state = json.load(handle)
    pid = state['pid']
    try:
        assert _is_lab_server(pid)
        with open(os.path.join(state_dir, 'lab_vars.yml'), encoding='utf-8') as handle:
            variables = yaml.safe_load(handle)
        assert variables == state['vars']
        assert [c['version'] for c in variables['lab_clusters']] == ['9.0.10', '8.4.14']
        for cluster in variables['lab_clusters']:
            assert cluster['api_port'] == 8006 and cluster['ca_path'] == variables['lab_ca_path']
            answer = subprocess.run(['curl', '-sS', '--fail', '--cacert', cluster['ca_path'], '-H',
                                     'Authorization: PVEAPIToken={0}={1}'.format(cluster['token_id'],
                                                                                 cluster['token_secret']),
                                     cluster['url'] + '/api2/json/cluster/resources?type=vm'],
                                    capture_output=True, text=True, timeout=30, check=True)
            assert json.loads(answer.stdout)['data']
        # A second `up` on the same directory refuses.
        again = lab_cli('up', '--state-dir', state_dir, check=False)
        assert again.returncode == 1 and 'already up' in again.stderr
        assert 'lab1' in lab_cli('status', '--state-dir', state_dir).stdout
    finally:
        down = lab_cli('down', '--state-dir', state_dir)
    assert 'lab: down' in down.stdout
    assert not _is_lab_server(pid)
    assert not os.path.exists('/proc/{0}'.format(pid)) or not _is_lab_server(pid)
    assert not os.path.exists(os.path.join(state_dir, 'lab.json'))
    assert lab_cli('status', '--state-dir', state_dir, check=False).returncode == 3
    assert 'nothing is up' in lab_cli('down', '--state-dir', state_dir).stdout


def test_the_server_stops_by_itself(tmp_path, until):
    state_dir = str(tmp_path / 'state')
    lab_cli('up', '--clusters', '1', '--nodes', '1', '--guests', '1', '--ttl', '3', '--state-dir', state_dir)
    with open(os.path.join(state_dir, 'lab.json'), encoding='utf-8') as handle:
        pid = json.load(handle)['pid']
    try:
        until(lambda: not _is_lab_server(pid), 'the server to reach its ttl', attempts=3000)
    finally:
        lab_cli('down', '--state-dir', state_dir)
    assert not os.path.exists(os.path.join(state_dir, 'lab.json'))
