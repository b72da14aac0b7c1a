// Charts: loads the vendored uPlot on first use (the fleet view does not need it, so the first load
// stays small) and wraps it: sized to the container, coloured from the theme's CSS variables, rebuilt
// when the theme changes, and a bounded rolling buffer for live data.
import { h, pct, rate, num } from './dom.js';

const vendor = new URL('../vendor/', import.meta.url);
let loading = null;

export function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  loading ??= new Promise((resolve, reject) => {
    document.head.append(h('link', { rel: 'stylesheet', href: new URL('uPlot.min.css', vendor) }));
    const script = h('script', { src: new URL('uPlot.iife.min.js', vendor) });
    script.addEventListener('load', () => resolve(window.uPlot));
    script.addEventListener('error', () => {
      loading = null;
      reject(new Error('uPlot did not load'));
    });
    document.head.append(script);
  });
  return loading;
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const FORMAT = { percent: (v) => pct(v), rate: (v) => rate(v), number: (v) => num(v, 2) };

function short(kind, v) {
  if (kind === 'percent') return `${v}%`;
  if (kind === 'rate') {
    const units = ['B', 'K', 'M', 'G', 'T'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${Math.round(v * 10) / 10}${units[i]}`;
  }
  return String(v);
}

/**
 * A time-series chart in `container`. `series`: [{label, color: CSS variable name}], `kind`:
 * percent | rate | number; `windowSeconds` fixes the visible span (live charts). Data is
 * [timestamps in seconds, ...one array per series].
 */
export class Chart {
  constructor(container, { series, kind = 'number', label = '', height = 170, windowSeconds = 0, timeLabel = 'Time' }) {
    this.container = container;
    this.timeLabel = timeLabel;
    this.windowSeconds = windowSeconds;
    this.series = series;
    this.kind = kind;
    this.height = height;
    this.data = [[], ...series.map(() => [])];
    this.plot = null;
    container.classList.add('chart');
    container.setAttribute('role', 'img');
    container.setAttribute('aria-label', label);
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(container);
  }

  async mount() {
    const uPlot = await loadUplot();
    if (this.destroyed) return;
    const axis = css('--muted') || '#888';
    const grid = css('--grid') || 'rgba(128,128,128,.2)';
    const fmt = FORMAT[this.kind];
    const opts = {
      width: Math.max(200, this.container.clientWidth),
      height: this.height,
      scales: this.scales(),
      series: [{ label: this.timeLabel }, ...this.series.map((s) => ({ label: s.label, stroke: css(s.color), width: 1.5, value: (u, v) => (v == null ? '—' : fmt(v)), points: { show: false } }))],
      axes: [
        // Wide time labels need room on a phone.
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: 80 },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56, values: (u, vals) => vals.map((v) => short(this.kind, v)) },
      ],
      cursor: { drag: { x: true, y: false } },
    };
    this.plot?.destroy();
    this.plot = new uPlot(opts, this.data, this.container);
    this.mark();
  }

  scales() {
    const w = this.windowSeconds;
    // A live chart shows a fixed window ending at the newest point, so it fills from the right.
    const x = w ? { time: true, range: (u, min, max) => [(max ?? Date.now() / 1000) - w, max ?? Date.now() / 1000] } : { time: true };
    const y = this.kind === 'percent' ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(max ?? 0, 1) * 1.1] };
    return { x, y };
  }

  /** The point count, for people reading the DOM (and the browser test). */
  mark() {
    this.container.dataset.points = String(this.data[0].length);
  }

  setData(data) {
    this.data = data;
    this.plot?.setData(data);
    this.mark();
  }

  /** Appends points, keeping at most `max`. `rows` are [t, ...values]. */
  push(rows, max) {
    for (const row of rows) {
      const last = this.data[0][this.data[0].length - 1];
      if (last !== undefined && row[0] <= last) continue;
      row.forEach((v, i) => this.data[i].push(v));
    }
    const extra = this.data[0].length - max;
    if (extra > 0) for (const arr of this.data) arr.splice(0, extra);
    this.plot?.setData(this.data);
    this.mark();
  }

  resize() {
    if (!this.plot) return;
    const width = Math.max(200, this.container.clientWidth);
    if (width !== this.plot.width) this.plot.setSize({ width, height: this.height });
  }

  /** Rebuilds with the current theme's colours, keeping the data. */
  retheme() {
    if (this.plot) this.mount();
  }

  destroy() {
    this.destroyed = true;
    this.resizer.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
