# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""qemu.root_only_changes: the VM keys and devices qemu-server lets only root@pam set (check_vm_modify_config_perm,
check_usb_perm, check_hostpci_perm, the serial port checks of update_vm_api)."""

from __future__ import annotations

import pytest

from ansible_collections.proxfleet.proxmox.plugins.module_utils.qemu import root_only_changes


@pytest.mark.parametrize('key', ['args', 'affinity', 'hookscript', 'hugepages', 'keephugepages', 'ivshmem',
                                 'spice_enhancements', 'lock'])
def test_keys_outside_the_privilege_groups(key):
    assert root_only_changes({key: 'x'}) == ["setting '{0}'".format(key)]
    assert root_only_changes({}, [key]) == ["removing '{0}'".format(key)]


@pytest.mark.parametrize('key, value', [
    ('memory', '2048'), ('cores', '2'), ('scsi0', 'local-lvm:8'), ('net0', 'virtio,bridge=vmbr0'), ('tags', 'a'),
    ('startup', 'order=1'), ('cicustom', 'user=local:snippets/u.yaml'), ('ipconfig0', 'ip=dhcp'), ('rng0', 'source=/dev/urandom'),
    ('serial0', 'socket'), ('usb0', 'spice'), ('usb1', 'mapping=token'), ('hostpci0', 'mapping=gpu,pcie=1'),
    ('efidisk0', 'local-lvm:1'), ('numa0', 'cpus=0-1'),
])
def test_keys_a_privilege_allows(key, value):
    assert root_only_changes({key: value}) == []


def test_devices_by_their_value():
    assert root_only_changes({'serial0': '/dev/ttyS0', 'usb0': 'host=1234:5678', 'hostpci0': '0000:01:00.0',
                              'hostpci1': 'mapping=gpu,romfile=vbios.bin'}) == [
        "setting hostpci0 as the non-mapped PCI device '0000:01:00.0' (a resource mapping needs Mapping.Use "
        "instead)",
        "setting hostpci1 with 'romfile'",
        "setting serial0 as the real device '/dev/ttyS0'",
        "setting usb0 as the host USB device '1234:5678'"]


def test_changing_or_removing_a_real_device():
    current = {'serial0': '/dev/ttyS0', 'usb0': 'host=1-2', 'serial1': 'socket'}
    # Replacing a real serial port by a socket is root's too; removing one is.
    assert root_only_changes({'serial0': 'socket'}, [], current) == ["setting serial0 as the real device '/dev/ttyS0'"]
    assert root_only_changes({}, ['usb0', 'serial1'], current) == ["removing usb0 as the host USB device '1-2'"]
