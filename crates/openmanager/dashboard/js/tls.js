// The HTTPS certificate panel (the `tls` part of GET /api/health): mode, state and expiry. Hidden
// while the server serves plain HTTP (`tls.mode = "off"`).
import { h, fill, time, pair } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';

const panel = document.getElementById('tls-panel');
const root = document.getElementById('tls-body');

async function load() {
  try {
    const body = await api('api/health');
    const c = body.tls;
    panel.hidden = !c;
    if (!c) return;
    const state = body.checks?.tls ?? c.state;
    fill(root, h('dl', { class: 'pairs' },
      pair(t('tls.mode'), c.mode),
      pair(t('tls.state'), state),
      pair(t('tls.notAfter'), time(c.notAfter))));
  } catch {
    panel.hidden = true;
  }
}

export const view = {
  show: load,
  hide() {},
};
