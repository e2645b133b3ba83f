# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixtures for the lab: `lab` (one estate for the session), `lab_fn` (a fresh one per test).

Load with `-p tests.lab.pytest_plugin` or register it from a conftest.py. The estates run in this
process on an event loop in a daemon thread, on random loopback addresses with port 8006, and are
stopped when the session (or the test) ends. `run_playbook` runs the real ansible-playbook against one.

    @pytest.mark.lab(clusters=1, nodes=2, guests=4, versions=['8.4.14'], time_scale=0.01)
    def test_something(lab_fn): ...
"""

import pytest

from .lab import Lab
from .playbook import PlaybookResult, run_playbook

__all__ = ['Lab', 'PlaybookResult', 'lab', 'lab_fn', 'run_playbook']

SESSION_OPTIONS = {'clusters': 2, 'nodes': 3, 'guests': 20}
OPTIONS = ('clusters', 'nodes', 'guests', 'latency', 'time_scale', 'versions', 'seed', 'password', 'pbs')


def pytest_configure(config):
    config.addinivalue_line('markers', 'lab(clusters=, nodes=, guests=, latency=, time_scale=, versions=, seed=, '
                                       'password=, pbs=): the estate the lab_fn fixture starts')


def _options(request):
    options = dict(SESSION_OPTIONS)
    marker = request.node.get_closest_marker('lab')
    if marker:
        unknown = set(marker.kwargs) - set(OPTIONS)
        if unknown or marker.args:
            raise pytest.UsageError('the lab marker takes {0}, not {1}'.format(
                ', '.join(OPTIONS), sorted(unknown) or 'positional arguments'))
        options.update(marker.kwargs)
    return options


def _start(directory, options):
    try:
        return Lab(str(directory), **options)
    except ModuleNotFoundError as exc:
        pytest.fail('the lab needs fakepve and cryptography: pip install fakepve==0.5.0 cryptography ({0})'.format(exc))
    return None


@pytest.fixture(scope='session')
def lab(tmp_path_factory):
    """The session's estate: 2 clusters (PVE 9.0.10 and 8.4.14) of 3 nodes, 20 guests. State persists."""
    started = _start(tmp_path_factory.mktemp('lab'), dict(SESSION_OPTIONS))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def lab_fn(request, tmp_path_factory):
    """A fresh estate for one test; the `lab` marker chooses its size and versions."""
    started = _start(tmp_path_factory.mktemp('lab-fn'), _options(request))
    try:
        yield started
    finally:
        started.stop()
