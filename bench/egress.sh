#!/usr/bin/env bash
# Bytes on the wire from the hub to its clients (issue 14), measured on loopback: each scenario on its
# own connection for DURATION seconds, counted from the client's socket reads and cross-checked with
# the kernel's per-socket count (`ss -ti` bytes_received). Scenarios: the dashboard's fleet view (10
# simulated servers plus the host), a server's detail view with its live chart, a hidden tab, the web
# app's polling of /api/servers and /api/metrics every 5 s; the same polling as Chromium sends it (every
# coding, `Available-Dictionary`: answers as `dcb` against the previous one, RFC 9842), over HTTP/1.1 and
# over HTTPS (Chromium keeps dictionaries only in a secure context, so over plain HTTP only for
# localhost); the same over HTTPS from a browser that keeps no dictionaries (Firefox, Safari); and the "before"
# client of each (the old dashboard's socket: no subscription, no permessage-deflate; polling without
# If-None-Match).
# And one agent at its default interval (5 s) through a byte-counting relay, before (the version 1
# body, a report per sample, as older agents) and after (compact body, 15 s batches): bytes each way,
# cross-checked with the kernel's tcp_info of the relay's agent-side sockets. The two share this
# machine's id, so the hub shows them as one server.
#
# Usage: bench/egress.sh [--duration SECONDS]   (default 600, the issue's 10 minutes)
#   GUARD=1 leaves the egress guard at its default (else it is off: normal rates are measured).
#   EGRESS_BIN=path/to/openmanager uses that binary instead of the dist build (bytes do not depend on
#   the profile).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
DURATION=600
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "${EGRESS_BIN:-}" ]; then BIN=$EGRESS_BIN; else [ -n "${SKIP_BUILD:-}" ] || build_release; fi
data=$(mktemp -d)
PORT=19041
# GUARD=1 keeps the egress guard at its default; otherwise it is off, so the figures are the normal
# rates (a busy machine's own traffic can project past 80% of 1 GB and slow everything to guard rates).
guard=()
[ -n "${GUARD:-}" ] || guard=(OPENMANAGER_BUDGET__EGRESS_GUARD_PERCENT=1000)
start_ours "$PORT" "$data" OPENMANAGER_RATE_LIMIT__ENABLED=false "${guard[@]}"
# A second hub with HTTPS (self-signed) for the poller over HTTP/2: the web app's page is HTTPS, so a
# browser reaches the hub over HTTPS too (plain http:// fetches are blocked as mixed content).
TLS_PORT=$((PORT + 1))
mkdir -p "$data/tls-hub"
env PORT="$TLS_PORT" HOST=127.0.0.1 OPENMANAGER_DATA_DIR="$data/tls-hub" OPENMANAGER_LOG=warn \
  OPENMANAGER_ADMIN_TOKEN="$BENCH_TOKEN" OPENMANAGER_TLS__MODE=self-signed OPENMANAGER_RATE_LIMIT__ENABLED=false \
  "${guard[@]}" "$BIN" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do curl -fsk -o /dev/null "https://127.0.0.1:$TLS_PORT/api/health" && break; sleep 0.05; done
sleep 2
# The dictionary pollers decode dcb with Google's brotli C decoder (1.2 exports the dictionary call),
# and the HTTPS one speaks HTTP/2 through the h2 package; both installed once into a cache venv;
# without them those scenarios are skipped.
venv=${XDG_CACHE_HOME:-$HOME/.cache}/openmanager-bench/venv
if [ ! -x "$venv/bin/python3" ] || ! "$venv/bin/python3" -c 'import brotli, h2' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'brotli==1.2.0' 'h2==4.*' >&2 || echo "(no brotli/h2 venv)" >&2
fi
py=python3
[ -x "$venv/bin/python3" ] && py=$venv/bin/python3
echo "== egress over ${DURATION} s (bytes the hub sent, per scenario)"
EGRESS_AGENT_BIN=$BIN EGRESS_TLS_PORT=$TLS_PORT "$py" "$(dirname "$0")/lib/egress_clients.py" "$PORT" "$BENCH_TOKEN" "$DURATION"
rm -rf "$data"
