#!/usr/bin/env bash
# Run one pytest suite as a quality gate.
# usage: pytest_gate.sh NAME DIRECTORY [pytest args...]
# DIRECTORY may also be a file or a pytest node id. Writes a JUnit report to .cache/reports/NAME.xml (run_gates.sh adds
# the counts up; PYTEST_GATE_REPORTS names another directory).
# pytest's exit code 5 (no tests collected) is a failure here: a gate that ran nothing has not passed.
# Set ALLOW_NO_TESTS=1 to accept an empty suite while it is being written.
# No test skips silently: every skip is listed with its reason, and a skip whose reason tests/tools/allowed_skips.txt
# does not allow fails the gate (a missing program is installed by ensure_tools.sh or fails its test instead).
set -euo pipefail

name=${1:?name}
directory=${2:?directory}
shift 2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
reports=${PYTEST_GATE_REPORTS:-$root/.cache/reports}
mkdir -p "$reports"
rm -f "$reports/$name.xml"

path=${directory%%::*}
[[ $path == /* ]] || path="$root/$path"
if [[ ! -e $path ]]; then
    echo "pytest_gate: $directory does not exist" >&2
    [[ "${ALLOW_NO_TESTS:-0}" == 1 ]] && exit 0
    exit 1
fi

cd "$root"
rc=0
python -m pytest "$directory" --junitxml="$reports/$name.xml" "$@" || rc=$?

if [[ -f "$reports/$name.xml" ]]; then
    python "$root/tests/tools/check_skips.py" "$root/tests/tools/allowed_skips.txt" "$reports/$name.xml" || { (( rc )) || rc=1; }
fi
if [[ $rc -eq 5 ]]; then
    echo "pytest_gate: $name: no tests were collected in $directory (pytest exit 5)" >&2
    [[ "${ALLOW_NO_TESTS:-0}" == 1 ]] && exit 0
    exit 1
fi
exit "$rc"
