#!/usr/bin/env bash
# install-deps.sh: makes sure the Debian packages of deploy/debian-packages.txt are
# installed: as root it installs the missing ones with apt-get, otherwise it names them
# and fails. Used by tests/run.sh and deploy/quickstart.sh.
# Exit: 0 all present (or installed), 1 missing or apt-get failed.
set -uo pipefail

list=$(cd "$(dirname "$0")" && pwd)/debian-packages.txt
missing=()

if [[ ! -r $list ]]; then
    echo "install-deps.sh: $list is missing" >&2
    exit 1
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps.sh: no dpkg-query (not Debian?): not checking the packages of $list" >&2
    exit 0
fi
while read -r p; do
    p=${p%%#*}
    p=${p//[[:space:]]/}
    [[ -n $p ]] || continue
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done <"$list"
[[ ${#missing[@]} -gt 0 ]] || exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps.sh: install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "==> installing ${missing[*]}"
apt-get update || exit 1
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    exit 1
