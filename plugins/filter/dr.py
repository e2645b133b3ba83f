# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The proxfleet.proxmox.dr role's plan (plugins/plugin_utils/dr.py); each filter is documented in its .yml sidecar
# (dr_select.yml, dr_plan.yml, dr_nets.yml, dr_summary.yml).

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.proxfleet.proxmox.plugins.plugin_utils import dr


def _guarded(name, function):
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except dr.DrPlanError as error:
            raise AnsibleFilterError('{0}: {1}'.format(name, error)) from None
    run.__name__ = name
    return run


def dr_select(source_guests, dr_guests=None, tags=None, pool=None, exclude=None):
    return dr.select(source_guests, dr_guests, tags=tags, pool=pool, exclude=exclude)


def dr_plan(settings):
    if not isinstance(settings, dict):
        raise dr.DrPlanError('expected a dict of the settings and what was read, got {0!r}'.format(type(settings).__name__))
    return dr.plan(settings)


def dr_nets(config, bridges=None, drill_bridge=None):
    return dr.nets(config, bridges, drill_bridge or None)


def dr_summary(results, removed=None, check_mode=False):
    return dr.summary(results, removed, bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {
            'dr_select': _guarded('dr_select', dr_select),
            'dr_plan': _guarded('dr_plan', dr_plan),
            'dr_nets': _guarded('dr_nets', dr_nets),
            'dr_summary': _guarded('dr_summary', dr_summary),
        }
