#!/usr/bin/env bash
# Connection flood: 5,000 idle and 200 slow-header connections from one address (127.0.0.1), then
# GET /api/health from another (127.0.0.2) every 100 ms for 10 s; ours and the seed's Express server
# in turn. Target (BENCHMARKS.md): health still answers within 100 ms.
# Peers: ../shared/peers/setup.sh express
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

[ -d "$PEERS_DIR/express/node_modules/express" ] || bash "$SHARED/peers/setup.sh" express
[ -n "${SKIP_BUILD:-}" ] || build_release
# The flood needs 5,200 descriptors on each side; raise the soft limit (bounded by the hard one).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" -lt 12000 ]; then echo "bench/flood.sh: needs ulimit -n >= 12000 (have $(ulimit -n))" >&2; exit 1; fi

OURS_PORT=19041 EXPRESS_PORT=19045
data=$(mktemp -d)

# flood PORT: holds the flood open, probes health from 127.0.0.2, prints "p50 p99 max failures"
flood() {
  python3 - "$1" <<'PY'
import asyncio, socket, sys, time
port = int(sys.argv[1])
IDLE, SLOW, PROBES = 5000, 200, 100

async def idle(held):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        held.append(w)
    except (OSError, asyncio.TimeoutError):
        pass

async def slow(stop):
    # Slowloris: one header byte per second, never finishing the head.
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        w.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            await asyncio.sleep(1)
            w.write(b"X")
            await w.drain()
    except (OSError, asyncio.TimeoutError, ConnectionError):
        pass

def probe():
    t0 = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.2", 0))
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        ok = s.recv(16).startswith(b"HTTP/1.1 200")
        s.close()
    except OSError:
        ok = False
    return (time.perf_counter() - t0) * 1000, ok

async def main():
    held, stop = [], asyncio.Event()
    for i in range(0, IDLE, 500):
        await asyncio.gather(*(idle(held) for _ in range(500)))
    slows = [asyncio.create_task(slow(stop)) for _ in range(SLOW)]
    await asyncio.sleep(1)
    times, failures = [], 0
    loop = asyncio.get_running_loop()
    for _ in range(PROBES):
        ms, ok = await loop.run_in_executor(None, probe)
        times.append(ms)
        failures += 0 if ok else 1
        await asyncio.sleep(0.1)
    stop.set()
    for w in held:
        w.close()
    await asyncio.wait(slows, timeout=3)
    times.sort()
    print(f"{times[len(times)//2]:.2f} {times[int(len(times)*0.99)-1]:.2f} {times[-1]:.2f} {failures}")

asyncio.run(main())
PY
}

start_ours "$OURS_PORT" "$data"
(cd "$PEERS_DIR/express" && PORT=$EXPRESS_PORT exec node server.js >/dev/null 2>&1) &
EXPRESS=$!; PIDS+=($EXPRESS)
wait_http "http://127.0.0.1:$EXPRESS_PORT/api/health"

echo "== 5,000 idle + 200 slow-header connections from 127.0.0.1; health from 127.0.0.2 (100 probes)"
read -r o50 o99 omax ofail < <(flood "$OURS_PORT")
ours_rss=$(rss_kb "$OURS_PID")
read -r e50 e99 emax efail < <(flood "$EXPRESS_PORT")
express_rss=$(rss_kb "$EXPRESS")
printf '%-8s p50 %7s ms  p99 %7s ms  max %7s ms  failed %s  rss %s kB\n' ours "$o50" "$o99" "$omax" "$ofail" "$ours_rss"
printf '%-8s p50 %7s ms  p99 %7s ms  max %7s ms  failed %s  rss %s kB\n' express "$e50" "$e99" "$emax" "$efail" "$express_rss"
echo "flood_health_max_ms=$omax"
echo "flood_health_failed=$ofail"
echo "flood_health_max_ms_express=$emax"
echo "flood_health_within_100ms=$(awk -v m="$omax" -v f="$ofail" 'BEGIN { print (m < 100 && f == 0) ? "yes" : "no" }')"
