#!/usr/bin/env bash
# The docs gate:
#   1. antsibull-docs lint-collection-docs --plugin-docs: every module's and plugin's DOCUMENTATION / EXAMPLES /
#      RETURN against the docsite schema and markup rules, and the extra docs in docs/docsite (extra-docs.yml,
#      links.yml, rst/), with references to this collection and to ansible.builtin validated;
#   2. the HTML site of the collection in .cache/docs-site/build/html (antsibull-docs sphinx-init, then the two
#      steps of its build.sh), failing on every antsibull-docs error and every Sphinx warning.
# Offline: intersphinx never fetches anything. The few references the generated pages make into the Ansible
# documentation (return values, configuration settings, ANSIBLE_* variables, ansible.builtin plugins) resolve
# through a small inventory written here, so the site still links to docs.ansible.com.
# usage: docs.sh            (from anywhere; uses .venv when it exists)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
collection=proxfleet.proxmox
dest="$root/.cache/docs-site"
ansible_docs=https://docs.ansible.com/projects/ansible/devel/

if [[ -x "$root/.venv/bin/antsibull-docs" ]]; then
    export PATH="$root/.venv/bin:$PATH"
fi
export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections"
# Only the collections under .cache/collections (ours, by the link below), never the user's ~/.ansible.
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
link=$("$here/collection_link.sh")

echo "docs: lint-collection-docs --plugin-docs"
lint_rc=0
# --skip-rstcheck: the generated pages go through Sphinx with -W below, which reports the same RST problems.
(cd "$link" && antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck --check-extra-docs-refs \
    --validate-collection-refs dependent --disallow-unknown-collection-refs .) || lint_rc=$?
# Build the site even after a lint failure, so one run shows every problem.

echo "docs: site in $dest"
rm -rf "$dest"
mkdir -p "$dest"
# antsibull-docs leaves out the roles of a collection it finds through a symbolic link (the link in .cache/collections),
# so the site is built from a copy: the files git tracks or would track, of the parts the docs come from.
copy="$dest/collections/ansible_collections/proxfleet/proxmox"
mkdir -p "$copy"
(cd "$root" && git ls-files -z --cached --others --exclude-standard -- galaxy.yml README.md meta plugins roles docs/docsite |
    while IFS= read -r -d '' file; do if [[ -e $file ]]; then printf '%s\0' "$file"; fi; done |
    tar --null -T - -cf -) | tar -xf - -C "$copy"
export ANSIBLE_COLLECTIONS_PATH="$dest/collections"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$dest" \
    --no-add-antsibull-docs-version \
    --project "$collection" --copyright "proxfleet developers" --title "$collection" \
    "$collection" >/dev/null
cd "$dest"

# The same two steps as the generated build.sh, with the offline inventory written between them.
mkdir -p rst
chmod og-w rst
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error --use-current \
    --squash-hierarchy --dest-dir rst "$collection"

python - "$dest/rst" "$dest/ansible_devel.inv" <<'PY'
"""Write a Sphinx inventory (format 2) for the Ansible documentation targets the generated pages refer to."""
import pathlib
import re
import sys
import zlib

rst, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
entries = {
    ("common_return_values", "std:label"): "reference_appendices/common_return_values.html#common-return-values",
    ("ansible_configuration_settings", "std:label"): "reference_appendices/config.html#ansible-configuration-settings",
    ("module_defaults", "std:label"): "playbook_guide/playbooks_module_defaults.html#module-defaults",
    # The note on a module that has an action plugin of the same name (pve_apply, pve_token, pbs_token).
    ("action_plugins", "std:label"): "plugins/action.html#action-plugins",
}
text = "\n".join(p.read_text(encoding="utf-8") for p in rst.rglob("*.rst"))
# Local targets win over the inventory, so listing one the site defines itself is harmless.
for name in {m.replace("\\", "") for m in re.findall(r":envvar:`([A-Z0-9_\\]+)`", text)}:
    if name.startswith("ANSIBLE_"):
        entries[(name, "std:envvar")] = "reference_appendices/config.html#envvar-" + name
for label, name, kind in set(re.findall(r"(ansible_collections\.ansible\.builtin\.(\w+?)_(module|lookup|filter|test|inventory|callback|connection|become|cache|vars|strategy|shell))\b", text)):
    entries[(label, "std:label")] = f"collections/ansible/builtin/{name}_{kind}.html#{label.replace('.', '-').replace('_', '-')}"
lines = [f"{name} {role} -1 {uri} -" for (name, role), uri in sorted(entries.items())]
header = b"# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n# The remainder of this file is compressed using zlib.\n"
out.write_bytes(header + zlib.compress(("\n".join(lines) + "\n").encode()))
PY

cat >>conf.py <<EOF

# Added by tests/tools/docs.sh: no network. The Ansible documentation through a local inventory only.
intersphinx_mapping = {'ansible_devel': ('$ansible_docs', '$dest/ansible_devel.inv')}
EOF

sphinx-build -M html rst build -c . -W --keep-going -q
echo "docs: site built: $dest/build/html/index.html"
if ((lint_rc)); then
    echo "docs: lint-collection-docs FAILED (exit $lint_rc): see its messages above" >&2
    exit "$lint_rc"
fi
