#!/usr/bin/env bash
# Real SDK clients against the real binary: the official `openai` and `google-genai` Python packages,
# pointed at the gateway with only their base URL and key changed, and the official MCP client (`mcp`).
# Google AI is the `mock-upstream` binary.
#
# Usage: tests/sdk/run.sh [OPENMANAGER_BIN (default target/debug/openmanager)] [MOCK_UPSTREAM_BIN]
#   Builds nothing: first `cargo build -p openmanager -p mock-upstream`. The mock defaults to the
#   mock-upstream binary beside OPENMANAGER_BIN. SDK_VENV (default /tmp/openmanager-sdk-venv) is created
#   or reused. Prints `N passed, M failed` last; exits non-zero if any test failed or could not run.
#   OM_HTTPS=1 serves the gateway over HTTPS instead (`tls.mode = "files"` with a certificate made here
#   for 127.0.0.1); the SDKs trust it through SSL_CERT_FILE, as a private CA would be trusted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/target/debug/openmanager}
mock_bin=${2:-$(dirname "$bin")/mock-upstream}
venv=${SDK_VENV:-/tmp/openmanager-sdk-venv}
# Versions tested; bump together with a run of this script.
OPENAI_VERSION=3.57.0
GENAI_VERSION=3.6.1
MCP_VERSION=2.3.0

for b in "$bin" "$mock_bin"; do
  [ -x "$b" ] || { echo "not executable: $b (cargo build -p openmanager -p mock-upstream)" >&2; exit 2; }
done
bin=$(realpath "$bin") mock_bin=$(realpath "$mock_bin")

if ! "$venv/bin/python" -c "import openai, google.genai, sys; from importlib.metadata import version; \
sys.exit(0 if (openai.__version__, google.genai.__version__, version('mcp')) == ('$OPENAI_VERSION', '$GENAI_VERSION', '$MCP_VERSION') else 1)" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "openai==$OPENAI_VERSION" "google-genai==$GENAI_VERSION" \
    "mcp==$MCP_VERSION"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

MOCK_KEY=sdk-test-upstream-key-$$-$RANDOM
TOKEN=sdk-test-admin-token-0123456789abcdefghijklmn
export MOCK_KEY

# The mock prints `listening on 127.0.0.1:PORT` first; read it (bounded) instead of sleeping.
"$mock_bin" --port 0 >"$work/mock.out" 2>"$work/mock.err" &
pids+=($!)
mock_url=""
for _ in $(seq 1 100); do
  line=$(head -n 1 "$work/mock.out" 2>/dev/null || true)
  if [ -n "$line" ]; then mock_url="http://${line#listening on }"; break; fi
  sleep 0.05
done
[ -n "$mock_url" ] || { echo "mock-upstream did not start:" >&2; cat "$work/mock.err" >&2; exit 1; }

# A free port for the gateway, chosen by the kernel.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$work/data"
scheme=http tls_env=()
if [ "${OM_HTTPS:-}" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  scheme=https
  tls_env=(OPENMANAGER_TLS__MODE=files OPENMANAGER_TLS__CERT_PATH="$work/cert.pem" OPENMANAGER_TLS__KEY_PATH="$work/key.pem")
  export SSL_CERT_FILE="$work/cert.pem" CURL_CA_BUNDLE="$work/cert.pem"
fi
# Started from the temp dir, so no ./openmanager.toml of the caller's is read.
(cd "$work" && exec env PORT="$port" HOST=127.0.0.1 OPENMANAGER_DATA_DIR="$work/data" OPENMANAGER_LOG=warn \
  OPENMANAGER_ADMIN_TOKEN="$TOKEN" GOOGLE_AI_API_KEY="$MOCK_KEY" GOOGLE_AI_BASE_URL="$mock_url" \
  OPENMANAGER_RATE_LIMIT__ENABLED=false "${tls_env[@]}" "$bin" >"$work/om.log" 2>&1) &
pids+=($!)
base="$scheme://127.0.0.1:$port"
ready=""
for _ in $(seq 1 300); do
  if curl -fsS -m 2 -o /dev/null "$base/api/health/ready" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "openmanager not ready within 30 s:" >&2; tail -n 30 "$work/om.log" >&2; exit 1; }

passed=0 failed=0
for t in test_openai.py test_google.py test_mcp.py; do
  echo "== $t"
  set +e
  OM_BASE="$base" OM_TOKEN="$TOKEN" MOCK_URL="$mock_url" timeout 120 "$venv/bin/python" "$here/$t" \
    >"$work/$t.out" 2>"$work/$t.err"
  rc=$?
  set -e
  cat "$work/$t.out"
  p=$(grep -c '^PASS ' "$work/$t.out" || true)
  f=$(grep -c '^FAIL ' "$work/$t.out" || true)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; echo "FAIL $t: exited $rc before reporting"
  fi
  [ "$f" -eq 0 ] || sed 's/^/    /' "$work/$t.err" | tail -n 40
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
