// Alert rules, silences and notification channels: lists with create, edit, enable, test and delete.
// Each panel calls only the endpoints the server announced; otherwise it says they are not available.
import { h, fill, table, time, metricValue, toast } from './dom.js';
import { t } from './i18n.js';
import { api, has } from './api.js';

// Every metric the rule schema accepts; `check.*` ones may name one check (`checkId`).
const METRICS = ['cpu', 'memory', 'disk', 'load1', 'networkIn', 'networkOut', 'egressMonth', 'offline', 'aiErrorRate', 'responseTime',
  'storeFailing', 'tlsRenewalFailing', 'check.up', 'check.latency', 'check.cert_days'];
const isCheckMetric = (m) => m.startsWith('check.');
const OPS = ['>', '>=', '<', '<='];
const SEVERITIES = ['critical', 'warning', 'info'];
const KINDS = {
  webhook: ['url', 'secret'],
  slack: ['url'],
  discord: ['url'],
  telegram: ['botToken', 'chatId'],
  ntfy: ['baseUrl', 'topic', 'token'],
};
const SECRET = new Set(['secret', 'botToken', 'token']);
let channels = [];
let checks = [];
let seq = 0;

function panel(title, ...body) {
  return h('section', { class: 'panel' }, h('h2', { text: title }), ...body);
}

/** A labelled control; `input` gets a fresh id so the label points at it. */
function field(label, input) {
  input.id ||= `f${++seq}`;
  return h('label', { for: input.id, class: 'field' }, h('span', { text: label }), input);
}

function select(name, values, label, value) {
  const el = h('select', { name }, values.map((v) => h('option', { value: v, text: label ? label(v) : v })));
  if (value != null) el.value = String(value);
  return el;
}

/** A delete button that asks for a second click instead of a modal dialog. */
function dangerButton(onConfirm) {
  const b = h('button', { type: 'button', class: 'danger', text: t('delete') });
  b.addEventListener('click', async () => {
    if (!b.dataset.armed) {
      b.dataset.armed = '1';
      b.textContent = t('confirmDelete');
      return;
    }
    b.disabled = true;
    try {
      await onConfirm();
    } catch (e) {
      b.disabled = false;
      toast(t('failed', { msg: e.message }), 'critical');
    }
  });
  b.addEventListener('blur', () => {
    delete b.dataset.armed;
    b.textContent = t('delete');
  });
  return b;
}

function errorText(e) {
  return e.code === 'VALIDATION_ERROR' ? t('invalid', { msg: e.message }) : t('failed', { msg: e.message });
}

// ---- rules

function ruleForm(rule, done) {
  const r = rule ?? { metric: 'cpu', op: '>', threshold: 90, forSeconds: 60, severity: 'warning', repeatIntervalSeconds: 3600, enabled: true, window: { kind: 'latest' }, scope: {}, channels: [] };
  const f = {
    name: h('input', { name: 'name', required: true, maxlength: '100', value: r.name ?? '' }),
    metric: select('metric', METRICS, (m) => t(`metric.${m}`, m), r.metric),
    op: select('op', OPS, null, r.op),
    threshold: h('input', { name: 'threshold', type: 'number', step: 'any', required: true, value: r.threshold ?? '' }),
    clearThreshold: h('input', { name: 'clearThreshold', type: 'number', step: 'any', value: r.clearThreshold ?? '' }),
    window: select('window', ['latest', 'average'], (w) => t(`rules.window.${w}`), r.window?.kind === 'average' ? 'average' : 'latest'),
    windowSeconds: h('input', { name: 'windowSeconds', type: 'number', min: '1', value: r.window?.seconds ?? 300 }),
    forSeconds: h('input', { name: 'forSeconds', type: 'number', min: '0', value: r.forSeconds ?? 0 }),
    severity: select('severity', SEVERITIES, (s) => t(`sev.${s}`), r.severity),
    serverIds: h('input', { name: 'serverIds', value: (r.scope?.serverIds ?? []).join(', '), placeholder: t('rules.anyServer') }),
    checkId: h('select', { name: 'checkId' }, [h('option', { value: '', text: t('rules.anyCheck') }),
      ...checks.map((c) => h('option', { value: c.id, text: c.name }))]),
    repeat: h('input', { name: 'repeat', type: 'number', min: '0', value: r.repeatIntervalSeconds ?? 3600 }),
    enabled: h('input', { name: 'enabled', type: 'checkbox', checked: r.enabled !== false }),
  };
  f.checkId.value = r.checkId ?? '';
  const checkField = field(t('rules.check'), f.checkId);
  // The check picker only means something for check metrics (the server refuses it otherwise).
  const showCheck = () => { checkField.hidden = !isCheckMetric(f.metric.value); };
  f.metric.addEventListener('change', showCheck);
  showCheck();
  const chans = channels.map((c) => h('input', { type: 'checkbox', value: c.id, checked: (r.channels ?? []).includes(c.id) }));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'form-grid' },
    field(t('rules.name'), f.name), field(t('rules.metric'), f.metric), field(t('rules.op'), f.op),
    field(t('rules.threshold'), f.threshold), field(t('rules.clear'), f.clearThreshold), field(t('rules.window'), f.window),
    field(t('rules.windowSeconds'), f.windowSeconds), field(t('rules.for'), f.forSeconds), field(t('alerts.severity'), f.severity),
    field(t('rules.servers'), f.serverIds), checkField, field(t('rules.repeat'), f.repeat), field(t('rules.enabled'), f.enabled),
    chans.length ? h('fieldset', { class: 'wide' }, h('legend', { text: t('channels.title') }), chans.map((c, i) => field(channels[i].name, c))) : null,
    error,
    h('div', { class: 'actions wide' }, h('button', { type: 'submit', class: 'primary', text: t('save') }), h('button', { type: 'button', dataset: { cancel: '1' }, text: t('cancel') })));
  form.addEventListener('click', (e) => {
    if (e.target.dataset.cancel) done(false);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const num = (el) => (el.value === '' ? undefined : Number(el.value));
    const body = {
      name: f.name.value.trim(),
      metric: f.metric.value,
      op: f.op.value,
      threshold: num(f.threshold),
      clearThreshold: num(f.clearThreshold) ?? null,
      window: f.window.value === 'average' ? { kind: 'average', seconds: num(f.windowSeconds) ?? 300 } : { kind: 'latest' },
      forSeconds: num(f.forSeconds) ?? 0,
      severity: f.severity.value,
      scope: { serverIds: f.serverIds.value.split(',').map((s) => s.trim()).filter(Boolean), types: r.scope?.types ?? [], sources: r.scope?.sources ?? [] },
      channels: chans.filter((c) => c.checked).map((c) => c.value),
      repeatIntervalSeconds: num(f.repeat) ?? 0,
      enabled: f.enabled.checked,
    };
    // A merge PATCH keeps an omitted field, so an edit clears the check with null.
    if (isCheckMetric(body.metric) && f.checkId.value) body.checkId = f.checkId.value;
    else if (rule?.checkId) body.checkId = null;
    try {
      if (rule) await api(`api/alerts/rules/${encodeURIComponent(rule.id)}`, { method: 'PATCH', body });
      else await api('api/alerts/rules', { method: 'POST', body });
      done(true);
    } catch (err) {
      error.hidden = false;
      error.textContent = errorText(err);
    }
  });
  setTimeout(() => f.name.focus());
  return form;
}

function condition(r) {
  const win = r.window?.kind === 'average' ? ` (${t('rules.avg', { s: r.window.seconds })})` : '';
  const hold = r.forSeconds ? ` · ${t('rules.forN', { s: r.forSeconds })}` : '';
  return `${t(`metric.${r.metric}`, r.metric)} ${r.op} ${metricValue(r.metric, r.threshold)}${win}${hold}`;
}

async function rulesPanel() {
  const body = h('div');
  const slot = h('div');
  const add = h('button', { type: 'button', class: 'primary', text: t('rules.new') });
  const p = panel(t('rules.title'), body, add, slot);
  if (!has('rules')) {
    add.hidden = true;
    fill(body, h('p', { class: 'muted', text: t('notAvailable') }));
    return p;
  }
  const reload = async () => {
    try {
      const rules = (await api('api/alerts/rules')).data ?? [];
      fill(body, rules.length ? table(t('rules.title'), [t('rules.name'), t('rules.condition'), t('alerts.severity'), t('rules.enabled'), ''],
        rules.map((r) => row(r))) : h('p', { class: 'muted', text: t('rules.none') }));
    } catch (e) {
      fill(body, h('p', { class: 'error', text: t('loadFailed', { msg: e.message }) }));
    }
  };
  const edit = async (rule) => {
    // The check picker's names, fresh each time (checks come and go in another view); a hub
    // without checks leaves the picker with "any check" alone.
    checks = await api('api/checks').then((r) => r.data ?? [], () => []);
    fill(slot, ruleForm(rule, (saved) => {
      slot.replaceChildren();
      if (saved) reload();
    }));
  };
  const row = (r) => {
    const toggle = h('input', { type: 'checkbox', checked: r.enabled !== false, 'aria-label': t('rules.enabledFor', { name: r.name }) });
    toggle.addEventListener('change', async () => {
      try {
        await api(`api/alerts/rules/${encodeURIComponent(r.id)}`, { method: 'PATCH', body: { enabled: toggle.checked } });
      } catch (e) {
        toggle.checked = !toggle.checked;
        toast(errorText(e), 'critical');
      }
    });
    const editBtn = h('button', { type: 'button', text: t('edit') });
    editBtn.addEventListener('click', () => edit(r));
    return [r.name, condition(r), t(`sev.${r.severity}`, r.severity), toggle,
      h('span', { class: 'actions' }, editBtn, dangerButton(async () => {
        await api(`api/alerts/rules/${encodeURIComponent(r.id)}`, { method: 'DELETE' });
        reload();
      }))];
  };
  add.addEventListener('click', () => edit(null));
  await reload();
  return p;
}

// ---- silences

async function silencesPanel() {
  const body = h('div');
  const p = panel(t('silences.title'), body);
  if (!has('silences')) {
    fill(body, h('p', { class: 'muted', text: t('notAvailable') }));
    return p;
  }
  const reload = async () => {
    try {
      const list = (await api('api/alerts/silences')).data ?? [];
      fill(body, list.length ? table(t('silences.title'), [t('silences.matchers'), t('silences.ends'), t('alerts.comment'), ''], list.map((s) => {
        const m = s.matchers ?? {};
        const what = [m.ruleId && `${t('silences.rule')} ${m.ruleId}`, m.serverId && `${t('silences.server')} ${m.serverId}`, m.severity && t(`sev.${m.severity}`)]
          .filter(Boolean).join(' · ') || t('silences.everything');
        return [what, time(s.endsAt), [s.comment, s.createdBy && `(${s.createdBy})`].filter(Boolean).join(' '),
          dangerButton(async () => {
            await api(`api/alerts/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
            reload();
          })];
      })) : h('p', { class: 'muted', text: t('silences.none') }));
    } catch (e) {
      fill(body, h('p', { class: 'error', text: t('loadFailed', { msg: e.message }) }));
    }
  };
  await reload();
  return p;
}

// ---- channels

function channelForm(done) {
  const kind = select('kind', Object.keys(KINDS), null, 'webhook');
  const name = h('input', { name: 'name', required: true, maxlength: '100' });
  const extra = h('div', { class: 'form-grid wide' });
  const inputs = {};
  const renderKind = () => {
    fill(extra, KINDS[kind.value].map((k) => {
      inputs[k] = h('input', { name: k, type: SECRET.has(k) ? 'password' : k.endsWith('rl') ? 'url' : 'text', required: !['secret', 'token', 'baseUrl'].includes(k), autocomplete: 'off' });
      return field(t(`channels.${k}`), inputs[k]);
    }));
  };
  renderKind();
  kind.addEventListener('change', renderKind);
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'form-grid' }, field(t('channels.kind'), kind), field(t('rules.name'), name), extra, error,
    h('div', { class: 'actions wide' }, h('button', { type: 'submit', class: 'primary', text: t('save') }), h('button', { type: 'button', dataset: { cancel: '1' }, text: t('cancel') })));
  form.addEventListener('click', (e) => {
    if (e.target.dataset.cancel) done(false);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // The API nests the receiver under `target`, tagged by `kind`; secrets are write-only.
    const target = { kind: kind.value };
    for (const k of KINDS[kind.value]) if (inputs[k].value.trim()) target[k] = inputs[k].value.trim();
    const body = { name: name.value.trim(), target };
    try {
      await api('api/notifications/channels', { method: 'POST', body });
      done(true);
    } catch (err) {
      error.hidden = false;
      error.textContent = errorText(err);
    }
  });
  setTimeout(() => name.focus());
  return form;
}

async function channelsPanel() {
  const body = h('div');
  const slot = h('div');
  const add = h('button', { type: 'button', class: 'primary', text: t('channels.new') });
  const p = panel(t('channels.title'), body, add, slot);
  if (!has('channels')) {
    add.hidden = true;
    fill(body, h('p', { class: 'muted', text: t('notAvailable') }));
    return p;
  }
  const reload = async () => {
    try {
      channels = (await api('api/notifications/channels')).data ?? [];
      fill(body, channels.length ? table(t('channels.title'), [t('rules.name'), t('channels.kind'), t('channels.target'), ''], channels.map((c) => {
        const test = h('button', { type: 'button', text: t('channels.test') });
        test.addEventListener('click', async () => {
          test.disabled = true;
          try {
            await api(`api/notifications/channels/${encodeURIComponent(c.id)}/test`, { method: 'POST', body: {} });
            toast(t('channels.sent', { name: c.name }));
          } catch (e) {
            toast(t('failed', { msg: e.message }), 'critical');
          } finally {
            test.disabled = false;
          }
        });
        const kind = c.kind ?? c.target?.kind ?? '';
        const target = c.url ?? c.target?.url ?? c.topic ?? c.target?.topic ?? c.chatId ?? c.target?.chatId ?? '';
        return [c.name, kind, String(target), h('span', { class: 'actions' }, test, dangerButton(async () => {
          await api(`api/notifications/channels/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
          reload();
        }))];
      })) : h('p', { class: 'muted', text: t('channels.none') }));
    } catch (e) {
      fill(body, h('p', { class: 'error', text: t('loadFailed', { msg: e.message }) }));
    }
  };
  add.addEventListener('click', () => fill(slot, channelForm((saved) => {
    slot.replaceChildren();
    if (saved) reload();
  })));
  await reload();
  return p;
}

let rendering = null;

/** Renders the three panels into `container` (channels load first: the rule form lists them). */
export async function renderConfig(container) {
  if (rendering) return rendering;
  rendering = (async () => {
    const ch = await channelsPanel();
    const [rules, silences] = await Promise.all([rulesPanel(), silencesPanel()]);
    fill(container, rules, h('div', { class: 'two' }, silences, ch));
  })().finally(() => {
    rendering = null;
  });
  return rendering;
}
