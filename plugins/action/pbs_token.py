# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pbs_token's result is hidden from every output when it carries a secret, as pve_token's (see there)."""

from __future__ import annotations

from ansible_collections.proxfleet.proxmox.plugins.action.pve_token import ActionModule  # noqa: F401  pylint: disable=unused-import
