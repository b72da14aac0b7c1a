// Talking to the backend: the token (kept in localStorage), JSON requests with the error envelope, the
// optional endpoints this server has, and the AI answer stream (SSE over fetch, since EventSource
// cannot POST). All URLs are relative, so the page also works behind a proxy under a sub-path.

const TOKEN_KEY = 'openmanager.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

/** Called when the server rejects the token (401), so the app can ask for another. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function token() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(value) {
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the token lives as long as the page.
  }
  memoryToken = value;
}

let memoryToken = '';
const current = () => token() || memoryToken;

/** The optional endpoints the server announced in the page, or null when unknown (then assume all). */
const features = (() => {
  const meta = document.querySelector('meta[name="openmanager-features"]');
  const content = meta?.getAttribute('content') ?? '';
  if (!meta || content.includes('{{')) return null;
  return new Set(content.split(/\s+/).filter(Boolean));
})();

export function has(feature) {
  return features === null || features.has(feature);
}

function headers(extra) {
  return { Authorization: `Bearer ${current()}`, ...extra };
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  if (res.status === 401) unauthorized();
  return new ApiError(res.status, body?.error, body?.message);
}

/** A JSON request; resolves to the parsed body, rejects with ApiError. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  let res = await fetch(path, init);
  // The hub's rate limit refuses a request before handling it, so asking once more when it says
  // (a few seconds at most, as a person clicking again would) is safe for any method. The dashboard's
  // own polling can use up the allowance that an operator's save then needs.
  const wait = Number(res.headers.get('retry-after'));
  if (res.status === 429 && Number.isFinite(wait) && wait >= 0 && wait <= 5) {
    await new Promise((r) => setTimeout(r, wait * 1000 + 50));
    res = await fetch(path, init);
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  return res.json();
}

/** Checks a token before keeping it. */
export async function verify(candidate) {
  const res = await fetch('api/servers?limit=1', { headers: { Authorization: `Bearer ${candidate}` } });
  if (res.ok) return true;
  if (res.status === 401 || res.status === 403) return false;
  throw new ApiError(res.status, 'HTTP', `HTTP ${res.status}`);
}

/**
 * Asks the assistant with `stream: true`. Calls onEvent for each parsed `data:` event and resolves with
 * the response headers the caller shows (engine, cache status, fallback).
 */
export async function streamQuery(payload, onEvent, signal) {
  const res = await fetch('api/ai/query', {
    method: 'POST',
    signal,
    headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify({ ...payload, stream: true }),
  });
  if (!res.ok) throw await failure(res);
  const info = {
    engine: res.headers.get('x-ai-engine'),
    cache: res.headers.get('x-cache-status'),
    fallback: res.headers.get('x-fallback') === 'true',
    intent: res.headers.get('x-query-intent'),
  };
  const type = res.headers.get('content-type') || '';
  if (!type.startsWith('text/event-stream')) {
    // A server that answered in one piece: treat the body as the final event.
    onEvent({ done: true, ...(await res.json()) }, info);
    return info;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      // Comments (keep-alives) and events without data carry nothing to show.
      if (!data) continue;
      let event;
      try {
        event = JSON.parse(data);
      } catch {
        continue;
      }
      onEvent(event, info);
    }
  }
  return info;
}
