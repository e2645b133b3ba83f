#!/usr/bin/env bash
# Run one pytest suite as a quality gate.
# usage: pytest_gate.sh NAME DIRECTORY [pytest args...]
# Writes a JUnit report to .cache/reports/NAME.xml (run_gates.sh adds the counts up).
# pytest's exit code 5 (no tests collected) is a failure here: a gate that ran nothing has not passed.
# Set ALLOW_NO_TESTS=1 to accept an empty suite while it is being written.
set -euo pipefail

name=${1:?name}
directory=${2:?directory}
shift 2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
reports="$root/.cache/reports"
mkdir -p "$reports"
rm -f "$reports/$name.xml"

if [[ ! -d "$root/$directory" ]]; then
    echo "pytest_gate: $directory does not exist" >&2
    [[ "${ALLOW_NO_TESTS:-0}" == 1 ]] && exit 0
    exit 1
fi

cd "$root"
rc=0
python -m pytest "$directory" --junitxml="$reports/$name.xml" "$@" || rc=$?

if [[ $rc -eq 5 ]]; then
    echo "pytest_gate: $name: no tests were collected in $directory (pytest exit 5)" >&2
    [[ "${ALLOW_NO_TESTS:-0}" == 1 ]] && exit 0
    exit 1
fi
exit "$rc"
