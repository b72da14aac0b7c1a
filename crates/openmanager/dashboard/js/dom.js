// DOM and formatting helpers shared by every view. Elements are built from text only (textContent and
// attributes, never innerHTML), so text from the server can never become markup.
import { lang } from './i18n.js';

/** Builds an element: props are attributes, except `class`, `text`, `dataset` and `on<event>`. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** The same for SVG elements. */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** Sets text only when it changed, so live updates touch as little of the page as possible. */
export function setText(el, text) {
  const s = text == null ? '' : String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** Sets an attribute only when it changed. */
export function setAttr(el, name, value) {
  const s = String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A bar whose fill is a CSS custom property (set through the CSSOM, which the CSP allows). */
export function bar(cls = '') {
  const fillEl = h('i');
  return { el: h('span', { class: `bar ${cls}`.trim(), 'aria-hidden': 'true' }, fillEl), fill: fillEl };
}

export function setBar(b, percent) {
  const v = Math.max(0, Math.min(100, Number(percent) || 0));
  const w = `${v.toFixed(1)}%`;
  if (b.fill.style.width !== w) b.fill.style.width = w;
  const level = v >= 90 ? 'crit' : v >= 80 ? 'warn' : 'ok';
  if (b.el.dataset.level !== level) b.el.dataset.level = level;
}

const DASH = '—';

// Building an Intl.NumberFormat costs far more than using one; a fleet update formats hundreds of numbers.
const formats = new Map();

export function num(v, digits = 1) {
  if (v == null || !Number.isFinite(Number(v))) return DASH;
  const key = `${lang()}:${digits}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(lang(), { maximumFractionDigits: digits });
    formats.set(key, f);
  }
  return f.format(v);
}

export function pct(v, digits = 1) {
  return v == null || !Number.isFinite(Number(v)) ? DASH : `${num(v, digits)}%`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(v) {
  if (v == null || !Number.isFinite(Number(v))) return DASH;
  let n = Math.abs(Number(v));
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${num(Math.sign(v) * n, n >= 100 || i === 0 ? 0 : 1)} ${UNITS[i]}`;
}

export function rate(v) {
  return v == null ? DASH : `${bytes(v)}/s`;
}

/** Seconds as the two largest units: "3d 4h", "5h 12m", "42m", "9s". */
export function duration(secs) {
  if (secs == null || !Number.isFinite(Number(secs))) return DASH;
  const s = Math.max(0, Math.floor(secs));
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

/** "3 minutes ago" in the page's language. */
export function ago(iso) {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return DASH;
  const diff = (t - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: 'auto' });
  const abs = Math.abs(diff);
  if (abs < 60) return rtf.format(Math.round(diff), 'second');
  if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
  return rtf.format(Math.round(diff / 86400), 'day');
}

export function time(iso) {
  if (!iso) return DASH;
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? DASH : t.toLocaleString(lang());
}

/** A labelled value pair for <dl> lists. */
export function pair(label, value) {
  return [h('dt', { text: label }), h('dd', { text: value })];
}

/** A table with a header row; rows are arrays of cells (text or nodes). */
export function table(caption, heads, rows, cls = '') {
  // Wide tables scroll inside their own box, so the page never scrolls sideways on a phone.
  return h('div', { class: 'table-scroll' }, h('table', { class: `table ${cls}`.trim() },
    caption ? h('caption', { class: 'sr-only', text: caption }) : null,
    h('thead', null, h('tr', null, heads.map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}

/** A metric's value in its unit. */
export function metricValue(metric, v) {
  if (v == null) return '—';
  switch (metric) {
    case 'cpu': case 'memory': case 'disk': case 'aiErrorRate': return pct(v);
    case 'networkIn': case 'networkOut': return rate(v);
    case 'egressMonth': return bytes(v);
    case 'responseTime': case 'check.latency': return `${num(v, 0)} ms`;
    case 'check.cert_days': return `${num(v, 0)} d`;
    case 'check.up': case 'storeFailing': case 'tlsRenewalFailing': return num(v, 0);
    case 'offline': return `${num(v, 0)} s`;
    default: return num(v, 2);
  }
}

/** A short message at the corner of the screen; removed after a while. */
export function toast(text, level = 'info', testid = 'toast') {
  const toasts = document.getElementById('toasts');
  const el = h('div', { class: `toast ${level}`, 'data-testid': testid, text });
  toasts.append(el);
  setTimeout(() => el.remove(), 8000);
  while (toasts.childElementCount > 4) toasts.firstElementChild.remove();
}

