# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers: what fakepve's LxcApi leaves out of DELETE /nodes/{node}/lxc/{vmid} with `purge`.

pve-container's API2/LXC.pm destroy_vm, with purge=1, prints "purging CT <vmid> from related configurations.."
and takes the container out of the vzdump backup jobs (pve-guest-common's VZDump/Plugin.pm
remove_vmid_from_backup_jobs): a job listing it in `vmid` loses it from the list, and is removed when the list
becomes empty; a job excluding it loses it from `exclude` (the key goes when empty). Jobs of other types are left.
fakepve already removes the HA resource.
"""

from fakepve.routing import split_list


def remove_vmid_from_list(text, vmid):
    """The list without vmid, joined with commas (PVE's remove_vmid_from_list)."""
    return ','.join(item for item in split_list(str(text)) if item != str(vmid))


def remove_vmid_from_job(job, vmid):
    """The job without the guest, or None when it listed only that guest (PVE's remove_vmid_from_job)."""
    job = dict(job)
    if job.get('vmid') is not None:
        rest = remove_vmid_from_list(job['vmid'], vmid)
        if not rest:
            return None
        job['vmid'] = rest
    elif job.get('exclude') is not None:
        rest = remove_vmid_from_list(job['exclude'], vmid)
        if rest:
            job['exclude'] = rest
        else:
            job.pop('exclude')
    return job


class LxcExtraArea(object):
    """Mixin for the lab's PVE: purge takes a destroyed container out of the backup jobs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # vmids whose destroy task runs with purge=1
        self._lxc_purging = set()

    async def _lxc_destroy(self, user, v):
        purge = str(v.get('purge', '0')).lower() in ('1', 'true', 'yes', 'on')
        if purge:
            self._lxc_purging.add(int(v['vmid']))
        try:
            return await super()._lxc_destroy(user, v)
        except Exception:
            self._lxc_purging.discard(int(v['vmid']))
            raise

    def _drop(self, ct):
        super()._drop(ct)
        if ct.vmid in self._lxc_purging:
            self._lxc_purging.discard(ct.vmid)
            self._purge_backup_jobs(ct.vmid)

    def _purge_backup_jobs(self, vmid):
        jobs = getattr(self, 'backup_jobs', None)
        if not jobs:
            return
        for job_id in sorted(jobs):
            job = jobs[job_id]
            if job.get('type', 'vzdump') != 'vzdump':
                continue
            updated = remove_vmid_from_job(job, vmid)
            if updated is None:
                del jobs[job_id]
            else:
                jobs[job_id] = updated
