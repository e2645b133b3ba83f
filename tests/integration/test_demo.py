# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo end to end: `python -m tests.demo` as the Makefile runs it, on a small lab (2 nodes per cluster).

The demo starts its own lab, so the test checks what the demo shows and writes: each step's banner and result, the
DR drill's JSON report (every demo guest of lab1 restored onto lab2 from its backup, running, checked, removed),
and the inventory graph through the plugin (the guests site.yml made, on both clusters).
"""

import json
import os
import re
import subprocess
import sys

from tests.lab.estate import REPO_ROOT

DEMO_TIMEOUT = 900
DEMO_GUESTS = {500: 'demo-web1', 501: 'demo-db1', 502: 'demo-proxy1'}


def run_demo(work, *args):
    env = dict(os.environ)
    env.pop('VIRTUAL_ENV', None)
    env['PATH'] = os.pathsep.join([os.path.dirname(sys.executable), env.get('PATH', os.defpath)])
    env['ANSIBLE_NOCOLOR'] = '1'
    return subprocess.run([sys.executable, '-m', 'tests.demo', '--keep-dir', str(work)] + list(args), cwd=REPO_ROOT,
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEMO_TIMEOUT,
                          check=False)


def test_demo_end_to_end(tmp_path):
    work = tmp_path / 'demo'
    run = run_demo(work, '--nodes', '2', '--guests', '6')
    out = run.stdout
    assert run.returncode == 0, 'the demo failed (rc={0})\n--- stdout\n{1}\n--- stderr\n{2}'.format(
        run.returncode, out[-30000:], run.stderr[-10000:])

    # Every step ran and passed, in order.
    done = re.findall(r'^== (site\.yml|dr_drill\.yml|ansible-inventory --graph)[^\n]*: done in \d+ s$', out, re.M)
    assert done == ['site.yml', 'dr_drill.yml', 'ansible-inventory --graph'], out[-30000:]
    # site.yml changed the estate (a fresh lab): guests, firewall, HA, backups; and the backup was taken.
    site = out.split('== dr_drill.yml')[0]
    assert re.search(r'localhost\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0', site), site[-20000:]
    assert 'All 3 guests have a backup within the RPO.' in site

    # The drill: the three demo guests of lab1, restored from PBS onto lab2 as vmid + 1000, on the isolated network,
    # running, the VMs' agents answering, RPO and RTO measured, then removed with the network.
    report = json.loads((work / 'dr-drill-report.json').read_text())
    assert report['mode'] == 'drill' and report['cluster'] == 'lab2' and report['failed'] == 0
    guests = dict((g['source_vmid'], g) for g in report['guests'])
    assert sorted(guests) == sorted(DEMO_GUESTS)
    for vmid, guest in guests.items():
        assert guest['name'] == DEMO_GUESTS[vmid]
        assert guest['target_vmid'] == vmid + 1000
        assert guest['restored'] and guest['removed'] and guest['status'] == 'running'
        assert guest['archive'].startswith('pbs-demo:backup/{0}/{1}/'.format('ct' if vmid == 502 else 'vm', vmid))
        assert guest['bridges'] == ['drillnet']
        assert guest['rpo_seconds'] >= 0 and guest['rto_seconds'] > 0
        assert guest['agent'] is (None if guest['type'] == 'lxc' else True)
    assert guests[502]['type'] == 'lxc'
    assert sorted(report['removed']) == [1500, 1501, 1502]
    assert sorted(report['network_created']) == ['vnet', 'zone']

    # The graph: both clusters through the plugin, with the guests site.yml made on each.
    graph = out.split('== ansible-inventory --graph')[1]
    lab1 = re.search(r'@proxmox_cluster_lab1:\n((?:  \|  \|--.*\n)+)', graph)
    lab2 = re.search(r'@proxmox_cluster_lab2:\n((?:  \|  \|--.*\n)+)', graph)
    assert lab1 and lab2, graph
    assert set(DEMO_GUESTS.values()) <= set(re.findall(r'\|--(\S+)', lab1.group(1)))
    on_lab2 = re.findall(r'\|--(\S+)', lab2.group(1))
    assert 'demo-mon1' in on_lab2
    # The drill's copies (named as the originals) are gone from lab2 when the inventory is read after it.
    assert not [name for name in on_lab2 if any(name.startswith(guest) for guest in DEMO_GUESTS.values())], on_lab2
