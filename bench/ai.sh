#!/usr/bin/env bash
# AI gateway: OpenAI-format POST /v1/chat/completions, side by side in one run, all on 127.0.0.1:
#   direct   nginx as a zero-cost LLM upstream (../shared/peers/mock-llm/nginx.conf, port 19003)
#   gateway  ours, with an `openai`-kind provider `mock` pointing at that nginx (model id `mock/mock`)
#   litellm  LiteLLM proxy to the same nginx (../shared/peers/mock-llm/litellm.yaml, one worker, port 19004)
# Figures:
#   throughput   wrk -t1 -c16 -d10s (bench/ai-post.lua, cache bypassed with temperature 0.7) on each in turn
#   overhead     oha -z 10s -q 1000 --latency-correction (keep-alive) direct vs gateway, cache bypassed:
#                p99 added = gateway p99 - direct p99 (target <= 1 ms)
#   cache hit    temperature 0, first request a MISS, then oha -z 10s -q 2000 of hits (target p99 < 0.2 ms);
#                nginx direct at the same rate for the floor of the measurement; the gateway's own timing of
#                those hits (`cacheHitLatency` in /api/ai/status); wrk closed loop of hits
#   memory       VmRSS after the load, ours vs LiteLLM (all its processes) (target <= 1/10)
# Peers: ../shared/peers/setup.sh litellm (nginx, wrk, LiteLLM in $PEERS_DIR/venv). oha: cargo install oha --locked.
# Env: SKIP_BUILD=1 to use the existing release binary; AI_BENCH_SECONDS (default 10) for every measured run.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DIRECT_PORT=19003 LITELLM_PORT=19004 OURS_PORT=19006
SECS=${AI_BENCH_SECONDS:-10}
LITELLM_KEY=sk-bench-0123456789
MOCK_KEY_VALUE=bench-upstream-key-not-checked-by-nginx
LUA="$ROOT/bench/ai-post.lua"
MOCK_LLM="$SHARED/peers/mock-llm"

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || [ ! -x "$PEERS_DIR/venv/bin/litellm" ]; then
  bash "$SHARED/peers/setup.sh" litellm
fi
[ -n "${SKIP_BUILD:-}" ] || build_release
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
[ -x "$OHA" ] || OHA=""
if [ -z "$OHA" ]; then
  echo "note: oha is not installed (cargo install oha --locked): the fixed-rate figures fall back to" \
    "wrk -t1 -c16 closed-loop latency, which is NOT a fixed 1,000 req/s" >&2
fi

for p in $DIRECT_PORT $LITELLM_PORT $OURS_PORT; do
  port_free "$p" || { echo "port $p is already in use on 127.0.0.1" >&2; exit 1; }
done

work=$(mktemp -d)
LITELLM_PID=""
# Not common.sh's cleanup alone: under `set -e` it stops at the first pid that is already gone (LiteLLM is
# stopped early on purpose), leaving the rest running.
on_exit() {
  local p
  kill_tree "$LITELLM_PID"
  for p in "${PIDS[@]:-}"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap on_exit EXIT

# --- configuration of ours: one OpenAI-format provider in front of `local`, limits out of the way ---
cat >"$work/ai.toml" <<EOF
[ai]
chain = ["mock", "local"]

[ai.cache]
max_bytes = 8388608
ttl_secs = 600
cache_all = false

[[ai.providers]]
name = "mock"
kind = "openai"
base_url = "http://127.0.0.1:$DIRECT_PORT/v1"
api_key_env = "BENCH_MOCK_API_KEY"
models = ["mock"]
rpm = 1000000000
rpd = 1000000000
tpm = 4000000000
timeout_ms = 10000
EOF

# --- start the three ---
nginx -c "$MOCK_LLM/nginx.conf" >/dev/null 2>&1 &
PIDS+=("$!")
(cd "$work" && exec "$PEERS_DIR/venv/bin/litellm" --config "$MOCK_LLM/litellm.yaml" --host 127.0.0.1 \
  --port $LITELLM_PORT --num_workers 1 >"$work/litellm.log" 2>&1) &
LITELLM_PID=$!; PIDS+=("$LITELLM_PID")
mkdir -p "$work/data"
start_ours $OURS_PORT "$work/data" OPENMANAGER_CONFIG="$work/ai.toml" OPENMANAGER_RATE_LIMIT__ENABLED=false \
  BENCH_MOCK_API_KEY="$MOCK_KEY_VALUE"

body() { printf '{"model":"%s","temperature":%s,"messages":[{"role":"user","content":"How are my servers?"}]}' "$1" "$2"; }
post() { # post PORT TOKEN MODEL TEMPERATURE: one request, prints the body; headers into $work/headers
  curl -sS -m 10 -D "$work/headers" -H 'Content-Type: application/json' -H "Authorization: Bearer $2" \
    -d "$(body "$3" "$4")" "http://127.0.0.1:$1/v1/chat/completions"
}
wait_ok() { # wait_ok NAME SECONDS PORT TOKEN MODEL: bounded polling until a completion answers
  local name=$1 limit=$2 i=0
  while [ $i -lt $((limit * 4)) ]; do
    if post "$3" "$4" "$5" 0.7 2>/dev/null | grep -q 'All 10 servers are healthy'; then return 0; fi
    sleep 0.25; i=$((i + 1))
  done
  echo "$name did not answer within ${limit}s" >&2
  [ "$name" != litellm ] || tail -n 20 "$work/litellm.log" >&2
  return 1
}
wait_ok direct 20 $DIRECT_PORT none mock
wait_ok gateway 20 $OURS_PORT "$BENCH_TOKEN" mock/mock
wait_ok litellm 180 $LITELLM_PORT $LITELLM_KEY mock
answer=$(post $OURS_PORT "$BENCH_TOKEN" mock/mock 0.7)
case "$answer" in
  # The mock's fixed text and token counts (the local engine reports neither).
  *'All 10 servers are healthy.'*'"prompt_tokens":12'*) ;;
  *) echo "the gateway did not answer from the mock upstream: $answer" >&2; exit 1 ;;
esac
echo "== the gateway answers from the mock upstream: $answer"
sleep 1

# --- throughput: wrk -t1 -c16 on each in turn, after a 2 s warm-up each ---
wrk_ai() { # wrk_ai NAME PORT TOKEN MODEL TEMPERATURE: run_wrk with this benchmark's load
  WRK_TOKEN=$3 WRK_MODEL=$4 WRK_TEMPERATURE=$5 run_wrk "$1" "http://127.0.0.1:$2/v1/chat/completions" \
    -t1 -c16 "-d${SECS}s" -s "$LUA"
}
echo "== wrk -t1 -c16 -d${SECS}s POST /v1/chat/completions (temperature 0.7: no cache)"
for t in "$DIRECT_PORT none mock" "$OURS_PORT $BENCH_TOKEN mock/mock" "$LITELLM_PORT $LITELLM_KEY mock"; do
  # shellcheck disable=SC2086 # three words on purpose
  set -- $t
  WRK_TOKEN=$2 WRK_MODEL=$3 wrk -t1 -c16 -d2s -s "$LUA" "http://127.0.0.1:$1/v1/chat/completions" >/dev/null
done
wrk_ai direct $DIRECT_PORT none mock 0.7; direct_rps=$WRK_RPS
wrk_ai gateway $OURS_PORT "$BENCH_TOKEN" mock/mock 0.7; gateway_rps=$WRK_RPS
wrk_ai litellm $LITELLM_PORT $LITELLM_KEY mock 0.7; litellm_rps=$WRK_RPS
rss_litellm=$(rss_tree_kb "$LITELLM_PID")
# LiteLLM idles with CPU of its own; stop it so it does not disturb the latency runs below.
kill_tree "$LITELLM_PID"; LITELLM_PID=""

# --- fixed rate: p99 at 1,000 req/s direct vs gateway (cache bypassed), then cache hits ---
# oha_p99 NAME PORT TOKEN MODEL TEMPERATURE RATE: prints a summary line, sets P99_MS and RPS
oha_p99() {
  local name=$1 port=$2 token=$3 model=$4 temp=$5 rate=$6 out
  RPS="" P50_MS="" P99_MS="" OK=""
  if [ -n "$OHA" ]; then
    out=$("$OHA" -z "${SECS}s" -q "$rate" --latency-correction -c 16 --no-tui --output-format json -m POST \
      -H 'Content-Type: application/json' -H "Authorization: Bearer $token" ${OHA_ENCODING:+-H "Accept-Encoding: $OHA_ENCODING"} \
      -d "$(body "$model" "$temp")" \
      "http://127.0.0.1:$port/v1/chat/completions")
    read -r RPS P50_MS P99_MS OK <<<"$(python3 -c '
import json, sys
d = json.load(sys.stdin)
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
ok = sum(v for k, v in codes.items() if str(k).startswith("2"))
print("%.1f %.3f %.3f %d/%d" % (s["requestsPerSec"], p["p50"] * 1000, p["p99"] * 1000, ok, sum(codes.values())))
' <<<"$out")"
    [ -n "${P99_MS:-}" ] || { echo "cannot read oha's JSON output for $name" >&2; exit 1; }
    printf '%-16s %9s req/s   p50 %8s ms   p99 %8s ms   2xx %s\n' "$name" "$RPS" "$P50_MS" "$P99_MS" "$OK"
  else
    out=$(WRK_TOKEN=$token WRK_MODEL=$model WRK_TEMPERATURE=$temp wrk -t1 -c16 "-d${SECS}s" --latency -s "$LUA" \
      "http://127.0.0.1:$port/v1/chat/completions")
    RPS=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    P99_MS=$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.3f", v}')
    printf '%-16s %9s req/s   p99 %8s ms   (wrk closed loop, not fixed rate)\n' "$name" "$RPS" "$P99_MS"
  fi
}
if [ -n "$OHA" ]; then how="oha -z ${SECS}s -q 1000 --latency-correction -c 16 (keep-alive)"; else how="wrk -t1 -c16 fallback (oha missing)"; fi
echo "== $how: temperature 0.7 (cache bypassed)"
oha_p99 direct $DIRECT_PORT none mock 0.7 1000; direct_p99=$P99_MS
oha_p99 gateway $OURS_PORT "$BENCH_TOKEN" mock/mock 0.7 1000; gateway_p99=$P99_MS
# oha asks for `br` as SDKs and browsers do, and only the gateway compresses (the nginx mock does not):
# the same pair with `Accept-Encoding: identity` shows what compression adds to the gateway's share.
identity_added=nan
if [ -n "$OHA" ]; then
  echo "== the same with Accept-Encoding: identity (no compression on either side)"
  OHA_ENCODING=identity oha_p99 "direct (identity)" $DIRECT_PORT none mock 0.7 1000; d_id=$P99_MS
  OHA_ENCODING=identity oha_p99 "gateway (identity)" $OURS_PORT "$BENCH_TOKEN" mock/mock 0.7 1000; g_id=$P99_MS
  identity_added=$(awk -v a="$g_id" -v b="$d_id" 'BEGIN{printf "%.3f", a - b}')
fi

status_hits() {
  curl -sS -m 5 -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$OURS_PORT/api/ai/status" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["data"]["cache"]["hits"])' 2>/dev/null || echo "?"
}
hits_before=$(status_hits)
post $OURS_PORT "$BENCH_TOKEN" mock/mock 0 >/dev/null  # the MISS that fills the cache
hits_first=$(status_hits)
post $OURS_PORT "$BENCH_TOKEN" mock/mock 0 >/dev/null  # the first HIT
hits_second=$(status_hits)
echo "== cache: temperature 0 at 2,000 req/s through the gateway (hits counted: $hits_before before," \
  "$hits_first after the first request (a MISS), $hits_second after the second (a HIT))"
oha_p99 "gateway (hits)" $OURS_PORT "$BENCH_TOKEN" mock/mock 0 2000; hit_p99=$P99_MS
# The same hits as the gateway itself timed them (arrival at its first layer to the response leaving
# it), read before the closed-loop phase below adds its queueing.
hit_gateway_p99=$(curl -sS -m 5 -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$OURS_PORT/api/ai/status" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cacheHitLatency"]["p99Ms"])' 2>/dev/null || echo "?")
# The floor of this measurement: nginx's fixed answer at the same rate, same client.
oha_p99 "direct (floor)" $DIRECT_PORT none mock 0 2000; floor_p99=$P99_MS
echo "== cache hits, closed loop: wrk -t1 -c16 -d${SECS}s temperature 0"
wrk_ai "gateway (hits)" $OURS_PORT "$BENCH_TOKEN" mock/mock 0; hit_rps=$WRK_RPS
hits_after=$(status_hits)
echo "cache hits counted by /api/ai/status: $hits_before -> $hits_after"
rss_ours=$(rss_kb "$OURS_PID")

echo "== memory after the load (kB): ours $rss_ours, litellm (all processes) $rss_litellm"
echo "== results"
echo "ai_rps_direct=$direct_rps"
echo "ai_rps_gateway=$gateway_rps"
echo "ai_rps_litellm=$litellm_rps"
echo "ai_rps_ratio_vs_litellm=$(ratio "$gateway_rps" "$litellm_rps")   # target >= 100"
echo "ai_rps_ratio_vs_direct=$(ratio "$gateway_rps" "$direct_rps")"
echo "ai_p99_direct_ms=$direct_p99"
echo "ai_p99_gateway_ms=$gateway_p99"
echo "ai_p99_added_ms=$(awk -v a="$gateway_p99" -v b="$direct_p99" 'BEGIN{printf "%.3f", a - b}')   # target <= 1${OHA:+ (oha at 1,000 req/s)}"
echo "ai_p99_added_identity_ms=$identity_added   # the same without response compression"
echo "ai_cache_hit_p99_gateway_ms=$hit_gateway_p99   # target < 0.2 (inside the gateway)"
echo "ai_cache_hit_p99_ms=$hit_p99   # from the client, loopback and oha included"
echo "ai_cache_hit_p99_direct_floor_ms=$floor_p99   # nginx's fixed answer at the same 2,000 req/s"
echo "ai_cache_hit_p99_added_ms=$(awk -v a="$hit_p99" -v b="$floor_p99" 'BEGIN{printf "%.3f", a - b}')"
echo "ai_rps_gateway_cache_hit=$hit_rps"
echo "ai_rss_mb_gateway=$(awk -v k="$rss_ours" 'BEGIN{printf "%.1f", k/1024}')"
echo "ai_rss_mb_litellm=$(awk -v k="$rss_litellm" 'BEGIN{printf "%.1f", k/1024}')"
echo "ai_rss_ratio_vs_litellm=$(awk -v a="$rss_ours" -v b="$rss_litellm" 'BEGIN{ if (b > 0) printf "%.3f", a / b; else print "nan" }')   # target <= 0.1"
