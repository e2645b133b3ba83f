# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest agents of restored VMs.

A backup holds the guest's disks, and so the operating system with its QEMU guest agent. On PVE, a VM restored from
the backup of a VM whose configuration enables the agent (`agent: 1` or `agent: enabled=1,...`) gets an agent that
answers once the restored VM runs, as the original's did. fakepve creates the restored VM as a new guest without an
agent (`vm.agent` None, "QEMU guest agent is not running"); this mixin gives such a VM an agent with fakepve's
default answers (guest-ping, network-get-interfaces ...). The agent answers only while the VM runs, as before.
"""

from fakepve.model import PveError


def agent_enabled(value):
    """Whether qemu-server's `agent` property string enables the agent ('1', 'enabled=1,fstrim_cloned_disks=1')."""
    if value is None:
        return False
    parts = [part.strip() for part in str(value).split(',') if part.strip()]
    for part in parts:
        key, sep, val = part.partition('=')
        if not sep:
            if key in ('1', 'on', 'yes', 'true'):
                return True
            continue
        if key == 'enabled':
            return val in ('1', 'on', 'yes', 'true')
    return False


class RestoredAgentArea(object):
    """Mixin for the lab's PVE: a VM restored from a backup of a VM with the agent enabled has a guest agent."""

    async def _qm_create(self, v, user):
        upid = await super()._qm_create(v, user)
        if v.get('archive'):
            try:
                kind, conf = self.backup_config(v['archive'])
            except PveError:
                return upid
            vm = self.vm(int(v['vmid']))
            if kind == 'qemu' and vm is not None and vm.agent is None and agent_enabled(conf.get('agent')):
                vm.agent = {}
        return upid
