# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's stateful API areas, one module each, mixed into fakepve's FakePve by tests.lab.pve.

An area is a mixin with methods named `_routes_<area>` returning (method, schema path, handler);
handlers are `async def (self, values, user)` and run after fakepve's schema and permission checks.

This package exports nothing: tests.lab.pve imports each mixin from its own module
(`from .areas.<area> import <Area>`) and lists it in LabPve's bases, the one place that says which areas the lab
has and in which order; docs/lab.md has a row for each.
"""
