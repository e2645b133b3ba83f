# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's fakes are composed of area mixins (tests/lab/pve.py over tests/lab/areas/*.py and fakepve's FakePve;
tests/lab/pbs/server.py over its areas). Python keeps one method per name along the MRO, so an area that defines a
method another area (or the base) defines too must chain to it with super(), or it silently switches the other one
off: the other area's behaviour is then lost from the lab without any test noticing.

Found by reading each method's source (AST): a definition that is followed by another one further along the MRO
must call super().<same name>(...) somewhere in its body. The only exception is an area that replaces one of
fakepve's own handlers on purpose, to model Proxmox VE more faithfully than fakepve does; each such replacement is
named below with its reason, and one area shadowing another is never allowed.
"""

import ast
import inspect
import textwrap

import pytest

from tests.lab.pbs.server import FakePbs
from tests.lab.pve import LabPve

# (area, method) -> why the area replaces fakepve's method instead of extending it.
REPLACES_FAKEPVE = {
    ('CephArea', '_ceph_status'): "the lab's Ceph model (monitors, managers, OSDs, pools) answers /cluster/ceph/status",
    ('ClusterJoinArea', '_cluster_status'): 'the corosync membership the join/leave model keeps, not a fixed list',
    ('QemuExtraArea', '_config_post'): "update_vm_api's asynchronous form: a qmconfig task with PVE's hot-plug errors",
    ('TemplatesArea', '_download_url'): "PVE's download-url: its privileges, checksum and the task it runs",
    ('TemplatesArea', '_upload'): "PVE's upload: multipart body, its privileges and checks, the imgcopy task",
    ('DatacenterArea', '_nextid'): "Cluster.pm nextid within datacenter.cfg's next-id range",
    ('TokensArea', '_permissions'): 'a token with privilege separation sees the intersection with its user',
    ('TokensArea', 'allowed'): "RPCEnvironment::permissions, API tokens' privilege separation included",
    ('LogsArea', '_task_list'): "GET /nodes/{node}/tasks with PVE's filters and ordering",
    ('VersionArea', '_version'): 'GET /version as the PVE 8 or 9 release the lab cluster runs, with its repoid',
}


def is_ours(cls):
    return cls.__module__.startswith('tests.lab')


def function_of(value):
    """The function behind a class attribute (method, static or class method, property getter), or None."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    return value if inspect.isfunction(value) else None


def calls_super(function, name):
    """True when the function's body reaches super().<name> (or super(Cls, self).<name>): a call, an await, or a
    property's value."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == name:
            target = node.value
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == 'super':
                return True
    return False


def definitions(composed):
    """{name: [(class, function), ...]} in MRO order, for every method name a class of the lab defines."""
    found = {}
    for cls in composed.__mro__:
        if cls is object:
            continue
        for name, value in vars(cls).items():
            function = function_of(value)
            if function is not None:
                found.setdefault(name, []).append((cls, function))
    return dict((name, defs) for name, defs in found.items() if any(is_ours(cls) for cls, _f in defs))


def unchained(composed):
    """(class, method, the class it shadows) for each of our definitions that another one follows in the MRO but
    which does not call super() for it."""
    out = []
    for name, defs in sorted(definitions(composed).items()):
        for (cls, function), (after, _function) in zip(defs, defs[1:]):
            if is_ours(cls) and not calls_super(function, name):
                out.append((cls, name, after))
    return out


def violations(composed):
    return ['{0}.{1} hides {2}.{1}: call super().{1}(...) for what it does not handle'.format(
        cls.__name__, name, after.__name__) for cls, name, after in unchained(composed)
        if is_ours(after) or (cls.__name__, name) not in REPLACES_FAKEPVE]


@pytest.mark.parametrize('composed', [LabPve, FakePbs], ids=lambda c: c.__name__)
def test_no_area_switches_another_off(composed):
    wrong = violations(composed)
    assert not wrong, '\n'.join(wrong)


def test_every_replacement_of_fakepve_is_still_one():
    """The list above names only real replacements: an entry left over after a change is a gap in the test."""
    replacing = set((cls.__name__, name) for cls, name, after in unchained(LabPve) if not is_ours(after))
    assert replacing == set(REPLACES_FAKEPVE)


class _Base(object):
    def hello(self):
        return ['base']

    async def bye(self):
        return ['base']

    @property
    def size(self):
        return 1


class _Chains(_Base):
    def hello(self):
        return ['chains'] + super().hello()

    async def bye(self):
        return ['chains'] + await super(_Chains, self).bye()

    @property
    def size(self):
        return super().size + 1


class _Hides(_Base):
    def hello(self):
        return ['hides']

    async def bye(self):
        return ['hides']

    @property
    def size(self):
        return 5


@pytest.mark.parametrize('base_is_ours', [False, True])
def test_the_check_sees_an_area_that_does_not_chain(monkeypatch, base_is_ours):
    class Composed(_Chains, _Hides, _Base):
        pass

    for cls in (Composed, _Chains, _Hides) + ((_Base,) if base_is_ours else ()):
        monkeypatch.setattr(cls, '__module__', 'tests.lab.example')
    assert Composed().hello() == ['chains', 'hides'] and Composed().size == 6
    assert violations(Composed) == ['_Hides.{0} hides _Base.{0}: call super().{0}(...) for what it does not '
                                    'handle'.format(name) for name in ('bye', 'hello', 'size')]

    class Alone(_Hides):
        def hello(self):
            return ['alone']

    monkeypatch.setattr(Alone, '__module__', 'tests.lab.example')
    assert 'Alone.hello hides _Hides.hello: call super().hello(...) for what it does not handle' in violations(Alone)
