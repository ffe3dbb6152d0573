#!/usr/bin/env bash
# The system libraries the product needs beyond Python and Node: Pango, HarfBuzz and a font for the
# PDF summaries of the audit files (weasyprint). Installs the Debian packages where they are missing
# (as root, with apt-get); says what to install otherwise. Quiet when everything is there.
# Also Debian's `chromium` for the browser tests (Playwright drives it; its own browser download fails
# here): optional — when it cannot be installed a line says so and the browser tests skip, saying why.
set -euo pipefail

install_chromium() {
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system package: chromium (for the browser tests)"
    if apt-get install -y -q chromium >/dev/null 2>&1 \
       || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; then
      return 0
    fi
  fi
  echo "NOTE: chromium is not installed and could not be (sudo apt-get install chromium);" \
       "the browser tests will be skipped" >&2
}
install_chromium
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]}"
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
elif ! command -v dpkg-query >/dev/null; then
  echo "note: install Pango, HarfBuzz (subset) and a TrueType font for the PDF audit files" >&2
else
  echo "error: missing system packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
