#!/usr/bin/env bash
# Build the collection and run galaxy-importer on the tarball, as Galaxy would on upload (without its
# ansible-test container run: `make sanity` covers that). Any WARNING or ERROR from the importer fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
out="$root/.cache/galaxy"

rm -rf "$out"
mkdir -p "$out"
ansible-galaxy collection build --force --output-path "$out" "$root"
tarballs=("$out"/*.tar.gz)
tarball=${tarballs[0]}

cd "$out"
rc=0
GALAXY_IMPORTER_CONFIG="$here/galaxy-importer.cfg" python -m galaxy_importer.main "$tarball" 2>&1 | tee "$out/importer.log" || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "galaxy: galaxy-importer failed (exit $rc)" >&2
    exit "$rc"
fi
if grep -E '^(WARNING|ERROR|CRITICAL)' "$out/importer.log" >/dev/null; then
    echo "galaxy: galaxy-importer reported problems (see above)" >&2
    exit 1
fi
echo "galaxy: $(basename "$tarball") imports cleanly"
