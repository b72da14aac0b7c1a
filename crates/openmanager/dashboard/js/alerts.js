// The alerts view: firing and recent alerts with acknowledge and silence, updated live by WebSocket
// `alert` messages (which also raise a toast anywhere in the app). Rules, silences and channels are
// edited in alert-config.js. Without the alerts API on the server the panels say so and call nothing.
import { h, fill, ago, time, pct, metricValue, toast } from './dom.js';
import { t, onLang, lang } from './i18n.js';
import { api, has } from './api.js';
import * as socket from './socket.js';
import { renderConfig } from './alert-config.js';

const root = document.getElementById('alerts-body');
const known = new Map();
let ui = null;
let loaded = false;

/** One alert as a list item; buttons carry data-action and are handled by the list's owner. */
export function alertItem(a, { compact = false } = {}) {
  known.set(a.id, a);
  const when = a.state === 'resolved' ? t('alerts.resolvedAt', { when: ago(a.resolvedAt) }) : t('alerts.since', { when: ago(a.firedAt || a.startedAt) });
  const procs = (a.topProcesses ?? []).slice(0, 3).map((p) => `${p.name} ${pct(p.cpu)}`).join(', ');
  const actions = compact ? null : h('div', { class: 'actions' },
    a.state !== 'resolved' && !a.acknowledged ? h('button', { type: 'button', dataset: { action: 'ack' }, text: t('alerts.ack') }) : null,
    a.state !== 'resolved' ? h('button', { type: 'button', dataset: { action: 'silence' }, text: t('alerts.silence') }) : null,
    h('button', { type: 'button', 'data-testid': 'alert-explain', dataset: { action: 'explain' }, text: t('alerts.explain') }));
  return h('li', { class: 'alert', 'data-testid': 'alert-item', dataset: { id: a.id, severity: a.severity, state: a.state } },
    h('span', { class: 'pill sev', text: t(`sev.${a.severity}`, a.severity) }),
    h('div', { class: 'alert-main' },
      h('p', null, h('strong', { text: a.ruleName || a.ruleId || '' }), ` — ${a.serverName || a.serverId || ''}`),
      h('p', { class: 'muted small' },
        `${t(`metric.${a.metric}`, a.metric)} ${metricValue(a.metric, a.value)} ${a.op ?? ''} ${metricValue(a.metric, a.threshold)} · `,
        h('span', { text: t(`astate.${a.state}`, a.state) }), ` · ${when}`,
        a.acknowledged ? ` · ${a.acknowledgedBy ? t('alerts.ackedBy', { who: a.acknowledgedBy }) : t('alerts.acked')}` : ''),
      procs ? h('p', { class: 'muted small', text: `${t('d.processes')}: ${procs}` }) : null),
    actions);
}

function build() {
  const state = h('select', { id: 'alert-state' },
    h('option', { value: 'firing', text: t('alerts.firing') }),
    h('option', { value: '', text: t('alerts.recent') }));
  const severity = h('select', { id: 'alert-sev' }, h('option', { value: '', text: t('filter.all') }),
    ['critical', 'warning', 'info'].map((s) => h('option', { value: s, text: t(`sev.${s}`) })));
  const list = h('ul', { class: 'alerts', 'data-testid': 'alert-list', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', hidden: true, text: t('more') });
  const config = h('div');
  fill(root,
    h('section', { class: 'panel' },
      h('div', { class: 'filters' },
        h('label', { for: 'alert-state' }, t('filter.status'), ' ', state),
        h('label', { for: 'alert-sev' }, t('alerts.severity'), ' ', severity)),
      list, more),
    config);
  if (!has('alerts')) {
    state.disabled = true;
    severity.disabled = true;
    list.append(h('li', { class: 'muted', text: t('alerts.unavailable') }));
  }
  state.addEventListener('change', () => load());
  severity.addEventListener('change', () => load());
  more.addEventListener('click', () => load(more.dataset.cursor));
  list.addEventListener('click', onAction);
  return { state, severity, list, more, config };
}

async function load(cursor) {
  if (!has('alerts')) return;
  loaded = true;
  const q = new URLSearchParams({ limit: '50' });
  if (ui.state.value) q.set('state', ui.state.value);
  if (ui.severity.value) q.set('severity', ui.severity.value);
  if (cursor) q.set('cursor', cursor);
  try {
    const body = await api(`api/alerts?${q}`);
    const items = (body.data ?? []).map((a) => alertItem(a));
    if (cursor) ui.list.append(...items);
    else fill(ui.list, items.length ? items : h('li', { class: 'muted empty', text: t('alerts.none') }));
    ui.more.hidden = !body.nextCursor;
    ui.more.dataset.cursor = body.nextCursor ?? '';
  } catch (e) {
    fill(ui.list, h('li', { class: 'error', text: t('loadFailed', { msg: e.message }) }));
  }
}

/** A live alert: replaces its item or adds it on top when it fits the current filter. */
function upsert(a) {
  if (!ui || !loaded || !a?.id) return;
  const fits = (!ui.state.value || a.state === ui.state.value) && (!ui.severity.value || a.severity === ui.severity.value);
  const old = ui.list.querySelector(`li[data-id="${CSS.escape(a.id)}"]`);
  if (!fits) {
    old?.remove();
    return;
  }
  const item = alertItem(a);
  if (old) old.replaceWith(item);
  else {
    ui.list.querySelector('.empty')?.remove();
    ui.list.prepend(item);
  }
}

async function onAction(e) {
  const button = e.target.closest('button[data-action]');
  const li = button?.closest('li[data-id]');
  if (!li) return;
  const a = known.get(li.dataset.id);
  if (button.dataset.action === 'ack') {
    button.disabled = true;
    try {
      const body = await api(`api/alerts/${encodeURIComponent(a.id)}/ack`, { method: 'POST', body: {} });
      upsert(body.data ?? { ...a, acknowledged: true });
    } catch (err) {
      button.disabled = false;
      toast(t('failed', { msg: err.message }), 'critical');
    }
  } else if (button.dataset.action === 'silence') {
    if (!li.querySelector('form')) silenceForm(a, li);
  } else if (button.dataset.action === 'explain') {
    explain(a, li, button);
  }
}

/** Why the alert fired, from its evidence (the server's local engine), shown under the alert. */
async function explain(a, li, button) {
  li.querySelector('.explanation')?.remove();
  const box = h('p', { class: 'explanation muted', 'data-testid': 'alert-explanation', 'aria-busy': 'true', text: t('ai.thinking') });
  li.querySelector('.alert-main')?.append(box);
  button.disabled = true;
  try {
    const body = await api(`api/alerts/${encodeURIComponent(a.id)}/explain`, { method: 'POST', body: { lang: lang() === 'ko' ? 'ko' : 'en' } });
    box.textContent = body.data?.answer ?? '';
    box.classList.remove('muted');
  } catch (err) {
    box.textContent = t('failed', { msg: err.message });
  } finally {
    box.setAttribute('aria-busy', 'false');
    button.disabled = false;
  }
}

function silenceForm(a, li) {
  const id = `sil-${a.id}`;
  const dur = h('select', { id: `${id}-d` }, [1, 4, 24, 168].map((hrs) => h('option', { value: hrs, text: t('alerts.hours', { n: hrs }) })));
  const scope = h('select', { id: `${id}-s` },
    h('option', { value: 'server', text: t('alerts.thisServer') }),
    h('option', { value: 'rule', text: t('alerts.allServers') }));
  const comment = h('input', { id: `${id}-c`, type: 'text', maxlength: '200' });
  const form = h('form', { class: 'inline-form' },
    h('label', { for: `${id}-d` }, t('alerts.for'), ' ', dur),
    h('label', { for: `${id}-s` }, t('alerts.scope'), ' ', scope),
    h('label', { for: `${id}-c` }, t('alerts.comment'), ' ', comment),
    h('button', { type: 'submit', class: 'primary', text: t('alerts.silence') }),
    h('button', { type: 'button', dataset: { cancel: '1' }, text: t('cancel') }));
  form.addEventListener('click', (e) => {
    if (e.target.dataset.cancel) form.remove();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const now = new Date();
    const ends = new Date(now.getTime() + Number(dur.value) * 3600e3);
    const matchers = { ruleId: a.ruleId };
    if (scope.value === 'server') matchers.serverId = a.serverId;
    try {
      await api('api/alerts/silences', { method: 'POST', body: { matchers, startsAt: now.toISOString(), endsAt: ends.toISOString(), comment: comment.value } });
      form.remove();
      toast(t('alerts.silenced', { when: time(ends.toISOString()) }));
      renderConfig(ui.config);
    } catch (err) {
      toast(t('failed', { msg: err.message }), 'critical');
    }
  });
  setTimeout(() => dur.focus());
  const actions = li.querySelector('.actions');
  if (actions) actions.after(form);
  else li.append(form);
}

export function init() {
  ui = build();
  socket.on('alert', (d) => {
    if (!d) return;
    toast([d.title, d.message].filter(Boolean).join(': ') || t('alerts.new'), d.level || d.alert?.severity || 'info', 'alert-toast');
    upsert(d.alert);
  });
  onLang(() => {
    ui = build();
    loaded = false;
    if (!view.el.hidden) view.show();
  });
}

export const view = {
  el: document.getElementById('view-alerts'),
  show() {
    load();
    renderConfig(ui.config);
  },
  hide() {},
};
