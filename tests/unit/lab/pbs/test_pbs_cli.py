# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m tests.lab.pbs serves one fake PBS in the foreground, describes it, and stops on a signal."""

import json
import os
import signal
import subprocess
import sys
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_cli_serves_and_stops(tmp_path):
    state = str(tmp_path / 'state')
    child = subprocess.Popen([sys.executable, '-m', 'tests.lab.pbs', '--state-dir', state, '--ttl', '120'], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    vars_path = os.path.join(state, 'pbs_vars.yml')
    try:
        for _attempt in range(3000):
            if os.path.exists(vars_path) or child.poll() is not None:
                break
            time.sleep(0.01)
        with open(vars_path, encoding='utf-8') as handle:
            pbs = json.load(handle)['lab_pbs']
        answer = requests.get(pbs['url'] + '/api2/json/version', verify=pbs['ca_path'], timeout=30, headers={
            'Authorization': 'PBSAPIToken={0}:{1}'.format(pbs['token_id'], pbs['token_secret'])})
        assert answer.json()['data']['version'] == '4.0'
        assert pbs['api_port'] == 8007 and pbs['datastores'] == ['store1']
    finally:
        child.send_signal(signal.SIGTERM)
        output = child.communicate(timeout=60)[0].decode()
    assert child.returncode == 0, output
    assert not os.path.exists(vars_path)
