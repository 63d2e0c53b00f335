#!/usr/bin/env bash
# Screenshot of a study report in headless Chromium (Debian's `chromium` package), to check
# by eye that its embedded images load and the page reads well:
#   docs/study/screenshot.sh study/report.html docs/study/report.png [WIDTH,HEIGHT]
# Needs `apt-get install -y chromium`. Runs without network, sandbox or GPU (fine as root in a
# container); a throw-away profile is used and removed.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT (default 1400,3000)]" >&2
    exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400,3000}
[ -f "$report" ] || { echo "$0: $1: no such file" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "$0: chromium not found (apt-get install -y chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --screenshot="$out" --window-size="$size" \
    "file://$report" 2>/dev/null
[ -s "$out" ] || { echo "$0: no screenshot written to $out" >&2; exit 1; }
echo "wrote $out"
