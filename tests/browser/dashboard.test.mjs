// The dashboard's browser test: starts the real binary (path as the first argument) on a free port with a
// temp data dir and a known admin token, then drives Debian's Chromium with playwright-core through
// what a person does: sign in, watch the fleet, open a server's live chart, ask the assistant in Korean,
// use it on a phone, and see an alert arrive (DASH_TEST_ALERTS=0 skips that step).
// Throughout it records the page weight, every request's host and every console error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

const BIN = resolve(process.argv[2] || process.env.OPENMANAGER_BIN || 'target/debug/openmanager');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'browser-test-admin-token-0123456789abcdefgh';
const PAGE_WEIGHT_LIMIT = 150 * 1000;
const ALERTS = process.env.DASH_TEST_ALERTS !== '0';
// HTTPS (run.sh OM_HTTPS=1): the certificate's files, and its SPKI hash for Chromium's allow-list.
const TLS = process.env.OM_TLS_CERT ? { cert: process.env.OM_TLS_CERT, key: process.env.OM_TLS_KEY, spki: process.env.OM_TLS_SPKI } : null;

let server;
let dir;
let base;
let browser;
let page;
let cdp;
const consoleErrors = [];
// The page's refused requests (status >= 400), newest last, for failure messages.
const refused = [];
const foreign = [];
const sizes = new Map();
let wsBytes = 0;
let closing = false;

/** Starts the binary and resolves with its address from the JSON "listening" log line (no sleeps). */
function startServer() {
  dir = mkdtempSync(join(tmpdir(), 'om-browser-'));
  server = spawn(BIN, ['serve'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      HOST: '127.0.0.1',
      PORT: '0',
      OPENMANAGER_DATA_DIR: join(dir, 'data'),
      OPENMANAGER_ADMIN_TOKEN: TOKEN,
      OPENMANAGER_LOG: 'info',
      OPENMANAGER_LOG_FORMAT: 'json',
      // Rules are evaluated every second, so an alert arrives within the test's patience.
      OPENMANAGER_ALERTS__INTERVAL_SECONDS: '1',
      // run.sh's OM_HTTPS=1: HTTPS with the certificate it made (and Node trusts through NODE_EXTRA_CA_CERTS).
      ...(TLS ? { OPENMANAGER_TLS__MODE: 'files', OPENMANAGER_TLS__CERT_PATH: TLS.cert, OPENMANAGER_TLS__KEY_PATH: TLS.key } : {}),
      // The test machine's own traffic may project past the egress guard, which would slow the
      // fleet view to 30 s; the view is tested at its normal rate.
      OPENMANAGER_BUDGET__EGRESS_GUARD_PERCENT: '1000',
    },
  });
  const logs = [];
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no "listening" line in 30 s:\n${logs.join('\n')}`)), 30000);
    server.on('exit', (code) => fail(new Error(`openmanager exited with ${code}:\n${logs.join('\n')}`)));
    createInterface({ input: server.stderr }).on('line', (line) => {
      if (logs.length < 200) logs.push(line);
      try {
        const f = JSON.parse(line).fields ?? {};
        if (f.message === 'listening' && f.addr) {
          clearTimeout(timer);
          ok(`${TLS ? 'https' : 'http'}://${f.addr}`);
        }
      } catch {
        // Not a JSON line.
      }
    });
  });
}

async function api(path, init = {}) {
  const res = await fetch(base + path, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits until `fn()` returns a truthy value, polling with a deadline. */
async function until(fn, what, ms = 30000, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

before(async () => {
  base = await startServer();
  // Local-network checks would block the WebSocket of a page whose document a test replaced (the mocked
  // panels test); the real page never needs this.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-features=LocalNetworkAccessChecks', ...(TLS ? [`--ignore-certificate-errors-spki-list=${TLS.spki}`] : [])] });
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !closing) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) {
      refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
      if (refused.length > 50) refused.shift();
    }
  });
  const origin = new URL(base).host;
  const check = (url) => {
    const u = new URL(url);
    if (!['data:', 'blob:'].includes(u.protocol) && u.host !== origin) foreign.push(url);
  };
  page.on('request', (r) => check(r.url()));
  page.on('websocket', (ws) => check(ws.url()));
  // Transferred bytes as the network saw them (headers and compressed bodies), from the DevTools protocol.
  cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  // Measure what a gzip-only client receives (Chromium would otherwise pick brotli, which is smaller).
  await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'gzip' } });
  cdp.on('Network.responseReceived', (e) => {
    sizes.set(e.requestId, { url: e.response.url, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '', bytes: 0 });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const s = sizes.get(e.requestId);
    if (s) s.bytes = e.encodedDataLength;
  });
  cdp.on('Network.webSocketFrameReceived', (e) => {
    wsBytes += e.response.payloadData.length;
  });
});

after(async () => {
  closing = true;
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('signs in with ?token= once: the token is kept and leaves the address bar', async () => {
  await page.goto(`${base}/?token=${TOKEN}`);
  await page.waitForSelector('[data-testid="fleet-card"]');
  assert.equal(new URL(page.url()).searchParams.has('token'), false, page.url());
  assert.equal(await page.evaluate(() => localStorage.getItem('openmanager.token')), TOKEN);
  assert.equal(await page.isVisible('#sign-out'), true);
});

test('sees the fleet: at least 10 cards, patched in place by live updates', async () => {
  await until(async () => (await page.locator('[data-testid="fleet-card"]').count()) >= 10, '10 fleet cards');
  const card = await page.$('[data-testid="fleet-card"][data-id="web-01"]');
  assert.ok(card, 'web-01 has a card');
  assert.match(await card.getAttribute('data-status'), /^(online|warning|critical|offline|maintenance|unknown)$/);
  const before = await card.textContent();
  // The simulated fleet moves every second; the same element must show the new values.
  await until(async () => (await card.evaluate((el) => el.isConnected)) && (await card.textContent()) !== before, 'a live update of web-01');
});

test('first load weighs at most 150 KB (gzip) and asks no other host', async () => {
  await page.waitForLoadState('networkidle');
  const http = [...sizes.values()].filter((s) => s.url.startsWith('http'));
  const total = http.reduce((a, s) => a + s.bytes, 0);
  const lines = http.map((s) => `  ${String(s.bytes).padStart(7)} ${s.encoding.padEnd(4)} ${s.url.replace(base, '')}`);
  console.log(`page weight: ${total} bytes over ${http.length} HTTP responses (+ ${wsBytes} bytes of WebSocket messages so far)\n${lines.join('\n')}`);
  assert.ok(http.some((s) => s.url.includes('/js/app.js') && s.encoding === 'gzip'), 'scripts arrive gzip-compressed');
  assert.ok(total <= PAGE_WEIGHT_LIMIT, `first load ${total} bytes > ${PAGE_WEIGHT_LIMIT}`);
  assert.deepEqual(foreign, []);
});

test('opens a server from the keyboard and sees its live chart draw new points', async () => {
  await page.focus('[data-testid="fleet-card"][data-id="web-01"] a');
  await page.keyboard.press('Enter');
  const detail = page.locator('[data-testid="server-detail"]');
  await detail.waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#server-title'), 'web-01');
  const chart = page.locator('[data-testid="live-chart"]');
  await chart.locator('canvas').waitFor();
  const points = async () => Number(await chart.getAttribute('data-points'));
  const first = await until(points, 'the first live point');
  await until(async () => (await points()) >= first + 2, 'two more live points');
  const history = async () => Number(await page.getAttribute('[data-testid="history-chart"]', 'data-points'));
  const hour = await until(history, 'an hour of history');
  // Another range loads from /api/metrics/history, at another resolution.
  await page.click('button[data-range="6h"]');
  assert.equal(await page.getAttribute('button[data-range="6h"]', 'aria-pressed'), 'true');
  await until(async () => (await history()) > 0 && (await history()) !== hour, 'six hours of history');
  await page.waitForSelector('[data-testid="server-detail"] table');
  // An analysis runs from the server's page and shows its findings.
  await page.click('[data-analysis="health"]');
  await page.locator('ul.findings li').first().waitFor({ state: 'visible', timeout: 15000 });
});

test('asks the assistant a Korean question and gets a Korean answer', async () => {
  await page.click('a[href="#/assistant"]');
  const input = page.locator('[data-testid="ai-input"]');
  await input.fill('CPU 사용률이 가장 높은 서버는?');
  await input.press('Enter');
  const answer = page.locator('[data-testid="ai-answer"][data-state="done"]').last();
  await answer.waitFor();
  const text = await answer.textContent();
  assert.match(text, /[\uac00-\ud7a3]/, `answer has Hangul: ${text}`);
  assert.equal(await answer.evaluate((el) => el.classList.contains('error')), false, text);
  const meta = await page.locator('#view-assistant .ai-meta').last().textContent();
  assert.match(meta, /local|google-ai/, meta);
});

test('budget and AI gateway panels show their data or say it is not available', async () => {
  await page.click('a[href="#/system"]');
  const budget = page.locator('[data-testid="budget-panel"]');
  await budget.waitFor({ state: 'visible' });
  const features = (await page.getAttribute('meta[name="openmanager-features"]', 'content')).split(/\s+/);
  if (features.includes('budget')) {
    await until(async () => (await budget.locator('.gauge').count()) >= 4, 'budget gauges');
  } else {
    await until(async () => /not available/i.test(await budget.textContent()), 'budget "not available"');
  }
  await page.waitForSelector('[data-testid="gateway-panel"] table td >> text=local');
});

test('switches to Korean and to the dark theme, and keeps both', async () => {
  await page.click('#lang-toggle');
  assert.equal(await page.getAttribute('html', 'lang'), 'ko');
  assert.equal(await page.textContent('a[data-route="fleet"]'), '서버');
  const wasDark = (await page.getAttribute('#theme-toggle', 'aria-pressed')) === 'true';
  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), wasDark ? 'light' : 'dark');
  await page.reload();
  await page.waitForSelector('[data-testid="budget-panel"]');
  assert.equal(await page.getAttribute('html', 'lang'), 'ko');
  assert.equal(await page.getAttribute('html', 'data-theme'), wasDark ? 'light' : 'dark');
  await page.click('#lang-toggle');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
});

test('fits a phone screen without sideways scrolling', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const route of ['#/', '#/server/web-01', '#/assistant', '#/alerts', '#/system']) {
    await page.evaluate((r) => {
      location.hash = r;
    }, route);
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${route} overflows by ${overflow}px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('sees an alert arrive', { skip: !ALERTS && 'DASH_TEST_ALERTS=0' }, async () => {
  await page.evaluate(() => {
    location.hash = '#/alerts';
  });
  const list = page.locator('[data-testid="alert-list"]');
  await list.waitFor({ state: 'visible' });
  // The page calls only the endpoints the server lists in its OpenAPI document.
  const features = (await page.getAttribute('meta[name="openmanager-features"]', 'content')).split(/\s+/);
  assert.ok(['alerts', 'rules', 'silences', 'channels'].every((f) => features.includes(f)), `features: ${features}`);
  // A rule that fires at once on one server; the page must learn of it over the WebSocket, not by reloading.
  const rule = {
    name: 'browser-test-cpu',
    metric: 'cpu',
    op: '>=',
    threshold: 0,
    window: { kind: 'latest' },
    forSeconds: 0,
    severity: 'critical',
    scope: { serverIds: ['web-01'], types: [], sources: [] },
    channels: [],
    repeatIntervalSeconds: 3600,
    enabled: true,
  };
  const created = await api('/api/alerts/rules', { method: 'POST', body: JSON.stringify(rule) });
  assert.ok(created.status === 200 || created.status === 201, `create rule: ${created.status} ${JSON.stringify(created.body)}`);
  try {
    const item = list.locator('[data-testid="alert-item"]', { hasText: 'browser-test-cpu' });
    await item.first().waitFor({ timeout: 60000 });
    await page.locator('[data-testid="alert-toast"]').first().waitFor({ state: 'attached', timeout: 10000 });
    assert.match(await item.first().textContent(), /web-01/);
    await item.first().locator('button[data-action="ack"]').click();
    await until(async () => /acknowledged/i.test(await list.locator('[data-testid="alert-item"]', { hasText: 'browser-test-cpu' }).first().textContent()), 'the acknowledgement');
    // Explain: why it fired, from its evidence, shown under the alert.
    const fresh = list.locator('[data-testid="alert-item"]', { hasText: 'browser-test-cpu' }).first();
    await fresh.locator('[data-testid="alert-explain"]').click();
    const explanation = fresh.locator('[data-testid="alert-explanation"]');
    await until(async () => (await explanation.getAttribute('aria-busy')) === 'false', 'the explanation');
    const said = await explanation.textContent();
    assert.match(said, /web-01/, `explanation: ${said}`);
    assert.match(said, /browser-test-cpu|cpu|CPU/, `explanation: ${said}`);
  } finally {
    const id = created.body?.data?.id;
    if (id) await api(`/api/alerts/rules/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }
});

test('alerts and budget light up with the API.md shapes (mocked responses, live alert injected)', async () => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const p = await context.newPage();
  const errors = [];
  p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  p.on('pageerror', (e) => errors.push(e.message));
  const at = (ms) => new Date(Date.now() + ms).toISOString();
  const alert = (id, state, severity, server, value) => ({
    id, ruleId: 'r-cpu', ruleName: 'CPU high', metric: 'cpu', op: '>', serverId: server, serverName: server, state, severity,
    value, threshold: 90, startedAt: at(-600e3), firedAt: at(-540e3), resolvedAt: state === 'resolved' ? at(-60e3) : null,
    acknowledged: false, acknowledgedAt: null, acknowledgedBy: null, topProcesses: [{ pid: 1, name: 'nginx', cpu: 55.2, memoryBytes: 1e9 }],
    values: { cpu: value, memory: 40 }, channels: [],
  });
  const alerts = [alert('a1', 'firing', 'critical', 'web-01', 96.1), alert('a2', 'resolved', 'warning', 'db-master', 85)];
  const ok = (data, extra = {}) => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ success: true, data, ...extra, timestamp: at(0) }) });
  // The page as a server with the alerts and budget API would render it.
  await p.route((u) => u.pathname === '/', async (route) => {
    const res = await route.fetch();
    const body = (await res.text()).replace(/(name="openmanager-features" content=)"[^"]*"/, '$1"alerts rules silences channels budget"');
    await route.fulfill({ response: res, body });
  });
  await p.route('**/api/alerts?*', (r) => r.fulfill(ok(alerts, { nextCursor: null })));
  await p.route('**/api/alerts/a1/ack', (r) => r.fulfill(ok({ ...alerts[0], acknowledged: true, acknowledgedBy: 'admin', acknowledgedAt: at(0) })));
  await p.route('**/api/alerts/rules', (r) => r.fulfill(ok([{ id: 'r-cpu', name: 'CPU high', metric: 'cpu', op: '>', threshold: 90, clearThreshold: 85, window: { kind: 'average', seconds: 60 }, forSeconds: 60, severity: 'critical', scope: { serverIds: [], types: [], sources: [] }, channels: ['c1'], repeatIntervalSeconds: 3600, enabled: true }])));
  await p.route('**/api/alerts/silences', (r) => r.fulfill(ok([{ id: 's1', matchers: { ruleId: 'r-cpu', serverId: 'web-02' }, startsAt: at(0), endsAt: at(3600e3), comment: 'deploy', createdBy: 'admin' }])));
  await p.route('**/api/notifications/channels', (r) => r.fulfill(ok([{ id: 'c1', kind: 'slack', name: 'ops slack', url: 'https://hooks.slack.com/***' }])));
  await p.route('**/api/budget', (r) => r.fulfill(ok({
    egress: { monthToDateBytes: 412e6, projectedBytes: 890e6, limitBytes: 1073741824, percent: 38.4 }, vmHours: { used: 640, limit: 744, percent: 86 },
    disk: { usedBytes: 9.1e9, limitBytes: 30e9, percent: 30.3 }, cpu: { averagePercent: 7.5, sustainedPercent: 25, burstSeconds: 420 },
    memory: { usedBytes: 310e6, totalBytes: 1e9, percent: 31 }, ai: [{ provider: 'google-ai', requestsToday: 180, dailyLimit: 250, remaining: 70, tokensToday: 51000 }],
    month: { start: '2026-11-01T00:00:00Z', end: '2026-12-01T00:00:00Z' },
  })));
  // Keeps the page's WebSocket reachable, to hand it an `alert` message as the server would send it.
  await p.addInitScript(() => {
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.lastSocket = this;
      }
    };
  });
  await p.goto(`${base}/?token=${TOKEN}#/alerts`);
  const list = p.locator('[data-testid="alert-list"]');
  await list.locator('[data-testid="alert-item"][data-id="a1"]').waitFor();
  await list.locator('[data-id="a1"] button[data-action="ack"]').click();
  await until(async () => /acknowledged by admin/.test(await list.locator('[data-id="a1"]').textContent()), 'the acknowledgement');
  await until(() => p.evaluate(() => window.lastSocket?.readyState === 1), 'the WebSocket');
  await p.evaluate((a) => {
    window.lastSocket.dispatchEvent(new MessageEvent('message', { data: JSON.stringify({ type: 'alert', data: { level: 'critical', title: 'CPU high on web-02', message: 'cpu 97% > 90%', alert: a }, timestamp: new Date().toISOString() }) }));
  }, alert('a9', 'firing', 'critical', 'web-02', 97));
  await list.locator('[data-testid="alert-item"][data-id="a9"]').waitFor();
  assert.equal(await list.locator('[data-testid="alert-item"]').first().getAttribute('data-id'), 'a9', 'a new alert goes on top');
  await p.locator('[data-testid="alert-toast"]', { hasText: 'CPU high on web-02' }).waitFor();
  await p.locator('text=ops slack').waitFor();
  await p.locator('text=deploy (admin)').waitFor();
  await p.click('a[href="#/system"]');
  const budget = p.locator('[data-testid="budget-panel"]');
  await until(async () => (await budget.locator('.gauge').count()) === 6, 'six budget gauges');
  assert.match(await budget.textContent(), /Egress this month.*393 MiB of 1 GiB.*projected 849 MiB/s);
  assert.deepEqual(errors, []);
  await context.close();
});

test('checks: creates a check against a loopback target, sees it go up, runs it now, charts it, deletes it', async () => {
  // The target: a small HTTP server on loopback that counts the probes it answers.
  let hits = 0;
  const target = createServer((req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise((ok) => target.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${target.address().port}/`;
  try {
    await page.evaluate(() => {
      location.hash = '#/checks';
    });
    await page.locator('#view-checks').waitFor({ state: 'visible' });
    await page.click('[data-testid="check-new"]');
    const form = page.locator('[data-testid="check-form"]');
    await form.locator('input[name="name"]').fill('browser-check');
    await form.locator('select[name="kind"]').selectOption('http');
    await form.locator('input[name="target"]').fill(url);
    await form.locator('input[name="intervalSeconds"]').fill('10');
    // The untouched timeout follows the interval (80% of 10 s), so the shortest interval is accepted.
    assert.equal(await form.locator('input[name="timeoutMs"]').inputValue(), '8000');
    await form.locator('input[name="timeoutMs"]').fill('2000');
    await form.locator('[data-testid="check-save"]').click();
    await form.waitFor({ state: 'detached' });
    const row = page.locator('[data-testid="check-row"]', { hasText: 'browser-check' });
    await row.waitFor();
    // Up within a poll or two of the list (every 10 s).
    await until(async () => (await row.locator('[data-testid="check-status"]').getAttribute('data-status')) === 'online', 'the check to go up', 45000);
    assert.match(await row.textContent(), /\d+ ms/, 'a latency is shown');
    const before = hits;
    await row.locator('[data-testid="check-run"]').click();
    await page.locator('[data-testid="toast"]', { hasText: 'Ran browser-check' }).waitFor();
    assert.ok(hits > before, 'run now probed the target');
    // Edit: the form comes back filled in; a changed interval is saved with the rest kept.
    await row.locator('button[data-action="edit"]').click();
    await form.locator('input[name="target"]').waitFor();
    assert.equal(await form.locator('input[name="target"]').inputValue(), url);
    await form.locator('input[name="intervalSeconds"]').fill('20');
    await form.locator('[data-testid="check-save"]').click();
    await form.waitFor({ state: 'detached' });
    const edited = (await api(`/api/checks/${encodeURIComponent(await row.getAttribute('data-id'))}`)).body.data;
    assert.equal(edited.intervalSeconds, 20);
    assert.equal(edited.target, url);
    // The latency chart from the check's history.
    await row.locator('button[data-action="chart"]').click();
    const chartEl = page.locator('[data-testid="check-chart"]');
    await until(async () => Number(await chartEl.getAttribute('data-points')) >= 1, 'latency points in the chart', 30000);
    // The status page lists it once enabled and ticked, and shows it without a token.
    const sp = page.locator('[data-testid="status-page-form"]');
    await sp.waitFor();
    const id = await row.getAttribute('data-id');
    // The settings were drawn before the check existed; reopening the view redraws them.
    await page.evaluate(() => {
      location.hash = '#/alerts';
    });
    await page.evaluate(() => {
      location.hash = '#/checks';
    });
    await sp.locator(`input[name="checks"][value="${id}"]`).check();
    await sp.locator('input[name="enabled"]').check();
    await sp.locator('button[type="submit"]').click();
    await page.locator('[data-testid="toast"]', { hasText: 'Status page saved' }).waitFor();
    assert.equal(await page.getAttribute('[data-testid="status-preview"]', 'href'), 'status');
    const status = await fetch(`${base}/status`);
    assert.equal(status.status, 200);
    assert.match(await status.text(), /browser-check/);
    // The target goes away: run now finds the listed check down, an incident opens, and an operator
    // note added in the dashboard shows on the public page.
    target.close();
    await row.locator('[data-testid="check-run"]').click();
    await until(async () => (await row.locator('[data-testid="check-status"]').getAttribute('data-status')) !== 'online', 'the check to go down', 30000);
    const incident = page.locator('[data-testid="incident"]', { hasText: 'browser-check' }).first();
    await until(async () => {
      // The incidents are read when the view opens.
      await page.evaluate(() => {
        location.hash = '#/alerts';
      });
      await page.evaluate(() => {
        location.hash = '#/checks';
      });
      // Once the panel is drawn from this opening: typing into the previous drawing would go nowhere
      // when it is replaced between the field's focus and the keystrokes.
      await page.locator('[data-testid="status-page-panel"]:not([aria-busy])').waitFor();
      return (await incident.count()) > 0;
      // At a person's pace: each reopening loads several lists, and ten a second would spend the
      // per-client rate limit that the note's POST below needs.
    }, 'an incident for the check', 30000, 1000);
    // That incident by its id from here on: a newer one about the same check (from an alert on it) can
    // appear above it at the next redraw, and `.first()` would then name another form.
    const incidentId = await incident.getAttribute('data-id');
    const noted = page.locator(`[data-testid="incident"][data-id="${incidentId}"]`);
    await noted.locator('input[name="note"]').fill('browser note: looking into it');
    await noted.locator('button[type="submit"]').click();
    // The note's answer: "Note added." or the failure the dashboard shows (named in the message).
    const toasts = page.locator('[data-testid="toast"]');
    await until(async () => (await toasts.allTextContents()).some((t) => /Note added\.|failed/i.test(t)), 'the note to be answered', 30000, 200)
      .catch(async (e) => {
        const field = await noted.locator('input[name="note"]').inputValue().catch(() => 'gone');
        throw new Error(`${e.message}; note field: ${JSON.stringify(field)}; refused requests: ${refused.join(', ') || 'none'}`);
      });
    const said = await toasts.allTextContents();
    assert.ok(said.some((t) => t.includes('Note added.')), `toasts: ${JSON.stringify(said)}; refused requests: ${refused.join(', ') || 'none'}`);
    const kept = (await api('/api/status-page/incidents')).body.data.find((i) => i.id === incidentId);
    assert.equal(kept?.notes?.[0]?.text, 'browser note: looking into it');
    await until(async () => /browser note: looking into it/.test(await (await fetch(`${base}/status`)).text()), 'the note on /status', 15000);
    // A maintenance window: added through the form, listed, deleted.
    const mform = page.locator('[data-testid="maintenance-form"]');
    await mform.locator('input[name="title"]').fill('browser-window');
    await mform.locator('input[name="checks"]').fill(id);
    await mform.locator('button[type="submit"]').click();
    const mpanel = page.locator('[data-testid="maintenance-panel"]');
    const mrow = mpanel.locator('tr', { hasText: 'browser-window' });
    await mrow.waitFor();
    await mrow.locator('button').click();
    await mrow.waitFor({ state: 'detached' });
    // A weekly window: Monday and Tuesday at 02:00 UTC for 90 minutes.
    await mform.locator('input[name="title"]').fill('browser-weekly');
    await mform.locator('input[name="weekly"]').check();
    // A weekly window recurs until deleted: its end is left blank (it lapsed an hour later before).
    assert.equal(await mform.locator('input[name="end"]').inputValue(), '');
    await mform.locator('input[name="day"][value="mon"]').check();
    await mform.locator('input[name="day"][value="tue"]').check();
    await mform.locator('input[name="durationMinutes"]').fill('90');
    await mform.locator('button[type="submit"]').click();
    const wrow = mpanel.locator('tr', { hasText: 'browser-weekly' });
    await wrow.waitFor();
    const windows = (await api('/api/maintenance')).body.data;
    const wk = windows.find((w) => w.title === 'browser-weekly');
    assert.deepEqual(wk?.weekly, { days: ['mon', 'tue'], start: '02:00', durationMinutes: 90 });
    assert.equal(wk.end, undefined, 'no end was set');
    await wrow.locator('button').click();
    await wrow.waitFor({ state: 'detached' });
    // A rule on this check's latency, made in the rule editor: the check picker appears only for
    // check metrics and lists the check by name.
    await page.evaluate(() => {
      location.hash = '#/alerts';
    });
    await page.locator('button', { hasText: 'New rule' }).click();
    const rform = page.locator('form', { has: page.locator('select[name="metric"]') });
    await rform.locator('input[name="name"]').fill('browser-check-slow');
    assert.equal(await rform.locator('select[name="checkId"]').isVisible(), false, 'no check picker for cpu');
    await rform.locator('select[name="metric"]').selectOption('check.latency');
    await rform.locator('select[name="checkId"]').selectOption({ label: 'browser-check' });
    await rform.locator('input[name="threshold"]').fill('5000');
    await rform.locator('button[type="submit"]').click();
    await rform.waitFor({ state: 'detached' });
    const made = (await api('/api/alerts/rules')).body.data.find((r) => r.name === 'browser-check-slow');
    assert.equal(made?.metric, 'check.latency');
    assert.equal(made?.checkId, id);
    assert.equal((await api(`/api/alerts/rules/${encodeURIComponent(made.id)}`, { method: 'DELETE' })).status < 300, true);
    await page.evaluate(() => {
      location.hash = '#/checks';
    });
    // Delete the check (the page asks first).
    page.once('dialog', (d) => d.accept());
    await row.locator('[data-testid="check-delete"]').click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await api(`/api/checks/${encodeURIComponent(id)}`)).status, 404);
  } finally {
    target.close();
  }
});

test('Chromium keeps a polled answer as a compression dictionary and gets the next poll as dcb', async () => {
  // Its own context: the main page's CDP override of Accept-Encoding (gzip only) would hide dcb.
  const context = await browser.newContext();
  try {
    const p = await context.newPage();
    const c = await context.newCDPSession(p);
    await c.send('Network.enable');
    // Headers as they went on the wire (the network stack adds Available-Dictionary and dcb).
    const sent = new Map();
    const urls = new Map();
    const got = [];
    const wire = new Map();
    c.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    // Bytes on the wire per answer (head and body; over HTTPS, HTTP/2 with its header compression).
    c.on('Network.loadingFinished', (e) => wire.set(e.requestId, e.encodedDataLength));
    c.on('Network.requestWillBeSentExtraInfo', (e) => sent.set(e.requestId, e.headers));
    c.on('Network.responseReceivedExtraInfo', (e) => {
      const h = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v]));
      got.push({ id: e.requestId, status: e.statusCode, encoding: h['content-encoding'] ?? '', offer: h['use-as-dictionary'] ?? '' });
    });
    const polled = () => got.filter((r) => urls.get(r.id)?.endsWith('/api/servers'));
    let polls = 0;
    await p.goto(`${base}/api/health`);
    // The web app's poll: fetch with the token, body read as JSON.
    const poll = () =>
      ++polls &&
      p.evaluate(async (token) => {
        const r = await fetch('/api/servers', { headers: { Authorization: `Bearer ${token}` } });
        const j = await r.json();
        return j.success === true && Array.isArray(j.data.servers ?? j.data) && r.headers.get('x-request-id');
      }, TOKEN);
    // Each poll's answer is a new one from the hub (its own request id), never a stale copy the
    // browser kept: `stale-while-revalidate` (needed to keep the answer as a dictionary) must not
    // make fetch() serve the previous answer.
    const ids = new Set();
    const fresh = async () => {
      const id = await poll();
      assert.ok(id && !ids.has(id), `poll ${polls} got a new answer (request id ${id})`);
      ids.add(id);
      return true;
    };
    assert.equal(await fresh(), true);
    const dcb = await until(async () => {
      assert.equal(await fresh(), true, 'every answer decodes to the JSON envelope');
      return polled().find((r) => r.encoding === 'dcb');
    }, 'a poll answered as dcb', 20000);
    const req = Object.fromEntries(Object.entries(sent.get(dcb.id) ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    assert.match(req['available-dictionary'] ?? '', /^:[A-Za-z0-9+/]{43}=:$/, JSON.stringify(req));
    assert.match(req['accept-encoding'] ?? '', /\bdcb\b/);
    assert.equal(dcb.status, 200);
    // A few more polls: each a new answer, each as dcb against the one before.
    for (let i = 0; i < 3; i++) assert.equal(await fresh(), true);
    await until(async () => polled().length === polls, 'a network answer for every poll', 5000);
    assert.ok(polled().slice(-3).every((r) => r.encoding === 'dcb'), JSON.stringify(polled()));
    const answers = polled();
    assert.equal(answers[0].offer, 'match="/api/servers"', `the first answer offers itself: ${JSON.stringify(answers[0])}`);
    console.log(`dictionary transport over ${polls} polls (${TLS ? 'HTTPS' : 'HTTP'}): ${answers.map((r) => `${r.status} ${r.encoding || 'identity'} ${wire.get(r.id) ?? '?'} B`).join(', ')}`);
  } finally {
    await context.close();
  }
});

test('made no request to another host and logged no console error', () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors, []);
});
