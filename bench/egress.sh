#!/usr/bin/env bash
# Bytes on the wire from the hub to its clients (issue 14), measured on loopback: each scenario on its
# own connection for DURATION seconds, counted from the client's socket reads and cross-checked with
# the kernel's per-socket count (`ss -ti` bytes_received). Scenarios: the dashboard's fleet view (10
# simulated servers plus the host), a server's detail view with its live chart, a hidden tab, the web
# app's polling of /api/servers and /api/metrics every 5 s; the same polling as Chromium sends it (every
# coding, `Available-Dictionary`: answers as `dcb` against the previous one, RFC 9842); and the "before"
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
sleep 2
# The dictionary poller decodes dcb with Google's brotli C decoder (1.2 exports the dictionary call),
# installed once into a cache venv; without it that one scenario is skipped.
venv=${XDG_CACHE_HOME:-$HOME/.cache}/openmanager-bench/venv
if [ ! -x "$venv/bin/python3" ] || ! "$venv/bin/python3" -c 'import brotli' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'brotli==1.2.0' >&2 || echo "(no brotli venv)" >&2
fi
py=python3
[ -x "$venv/bin/python3" ] && py=$venv/bin/python3
echo "== egress over ${DURATION} s (bytes the hub sent, per scenario)"
EGRESS_AGENT_BIN=$BIN "$py" "$(dirname "$0")/lib/egress_clients.py" "$PORT" "$BENCH_TOKEN" "$DURATION"
rm -rf "$data"
