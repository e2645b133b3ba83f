# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records every task result of a playbook run as JSON, for tests.lab.playbook.run_playbook."""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
    name: lab_results
    type: aggregate
    short_description: record task results as JSON for the lab's tests
    description:
      - Writes one JSON document with every task result and the play recap to the file named by the
        E(PROXFLEET_LAB_RESULTS) environment variable when the playbook ends.
    requirements:
      - enable in configuration (ANSIBLE_CALLBACKS_ENABLED=lab_results)
'''

# Keys the base class drops from what it dumps; the tests want them.
KEPT = ('diff', 'exception', 'warnings', 'deprecations')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'lab_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []
        self.play = None

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name()

    def _result(self, result):
        data = dict(result._result)
        saved = dict(('lab_kept_' + key, data.pop(key)) for key in KEPT if key in data)
        data.update(saved)
        out = json.loads(self._dump_results(data, keep_invocation=True))
        for key in KEPT:
            if 'lab_kept_' + key in out:
                out[key] = out.pop('lab_kept_' + key)
        return out

    def _record(self, result, status):
        data = self._result(result)
        self.tasks.append({'play': self.play, 'host': result._host.get_name(), 'task': result._task.get_name(),
                           'action': result._task.action, 'status': status,
                           'changed': bool(data.get('changed')), 'failed': status in ('failed', 'ignored', 'unreachable'),
                           'result': data})

    def v2_runner_on_ok(self, result):
        self._record(result, 'changed' if result._result.get('changed') else 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        recap = dict((host, stats.summarize(host)) for host in sorted(stats.processed))
        path = os.environ.get('PROXFLEET_LAB_RESULTS')
        if not path:
            return
        with open(path, 'w', encoding='utf-8') as out:
            json.dump({'tasks': self.tasks, 'stats': recap}, out, indent=1, sort_keys=True, default=str)
