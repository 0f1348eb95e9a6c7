// The pages in a real browser (issue 19): Debian's chromium, headless, driven by playwright-core
// (from api/web's node_modules), against the real server binary on a fresh PostgreSQL database.
//
//   node tests/browser/pages.test.mjs --server BIN --ctl MERCATOCTL --pages DIR --artifacts DIR
//
// Needs MERCATO_TEST_DATABASE_URL (tools/dev test sets it). Screenshots of both pages at phone
// and desktop widths go to the artefacts directory; the tracking page's first render and bytes
// are printed (docs/BENCHMARKS.md, "Pages"). Every wait is on a condition with a deadline.

import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const require = createRequire(join(repo, 'api/web/package.json'));

// ---------------------------------------------------------------------------------------------
// Arguments and environment

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const serverBin = args.server || process.env.MERCATO_BIN || join(repo, 'build/bin/mercato');
const ctlBin = args.ctl || process.env.MERCATO_CTL_BIN || join(repo, 'build/bin/mercatoctl');
const pagesDir = args.pages || join(repo, 'build/web');
const artifacts = args.artifacts || join(repo, 'build/browser-artifacts');
const chromium = process.env.MERCATO_CHROMIUM || '/usr/bin/chromium';
const baseDsn = process.env.MERCATO_TEST_DATABASE_URL;
const secret = `browser-test-secret-${randomBytes(16).toString('hex')}`;

// ---------------------------------------------------------------------------------------------
// A tiny test runner: each check names what it proves; the first failure ends the run (exit 1).

let failures = 0;
const results = [];
async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - started} ms)`);
    console.log(`[ RUN OK ] ${name}`);
  } catch (err) {
    failures += 1;
    results.push(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    console.log(`[ FAILED ] ${name}\n${err && err.stack ? err.stack : err}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}
function expectEqual(actual, wanted, what) {
  if (JSON.stringify(actual) !== JSON.stringify(wanted))
    throw new Error(`${what}: got ${JSON.stringify(actual)}, wanted ${JSON.stringify(wanted)}`);
}
async function until(what, deadlineMs, probe) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a fresh database per run, dropped at the end.

const psql = existsSync('/usr/lib/postgresql/15/bin/psql') ? '/usr/lib/postgresql/15/bin/psql' : 'psql';
const dbName = `mercato_browser_${process.pid}_${Date.now()}`;
// The test database's DSN with another database: a URI gets a new path, a key=value string a
// later dbname (libpq takes the last value of a key).
function withDatabase(dsn, name) {
  if (/^postgres(ql)?:\/\//.test(dsn)) {
    const u = new URL(dsn);
    u.pathname = `/${name}`;
    return u.toString();
  }
  return `${dsn} dbname=${name}`;
}
async function sql(statement) {
  await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', baseDsn, '-c', statement]);
}

// ---------------------------------------------------------------------------------------------
// The server: 127.0.0.1 on a free port (or the port it had, for a restart), stopped by the test.

let server = null;
const workDir = mkdtempSync(join(tmpdir(), 'mercato-browser-'));
async function startServer(port = 0, extra = []) {
  const portFile = join(workDir, `port-${Date.now()}`);
  const log = join(workDir, 'server.log');
  const child = spawn(
    serverBin,
    [
      '--database-url', withDatabase(baseDsn, dbName),
      '--http-addr', `127.0.0.1:${port}`,
      '--port-file', portFile,
      '--pages-dir', pagesDir,
      '--log-format', 'text', '--log-level', 'warn',
      '--rate-read-rps', '0', '--rate-write-rps', '0',
      ...extra,
    ],
    { env: { ...process.env, MERCATO_JWT_SECRET: secret }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const bound = await until('the port file', 60000, () => {
    if (exited) throw new Error(`the server exited early: ${JSON.stringify(exited)}`);
    try {
      const text = readFileSync(portFile, 'utf8').trim();
      return text ? Number(text) : null;
    } catch {
      return null;
    }
  });
  const url = `http://127.0.0.1:${bound}`;
  await until('GET /readyz', 30000, async () => {
    if (exited) throw new Error(`the server exited: ${JSON.stringify(exited)}`);
    try {
      return (await fetch(`${url}/readyz`)).ok;
    } catch {
      return false;
    }
  });
  server = { child, url, port: bound, exited: () => exited, log };
  return server;
}
async function stopServer() {
  if (!server) return;
  const s = server;
  server = null;
  if (s.exited()) throw new Error(`the server had died: ${JSON.stringify(s.exited())}`);
  s.child.kill('SIGTERM');
  try {
    await until('the server to stop', 15000, () => s.exited());
  } catch (err) {
    s.child.kill('SIGKILL');
    throw err;
  }
  expectEqual(s.exited().code, 0, 'the server exit status after SIGTERM');
}

// ---------------------------------------------------------------------------------------------
// Tokens: mercatoctl mints the good ones, as an operator would; the bad ones are made here.

// With `order`: a tracking token, which reads only that order of its customer.
async function token(sub, role, ttl = 900, order = '') {
  const scope = order ? ['--order', order] : [];
  const { stdout } = await run(ctlBin, ['token', '--sub', sub, '--role', role, '--ttl', String(ttl), ...scope], {
    env: { ...process.env, MERCATO_JWT_SECRET: secret },
  });
  return stdout.trim();
}
function signed(claims, key) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

async function call(method, path, tok, body, headers = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function must(method, path, tok, body, headers) {
  const r = await call(method, path, tok, body, headers);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const day = (d) => d.toISOString().slice(0, 10);
const daysAgo = (n) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - n, 12));
};

// TikTok Shop orders (order API 202309) of the last days, in USD: completed, cancelled, pending.
function tiktokOrders() {
  const out = [];
  const kinds = ['COMPLETED', 'COMPLETED', 'CANCELLED', 'AWAITING_SHIPMENT'];
  for (let d = 0; d < 7; d += 1) {
    for (let k = 0; k <= d % 3; k += 1) {
      const created = Math.floor(daysAgo(d).getTime() / 1000) - 3600 * k;
      const price = 1000 + 250 * d + 100 * k; // cents
      const status = kinds[(d + k) % kinds.length];
      out.push({
        id: `58${d}${k}0000${d}${k}`,
        status,
        create_time: created,
        update_time: created + 60,
        user_id: `buyer-${d}-${k}`,
        recipient_address: { name: `Buyer ${d}${k}` },
        line_items: [{ id: `l${d}${k}`, sku_id: `sku-${k}`, product_name: 'Mug', sale_price: (price / 100).toFixed(2),
          original_price: (price / 100).toFixed(2), seller_discount: '0', platform_discount: '0', currency: 'USD' }],
        payment: { currency: 'USD', sub_total: (price / 100).toFixed(2), shipping_fee: '1.50', seller_discount: '0',
          platform_discount: '0', total_amount: ((price + 150) / 100).toFixed(2), original_total_product_price: (price / 100).toFixed(2) },
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const { chromium: pwChromium } = require('playwright-core');

async function main() {
  expect(baseDsn, 'MERCATO_TEST_DATABASE_URL is set (tools/dev test sets it)');
  expect(existsSync(join(pagesDir, 'track.html')), `the built pages in ${pagesDir} (tools/dev build builds them)`);
  expect(existsSync(chromium), `chromium at ${chromium} (tools/dev test installs Debian's chromium)`);
  mkdirSync(artifacts, { recursive: true });
  await sql(`create database "${dbName}"`);
  let browser = null;
  try {
    await startServer();
    browser = await pwChromium.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    await scenarios(browser);
  } finally {
    if (browser) await browser.close().catch(() => {});
    try {
      await stopServer();
    } catch (err) {
      failures += 1;
      console.log(`[ FAILED ] stopping the server: ${err}`);
    }
    await sql(`drop database if exists "${dbName}" with (force)`).catch((e) => console.log(`drop: ${e}`));
    rmSync(workDir, { recursive: true, force: true });
  }
}

// Watches a page for what its policy forbids or its code throws: console errors (a blocked
// script, style or connection is one in Chromium), uncaught exceptions, and requests to any
// other origin.
function watchPage(page) {
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== server.url && u.origin !== server.url.replace('http:', 'ws:'))
      problems.push(`request to ${u.origin}`);
  });
  return problems;
}

// Every visible piece of text on the page whose contrast with its background is below WCAG AA
// (4.5:1, or 3:1 for large text): [] when all pass. The background is the nearest opaque one
// among the element and its ancestors.
function lowContrast(page) {
  return page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      const style = getComputedStyle(el);
      if (!own || style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
      if (el.closest('.visually-hidden, .skip')) continue;
      const fg = lum(rgb(style.color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return out;
  });
}

const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 900 };

async function scenarios(browser) {
  const admin = await token('browser-admin', 'admin');
  const partner = await token('browser-partner', 'service');
  const ada = await token('ada', 'customer', 600);
  const bob = await token('bob', 'customer', 600);

  // Ada's order, placed through a cart and a checkout as a shop would.
  await must('PUT', '/v1/products/mug-blue', admin, { name: 'Blue mug', price_minor: 1250, currency: 'USD' });
  await must('PUT', '/v1/stock/mug-blue', admin, { on_hand: 100 });
  const cart = await must('POST', '/v1/carts', ada, { currency: 'USD' });
  await must('PUT', `/v1/carts/${cart.cart_id}/lines/mug-blue`, ada, { quantity: 2 });
  const checkout = await must('POST', '/v1/checkouts', ada, {
    cart_id: cart.cart_id,
    payment: { method: 'card', token: 'tok_ok' },
    shipping_address: { name: 'Ada', line1: '1 Row', city: 'London', postal_code: 'N1', country: 'GB' },
  }, { 'Idempotency-Key': `browser-${cart.cart_id}` });
  const order = checkout.order_id;
  expect(order, 'the checkout placed an order');
  // The link's token, as an email would carry it: Ada's, for this order only.
  const link = await token('ada', 'customer', 600, order);
  const fact = (type, extra = {}) =>
    must('POST', `/v1/orders/${order}/events`, partner, {
      source: type.startsWith('production') ? 'manufacturing' : 'logistics',
      type,
      external_id: `browser:${type}`,
      occurred_at: new Date().toISOString(),
      ...extra,
    });
  await fact('production_started');
  const eta = new Date(Date.now() + 3 * 86400000).toISOString();
  await fact('eta_updated', { data: { eta } });

  await test('the tracking page renders the order at phone width, and its figures are measured', async () => {
    const context = await browser.newContext({ viewport: phone, locale: 'en-GB' });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${server.url}/track/${order}#t=${link}`);
    await page.waitForSelector('#status[data-status="in_production"]', { timeout: 5000 });
    // The page marks when the order's status is first on the screen (from navigation start).
    const firstRenderMs = await page.evaluate(() => performance.getEntriesByName('mercato:first-render')[0].startTime);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
    await page.waitForSelector('[data-key="manufacturing:browser:production_started"]', { timeout: 5000 });
    const perf = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const bytes = (e) => e.transferSize || 0;
      return {
        fcp: fcp ? fcp.startTime : null,
        html: bytes(nav),
        resources: res.map((e) => ({ name: new URL(e.name).pathname, bytes: bytes(e), body: e.encodedBodySize })),
        total: bytes(nav) + res.reduce((n, e) => n + bytes(e), 0),
        statics: bytes(nav) + res.filter((e) => new URL(e.name).pathname.startsWith('/assets/')).reduce((n, e) => n + bytes(e), 0),
      };
    });
    console.log(`[ FIGURES ] tracking page, cold load: first render ${firstRenderMs.toFixed(0)} ms ` +
      `(first contentful paint ${perf.fcp === null ? '-' : perf.fcp.toFixed(0)} ms); ` +
      `transferred ${perf.total} bytes in all, ${perf.statics} bytes of HTML, scripts and styles ` +
      `(${perf.resources.length} resources: ${perf.resources.map((r) => `${r.name} ${r.bytes}`).join(', ')})`);
    expect(firstRenderMs < 1000, `first render under 1 s (got ${firstRenderMs.toFixed(0)} ms)`);
    expect(!page.url().includes('#t='), 'the token is taken out of the address bar');
    expectEqual(Date.parse(await page.getAttribute('#eta', 'data-eta')), Date.parse(eta), 'the ETA shown');
    expect(await page.locator('main').count() === 1 && await page.locator('header[role=banner]').count() === 1 &&
      await page.locator('footer[role=contentinfo]').count() === 1, 'the landmarks');
    expectEqual(await page.getAttribute('[role=progressbar]', 'aria-valuenow'), '2', 'progress at in production');
    await page.screenshot({ path: join(artifacts, 'track-phone.png'), fullPage: true });
    expectEqual(problems, [], 'no error, blocked resource or other origin');
    expectEqual(await lowContrast(page), [], 'text below AA contrast');
    await context.close();
  });

  await test('the tracking page shows a newly ingested partner event within 1 s, live', async () => {
    const context = await browser.newContext({ viewport: desktop, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}#t=${link}`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
    await page.waitForSelector('#status[data-status="in_production"]', { timeout: 5000 });
    const before = await page.locator('#timeline li').count();
    await fact('production_completed');
    const accepted = Date.now();
    await page.waitForSelector('[data-key="manufacturing:browser:production_completed"]', { timeout: 1000 });
    const shownMs = Date.now() - accepted;
    console.log(`[ FIGURES ] partner event shown ${shownMs} ms after its 202`);
    await page.waitForSelector('#status[data-status="produced"]', { timeout: 1000 });
    expectEqual(await page.locator('#timeline li').count(), before + 1, 'one more timeline entry');
    await page.screenshot({ path: join(artifacts, 'track-desktop.png'), fullPage: true });
    await context.close();
  });

  await test('the tracking page is in Vietnamese when asked', async () => {
    const context = await browser.newContext({ viewport: phone, locale: 'vi-VN' });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}?lang=vi#t=${link}`);
    await page.waitForSelector('#status[data-status="produced"]', { timeout: 5000 });
    expectEqual(await page.textContent('#status'), 'Đã sản xuất', 'the status in Vietnamese');
    expectEqual(await page.getAttribute('html', 'lang'), 'vi', 'the document language');
    await context.close();
  });

  await test('the tracking page works from the keyboard', async () => {
    const context = await browser.newContext({ viewport: phone, locale: 'en-GB' });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}#t=${link}`);
    await page.waitForSelector('#status[data-status="produced"]', { timeout: 5000 });
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.lang ? `[${e.lang}]` : ''}`;
    });
    await page.keyboard.press('Tab');
    expectEqual(await focused(), 'a', 'the skip link comes first');
    await page.keyboard.press('Enter');
    expectEqual(await focused(), 'main#main', 'the skip link moves to the content');
    await page.evaluate(() => document.activeElement.blur());
    for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
    expectEqual(await focused(), 'button[vi]', 'the language switch after the skip link');
    await page.keyboard.press('Enter');
    await page.waitForSelector('html[lang="vi"]', { timeout: 2000 });
    expectEqual(await page.textContent('#status'), 'Đã sản xuất', 'the status in Vietnamese');
    await context.close();
  });

  const refused = async (tok, wanted) => {
    const context = await browser.newContext({ viewport: phone });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}#t=${tok}`);
    await page.waitForSelector(`#problem[data-problem="${wanted}"]`, { timeout: 5000 });
    expectEqual(await page.locator('#status').count(), 0, 'no status shown');
    expectEqual(await page.locator('#timeline li[data-type="production_started"]').count(), 0, 'no timeline shown');
    await context.close();
  };
  await test('the tracking page refuses a token signed with another key', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(signed({ sub: 'ada', role: 'customer', order, iat: now, exp: now + 600 }, 'not-the-secret-not-the-secret-xx'), 'badLink');
  });
  await test('the tracking page refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(signed({ sub: 'ada', role: 'customer', order, iat: now - 1200, exp: now - 600 }, secret), 'badLink');
  });
  await test('the tracking page closes when its token expires while it is open', async () => {
    const now = Math.floor(Date.now() / 1000);
    const context = await browser.newContext({ viewport: phone });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}#t=${signed({ sub: 'ada', role: 'customer', order, iat: now, exp: now + 3 }, secret)}`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
    await page.waitForSelector('#problem[data-problem="badLink"]', { timeout: 10000 });
    expectEqual(await page.locator('#status').count(), 0, 'no status shown once expired');
    await context.close();
  });
  await test('the tracking page shows no order of another customer', async () => {
    await refused(bob, 'notFound');
  });
  await test('the tracking page shows nothing with the tracking link of another order', async () => {
    await refused(await token('ada', 'customer', 600, `${order}-other`), 'notFound');
  });

  await test('the tracking page reconnects after a server restart and shows the missed events once', async () => {
    const context = await browser.newContext({ viewport: phone });
    const page = await context.newPage();
    const sent = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    await page.goto(`${server.url}/track/${order}#t=${link}`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
    const port = server.port;
    await stopServer();
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 5000 });
    await startServer(port);
    await fact('handed_to_carrier');
    await fact('out_for_delivery');
    await page.waitForSelector('[data-key="logistics:browser:out_for_delivery"]', { timeout: 15000 });
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 5000 });
    await page.waitForSelector('#status[data-status="out_for_delivery"]', { timeout: 5000 });
    for (const key of ['logistics:browser:handed_to_carrier', 'logistics:browser:out_for_delivery'])
      expectEqual(await page.locator(`[data-key="${key}"]`).count(), 1, `${key} shown once`);
    const keys = await page.locator('#timeline li').evaluateAll((els) => els.map((e) => e.dataset.key));
    expectEqual(keys.length, new Set(keys).size, 'no entry twice');
    expect(sent.some((s) => s.includes('"last_seq"')), 'it resubscribed with last_seq');
    await context.close();
  });

  await test('the tracking page warns when the order is late', async () => {
    // The same server again, now expecting a delivery within a second of going out for it.
    await stopServer();
    await startServer(0, ['--order-expected-out-for-delivery-ms', '1000']);
    const context = await browser.newContext({ viewport: phone });
    const page = await context.newPage();
    await page.goto(`${server.url}/track/${order}#t=${link}`);
    await page.waitForSelector('#status[data-status="out_for_delivery"]', { timeout: 5000 });
    await page.waitForSelector('#delay[role=alert]', { timeout: 10000 });
    await page.waitForSelector('#timeline li[data-type="delay_warning"]', { timeout: 5000 });
    expectEqual(await page.textContent('#delay'), 'Your order is running late.', 'the warning');
    expectEqual(await lowContrast(page), [], 'text below AA contrast, with the warning');
    await page.screenshot({ path: join(artifacts, 'track-delayed-phone.png'), fullPage: true });
    await context.close();
  });

  // The dashboard: a week of marketplace orders beside Ada's web order.
  const imported = await must('POST', '/v1/marketplaces/tiktok/orders', partner, tiktokOrders());
  expect(imported.imported > 0 && imported.rejected.length === 0, `the seeded orders imported (${JSON.stringify(imported)})`);

  await test('the dashboard shows the numbers of GET /v1/stats/daily', async () => {
    const context = await browser.newContext({ viewport: desktop });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${server.url}/admin#t=${admin}`);
    await page.waitForSelector('#revenue-7d tbody tr', { timeout: 10000 });
    await page.waitForSelector('#members tbody tr', { timeout: 10000 });
    const from = day(daysAgo(6));
    const to = day(daysAgo(0));
    const rows = (await must('GET', `/v1/stats/daily?from=${from}&to=${to}`, admin)).filter((r) => r.currency === 'USD');
    expect(rows.some((r) => r.platform === 'tiktok') && rows.some((r) => r.platform === 'web'), 'both platforms in the statistics');
    const table = (id) => page.locator(`#${id} tbody tr`).evaluateAll((trs) => trs.map((tr) => ({
      key: tr.dataset.key,
      orders: Number(tr.querySelector('[data-field=orders]').textContent),
      revenue: Number(tr.querySelector('[data-field=revenue]').dataset.minor),
    })));
    const sums = (keyOf) => {
      const m = new Map();
      for (const r of rows) {
        const s = m.get(keyOf(r)) || { orders: 0, revenue: 0 };
        s.orders += r.total_orders;
        s.revenue += r.total_revenue_minor;
        m.set(keyOf(r), s);
      }
      return m;
    };
    const byDay = sums((r) => r.stat_date);
    const shownDays = await table('revenue-7d');
    expectEqual(shownDays.map((r) => r.key), [6, 5, 4, 3, 2, 1, 0].map((n) => day(daysAgo(n))), 'the seven days');
    for (const r of shownDays) {
      const want = byDay.get(r.key) || { orders: 0, revenue: 0 };
      expectEqual({ orders: r.orders, revenue: r.revenue }, want, `the figures of ${r.key}`);
    }
    expect(shownDays.some((r) => r.revenue > 0), 'some revenue shown');
    const byPlatform = sums((r) => r.platform);
    const shownPlatforms = await table('platforms');
    expectEqual(shownPlatforms.map((r) => r.key).sort(), [...byPlatform.keys()].sort(), 'the platforms');
    for (const r of shownPlatforms)
      expectEqual({ orders: r.orders, revenue: r.revenue }, byPlatform.get(r.key), `the figures of ${r.key}`);
    const monthFrom = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 11, 1));
    const year = (await must('GET', `/v1/stats/daily?from=${day(monthFrom)}&to=${to}`, admin)).filter((r) => r.currency === 'USD');
    const byMonth = new Map();
    for (const r of year) {
      const s = byMonth.get(r.stat_date.slice(0, 7)) || { orders: 0, revenue: 0 };
      s.orders += r.total_orders;
      s.revenue += r.total_revenue_minor;
      byMonth.set(r.stat_date.slice(0, 7), s);
    }
    const shownMonths = await table('monthly');
    expectEqual(shownMonths.length, 12, 'twelve months');
    for (const r of shownMonths)
      expectEqual({ orders: r.orders, revenue: r.revenue }, byMonth.get(r.key) || { orders: 0, revenue: 0 }, `the figures of ${r.key}`);
    expectEqual(await page.locator('#stats canvas').count() >= 3, true, 'three charts drawn');
    const cluster = await must('GET', '/v1/admin/cluster', admin);
    expectEqual(await page.locator('#members tbody tr').count(), cluster.members.length, 'one row per member');
    await page.screenshot({ path: join(artifacts, 'admin-desktop.png'), fullPage: true });
    expectEqual(problems, [], 'no error, blocked resource or other origin');
    expectEqual(await lowContrast(page), [], 'text below AA contrast');
    await context.close();
    const small = await browser.newContext({ viewport: phone });
    const phonePage = await small.newPage();
    await phonePage.goto(`${server.url}/admin#t=${admin}`);
    await phonePage.waitForSelector('#monthly tbody tr', { timeout: 10000 });
    await phonePage.waitForSelector('#members tbody tr', { timeout: 10000 });
    const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 0, `the dashboard fits a phone's width (${overflow} px too wide)`);
    await phonePage.screenshot({ path: join(artifacts, 'admin-phone.png'), fullPage: true });
    await small.close();
  });

  await test('the dashboard follows the cluster live over admin:cluster', async () => {
    const context = await browser.newContext({ viewport: desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin#t=${admin}`);
    await page.waitForSelector('#cluster[data-conn=live] #members tbody tr', { timeout: 10000 });
    // Coupons: a kind no earlier step made live, so no passivation can change its count meanwhile.
    const liveCoupons = () => page.evaluate(() => {
      const cell = document.querySelector('#entities tr[data-kind=coupon] td');
      return cell ? Number(cell.textContent) : 0;
    });
    const before = await liveCoupons();
    // A new coupon is a new live entity; the cluster section is never polled, so only the topic
    // can bring it (within the feed's 1 s look plus delivery).
    await must('PUT', '/v1/coupons/LIVE-DASH', admin, { kind: 'percent', value: 10 });
    await page.waitForFunction((n) => {
      const cell = document.querySelector('#entities tr[data-kind=coupon] td');
      return cell && Number(cell.textContent) > n;
    }, before, { timeout: 5000 });
    expectEqual(await liveCoupons(), before + 1, 'one more live coupon');
    await context.close();
  });

  await test('the dashboard sends a dead notification again', async () => {
    // Email that cannot leave (nothing listens on port 1), one attempt, no other channel allowed.
    await stopServer();
    await startServer(0, ['--smtp-url', 'smtp://127.0.0.1:1', '--smtp-from', 'shop@example.com',
      '--notification-max-attempts', '1']);
    await must('PUT', '/v1/customers/bob/preferences', bob,
      { channels: { email: true, in_app: false, sms: false, push: false }, email: 'bob@example.com' });
    const bobCart = await must('POST', '/v1/carts', bob, { currency: 'USD' });
    await must('PUT', `/v1/carts/${bobCart.cart_id}/lines/mug-blue`, bob, { quantity: 1 });
    const bobOrder = (await must('POST', '/v1/checkouts', bob, {
      cart_id: bobCart.cart_id,
      payment: { method: 'card', token: 'tok_ok' },
      shipping_address: { name: 'Bob', line1: '2 Row', city: 'London', postal_code: 'N1', country: 'GB' },
    }, { 'Idempotency-Key': `browser-${bobCart.cart_id}` })).order_id;
    const lettersOf = async () =>
      (await must('GET', '/v1/admin/dead-letters?kind=notification&limit=100', admin)).items.filter((d) => d.aggregate_id === bobOrder);
    const letter = await until('a dead notification of the order', 30000, async () => (await lettersOf())[0]);
    const id = letter.payload.notification_id;
    const context = await browser.newContext({ viewport: desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin#t=${admin}`);
    const button = page.locator(`#dead-letters tr[data-id="${letter.id}"] button`);
    await button.waitFor({ timeout: 10000 });
    await button.click();
    await page.waitForSelector(`#dead-note:has-text("Dead letter ${letter.id} was sent again.")`, { timeout: 5000 });
    // The delivery is queued again, so this letter is resolved; sent again, it fails again: a
    // second letter for the same delivery, open.
    await page.waitForSelector(`#dead-letters tr[data-id="${letter.id}"][data-state=resolved]`, { timeout: 5000 });
    await until('the retried delivery to fail again', 30000, async () => (await lettersOf()).length >= 2);
    const letters = await lettersOf();
    expectEqual(letters.filter((d) => d.resolved_at === null).length, 1, 'one open letter after the retry');
    expect(letters.every((d) => d.payload.notification_id === id), 'both letters name the delivery');
    await context.close();
  });

  await test('the dashboard refuses a customer token', async () => {
    const context = await browser.newContext({ viewport: desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin#t=${ada}`);
    await page.waitForSelector('#problem', { timeout: 5000 });
    expectEqual(await page.locator('#revenue-7d').count(), 0, 'no statistics shown');
    await context.close();
  });

  await test('the server sends the pages with their policy and caching', async () => {
    const html = await fetch(`${server.url}/track/${order}`);
    expectEqual(html.status, 200, 'status');
    expectEqual(html.headers.get('cache-control'), 'no-cache', 'HTML cache-control');
    expect((html.headers.get('content-security-policy') || '').includes("script-src 'self'"), 'a CSP');
    const src = (await html.text()).match(/src="(\/assets\/[^"]+\.js)"/)[1];
    const js = await fetch(`${server.url}${src}`);
    expectEqual(js.headers.get('cache-control'), 'public, max-age=31536000, immutable', 'asset cache-control');
    expectEqual(js.headers.get('content-type'), 'text/javascript; charset=utf-8', 'asset type');
    const missing = await fetch(`${server.url}/assets/..%2F..%2Fetc%2Fpasswd`);
    expectEqual([missing.status, missing.headers.get('content-type')], [404, 'application/problem+json'], 'a traversal');
  });
}

main()
  .catch((err) => {
    failures += 1;
    console.log(`[ FAILED ] set-up: ${err && err.stack ? err.stack : err}`);
  })
  .finally(() => {
    console.log(results.join('\n'));
    console.log(`screenshots: ${artifacts}`);
    process.exit(failures === 0 ? 0 : 1);
  });
