#!/usr/bin/env python3
"""The clients of bench/egress.sh: each scenario on its own TCP connection(s) for DURATION seconds,
counting the bytes the hub sent (socket reads) and, at the end, the kernel's own count for the same
socket (`ss -ti` bytes_received). Prints one line per scenario. Standard library, and for the
dictionary poller Google's brotli 1.2 (its C decoder through ctypes: the one Chromium uses; egress.sh
installs it into a cache venv); without it that scenario is skipped."""
import base64, ctypes, gzip, hashlib, json, os, re, socket, struct, subprocess, sys, tempfile, threading, time, http.client

PORT = int(sys.argv[1]); TOKEN = sys.argv[2]; DURATION = float(sys.argv[3])
HOST = "127.0.0.1"
results = {}


def kernel_received(sock):
    """bytes_received of this socket as the kernel counts it (TCP payload), or None."""
    port = sock.getsockname()[1]
    try:
        out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=5).stdout
    except Exception:
        return None
    m = re.search(r"bytes_received:(\d+)", out)
    return int(m.group(1)) if m else None


def frame(text):
    """A masked client text frame (uncompressed)."""
    data = text.encode(); key = os.urandom(4)
    head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else bytes([0x81, 0xFE]) + len(data).to_bytes(2, "big")
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(data))


def ws_client(name, topics=None, deflate=True, live=None):
    s = socket.create_connection((HOST, PORT))
    query = "" if topics is None else f"?topics={topics}"
    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws{query} HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nAuthorization: Bearer {TOKEN}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{ext}\r\n").encode())
    if live:
        s.sendall(frame(json.dumps({"type": "subscribe", "topics": [], "live": live})))
    total = 0; end = time.time() + DURATION; next_ping = time.time() + 30
    s.settimeout(0.5)
    while time.time() < end:
        if time.time() >= next_ping:  # the dashboard's keep-alive ping every 30 s
            s.sendall(frame('{"type":"ping"}')); next_ping += 30
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        total += len(chunk)
    results[name] = (total, kernel_received(s)); s.close()


def poller(name, etag=True):
    """The web app's pattern: /api/servers and /api/metrics every 5 s, keep-alive, br or gzip. A
    connection the hub closed (idle or request limits) is reopened, as a browser does; the kernel's
    count is summed over every connection."""
    c = None; sock = None; kernel = 0; last = 0
    tags = {}; total = 0; end = time.time() + DURATION; reconnects = 0
    while time.time() < end:
        for path in ("/api/servers", "/api/metrics"):
            h = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "br, gzip"}
            if etag and path in tags:
                h["If-None-Match"] = tags[path]
            for attempt in range(2):
                if c is None:
                    c = http.client.HTTPConnection(HOST, PORT); c.connect(); sock = c.sock
                try:
                    c.request("GET", path, headers=h); r = c.getresponse(); body = r.read()
                    break
                except (http.client.HTTPException, ConnectionError):
                    # The socket is closed by now: its count as of its last answer.
                    kernel += last; last = 0; c.close(); c = None; reconnects += 1
            else:
                continue
            last = kernel_received(sock) or last
            # Status line and headers as sent, plus the body.
            total += len(f"HTTP/1.1 {r.status} {r.reason}\r\n") + sum(len(k) + len(v) + 4 for k, v in r.getheaders()) + 2 + len(body)
            if r.getheader("ETag"):
                tags[path] = r.getheader("ETag")
        time.sleep(max(0.0, min(5.0, end - time.time())))
    if c is not None:
        kernel += last; c.close()
    results[name] = (total, kernel)
    if reconnects:
        print(f"({name}: {reconnects} reconnections)", file=sys.stderr)


def load_brotli():
    """(brotli module, its C library with the decoder's dictionary calls) or None."""
    try:
        import brotli, _brotli
        lib = ctypes.CDLL(_brotli.__file__)
        lib.BrotliDecoderCreateInstance.restype = ctypes.c_void_p
        lib.BrotliDecoderCreateInstance.argtypes = [ctypes.c_void_p] * 3
        lib.BrotliDecoderAttachDictionary.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p]
        lib.BrotliDecoderDecompressStream.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        lib.BrotliDecoderDestroyInstance.argtypes = [ctypes.c_void_p]
        return brotli, lib
    except (ImportError, OSError, AttributeError):
        return None


BROTLI = load_brotli()


def decode_dcb(body, dictionary):
    """RFC 9842 dcb: the 36-byte header (magic, SHA-256 of the dictionary), then brotli decoded
    with the dictionary attached as a raw prefix (BROTLI_SHARED_DICTIONARY_RAW = 0), as Chromium does."""
    if body[:4] != b"\xff\x44\x43\x42" or body[4:36] != hashlib.sha256(dictionary).digest():
        raise ValueError("dcb header does not name the dictionary sent")
    lib = BROTLI[1]
    dec = lib.BrotliDecoderCreateInstance(None, None, None)
    try:
        if not lib.BrotliDecoderAttachDictionary(dec, 0, len(dictionary), dictionary):
            raise ValueError("dictionary refused")
        src = ctypes.create_string_buffer(body[36:], len(body) - 36)
        avail_in = ctypes.c_size_t(len(body) - 36); next_in = ctypes.c_void_p(ctypes.addressof(src))
        out = bytearray(); buf = ctypes.create_string_buffer(1 << 16)
        for _ in range(10000):
            avail_out = ctypes.c_size_t(len(buf)); next_out = ctypes.c_void_p(ctypes.addressof(buf))
            r = lib.BrotliDecoderDecompressStream(dec, ctypes.byref(avail_in), ctypes.byref(next_in),
                                                  ctypes.byref(avail_out), ctypes.byref(next_out), None)
            out += buf.raw[:len(buf) - avail_out.value]
            if r == 1:
                return bytes(out)
            if r != 3:
                raise ValueError(f"dcb decode failed ({r})")
        raise ValueError("dcb decode did not end")
    finally:
        lib.BrotliDecoderDestroyInstance(dec)


dict_stats = {"dcb": 0, "br": 0, "gzip": 0, "identity": 0, "304": 0}


def chromium_request(path, tags, dicts, chromium=True):
    """The headers Chromium sends on a polled fetch: its codings, Sec-Fetch-* and (in a secure
    context, the only one where it keeps dictionaries) its Sec-CH-UA client hints, If-None-Match for
    a kept tag, and dcb/dcz with Available-Dictionary only while it holds a dictionary for the URL
    (RFC 9842 6.1). Lower-case names, so the HTTP/1.1 and HTTP/2 pollers send the same. Without
    `chromium`: Firefox's or Safari's fetch (the same codings and Sec-Fetch-*, no client hints)."""
    h = {"authorization": f"Bearer {TOKEN}", "accept-encoding": "gzip, deflate, br, zstd",
         "sec-fetch-mode": "cors", "sec-fetch-site": "same-origin", "sec-fetch-dest": "empty"}
    if chromium:
        h.update({"sec-ch-ua": '"Chromium";v="130", "Google Chrome";v="130", "Not?A_Brand";v="99"',
                  "sec-ch-ua-mobile": "?0", "sec-ch-ua-platform": '"Linux"'})
    if path in tags:
        h["if-none-match"] = tags[path]
    if chromium and path in dicts:
        h["accept-encoding"] += ", dcb, dcz"
        h["available-dictionary"] = ":" + base64.b64encode(hashlib.sha256(dicts[path]).digest()).decode() + ":"
    return h


def chromium_answer(path, status, get, body, tags, dicts, stats):
    """Decodes an answer (dcb with the dictionary sent, br, gzip or identity), checks it parses as the
    route's JSON, and keeps what Chromium would: the ETag unless `Vary: *`, and the body as the next
    dictionary when the answer says Use-As-Dictionary. `get(name)` reads a response header."""
    if status == 304:
        stats["304"] += 1
        return
    enc = (get("content-encoding") or "identity").strip()
    stats[enc] = stats.get(enc, 0) + 1
    if enc == "dcb":
        plain = decode_dcb(body, dicts[path])
    elif enc == "br":
        plain = BROTLI[0].decompress(body)
    elif enc == "gzip":
        plain = gzip.decompress(body)
    elif enc == "identity":
        plain = body
    else:
        raise ValueError(f"unexpected encoding {enc}")
    doc = json.loads(plain)
    # /api/metrics is the web app's VMMetrics object itself; the rest are envelopes.
    assert doc.get("success") is True or (path == "/api/metrics" and "system" in doc), doc
    # Chromium keeps no `Vary: *` answer in its cache, so it has no tag to send for it.
    if get("etag") and (get("vary") or "").strip() != "*":
        tags[path] = get("etag")
    else:
        tags.pop(path, None)
    if get("use-as-dictionary"):
        dicts[path] = plain


def dict_poller(name):
    """The web app's polling as Chromium sends it: its codings, If-None-Match, and with dcb and dcz
    Available-Dictionary for the dictionary it keeps per path (the last answer that said
    Use-As-Dictionary). Every body is decoded (dcb with the C decoder, the dictionary attached raw) and
    must parse as the route's JSON; the integration test compares a dcb answer with a plain one."""
    c = None; sock = None; kernel = 0; last = 0
    tags = {}; dicts = {}; total = 0; end = time.time() + DURATION; reconnects = 0
    while time.time() < end:
        for path in ("/api/servers", "/api/metrics"):
            h = chromium_request(path, tags, dicts)
            for attempt in range(2):
                if c is None:
                    c = http.client.HTTPConnection(HOST, PORT); c.connect(); sock = c.sock
                try:
                    c.request("GET", path, headers=h); r = c.getresponse(); body = r.read()
                    break
                except (http.client.HTTPException, ConnectionError):
                    kernel += last; last = 0; c.close(); c = None; reconnects += 1
            else:
                continue
            last = kernel_received(sock) or last
            total += len(f"HTTP/1.1 {r.status} {r.reason}\r\n") + sum(len(k) + len(v) + 4 for k, v in r.getheaders()) + 2 + len(body)
            chromium_answer(path, r.status, r.getheader, body, tags, dicts, dict_stats)
        time.sleep(max(0.0, min(5.0, end - time.time())))
    if c is not None:
        kernel += last; c.close()
    results[name] = (total, kernel)
    if reconnects:
        print(f"({name}: {reconnects} reconnections)", file=sys.stderr)


def load_h2():
    """The h2 module (the HTTP/2 state machine; egress.sh installs it into the cache venv) or None."""
    try:
        import h2.config, h2.connection, h2.events, h2.exceptions
        return h2
    except ImportError:
        return None


H2 = load_h2()
TLS_PORT = int(os.environ.get("EGRESS_TLS_PORT", "0"))


class H2Client:
    """One HTTPS connection speaking HTTP/2 (ALPN h2), as Chromium does once the web app calls the hub
    over HTTPS (its page is HTTPS, so plain http:// fetches are blocked as mixed content). Counts the
    TLS bytes read from the TCP socket, which is what the hub's NIC sends (records, frames, HPACK,
    and the server's pings between polls)."""

    def __init__(self):
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE  # the hub's self-signed certificate
        ctx.set_alpn_protocols(["h2"])
        self.raw = socket.create_connection((HOST, TLS_PORT), timeout=30)
        self.incoming = ssl.MemoryBIO(); self.outgoing = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing)
        self.read_bytes = 0
        self._pump(self.tls.do_handshake)
        assert self.tls.selected_alpn_protocol() == "h2", self.tls.selected_alpn_protocol()
        self.conn = H2.connection.H2Connection(H2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self._send()

    def _flush(self):
        out = self.outgoing.read()
        if out:
            self.raw.sendall(out)

    def _fill(self):
        data = self.raw.recv(65536)
        if not data:
            raise ConnectionError("closed by the hub")
        self.read_bytes += len(data); self.incoming.write(data)

    def _pump(self, op):
        import ssl
        while True:
            try:
                r = op(); self._flush(); return r
            except ssl.SSLWantReadError:
                self._flush(); self._fill()

    def _send(self):
        data = self.conn.data_to_send()
        if data:
            self._pump(lambda: self.tls.write(data))

    def get(self, path, headers):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", f"{HOST}:{TLS_PORT}"),
                                     (":path", path)] + [(k.lower(), v) for k, v in headers.items()], end_stream=True)
        self._send()
        status = None; got = {}; body = bytearray()
        while True:
            try:
                data = self.tls.read(65536)
            except __import__("ssl").SSLWantReadError:
                self._fill(); continue
            for ev in self.conn.receive_data(data):
                if isinstance(ev, H2.events.ResponseReceived) and ev.stream_id == sid:
                    got = {k.lower(): v for k, v in ev.headers}; status = int(got[":status"])
                elif isinstance(ev, H2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if ev.stream_id == sid:
                        body += ev.data
                elif isinstance(ev, H2.events.StreamEnded) and ev.stream_id == sid:
                    self._send()
                    return status, got, bytes(body)
                elif isinstance(ev, (H2.events.StreamReset, H2.events.ConnectionTerminated)):
                    raise ConnectionError(f"HTTP/2: {ev}")
            self._send()

    def close(self):
        self.raw.close()


def h2_dict_poller(name, dictionaries=True):
    """The Chromium poller above, over HTTPS and HTTP/2: HPACK sends the repeated headers as table
    references, so an answer costs little more than its dcb body and the TLS record around it.
    Without `dictionaries` it is a browser that keeps none (Firefox and Safari today): Sec-Fetch-*
    and the same codings, no client hints, If-None-Match with the tag it was given."""
    c = H2Client(); tags = {}; dicts = {}; end = time.time() + DURATION
    done_bytes = 0; done_kernel = 0; reconnects = 0
    while time.time() < end:
        for path in ("/api/servers", "/api/metrics"):
            h = chromium_request(path, tags, dicts, dictionaries)
            for attempt in range(2):
                try:
                    status, got, body = c.get(path, h)
                    break
                except (ConnectionError, OSError, H2.exceptions.ProtocolError):
                    # The hub closed the connection (GOAWAY, or its connection limits): a browser
                    # opens a new one, handshake included, and so do we; every byte counts.
                    done_bytes += c.read_bytes; done_kernel += kernel_received(c.raw) or c.read_bytes
                    c.close(); c = H2Client(); reconnects += 1
            else:
                continue
            chromium_answer(path, status, got.get, body, tags, dicts, h2_stats if dictionaries else h2_plain_stats)
        time.sleep(max(0.0, min(5.0, end - time.time())))
    kernel = kernel_received(c.raw)
    results[name] = (done_bytes + c.read_bytes, None if kernel is None else done_kernel + kernel)
    c.close()
    if reconnects:
        print(f"({name}: {reconnects} reconnections)", file=sys.stderr)


h2_stats = {"dcb": 0, "br": 0, "gzip": 0, "identity": 0, "304": 0}
h2_plain_stats = dict(h2_stats)


def tcp_info_bytes(sock):
    """(bytes_acked, bytes_received) of this socket as the kernel counts them (struct tcp_info)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        return struct.unpack_from("QQ", info, 120)
    except OSError:
        return (0, 0)


uplink = {}


def agent(name, extra):
    """`openmanager agent` at its default interval, reaching the hub through a byte-counting relay on
    loopback: per direction, the relay's socket reads and the kernel's count (tcp_info bytes_received
    and bytes_acked of the agent-side socket, read before it closes, summed over connections)."""
    lst = socket.socket(); lst.bind((HOST, 0)); lst.listen(8); relay_port = lst.getsockname()[1]
    counts = {"up": 0, "down": 0, "k_up": 0, "k_down": 0, "conns": 0}
    lock = threading.Lock()

    def pipe(src, dst, key):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with lock:
                counts[key] += len(data)
            try:
                dst.sendall(data)
            except OSError:
                break
        for s_ in (src, dst):
            try:
                s_.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve():
        while True:
            try:
                a, _ = lst.accept()
            except OSError:
                return
            h = socket.create_connection((HOST, PORT))

            def conn(a=a, h=h):
                t = threading.Thread(target=pipe, args=(h, a, "down")); t.start()
                pipe(a, h, "up"); t.join()
                acked, received = tcp_info_bytes(a)
                with lock:
                    counts["k_up"] += received; counts["k_down"] += acked; counts["conns"] += 1
                a.close(); h.close()
            threading.Thread(target=conn, daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    state = tempfile.mkdtemp()
    proc = subprocess.Popen([AGENT_BIN, "agent", "--hub", f"http://127.0.0.1:{relay_port}", "--token", TOKEN,
                             "--state-dir", state, "--name", name.split(":")[0].replace(" ", "-")] + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "")})
    time.sleep(DURATION)
    proc.terminate(); proc.wait(); time.sleep(0.5); lst.close()
    with lock:
        results[name] = (counts["down"], counts["k_down"])
        uplink[name] = (counts["up"], counts["k_up"], counts["conns"])


AGENT_BIN = os.environ.get("EGRESS_AGENT_BIN", "")
scenarios = [
    ("before: fleet view (no subscribe, no deflate)", lambda n: ws_client(n, None, False)),
    ("fleet view", lambda n: ws_client(n, "fleet,alerts")),
    ("detail view with live chart", lambda n: ws_client(n, "fleet,alerts", live="web-01")),
    ("hidden tab", lambda n: ws_client(n, "")),
    ("before: polling without ETag", lambda n: poller(n, False)),
    ("polling /api/servers + /api/metrics every 5 s", lambda n: poller(n, True)),
]
if BROTLI:
    # Chromium offers dictionaries only in a secure context: over plain HTTP that is localhost alone,
    # so for a hub on a public address the HTTPS lines are the browsers' real cost.
    scenarios += [("polling as Chromium over HTTP/1.1 (dcb)", dict_poller)]
    if H2 and TLS_PORT:
        scenarios += [("polling as Chromium over HTTPS (HTTP/2, dcb)", h2_dict_poller),
                      ("polling, browser without dictionaries, HTTPS", lambda n: h2_dict_poller(n, False))]
    else:
        print("(no h2 module or no TLS hub: the HTTPS poller is skipped)", file=sys.stderr)
else:
    print("(no brotli 1.2 module: the dictionary pollers are skipped)", file=sys.stderr)
if AGENT_BIN:
    scenarios += [
        ("before-agent: version 1 body, a report each sample", lambda n: agent(n, ["--legacy-body", "--batch-seconds", "0"])),
        ("agent: compact body, batch 15 s", lambda n: agent(n, [])),
    ]
threads = [threading.Thread(target=f, args=(n,)) for n, f in scenarios]
for t in threads: t.start()
for t in threads: t.join()
for n, _ in scenarios:
    got, kern = results.get(n, (0, None))
    rate = got / DURATION
    kern_s = "n/a" if kern is None else f"{kern / DURATION:8.1f}"
    print(f"{n:48s} {rate:9.1f} B/s  kernel {kern_s} B/s  {rate * 3600 / 1e6:7.2f} MB/h")
for n, (up, k_up, conns) in uplink.items():
    print(f"{n:48s} to the hub {up / DURATION:7.1f} B/s (kernel {k_up / DURATION:7.1f}), "
          f"back {results[n][0] / DURATION:6.1f} B/s (kernel {results[n][1] / DURATION:6.1f}), {conns} connections")
if BROTLI:
    print(f"dictionary poller: answers by encoding {dict_stats} (every body decoded and parsed as JSON)")
    if H2 and TLS_PORT:
        print(f"HTTPS pollers: answers by encoding {h2_stats}, without dictionaries {h2_plain_stats} "
              "(every body decoded and parsed as JSON)")
# The hub's own count (/api/budget egress.hubBytes) against the kernel's, over every scenario.
c = http.client.HTTPConnection(HOST, PORT)
c.request("GET", "/api/budget", headers={"Authorization": f"Bearer {TOKEN}"})
hub = json.loads(c.getresponse().read())["data"]["egress"]
kernel_total = sum(k or 0 for n, (_, k) in results.items() if "HTTPS" not in n)  # the TLS hub counts its own
print(f"hub's own count (egress.hubBytes) {hub['hubBytes']} B vs kernel {kernel_total} B: "
      f"{(hub['hubBytes'] - kernel_total) / max(kernel_total, 1) * 100:+.1f}%  byTopic {hub['byTopic']}")
fleet = results.get("fleet view", (0, None))[0] / DURATION
before = results.get("before: fleet view (no subscribe, no deflate)", (0, None))[0] / DURATION
print(f"one viewer, fleet view 8 h/day for 30 days: {fleet * 8 * 3600 * 30 / 1e6:.1f} MB (before: {before * 8 * 3600 * 30 / 1e6:.1f} MB)")
