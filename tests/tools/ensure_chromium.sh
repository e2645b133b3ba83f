#!/usr/bin/env bash
# Make sure headless Chromium is there for the fleet report's rendering test (tests/integration/test_fleet_report.py):
# Debian's `chromium`, installed with apt-get when it is missing and we run as root (as on a fresh CI machine).
# Quiet, with timeouts. Exits 0 when chromium is available, 1 when it is missing and could not be installed
# (the test then skips outside CI and fails under CI=true).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: chromium is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
fi
echo "ensure_chromium: installing chromium for the fleet report's rendering test"
export DEBIAN_FRONTEND=noninteractive
if { timeout 300 apt-get update -qq &&
    timeout 900 apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/dev/null 2>&1 &&
    command -v chromium >/dev/null 2>&1; then
    exit 0
fi
echo "ensure_chromium: could not install chromium" >&2
exit 1
