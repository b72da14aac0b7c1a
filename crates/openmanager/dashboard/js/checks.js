// The Checks view: the service checks (GET /api/checks) with their state, latency and uptime windows,
// a latency chart from /api/checks/{id}/history, forms to create, edit and delete checks and to run one
// now; the maintenance windows (/api/maintenance); and the status page settings (/api/status-page) with
// a link to the page itself. The list is polled every 10 s while the view is shown: check_update is on
// a WebSocket topic the dashboard does not subscribe to, and one small GET every 10 s is cheap.
import { h, fill, setText, num, pct, time, table, toast } from './dom.js';
import { t, onLang } from './i18n.js';
import { api } from './api.js';
import { Chart } from './charts.js';
import { servers } from './fleet.js';

const root = document.getElementById('checks-body');
const POLL_MS = 10000;
const KINDS = ['http', 'tcp', 'ping', 'dns', 'tls'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const RECORDS = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS'];
// Check states as the fleet's status colours.
const STATUS = { up: 'online', down: 'critical', pending: 'warning', maintenance: 'maintenance', unknown: 'unknown' };

let ui = null;
let timer = 0;
let checks = [];
let selected = null;
let chart = null;
// Each view opening starts a load of the status page settings; only the newest may draw, so an
// older answer arriving late cannot replace what the operator is already editing.
let statusLoads = 0;
// Notes being typed, by incident id: a redraw of the incident list keeps them.
const noteDrafts = new Map();

function build() {
  const list = h('div', { 'data-testid': 'checks-list' });
  const formBox = h('div');
  const chartBox = h('section', { class: 'panel', 'data-testid': 'check-chart-panel', hidden: true },
    h('h2', { text: t('checks.latency') }), h('p', { class: 'muted small' }), h('div', { 'data-testid': 'check-chart' }));
  const checksPanel = h('section', { class: 'panel', 'aria-labelledby': 'checks-list-title' },
    h('div', { class: 'view-head' }, h('h2', { id: 'checks-list-title', text: t('checks.list') }),
      h('button', { type: 'button', class: 'primary', 'data-testid': 'check-new', text: t('checks.new'), onclick: () => editForm(null) })),
    formBox, list);
  const maint = h('section', { class: 'panel', 'data-testid': 'maintenance-panel', 'aria-labelledby': 'maint-title' },
    h('h2', { id: 'maint-title', text: t('maint.title') }), h('div', { class: 'maint-list' }), maintForm());
  const statusPanel = h('section', { class: 'panel', 'data-testid': 'status-page-panel', 'aria-labelledby': 'sp-title' },
    h('h2', { id: 'sp-title', text: t('sp.title') }), h('div', { class: 'sp-body' }));
  fill(root, checksPanel, chartBox, maint, statusPanel);
  return { list, formBox, chartBox, maint, statusPanel };
}

// ---- the list

function statusPill(s) {
  const status = s?.status ?? 'unknown';
  return h('span', { class: 'pill', dataset: { status: STATUS[status] ?? 'unknown' }, 'data-testid': 'check-status', text: t(`checks.s.${status}`, status) });
}

function latency(s) {
  return s?.latencyMs == null ? '—' : `${num(s.latencyMs, 0)} ms`;
}

function renderList() {
  if (!ui) return;
  if (!checks.length) {
    fill(ui.list, h('p', { class: 'muted', text: t('checks.none') }));
    return;
  }
  const rows = checks.map((c) => {
    const u = c.uptime ?? {};
    const actions = h('span', { class: 'inline-form' },
      h('button', { type: 'button', dataset: { action: 'chart' }, text: t('checks.chart') }),
      h('button', { type: 'button', dataset: { action: 'run' }, 'data-testid': 'check-run', text: t('checks.run') }),
      h('button', { type: 'button', dataset: { action: 'edit' }, text: t('checks.edit') }),
      h('button', { type: 'button', class: 'danger', dataset: { action: 'delete' }, 'data-testid': 'check-delete', text: t('checks.delete') }));
    return [h('strong', { text: c.name }), c.kind, h('code', { text: c.target }), statusPill(c.state), latency(c.state),
      [pct(u.h24, 2), pct(u.d7, 2), pct(u.d30, 2), pct(u.d90, 2)].join(' / '),
      h('span', { class: 'muted small', text: c.state?.error ?? '' }), actions];
  });
  const tbl = table(t('checks.list'), [t('checks.name'), t('checks.kind'), t('checks.target'), t('checks.state'), t('checks.latencyCol'),
    t('checks.uptime'), t('checks.error'), ''], rows);
  tbl.querySelectorAll('tbody tr').forEach((tr, i) => {
    tr.dataset.testid = 'check-row';
    tr.dataset.id = checks[i].id;
  });
  fill(ui.list, tbl);
}

async function load() {
  try {
    const body = await api('api/checks');
    checks = body.data ?? [];
    renderList();
  } catch (err) {
    fill(ui.list, h('p', { class: 'error', text: t('failed', { msg: err.message }) }));
  }
}

async function onListClick(e) {
  const button = e.target.closest('button[data-action]');
  const tr = e.target.closest('tr[data-id]');
  if (!button || !tr) return;
  const c = checks.find((x) => x.id === tr.dataset.id);
  if (!c) return;
  const action = button.dataset.action;
  if (action === 'edit') return editForm(c);
  if (action === 'chart') return showChart(c);
  button.disabled = true;
  try {
    if (action === 'run') {
      await api(`api/checks/${encodeURIComponent(c.id)}/run`, { method: 'POST' });
      toast(t('checks.ran', { name: c.name }));
    } else if (action === 'delete') {
      if (!confirm(t('checks.confirmDelete', { name: c.name }))) return;
      await api(`api/checks/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      if (selected === c.id) hideChart();
    }
    await load();
  } catch (err) {
    toast(t('failed', { msg: err.message }), 'critical');
  } finally {
    button.disabled = false;
  }
}

// ---- create / edit

function field(label, input) {
  return h('label', { class: 'field' }, h('span', { text: label }), ' ', input);
}

function select(name, values, current) {
  return h('select', { name }, values.map((v) => h('option', { value: v, text: v, selected: v === current })));
}

function editForm(c) {
  const http = c?.http ?? {};
  const dns = c?.dns ?? {};
  const tls = c?.tls ?? {};
  const kind = select('kind', KINDS, c?.kind ?? 'http');
  const f = {
    name: h('input', { name: 'name', required: true, maxlength: '100', value: c?.name ?? '' }),
    target: h('input', { name: 'target', required: true, maxlength: '2048', value: c?.target ?? '', placeholder: 'https://example.com/' }),
    interval: h('input', { name: 'intervalSeconds', type: 'number', min: '10', max: '86400', value: c?.intervalSeconds ?? 60 }),
    timeout: h('input', { name: 'timeoutMs', type: 'number', min: '100', max: '60000', value: c?.timeoutMs ?? 10000 }),
    retries: h('input', { name: 'retries', type: 'number', min: '0', max: '10', value: c?.retries ?? 0 }),
    runOn: h('input', { name: 'runOn', value: (c?.runOn ?? ['hub']).join(', ') }),
    enabled: h('input', { name: 'enabled', type: 'checkbox', checked: c ? c.enabled !== false : true }),
    method: select('method', METHODS, http.method ?? 'GET'),
    expectStatus: h('input', { name: 'expectStatus', value: http.expectStatus ?? '200-399' }),
    keyword: h('input', { name: 'keyword', value: http.keyword ?? '' }),
    follow: h('input', { name: 'followRedirects', type: 'checkbox', checked: http.followRedirects !== false }),
    verify: h('input', { name: 'verifyTls', type: 'checkbox', checked: http.verifyTls !== false }),
    record: select('recordType', RECORDS, dns.recordType ?? 'A'),
    dnsExpect: h('input', { name: 'dnsExpect', value: dns.expect ?? '' }),
    resolver: h('input', { name: 'resolver', value: dns.resolver ?? '', placeholder: '127.0.0.1:53' }),
    warnDays: h('input', { name: 'warnDays', type: 'number', min: '0', max: '365', value: tls.warnDays ?? 14 }),
  };
  // The timeout follows the interval (80% of it, 10 s at most, as the API's default) until the
  // operator types one, and whenever it would no longer fit: a 10 s interval is then not refused
  // for a timeout nobody chose.
  let timeoutChosen = c != null;
  f.timeout.addEventListener('input', () => { timeoutChosen = true; });
  f.interval.addEventListener('input', () => {
    const seconds = Number(f.interval.value);
    if (seconds >= 10 && (!timeoutChosen || Number(f.timeout.value) >= seconds * 1000)) {
      f.timeout.value = String(Math.min(10000, seconds * 800));
    }
  });
  const httpBox = h('fieldset', { dataset: { kind: 'http' } }, h('legend', { text: 'HTTP' }),
    field(t('checks.method'), f.method), field(t('checks.expectStatus'), f.expectStatus), field(t('checks.keyword'), f.keyword),
    field(t('checks.follow'), f.follow), field(t('checks.verify'), f.verify));
  const dnsBox = h('fieldset', { dataset: { kind: 'dns' } }, h('legend', { text: 'DNS' }),
    field(t('checks.record'), f.record), field(t('checks.expect'), f.dnsExpect), field(t('checks.resolver'), f.resolver));
  const tlsBox = h('fieldset', { dataset: { kind: 'tls' } }, h('legend', { text: 'TLS' }), field(t('checks.warnDays'), f.warnDays));
  const hint = h('p', { class: 'muted small' });
  const sync = () => {
    for (const box of [httpBox, dnsBox, tlsBox]) box.hidden = box.dataset.kind !== kind.value;
    setText(hint, t(`checks.hint.${kind.value}`));
  };
  kind.addEventListener('change', sync);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'panel stack', 'data-testid': 'check-form' },
    h('h3', { text: c ? t('checks.editTitle', { name: c.name }) : t('checks.new') }),
    h('div', { class: 'inline-form' }, field(t('checks.name'), f.name), field(t('checks.kind'), kind), field(t('checks.target'), f.target)),
    hint,
    h('div', { class: 'inline-form' }, field(t('checks.interval'), f.interval), field(t('checks.timeout'), f.timeout),
      field(t('checks.retries'), f.retries), field(t('checks.runOn'), f.runOn), field(t('checks.enabled'), f.enabled)),
    httpBox, dnsBox, tlsBox, err,
    h('div', { class: 'inline-form' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'check-save', text: t('save') }),
      h('button', { type: 'button', text: t('cancel'), onclick: () => form.remove() })));
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      name: f.name.value.trim(), kind: kind.value, target: f.target.value.trim(),
      intervalSeconds: Number(f.interval.value), timeoutMs: Number(f.timeout.value), retries: Number(f.retries.value),
      runOn: f.runOn.value.split(',').map((s) => s.trim()).filter(Boolean), enabled: f.enabled.checked,
    };
    if (kind.value === 'http') {
      // Headers are kept as they are (their values are write-only and come back masked).
      body.http = { method: f.method.value, expectStatus: f.expectStatus.value.trim(), followRedirects: f.follow.checked, verifyTls: f.verify.checked };
      if (f.keyword.value) body.http.keyword = f.keyword.value;
      if (http.headers && c?.kind === 'http') body.http.headers = http.headers;
      if (http.jsonPath && c?.kind === 'http') body.http.jsonPath = http.jsonPath;
    } else if (kind.value === 'dns') {
      body.dns = { recordType: f.record.value };
      if (f.dnsExpect.value.trim()) body.dns.expect = f.dnsExpect.value.trim();
      if (f.resolver.value.trim()) body.dns.resolver = f.resolver.value.trim();
    } else if (kind.value === 'tls') {
      body.tls = { warnDays: Number(f.warnDays.value) };
    }
    if (c) {
      // A PATCH replaces the fields sent; options of another kind must go when the kind changes.
      for (const k of ['http', 'dns', 'tls']) if (!(k in body) && c[k]) body[k] = null;
    }
    try {
      if (c) await api(`api/checks/${encodeURIComponent(c.id)}`, { method: 'PATCH', body });
      else await api('api/checks', { method: 'POST', body });
      form.remove();
      toast(t('checks.saved', { name: body.name }));
      await load();
    } catch (e2) {
      err.hidden = false;
      err.textContent = t('failed', { msg: e2.message });
    }
  });
  fill(ui.formBox, form);
  f.name.focus();
}

// ---- the latency chart

function hideChart() {
  chart?.destroy();
  chart = null;
  selected = null;
  ui.chartBox.hidden = true;
}

async function showChart(c) {
  selected = c.id;
  ui.chartBox.hidden = false;
  setText(ui.chartBox.querySelector('h2'), t('checks.latencyOf', { name: c.name }));
  const box = ui.chartBox.querySelector('[data-testid="check-chart"]');
  const note = ui.chartBox.querySelector('p');
  if (!chart) {
    chart = new Chart(box, { series: [{ label: t('checks.latencyCol'), color: '--accent' }], kind: 'number', label: t('checks.latency'), timeLabel: t('d.time'), windowSeconds: 3600 });
    try {
      await chart.mount();
    } catch {
      setText(note, t('d.chartsFailed'));
      return;
    }
  }
  await refreshChart();
  ui.chartBox.scrollIntoView?.({ block: 'nearest' });
}

async function refreshChart() {
  if (!selected || !chart) return;
  const note = ui.chartBox.querySelector('p');
  try {
    const body = await api(`api/checks/${encodeURIComponent(selected)}/history?timeRange=1h&limit=5000`);
    const points = body.data?.points ?? [];
    const ts = [];
    const ms = [];
    for (const p of points) {
      ts.push(Date.parse(p.timestamp) / 1000);
      ms.push(p.latencyMs ?? null);
    }
    chart.setData([ts, ms]);
    setText(note, points.length ? t('d.resolution', { n: points.length, s: body.data.resolutionSeconds }) : t('d.noHistory'));
  } catch (err) {
    setText(note, t('failed', { msg: err.message }));
  }
}

// ---- maintenance windows

// datetime-local holds local time without a zone; toISOString later converts it to UTC.
function localValue(date) {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function localInput(name, date) {
  return h('input', { name, type: 'datetime-local', required: true, value: localValue(date) });
}

function maintForm() {
  const now = new Date();
  const title = h('input', { name: 'title', required: true, maxlength: '100' });
  const start = localInput('start', now);
  const end = localInput('end', new Date(now.getTime() + 3600e3));
  const srv = h('input', { name: 'servers', placeholder: 'server-1, server-2' });
  const chk = h('input', { name: 'checks', placeholder: 'check ids' });
  const ids = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  // Weekly: on the ticked days at HH:MM UTC for a duration, from start on, until end if one is set
  // (a weekly window is meant to recur: its end is left blank, so it does not lapse an hour later).
  const weekly = h('input', { type: 'checkbox', name: 'weekly' });
  const days = h('span', { class: 'inline-form' }, DAYS.map((d) => h('label', null, h('input', { type: 'checkbox', name: 'day', value: d }), ' ', t(`maint.day.${d}`))));
  const at = h('input', { name: 'weeklyStart', type: 'time', value: '02:00' });
  const minutes = h('input', { name: 'durationMinutes', type: 'number', min: '1', max: '10080', value: '60' });
  const weeklyBox = h('fieldset', { class: 'inline-form', hidden: true }, h('legend', { text: t('maint.weeklyTitle') }),
    days, field(t('maint.at'), at), field(t('maint.minutes'), minutes));
  weekly.addEventListener('change', () => {
    weeklyBox.hidden = !weekly.checked;
    end.required = !weekly.checked;
    end.value = weekly.checked ? '' : localValue(new Date(Date.now() + 3600e3));
  });
  const form = h('form', { class: 'stack', 'data-testid': 'maintenance-form' },
    h('div', { class: 'inline-form' }, field(t('maint.name'), title), field(t('maint.start'), start), field(t('maint.end'), end),
      field(t('maint.servers'), srv), field(t('maint.checks'), chk), field(t('maint.repeat'), weekly)),
    weeklyBox,
    h('div', null, h('button', { type: 'submit', class: 'primary', text: t('maint.add') })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('api/maintenance', { method: 'POST', body: {
        title: title.value.trim(), start: new Date(start.value).toISOString(),
        end: end.value ? new Date(end.value).toISOString() : undefined,
        servers: ids(srv.value), checks: ids(chk.value),
        weekly: weekly.checked ? { days: [...days.querySelectorAll('input:checked')].map((i) => i.value), start: at.value, durationMinutes: Number(minutes.value) } : undefined,
      } });
      title.value = '';
      toast(t('maint.added'));
      loadMaint();
    } catch (err) {
      toast(t('failed', { msg: err.message }), 'critical');
    }
  });
  return form;
}

async function loadMaint() {
  const box = ui.maint.querySelector('.maint-list');
  try {
    const body = await api('api/maintenance');
    const list = body.data ?? [];
    if (!list.length) return fill(box, h('p', { class: 'muted', text: t('maint.none') }));
    const rows = list.map((w) => {
      const del = h('button', { type: 'button', class: 'danger', text: t('checks.delete') });
      del.addEventListener('click', async () => {
        try {
          await api(`api/maintenance/${encodeURIComponent(w.id)}`, { method: 'DELETE' });
          loadMaint();
        } catch (err) {
          toast(t('failed', { msg: err.message }), 'critical');
        }
      });
      const when = w.weekly
        ? t('maint.weekly', { days: w.weekly.days.join(' '), start: w.weekly.start, n: w.weekly.durationMinutes }) + (w.end ? ` (${t('maint.until', { end: time(w.end) })})` : '')
        : `${time(w.start)} – ${time(w.end)}`;
      return [w.title, when, [...w.servers, ...w.checks].join(', ') || '—', del];
    });
    fill(box, table(t('maint.title'), [t('maint.name'), t('maint.when'), t('maint.covers'), ''], rows));
  } catch (err) {
    fill(box, h('p', { class: 'muted', text: t('failed', { msg: err.message }) }));
  }
}

// ---- status page settings

async function loadStatusPage() {
  const box = ui.statusPanel.querySelector('.sp-body');
  const load = ++statusLoads;
  let s;
  try {
    s = (await api('api/status-page')).data;
  } catch (err) {
    // Only admins may read the settings.
    if (load === statusLoads) {
      fill(box, h('p', { class: 'muted', text: t('failed', { msg: err.message }) }));
      ui.statusPanel.removeAttribute('aria-busy');
    }
    return;
  }
  if (load !== statusLoads) return;
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: s.enabled });
  const title = h('input', { name: 'title', required: true, maxlength: '100', value: s.title });
  const pick = (name, items, chosen) => h('fieldset', { class: 'inline-form' }, h('legend', { text: t(`sp.${name}`) }),
    items.length ? items.map(([id, label]) => h('label', null, h('input', { type: 'checkbox', name, value: id, checked: chosen.includes(id) }), ' ', label))
      : h('span', { class: 'muted', text: '—' }));
  // Listed ids the server no longer knows stay listed (and selectable) rather than silently dropped.
  const serverItems = [...servers.values()].map((x) => [x.id, x.name || x.id]);
  for (const id of s.servers) if (!serverItems.some(([x]) => x === id)) serverItems.push([id, id]);
  const checkItems = checks.map((c) => [c.id, c.name]);
  for (const id of s.checks) if (!checkItems.some(([x]) => x === id)) checkItems.push([id, id]);
  const form = h('form', { class: 'stack', 'data-testid': 'status-page-form' },
    h('div', { class: 'inline-form' }, field(t('sp.enabled'), enabled), field(t('sp.pageTitle'), title),
      h('a', { href: 'status', target: '_blank', rel: 'noopener', 'data-testid': 'status-preview', text: t('sp.preview') })),
    pick('servers', serverItems, s.servers), pick('checks', checkItems, s.checks),
    h('div', null, h('button', { type: 'submit', class: 'primary', text: t('save') })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
    try {
      await api('api/status-page', { method: 'PATCH', body: { enabled: enabled.checked, title: title.value.trim(), servers: chosen('servers'), checks: chosen('checks') } });
      toast(t('sp.saved'));
    } catch (err) {
      toast(t('failed', { msg: err.message }), 'critical');
    }
  });
  const incidents = h('div', { 'data-testid': 'incidents' });
  fill(box, form, incidents);
  loadIncidents(incidents, load);
}

/** The status page's incidents, newest first, each with its notes and a field to add one. */
async function loadIncidents(box, load) {
  let list;
  try {
    list = (await api('api/status-page/incidents')).data ?? [];
  } catch (err) {
    if (load === statusLoads) {
      fill(box, h('p', { class: 'muted', text: t('failed', { msg: err.message }) }));
      ui.statusPanel.removeAttribute('aria-busy');
    }
    return;
  }
  if (load !== statusLoads) return;
  ui.statusPanel.removeAttribute('aria-busy');
  const items = list.slice(0, 20).map((i) => {
    const text = h('input', { name: 'note', required: true, maxlength: '1000', placeholder: t('sp.note'), 'aria-label': t('sp.note') });
    text.value = noteDrafts.get(i.id) ?? '';
    text.addEventListener('input', () => noteDrafts.set(i.id, text.value));
    const add = h('form', { class: 'inline-form' }, text, h('button', { type: 'submit', text: t('sp.addNote') }));
    add.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api(`api/status-page/incidents/${encodeURIComponent(i.id)}/notes`, { method: 'POST', body: { text: text.value.trim() } });
        noteDrafts.delete(i.id);
        toast(t('sp.noteAdded'));
        loadIncidents(box, load);
      } catch (err) {
        toast(t('failed', { msg: err.message }), 'critical');
      }
    });
    const when = i.resolved ? `${time(i.started)} – ${time(i.resolved)}` : time(i.started);
    return h('li', { 'data-testid': 'incident', 'data-id': i.id },
      h('strong', { text: i.title }), ' ', h('span', { class: 'muted', text: `${i.status} · ${when}` }),
      i.notes.length ? h('ul', null, i.notes.map((n) => h('li', { text: `${time(n.at)}: ${n.text}` }))) : null,
      add);
  });
  fill(box, h('h3', { text: t('sp.incidents') }),
    items.length ? h('ul', { class: 'stack' }, items) : h('p', { class: 'muted', text: t('sp.noIncidents') }));
}

// ---- view

async function poll() {
  await load();
  await refreshChart();
}

export function init() {
  ui = build();
  ui.list.addEventListener('click', onListClick);
  onLang(() => {
    chart?.destroy();
    chart = null;
    selected = null;
    ui = build();
    ui.list.addEventListener('click', onListClick);
    if (!view.el.hidden) view.show();
  });
  document.addEventListener('themechange', () => chart?.retheme());
}

export const view = {
  el: document.getElementById('view-checks'),
  async show() {
    clearInterval(timer);
    timer = setInterval(poll, POLL_MS);
    // The status page's settings and incidents are redrawn below: busy until then, so nobody (a
    // person or a test) types a note into a field about to be replaced.
    ui.statusPanel.setAttribute('aria-busy', 'true');
    await load();
    loadMaint();
    loadStatusPage();
  },
  hide() {
    clearInterval(timer);
    timer = 0;
  },
};
