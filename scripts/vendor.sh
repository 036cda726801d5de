#!/bin/sh
# Refresh vendored front-end libraries from the npm registry at pinned versions.
#   htmx.org  -> static/vendor/htmx/      (served to browsers)
#   qrcode-generator -> static/vendor/qrcode-generator/ (the kiosk's ticket QR, drawn by the tablet)
#   axe-core  -> tests/e2e/vendor/axe-core/ (injected by the browser tests only; never served)
set -eu
HTMX_VERSION=2.0.11
QRCODE_VERSION=2.0.4
AXE_VERSION=4.14.1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar xzf htmx.org-*.tgz)
mkdir -p static/vendor/htmx
cp "$tmp/package/dist/htmx.min.js" static/vendor/htmx/htmx.min.js
cp "$tmp/package/LICENSE" static/vendor/htmx/LICENSE
echo "$HTMX_VERSION" > static/vendor/htmx/VERSION
echo "vendored htmx.org $HTMX_VERSION"
rm -rf "$tmp/package"

(cd "$tmp" && npm pack --silent "qrcode-generator@$QRCODE_VERSION" >/dev/null && tar xzf qrcode-generator-*.tgz)
mkdir -p static/vendor/qrcode-generator
cp "$tmp/package/dist/qrcode.js" static/vendor/qrcode-generator/qrcode.js
# The package ships no LICENSE file: its notice (MIT) heads qrcode.js.
awk 'NR > 1 && /^\/\/-{10,}/ {print; exit} {print}' "$tmp/package/dist/qrcode.js" > static/vendor/qrcode-generator/LICENSE
echo "$QRCODE_VERSION" > static/vendor/qrcode-generator/VERSION
echo "vendored qrcode-generator $QRCODE_VERSION"
rm -rf "$tmp/package"

(cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf axe-core-*.tgz)
mkdir -p tests/e2e/vendor/axe-core
cp "$tmp/package/axe.min.js" tests/e2e/vendor/axe-core/axe.min.js
cp "$tmp/package/LICENSE" tests/e2e/vendor/axe-core/LICENSE
echo "$AXE_VERSION" > tests/e2e/vendor/axe-core/VERSION
echo "vendored axe-core $AXE_VERSION"
