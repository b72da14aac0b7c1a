#!/usr/bin/env bash
# 20 concurrent analyses over a 5,000-server fleet: peak RSS (target at most 150 MB) and RSS a
# minute after the burst (target under 60 MB). The fleet is 5,000 agents with an hour of history
# each (fleet-fill), the simulation off, so every analysis reads the store.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
[ -n "${SKIP_BUILD:-}" ] || build_tools
SERVERS=${SERVERS:-5000} BURST=${BURST:-20}
data=$(mktemp -d)
port=19041
start_ours $port "$data" OPENMANAGER_RATE_LIMIT__ENABLED=false OPENMANAGER_SIMULATION__ENABLED=false \
  OPENMANAGER_FLEET__MONITOR_SELF=false "$@"
"$TOOLS/fleet-fill" --url http://127.0.0.1:$port --token "$BENCH_TOKEN" --servers "$SERVERS" --minutes 60 --step 60
before_kb=$(rss_kb "$OURS_PID")
echo "rss before the burst: $((before_kb / 1024)) MB"
# Fleet-wide analyses (every server, every metric): the heaviest kind of request.
kinds=(health anomaly correlation pattern optimization prediction)
jobs=()
for i in $(seq 1 "$BURST"); do
  kind=${kinds[$((i % ${#kinds[@]}))]}
  curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" -H 'content-type: application/json' \
    -d "{\"type\":\"$kind\",\"timeRange\":\"1h\"}" "http://127.0.0.1:$port/api/ai/analyze" >"$data/a$i.json" &
  jobs+=($!)
done
peak_kb=0
sample_peak() { local k; k=$(rss_kb "$OURS_PID"); [ "$k" -gt "$peak_kb" ] && peak_kb=$k || true; }
for p in "${jobs[@]}"; do while kill -0 "$p" 2>/dev/null; do sample_peak; sleep 0.05; done; done
# Requests answered 202 go on as jobs: poll each until done (bounded).
for i in $(seq 1 "$BURST"); do
  id=$(sed -n 's/.*"job":{"id":"\([^"]*\)".*/\1/p' "$data/a$i.json")
  [ -n "$id" ] || continue
  for _ in $(seq 1 1200); do
    sample_peak
    st=$(curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$port/api/ai/analyze/$id" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    [ "$st" = done ] || [ "$st" = failed ] && break
    sleep 0.1
  done
done
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$OURS_PID/status")
[ "$hwm_kb" -gt "$peak_kb" ] && peak_kb=$hwm_kb
for _ in $(seq 1 60); do sleep 1; done
after_kb=$(rss_kb "$OURS_PID")
echo "== results"
echo "analysis_rss_before_mb=$((before_kb / 1024))"
echo "analysis_rss_peak_mb=$((peak_kb / 1024))   # target <= 150"
echo "analysis_rss_after_60s_mb=$((after_kb / 1024))   # target < 60"
rm -rf "$data"
