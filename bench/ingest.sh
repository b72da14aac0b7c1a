#!/usr/bin/env bash
# 1,000 simulated agents x 30 metrics every 5 s: time to durable acknowledgement (p99 target < 10 ms)
# and nothing lost (samples sent = acknowledged = counted stored by the hub).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
[ -n "${SKIP_BUILD:-}" ] || build_tools
ulimit -n 65536 2>/dev/null || true
AGENTS=${AGENTS:-1000} SECONDS_RUN=${SECONDS_RUN:-30}
data=$(mktemp -d)
start_ours 19032 "$data" OPENMANAGER_RATE_LIMIT__ENABLED=false
"$TOOLS/ingest-load" --url http://127.0.0.1:19032 --token "$BENCH_TOKEN" --agents "$AGENTS" --metrics 30 --interval 5 --seconds "$SECONDS_RUN" | tee /tmp/ingest-bench.out
stored=$(curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" http://127.0.0.1:19032/metrics | awk '/^openmanager_ingest_samples_total / {print $2}')
rss_kb_now=$(rss_kb "$OURS_PID")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$OURS_PID/status")
sent=$(awk -F= '/^ingest_samples_sent=/ {print $2}' /tmp/ingest-bench.out)
echo "== results"
echo "ingest_samples_stored=$stored"
echo "ingest_lost=$((sent - ${stored%.*}))   # target 0"
grep -E "^ingest_p99_ms" /tmp/ingest-bench.out | sed 's/$/   # target < 10/'
echo "ingest_rss_mb=$(awk -v k="$rss_kb_now" 'BEGIN{printf "%.1f", k/1024}')   # target <= 64"
echo "ingest_rss_peak_mb=$(awk -v k="$hwm_kb" 'BEGIN{printf "%.1f", k/1024}')"
rm -rf "$data"
