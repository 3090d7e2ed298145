#!/usr/bin/env bash
# Installs Ace by DAISY (the EPUB accessibility checker the tests run) into .tools/,
# from the pinned scripts/ace/package-lock.json. Its Electron and puppeteer browser
# downloads are skipped: the tests run `ace-puppeteer` with Debian's chromium
# (PUPPETEER_EXECUTABLE_PATH). Needs node and npm (scripts/system-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools
bin="$dest/node_modules/.bin/ace-puppeteer"
if [ -x "$bin" ] && cmp -s scripts/ace/package-lock.json "$dest/package-lock.json"; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: run scripts/system-deps.sh as root" >&2; exit 1; }
mkdir -p "$dest"
cp scripts/ace/package.json scripts/ace/package-lock.json "$dest/"
echo "installing Ace by DAISY into $dest/"
(cd "$dest" && ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
  npm ci --no-audit --no-fund --loglevel=error)
test -x "$bin"
