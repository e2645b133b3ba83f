# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection Galaxy gets holds what users run and nothing that needs this repository's test lab or tooling.

Builds the collection with ansible-galaxy (galaxy.yml's build_ignore decides) into a temporary directory and checks
the tarball's file list against the checkout's files.
"""

import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What a user of the collection runs or reads, and what meta/execution-environment.yml names.
SHIPPED_DIRS = ('plugins', 'roles', 'playbooks', 'docs', 'meta', 'changelogs', 'extensions')
SHIPPED_FILES = ('README.md', 'COPYING', 'requirements.txt', 'bindep.txt', 'MANIFEST.json', 'FILES.json')


@pytest.fixture(scope='module')
def artifact(tmp_path_factory):
    """The names in the built tarball."""
    out = tmp_path_factory.mktemp('galaxy')
    run = subprocess.run([sys.executable, '-m', 'ansible.cli.galaxy', 'collection', 'build', '--output-path',
                          str(out), ROOT], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    tarballs = list(out.glob('*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        return {member.name.rstrip('/') for member in tar.getmembers()}


def checkout_files():
    """The files git tracks or would track (tracked, plus untracked ones .gitignore does not exclude)."""
    listing = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    return {name for name in listing.split('\0') if name and os.path.isfile(os.path.join(ROOT, name))}


def test_only_what_users_run_is_shipped(artifact):
    top = {name.split('/', 1)[0] for name in artifact}
    assert top <= set(SHIPPED_DIRS) | set(SHIPPED_FILES), sorted(top - set(SHIPPED_DIRS) - set(SHIPPED_FILES))


@pytest.mark.parametrize('unwanted', ['tests', 'conftest.py', 'Makefile', 'CONTRIBUTING.md', 'benchmarks', 'pyproject.toml',
                                      'requirements-dev.txt', '.ci', '.yamllint', '.ansible-lint', '.gitignore'])
def test_repository_tooling_is_left_out(artifact, unwanted):
    assert not [name for name in artifact if name == unwanted or name.startswith(unwanted + '/')]


def test_no_test_scenarios_or_bytecode(artifact):
    # The roles' molecule scenarios run against the lab's variables (tests/integration/test_roles_molecule.py).
    assert not [name for name in artifact if '/molecule' in '/' + name or name.endswith('.pyc')
                or '__pycache__' in name]


def test_every_user_facing_file_is_shipped(artifact):
    expected = {name for name in checkout_files()
                if name.split('/', 1)[0] in SHIPPED_DIRS and '/molecule/' not in name}
    expected |= {name for name in SHIPPED_FILES if os.path.isfile(os.path.join(ROOT, name))}
    assert any(name.startswith('plugins/modules/') for name in expected)
    assert sorted(expected - artifact) == []
