#!/usr/bin/env bash
# install.sh: installs the vendors' reference code of package-lock.json into
# tests/npm/node_modules with `npm ci` (exact versions, integrity checked), unless what is
# installed already came from this lockfile. Used by tests/run.sh.
# Exit: 0 installed (or already), 1 npm missing or failed.
set -uo pipefail

cd "$(dirname "$0")" || exit 1
if ! command -v npm >/dev/null 2>&1; then
    echo "tests/npm/install.sh: npm is missing (Node.js 20 with npm is needed by the tests)" >&2
    exit 1
fi
stamp=node_modules/.ota-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -r $stamp && $(cat "$stamp") == "$want" ]]; then
    exit 0
fi
echo "==> npm ci in tests/npm"
if ! npm ci --no-audit --no-fund --loglevel=error; then
    echo "tests/npm/install.sh: npm ci failed" >&2
    exit 1
fi
echo "$want" >"$stamp"
