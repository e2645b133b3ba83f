#!/usr/bin/env python
"""Install the get-pip stand-in where ``ansible-test --requirements`` looks for its cached bootstrap script.

Run with the Python of the virtual environment that holds ansible-core (``make sanity`` does this).
It reads the pip version ansible-test bootstraps from the installed ansible-test, then writes
``tests/tools/get_pip_standin.py`` to ``~/.ansible/test/cache/get_pip_<version>.py`` with the
caller's pip-related environment (index, find-links, certificate, proxies) captured in it, because
ansible-test hides that environment from the programs it runs.

A cached file that is not our stand-in (a real get-pip.py someone downloaded) is left alone.
"""

from __future__ import annotations

import os
import re
import sys

MARKER = "# @captured-env@"
CAPTURED_NAMES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "PIP_CLIENT_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "PIP_RETRIES",
    "PIP_PROXY",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)


def ansible_test_pip_version() -> str:
    import ansible_test

    source_path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source_path, encoding="utf-8") as handle:
        source = handle.read()
    match = re.search(r"default_packages\s*=\s*dict\(\s*pip\s*=\s*'([0-9.]+)'", source)
    if not match:
        raise SystemExit("install_get_pip: cannot find the pip version in %s" % source_path)
    return match.group(1)


def render(template: str) -> str:
    captured = {name: os.environ[name] for name in CAPTURED_NAMES if os.environ.get(name)}
    lines = []
    replaced = False
    for line in template.splitlines(keepends=True):
        if line.rstrip().endswith(MARKER) and line.startswith("CAPTURED_ENV"):
            line = "CAPTURED_ENV: dict = %r  %s\n" % (captured, MARKER)
            replaced = True
        lines.append(line)
    if not replaced:
        raise SystemExit("install_get_pip: marker line not found in the stand-in")
    return "".join(lines)


def main() -> int:
    version = ansible_test_pip_version()
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "get_pip_standin.py"), encoding="utf-8") as handle:
        content = render(handle.read())

    cache_dir = os.path.expanduser("~/.ansible/test/cache")
    target = os.path.join(cache_dir, "get_pip_%s.py" % version.replace(".", "_"))
    os.makedirs(cache_dir, exist_ok=True)

    if os.path.exists(target):
        with open(target, encoding="utf-8") as handle:
            current = handle.read()
        if MARKER not in current:
            print("install_get_pip: keeping existing bootstrap script %s (not our stand-in)" % target)
            return 0
        if current == content:
            return 0

    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(tmp, target)
    print("install_get_pip: installed stand-in for pip %s at %s" % (version, target))
    return 0


if __name__ == "__main__":
    sys.exit(main())
