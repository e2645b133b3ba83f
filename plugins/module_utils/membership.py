# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""List membership: what to add, remove, change and keep so a list holds what the user listed.

Tags, IP-set entries, pool members, ACL entries: a list whose items have an identity (a key), compared either
additively (items the user did not list stay) or exactly (they are removed: the modules' `purge`).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.proxfleet.proxmox.plugins.module_utils.errors import ProxmoxConfigError


def _same(item):
    return item


class Membership(object):
    """The plan for one list.

    add: desired items not in the current list, in the order given. remove: current items to remove (exact mode
    only). change: (current item, new item) for items present on both sides whose other attributes differ (only
    when a merge function was given). keep: current items left as they are. final: the list after the plan,
    current items first in their order (changed ones in their new form), then the added ones.
    """

    def __init__(self):
        self.add: List[Any] = []
        self.remove: List[Any] = []
        self.change: List[Tuple[Any, Any]] = []
        self.keep: List[Any] = []
        self.before: List[Any] = []
        self.final: List[Any] = []

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove or self.change)

    def diff(self) -> Dict[str, List[Any]]:
        return {'before': list(self.before), 'after': list(self.final)}


def plan(current: Optional[List[Any]], desired: List[Any], exact: bool = False, key: Optional[Callable[[Any], Any]] = None,
         merge: Optional[Callable[[Any, Any], Any]] = None, label: str = 'item') -> Membership:
    """Plan `current` towards `desired`.

    key: an item's identity (default: the item itself); items compare by it, and one listed twice is refused.
    exact: remove the current items `desired` does not list (purge); otherwise they are kept (additive).
    merge: (current item, desired item) -> the item as it should be; an item it changes goes in `change`.
    Without merge, an item present on both sides is kept as it is.
    """
    key = key or _same
    out = Membership()
    current = list(current or [])
    out.before = current
    wanted: Dict[Any, Any] = {}
    order: List[Any] = []
    for item in desired:
        ident = key(item)
        if ident in wanted:
            raise ProxmoxConfigError('{0} {1!r} is listed twice'.format(label, ident))
        wanted[ident] = item
        order.append(ident)
    seen = set()
    for item in current:
        ident = key(item)
        if ident in seen:
            # The API holds it twice: the later copy is whatever the first one becomes.
            continue
        seen.add(ident)
        if ident not in wanted:
            if exact:
                out.remove.append(item)
            else:
                out.keep.append(item)
                out.final.append(item)
            continue
        new = merge(item, wanted[ident]) if merge is not None else item
        if new != item:
            out.change.append((item, new))
        else:
            out.keep.append(item)
        out.final.append(new)
    for ident in order:
        if ident not in seen:
            out.add.append(wanted[ident])
            out.final.append(wanted[ident])
    return out
