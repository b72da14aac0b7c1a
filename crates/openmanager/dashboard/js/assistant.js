// The AI assistant: a question box (Enter sends) and answers streamed from POST /api/ai/query with
// `stream: true`, each showing the engine, cache status, fallback, attempts and thinking steps.
// `askInto` is also used by the server detail view for analyses of one server.
import { h, fill, setText, num } from './dom.js';
import { t, onLang } from './i18n.js';
import { api, streamQuery } from './api.js';

const root = document.getElementById('assistant-body');
let ui = null;
let enginesLoaded = false;

function metaLine(ev, info) {
  const md = ev.metadata ?? {};
  const engine = ev.engine || md.engine || info.engine;
  const cache = md.cacheHit ? 'HIT' : info.cache || 'MISS';
  const parts = [
    `${t('ai.engine')}: ${engine ?? '—'}${md.model && md.model !== engine ? ` (${md.model})` : ''}`,
    `${t('ai.cache')}: ${t(`ai.cache.${cache.toLowerCase()}`, cache)}`,
  ];
  if (md.fallback || info.fallback) parts.push(t('ai.fallback'));
  if (ev.responseTime != null) parts.push(`${num(ev.responseTime, 0)} ms`);
  if (md.intent) parts.push(`${t('ai.intent')}: ${md.intent}`);
  return parts.join(' · ');
}

function attemptsLine(attempts) {
  if (!Array.isArray(attempts) || attempts.length < 2) return null;
  return h('p', { class: 'muted small' }, `${t('ai.attempts')}: `,
    attempts.map((a) => `${a.engine} ${a.outcome} (${num(a.ms, 0)} ms)`).join(' → '));
}

function stepsBlock(steps) {
  if (!Array.isArray(steps) || !steps.length) return null;
  return h('details', { class: 'steps' },
    h('summary', { text: t('ai.steps', { n: steps.length }) }),
    h('ol', null, steps.map((s) => h('li', null,
      h('strong', { text: s.step ?? '' }), s.description ? ` — ${s.description}` : '',
      h('span', { class: 'muted', text: ` ${[s.status, s.duration != null ? `${num(s.duration, 0)} ms` : ''].filter(Boolean).join(', ')}` })))));
}

/**
 * Asks `query` and renders the streamed answer into `container` (newest last). Resolves when the
 * answer is complete.
 */
export async function askInto(container, query, context, mode) {
  const text = h('div', { class: 'answer-text', 'data-testid': 'ai-answer', 'aria-busy': 'true', dataset: { state: 'streaming' } });
  const meta = h('p', { class: 'ai-meta muted small', text: t('ai.thinking') });
  const extra = h('div');
  const item = h('article', { class: 'qa' }, h('p', { class: 'question', text: query }), text, meta, extra);
  container.append(item);
  item.scrollIntoView({ block: 'nearest' });
  // One conversation per page load, so follow-ups ("and web-02?", "그럼 메모리는?") read the
  // earlier turns; the server keeps it bounded and forgets it after half an hour idle.
  const payload = { query, includeThinking: true, sessionId: session() };
  if (context) payload.context = context;
  if (mode && mode !== 'auto') payload.mode = mode;
  let finished = false;
  try {
    await streamQuery(payload, (ev, info) => {
      if (typeof ev.delta === 'string') {
        text.append(ev.delta);
      } else if (ev.done) {
        finished = true;
        if (ev.success === false) {
          text.classList.add('error');
          setText(text, ev.message || t('ai.failed'));
          setText(meta, ev.error || '');
          return;
        }
        const answer = ev.answer ?? ev.response;
        if (typeof answer === 'string' && answer !== text.textContent) setText(text, answer);
        setText(meta, metaLine(ev, info));
        fill(extra, attemptsLine(ev.metadata?.attempts), stepsBlock(ev.metadata?.thinkingSteps));
      }
    });
    if (!finished) setText(meta, t('ai.cut'));
  } catch (e) {
    text.classList.add('error');
    setText(text, e.status === 429 ? t('ai.limited') : t('ai.failedMsg', { msg: e.message }));
    setText(meta, '');
  } finally {
    text.setAttribute('aria-busy', 'false');
    text.dataset.state = 'done';
  }
}

let sessionId = null;

function session() {
  if (!sessionId) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    sessionId = `dash-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }
  return sessionId;
}

function examples() {
  return [1, 2, 3].map((i) => t(`ai.example${i}`));
}

function build() {
  const input = h('input', { id: 'ai-input', type: 'text', name: 'query', 'data-testid': 'ai-input', required: true, maxlength: '4000', autocomplete: 'off', placeholder: t('ai.placeholder') });
  const mode = h('select', { id: 'ai-mode', name: 'mode' }, h('option', { value: 'auto', text: t('ai.auto') }), h('option', { value: 'local', text: 'local' }));
  const form = h('form', { class: 'ask' },
    h('label', { for: 'ai-input', class: 'sr-only', text: t('ai.question') }),
    input,
    h('label', { for: 'ai-mode', class: 'sr-only', text: t('ai.engine') }),
    mode,
    h('button', { type: 'submit', class: 'primary', text: t('ai.send') }));
  const chips = h('div', { class: 'actions' }, examples().map((q) => h('button', { type: 'button', class: 'chip', text: q })));
  const log = h('div', { class: 'answers', 'aria-label': t('ai.answers') });
  fill(root, h('section', { class: 'panel' }, form, chips, log));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    input.value = '';
    askInto(log, q, undefined, mode.value);
  });
  chips.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (b) askInto(log, b.textContent, undefined, mode.value);
  });
  return { input, mode, log };
}

/** Offers the configured engines besides auto and local, once per page. */
async function loadEngines() {
  if (enginesLoaded) return;
  enginesLoaded = true;
  try {
    const body = await api('api/ai/status');
    for (const e of body.data?.engines ?? []) {
      if (e.name === 'local' || !e.configured) continue;
      ui.mode.append(h('option', { value: e.name, text: e.name }));
    }
  } catch {
    enginesLoaded = false;
  }
}

export function init() {
  ui = build();
  onLang(() => {
    const log = ui.log;
    ui = build();
    // Keep the conversation across a language switch.
    ui.log.replaceWith(log);
    ui.log = log;
    enginesLoaded = false;
  });
}

export const view = {
  el: document.getElementById('view-assistant'),
  show() {
    loadEngines();
    ui.input.focus();
  },
  hide() {},
};
