#!/usr/bin/env bash
# Beyond one VM (issue 16): ingest capacity and p99 on SQLite vs PostgreSQL (one hub), one vs three
# hubs on PostgreSQL + Redis with the same offered load (the three behind nginx), the delay from a
# report acknowledged by one hub to a browser on another, and remote_write throughput into
# VictoriaMetrics. Prints name=value lines and the ratios.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on 127.0.0.1:6379, nginx and
# victoria-metrics (Debian packages). Everything on loopback; every process stopped on exit. On one
# machine the three hubs share its cores with each other, PostgreSQL, Redis, nginx and the load
# generator: the three-hub figure shows what the design adds or costs here, not what three VMs give.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
[ -n "${SKIP_BUILD:-}" ] || build_tools
ulimit -n 65536 2>/dev/null || true
AGENTS=${AGENTS:-3000} INTERVAL=${INTERVAL:-1} SECONDS_RUN=${SECONDS_RUN:-20} METRICS=${METRICS:-30}
PSQL=(psql -h 127.0.0.1 -U postgres -d postgres -qAt -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "select 1" >/dev/null || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 2; }
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
VM=$(command -v victoria-metrics || true)
DB=om_scale_bench_$$
PREFIX="omscale:$$:"
WORK=$(mktemp -d)
"${PSQL[@]}" -c "CREATE DATABASE $DB"
DB_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
finish() {
  cleanup
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap finish EXIT
COMMON=(OPENMANAGER_RATE_LIMIT__ENABLED=false OPENMANAGER_SIMULATION__ENABLED=false
        OPENMANAGER_FLEET__MONITOR_SELF=false OPENMANAGER_SERVER__WS_INTERVAL_MS=100)

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ingest NAME URL: offered load from ingest-load; sets CAP (acknowledged reports/s) and P99
ingest() {
  local name=$1 url=$2 out
  out=$("$TOOLS/ingest-load" --url "$url" --token "$BENCH_TOKEN" --agents "$AGENTS" --metrics "$METRICS" \
    --interval "$INTERVAL" --seconds "$SECONDS_RUN")
  local sent accepted failed
  sent=$(echo "$out" | awk -F= '/^ingest_samples_sent=/ {print $2}')
  accepted=$(echo "$out" | awk -F= '/^ingest_samples_accepted=/ {print $2}')
  failed=$(echo "$out" | awk -F= '/^ingest_requests_failed=/ {print $2}')
  P99=$(echo "$out" | awk -F= '/^ingest_p99_ms=/ {print $2}')
  CAP=$(awk -v a="$accepted" -v s="$SECONDS_RUN" 'BEGIN{printf "%.0f", a / s}')
  echo "${name}_offered_reports_per_s=$(awk -v n="$AGENTS" -v i="$INTERVAL" 'BEGIN{printf "%.0f", n / i}')"
  echo "${name}_acked_reports_per_s=$CAP"
  echo "${name}_failed_requests=$failed   # of $sent"
  echo "${name}_ack_p99_ms=$P99"
}

echo "== one hub, SQLite"
start_ours 19101 "$WORK/sqlite" "${COMMON[@]}"
ingest sqlite http://127.0.0.1:19101
SQLITE_CAP=$CAP; SQLITE_P99=$P99
stop_pid "$OURS_PID"

echo "== one hub, PostgreSQL + Redis"
HUB_ENV=("${COMMON[@]}" OPENMANAGER_DATABASE_URL="$DB_URL" OPENMANAGER_REDIS_URL=redis://127.0.0.1:6379
         OPENMANAGER_REDIS__PREFIX="$PREFIX")
start_ours 19111 "$WORK/pg1" "${HUB_ENV[@]}"
ingest pg_one_hub http://127.0.0.1:19111
PG1_CAP=$CAP; PG1_P99=$P99
stop_pid "$OURS_PID"

echo "== three hubs, PostgreSQL + Redis, behind nginx"
HUBS=()
for i in 1 2 3; do
  start_ours $((19120 + i)) "$WORK/hub$i" "${HUB_ENV[@]}"
  HUBS+=("$OURS_PID")
done
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  upstream hubs { least_conn; server 127.0.0.1:19121; server 127.0.0.1:19122; server 127.0.0.1:19123; keepalive 256; }
  server {
    listen 127.0.0.1:19120;
    location / { proxy_pass http://hubs; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >/dev/null 2>&1 &
PIDS+=("$!"); NGINX_PID=$!
wait_http http://127.0.0.1:19120/api/health
# The fan-out delay first, on a quiet cluster: under the ingest overload below the probe's
# WebSocket would measure the backlog, not the path.
echo "== fan-out across hubs (report to hub 1, WebSocket on hub 2; ws_interval_ms=100)"
"$TOOLS/cross-hub" --post http://127.0.0.1:19121 --ws ws://127.0.0.1:19122/ws --token "$BENCH_TOKEN" --samples 100 \
  | tee "$WORK/cross.out"
CROSS_P99=$(awk -F= '/^cross_hub_p99_ms=/ {print $2}' "$WORK/cross.out")
ingest pg_three_hubs http://127.0.0.1:19120
PG3_CAP=$CAP; PG3_P99=$P99

stop_pid "$NGINX_PID"
for p in "${HUBS[@]}"; do stop_pid "$p"; done

if [ -n "$VM" ]; then
  echo "== remote_write into VictoriaMetrics (one hub, SQLite)"
  "$VM" -httpListenAddr=127.0.0.1:19140 -storageDataPath="$WORK/vm" -loggerLevel=ERROR >/dev/null 2>&1 &
  PIDS+=("$!"); VM_PID=$!
  wait_http http://127.0.0.1:19140/health
  start_ours 19141 "$WORK/rw" "${COMMON[@]}" OPENMANAGER_REMOTE_WRITE__URL=http://127.0.0.1:19140/api/v1/write \
    OPENMANAGER_REMOTE_WRITE__INTERVAL_MS=1000 OPENMANAGER_REMOTE_WRITE__MAX_QUEUE_SAMPLES=2000000
  ingest remote_write_hub http://127.0.0.1:19141
  sleep 3
  prom=$(curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" http://127.0.0.1:19141/metrics)
  rw_sent=$(echo "$prom" | awk '/^openmanager_remote_write_samples_sent_total / {print $2}')
  rw_dropped=$(echo "$prom" | awk '/^openmanager_remote_write_samples_dropped_total / {print $2}')
  rw_bytes=$(echo "$prom" | awk '/^openmanager_remote_write_bytes_sent_total / {print $2}')
  echo "remote_write_samples_sent=$rw_sent"
  echo "remote_write_samples_per_s=$(awk -v a="$rw_sent" -v s="$SECONDS_RUN" 'BEGIN{printf "%.0f", a / s}')"
  echo "remote_write_samples_dropped=$rw_dropped"
  echo "remote_write_bytes_per_sample=$(awk -v b="$rw_bytes" -v a="$rw_sent" 'BEGIN{ if (a > 0) printf "%.2f", b / a; else print "nan" }')"
  stop_pid "$OURS_PID"; stop_pid "$VM_PID"
else
  echo "remote_write: SKIP (victoria-metrics not installed)"
fi

echo "== results"
echo "ingest_capacity_sqlite_reports_per_s=$SQLITE_CAP   p99_ms=$SQLITE_P99"
echo "ingest_capacity_pg_one_hub_reports_per_s=$PG1_CAP   p99_ms=$PG1_P99"
echo "ingest_capacity_pg_three_hubs_reports_per_s=$PG3_CAP   p99_ms=$PG3_P99"
echo "ratio_pg_vs_sqlite=$(ratio "$PG1_CAP" "$SQLITE_CAP")"
echo "ratio_three_hubs_vs_one=$(ratio "$PG3_CAP" "$PG1_CAP")   # target >= 2.5 on separate VMs"
echo "cross_hub_fanout_p99_ms=$CROSS_P99   # target < 1000"
