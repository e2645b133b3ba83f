# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a no-change pve_vm run loads, as ansible-core runs it: from the zip of sources its own finder bundles.

ansible-core sends a module with its module_utils in a zip (AnsiballZ), and Python compiles each of them from
source at every run (zipimport keeps no bytecode, and compiles a module twice: once for its spec, once to run it;
pve_vm installs _zipimport's finder so that each module_util after it is compiled once).
So what a run imports is what it pays for at start-up. A pve_vm task that finds nothing to change (cores and memory
given, `state: present`) reads through guest_state, compares through qemu and writes nothing: it must not load the
writing side (guest_lifecycle, vmid_alloc), drives and NICs (qemu_devices), the log redactor (redact), the estate
reader (estate) or PyYAML. Each of these is still bundled, and loads when a run needs it.

No timing here (benchmarks/vm_bench.py --speed measures): the tests look at what the interpreter loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PACKAGE = 'ansible_collections.proxfleet.proxmox'
FQN = PACKAGE + '.plugins.modules.pve_vm'
MODULE_UTILS = 'ansible_collections/proxfleet/proxmox/plugins/module_utils/'
# What a no-change run of pve_vm (no disk, NIC, estate) has no use for: the writing side (vm_write,
# guest_lifecycle, vmid_alloc), the version gate (versions: writes only), drives and NICs, the log redactor, the
# estate reader.
NOT_LOADED = ('vm_write', 'guest_lifecycle', 'vmid_alloc', 'versions', 'qemu_devices', 'redact', 'estate')

# Runs in a fresh interpreter, as AnsiballZ runs a module: the zip first on sys.path, then main() with the
# arguments a task gives, its exit JSON on stdout; then the names of what it loaded (after the arguments, what
# every Proxmox module imports anyway: requests, proxmoxer, AnsibleModule).
CHILD = r'''
import builtins, io, json, sys
zip_path, fqn, args_path, extra = sys.argv[1:5]
sys.path.insert(0, zip_path)
import requests, proxmoxer.backends.https  # noqa
import ansible.module_utils.basic as basic
before = set(sys.modules)
meta_path_before = list(sys.meta_path)
counts = {}
real_compile = builtins.compile

def counting(source, filename, *args, **kwargs):
    name = str(filename)
    if '.zip/' in name:
        name = name.split('.zip/', 1)[1]
        counts[name] = counts.get(name, 0) + 1
    return real_compile(source, filename, *args, **kwargs)

builtins.compile = counting
with open(args_path) as handle:
    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': json.load(handle)}).encode()
basic._ANSIBLE_PROFILE = 'legacy'
import importlib
module = importlib.import_module(fqn)
out, sys.stdout = sys.stdout, io.StringIO()
try:
    module.main()
except SystemExit:
    pass
answer, sys.stdout = sys.stdout.getvalue(), out
loaded = sorted(set(sys.modules) - before)
found = {'answer': answer, 'loaded': loaded, 'counts': counts,
         'added': [getattr(f, '__name__', repr(f)) for f in sys.meta_path if f not in meta_path_before],
         'kept': [f for f in sys.meta_path if f in meta_path_before] == meta_path_before}
if extra == 'disk':
    qemu = sys.modules[fqn.replace('.modules.pve_vm', '.module_utils.qemu')]
    found['disk_value'] = qemu.plan_disk({'slot': 'scsi0', 'state': 'present', 'destroy': False, 'cloudinit': False,
                                          'storage': 'local-lvm', 'size': '8G'}, None).value
    found['loaded_after_disk'] = sorted(set(sys.modules) - before)
print(json.dumps(found))
'''


# Builds the zip in a fresh interpreter (ansible-core's plugin loader set up there, not in the test session): the
# module's own import finder picks the module_utils, imports inside functions included.
BUILD = r'''
import datetime, sys, warnings, zipfile
module_path, fqn, path = sys.argv[1:4]
from ansible.executor.module_common import recursive_finder
from ansible.plugins.loader import init_plugin_loader
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    init_plugin_loader()
with open(module_path, 'rb') as handle:
    data = handle.read()
now = datetime.datetime.now(datetime.timezone.utc)
with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
    try:  # ansible-core 2.19
        from ansible._internal._ansiballz import _builder
    except ImportError:  # ansible-core 2.17, 2.18: the entries' date as a tuple
        recursive_finder('pve_vm', fqn, data, archive, now.timetuple()[:6])
    else:
        recursive_finder('pve_vm', fqn, data, archive, now, _builder.ExtensionManager.create(task_vars={}))
    names = archive.namelist()
    archive.writestr(fqn.replace('.', '/') + '.py', data)
    init = 'ansible_collections/proxfleet/proxmox/plugins/modules/__init__.py'
    if init not in names:
        archive.writestr(init, b'')
'''


def _module_path():
    return os.path.join(ROOT, 'plugins', 'modules', 'pve_vm.py')


def _bundled_zip(path):
    """The zip ansible-core sends with pve_vm (built in a fresh interpreter); its names."""
    env = dict(os.environ)
    # The collection as ansible-core finds it: through the collections path that links to this checkout.
    collections = os.path.join(ROOT, '.cache', 'collections')
    link = os.path.join(collections, 'ansible_collections', 'proxfleet', 'proxmox')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    env['ANSIBLE_COLLECTIONS_PATH'] = collections
    proc = subprocess.run([sys.executable, '-c', BUILD, _module_path(), FQN, path], capture_output=True, text=True,
                          env=env, cwd=os.path.dirname(path), check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def _run(tmp_path, args, extra=''):
    path = str(tmp_path / 'payload.zip')
    _bundled_zip(path)
    args_path = tmp_path / 'args.json'
    args_path.write_text(json.dumps(args))
    env = dict(os.environ)
    # Only the zip provides the collection, as on a managed host.
    env.pop('PYTHONPATH', None)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    proc = subprocess.run([sys.executable, '-c', CHILD, path, FQN, str(args_path), extra], capture_output=True,
                          text=True, env=env, cwd=str(tmp_path), check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    found['result'] = json.loads(found['answer'].strip().splitlines()[-1])
    return found


def _ours(names):
    prefix = PACKAGE + '.plugins.module_utils.'
    return sorted(name[len(prefix):] for name in names if name.startswith(prefix))


@pytest.fixture
def vm_server(server):
    """The API of a cluster with VM 100 (2 cores, 2048 MiB, stopped) on node n1."""
    from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import reply

    server.on('GET', '/cluster/resources', reply(data=[
        {'type': 'qemu', 'id': 'qemu/100', 'vmid': 100, 'node': 'n1', 'name': 'web', 'status': 'stopped',
         'template': 0}]))
    server.on('GET', '/nodes/n1/qemu/100/pending', reply(data=[
        {'key': 'cores', 'value': 2}, {'key': 'memory', 'value': '2048'}, {'key': 'name', 'value': 'web'},
        {'key': 'digest', 'value': '0' * 40}]))
    return server


def _args(server, **more):
    args = {'api_host': '127.0.0.1', 'api_port': server.port, 'api_token_id': 'root@pam!bench',
            'api_token_secret': '00000000-0000-0000-0000-000000000000', 'ca_path': server.pki.ca_file,
            'vmid': 100, 'node': 'n1', 'cores': 2, 'memory': 2048, 'state': 'present'}
    args.update(more)
    return args


def test_the_finder_bundles_what_pve_vm_imports_on_first_use(tmp_path):
    names = _bundled_zip(str(tmp_path / 'payload.zip'))
    for name in ('_zipimport', 'vm', 'vm_write', 'guest_state', 'guest_lifecycle', 'vmid_alloc', 'versions', 'qemu',
                 'qemu_devices', 'estate', 'client', 'module'):
        assert MODULE_UTILS + name + '.py' in names


def test_a_no_change_run_loads_neither_the_writing_side_nor_drives_nor_the_estate_reader(tmp_path, vm_server):
    found = _run(tmp_path, _args(vm_server))
    result = found['result']
    assert result.get('failed') is not True, result
    assert result['changed'] is False
    assert result['vm']['config']['cores'] == 2
    # Two reads, no write.
    assert [(r.method, r.path) for r in vm_server.requests] == [
        ('GET', '/cluster/resources'), ('GET', '/nodes/n1/qemu/100/pending')]
    ours = _ours(found['loaded'])
    assert 'guest_state' in ours and 'qemu' in ours and 'module' in ours
    assert [name for name in NOT_LOADED if name in ours] == []
    assert 'yaml' not in found['loaded']


def test_each_module_util_is_compiled_once_from_the_zip(tmp_path, vm_server):
    """zipimport alone compiles a module twice (CPython gh-141276); pve_vm installs _zipimport's finder first, so
    each module_util after it is compiled once. The finder is the only one added, and every other stays in place."""
    found = _run(tmp_path, _args(vm_server))
    assert found['result']['changed'] is False
    assert found['added'] == ['OneCompileFinder'] and found['kept']
    ours = dict((name, count) for name, count in found['counts'].items() if name.startswith(MODULE_UTILS))
    assert MODULE_UTILS + 'vm.py' in ours and MODULE_UTILS + 'client.py' in ours and MODULE_UTILS + 'qemu.py' in ours
    # _zipimport itself is imported before its finder is in place, like the (empty) package files above it.
    twice = dict((name, count) for name, count in ours.items()
                 if count != 1 and not name.endswith(('/_zipimport.py', '/__init__.py')))
    assert twice == {}


def test_a_change_loads_the_writing_side_from_the_zip(tmp_path, vm_server):
    from ansible_collections.proxfleet.proxmox.tests.unit.plugins.module_utils.api_server import reply

    # The asynchronous config update (POST): no task id in the answer, so nothing to wait for.
    vm_server.on('POST', '/nodes/n1/qemu/100/config', reply(data=None))
    found = _run(tmp_path, _args(vm_server, cores=4))
    result = found['result']
    assert result.get('failed') is not True, result
    assert result['changed'] is True and result['diff']['after']['cores'] == 4
    assert ('POST', '/nodes/n1/qemu/100/config') in [(r.method, r.path) for r in vm_server.requests]
    ours = _ours(found['loaded'])
    assert 'vm_write' in ours and 'guest_lifecycle' in ours and 'versions' in ours
    assert found['counts'].get(MODULE_UTILS + 'vm_write.py') == 1


def test_drives_and_the_estate_load_on_first_use_from_the_zip(tmp_path, vm_server):
    found = _run(tmp_path, _args(vm_server, cluster='lab', estate={'clusters': {'lab': {'api_host': '127.0.0.1'}}}),
                 extra='disk')
    # The estate was read (the task's own options win over its entry).
    assert 'estate' in _ours(found['loaded'])
    assert found['result'].get('changed') is False, found['result']
    assert found['disk_value'] == 'local-lvm:8'
    assert 'qemu_devices' in _ours(found['loaded_after_disk'])
    assert found['counts'].get(MODULE_UTILS + 'qemu_devices.py') == 1


def test_install_puts_the_finder_before_the_path_finder_once_and_it_answers_only_for_the_collection_in_a_zip(tmp_path):
    from importlib.machinery import PathFinder

    from ansible_collections.proxfleet.proxmox.plugins.module_utils import _zipimport

    # Importing pve_vm in this session (other tests do) installed it already: start without it, end as found.
    saved = list(sys.meta_path)
    before = [finder for finder in saved if finder is not _zipimport.OneCompileFinder]
    sys.meta_path[:] = before
    try:
        assert _zipimport.install() is None and _zipimport.install() is None
        index = before.index(PathFinder)
        assert sys.meta_path == before[:index] + [_zipimport.OneCompileFinder] + before[index:]
    finally:
        sys.meta_path[:] = saved
    assert _zipimport.OneCompileFinder.find_spec('json', None) is None
    assert _zipimport.OneCompileFinder.find_spec(PACKAGE + '.plugins.module_utils.qemu', [str(tmp_path)]) is None
    assert _zipimport.OneCompileFinder.find_spec(PACKAGE + '.plugins.module_utils.qemu', None) is None
    # A zip on the path that does not hold the module: no spec, the normal import system decides.
    empty = tmp_path / 'empty.zip'
    with zipfile.ZipFile(str(empty), 'w') as archive:
        archive.writestr('other.py', b'')
    assert _zipimport.OneCompileFinder.find_spec(PACKAGE + '.plugins.module_utils.qemu', [str(empty)]) is None
    # A zip that holds it: zipimport's own loader, with the origin zipimport gives, so __file__ is the same.
    full = tmp_path / 'full.zip'
    with zipfile.ZipFile(str(full), 'w') as archive:
        archive.writestr(MODULE_UTILS + 'qemu.py', b'X = 1\n')
    spec = _zipimport.OneCompileFinder.find_spec(PACKAGE + '.plugins.module_utils.qemu',
                                                 [str(full) + '/' + MODULE_UTILS.rstrip('/')])
    assert spec.origin == str(full) + '/' + MODULE_UTILS + 'qemu.py' and spec.loader.__class__.__name__ == 'zipimporter'


def test_the_values_kept_apart_for_start_up_match_their_sources():
    from ansible_collections.proxfleet.proxmox.plugins.module_utils import estate, module, qemu, redact

    assert qemu.SECRET_KEYS == redact.GUEST_SECRET_KEYS
    assert module.ESTATE_ENV == estate.ESTATE_ENV
    assert qemu.KNOWN_KEY_RE.match('scsi0') and not qemu.KNOWN_KEY_RE.match('scsi31')
    with pytest.raises(AttributeError):
        qemu.no_such_name  # noqa: B018 pylint: disable=pointless-statement
