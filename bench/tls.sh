#!/usr/bin/env bash
# GET /api/health over HTTPS: ours (tls.mode = "files") vs nginx serving the same certificate and a
# fixed JSON answer, same wrk settings in the same run: keep-alive (-t2 -c64 -d5s), then a new
# connection per request (`Connection: close`, so every request pays a handshake; wrk resumes the
# previous session, so with TLS 1.3 each is a fresh X25519 agreement and key schedule without the
# certificate). nginx is set to the same TLS work as ours (TLS 1.3, AES-128-GCM, one ticket); Debian
# 12's nginx as installed (TLS 1.2 at most) is measured once more for information. Then RSS with
# 1,000 idle TLS connections (handshake done, one request answered, connection kept open), read 1 s
# after they are open and again after TLS_IDLE_HOLD_SECONDS (15) of idleness; the latter is the figure.
# The binary is the `dist` profile, or BIN_OVERRIDE=target/release/openmanager SKIP_BUILD=1.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
BIN=${BIN_OVERRIDE:-$BIN}

command -v wrk >/dev/null && command -v nginx >/dev/null && command -v openssl >/dev/null \
  || { echo "needs wrk, nginx and openssl (apt-get install wrk nginx-light openssl)" >&2; exit 1; }
[ -n "${SKIP_BUILD:-}" ] || [ -n "${BIN_OVERRIDE:-}" ] || build_release
echo "binary: $BIN"

OURS_PORT=19011 NGINX_PORT=19012 NGINX12_PORT=19013 IDLE=1000 HOLD=${TLS_IDLE_HOLD_SECONDS:-15}
work=$(mktemp -d)
# One ECDSA P-256 certificate for both (what ACME clients and Let's Encrypt usually issue).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_session_cache shared:SSL:1m;
    # The same TLS work as ours: TLS 1.3 (nginx's default since 1.23.4; Debian 12's 1.22 offers only
    # up to 1.2 unless told), AES-128-GCM chosen by the server, one session ticket per handshake.
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384;
    ssl_conf_command NumTickets 1;
    keepalive_timeout 60s;
    location /api/health {
      default_type application/json;
      return 200 '{"status":"healthy","timestamp":"2026-11-27T09:15:16.738Z","uptime":1.0,"version":"1.0.0"}';
    }
  }
  # For information only: Debian 12's nginx as installed (TLS 1.2 at most). wrk resumes each new
  # connection's session, and a resumed TLS 1.2 handshake has no key exchange at all, where TLS 1.3
  # resumption still agrees a fresh X25519 key (forward secrecy): not the same work.
  server {
    listen 127.0.0.1:$NGINX12_PORT ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_session_cache shared:SSL12:1m;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    location /api/health {
      default_type application/json;
      return 200 '{"status":"healthy","timestamp":"2026-11-27T09:15:16.738Z","uptime":1.0,"version":"1.0.0"}';
    }
  }
}
EOF

env PORT=$OURS_PORT HOST=127.0.0.1 OPENMANAGER_DATA_DIR="$work/data" OPENMANAGER_LOG=warn \
  OPENMANAGER_ADMIN_TOKEN="$BENCH_TOKEN" OPENMANAGER_TLS__MODE=files \
  OPENMANAGER_TLS__CERT_PATH="$work/cert.pem" OPENMANAGER_TLS__KEY_PATH="$work/key.pem" \
  OPENMANAGER_SERVER__HEADER_TIMEOUT_MS=60000 "$BIN" >/dev/null 2>&1 &
OURS=$!; PIDS+=($OURS)
nginx -c "$work/nginx.conf" >/dev/null 2>&1 &
NGINX=$!; PIDS+=($NGINX)
wait_https() {
  local i=0
  until curl -fsSk -o /dev/null "$1"; do i=$((i + 1)); [ $i -lt 600 ] || { echo "timed out: $1" >&2; exit 1; }; sleep 0.05; done
}
wait_https "https://127.0.0.1:$OURS_PORT/api/health"
wait_https "https://127.0.0.1:$NGINX_PORT/api/health"
# What each side negotiates with an OpenSSL client (wrk's library): the ratio compares like with like.
for u in "$OURS_PORT" "$NGINX_PORT" "$NGINX12_PORT"; do
  printf 'port %s negotiates: %s\n' "$u" "$(openssl s_client -connect "127.0.0.1:$u" </dev/null 2>/dev/null |
    awk '/^New, /{sub(/^New, /, ""); p=$0} /Server Temp Key/{sub(/^.*Key: /, ""); k=$0} END{print p "; key exchange " k}')"
done
sleep 1
idle_ours=$(rss_kb $OURS); idle_nginx=$(rss_tree_kb $NGINX)

echo "== wrk -t2 -c64 -d5s GET /api/health over HTTPS, keep-alive (warm-up 2 s each first)"
for u in "$OURS_PORT" "$NGINX_PORT"; do wrk -t2 -c64 -d2s "https://127.0.0.1:$u/api/health" >/dev/null; done
run_wrk ours "https://127.0.0.1:$OURS_PORT/api/health"; ours_ka=$WRK_RPS
run_wrk nginx "https://127.0.0.1:$NGINX_PORT/api/health"; nginx_ka=$WRK_RPS
echo "== the same with a new TLS connection per request (Connection: close; wrk resumes the session)"
run_wrk ours "https://127.0.0.1:$OURS_PORT/api/health" -H 'Connection: close'; ours_hs=$WRK_RPS
run_wrk nginx "https://127.0.0.1:$NGINX_PORT/api/health" -H 'Connection: close'; nginx_hs=$WRK_RPS
run_wrk "nginx tls1.2" "https://127.0.0.1:$NGINX12_PORT/api/health" -H 'Connection: close'; nginx12_hs=$WRK_RPS

echo "== RSS with $IDLE idle TLS connections (handshake, one request, then held open)"
# The holder: opens the connections, prints how many, then holds them until a line arrives on its
# stdin. (Its program is a file: with `python3 -` the program text would be stdin, and the holder
# would read EOF at once and drop the connections while the RSS was being read.)
cat >"$work/hold.py" <<'PY'
import asyncio, ssl, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
async def one(held):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=ctx), 30)
    w.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await w.drain()
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    if length:
        await asyncio.wait_for(r.readexactly(length[0]), 30)
    held.append(w)
async def main():
    held = []
    for i in range(0, n, 100):
        await asyncio.gather(*(one(held) for _ in range(100)))
    await asyncio.sleep(1)
    print(len(held))
    sys.stdout.flush()
    sys.stdin.readline()
asyncio.run(main())
PY
idle_rss() {
  python3 "$work/hold.py" "$1" "$IDLE"
}
measure() {
  # Holds the connections open while the server's RSS is read, then releases them.
  local port=$1 pid=$2 fifo="$work/hold-$1"
  mkfifo "$fifo"
  idle_rss "$port" <"$fifo" >"$work/held-$port" &
  local holder=$!
  exec 7>"$fifo"
  local i=0
  until [ -s "$work/held-$port" ]; do i=$((i + 1)); [ $i -lt 1200 ] || break; sleep 0.05; done
  local early; early=$(rss_tree_kb "$pid")
  # Idle means idle: read again after the connections sat unused for HOLD seconds, once allocators
  # have returned what the handshakes and the earlier load freed (jemalloc purges within ~10 s).
  sleep "$HOLD"
  local kb; kb=$(rss_tree_kb "$pid")
  echo >&7; exec 7>&-
  wait "$holder" || true
  echo "$(cat "$work/held-$port") $kb $early"
}
read -r held_ours rss_ours early_ours < <(measure $OURS_PORT $OURS)
read -r held_nginx rss_nginx early_nginx < <(measure $NGINX_PORT $NGINX)
printf 'ours   %5s connections held, RSS %s kB after %s s idle (%s kB 1 s after opening; idle before the load: %s kB)\n' \
  "$held_ours" "$rss_ours" "$HOLD" "$early_ours" "$idle_ours"
printf 'nginx  %5s connections held, RSS %s kB after %s s idle (%s kB 1 s after opening; idle before the load: %s kB, master + 2 workers)\n' \
  "$held_nginx" "$rss_nginx" "$HOLD" "$early_nginx" "$idle_nginx"

echo "== results"
echo "https_keepalive_rps_ours=$ours_ka"
echo "https_keepalive_rps_nginx=$nginx_ka"
echo "https_keepalive_ratio_vs_nginx=$(ratio "$ours_ka" "$nginx_ka")   # target >= 0.8"
echo "https_handshake_rps_ours=$ours_hs"
echo "https_handshake_rps_nginx=$nginx_hs"
echo "https_handshake_ratio_vs_nginx=$(ratio "$ours_hs" "$nginx_hs")   # target >= 0.8 (both TLS 1.3)"
echo "https_handshake_rps_nginx_tls12=$nginx12_hs   # information: TLS 1.2 resumption, no key exchange"
echo "https_handshake_ratio_vs_nginx_tls12=$(ratio "$ours_hs" "$nginx12_hs")"
echo "idle_tls_${IDLE}_rss_mb_ours=$(awk -v k="$rss_ours" 'BEGIN{printf "%.1f", k/1024}')   # target <= 48 (nginx $(awk -v k="$rss_nginx" 'BEGIN{printf "%.1f", k/1024}'))"
rm -rf "$work"
