// The AI gateway panel (GET /api/ai/status): the engine chain, each engine's health, circuit state,
// quota left, latency percentiles, requests and errors; the answer cache's hit rate and the queue.
import { h, fill, table, num, pct } from './dom.js';
import { t, onLang } from './i18n.js';
import { api } from './api.js';

const root = document.getElementById('gateway-body');
const REFRESH_MS = 15000;
let timer = 0;
let visible = false;

/** The status body uses snake_case; accept camelCase too in case it changes. */
const pick = (o, snake, camel) => o?.[snake] ?? o?.[camel];
const left = (v) => (v == null ? '∞' : num(v, 0));

function circuitPill(state) {
  const s = String(state ?? 'unknown').toLowerCase().replace('-', '_');
  const level = s === 'closed' ? 'ok' : s === 'half_open' ? 'warn' : s === 'open' ? 'crit' : 'off';
  return h('span', { class: 'pill', dataset: { level }, text: t(`gw.circuit.${s}`, s) });
}

function healthPill(health) {
  const s = String(health ?? 'unknown');
  const level = s === 'up' ? 'ok' : s === 'not_configured' ? 'off' : s === 'degraded' ? 'warn' : 'crit';
  return h('span', { class: 'pill', dataset: { level }, text: t(`gw.health.${s}`, s) });
}

function render(body) {
  const d = body.data ?? {};
  const cache = d.cache ?? {};
  const totals = body.totals ?? {};
  // A fraction 0-1.
  const hitRate = pick(cache, 'hit_rate', 'hitRate') ?? 0;
  const summary = h('dl', { class: 'pairs' },
    h('dt', { text: t('gw.chain') }), h('dd', { text: (d.chain ?? []).join(' → ') || '—' }),
    h('dt', { text: t('gw.cache') }), h('dd', { text: t('gw.cacheLine', { rate: pct(hitRate * 100), hits: num(cache.hits, 0), misses: num(cache.misses, 0), entries: num(cache.entries, 0) }) }),
    h('dt', { text: t('gw.queue') }), h('dd', { text: `${num(pick(d, 'queue_depth', 'queueDepth'), 0)} / ${num(pick(d, 'queue_capacity', 'queueCapacity'), 0)}` }),
    h('dt', { text: t('gw.queries') }), h('dd', { text: t('gw.queriesLine', { n: num(totals.totalQueries, 0), ok: pct(totals.successRate), ms: num(totals.avgLatency, 0) }) }));
  const rows = (d.engines ?? []).map((e) => {
    const q = e.quota ?? {};
    const lat = pick(e, 'latency_ms', 'latencyMs') ?? {};
    const errors = Object.values(e.errors ?? {}).reduce((a, b) => a + (Number(b) || 0), 0);
    const quota = q.day_exhausted || q.dayExhausted
      ? t('gw.exhausted')
      : `${left(pick(q, 'minute_requests', 'minuteRequests'))} ${t('gw.perMin')} · ${left(pick(q, 'day_requests', 'dayRequests'))} ${t('gw.perDay')}`;
    return [
      h('span', null, h('strong', { text: e.name }), h('span', { class: 'muted small', text: ` ${e.kind ?? ''}` })),
      healthPill(e.health),
      circuitPill(e.circuit),
      quota,
      `${num(lat.p50, 0)} / ${num(lat.p90, 0)} / ${num(lat.p99, 0)}`,
      num(e.requests, 0),
      h('span', { title: pick(e, 'last_error', 'lastError') ?? '', text: num(errors, 0) }),
    ];
  });
  fill(root, summary,
    h('div', { class: 'scroll' }, table(t('gw.engines'), [t('gw.engine'), t('gw.health'), t('gw.circuit'), t('gw.quota'), t('gw.latency'), t('gw.requests'), t('gw.errors')], rows)));
}

async function load() {
  try {
    render(await api('api/ai/status'));
  } catch (e) {
    fill(root, h('p', { class: 'muted', text: e.status === 404 ? t('notAvailable') : t('loadFailed', { msg: e.message }) }));
  }
}

export function init() {
  onLang(() => {
    if (visible) load();
  });
}

export const panel = {
  show() {
    visible = true;
    load();
    clearInterval(timer);
    timer = setInterval(load, REFRESH_MS);
  },
  hide() {
    visible = false;
    clearInterval(timer);
  },
};
