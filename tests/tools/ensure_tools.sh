#!/usr/bin/env bash
# Make sure the programs the gates need beyond .venv are there, installing the missing ones with apt-get when we run
# as root on a Debian-like machine (as on a fresh CI machine); otherwise fail, naming what is missing and the command
# that installs it. No gate skips because a program is missing.
# usage: ensure_tools.sh TOOL...
#   Chromium (chromium), for the fleet report's rendering test (`make integration`);
#   the ShellCheck linter (shellcheck), for ansible-test sanity's shellcheck test (`make sanity`, `make matrix`).
# Exits 0 when every TOOL is available, 1 otherwise.
set -euo pipefail

packages_of() {
    case "$1" in
        chromium) echo "chromium fonts-dejavu-core" ;;
        shellcheck) echo "shellcheck" ;;
        *) echo "ensure_tools: unknown tool '$1' (known: chromium, shellcheck)" >&2; return 2 ;;
    esac
}

missing=()
packages=()
for tool in "$@"; do
    pkgs=$(packages_of "$tool")
    if ! command -v "$tool" >/dev/null 2>&1; then
        missing+=("$tool")
        read -r -a words <<<"$pkgs"
        packages+=("${words[@]}")
    fi
done
if (( ${#missing[@]} == 0 )); then
    exit 0
fi

command="apt-get install --no-install-recommends ${packages[*]}"
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_tools: missing: ${missing[*]}; the gates need them and cannot install them here (that needs root and" \
        "apt-get). Install them, e.g.: sudo apt-get update && sudo $command" >&2
    exit 1
fi

echo "ensure_tools: installing ${missing[*]} (apt-get install ${packages[*]})"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { timeout 300 apt-get update -qq && timeout 900 apt-get install -y -qq --no-install-recommends "${packages[@]}"; } \
    >"$log" 2>&1; then
    tail -n 20 "$log" >&2
fi
still=()
for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || still+=("$tool")
done
if (( ${#still[@]} )); then
    echo "ensure_tools: could not install ${still[*]} (see apt-get's messages above); install them, e.g.:" \
        "apt-get update && $command" >&2
    exit 1
fi
