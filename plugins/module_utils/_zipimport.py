# -*- coding: utf-8 -*-
# Copyright: proxfleet.proxmox contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to this collection: may change without notice between releases.

"""Import this collection's module_utils from an AnsiballZ payload compiling each file once, not twice.

A module runs from a zip of its sources (AnsiballZ), and Python's zipimport compiles a module's source once to
build its import spec (`zipimporter.get_filename`) and again to run it (`get_code`): CPython issue gh-141276, open
for every release up to 3.15. Every module run of the collection therefore paid twice for compiling its
module_utils, the largest part of its own start-up. Importing this module installs a finder that gives the
collection's modules inside a zip a spec with its origin already known, so that zipimport compiles them only when
it runs them. It answers for nothing else (other packages, files outside a zip, Python before 3.10, whose
zipimport has no exec_module) and leaves all of those to the normal import system.

Importing this module changes nothing: a module calls install() before it imports its other module_utils. The
finder goes just before Python's path-based finder, the one it stands in for, behind any finder placed before that
one (ansible-test's import sanity test keeps its own loader first).
"""

from __future__ import annotations

import sys
import zipimport
from importlib.machinery import ModuleSpec, PathFinder

_PREFIX = 'ansible_collections.proxfleet.proxmox.'


class OneCompileFinder(object):
    """A meta path finder for this collection's modules inside a zip: the zipimporter's own loader, one compile."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX) or not path:
            return None
        last = fullname.rpartition('.')[2]
        for entry in path:
            if '.zip' not in str(entry):
                continue
            try:
                importer = zipimport.zipimporter(entry)
                is_package = importer.is_package(fullname)
            except (zipimport.ZipImportError, OSError):
                continue
            # The location zipimport itself would give (archive/dir/name.py), so __file__ and __path__ are the same.
            location = '{0}/{1}'.format(str(entry).rstrip('/'), last)
            spec = ModuleSpec(fullname, importer,  # type: ignore[arg-type]  # a zipimporter is a Loader at run time
                              origin=location + ('/__init__.py' if is_package else '.py'),
                              is_package=is_package)
            spec.has_location = True
            if is_package:
                spec.submodule_search_locations = [location]
            return spec
        return None


def install():
    """Put the finder just before the path-based finder (which holds zipimport), once; finders that come before it
    (the interpreter's, a test harness's) stay first. A no-op where zipimport cannot run modules by spec."""
    if not hasattr(zipimport.zipimporter, 'exec_module') or OneCompileFinder in sys.meta_path:
        return
    for index, finder in enumerate(sys.meta_path):
        if finder is PathFinder:
            sys.meta_path.insert(index, OneCompileFinder)
            return
