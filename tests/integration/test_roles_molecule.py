# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' molecule scenarios (roles/<role>/molecule/default, delegated driver) against a fresh lab each.

For every entry of SCENARIOS the test starts a lab (`lab_fn`, sized by the entry's `lab` marker options), lets the
entry's `setup` add what the scenario needs (standalone nodes, guests ...), writes the lab's variables (lab.vars:
lab_clusters, lab_cluster, lab_ca_path, lab_pbs) plus the setup's own into a private file, and runs
`molecule converge`, `molecule idempotence` and `molecule verify` in the role's directory with PROXFLEET_LAB_VARS
pointing at that file. Molecule's ephemeral directory and Ansible's home live in the test's tmp_path, not in the
repository. A new role's scenario is one more Scenario(...) line.
"""

import contextlib
import json
import os
import re
import subprocess
import sys

import pytest

from tests.lab.estate import REPO_ROOT
from tests.lab.playbook import collections_path

MOLECULE_TIMEOUT = 900


class Scenario(object):
    """A role's molecule scenario: the role, the lab it needs (lab marker options), and an optional setup.

    setup(lab) is a context manager factory: it prepares the lab, yields a dict of extra variables for the
    scenario, and cleans up afterwards.
    """

    def __init__(self, role, lab, setup=None, scenario='default'):
        self.role = role
        self.lab = lab
        self.setup = setup
        self.scenario = scenario

    def param(self):
        return pytest.param(self, marks=pytest.mark.lab(**self.lab), id=self.role)


@contextlib.contextmanager
def no_setup(lab):
    yield {}


@contextlib.contextmanager
def standalone_nodes(lab):
    """Three standalone PVE 9 nodes for cluster_join (lab_standalone), the first with a VM (for HA)."""
    from tests.lab.areas.cluster_join import start_standalone_nodes, stop_standalone_nodes
    nodes = start_standalone_nodes(lab, 3)
    try:
        first = nodes[0].pve
        first.add_vm(100, 'ha-01', node=nodes[0].name, status='stopped',
                     config={'name': 'ha-01', 'memory': '1024', 'cores': 1, 'ostype': 'l26'})
        yield {'lab_standalone': [node.vars for node in nodes]}
    finally:
        stop_standalone_nodes(lab, nodes)


SCENARIOS = [
    Scenario('backup', lab={'clusters': 2, 'nodes': 2, 'guests': 8}),
    Scenario('cluster_join', lab={'clusters': 1, 'nodes': 1, 'guests': 0}, setup=standalone_nodes),
    Scenario('dr', lab={'clusters': 2, 'nodes': 2, 'guests': 8}),
]


def molecule_env(work, vars_file):
    """The environment molecule runs in: this venv's tools first, the collection on the collections path,
    molecule's and Ansible's state under `work`."""
    env = dict(os.environ)
    env.pop('VIRTUAL_ENV', None)
    env.update({
        'PATH': os.pathsep.join([os.path.dirname(sys.executable), env.get('PATH', os.defpath)]),
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_HOME': os.path.join(work, 'ansible-home'),
        'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-tmp'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'MOLECULE_EPHEMERAL_DIRECTORY': os.path.join(work, 'molecule'),
        'NO_COLOR': '1',
        'PROXFLEET_LAB_VARS': vars_file,
    })
    return env


def write_vars(path, variables):
    """The scenario's variables as a private JSON file (secrets of loopback servers only)."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w', encoding='utf-8') as out:
        json.dump(variables, out, indent=1)


def molecule(command, scenario, env):
    """Run `molecule <command> -s <scenario>` in the role's directory; returns the CompletedProcess."""
    role_dir = os.path.join(REPO_ROOT, 'roles', scenario.role)
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), 'molecule'), command, '-s', scenario.scenario],
                          cwd=role_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=MOLECULE_TIMEOUT, check=False)


@pytest.mark.parametrize('scenario', [s.param() for s in SCENARIOS])
def test_role_scenario(scenario, lab_fn, tmp_path):
    work = str(tmp_path)
    with (scenario.setup or no_setup)(lab_fn) as extra:
        variables = dict(lab_fn.vars)
        variables.update(extra)
        vars_file = os.path.join(work, 'lab_vars.json')
        write_vars(vars_file, variables)
        env = molecule_env(work, vars_file)
        for command in ('converge', 'idempotence', 'verify'):
            run = molecule(command, scenario, env)
            assert run.returncode == 0, 'molecule {0} of {1} failed (rc={2})\n--- stdout\n{3}\n--- stderr\n{4}'.format(
                command, scenario.role, run.returncode, run.stdout[-20000:], run.stderr[-20000:])
            if command == 'converge':
                # A fresh lab: the first converge must have changed something, or the scenario tests nothing.
                assert re.search(r'changed=[1-9]', run.stdout), run.stdout[-20000:]
