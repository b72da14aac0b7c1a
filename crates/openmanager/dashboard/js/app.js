// Entry point: language and theme, sign-in (a token field, or `?token=` once, then kept in
// localStorage and removed from the address bar), the hash router that shows one view at a time, and
// the connection indicator.
import { t, initLang, setLang, lang, onLang } from './i18n.js';
import * as api from './api.js';
import * as socket from './socket.js';
import * as fleet from './fleet.js';
import * as detail from './detail.js';
import * as alerts from './alerts.js';
import * as assistant from './assistant.js';
import * as budget from './budget.js';
import * as gateway from './gateway.js';
import * as tlsPanel from './tls.js';
import * as checks from './checks.js';

const $ = (id) => document.getElementById(id);
const nav = document.querySelector('.nav');
const signOutButton = $('sign-out');
const THEME_KEY = 'openmanager.theme';
const EXPIRED_KEY = 'openmanager.expired';
const dark = matchMedia('(prefers-color-scheme: dark)');

const views = {
  signin: { el: $('view-signin'), show() {}, hide() {} },
  fleet: fleet.view,
  server: detail.view,
  alerts: alerts.view,
  assistant: assistant.view,
  checks: checks.view,
  system: {
    el: $('view-system'),
    show() {
      budget.panel.show();
      gateway.panel.show();
      tlsPanel.view.show();
    },
    hide() {
      budget.panel.hide();
      gateway.panel.hide();
    },
  },
};
let active = null;
let signedIn = false;

function show(name, arg) {
  if (active && active !== name) {
    views[active].hide();
    views[active].el.hidden = true;
  }
  const v = views[name];
  v.el.hidden = false;
  active = name;
  v.show(arg);
  const section = name === 'server' ? 'fleet' : name;
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setTitle();
}

function setTitle() {
  const heading = active && views[active].el.querySelector('h1');
  document.title = heading?.textContent ? `${heading.textContent} · OpenManager` : 'OpenManager';
}

function route(fromUser) {
  if (!signedIn) return show('signin');
  const hash = location.hash;
  // In-page anchors (the skip link) are not routes; the current view stays.
  if (hash && !hash.startsWith('#/')) {
    if (!active || active === 'signin') show('fleet');
    return;
  }
  const [, name = '', arg = ''] = hash.match(/^#\/([^/]*)\/?(.*)$/) ?? [];
  if (name === 'server' && arg) show('server', decodeURIComponent(arg));
  else if (['alerts', 'assistant', 'system', 'checks'].includes(name)) show(name);
  else show('fleet');
  if (fromUser && name !== 'assistant') $('main').focus({ preventScroll: true });
}

// ---- theme: the CSS follows the system until the user picks; the choice is kept.

function storedTheme() {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}

function effectiveTheme() {
  return storedTheme() || (dark.matches ? 'dark' : 'light');
}

function applyTheme() {
  const stored = storedTheme();
  if (stored) document.documentElement.dataset.theme = stored;
  else delete document.documentElement.dataset.theme;
  renderThemeButton();
  document.dispatchEvent(new Event('themechange'));
}

function renderThemeButton() {
  const button = $('theme-toggle');
  button.textContent = t('theme.dark');
  button.setAttribute('aria-pressed', String(effectiveTheme() === 'dark'));
}

function toggleTheme() {
  try {
    localStorage.setItem(THEME_KEY, effectiveTheme() === 'dark' ? 'light' : 'dark');
  } catch {
    // Without storage the toggle still works for this page.
    document.documentElement.dataset.theme = effectiveTheme() === 'dark' ? 'light' : 'dark';
  }
  applyTheme();
}

// ---- language

function renderLangButton() {
  const other = lang() === 'ko' ? 'en' : 'ko';
  const b = $('lang-toggle');
  b.textContent = other === 'ko' ? '한국어' : 'English';
  b.lang = other;
  // A title, not aria-label: the accessible name must keep the visible text.
  b.title = t('lang.switch');
}

// ---- sign-in

function signOut(expired) {
  api.setToken('');
  socket.stop();
  try {
    if (expired) sessionStorage.setItem(EXPIRED_KEY, '1');
  } catch {
    // Nothing to remember then.
  }
  // A fresh page is the simplest way to drop every view's state.
  location.replace(location.pathname);
}

function showSignin(message) {
  signedIn = false;
  nav.hidden = true;
  signOutButton.hidden = true;
  const err = $('signin-error');
  err.hidden = !message;
  err.textContent = message || '';
  show('signin');
  $('signin-token').focus();
}

async function signIn(candidate) {
  let ok;
  try {
    ok = await api.verify(candidate);
  } catch {
    showSignin(t('signin.unreachable'));
    return;
  }
  if (!ok) {
    api.setToken('');
    showSignin(t('signin.rejected'));
    return;
  }
  api.setToken(candidate);
  signedIn = true;
  nav.hidden = false;
  signOutButton.hidden = false;
  socket.start(candidate);
  route(false);
}

function connection() {
  // `notice` messages (the egress guard slowing live updates, and its end) show above the views.
  const notice = $('notice');
  socket.on('notice', (d) => {
    notice.hidden = !d?.active;
    notice.dataset.level = d?.level ?? 'info';
    notice.textContent = d?.message ?? '';
  });
  const el = $('conn');
  const text = el.querySelector('.conn-text');
  socket.on('status', (state) => {
    el.dataset.state = state;
    text.textContent = t(`conn.${state}`);
  });
  onLang(() => {
    text.textContent = t(`conn.${el.dataset.state}`);
  });
  // A connection refused again and again may mean the token was revoked: ask the API, which says so.
  socket.on('retry', async (n) => {
    if (n >= 2 && signedIn && (await api.verify(api.token()).catch(() => true)) === false) signOut(true);
  });
}

function alertBadge() {
  const badge = $('alert-count');
  fleet.onServer(() => {
    let n = 0;
    for (const s of fleet.servers.values()) n += s.alerts || 0;
    badge.hidden = n === 0;
    badge.textContent = String(n);
  });
}

function boot() {
  initLang();
  renderLangButton();
  applyTheme();
  fleet.init();
  detail.init();
  alerts.init();
  checks.init();
  assistant.init();
  budget.init();
  gateway.init();
  connection();
  alertBadge();
  api.onUnauthorized(() => signOut(true));

  $('lang-toggle').addEventListener('click', () => setLang(lang() === 'ko' ? 'en' : 'ko'));
  $('theme-toggle').addEventListener('click', toggleTheme);
  dark.addEventListener('change', () => {
    if (!storedTheme()) applyTheme();
  });
  onLang(() => {
    renderLangButton();
    renderThemeButton();
    setTitle();
  });
  signOutButton.addEventListener('click', () => signOut(false));
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('signin-token').value.trim();
    if (value) signIn(value);
  });
  window.addEventListener('hashchange', () => route(true));

  let expired = false;
  try {
    expired = sessionStorage.getItem(EXPIRED_KEY) === '1';
    sessionStorage.removeItem(EXPIRED_KEY);
  } catch {
    // No session storage: no message.
  }
  // `?token=` signs in once; the token leaves the address bar (and history) at once.
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl !== null) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
  }
  const candidate = fromUrl || api.token();
  if (candidate) signIn(candidate);
  else showSignin(expired ? t('signin.expired') : '');
}

boot();
