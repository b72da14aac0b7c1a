// The server detail view: live 1-second charts fed by the WebSocket `live` subscription while the view
// is open, history charts with a range selector, system info, disks, interfaces, top processes,
// services, the server's alerts, and assistant analyses about this server.
import { h, fill, setText, setAttr, pair, table, bar, setBar, pct, bytes, rate, duration, time, num } from './dom.js';
import { t, onLang, lang } from './i18n.js';
import { api, has, ApiError } from './api.js';
import * as socket from './socket.js';
import { Chart } from './charts.js';
import { servers, onServer } from './fleet.js';
import { alertItem } from './alerts.js';
import { askInto } from './assistant.js';

const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d'];
// Five minutes of live samples, one a second.
const LIVE_SECONDS = 300;
const INFO_REFRESH_MS = 10000;
const root = document.getElementById('view-server');

let current = null;
let ui = null;
let range = '1h';
let aborter = null;
let infoAt = 0;

const percentSeries = () => [
  { label: t('m.cpu'), color: '--c1' },
  { label: t('m.memory'), color: '--c2' },
  { label: t('m.disk'), color: '--c3' },
];
const netSeries = () => [
  { label: t('m.netIn'), color: '--c4' },
  { label: t('m.netOut'), color: '--c5' },
];

function panel(title, ...body) {
  return h('section', { class: 'panel' }, h('h2', { text: title }), ...body);
}

function build(id) {
  const s = servers.get(id);
  const title = h('h1', { id: 'server-title', text: s?.name ?? id });
  const pill = h('span', { class: 'pill' });
  const meta = h('p', { class: 'muted' });
  const liveNow = h('p', { class: 'live-now', 'aria-live': 'off' });
  const livePct = h('div', { 'data-testid': 'live-chart' });
  const liveNet = h('div');
  const rangeGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': t('d.range') },
    RANGES.map((r) => h('button', { type: 'button', 'aria-pressed': String(r === range), dataset: { range: r }, text: r })));
  const histInfo = h('p', { class: 'muted small' });
  const histPct = h('div', { 'data-testid': 'history-chart' });
  const histNet = h('div');
  const system = h('div');
  const disks = h('div');
  const ifaces = h('div');
  const procs = h('div');
  const services = h('div');
  const alerts = h('ul', { class: 'alerts' });
  const answer = h('div', { class: 'answers' });
  const analyses = h('div', { class: 'actions' }, ['health', 'anomaly', 'forecast'].map((k) =>
    h('button', { type: 'button', dataset: { analysis: k }, text: t(`d.analysis.${k}`) })));

  fill(root,
    h('div', { class: 'view-head' },
      h('a', { href: '#/', class: 'back', text: `← ${t('d.back')}` }),
      h('div', { class: 'title-row' }, title, pill),
      meta),
    h('div', { class: 'two' },
      panel(t('d.live'), liveNow, livePct, liveNet),
      panel(t('d.history'), rangeGroup, histInfo, histPct, histNet)),
    h('div', { class: 'three' },
      panel(t('d.system'), system),
      panel(t('d.disks'), disks),
      panel(t('d.interfaces'), ifaces),
      panel(t('d.processes'), procs),
      panel(t('d.services'), services),
      panel(t('d.alerts'), alerts)),
    panel(t('d.analyse'), analyses, answer));

  rangeGroup.addEventListener('click', (e) => {
    const r = e.target.closest('button')?.dataset.range;
    if (!r || r === range) return;
    range = r;
    for (const b of rangeGroup.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.range === r));
    loadHistory();
  });
  analyses.addEventListener('click', (e) => {
    const kind = e.target.closest('button')?.dataset.analysis;
    if (kind) analyse(kind);
  });

  const charts = {
    livePct: new Chart(livePct, { series: percentSeries(), kind: 'percent', label: t('d.liveChart'), timeLabel: t('d.time'), windowSeconds: LIVE_SECONDS }),
    liveNet: new Chart(liveNet, { series: netSeries(), kind: 'rate', label: t('d.liveNet'), timeLabel: t('d.time'), height: 130, windowSeconds: LIVE_SECONDS }),
    histPct: new Chart(histPct, { series: percentSeries(), kind: 'percent', label: t('d.historyChart'), timeLabel: t('d.time') }),
    histNet: new Chart(histNet, { series: netSeries(), kind: 'rate', label: t('d.historyNet'), timeLabel: t('d.time'), height: 130 }),
  };
  for (const c of Object.values(charts)) c.mount().catch(() => setText(histInfo, t('d.chartsFailed')));
  return { title, pill, meta, liveNow, histInfo, system, disks, ifaces, procs, services, alerts, answer, charts };
}

function header(s) {
  if (!ui || !s) return;
  setText(ui.title, s.name);
  setAttr(ui.pill, 'data-status', s.status);
  setText(ui.pill, t(`status.${s.status}`));
  setText(ui.meta, [s.hostname, s.ip, s.os, t(`type.${s.type}`, s.type), t(`source.${s.source}`, s.source), s.provider, s.location]
    .filter(Boolean).join(' · '));
}

function renderInfo(d) {
  const si = d.systemInfo ?? {};
  const load = (si.loadAverage ?? []).map((v) => num(v, 2)).join(' / ');
  fill(ui.system, h('dl', { class: 'pairs' },
    pair(t('d.os'), si.os || d.os), pair(t('d.kernel'), si.kernel || '—'), pair(t('m.uptime'), duration(si.uptime ?? d.uptime)),
    pair(t('d.procCount'), num(si.processes, 0)), pair(t('d.load'), load || '—'),
    pair(t('d.specs'), `${d.specs?.cpuCores ?? '—'} vCPU · ${num(d.specs?.memoryGb)} GB · ${num(d.specs?.diskGb, 0)} GB`),
    pair(t('d.env'), [d.environment, d.role].filter(Boolean).join(' · ') || '—'),
    pair(t('d.updated'), time(si.lastUpdate || d.lastUpdate))),
  (d.cpuCores ?? []).length ? h('div', { class: 'cores', 'aria-label': t('d.cores') }, d.cpuCores.map((v, i) => {
    const b = bar();
    setBar(b, v);
    return h('div', { class: 'core', title: `CPU ${i}: ${pct(v)}` }, b.el);
  })) : null);

  fill(ui.disks, (d.disks ?? []).length ? table(t('d.disks'), [t('d.mount'), t('d.used'), '%'], d.disks.map((x) => {
    const b = bar();
    setBar(b, x.percent);
    return [x.mount, `${bytes(x.usedBytes)} / ${bytes(x.totalBytes)}`, h('span', { class: 'inline-bar' }, b.el, pct(x.percent))];
  })) : h('p', { class: 'muted', text: t('none') }));

  const ifs = d.networkInfo?.interfaces ?? [];
  fill(ui.ifaces, ifs.length ? table(t('d.interfaces'), [t('d.iface'), t('d.rx'), t('d.tx'), t('d.errors')],
    ifs.map((x) => [x.name, bytes(x.rxBytes), bytes(x.txBytes), num((x.rxErrors ?? 0) + (x.txErrors ?? 0), 0)])) : h('p', { class: 'muted', text: t('none') }));

  const ps = d.topProcesses ?? [];
  fill(ui.procs, ps.length ? table(t('d.processes'), ['PID', t('d.procName'), 'CPU', t('m.memory')],
    ps.map((p) => [String(p.pid), p.name, pct(p.cpu), bytes(p.memoryBytes)]), 'compact') : h('p', { class: 'muted', text: t('none') }));

  const sv = d.services ?? [];
  fill(ui.services, sv.length ? h('ul', { class: 'services' }, sv.map((x) =>
    h('li', { dataset: { state: x.status } }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
      `${x.name}${x.port ? ` :${x.port}` : ''} `, h('span', { class: 'muted', text: t(`svc.${x.status}`, x.status) }))))
    : h('p', { class: 'muted', text: t('none') }));
}

async function loadInfo(id) {
  infoAt = Date.now();
  try {
    const body = await api(`api/servers/${encodeURIComponent(id)}`, { signal: aborter.signal });
    if (id !== current) return;
    header(body.data);
    renderInfo(body.data);
  } catch (e) {
    if (e.name === 'AbortError' || id !== current) return;
    fill(ui.system, h('p', { class: 'error', text: e instanceof ApiError && e.status === 404 ? t('d.notFound') : t('loadFailed', { msg: e.message }) }));
  }
}

async function loadAlerts(id) {
  if (!has('alerts')) {
    fill(ui.alerts, h('li', { class: 'muted', text: t('notAvailable') }));
    return;
  }
  try {
    const body = await api(`api/alerts?serverId=${encodeURIComponent(id)}&limit=20`, { signal: aborter.signal });
    if (id !== current) return;
    const list = body.data ?? [];
    fill(ui.alerts, list.length ? list.map((a) => alertItem(a, { compact: true })) : h('li', { class: 'muted', text: t('alerts.noneForServer') }));
  } catch (e) {
    if (e.name !== 'AbortError' && id === current) fill(ui.alerts, h('li', { class: 'muted', text: t('notAvailable') }));
  }
}

async function loadHistory() {
  const id = current;
  const r = range;
  setText(ui.histInfo, t('loading'));
  try {
    let rows = [];
    let cursor = null;
    let resolution = '';
    // A month at 10-minute resolution is about 4,300 points: one or two pages.
    for (let page = 0; page < 4; page++) {
      const q = new URLSearchParams({ serverId: id, timeRange: r, limit: '5000' });
      if (cursor) q.set('cursor', cursor);
      const body = await api(`api/metrics/history?${q}`, { signal: aborter.signal });
      rows = rows.concat(body.data ?? []);
      resolution = body.resolution;
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    if (id !== current || r !== range) return;
    const ts = rows.map((p) => Date.parse(p.timestamp) / 1000);
    ui.charts.histPct.setData([ts, rows.map((p) => p.cpu), rows.map((p) => p.memory), rows.map((p) => p.disk)]);
    ui.charts.histNet.setData([ts, rows.map((p) => p.network?.bytesReceived ?? null), rows.map((p) => p.network?.bytesSent ?? null)]);
    setText(ui.histInfo, rows.length ? t('d.resolution', { n: rows.length, s: resolution }) : t('d.noHistory'));
  } catch (e) {
    if (e.name !== 'AbortError' && id === current) setText(ui.histInfo, t('loadFailed', { msg: e.message }));
  }
}

function onLive(data) {
  if (!ui || !data || data.serverId !== current || !Array.isArray(data.samples)) return;
  const rows = data.samples.map((p) => ({ t: Date.parse(p.timestamp) / 1000, p }));
  ui.charts.livePct.push(rows.map(({ t: ts, p }) => [ts, p.cpu, p.memory, p.disk]), LIVE_SECONDS);
  ui.charts.liveNet.push(rows.map(({ t: ts, p }) => [ts, p.networkIn, p.networkOut]), LIVE_SECONDS);
  const last = data.samples[data.samples.length - 1];
  if (last) {
    setText(ui.liveNow, `${t('m.cpu')} ${pct(last.cpu)} · ${t('m.memory')} ${pct(last.memory)} · ${t('m.disk')} ${pct(last.disk)} · ↓ ${rate(last.networkIn)} ↑ ${rate(last.networkOut)} · load ${num(last.load1, 2)}`);
  }
}

/** The analysis a button asks for, as `/api/ai/analyze` names it. */
const ANALYSIS = { health: 'health', anomaly: 'anomaly', forecast: 'prediction' };

/** Runs a statistical analysis of this server and shows its findings (title, text, advice). */
async function analyse(kind) {
  if (!has('analyze')) return ask(kind);
  const target = ui.answer;
  fill(target, h('p', { class: 'muted', text: '…' }));
  try {
    const body = { type: ANALYSIS[kind], serverId: current, timeRange: kind === 'forecast' ? '7d' : '24h', metric: kind === 'forecast' ? 'cpu' : undefined, lang: lang() };
    const res = await api('api/ai/analyze', { method: 'POST', body });
    const report = res.data ?? res.job?.result;
    if (!report) {
      fill(target, h('p', { class: 'muted', text: t('d.analysis.pending') }));
      return;
    }
    const findings = (report.findings ?? []).slice(0, 8).map((f) => h('li', { class: `finding sev-${f.severity}` },
      h('strong', { text: f.title }), h('p', { text: f.description }), f.recommendation ? h('p', { class: 'muted', text: f.recommendation }) : null));
    fill(target, h('p', { text: report.summary }), findings.length ? h('ul', { class: 'findings' }, findings) : null);
  } catch (err) {
    fill(target, h('p', { class: 'error', role: 'alert', text: err.message }));
  }
}

/** Without the analyses endpoint, the assistant is asked about the server instead. */
function ask(kind) {
  const s = servers.get(current);
  const name = s?.name ?? current;
  const context = s ? { server: { id: s.id, name: s.name, type: s.type, status: s.status, cpu: s.cpu, memory: s.memory, disk: s.disk, networkIn: s.networkIn, networkOut: s.networkOut } } : undefined;
  askInto(ui.answer, t(`ai.prompt.${kind}`, { name }), context);
}

function open(id) {
  aborter?.abort();
  if (ui) for (const c of Object.values(ui.charts)) c.destroy();
  aborter = new AbortController();
  current = id;
  ui = build(id);
  header(servers.get(id));
  socket.setLive(id);
  loadInfo(id);
  loadHistory();
  loadAlerts(id);
}

function close() {
  aborter?.abort();
  socket.setLive(null);
  if (ui) for (const c of Object.values(ui.charts)) c.destroy();
  ui = null;
  current = null;
  root.replaceChildren();
}

export function init() {
  socket.on('live', onLive);
  onServer((s) => {
    if (s.id !== current) return;
    header(s);
    // The detail (processes, disks) follows the fleet's updates, at most every 10 s.
    if (Date.now() - infoAt > INFO_REFRESH_MS) loadInfo(current);
  });
  socket.on('alert', (d) => {
    if (current && d?.alert?.serverId === current) loadAlerts(current);
  });
  // Re-subscribe after a reconnect happens in socket.js; a language change rebuilds the view.
  onLang(() => {
    if (current) open(current);
  });
  document.addEventListener('themechange', () => {
    if (ui) for (const c of Object.values(ui.charts)) c.retheme();
  });
}

export const view = {
  el: root,
  show(id) {
    if (id !== current) open(id);
  },
  hide() {
    if (current) close();
  },
};
