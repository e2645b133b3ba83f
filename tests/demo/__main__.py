# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: start the lab, run tests/demo/demo.yml against it through this collection, stop the lab.

    python -m tests.demo [--clusters 2] [--nodes 3] [--guests 12]

The lab runs in the background only for the length of the demo; it is stopped whatever happens.
"""

import argparse
import os
import subprocess
import sys
import tempfile

from tests.lab.playbook import ansible_playbook, collections_path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def lab(*args):
    return subprocess.run([sys.executable, '-m', 'tests.lab'] + list(args), cwd=REPO, check=False,
                          stdin=subprocess.DEVNULL).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.demo', description=__doc__.splitlines()[0])
    parser.add_argument('--clusters', type=int, default=2)
    parser.add_argument('--nodes', type=int, default=3)
    parser.add_argument('--guests', type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='proxfleet-demo-') as state:
        if lab('up', '--clusters', str(args.clusters), '--nodes', str(args.nodes), '--guests', str(args.guests),
               '--state-dir', state, '--ttl', '600') != 0:
            return 1
        try:
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_LOCALHOST_WARNING='0',
                       ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
            command = ansible_playbook() + ['-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
                                            '-e', '@' + os.path.join(state, 'lab_vars.yml'), os.path.join(HERE, 'demo.yml')]
            return subprocess.run(command, cwd=REPO, env=env, check=False, stdin=subprocess.DEVNULL).returncode
        finally:
            lab('down', '--state-dir', state)


if __name__ == '__main__':
    sys.exit(main())
