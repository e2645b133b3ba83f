# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM migration inside a cluster: GET and POST /nodes/{node}/qemu/{vmid}/migrate.

Follows qemu-server's migrate_vm and migrate_vm_precondition (PVE/API2/Qemu.pm) and QemuMigrate:
the checks before the task (local target, unknown node, lock, running without `online`), then a
`qmigrate` task that holds the `migrate` lock and moves the VM to the target node. A target that is
offline fails the task as PVE's ssh check does; a running VM with disks on local storage needs
`with-local-disks`. An HA-managed VM gets an `hamigrate` task and moves after the HA delay.
"""

import re

from fakepve.model import PveError, TaskError
from fakepve.routing import StatefulRoutes, param_error

from ._common import set_lock, task_log

# PVE seconds a migration takes.
MIGRATE_SECS = 5
DISK_KEYS = re.compile(r'^(ide|sata|scsi|virtio|efidisk|tpmstate|unused)\d+$')
UNITS = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


def aborted(message):
    return TaskError('migration aborted (duration 00:00:00): {0}'.format(message))


class MigrateArea(StatefulRoutes):
    """Mixin of the lab's PVE: VMs move between the cluster's nodes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # PVE seconds a migration takes.
        self.migrate_secs = MIGRATE_SECS
        # An asyncio.Event (made on the lab's loop) a migration waits for while it holds the migrate lock.
        self.migrate_gate = None

    def _routes_qemu_migrate(self):
        path = '/nodes/{node}/qemu/{vmid}/migrate'
        return [('GET', path, self._mig_precondition), ('POST', path, self._mig_start)]

    # ------------------------------------------------------------- helpers

    def _node_ip(self, node):
        """The address /cluster/status shows for a node."""
        for idx, name in enumerate(sorted(self.nodes), 1):
            if name == node:
                return '192.0.2.{0}'.format(10 + idx)
        return '192.0.2.254'

    def _mig_local_disks(self, vm):
        """The VM's disks on storages that are not shared: [{volid, size, drivename, ...}]."""
        out = []
        for key in sorted(vm.config):
            if not DISK_KEYS.match(key):
                continue
            value = str(vm.config[key])
            volume = value.split(',', maxsplit=1)[0]
            if 'media=cdrom' in value or ':' not in volume:
                continue
            store = self.storages.get(volume.split(':')[0])
            if store is None or store.get('shared'):
                continue
            found = re.search(r'size=(\d+(?:\.\d+)?)([KMGT]?)', value)
            size = int(float(found.group(1)) * UNITS.get(found.group(2), 1)) if found else 0
            out.append({'volid': volume, 'size': size, 'drivename': key, 'is_attached': 0 if key.startswith('unused')
                        else 1, 'is_unused': 1 if key.startswith('unused') else 0, 'is_vmstate': 0,
                        'is_tpmstate': 1 if key.startswith('tpmstate') else 0, 'cdrom': 0, 'replicate': 1})
        return out

    # ------------------------------------------------------------ handlers

    async def _mig_precondition(self, v, user):
        self.need_quorum()
        vm = self.find(v['node'], v['vmid'])
        if vm.lock:
            raise PveError(500, 'VM is locked ({0})'.format(vm.lock))
        others = [n for n in sorted(self.nodes) if n != v['node']]
        data = {'running': 1 if vm.status == 'running' else 0, 'allowed_nodes': others, 'not_allowed_nodes': {},
                'local_disks': self._mig_local_disks(vm), 'local_resources': [], 'mapped-resources': [],
                'mapped-resource-info': {}, 'has-dbus-vmstate': 1}
        if vm.ha_managed:
            data['dependent-ha-resources'] = []
        return data

    async def _mig_start(self, v, user):
        node, target = v['node'], v['target']
        if target == node:
            raise param_error(target='target is local node.')
        self.need_quorum()
        if target not in self.nodes:
            raise PveError(500, "no such cluster node '{0}'".format(target))
        for key in ('force', 'migration_type', 'migration_network'):
            if v.get(key) and user != 'root@pam':
                raise param_error(**{key: 'Only root may use this option.'})
        vm = self.find(node, v['vmid'])
        if vm.lock:
            raise PveError(500, 'VM is locked ({0})'.format(vm.lock))
        online = bool(v.get('online'))
        log = ["starting migration of VM {0} to node '{1}' ({2})".format(vm.vmid, target, self._node_ip(target))]
        if vm.status == 'running':
            if not online:
                raise PveError(500, "can't migrate running VM without --online")
        else:
            # PVE warns (in its API log, not the task's) and migrates offline.
            online = False
        if vm.ha_managed:
            return await self._mig_ha(vm, user, target)

        async def body():
            lines = task_log(self, log[0])
            if not self.nodes[target].get('online', True):
                raise aborted("Can't connect to destination address using public key")
            local = [d for d in self._mig_local_disks(vm) if d['is_attached']]
            if online and local and not v.get('with-local-disks'):
                raise aborted("can't live migrate attached local disks without with-local-disks option")
            set_lock(vm, 'migrate')
            try:
                for disk in local:
                    lines.append("found local disk '{0}' (attached)".format(disk['volid']))
                if local:
                    lines.append('copying local disk images' if not online else 'starting storage migration')
                await self.pause(self.migrate_secs)
                if self.migrate_gate is not None:
                    await self.migrate_gate.wait()
                vm.node = target
                if online:
                    lines.append("starting VM {0} on remote node '{1}'".format(vm.vmid, target))
                    lines.append('migration status: completed')
            finally:
                set_lock(vm, None)
            return 'migration finished successfully (duration 00:00:{0:02d})'.format(min(int(self.migrate_secs), 59))
        return await self.task(node, 'qmigrate', vm.vmid, user, body, vm=vm, log=log)

    async def _mig_ha(self, vm, user, target):
        async def body():
            await self.pause(self.ha_delay)
            if not self.nodes[target].get('online', True):
                raise TaskError("Can't connect to destination address using public key")
            vm.node = target
        return await self.task(vm.node, 'hamigrate', vm.vmid, user, body, lock=False,
                               log=['Requesting HA migration for VM {0} to node {1}'.format(vm.vmid, target)])
