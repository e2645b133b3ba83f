# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_playbook: the real ansible-playbook against the lab, with this collection on the collections path."""

import json
import os
import subprocess
import sys
import tempfile

from .estate import REPO_ROOT

CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback')
COLLECTIONS = os.path.join(REPO_ROOT, '.cache', 'collections')
PLAYBOOK_TIMEOUT = 600


def collections_path():
    """<repo>/.cache/collections, where ansible_collections/proxfleet/proxmox is a link to the repository."""
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'proxfleet', 'proxmox')
    if os.path.realpath(link) != os.path.realpath(REPO_ROOT):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        tmp = '{0}.{1}.tmp'.format(link, os.getpid())
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(REPO_ROOT, tmp)
        os.replace(tmp, link)
    return COLLECTIONS


def ansible_playbook():
    """The ansible-playbook of the running interpreter's environment."""
    script = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if os.path.exists(script):
        return [script]
    return [sys.executable, '-m', 'ansible.cli.playbook']


class PlaybookResult(object):
    """What a run gave: rc, stdout, stderr, tasks (one dict per task and host), stats (the recap per host).

    A task entry has play, host, task (its name), action, status (ok, changed, failed, ignored, skipped,
    unreachable), changed, failed and result (the module's return values, diff and warnings included).
    """

    def __init__(self, rc, stdout, stderr, report, command, playbook):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.tasks = report.get('tasks', [])
        self.stats = report.get('stats', {})
        self.command = command
        self.playbook = playbook

    @property
    def ok(self):
        """True if ansible-playbook exited with 0."""
        return self.rc == 0

    def results(self, name, host=None):
        """Every entry of the task called name (on host, if given), in the order they ran."""
        return [t for t in self.tasks if t['task'] == name and (host is None or t['host'] == host)]

    def result(self, name, host=None):
        """The module result of the last run of the task called name; KeyError if it never ran."""
        found = self.results(name, host)
        if not found:
            raise KeyError('no task {0!r} ran; tasks: {1}'.format(name, [t['task'] for t in self.tasks]))
        return found[-1]['result']

    @property
    def failed(self):
        """The entries of tasks that failed (ignored failures included)."""
        return [t for t in self.tasks if t['failed']]

    @property
    def changed(self):
        """The entries of tasks that reported a change."""
        return [t for t in self.tasks if t['changed']]

    def __repr__(self):
        return '<PlaybookResult rc={0} tasks={1} failed={2}>'.format(self.rc, len(self.tasks), len(self.failed))

    def explain(self):
        """Everything a failing assertion should show."""
        return 'rc={0}\n--- stdout\n{1}\n--- stderr\n{2}'.format(self.rc, self.stdout, self.stderr)


def run_playbook(playbook, lab, extra_vars=None, check=False, diff=False, verbosity=0, env=None, extra_args=(),
                 timeout=PLAYBOOK_TIMEOUT):
    """Run ansible-playbook on localhost with the lab's vars (lab_clusters, lab_cluster, lab_ca_path).

    playbook is a path to a playbook or the YAML text of one. extra_vars are added to the lab's vars;
    env to the environment. Returns a PlaybookResult.
    """
    with tempfile.TemporaryDirectory(prefix='lab-play-') as work:
        if isinstance(playbook, os.PathLike) or ('\n' not in playbook and os.path.isfile(playbook)):
            path = os.path.abspath(os.fspath(playbook))
        else:
            path = os.path.join(work, 'playbook.yml')
            with open(path, 'w', encoding='utf-8') as out:
                out.write(playbook)
        inventory = os.path.join(work, 'inventory.json')
        with open(inventory, 'w', encoding='utf-8') as out:
            json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                       'ansible_python_interpreter': sys.executable}}}}, out)
        variables = dict(lab.vars if lab is not None else {})
        variables.update(extra_vars or {})
        vars_file = os.path.join(work, 'vars.json')
        with open(vars_file, 'w', encoding='utf-8') as out:
            json.dump(variables, out)
        report_file = os.path.join(work, 'results.json')
        environ = dict(os.environ)
        environ.update({
            # The environment's tools first, as in an activated venv.
            'PATH': os.pathsep.join([os.path.dirname(sys.executable), environ.get('PATH', os.defpath)]),
            'ANSIBLE_COLLECTIONS_PATH': collections_path(),
            'ANSIBLE_CALLBACK_PLUGINS': CALLBACK_DIR,
            'ANSIBLE_CALLBACKS_ENABLED': 'lab_results',
            'PROXFLEET_LAB_RESULTS': report_file,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'tmp'),
            'ANSIBLE_HOME': os.path.join(work, 'home'),
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
        })
        environ.update(env or {})
        command = ansible_playbook() + ['-i', inventory, '-e', '@' + vars_file, path]
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        if verbosity:
            command.append('-' + 'v' * verbosity)
        command += list(extra_args)
        proc = subprocess.run(command, cwd=work, env=environ, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, check=False)
        report = {}
        if os.path.exists(report_file):
            with open(report_file, encoding='utf-8') as handle:
                report = json.load(handle)
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, report, command, text)
