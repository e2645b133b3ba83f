#!/usr/bin/env bash
# The support-matrix gate: the ansible-core releases the README promises besides the one .venv holds, each in its
# own virtualenv, .cache/matrix/<release>, built from tests/tools/matrix/requirements-<release>.txt and reused while
# that file is unchanged. On each:
#   1. ansible-test sanity --python 3.11 --requirements, every test but pylint (the style linter: `make sanity` runs
#      it on the main release), no ignore file;
#   2. the unit tests, tests/unit less tests/unit/lab (the lab's own tests, which do not touch ansible-core);
#   3. the smoke set of integration tests named in tests/tools/matrix/smoke.txt, against the lab.
# usage: matrix.sh [RELEASE...]      (default: every requirements-<release>.txt; MATRIX_STEPS="sanity unit smoke")
# Keeps going after a failure so one run shows every problem; exits non-zero if any step failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
steps=${MATRIX_STEPS:-sanity unit smoke}
workers=${MATRIX_WORKERS:-2}

releases=("$@")
if (( ${#releases[@]} == 0 )); then
    for file in "$here"/matrix/requirements-*.txt; do
        release=${file##*/requirements-}
        releases+=("${release%.txt}")
    done
fi
if (( ${#releases[@]} == 0 )); then
    echo "matrix: no tests/tools/matrix/requirements-*.txt" >&2
    exit 1
fi

mapfile -t smoke < <(grep -Ev '^[[:space:]]*(#|$)' "$here/matrix/smoke.txt")
if (( ${#smoke[@]} == 0 )); then
    echo "matrix: tests/tools/matrix/smoke.txt names no test" >&2
    exit 1
fi

# The pytest options of pyproject.toml less pytest-ansible's, which is not in these venvs (it refuses ansible-core 2.17).
pytest_opts=(-o "addopts=-ra -p no:cacheprovider" -n "$workers" --dist loadfile)

failures=()
summary=()
for release in "${releases[@]}"; do
    requirements="$here/matrix/requirements-$release.txt"
    venv="$root/.cache/matrix/$release"
    if [[ ! -f $requirements ]]; then
        echo "matrix: no $requirements" >&2
        failures+=("$release: requirements")
        continue
    fi
    echo "------------------- matrix: ansible-core $release -------------------"
    start=$SECONDS
    if ! "$here/ensure_venv.sh" "$python" "$venv" "$requirements"; then
        failures+=("$release: venv")
        continue
    fi
    version=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
    if [[ $version != "$release".* ]]; then
        echo "matrix: $venv holds ansible-core $version, not $release.x" >&2
        failures+=("$release: venv holds ansible-core $version")
        continue
    fi
    times=("venv $((SECONDS - start))s")
    for step in $steps; do
        echo "matrix: ansible-core $version: $step"
        start=$SECONDS
        case $step in
            sanity) cmd=("$here/sanity.sh" --skip-test pylint) ;;
            unit) cmd=("$here/pytest_gate.sh" "matrix-$release-unit" tests/unit --ignore=tests/unit/lab "${pytest_opts[@]}") ;;
            smoke) cmd=("$here/pytest_gate.sh" "matrix-$release-smoke" "${smoke[0]}" "${smoke[@]:1}" "${pytest_opts[@]}") ;;
            *) echo "matrix: unknown step '$step' (sanity, unit, smoke)" >&2; failures+=("$release: $step"); continue ;;
        esac
        # The release's venv first: its python, ansible-test, ansible-playbook (the tests run ansible-playbook from PATH).
        if ! PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv" "${cmd[@]}"; then
            failures+=("$release: $step")
        fi
        times+=("$step $((SECONDS - start))s")
    done
    summary+=("ansible-core $version: ${times[*]}")
done

echo "------------------- matrix: summary -------------------"
printf '  %s\n' "${summary[@]}"
if (( ${#failures[@]} )); then
    echo "matrix: FAILED: ${failures[*]}" >&2
    exit 1
fi
echo "matrix: ansible-core ${releases[*]}: $steps passed"
