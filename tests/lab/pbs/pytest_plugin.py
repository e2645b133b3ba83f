# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest fixtures for the PBS fake: `pbs` (one server for the session), `pbs_fn` (a fresh one per test).

Load with `-p tests.lab.pbs.pytest_plugin` or register it from a conftest.py. Each is a PbsServer
(tests/lab/pbs/serve.py): host, port, url, user, password, token_id, token_secret, ca_path, fingerprint,
pbs (the FakePbs), vars, call(coroutine). The server runs on a random loopback address, port 8007, with a
certificate of its own lab CA, and holds the datastore `store1`.

    @pytest.mark.pbs(task_delay=0.05, datastores=['a1', 'b1'], version='3.4.2')
    def test_something(pbs_fn): ...
"""

import pytest

OPTIONS = ('task_delay', 'datastores', 'password', 'version')


def pytest_configure(config):
    config.addinivalue_line('markers', 'pbs(task_delay=, datastores=, password=, version=): the server the pbs_fn fixture starts')


def _start(directory, **options):
    try:
        from .serve import PbsServer
        return PbsServer(str(directory), **options)
    except ModuleNotFoundError as exc:
        pytest.fail('the PBS fake needs aiohttp and cryptography ({0})'.format(exc))
    return None


@pytest.fixture(scope='session')
def pbs(tmp_path_factory):
    """The session's PBS: state persists between tests, so use unique names."""
    started = _start(tmp_path_factory.mktemp('pbs'))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def pbs_fn(request, tmp_path_factory):
    """A fresh PBS for one test; the `pbs` marker sets task_delay, datastores, password, version (4.0.14)."""
    options = {}
    marker = request.node.get_closest_marker('pbs')
    if marker:
        unknown = set(marker.kwargs) - set(OPTIONS)
        if unknown or marker.args:
            raise pytest.UsageError('the pbs marker takes {0}'.format(', '.join(OPTIONS)))
        options.update(marker.kwargs)
    started = _start(tmp_path_factory.mktemp('pbs-fn'), **options)
    try:
        yield started
    finally:
        started.stop()
