#!/usr/bin/env bash
# schemathesis against the real binary: every operation of the served OpenAPI document, every check
# (server errors, status codes, content types, headers and bodies as documented, schema-violating
# requests refused, schema-valid ones accepted, auth, methods), a bounded number of examples per
# operation and a fixed seed. Exits non-zero on any failure.
#
# Usage: tests/schemathesis/run.sh [OPENMANAGER_BIN (default target/debug/openmanager)] [MOCK_UPSTREAM_BIN]
#   Builds nothing: first `cargo build -p openmanager -p mock-upstream`. The mock (Google AI on
#   loopback, so the Gemini proxy answers) defaults to the mock-upstream binary beside the server.
#   SCHEMATHESIS_VENV (default: schemathesis-venv under CARGO_TARGET_DIR, the CI's cache) is created
#   or reused while it matches requirements.txt. ST_MAX_EXAMPLES (default 50) and ST_SEED (default
#   20261206) tune the run; ST_ARGS adds schemathesis options (e.g. `--include-path /api/servers`).
#
# The server is alone on loopback: port 0 from a temp config, a temp data dir, the admin token,
# simulation on, the rate limit off (429 would only hide what the requests reach; the document's
# 429s are checked by crates/openmanager/tests/openapi.rs), and notification channels limited to
# loopback (`alerts.channel_hosts`), so no generated channel can make the server send elsewhere.
# The mock Gemini gets quotas past what the run sends: with the free-tier defaults (10 a minute, 20 a
# day) AI questions would wait for a quota window (15 s and more, within their `timeoutMs`), which
# schemathesis reports as too slow, and fall back to the local engine once the day's are spent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/openmanager}
mock_bin=${2:-$(dirname "$bin")/mock-upstream}
venv=${SCHEMATHESIS_VENV:-${CARGO_TARGET_DIR:-$root/target}/schemathesis-venv}
max_examples=${ST_MAX_EXAMPLES:-50}
seed=${ST_SEED:-20261206}

for b in "$bin" "$mock_bin"; do
  [ -x "$b" ] || { echo "not executable: $b (cargo build -p openmanager -p mock-upstream)" >&2; exit 2; }
done
bin=$(realpath "$bin") mock_bin=$(realpath "$mock_bin")

# The venv is reused while its copy of requirements.txt matches (pinned versions: same tool, same run).
if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" 2>/dev/null; then
  python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "python3-venv is required" >&2; exit 2; }
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Reads `pattern`'s first match in `file` (bounded: 30 s), instead of sleeping a fixed time.
wait_line() {
  local file=$1 pattern=$2 line=""
  for _ in $(seq 1 300); do
    line=$(grep -m1 -e "$pattern" "$file" 2>/dev/null || true)
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  return 1
}

MOCK_KEY=schemathesis-upstream-key-$$-$RANDOM
TOKEN=schemathesis-admin-token-0123456789abcdefghij
export MOCK_KEY

"$mock_bin" --port 0 >"$work/mock.out" 2>"$work/mock.err" &
pids+=($!)
line=$(wait_line "$work/mock.out" '^listening on ') || { echo "mock-upstream did not start:" >&2; cat "$work/mock.err" >&2; exit 1; }
mock_url="http://${line#listening on }"

mkdir -p "$work/data"
cat >"$work/config.toml" <<EOF
[server]
host = "127.0.0.1"
port = 0
data_dir = "$work/data"

[auth]
admin_token = "$TOKEN"

[rate_limit]
enabled = false

[simulation]
enabled = true

[alerts]
channel_hosts = ["127.0.0.0/8"]

[ai.google]
rpm = 100000
rpd = 1000000
EOF
# Started from the temp dir with a clean environment, so nothing of the caller's is read.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" OPENMANAGER_LOG_FORMAT=json OPENMANAGER_LOG=warn,openmanager::server=info \
  GOOGLE_AI_API_KEY="$MOCK_KEY" GOOGLE_AI_BASE_URL="$mock_url" "$bin" --config "$work/config.toml" \
  >"$work/om.out" 2>"$work/om.log") &
pids+=($!)
line=$(wait_line "$work/om.log" '"listening"') || { echo "openmanager did not start:" >&2; tail -n 30 "$work/om.log" >&2; exit 1; }
addr=$(printf '%s' "$line" | python3 -c 'import json, sys; print(json.load(sys.stdin)["fields"]["addr"])')
base="http://$addr"
for _ in $(seq 1 300); do
  curl -fsS -m 2 -o /dev/null "$base/api/health/ready" 2>/dev/null && break
  sleep 0.1
done

echo "== schemathesis $("$venv/bin/schemathesis" --version | awk '{print $NF}') against $base: --checks all, $max_examples examples per operation, seed $seed"
set +e
# Hooks encode the rules JSON Schema cannot state (see hooks.py); they only drop schema-valid
# cases that break such a rule, so no check is weakened. They drop most generated checks (a random
# string is rarely a URL or host of the check's kind), hence the filter health check is off.
(cd "$work" && PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks timeout 900 "$venv/bin/schemathesis" run "$base/api/openapi.json" \
  --checks all \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --workers 1 \
  --request-timeout 40 \
  --request-retries 2 \
  --suppress-health-check=filter_too_much \
  --no-color \
  --report junit --report-dir "$work/report" \
  ${ST_ARGS:-}) | tee "$work/schemathesis.out"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "schemathesis failed (exit $rc); the server's log:" >&2
  grep -v '"level":"INFO"' "$work/om.log" | tail -n 40 >&2 || true
fi
# One line the CI can read: operations that passed every check, operations with a failure.
tested=$(grep -m1 -E '^\s*Tested: [0-9]+' "$work/schemathesis.out" | grep -oE '[0-9]+' || echo 0)
failed=$(grep -cE '^_+ [A-Z]+ /.* _+$' "$work/schemathesis.out" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "schemathesis: $((tested > failed ? tested - failed : 0)) passed, $failed failed"
exit "$rc"
