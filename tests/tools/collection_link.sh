#!/usr/bin/env bash
# Print (after making it if needed) the path of .cache/collections/ansible_collections/proxfleet/proxmox,
# a symlink to the repository root: Ansible, ansible-test and the tests see the checkout there as the
# collection proxfleet.proxmox. conftest.py makes the same link.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
link="$root/.cache/collections/ansible_collections/proxfleet/proxmox"

if [[ ! -L "$link" || "$(readlink -f "$link")" != "$root" ]]; then
    mkdir -p "$(dirname "$link")"
    rm -rf "$link"
    ln -s "$root" "$link"
fi
echo "$link"
