// The free-tier budget panel (GET /api/budget): egress month to date and projected against the limit,
// VM hours, disk, CPU share, memory and each AI provider's daily quota, as ring gauges with numbers.
import { h, svg, fill, pct, bytes, num, duration, time } from './dom.js';
import { t, onLang } from './i18n.js';
import { api, has } from './api.js';

const root = document.getElementById('budget-body');
const REFRESH_MS = 60000;
let timer = 0;
let visible = false;

function level(p) {
  return p >= 90 ? 'crit' : p >= 75 ? 'warn' : 'ok';
}

/** A ring gauge: `percent` fills the ring; the caption carries the numbers. */
export function gauge(label, percent, main, sub, warnAt = percent) {
  const v = Math.max(0, Math.min(100, Number(percent) || 0));
  const r = 40;
  const c = 2 * Math.PI * r;
  const ring = svg('svg', { viewBox: '0 0 100 100', class: 'ring', 'aria-hidden': 'true' },
    svg('circle', { cx: 50, cy: 50, r, class: 'track' }),
    svg('circle', { cx: 50, cy: 50, r, class: 'value', 'stroke-dasharray': `${((c * v) / 100).toFixed(1)} ${c.toFixed(1)}`, transform: 'rotate(-90 50 50)' }),
    svg('text', { x: 50, y: 50, class: 'ring-text', 'text-anchor': 'middle', 'dominant-baseline': 'central' }, `${Math.round(Number(percent) || 0)}%`));
  return h('figure', { class: 'gauge', dataset: { level: level(warnAt) } }, ring,
    h('figcaption', null, h('strong', { text: label }), h('span', { text: main }), sub ? h('span', { class: 'muted small', text: sub }) : null));
}

function render(d) {
  const g = [];
  if (d.egress) {
    const e = d.egress;
    const projected = e.limitBytes ? (e.projectedBytes / e.limitBytes) * 100 : 0;
    g.push(gauge(t('budget.egress'), e.percent ?? (e.monthToDateBytes / e.limitBytes) * 100,
      t('budget.of', { used: bytes(e.monthToDateBytes), limit: bytes(e.limitBytes) }),
      t('budget.projected', { v: bytes(e.projectedBytes), p: pct(projected, 0) }), Math.max(e.percent ?? 0, projected)));
  }
  if (d.vmHours) g.push(gauge(t('budget.vm'), d.vmHours.percent, t('budget.of', { used: num(d.vmHours.used, 0), limit: `${num(d.vmHours.limit, 0)} h` })));
  if (d.disk) g.push(gauge(t('budget.disk'), d.disk.percent, t('budget.of', { used: bytes(d.disk.usedBytes), limit: bytes(d.disk.limitBytes) })));
  if (d.cpu) {
    const c = d.cpu;
    const share = c.sustainedPercent ? (c.averagePercent / c.sustainedPercent) * 100 : c.averagePercent;
    g.push(gauge(t('budget.cpu'), share, t('budget.cpuShare', { avg: pct(c.averagePercent), sus: pct(c.sustainedPercent) }),
      c.burstSeconds != null ? t('budget.burst', { v: duration(c.burstSeconds) }) : null));
  }
  if (d.memory) g.push(gauge(t('budget.memory'), d.memory.percent, t('budget.of', { used: bytes(d.memory.usedBytes), limit: bytes(d.memory.totalBytes) })));
  for (const a of d.ai ?? []) {
    const used = a.dailyLimit ? (a.requestsToday / a.dailyLimit) * 100 : 0;
    g.push(gauge(`${t('budget.ai')}: ${a.provider}`, used,
      a.dailyLimit ? t('budget.left', { n: num(a.remaining, 0), of: num(a.dailyLimit, 0) }) : t('budget.noLimit'),
      a.tokensToday != null ? t('budget.tokens', { n: num(a.tokensToday, 0) }) : null));
  }
  const month = d.month ? h('p', { class: 'muted small', text: t('budget.month', { start: time(d.month.start), end: time(d.month.end) }) }) : null;
  fill(root, h('div', { class: 'gauges' }, g), month);
}

async function load() {
  if (!has('budget')) {
    fill(root, h('p', { class: 'muted', text: t('budget.unavailable') }));
    return;
  }
  try {
    const body = await api('api/budget');
    render(body.data ?? {});
  } catch (e) {
    fill(root, h('p', { class: 'muted', text: e.status === 404 ? t('budget.unavailable') : t('loadFailed', { msg: e.message }) }));
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
    // Budget figures move slowly; once a minute while the panel is open is plenty.
    if (has('budget')) timer = setInterval(load, REFRESH_MS);
  },
  hide() {
    visible = false;
    clearInterval(timer);
  },
};
