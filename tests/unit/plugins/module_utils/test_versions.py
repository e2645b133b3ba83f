# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""plugins/module_utils/versions.py: the version gate, and the client and engine calling it before a write."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils import versions
from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


class Settings(object):
    url = 'https://pve.example:8006'

    def __init__(self, service='PVE'):
        self.service = service


class FakeClient(object):
    """What the gate asks of a client: settings and version(); counts the version reads."""

    def __init__(self, version, service='PVE'):
        self.settings = Settings(service)
        self._version = {'version': version, 'release': '.'.join(version.split('.')[:2])}
        self.reads = 0

    def version(self):
        self.reads += 1
        return self._version


@pytest.mark.parametrize('text, release', [('8.4.14', (8, 4, 14)), ('9.0.10', (9, 0, 10)), ('9.1', (9, 1)), ('', ())])
def test_release_of(text, release):
    assert versions.release_of({'version': text}) == release


@pytest.mark.parametrize('method, path, params, message', [
    ('PUT', '/nodes/pve1/qemu/100/config', {'allow-ksm': 0, 'cores': 2},
     'allow-ksm exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'),
    ('POST', '/storage', {'storage': 's', 'type': 'lvm', 'snapshot-as-volume-chain': 1},
     'snapshot-as-volume-chain exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'),
    ('PUT', '/cluster/ha/resources/vm:100', {'failback': 0},
     'failback exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'),
    ('PUT', '/nodes/pve1/lxc/101/config', {'net0': 'name=eth0,bridge=vmbr0,host-managed=1'},
     'net0 key host-managed exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'),
    ('POST', '/cluster/ha/rules', {'rule': 'r', 'type': 'node-affinity'},
     '/cluster/ha/rules exists from Proxmox VE 9.0 on; this cluster runs Proxmox VE 8.4.14'),
])
def test_pve9_keys_fail_on_84_naming_key_versions_and_nothing_is_sent(method, path, params, message):
    client = FakeClient('8.4.14')
    with pytest.raises(ProxmoxConfigError) as caught:
        versions.check(client, method, path, params)
    assert caught.value.message == message
    assert caught.value.url == client.settings.url and caught.value.path == path
    # The same request is fine on PVE 9.
    versions.check(FakeClient('9.0.10'), method, path, params)


def test_84_only_keys_fail_on_9_and_pass_on_84():
    params = {'schedule': 'daily', 'notification-policy': 'failure'}
    versions.check(FakeClient('8.4.14'), 'POST', '/cluster/backup', params)
    with pytest.raises(ProxmoxConfigError) as caught:
        versions.check(FakeClient('9.0.10'), 'PUT', '/cluster/backup/job1', params)
    assert caught.value.message == ('notification-policy exists only before Proxmox VE 9.0 (it removed it); this '
                                    'cluster runs Proxmox VE 9.0.10')


def test_several_keys_are_named_together():
    with pytest.raises(ProxmoxConfigError) as caught:
        versions.check(FakeClient('8.4.14'), 'POST', '/nodes/pve1/lxc', {'vmid': 101, 'entrypoint': '/x', 'env': 'A=1'})
    assert 'entrypoint exists from' in caught.value.message and 'env exists from' in caught.value.message


def test_the_version_is_read_only_for_gated_keys_and_never_for_pbs():
    client = FakeClient('8.4.14')
    versions.check(client, 'PUT', '/nodes/pve1/qemu/100/config', {'cores': 2, 'agent': 'enabled=1'})
    versions.check(client, 'GET', '/cluster/ha/resources', {'failback': 1})
    assert client.reads == 0
    pbs = FakeClient('4.0', service='PBS')
    versions.check(pbs, 'PUT', '/storage/x', {'maxfiles': 3})
    assert pbs.reads == 0


def test_subkeys_are_found_in_strings_and_dicts():
    client = FakeClient('8.4.14')
    versions.check(client, 'PUT', '/nodes/pve1/qemu/100/config', {'agent': 'enabled=1,freeze-fs-on-backup=0'})
    versions.check(client, 'PUT', '/nodes/pve1/lxc/101/config', {'mp0': 'local-lvm:1,mp=/srv'})
    with pytest.raises(ProxmoxConfigError):
        versions.check(client, 'PUT', '/nodes/pve1/lxc/101/config', {'mp0': 'local-lvm:1,mp=/srv,keepattrs=1'})
    with pytest.raises(ProxmoxConfigError):
        versions.check(client, 'PUT', '/nodes/pve1/qemu/100/config', {'agent': {'enabled': 1, 'freeze-fs': 1}})


def test_supports_and_has_path():
    old, new = FakeClient('8.4.14'), FakeClient('9.0.10')
    assert not versions.supports(old, '/cluster/sdn', 'lock-token') and versions.supports(new, '/cluster/sdn', 'lock-token')
    assert versions.supports(old, '/cluster/sdn', 'something-else')
    assert not versions.has_path(old, '/cluster/ha/rules') and versions.has_path(new, '/cluster/ha/rules')
    assert versions.has_path(old, '/cluster/sdn/vnets/v1/firewall/rules')
    assert not versions.has_path(FakeClient('8.2.4'), '/cluster/sdn/vnets/v1/firewall/rules')
    assert versions.has_path(old, '/cluster/ha/groups')


def test_the_table_is_small_and_names_real_paths():
    """Hand-checked: every gated path is an API template, every key appears once per path."""
    assert len(versions.GATED) < 40
    seen = set()
    for paths, key, sub, _since, _until in versions.GATED:
        for path in paths:
            assert path.startswith('/') and (path, key, sub) not in seen
            seen.add((path, key, sub))


def test_the_client_refuses_before_sending(monkeypatch):
    from ansible_collections.proxfleet.proxmox.plugins.module_utils.client import ProxmoxClient
    sent = []
    client = ProxmoxClient.__new__(ProxmoxClient)
    client.settings = Settings()
    client._version = {'version': '8.4.14'}
    monkeypatch.setattr(client, '_send', lambda *args, **kwargs: sent.append(args), raising=False)
    with pytest.raises(ProxmoxConfigError):
        client.request('POST', '/cluster/ha/resources', {'sid': 'vm:100', 'failback': 0})
    assert sent == []


def test_the_patterns_are_compiled_on_the_first_check_not_at_import():
    """Every module imports the gate (through the engine); one that only reads must not pay for compiling its
    patterns. A fresh interpreter: importing compiles none, the first gated() compiles them all, once."""
    import os
    import subprocess
    import sys

    code = (
        'import re, sys\n'
        'from ansible_collections.proxfleet.proxmox.plugins.module_utils import versions\n'
        'compiled = []\n'
        'real = re.compile\n'
        're.compile = lambda *a, **k: compiled.append(a[0]) or real(*a, **k)\n'
        'before = (len(compiled), len(versions._COMPILED))\n'
        'found = versions.gated("/nodes/pve1/qemu/100/config", {"allow-ksm": 1})\n'
        'first = len(compiled)\n'
        'versions.gated("/nodes/pve1/qemu/100/config", {"cores": 2})\n'
        'print(before, first > 0, len(compiled) == first, [name for name, _s, _u in found])\n'
    )
    env = dict(os.environ)
    # The directory that holds ansible_collections/ (conftest puts it on sys.path), for the child too.
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if os.path.isdir(os.path.join(p, 'ansible_collections')))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=False,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(0, 0) True True ['allow-ksm']"
