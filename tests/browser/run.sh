#!/usr/bin/env bash
# The dashboard's browser test: playwright-core (pinned in package-lock.json) driving Debian's Chromium
# against the real binary. Installs Chromium with apt and the npm package with `npm ci` when missing.
#
# Usage: tests/browser/run.sh [OPENMANAGER_BIN (default target/debug/openmanager)]
#   Builds nothing: first `cargo build -p openmanager`. CHROMIUM overrides /usr/bin/chromium.
#   DASH_TEST_ALERTS=0 skips "sees an alert arrive". OM_HTTPS=1 serves the dashboard over HTTPS with a
#   certificate made here, which Chromium trusts through its SPKI allow-list flag.
#   Prints the page weight and a TAP report; exits non-zero if a step failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/openmanager}
[ -x "$bin" ] || { echo "not executable: $bin (cargo build -p openmanager)" >&2; exit 2; }
bin=$(realpath "$bin")

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

cd "$here"
# `npm ci` installs exactly the lock file; skip it when that version is already there.
want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./node_modules/playwright-core/package.json").version } catch { "" }')
[ "$want" = "$have" ] || npm ci --no-audit --no-fund --loglevel=error

if [ "${OM_HTTPS:-}" = 1 ]; then
  tls_dir=$(mktemp -d)
  trap 'rm -rf "$tls_dir"' EXIT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" 2>/dev/null
  OM_TLS_SPKI=$(openssl x509 -in "$tls_dir/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der \
    | openssl dgst -sha256 -binary | base64)
  export OM_TLS_CERT="$tls_dir/cert.pem" OM_TLS_KEY="$tls_dir/key.pem" OM_TLS_SPKI
  export NODE_EXTRA_CA_CERTS="$tls_dir/cert.pem"
fi
timeout 600 node dashboard.test.mjs "$bin"
