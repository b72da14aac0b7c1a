# Shared helpers for the bench/ scripts: build, start and stop processes, read memory, parse wrk.
# Every load goes to 127.0.0.1 only; every loop is bounded.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared" 2>/dev/null && pwd || echo "$ROOT/../shared")}
PEERS_DIR=${PEERS_DIR:-/tmp/openmanager-peers}
# Benchmarks measure the shipped binary: the `dist` profile (fat LTO; see the root Cargo.toml).
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/dist/openmanager"
PIDS=()

cleanup() {
  # `|| true`: under `set -e` one process already gone must not leave the others running.
  for p in "${PIDS[@]:-}"; do if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

build_release() {
  (cd "$ROOT" && cargo build --profile dist -q -p openmanager)
}

# rss_kb PID...: summed VmRSS in kB of the given processes and their children
rss_kb() {
  local total=0 pid kids
  for pid in "$@"; do
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    for p in $pid $kids; do
      v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo "$total"
}

# wait_http URL [seconds]: poll until the URL answers 200 (bounded)
wait_http() {
  local url=$1 limit=${2:-30} i=0
  while [ $i -lt $((limit * 20)) ]; do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.05; i=$((i + 1))
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# run_wrk NAME URL [extra wrk args...]: prints "NAME rps p50_ms p99_ms" and sets WRK_RPS
run_wrk() {
  local name=$1 url=$2; shift 2
  local out
  out=$(wrk -t2 -c64 -d5s --latency "$@" "$url")
  WRK_RPS=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local p50 p99
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local errors
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  printf '%-10s %12s req/s   p50 %-9s p99 %-9s %s\n' "$name" "$WRK_RPS" "$p50" "$p99" "$errors"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

build_tools() {
  (cd "$ROOT" && cargo build --profile dist -q -p openmanager -p loadgen)
}

# cpu_ticks PID: utime+stime in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_ours PORT DATA_DIR [extra env...]: starts the release binary, sets OURS_PID
start_ours() {
  local port=$1 data=$2; shift 2
  env PORT="$port" HOST=127.0.0.1 OPENMANAGER_DATA_DIR="$data" OPENMANAGER_LOG=warn \
    OPENMANAGER_ADMIN_TOKEN="$BENCH_TOKEN" "$@" "$BIN" >/dev/null 2>&1 &
  OURS_PID=$!; PIDS+=("$OURS_PID")
  wait_http "http://127.0.0.1:$port/api/health"
}

BENCH_TOKEN=bench-admin-token-0123456789abcdefghijklmn
TOOLS="${CARGO_TARGET_DIR:-$ROOT/target}/dist"

# descendants PID: every descendant pid of PID (bounded depth 8), one per line
descendants() {
  local frontier=$1 depth=0 next p
  while [ -n "$frontier" ] && [ $depth -lt 8 ]; do
    next=""
    for p in $frontier; do
      for c in $(pgrep -P "$p" 2>/dev/null || true); do echo "$c"; next="$next $c"; done
    done
    frontier=$next; depth=$((depth + 1))
  done
}

# rss_tree_kb PID...: summed VmRSS in kB of the given processes and all their descendants
rss_tree_kb() {
  local total=0 pid p v
  for pid in "$@"; do
    for p in $pid $(descendants "$pid"); do
      v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      total=$((total + ${v:-0}))
    done
  done
  echo "$total"
}

# kill_tree PID...: TERM the processes and all their descendants (for peers that fork workers)
kill_tree() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    kill $(descendants "$pid") "$pid" 2>/dev/null || true
  done
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
