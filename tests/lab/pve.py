# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LabPve: fakepve's FakePve with the lab's areas mixed in, as one cluster of the estate."""

import asyncio

from aiohttp import web
from fakepve import FakePve

from .areas.backup_jobs import BackupJobsArea
from .areas.ceph import CephArea
from .areas.certificates import CertificatesArea
from .areas.cluster_join import ClusterJoinArea
from .areas.datacenter import DatacenterArea
from .areas.firewall_extra import FirewallExtraArea
from .areas.ha import HaArea
from .areas.logs import LogsArea
from .areas.lxc_extra import LxcExtraArea
from .areas.migrate import MigrateArea
from .areas.pbs_storage import PbsStorageArea
from .areas.qemu_extra import QemuExtraArea
from .areas.qemu_perms import QemuPermsArea
from .areas.remote_migrate import RemoteMigrateArea
from .areas.restored_agent import RestoredAgentArea
from .areas.schema84 import Schema84Area
from .areas.sdn import SdnArea
from .areas.storage_extra import StorageExtraArea
from .areas.templates import TemplatesArea
from .areas.tokens import TokensArea
from .areas.users import UsersArea
from .areas.version import VersionArea
from .areas.vzdump import VzdumpArea


class LabPve(Schema84Area, RestoredAgentArea, QemuPermsArea, QemuExtraArea, DatacenterArea, LxcExtraArea, TemplatesArea,
             LogsArea, PbsStorageArea, ClusterJoinArea, FirewallExtraArea, CephArea, StorageExtraArea, SdnArea, HaArea, BackupJobsArea, VzdumpArea, MigrateArea,
             RemoteMigrateArea, UsersArea, TokensArea, VersionArea, CertificatesArea, FakePve):
    """One PVE cluster: its name, nodes and version; ACLs apply to everyone but root@pam, as on PVE."""

    def __init__(self, name='lab1', nodes=('pve1',), version='9.0.10', user='root@pam', password='secret',
                 host=None, port=8006):
        super().__init__(user=user, password=password, host=host, port=port)
        self.cluster_name = name
        self.nodes = dict((node, {'online': True}) for node in nodes)
        self.set_version(version)
        # fakepve lets everyone do anything until the first grant(); PVE never does.
        self.acl = {}
        # Real seconds added to every answer, whatever the time scale (fakepve's own latency is in PVE
        # seconds, so it vanishes at time_scale 0).
        self.real_latency = 0.0
        # Requests a rate-limiting proxy in front of the cluster refuses (see throttle()), and those it refused.
        self.throttles = []
        self.throttled = []

    def _build_app(self):
        app = super()._build_app()
        # Outermost, so refused requests wait too; the throttle stands in front of the API, as a proxy does.
        app.middlewares.insert(0, self._lab_throttle)
        app.middlewares.insert(0, self._lab_latency)
        return app

    @web.middleware
    async def _lab_latency(self, request, handler):
        if self.real_latency:
            await asyncio.sleep(self.real_latency)
        return await handler(request)

    def throttle(self, method, suffix, status=429, retry_after='1', times=1):
        """Refuse the next `times` requests whose path ends with `suffix` with `status` (429 or 503) and a
        Retry-After header (seconds or an HTTP-date; None for none), before they reach the API: a rate-limiting
        reverse proxy or load balancer in front of the cluster (PVE's own pveproxy sends neither). A refused
        request is not in `requests` (the API never saw it) but in `throttled`."""
        if status not in (429, 503):
            raise ValueError('throttle answers 429 or 503, not {0}'.format(status))
        self.throttles.append({'method': method, 'suffix': suffix, 'status': status, 'retry_after': retry_after,
                               'times': times})

    @web.middleware
    async def _lab_throttle(self, request, handler):
        for rule in list(self.throttles):
            if request.method != rule['method'] or not request.path.endswith(rule['suffix']):
                continue
            rule['times'] -= 1
            if rule['times'] <= 0:
                self.throttles.remove(rule)
            await request.read()
            self.throttled.append((request.method, request.path))
            reason = 'Too Many Requests' if rule['status'] == 429 else 'Service Unavailable'
            headers = {} if rule['retry_after'] is None else {'Retry-After': str(rule['retry_after'])}
            return web.json_response({'data': None, 'message': reason}, status=rule['status'], reason=reason,
                                     headers=headers)
        return await handler(request)
