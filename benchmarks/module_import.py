# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a module's own code costs at start-up, as ansible-core runs it: pve_vm beside proxmox_kvm.

    python -m benchmarks.module_import [--runs 15] [--peer-venv DIR] [--baseline REF]

Run it from the repository root. For each module it builds the zip ansible-core sends (AnsiballZ: the module and
the module_utils its own import finder picks, with the ansible-core of the module's virtualenv), then starts
--runs fresh interpreters, interleaved, that import what every Proxmox module of both collections imports anyway
(requests, urllib3, proxmoxer's https backend, AnsibleModule) and then the module from the zip, and measures the
CPU time of that last import alone: the module's own code and the module_utils it loads. It also counts the
compile() calls zipimport makes for the collection's files, and the files and bytes of the zip.

With --baseline REF (a git commit or branch of this repository), pve_vm as that commit has it is measured too, in the
same interleaved runs.

No request is made and no lab is needed. A measurement, not a test.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = ('proxfleet', 'proxmox', 'pve_vm')
PEER = ('community', 'proxmox', 'proxmox_kvm')

CHILD = r'''
import builtins, json, sys, time
zip_path, fqn, prefix = sys.argv[1:4]
sys.path.insert(0, zip_path)
import requests, urllib3, proxmoxer.backends.https, requests.adapters, requests.cookies  # noqa
import ansible.module_utils.basic  # noqa
compiles = [0]
real = builtins.compile

def counting(source, filename, *args, **kwargs):
    if prefix in str(filename):
        compiles[0] += 1
    return real(source, filename, *args, **kwargs)

builtins.compile = counting
import importlib
started = time.process_time()
importlib.import_module(fqn)
print(json.dumps({'cpu': time.process_time() - started, 'compiles': compiles[0],
                  'loaded': sum(1 for name in sys.modules if name.startswith(fqn.rsplit('.plugins.', 1)[0] + '.'))}))
'''


def build_zip(module_path, out):
    """(zip path, module fqn, files, bytes): run inside the module's virtualenv (its ansible-core)."""
    from ansible._internal._ansiballz import _builder
    from ansible.executor.module_common import _get_ansible_module_fqn, recursive_finder
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader()
    fqn = _get_ansible_module_fqn(module_path)
    with open(module_path, 'rb') as handle:
        data = handle.read()
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        recursive_finder(os.path.basename(module_path)[:-3], fqn, data, archive,
                         datetime.datetime.now(datetime.timezone.utc), _builder.ExtensionManager.create(task_vars={}))
        archive.writestr(fqn.replace('.', '/') + '.py', data)
        init = fqn.rsplit('.', 1)[0].replace('.', '/') + '/__init__.py'
        if init not in archive.namelist():
            archive.writestr(init, b'')
        files = len(archive.namelist())
    return {'zip': out, 'fqn': fqn, 'files': files, 'bytes': os.path.getsize(out)}


def module_path(python, parts, collections):
    """Where the module's file is for this interpreter: ours through the collections path, the peer's in its venv."""
    namespace, name, module = parts
    if collections:
        return os.path.join(collections, 'ansible_collections', namespace, name, 'plugins', 'modules', module + '.py')
    code = 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__file__ or "") or ' \
           'list(ansible_collections.__path__)[0])'
    base = subprocess.run([python, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(base, namespace, name, 'plugins', 'modules', module + '.py')


def side(label, python, parts, directory, collections=None):
    path = module_path(python, parts, collections)
    env = dict(os.environ)
    if collections:
        env['ANSIBLE_COLLECTIONS_PATH'] = collections
    else:
        env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(directory, 'no-collections')
    out = os.path.join(directory, label + '.zip')
    proc = subprocess.run([python, '-m', 'benchmarks.module_import', '--build', path, out], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode:
        raise RuntimeError('{0}: cannot build the zip: {1}'.format(label, proc.stderr[-2000:]))
    info = json.loads(proc.stdout)
    info.update(label=label, python=python, prefix='ansible_collections/{0}/{1}/'.format(*parts[:2]), runs=[])
    return info


def measure(sides, runs):
    env = dict(os.environ, REQUESTS_CA_BUNDLE='')
    for number in range(runs):
        for info in (sides if number % 2 == 0 else sides[::-1]):
            proc = subprocess.run([info['python'], '-c', CHILD, info['zip'], info['fqn'], info['prefix']],
                                  capture_output=True, text=True, env=env, check=False)
            if proc.returncode:
                raise RuntimeError('{0}: {1}'.format(info['label'], proc.stderr[-2000:]))
            info['runs'].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    rows = []
    for info in sides:
        cpus = [run['cpu'] * 1000 for run in info['runs']]
        rows.append('| {0} | {1:.1f} ms | {2:.1f} ms | {3:.1f} ms | {4} | {5} | {6} | {7} KB |'.format(
            info['label'], statistics.median(cpus), min(cpus), max(cpus), info['runs'][0]['compiles'],
            info['runs'][0]['loaded'], info['files'], info['bytes'] // 1024))
    return '\n'.join(['| module | import CPU, median | lowest | highest | compile() calls of its collection | '
                      'modules of its collection loaded | files in the zip | zip |',
                      '| --- | --- | --- | --- | --- | --- | --- | --- |'] + rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.module_import', description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=15)
    parser.add_argument('--peer-venv', help='virtualenv with ansible (community.proxmox) and proxmoxer installed')
    parser.add_argument('--baseline', help='a git ref (e.g. main) whose pve_vm is measured too')
    parser.add_argument('--build', nargs=2, metavar=('MODULE', 'ZIP'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        print(json.dumps(build_zip(*args.build)))
        return 0
    sys.path.insert(0, ROOT)
    from tests.lab.playbook import collections_path

    with tempfile.TemporaryDirectory(prefix='module-import-') as directory:
        sides = [side('pve_vm', sys.executable, OURS, directory, collections_path())]
        if args.baseline:
            from benchmarks.vm_bench import extract_baseline

            sides.append(side('pve_vm at ' + args.baseline, sys.executable, OURS, directory,
                              extract_baseline(args.baseline, directory)))
        if args.peer_venv:
            sides.append(side('proxmox_kvm', os.path.join(os.path.abspath(args.peer_venv), 'bin', 'python'), PEER,
                              directory))
        print(measure(sides, args.runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
