# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop the lab estate from the command line (run from the repository root).

    python -m tests.lab up --clusters 2 --nodes 3 --guests 20 [--latency 0.02] [--state-dir DIR]
    python -m tests.lab status [--state-dir DIR]
    python -m tests.lab down [--state-dir DIR]

`up` starts the estate in a detached process, waits until every cluster answers and leaves
DIR/lab.json and DIR/lab_vars.yml (DIR is .lab/ in the repository root by default). The server
stops by itself after --ttl seconds; `down` stops it at once.
"""

import argparse
import asyncio
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time

from .estate import REPO_ROOT

REPO = REPO_ROOT
DEFAULT_DIR = os.path.join(REPO, '.lab')
UP_TIMEOUT = 60
DOWN_TIMEOUT = 15
STATE_FILES = ('lab.json', 'lab_vars.yml')


def _read_state(directory):
    try:
        with open(os.path.join(directory, 'lab.json'), encoding='utf-8') as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _is_lab_server(pid):
    """True if pid is a running `python -m tests.lab serve` (not a recycled pid)."""
    try:
        with open('/proc/{0}/cmdline'.format(pid), 'rb') as handle:
            argv = handle.read().split(b'\0')
        with open('/proc/{0}/stat'.format(pid), 'rb') as handle:
            state = handle.read().rsplit(b')', 1)[1].split()[0]
    except OSError:
        return False
    return state != b'Z' and b'tests.lab' in argv and b'serve' in argv


def _answers(cluster, ca_path):
    """True if the cluster answers HTTPS, verified against the lab CA (any HTTP status will do)."""
    ctx = ssl.create_default_context(cafile=ca_path)
    conn = http.client.HTTPSConnection(cluster['api_host'], cluster['api_port'], context=ctx, timeout=5)
    try:
        conn.request('GET', '/api2/json/version')
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


def _log_tail(directory, lines=30):
    try:
        with open(os.path.join(directory, 'lab.log'), encoding='utf-8', errors='replace') as handle:
            return ''.join(handle.readlines()[-lines:])
    except OSError:
        return ''


def _estate_args(args):
    out = ['--clusters', str(args.clusters), '--nodes', str(args.nodes), '--guests', str(args.guests),
           '--latency', str(args.latency), '--time-scale', str(args.time_scale), '--ttl', str(args.ttl),
           '--seed', str(args.seed), '--state-dir', args.state_dir]
    if args.versions:
        out += ['--versions', args.versions]
    if args.hosts:
        out += ['--hosts', args.hosts]
    return out


def cmd_up(args):
    state = _read_state(args.state_dir)
    if state and _is_lab_server(state.get('pid')):
        print('lab: already up (pid {0}) in {1}; run `python -m tests.lab down` first'.format(
            state['pid'], args.state_dir), file=sys.stderr)
        return 1
    os.makedirs(args.state_dir, exist_ok=True)
    for name in STATE_FILES:
        if os.path.exists(os.path.join(args.state_dir, name)):
            os.unlink(os.path.join(args.state_dir, name))
    with open(os.path.join(args.state_dir, 'lab.log'), 'wb') as log:
        child = subprocess.Popen([sys.executable, '-m', 'tests.lab', 'serve'] + _estate_args(args), cwd=REPO,
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    deadline = time.monotonic() + UP_TIMEOUT
    state = None
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print('lab: the server exited with status {0}:\n{1}'.format(child.returncode, _log_tail(args.state_dir)),
                  file=sys.stderr)
            return 1
        state = _read_state(args.state_dir)
        if state and state.get('pid') == child.pid and all(_answers(c, state['ca_path']) for c in state['clusters']):
            break
        state = None
        time.sleep(0.1)
    if state is None:
        child.terminate()
        print('lab: the estate did not answer within {0}s:\n{1}'.format(UP_TIMEOUT, _log_tail(args.state_dir)),
              file=sys.stderr)
        return 1
    # The server lives on alone; do not let this process wait for it.
    child.returncode = 0
    _print_state(state, args.state_dir)
    return 0


def _print_state(state, directory):
    print('lab: up (pid {0}, stops by itself after {1}s)'.format(state['pid'], state['ttl']))
    for cluster in state['clusters']:
        print('  {0:6} {1:28} PVE {2:8} nodes {3}'.format(
            cluster['name'], cluster['url'], cluster['version'], ','.join(cluster['nodes'])))
    pbs = state.get('pbs')
    if pbs:
        stores = ','.join(pbs.get('datastores') or [])
        print('  {0:6} {1:28} PBS {2:8} datastores {3}'.format(pbs['name'], pbs['url'], pbs['version'], stores))
    print('  CA {0}\n  vars {1}'.format(state['ca_path'], os.path.join(directory, 'lab_vars.yml')))


def cmd_status(args):
    state = _read_state(args.state_dir)
    if not state or not _is_lab_server(state.get('pid')):
        print('lab: down')
        return 3
    _print_state(state, args.state_dir)
    return 0


def _remove_state(directory, pid=None):
    state = _read_state(directory)
    if pid is not None and state and state.get('pid') != pid:
        return
    for name in STATE_FILES:
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass


def cmd_down(args):
    state = _read_state(args.state_dir)
    if not state:
        print('lab: nothing is up in {0}'.format(args.state_dir))
        return 0
    pid = state.get('pid')
    if _is_lab_server(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + DOWN_TIMEOUT
        while _is_lab_server(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_lab_server(pid):
            os.kill(pid, signal.SIGKILL)
            while _is_lab_server(pid):
                time.sleep(0.05)
    _remove_state(args.state_dir)
    print('lab: down')
    return 0


def cmd_serve(args):
    """The detached server: start the estate, describe it, serve until the ttl or a signal."""
    from .estate import Estate
    versions = args.versions.split(',') if args.versions else None
    hosts = args.hosts.split(',') if args.hosts else None
    estate = Estate(args.state_dir, clusters=args.clusters, nodes=args.nodes, guests=args.guests,
                    latency=args.latency, time_scale=args.time_scale, versions=versions, hosts=hosts,
                    seed=args.seed)

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await estate.start()
        try:
            estate.write({'pid': os.getpid(), 'ttl': args.ttl, 'started': int(time.time())})
            print('lab: serving {0}'.format(', '.join(c.url for c in estate.clusters)), flush=True)
            try:
                await asyncio.wait_for(stop.wait(), args.ttl)
            except asyncio.TimeoutError:
                print('lab: ttl of {0}s reached'.format(args.ttl), flush=True)
        finally:
            await estate.stop()
            _remove_state(args.state_dir, os.getpid())
    asyncio.run(main())
    return 0


def parser():
    top = argparse.ArgumentParser(prog='python -m tests.lab', description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest='command', required=True)
    for name, helptext in (('up', 'start the estate in the background'), ('serve', argparse.SUPPRESS),
                           ('status', 'show the running estate'), ('down', 'stop the estate')):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument('--state-dir', default=DEFAULT_DIR, help='where lab.json and lab_vars.yml go '
                                                                  '(default: .lab in the repository root)')
        if name in ('up', 'serve'):
            cmd.add_argument('--clusters', type=int, default=2)
            cmd.add_argument('--nodes', type=int, default=3, help='nodes per cluster')
            cmd.add_argument('--guests', type=int, default=20, help='guests in all, spread over clusters and nodes')
            cmd.add_argument('--latency', type=float, default=0.0, help='real seconds added to every response')
            cmd.add_argument('--time-scale', type=float, default=0.0,
                             help='real seconds per PVE second; 0 (default) finishes tasks at once')
            cmd.add_argument('--ttl', type=float, default=3600.0, help='seconds before the server stops by itself')
            cmd.add_argument('--versions', help='PVE version per cluster, comma-separated (default: 9.0.10, '
                                                'with 8.4.14 for the second cluster)')
            cmd.add_argument('--hosts', help='loopback address per cluster, comma-separated (default: random '
                                             '127.0.x.y addresses)')
            cmd.add_argument('--seed', type=int, default=0, help='seed of the guests\' names, MACs and ids')
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    args.state_dir = os.path.abspath(args.state_dir)
    return {'up': cmd_up, 'serve': cmd_serve, 'status': cmd_status, 'down': cmd_down}[args.command](args)


if __name__ == '__main__':
    sys.exit(main())
