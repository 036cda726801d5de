#!/bin/sh
# Refresh vendored front-end libraries from the npm registry at pinned versions.
set -eu
HTMX_VERSION=2.0.11
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null && tar xzf htmx.org-*.tgz)
mkdir -p static/vendor/htmx
cp "$tmp/package/dist/htmx.min.js" static/vendor/htmx/htmx.min.js
cp "$tmp/package/LICENSE" static/vendor/htmx/LICENSE
echo "$HTMX_VERSION" > static/vendor/htmx/VERSION
echo "vendored htmx.org $HTMX_VERSION"
