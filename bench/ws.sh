#!/usr/bin/env bash
# 1,000 WebSocket clients receiving the fleet at 1 update/s: delay from the hub's publish timestamp
# to receipt at each client (p99 target <= 50 ms), and the server's RSS with them connected (<= 64 MB).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
[ -n "${SKIP_BUILD:-}" ] || build_tools
ulimit -n 65536 2>/dev/null || true
CLIENTS=${CLIENTS:-1000} SECONDS_RUN=${SECONDS_RUN:-20}
data=$(mktemp -d)
# One source address stands for a thousand browsers here, so the per-IP limit is off for this run.
start_ours 19031 "$data" OPENMANAGER_RATE_LIMIT__ENABLED=false
sleep 2
idle_kb=$(rss_kb "$OURS_PID")
"$TOOLS/ws-fanout" --url ws://127.0.0.1:19031/ws --token "$BENCH_TOKEN" --clients "$CLIENTS" --seconds "$SECONDS_RUN" --warmup 5 | tee /tmp/ws-bench.out &
fan=$!
sleep $((SECONDS_RUN - 3))
load_kb=$(rss_kb "$OURS_PID")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$OURS_PID/status")
wait $fan
echo "== results"
echo "ws_clients=$CLIENTS"
echo "ws_rss_idle_mb=$(awk -v k="$idle_kb" 'BEGIN{printf "%.1f", k/1024}')"
echo "ws_rss_with_clients_mb=$(awk -v k="$load_kb" 'BEGIN{printf "%.1f", k/1024}')   # target <= 64"
echo "ws_rss_peak_mb=$(awk -v k="$hwm_kb" 'BEGIN{printf "%.1f", k/1024}')   # never above 100"
grep -E "^ws_update_delay_p99_ms" /tmp/ws-bench.out | sed 's/$/   # target <= 50/'
rm -rf "$data"
