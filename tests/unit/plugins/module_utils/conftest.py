# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures for the module_utils unit tests (the helpers themselves live in api_server.py).

Nothing from ansible_collections is imported at the top of this file: when pytest is given a file of this directory,
this conftest loads before pytest-ansible installs Ansible's collection finder, and a collection package imported
that early would then lack its metadata for every later import.
"""

from __future__ import annotations

import importlib

import pytest

# fakepve's fixtures (a real PVE API fake): its pytest plugin may be auto-loaded through its entry point, in which
# case a pytest_plugins declaration would be refused; importing the fixtures here works either way.
from fakepve.pytest_plugin import _fakepve_pki, fakepve, fakepve_cafile  # noqa: F401 pylint: disable=unused-import


def _helpers():
    return importlib.import_module('ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server')


@pytest.fixture(scope='session')
def pki(tmp_path_factory):
    """A CA and a server certificate for 127.0.0.1 (made once per run)."""
    return _helpers().Pki(str(tmp_path_factory.mktemp('pki')))


@pytest.fixture
def server(pki):
    """A scripted HTTPS API on 127.0.0.1 for one test."""
    api = _helpers().ApiServer(pki)
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def free_port():
    """A loopback port nothing listens on (connections to it are refused)."""
    return _helpers().free_port()


@pytest.fixture
def clock():
    """A FakeClock: pass clock=clock, sleep=clock.sleep."""
    return _helpers().FakeClock()
