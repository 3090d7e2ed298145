#!/usr/bin/env bash
# Installs axe-core (the accessibility engine the HTML edition's browser tests inject
# into the page) into .tools/axe/, from the pinned scripts/axe/package-lock.json.
# Needs node and npm (scripts/system-deps.sh). Nothing is vendored into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools/axe
js="$dest/node_modules/axe-core/axe.min.js"
if [ -f "$js" ] && cmp -s scripts/axe/package-lock.json "$dest/package-lock.json"; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: run scripts/system-deps.sh as root" >&2; exit 1; }
mkdir -p "$dest"
cp scripts/axe/package.json scripts/axe/package-lock.json "$dest/"
echo "installing axe-core into $dest/"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
test -f "$js"
