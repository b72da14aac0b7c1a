#!/usr/bin/env bash
# GET /api/health: ours vs nginx (fixed JSON, the practical limit) vs the seed's Express server.
# Same load on each in turn: wrk -t2 -c64 -d5s. Also idle RSS, time to ready, binary size.
# Peers: ../shared/peers/setup.sh express   (nginx, wrk, Express under $PEERS_DIR)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

command -v wrk >/dev/null && command -v nginx >/dev/null || bash "$SHARED/peers/setup.sh" express
[ -d "$PEERS_DIR/express/node_modules/express" ] || bash "$SHARED/peers/setup.sh" express
[ -n "${SKIP_BUILD:-}" ] || build_release

OURS_PORT=19001 NGINX_PORT=19002 EXPRESS_PORT=19005
data=$(mktemp -d)

# --- ours: time from exec to the first 200 on /api/health (best of 5 starts, warm disk) ---
ready_ms=$(python3 - "$BIN" "$data" "$OURS_PORT" <<'PY'
import os, socket, subprocess, sys, time
binary, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", OPENMANAGER_DATA_DIR=data, OPENMANAGER_LOG="warn")
best = None
for _ in range(5):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 10
    while time.perf_counter() < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if s.recv(16).startswith(b"HTTP/1.1 200"):
                ms = (time.perf_counter() - t0) * 1000
                best = ms if best is None else min(best, ms)
                s.close()
                break
            s.close()
        except OSError:
            time.sleep(0.0005)
    p.terminate(); p.wait(10)
print(f"{best:.1f}" if best is not None else "nan")
PY
)

PORT=$OURS_PORT HOST=127.0.0.1 OPENMANAGER_DATA_DIR=$data OPENMANAGER_LOG=warn "$BIN" >/dev/null 2>&1 &
OURS=$!; PIDS+=($OURS)
nginx -c "$SHARED/peers/nginx-health.conf" >/dev/null 2>&1 &
NGINX=$!; PIDS+=($NGINX)
(cd "$PEERS_DIR/express" && PORT=$EXPRESS_PORT exec node server.js >/dev/null 2>&1) &
EXPRESS=$!; PIDS+=($EXPRESS)
wait_http "http://127.0.0.1:$OURS_PORT/api/health"
wait_http "http://127.0.0.1:$NGINX_PORT/api/health"
wait_http "http://127.0.0.1:$EXPRESS_PORT/api/health"
# Idle means after start-up has settled: the hub frees about 11 MB of start-up work (store
# migrations, the OpenAPI document, CA bundles) within 3 s of answering, so read at 5 s.
sleep 5
idle_ours=$(rss_kb $OURS); idle_express=$(rss_kb $EXPRESS); idle_nginx=$(rss_kb $NGINX)

echo "== wrk -t2 -c64 -d5s GET /api/health (warm-up 2 s each first)"
for u in "$OURS_PORT" "$NGINX_PORT" "$EXPRESS_PORT"; do wrk -t2 -c64 -d2s "http://127.0.0.1:$u/api/health" >/dev/null; done
run_wrk ours "http://127.0.0.1:$OURS_PORT/api/health"; ours_rps=$WRK_RPS; load_ours=$(rss_kb $OURS)
run_wrk nginx "http://127.0.0.1:$NGINX_PORT/api/health"; nginx_rps=$WRK_RPS; load_nginx=$(rss_kb $NGINX)
run_wrk express "http://127.0.0.1:$EXPRESS_PORT/api/health"; express_rps=$WRK_RPS; load_express=$(rss_kb $EXPRESS)

bin_bytes=$(stat -c %s "$BIN")
echo "== memory (kB): idle / after load"
printf 'ours     %8s / %s\nnginx    %8s / %s\nexpress  %8s / %s\n' "$idle_ours" "$load_ours" "$idle_nginx" "$load_nginx" "$idle_express" "$load_express"
echo "== results"
echo "health_rps_ours=$ours_rps"
echo "health_rps_nginx=$nginx_rps"
echo "health_rps_express=$express_rps"
echo "health_rps_ratio_vs_nginx=$(ratio "$ours_rps" "$nginx_rps")   # target >= 0.8"
echo "health_rps_ratio_vs_express=$(ratio "$ours_rps" "$express_rps")   # target >= 10"
echo "idle_rss_mb=$(awk -v k="$idle_ours" 'BEGIN{printf "%.1f", k/1024}')   # target <= 14 (BENCHMARKS.md wave 2; express $(awk -v k="$idle_express" 'BEGIN{printf "%.1f", k/1024}'))"
echo "ready_ms=$ready_ms   # target <= 100"
echo "binary_mb=$(awk -v b="$bin_bytes" 'BEGIN{printf "%.1f", b/1048576}')   # target <= 15"
rm -rf "$data"
