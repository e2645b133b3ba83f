#!/usr/bin/env bash
# Run quality gates one after another (each is a make target), keep going after a failure so one run
# shows every problem, then print a table of results and times. Exits non-zero if any gate failed.
# usage: run_gates.sh GATE...
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
make_cmd=${MAKE:-make}

names=()
results=()
times=()
failed=0
total_start=$SECONDS
rm -rf "$root/.cache/reports"

for gate in "$@"; do
    echo
    echo "=================== gate: $gate ==================="
    start=$SECONDS
    if "$make_cmd" --no-print-directory -C "$root" "$gate"; then
        results+=("ok")
    else
        results+=("FAILED")
        failed=$((failed + 1))
    fi
    names+=("$gate")
    times+=($((SECONDS - start)))
done

echo
echo "=================== summary ==================="
for i in "${!names[@]}"; do
    printf '  %-14s %-7s %4ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
done
printf '  %-14s %-7s %4ss\n' "total" "" "$((SECONDS - total_start))"

if (( failed )); then
    echo "$failed of ${#names[@]} gates FAILED"
else
    echo "all ${#names[@]} gates passed"
fi

# Add up the pytest suites' JUnit reports into one closing line.
python - "$root/.cache/reports" <<'PY' || true
import glob, os, sys
import xml.etree.ElementTree as ET

tests = failures = errors = skipped = 0
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.xml"))):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failures += int(suite.get("failures", 0))
        errors += int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
if tests:
    passed = tests - failures - errors - skipped
    print("pytest: %d passed, %d failed, %d skipped" % (passed, failures + errors, skipped))
PY

(( failed == 0 ))
