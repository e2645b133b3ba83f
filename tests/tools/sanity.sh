#!/usr/bin/env bash
# ansible-test sanity on this checkout, with no ignore file.
# usage: sanity.sh [extra ansible-test sanity args...]   (SANITY_PYTHON picks the Python version, default 3.11)
#
# ansible-test must run inside an ansible_collections/NAMESPACE/NAME tree: we use the symlink made by
# collection_link.sh and point ANSIBLE_TEST_CONTENT_ROOT at it (the process's working directory resolves
# the symlink, the variable does not). Since the link target is a git work tree, ansible-test takes its
# file list from git: tracked files plus untracked ones that .gitignore does not exclude.
#
# ansible-test --requirements bootstraps pip in the venvs it makes with a downloaded get-pip.py; the
# stand-in installed by install_get_pip.py bootstraps with ensurepip instead (see get_pip_standin.py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)

shopt -s nullglob
ignores=("$root"/tests/sanity/ignore-*.txt)
if (( ${#ignores[@]} )); then
    echo "sanity: ignore files are not allowed here, fix the code instead: ${ignores[*]}" >&2
    exit 1
fi

# Its shellcheck test skips (with a mere warning) when shellcheck is missing: install it, or fail saying so.
"$here/ensure_tools.sh" shellcheck
link=$("$here/collection_link.sh")
python "$here/install_get_pip.py"

unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
cd "$link"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
ANSIBLE_TEST_CONTENT_ROOT="$link" ansible-test sanity --python "${SANITY_PYTHON:-3.11}" --requirements "$@" 2>&1 |
    tee "$log" || rc=$?
# ansible-test skips a test whose program is missing with a mere warning: here that fails.
if grep -q 'Required program ".*" not found' "$log"; then
    echo "sanity: ansible-test skipped a test for a missing program (see its warning above); install it" \
        "(tests/tools/ensure_tools.sh knows shellcheck)" >&2
    ((rc)) || rc=1
fi
exit "$rc"
