// The fleet view: one card per server, patched in place by id as `server_update` messages arrive (a
// full snapshot first, then changed servers only), with filters and a summary. Nothing is polled.
import { h, setText, setAttr, bar, setBar, pct, rate, duration, fill } from './dom.js';
import { t, onLang } from './i18n.js';
import * as socket from './socket.js';

const STATUSES = ['online', 'warning', 'critical', 'offline', 'maintenance', 'unknown'];
const SOURCES = ['self', 'agent', 'simulated', 'static'];
const SEVERITY = { critical: 0, offline: 1, warning: 2, unknown: 3, maintenance: 4, online: 5 };

/** The newest view of every server, by id; the detail view reads it too. */
export const servers = new Map();
const cards = new Map();
const listeners = new Set();

const grid = document.getElementById('fleet-grid');
const form = document.getElementById('fleet-filters');
const empty = document.getElementById('fleet-empty');
const summary = document.getElementById('fleet-summary');
let order = [];
let sortTimer = 0;

/** Called with each changed server (the detail view follows its own). */
export function onServer(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function filters() {
  const f = new FormData(form);
  return {
    q: String(f.get('q') || '').trim().toLowerCase(),
    status: f.get('status') || '',
    type: f.get('type') || '',
    source: f.get('source') || '',
    sort: f.get('sort') || 'status',
  };
}

function matches(s, f) {
  if (f.status && s.status !== f.status) return false;
  if (f.type && s.type !== f.type) return false;
  if (f.source && s.source !== f.source) return false;
  if (f.q) {
    const hay = `${s.name} ${s.hostname} ${s.ip} ${s.id} ${s.location}`.toLowerCase();
    if (!hay.includes(f.q)) return false;
  }
  return true;
}

function metric(label) {
  const b = bar();
  const value = h('span', { class: 'metric-value' });
  return { el: h('div', { class: 'metric' }, h('span', { class: 'metric-label', text: label }), b.el, value), bar: b, value };
}

function makeCard(s) {
  const link = h('a', { class: 'card-link', href: `#/server/${encodeURIComponent(s.id)}` });
  const status = h('span', { class: 'pill' });
  const meta = h('p', { class: 'card-meta' });
  const cpu = metric(t('m.cpu'));
  const mem = metric(t('m.memory'));
  const disk = metric(t('m.disk'));
  const net = h('span');
  const uptime = h('span');
  const alerts = h('span', { class: 'badge crit', hidden: true });
  const el = h('article', { class: 'card', 'data-testid': 'fleet-card', dataset: { id: s.id } },
    h('header', { class: 'card-head' }, h('h2', { class: 'card-title' }, link), status),
    meta,
    h('div', { class: 'metrics' }, cpu.el, mem.el, disk.el),
    h('p', { class: 'card-foot' }, h('span', { class: 'net' }, h('span', { class: 'muted', text: `${t('m.network')} ` }), net), uptime, alerts));
  return { el, link, status, meta, cpu, mem, disk, net, uptime, alerts };
}

/** Writes a server into its card, touching only what changed. */
function patch(card, s) {
  setText(card.link, s.name);
  setAttr(card.el, 'data-status', s.status);
  setText(card.status, t(`status.${s.status}`));
  setText(card.meta, [t(`type.${s.type}`, s.type), t(`source.${s.source}`, s.source), s.location].filter(Boolean).join(' · '));
  for (const [k, m] of [['cpu', card.cpu], ['memory', card.mem], ['disk', card.disk]]) {
    setBar(m.bar, s[k]);
    setText(m.value, pct(s[k]));
  }
  setText(card.net, `↓ ${rate(s.networkIn)} ↑ ${rate(s.networkOut)}`);
  setText(card.uptime, s.status === 'offline' ? t('status.offline') : `${t('m.uptime')} ${duration(s.uptime)}`);
  card.alerts.hidden = !s.alerts;
  if (s.alerts) setText(card.alerts, t('fleet.firing', { n: s.alerts }));
}

function upsert(s, f) {
  servers.set(s.id, s);
  let card = cards.get(s.id);
  if (!card) {
    card = makeCard(s);
    cards.set(s.id, card);
  }
  patch(card, s);
  card.el.hidden = !matches(s, f);
  for (const fn of listeners) fn(s);
}

function remove(id) {
  servers.delete(id);
  cards.get(id)?.el.remove();
  cards.delete(id);
}

function compare(sort) {
  const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true });
  if (sort === 'name') return byName;
  if (sort === 'cpu') return (a, b) => (b.cpu ?? -1) - (a.cpu ?? -1) || byName(a, b);
  return (a, b) => (SEVERITY[a.status] ?? 9) - (SEVERITY[b.status] ?? 9) || byName(a, b);
}

/** Puts cards in order, moving only when the order changed (appending a node moves it). */
function reorder() {
  const f = filters();
  const next = [...servers.values()].sort(compare(f.sort)).map((s) => s.id);
  const same = next.length === order.length && next.every((id, i) => id === order[i]) && grid.childElementCount === next.length;
  if (!same) {
    grid.append(...next.map((id) => cards.get(id).el));
    order = next;
  }
  let shown = 0;
  for (const [id, card] of cards) {
    card.el.hidden = !matches(servers.get(id), f);
    if (!card.el.hidden) shown++;
  }
  empty.hidden = shown > 0 || servers.size === 0;
  setText(empty, t('fleet.none'));
  renderSummary();
}

// Sorting by CPU would reshuffle cards every second; settle the order at most every few seconds.
function scheduleReorder(immediate) {
  if (immediate) {
    clearTimeout(sortTimer);
    sortTimer = 0;
    reorder();
  } else if (!sortTimer) {
    sortTimer = setTimeout(() => {
      sortTimer = 0;
      reorder();
    }, 3000);
  }
}

const summaryRefs = {};

function renderSummary() {
  const counts = { total: servers.size, online: 0, warning: 0, critical: 0, offline: 0 };
  let alerts = 0;
  for (const s of servers.values()) {
    if (s.status in counts) counts[s.status]++;
    alerts += s.alerts || 0;
  }
  counts.alerts = alerts;
  for (const [k, v] of Object.entries(counts)) {
    if (!summaryRefs[k]) {
      summaryRefs[k] = h('dd');
      summary.append(h('div', { class: `sum sum-${k}` }, h('dt', { text: t(`sum.${k}`) }), summaryRefs[k]));
    }
    setText(summaryRefs[k], v);
  }
}

function options(select, values, label) {
  const current = select.value;
  fill(select, h('option', { value: '', text: t('filter.all') }), values.map((v) => h('option', { value: v, text: label(v) })));
  select.value = values.includes(current) ? current : '';
}

function renderFilters() {
  const types = [...new Set([...servers.values()].map((s) => s.type))].sort();
  options(form.elements.status, STATUSES, (v) => t(`status.${v}`));
  options(form.elements.type, types, (v) => t(`type.${v}`, v));
  options(form.elements.source, SOURCES, (v) => t(`source.${v}`, v));
  const sort = form.elements.sort.value || 'status';
  fill(form.elements.sort, ['status', 'name', 'cpu'].map((v) => h('option', { value: v, text: t(`sort.${v}`) })));
  form.elements.sort.value = sort;
}

function onUpdate(data) {
  if (!data || !Array.isArray(data.servers)) return;
  const before = servers.size;
  const typesBefore = new Set([...servers.values()].map((s) => s.type));
  if (data.full) {
    const ids = new Set(data.servers.map((s) => s.id));
    for (const id of [...servers.keys()]) if (!ids.has(id)) remove(id);
  }
  const f = filters();
  // An `overview` patch carries only the fields that changed: merge them into what we hold.
  for (const s of data.servers) upsert(data.patch ? { ...servers.get(s.id), ...s } : s, f);
  for (const id of data.removed ?? []) remove(id);
  const newType = [...servers.values()].some((s) => !typesBefore.has(s.type));
  if (newType) renderFilters();
  // New or removed servers are placed now; value changes only settle the order later.
  scheduleReorder(data.full || servers.size !== before);
}

export function init() {
  renderFilters();
  form.addEventListener('input', () => scheduleReorder(true));
  form.addEventListener('submit', (e) => e.preventDefault());
  socket.on('server_update', onUpdate);
  onLang(() => {
    // Labels are baked into cards; a language change is rare, so rebuild them.
    renderFilters();
    for (const [id, card] of cards) {
      const fresh = makeCard(servers.get(id));
      card.el.replaceWith(fresh.el);
      cards.set(id, fresh);
      patch(fresh, servers.get(id));
    }
    summary.replaceChildren();
    for (const k of Object.keys(summaryRefs)) delete summaryRefs[k];
    reorder();
  });
}

export const view = {
  el: document.getElementById('view-fleet'),
  show() {},
  hide() {},
};
