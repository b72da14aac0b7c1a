// The one WebSocket to /ws: authenticates with the `bearer.<token>` subprotocol, dispatches messages by
// type, reconnects with back-off, and re-sends the live subscription after a reconnect (the server
// starts every connection with a full snapshot, so nothing else needs replaying).
// Egress is the free tier's tightest limit, so the page asks only for what it shows: the `fleet`
// topic (changed fields every few seconds), alerts, and `live` for the open server; while the tab is
// hidden it unsubscribes from everything and resubscribes (getting fresh snapshots) when shown.

const TOPICS = ['fleet', 'alerts'];

const handlers = new Map();
let ws = null;
let token = '';
let liveId = null;
let retry = 0;
let timer = 0;
let pinger = 0;
let stopped = true;

/** Registers a handler for a message type; also 'status' with 'live' | 'connecting' | 'off'. */
export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

function emit(type, data, msg) {
  for (const fn of handlers.get(type) ?? []) {
    try {
      fn(data, msg);
    } catch (e) {
      // One broken view must not stop the others from updating.
      console.warn('handler failed', type, e);
    }
  }
}

function url() {
  const u = new URL('ws', document.baseURI);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('topics', document.hidden ? '' : TOPICS.join(','));
  return u;
}

function resubscribe() {
  if (document.hidden) send({ type: 'unsubscribe', topics: [...TOPICS, 'live'] });
  else send({ type: 'subscribe', topics: TOPICS, ...(liveId ? { live: liveId } : {}) });
}

document.addEventListener('visibilitychange', resubscribe);

function open() {
  clearTimeout(timer);
  emit('status', 'connecting');
  let socket;
  try {
    socket = new WebSocket(url(), [`bearer.${token}`]);
  } catch {
    // A token with characters a subprotocol cannot carry: the query parameter works too.
    const u = url();
    u.searchParams.set('token', token);
    socket = new WebSocket(u);
  }
  ws = socket;
  socket.onopen = () => {
    retry = 0;
    emit('status', 'live');
    if (liveId && !document.hidden) send({ type: 'subscribe', topics: [], live: liveId });
    clearInterval(pinger);
    // Keeps idle proxies from closing the connection.
    pinger = setInterval(() => send({ type: 'ping' }), 30000);
  };
  socket.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg && typeof msg.type === 'string') emit(msg.type, msg.data, msg);
  };
  socket.onclose = () => {
    clearInterval(pinger);
    if (ws !== socket) return;
    ws = null;
    emit('status', stopped ? 'off' : 'connecting');
    if (stopped) return;
    // 1 s, 2 s, 4 s ... up to 30 s, with jitter so a restarted server is not hit by every tab at once.
    const delay = Math.min(30000, 1000 * 2 ** retry) * (0.75 + Math.random() * 0.5);
    retry = Math.min(retry + 1, 5);
    emit('retry', retry);
    timer = setTimeout(open, delay);
  };
}

export function start(t) {
  token = t;
  stopped = false;
  if (!ws) open();
}

export function stop() {
  stopped = true;
  clearTimeout(timer);
  clearInterval(pinger);
  const socket = ws;
  ws = null;
  socket?.close(1000);
  emit('status', 'off');
}

export function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

/** Streams 1-second samples of one server (null stops them). */
export function setLive(id) {
  if (liveId && liveId !== id) send({ type: 'unsubscribe', live: liveId });
  liveId = id;
  if (id && !document.hidden) send({ type: 'subscribe', topics: [], live: id });
}
