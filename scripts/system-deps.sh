#!/usr/bin/env bash
# Installs the Debian packages publish needs, by list:
#   render  what rendering needs (make build): Pango/HarfBuzz for WeasyPrint, the Noto fonts
#   test    what only the tests need (make test adds it): poppler, LibreOffice, a JRE
#           (EPUBCheck), chromium (Ace, Playwright), calibre, node and npm (Ace, axe-core)
# Usage: scripts/system-deps.sh [render] [test]   (no list: both)
#        scripts/system-deps.sh --list [render] [test]   (print the packages, install nothing)
# As root: installs what is missing. Otherwise: prints the exact apt-get line and fails.
set -euo pipefail
RENDER=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   # WeasyPrint (+ fast subsetting)
  fonts-noto-core        # Noto Serif (Latin, Greek, Cyrillic), Naskh Arabic, Serif Devanagari...
  fonts-noto-cjk         # Noto Serif CJK SC (Chinese)
  fonts-noto-color-emoji fonts-symbola                   # emoji (colour) + symbols (monochrome) fallback
)
TEST=(
  poppler-utils                                          # pdftotext/pdftoppm in tests
  libreoffice-writer-nogui                               # opens the DOCX in tests
  libreoffice-math-nogui                                 # ... and its formulas (OMML)
  default-jre-headless                                   # EPUBCheck
  chromium                                               # Ace by DAISY (ace-puppeteer), Playwright
  calibre                                                # ebook-convert/ebook-meta (Kindle) in tests
  nodejs npm                                             # installs and runs Ace and axe-core
)
list_only=0
if [ "${1:-}" = "--list" ]; then list_only=1; shift; fi
[ $# -eq 0 ] && set -- render test
PACKAGES=()
for l in "$@"; do
  case "$l" in
    render) PACKAGES+=("${RENDER[@]}") ;;
    test) PACKAGES+=("${TEST[@]}") ;;
    *) echo "unknown package list '$l' (render, test)" >&2; exit 2 ;;
  esac
done
if [ "$list_only" -eq 1 ]; then printf '%s\n' "${PACKAGES[@]}"; exit 0; fi
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # a JRE from elsewhere is fine for EPUBCheck
    if [ "$p" = default-jre-headless ] && command -v java >/dev/null 2>&1; then continue; fi
    # node and npm from elsewhere (e.g. NodeSource's nodejs, which bundles npm) are fine
    if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "publish needs these Debian packages ($*); run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
