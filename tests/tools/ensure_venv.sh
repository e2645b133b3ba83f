#!/usr/bin/env bash
# Make (or reuse) the development virtualenv.
# usage: ensure_venv.sh PYTHON VENV_DIR REQUIREMENTS_FILE
# The venv is reused while the requirements file and the interpreter version are unchanged (stamp file);
# otherwise it is rebuilt from scratch so that nothing stale survives an upgrade.
set -euo pipefail

python=${1:?python}
venv=${2:?venv dir}
requirements=${3:?requirements file}

if ! command -v "$python" >/dev/null 2>&1; then
    echo "ensure_venv: no Python interpreter '$python' (need Python 3.11: python3.11 or python3)" >&2
    exit 2
fi
version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
case "$version" in
    3.11.*) ;;
    *) echo "ensure_venv: warning: $python is Python $version; the project is tested on 3.11" >&2 ;;
esac

want="$(sha256sum "$requirements" | cut -d' ' -f1) python-$version"
stamp="$venv/.requirements-dev.stamp"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

echo "ensure_venv: building $venv with Python $version from $requirements"
start=$SECONDS
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --requirement "$requirements"
echo "$want" >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
echo "ensure_venv: ready in $((SECONDS - start))s"
