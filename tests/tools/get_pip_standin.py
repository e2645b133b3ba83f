#!/usr/bin/env python
"""Stand-in for the ``get-pip.py`` bootstrap script that ``ansible-test --requirements`` downloads.

ansible-test creates empty virtual environments for its sanity tests and bootstraps pip into them
with ``get-pip-<version>.py``, fetched from a host that machines without general internet access
cannot reach. It also strips ``PIP_*`` (and proxy) variables from the environment of the programs it
starts, so the bootstrap and the installs after it lose the index, certificate and proxy settings of
the machine.

``tests/tools/install_get_pip.py`` installs this file as
``~/.ansible/test/cache/get_pip_<version>.py`` (the cache path ansible-test looks at before
downloading), with the caller's pip settings captured in ``CAPTURED_ENV``. Run inside one of
ansible-test's virtual environments it:

1. bootstraps pip with the interpreter's own ``ensurepip`` (offline),
2. writes a site ``pip.conf`` into the virtual environment carrying the captured settings and the
   system CA bundle (``ssl.get_default_verify_paths()``), so later ``pip install`` runs there reach
   the same index,
3. runs ``pip install`` with the arguments ansible-test gave (``pip==<version>`` ...), dropping the
   get-pip-only options ``--no-setuptools``, ``--no-wheel`` and ``--no-pip``.

This file must stay importable on its own: ansible-test runs it with ``runpy.run_module``.
"""

from __future__ import annotations

import configparser
import os
import ssl
import subprocess
import sys

# Replaced by install_get_pip.py with the pip-related environment of the caller (a dict literal).
CAPTURED_ENV: dict = {}  # @captured-env@

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel", "--no-pip")

# pip environment variable -> pip.conf key in [global]
CONF_KEYS = {
    "PIP_INDEX_URL": "index-url",
    "PIP_EXTRA_INDEX_URL": "extra-index-url",
    "PIP_FIND_LINKS": "find-links",
    "PIP_TRUSTED_HOST": "trusted-host",
    "PIP_CERT": "cert",
    "PIP_CLIENT_CERT": "client-cert",
    "PIP_DEFAULT_TIMEOUT": "timeout",
    "PIP_RETRIES": "retries",
    "PIP_PROXY": "proxy",
}


def log(message: str) -> None:
    sys.stderr.write("get-pip stand-in: %s\n" % message)


def ca_bundle() -> str | None:
    """Return the CA bundle to give pip: the captured PIP_CERT, else the system default."""
    cert = CAPTURED_ENV.get("PIP_CERT") or os.environ.get("PIP_CERT")
    if cert and os.path.exists(cert):
        return cert
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def settings() -> dict:
    """Return the pip.conf [global] settings to apply inside the virtual environment."""
    values = {}
    for env_name, key in CONF_KEYS.items():
        value = CAPTURED_ENV.get(env_name)
        if value:
            values[key] = value
    if "proxy" not in values:
        for env_name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            if CAPTURED_ENV.get(env_name):
                values["proxy"] = CAPTURED_ENV[env_name]
                break
    cert = ca_bundle()
    if cert:
        values["cert"] = cert
    return values


def write_site_config(values: dict) -> None:
    """Write <venv>/pip.conf so that later pip runs in this environment use the same settings."""
    if sys.prefix == getattr(sys, "base_prefix", sys.prefix):
        return  # not a virtual environment: leave the system alone
    path = os.path.join(sys.prefix, "pip.conf")
    config = configparser.ConfigParser()
    config.read(path)
    if not config.has_section("global"):
        config.add_section("global")
    for key, value in values.items():
        config.set("global", key, value)
    with open(path, "w", encoding="utf-8") as handle:
        config.write(handle)


def child_environment(values: dict) -> dict:
    env = dict(os.environ)
    for env_name, value in CAPTURED_ENV.items():
        env.setdefault(env_name, value)
    if "cert" in values:
        env["PIP_CERT"] = values["cert"]
    return env


def have_pip(env: dict) -> bool:
    return subprocess.call([sys.executable, "-c", "import pip"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def main(argv: list) -> int:
    values = settings()
    write_site_config(values)
    env = child_environment(values)

    if not have_pip(env):
        log("bootstrapping pip with ensurepip")
        rc = subprocess.call([sys.executable, "-m", "ensurepip", "--default-pip"], env=env, stdout=subprocess.DEVNULL)
        if rc != 0:
            log("ensurepip failed with exit code %d" % rc)
            return rc

    args = [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]
    packages = [arg for arg in args if not arg.startswith("-")]
    if not packages:
        return 0
    command = [sys.executable, "-m", "pip", "install"]
    if "cert" in values:
        command += ["--cert", values["cert"]]
    command += args
    log("running: %s" % " ".join(command))
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
