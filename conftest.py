# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Make this checkout importable as ansible_collections.proxfleet.proxmox for every test.

The repository root is the collection root; Python finds it under that name through a symlink tree in .cache
(the same tree ansible-playbook gets as its collections path in the integration tests).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')


def collections_path():
    """A directory holding ansible_collections/proxfleet/proxmox -> this checkout (made on first use)."""
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'proxfleet', 'proxmox')
    if not os.path.islink(link) or os.path.realpath(link) != ROOT:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(ROOT, link)
    return COLLECTIONS


if collections_path() not in sys.path:
    sys.path.insert(0, COLLECTIONS)
