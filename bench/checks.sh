#!/usr/bin/env bash
# 200 service checks at a 10 s interval on the hub, against a local target (nginx answering a fixed
# JSON body on loopback): the CPU (percent of one core) and resident memory they add to an idle hub,
# measured on the same binary with no checks and then with 200, each over the same window.
# Peer figure (published, not run here): Uptime Kuma's ~200 MB RSS for 36 monitors.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
# BENCH_BIN: measure another build (say target/release/openmanager) instead of the dist one.
BIN=${BENCH_BIN:-$BIN}

command -v nginx >/dev/null || bash "$SHARED/peers/setup.sh" express
[ -n "${SKIP_BUILD:-}" ] || build_release

PORT=19011 TARGET_PORT=19012 CHECKS=${CHECKS:-200} WINDOW=${WINDOW:-60}
HZ=$(getconf CLK_TCK)
data=$(mktemp -d)

# The target: nginx answering a fixed JSON body (its own port and pid file, apart from http.sh's).
cat > "$data/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $data/nginx.pid;
error_log $data/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$TARGET_PORT;
    location /api/health { default_type application/json; return 200 '{"status":"healthy"}'; }
  }
}
CONF
nginx -c "$data/nginx.conf" >/dev/null 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$TARGET_PORT/api/health"

# The simulated fleet off, so the baseline is the hub alone.
mkdir -p "$data/hub"
start_ours "$PORT" "$data/hub" OPENMANAGER_SIMULATION__ENABLED=false OPENMANAGER_RATE_LIMIT__ENABLED=false
sleep 5

# measure LABEL: CPU % of one core and RSS (kB) of the hub over WINDOW seconds.
measure() {
  local t0 t1
  t0=$(cpu_ticks "$OURS_PID"); sleep "$WINDOW"; t1=$(cpu_ticks "$OURS_PID")
  CPU=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v w="$WINDOW" 'BEGIN{printf "%.2f", 100 * d / hz / w}')
  RSS=$(rss_kb "$OURS_PID")
  printf '%-12s cpu %6s %% of a core   rss %8s kB\n' "$1" "$CPU" "$RSS"
}

echo "== hub alone (${WINDOW}s)"
measure idle; idle_cpu=$CPU; idle_rss=$RSS

echo "== creating $CHECKS http checks at 10 s"
for i in $(seq 1 "$CHECKS"); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench $i\",\"kind\":\"http\",\"target\":\"http://127.0.0.1:$TARGET_PORT/api/health\",\"intervalSeconds\":10,\"timeoutMs\":5000}" \
    "http://127.0.0.1:$PORT/api/checks"
done
# One full interval so every check has started, then the window.
sleep 12
echo "== hub with $CHECKS checks (${WINDOW}s)"
measure checks; checks_cpu=$CPU; checks_rss=$RSS
up=$(curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$PORT/api/checks" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(sum(1 for c in d if c["state"]["status"]=="up"), len(d))')
echo "checks up / total: $up"

echo "== status page (10 of the checks listed) vs /api/health, wrk -t2 -c64 -d5s"
ids=$(curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$PORT/api/checks" \
  | python3 -c 'import json,sys; print(json.dumps([c["id"] for c in json.load(sys.stdin)["data"]][:10]))')
curl -fsS -o /dev/null -X PATCH -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"enabled\":true,\"title\":\"Bench\",\"checks\":$ids}" "http://127.0.0.1:$PORT/api/status-page"
status_rps=nan health_rps=nan
if command -v wrk >/dev/null; then
  wrk -t2 -c64 -d2s "http://127.0.0.1:$PORT/status" >/dev/null
  run_wrk status "http://127.0.0.1:$PORT/status" -H 'Accept-Encoding: gzip'; status_rps=$WRK_RPS
  run_wrk health "http://127.0.0.1:$PORT/api/health"; health_rps=$WRK_RPS
fi

echo "== results"
echo "checks_cpu_percent_of_core=$(awk -v a="$checks_cpu" -v b="$idle_cpu" 'BEGIN{printf "%.2f", a-b}')   # target <= 1 (hub alone $idle_cpu, with checks $checks_cpu)"
echo "checks_rss_mb=$(awk -v a="$checks_rss" -v b="$idle_rss" 'BEGIN{printf "%.1f", (a-b)/1024}')   # target <= 8 (hub alone $(awk -v k="$idle_rss" 'BEGIN{printf "%.1f", k/1024}') MB, with checks $(awk -v k="$checks_rss" 'BEGIN{printf "%.1f", k/1024}') MB; Uptime Kuma ~200 MB for 36 monitors, published)"
echo "status_rps=$status_rps health_rps=$health_rps ratio=$(ratio "$status_rps" "$health_rps")   # target >= 0.8"
rm -rf "$data"
