# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The token modules (pve_token, pbs_token) run as modules; this action plugin only hides their result from every
output when it carries a secret: the result is marked `_ansible_no_log`, which Ansible honours like a task's
`no_log: true` (callbacks, -vvv, the JSON of a failed loop), while a registered variable keeps the secret.
A module cannot do it itself: values it declares no_log are masked in its own result too."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


def hide_secret(result):
    """Mark a module result that holds a secret no_log (a result without one is shown as usual)."""
    if result.get('secret') is not None:
        result['_ansible_no_log'] = True
    return result


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                           module_args=self._task.args, task_vars=task_vars))
        return hide_secret(result)
