# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serve one fake PBS in the foreground (run from the repository root) until Ctrl-C, a signal or the ttl:

    python -m tests.lab.pbs [--state-dir .lab-pbs] [--host 127.0.0.9] [--ttl 600] [--task-delay 0]

It writes DIR/ca.pem and DIR/pbs_vars.yml (lab_pbs: api_host, api_port, url, user, password, token_id,
token_secret, ca_path, fingerprint, datastores) and removes the vars file when it stops.
"""

import argparse
import asyncio
import json
import os
import signal

from ..estate import REPO_ROOT
from ..pki import LabCa
from .serve import PbsInstance


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.lab.pbs', description='serve a fake PBS')
    parser.add_argument('--state-dir', default=os.path.join(REPO_ROOT, '.lab-pbs'))
    parser.add_argument('--host', help='loopback address (default: a random 127.0.x.y)')
    parser.add_argument('--ttl', type=float, default=3600.0, help='seconds before the server stops by itself')
    parser.add_argument('--task-delay', type=float, default=0.0, help='real seconds each task runs')
    parser.add_argument('--datastores', default='store1', help='comma-separated datastores to start with')
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    instance = PbsInstance(LabCa(args.state_dir), hosts=[args.host] if args.host else None,
                           task_delay=args.task_delay, datastores=[d for d in args.datastores.split(',') if d])
    vars_path = os.path.join(args.state_dir, 'pbs_vars.yml')

    async def serve():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        await instance.start()
        try:
            fd = os.open(vars_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as out:
                # JSON is YAML: no yaml dependency needed here.
                out.write(json.dumps({'lab_pbs': instance.vars}, indent=2, sort_keys=True) + '\n')
            print('pbs: serving {0} (PBS {1}), vars {2}'.format(instance.url, instance.pbs.version, vars_path),
                  flush=True)
            try:
                await asyncio.wait_for(stop.wait(), args.ttl)
            except asyncio.TimeoutError:
                print('pbs: ttl of {0}s reached'.format(args.ttl), flush=True)
        finally:
            await instance.stop()
            if os.path.exists(vars_path):
                os.unlink(vars_path)
    asyncio.run(serve())
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
