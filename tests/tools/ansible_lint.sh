#!/usr/bin/env bash
# ansible-lint (production profile, see .ansible-lint) on roles/ and playbooks/.
# A pass with nothing to do when neither holds any YAML yet.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
cd "$root"

targets=()
for dir in roles playbooks; do
    if [[ -d "$dir" ]] && [[ -n "$(find "$dir" -type f \( -name '*.yml' -o -name '*.yaml' \) -print -quit)" ]]; then
        targets+=("$dir")
    fi
done
if (( ${#targets[@]} == 0 )); then
    echo "ansible-lint: no roles or playbooks yet, nothing to lint"
    exit 0
fi

ANSIBLE_COLLECTIONS_PATH="$(dirname "$(dirname "$(dirname "$("$here/collection_link.sh")")")")" \
    exec ansible-lint --profile production "${targets[@]}"
