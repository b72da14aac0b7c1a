#!/usr/bin/env bash
# Idle cost: the hub sampling this host every second (plus its other jobs; simulation on) vs
# node_exporter scraped every second, CPU as a share of one core over the same minute; and idle RSS.
# Targets: collector <= 0.5% of one core; idle RSS <= 20 MB.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
[ -n "${SKIP_BUILD:-}" ] || build_tools
SECONDS_RUN=${SECONDS_RUN:-60}
command -v prometheus-node-exporter >/dev/null || { apt-get install -y -qq prometheus-node-exporter >/dev/null 2>&1 || true; }
hz=$(getconf CLK_TCK)
data=$(mktemp -d)
start_ours 19033 "$data"
sleep 3
a=$(cpu_ticks "$OURS_PID")
if command -v prometheus-node-exporter >/dev/null; then
  prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >/dev/null 2>&1 &
  NE=$!; PIDS+=("$NE")
  wait_http http://127.0.0.1:19100/metrics
  b=$(cpu_ticks "$NE")
  for _ in $(seq "$SECONDS_RUN"); do curl -fsS -o /dev/null http://127.0.0.1:19100/metrics; sleep 1; done
  ne_pct=$(awk -v t=$(( $(cpu_ticks "$NE") - b )) -v hz="$hz" -v s="$SECONDS_RUN" 'BEGIN{printf "%.2f", 100*t/hz/s}')
else
  sleep "$SECONDS_RUN"; ne_pct=nan
fi
ours_pct=$(awk -v t=$(( $(cpu_ticks "$OURS_PID") - a )) -v hz="$hz" -v s="$SECONDS_RUN" 'BEGIN{printf "%.2f", 100*t/hz/s}')
idle_kb=$(rss_kb "$OURS_PID")
echo "== results"
echo "idle_cpu_percent_of_core_ours=$ours_pct   # target <= 0.5 (whole hub: 1 s self-sampling, simulated fleet, ws hub)"
echo "idle_cpu_percent_of_core_node_exporter_1s_scrape=$ne_pct"
echo "idle_rss_mb=$(awk -v k="$idle_kb" 'BEGIN{printf "%.1f", k/1024}')   # target <= 20"
rm -rf "$data"
