# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab: an estate served in this process, as the pytest fixtures hand it out."""

import asyncio

from .estate import Estate, LabThread


class Lab(object):
    """A started estate: `clusters`, `vars`, `ca_path`, `directory`; `stop()` when done.

    Options are Estate's: clusters, nodes, guests, latency, time_scale, versions, hosts, seed, password.
    """

    def __init__(self, directory, **options):
        self.estate = Estate(directory, **options)
        self._serving = LabThread(self.estate)

    @property
    def clusters(self):
        """The clusters (tests.lab.estate.Cluster): name, host, port, url, nodes, version, user, password,
        token_id, token_secret, ca_path, fingerprint and pve (the LabPve behind it)."""
        return self.estate.clusters

    @property
    def vars(self):
        """The dict lab_vars.yml holds: lab_clusters, lab_cluster (by name) and lab_ca_path."""
        return self.estate.vars

    @property
    def pbs(self):
        """The estate's Proxmox Backup Server (tests.lab.pbs.serve.PbsInstance): host, port, url, user, password,
        token_id, token_secret, ca_path, fingerprint, vars and pbs (the FakePbs); None with pbs=False."""
        return self.estate.pbs

    @property
    def ca_path(self):
        """The lab CA's certificate (PEM): the bundle every cluster's certificate verifies against."""
        return self.estate.ca_path

    @property
    def directory(self):
        return self.estate.directory

    def cluster(self, name):
        """The cluster called name."""
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def call(self, coro, timeout=60):
        """Run a coroutine (e.g. `cluster.pve.backup(100)`) on the lab's event loop; returns its result."""
        return self._serving.call(coro, timeout)

    def event(self):
        """A new asyncio.Event of the lab's loop: give it to pve.backup_gate or pve.migrate_gate, then set_event()."""
        async def make():
            return asyncio.Event()
        return self.call(make())

    def set_event(self, event):
        """Set an event made by event(), from the test's thread."""
        async def fire():
            event.set()
        self.call(fire())

    def write(self):
        """Write lab.json and lab_vars.yml into the lab's directory; returns the lab.json path."""
        return self.estate.write()

    def stop(self):
        self._serving.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
