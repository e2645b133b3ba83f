# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks share: counting the requests the lab answers, timing a command, markdown tables.

The lab's clusters log every request they answer (`cluster.pve.requests`, (method, path, body) tuples); a
RequestLog marks where each log stood and hands out what was added since, so a count is exact and needs no proxy.
"""

import os
import re
import resource
import statistics
import subprocess
import sys
import time

# The tools (ansible-playbook, ansible-inventory) of the environment running the benchmark.
BIN = os.path.dirname(sys.executable)
UPID_RE = re.compile(r'UPID:[^/]+')
VMID_RE = re.compile(r'/(qemu|lxc)/\d+(?=/|$)')


class RequestLog(object):
    """The requests the lab's clusters answered from the mark on: `mark()` then `since()`."""

    def __init__(self, lab):
        self.lab = lab
        for cluster in lab.clusters:
            # fakepve drops the oldest entries past max_requests: keep them all while measuring.
            cluster.pve.max_requests = 10 ** 7
        self.marks = None
        self.mark()

    def mark(self):
        self.marks = [len(c.pve.requests) for c in self.lab.clusters]

    def since(self):
        """(cluster name, method, path, body) of every request answered since the mark, in order."""
        out = []
        for cluster, start in zip(self.lab.clusters, self.marks):
            out.extend((cluster.name, method, path, body) for method, path, body in cluster.pve.requests[start:])
        return out

    def count(self):
        return sum(len(c.pve.requests) - start for c, start in zip(self.lab.clusters, self.marks))


def shape(path, nodes=()):
    """A request path with its node, vmid and task id replaced by placeholders, to count requests by kind."""
    path = UPID_RE.sub('{upid}', path)
    path = VMID_RE.sub(lambda m: '/{0}/{{vmid}}'.format(m.group(1)), path)
    for node in sorted(nodes, key=len, reverse=True):
        path = path.replace('/nodes/{0}/'.format(node), '/nodes/{node}/')
        if path.endswith('/nodes/{0}'.format(node)):
            path = path[:-len(node)] + '{node}'
    return path


def by_kind(requests, nodes=()):
    """{(method, shaped path): count} of (cluster, method, path, body) tuples."""
    counts = {}
    for _cluster, method, path, _body in requests:
        key = (method, shape(path, nodes))
        counts[key] = counts.get(key, 0) + 1
    return counts


def timed(args, env, cwd=None):
    """Run a command to its end; (CompletedProcess, wall seconds). Standard input is closed."""
    proc, wall, _cpu = timed_cpu(args, env, cwd)
    return proc, wall


def timed_cpu(args, env, cwd=None):
    """Run a command to its end; (CompletedProcess, wall seconds, CPU seconds).

    The CPU time is user + system of the command and every process it waited for (ansible-playbook's workers and
    the modules they ran), which a busy machine stretches far less than the wall time. Run one command at a time:
    the count is this process's children's.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median(values):
    return statistics.median(values) if values else float('nan')


def table(header, rows):
    """A markdown table: header is a list of titles, rows lists of cells (str() of each)."""
    lines = ['| ' + ' | '.join(header) + ' |', '| ' + ' | '.join('---' for _h in header) + ' |']
    for row in rows:
        lines.append('| ' + ' | '.join(str(cell) for cell in row) + ' |')
    return '\n'.join(lines)
