# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration tests: real ansible-playbook runs of this collection against the lab (tests/lab)."""

import os
import socket

import pytest

TARGETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'targets')


def pytest_configure(config):
    from tests.lab import pytest_plugin
    if not config.pluginmanager.has_plugin('tests.lab.pytest_plugin'):
        config.pluginmanager.register(pytest_plugin, 'tests.lab.pytest_plugin')
        pytest_plugin.pytest_configure(config)


def target(name, playbook='playbook.yml'):
    """Path of a playbook of an integration target."""
    return os.path.join(TARGETS, name, playbook)


def pve_vars(cluster):
    """One lab cluster as the target playbooks take it (`pve`)."""
    return {'host': cluster.host, 'port': cluster.port, 'user': cluster.user, 'password': cluster.password,
            'token_id': cluster.token_id, 'token_secret': cluster.token_secret, 'ca_path': cluster.ca_path,
            'fingerprint': cluster.fingerprint, 'name': cluster.name, 'nodes': cluster.nodes,
            'version': cluster.version}


@pytest.fixture
def unused_port():
    """A loopback TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
