// The demo page in a real browser: Debian's chromium, driven by playwright-core, against
// `hub-server --dev-auth` (HUB_SERVER=/path/to/hub-server). Two browser contexts are two
// people, Alice on a desktop-sized window and Bob at phone width. Screenshots of every
// step go to HUB_BROWSER_ARTIFACTS (default build/browser-artifacts).
//
// The restart step shows what a person would otherwise lose: the server stops, both
// pages say "reconnecting", the server comes back, and a third person (Carol, over the
// HTTP API) posts while both pages are still held off the network; when they reconnect,
// connection state recovery delivers Carol's message to each page exactly once.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HUB_SERVER = process.env.HUB_SERVER;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.HUB_BROWSER_ARTIFACTS ||
  path.resolve(__dirname, '..', '..', 'build', 'browser-artifacts');
const HOST = '127.0.0.1';
const STEP = 10_000;  // ms: the bound for any one thing to show up on a page
const PROJECT = 'demo';

const skip = !HUB_SERVER ? 'needs HUB_SERVER=/path/to/hub-server'
  : !fs.existsSync(CHROMIUM) ? `needs chromium at ${CHROMIUM} (scripts/setup.sh installs it)`
  : false;

let chromium;
try { ({ chromium } = require('playwright-core')); } catch { /* reported by the skip below */ }

// ---- the server ---------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts hub-server; resolves once it prints "listening on". */
function startServer(port, dataDir) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ['JWT_SECRET', 'HUB_DEV_AUTH', 'DATA_DIR', 'HUB_API_KEY']) delete env[k];
    const child = spawn(HUB_SERVER, [
      '--dev-auth', '--host', HOST, '--port', String(port), '--data-dir', dataDir,
      // A short presence grace so that a closed page leaves the list promptly.
      '--presence-grace', '1s', '--log-level', 'warn',
      // Two messages a minute per user: Alice's third is refused, to show the rollback.
      '--rate-limit', '2/60s',
    ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub-server did not start within ${STEP} ms: ${err}`));
    }, STEP);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub-server exited (${code}) before listening: ${err}`));
    });
  });
}

/** SIGTERM (graceful: transports closed, so clients reconnect) and wait for the exit. */
function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

async function postJson(url, body, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(STEP),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

// ---- the pages ----------------------------------------------------------------------------

/** Waits for the connection banner's state; on timeout, fails saying what it showed. */
async function bannerState(page, state, timeout = STEP) {
  try {
    await page.locator(`#conn[data-state="${state}"]`).waitFor({ timeout });
  } catch (e) {
    const shown = await page.locator('#conn').textContent().catch(() => '?');
    throw new Error(`banner is not "${state}" after ${timeout} ms; it says "${shown}"`);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

async function signIn(browser, base, name, viewport) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(STEP);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/');
  await page.fill('#name', name);
  await page.fill('#project', PROJECT);
  await page.click('#signin button[type=submit]');
  await bannerState(page, 'connected');
  return { context, page, errors };
}

function messages(page, text) {
  return page.locator('[data-testid="message"]:not(.pending) > [data-testid="content"]', { hasText: text });
}

// ---- the test -------------------------------------------------------------------------------------

let server;
let browser;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-browser-'));

before(async () => {
  if (skip) return;
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // Only this run's screenshots: a stale one would describe a step that did not happen.
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await stopServer(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('two people chat in chromium; the page recovers missed messages after a restart',
  { skip: skip || (!chromium && 'needs playwright-core (scripts/setup.sh)'), timeout: 90_000 }, async () => {
    const port = await freePort();
    const base = `http://${HOST}:${port}`;
    server = await startServer(port, dataDir);

    // The page's own assets: the real socket.io-client bundle, served like Node does.
    const bundle = await fetch(`${base}/socket.io/socket.io.js`, { signal: AbortSignal.timeout(STEP) });
    assert.equal(bundle.status, 200, 'socket.io-client bundle (run scripts/setup.sh)');
    assert.match(await bundle.text(), /Socket\.IO v4\.8\.4/);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking'],
      timeout: STEP * 3,
    });
    const alice = await signIn(browser, base, 'Alice', { width: 1100, height: 720 });
    const bob = await signIn(browser, base, 'Bob', { width: 390, height: 800 });  // a phone

    // Presence: each sees the other online.
    await alice.page.locator('#presence li[data-user="bob"]').waitFor();
    await bob.page.locator('#presence li[data-user="alice"]').waitFor();
    await shot(alice.page, '01-alice-signed-in');
    await shot(bob.page, '01-bob-signed-in');

    // Typing: Alice types, Bob sees the indicator, and it clears by itself.
    await alice.page.locator('#message').pressSequentially('Hello B', { delay: 30 });
    await bob.page.locator('#typing', { hasText: 'Alice is typing…' }).waitFor();
    await shot(bob.page, '02-bob-sees-alice-typing');
    await bob.page.waitForFunction(() => document.querySelector('#typing').textContent === '', null,
      { timeout: STEP });
    await shot(bob.page, '03-typing-cleared');

    // A message from Alice appears at Bob's; Bob answers in its thread.
    await alice.page.locator('#message').pressSequentially('ob, the build is green', { delay: 10 });
    await alice.page.press('#message', 'Enter');
    await messages(bob.page, 'Hello Bob, the build is green').waitFor();
    await messages(alice.page, 'Hello Bob, the build is green').waitFor();  // confirmed, not pending
    const original = bob.page.locator('[data-testid="message"]', { hasText: 'Hello Bob, the build is green' });
    await original.getByRole('button', { name: 'Reply' }).click();
    await bob.page.fill('#message', 'Great, shipping it');
    await bob.page.press('#message', 'Enter');
    await alice.page.locator('.thread .msg.reply', { hasText: 'Great, shipping it' }).waitFor();
    // Bob read both: Alice sees his read marker.
    await alice.page.locator('[data-testid="seen"]', { hasText: 'Seen by Bob' }).waitFor();
    await shot(alice.page, '04-alice-message-thread-seen');
    await shot(bob.page, '04-bob-message-thread');

    // A refused send (Alice's third message this minute): the optimistic copy is rolled
    // back, a toast says why, and the text is back in the composer.
    await alice.page.locator('#message').pressSequentially('Release notes are up', { delay: 5 });
    await alice.page.press('#message', 'Enter');
    await messages(alice.page, 'Release notes are up').waitFor();
    await alice.page.fill('#message', 'One more thing');
    await alice.page.press('#message', 'Enter');
    await alice.page.locator('.toast.error', { hasText: 'Failed to send message' }).waitFor();
    assert.equal(await alice.page.locator('[data-testid="message"]', { hasText: 'One more thing' }).count(), 0);
    assert.equal(await alice.page.inputValue('#message'), 'One more thing');
    await shot(alice.page, '05-alice-send-refused-rolled-back');
    await alice.page.fill('#message', '');

    // Restart. Both pages notice and say so.
    await stopServer(server);
    server = null;
    await bannerState(alice.page, 'reconnecting');
    await bannerState(bob.page, 'reconnecting');
    await shot(alice.page, '06-alice-reconnecting');
    await shot(bob.page, '06-bob-reconnecting');

    // Hold both pages off the network (their reconnect polls fail) while the server
    // comes back on the same data directory and Carol posts: a message they both miss.
    const gate = (url) => new URL(url).pathname === '/socket.io/';
    const block = (route) => route.abort('connectionrefused');
    await alice.context.route(gate, block);
    await bob.context.route(gate, block);
    server = await startServer(port, dataDir);
    const carol = await postJson(`${base}/dev/token`, { userId: 'carol', userName: 'Carol', projects: [PROJECT] });
    assert.equal(carol.status, 200);
    const missed = 'Posted by Carol while you were away';
    const posted = await postJson(`${base}/api/chat`, { projectId: PROJECT, content: missed }, carol.body.token);
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    await alice.context.unroute(gate, block);
    await bob.context.unroute(gate, block);

    // Both reconnect, recover their sessions, and show Carol's message exactly once.
    await bannerState(alice.page, 'recovered', STEP * 2);
    await bannerState(bob.page, 'recovered', STEP * 2);
    await messages(alice.page, missed).waitFor();
    await messages(bob.page, missed).waitFor();
    // Give a late duplicate (replay plus the page's own sync) time to show up.
    await alice.page.waitForTimeout(500);
    assert.equal(await messages(alice.page, missed).count(), 1);
    assert.equal(await messages(bob.page, missed).count(), 1);
    await shot(alice.page, '07-alice-recovered');
    await shot(bob.page, '07-bob-recovered');

    // And live chat goes on after the restart.
    await bob.page.fill('#message', 'Back online');
    await bob.page.press('#message', 'Enter');
    await messages(alice.page, 'Back online').waitFor();
    await shot(alice.page, '08-alice-live-again');

    // A newcomer gets the history through sync: the thread nested, Carol's message too,
    // and the others see them arrive.
    const dave = await signIn(browser, base, 'Dave', { width: 390, height: 800 });
    await messages(dave.page, 'Hello Bob, the build is green').waitFor();
    await dave.page.locator('.thread .msg.reply', { hasText: 'Great, shipping it' }).waitFor();
    await messages(dave.page, missed).waitFor();
    await messages(dave.page, 'Back online').waitFor();
    await alice.page.locator('#presence li[data-user="dave"]').waitFor();
    // Everything is on screen, so Dave's page marks it read: the unread pill goes away.
    await dave.page.locator('#unread-messages').waitFor({ state: 'hidden' });
    await shot(dave.page, '09-dave-history');

    assert.deepEqual(alice.errors, [], 'no script errors on Alice\'s page');
    assert.deepEqual(bob.errors, [], 'no script errors on Bob\'s page');
    assert.deepEqual(dave.errors, [], 'no script errors on Dave\'s page');
  });
