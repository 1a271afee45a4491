// The demo page in a real browser: Debian's chromium, driven by playwright-core, against
// `hub-server --dev-auth` (HUB_SERVER=/path/to/hub-server). Two browser contexts are two
// people, Alice on a desktop-sized window and Bob at phone width. Screenshots of every
// step go to HUB_BROWSER_ARTIFACTS (default build/browser-artifacts).
//
// The restart step shows what a person would otherwise lose: the server stops, both
// pages say "reconnecting", the server comes back, and a third person (Carol, over the
// HTTP API) posts while both pages are still held off the network; when they reconnect,
// connection state recovery delivers Carol's message to each page exactly once.
//
// Then reactions (Bob reacts to Alice's message and takes it back), a notification the
// backend posts for Bob (POST /api/notifications with the server's HUB_API_KEY: a toast
// and the bell's badge, in both of Bob's tabs), and "Mark all read" clearing the badge in
// Bob's other tab too (notifications-read).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
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
const API_KEY = crypto.randomBytes(16).toString('hex');  // the server's HUB_API_KEY for this run

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
    for (const k of ['JWT_SECRET', 'HUB_DEV_AUTH', 'DATA_DIR']) delete env[k];
    env.HUB_API_KEY = API_KEY;  // server-to-server calls (POST /api/notifications)
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
  return openTab(context, base, name);
}

/** Another tab in `context` (sessionStorage is per tab: it signs in again). */
async function openTab(context, base, name) {
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

/** A top-level message (its own action bar, not its replies'). */
function topMessage(page, text) {
  return page.locator('#messages > [data-testid="message"]', { hasText: text });
}

/** The reaction chip of `emoji` on a top-level message ("👍 1"). */
function chip(page, text, emoji) {
  return topMessage(page, text).locator(':scope > .actions > .chip', { hasText: emoji });
}

/** The bell's badge showing exactly `n`. */
function badgeShows(page, n) {
  return page.locator('#badge:not([hidden])', { hasText: new RegExp(`^${n}$`) });
}

async function badgeCount(page) {
  const badge = page.locator('#badge');
  return (await badge.isHidden()) ? 0 : Number(await badge.textContent());
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
    // The rollback is redrawn on the next frame, just after the toast.
    await alice.page.locator('[data-testid="message"]', { hasText: 'One more thing' }).waitFor({ state: 'detached' });
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

    // Reactions: Bob reacts to Alice's message, Alice sees the count; Bob clicks his chip
    // again and it is gone at Alice's. A second reaction stays (Dave gets it from history).
    const hello = 'Hello Bob, the build is green';
    await topMessage(bob.page, hello).locator(':scope > .actions button[aria-label="React 👍"]').click();
    await chip(alice.page, hello, '👍 1').waitFor();
    await bob.page.locator('#messages > li .chip[aria-pressed="true"]', { hasText: '👍 1' }).waitFor();
    await shot(alice.page, '09-alice-sees-reaction');
    await shot(bob.page, '09-bob-reacted');
    await chip(bob.page, hello, '👍').click();
    await chip(alice.page, hello, '👍').waitFor({ state: 'detached' });
    await chip(bob.page, hello, '👍').waitFor({ state: 'detached' });
    await shot(alice.page, '10-alice-reaction-removed');
    await topMessage(bob.page, hello).locator(':scope > .actions button[aria-label="React 🎉"]').click();
    await chip(alice.page, hello, '🎉 1').waitFor();

    // Notifications. Bob opens a second tab: its badge comes from the join-user-room ack
    // (Carol's message, posted while Bob was away, left a chat notification) and agrees
    // with the first tab's.
    const bob2 = await openTab(bob.context, base, 'Bob');
    const before = await badgeCount(bob.page);
    assert.equal(await badgeCount(bob2.page), before, 'second tab\'s badge (join-user-room unread)');
    // The backend notifies Bob: only with the API key.
    const note = { userId: 'bob', title: 'Deploy finished', message: 'build 42 is live', type: 'deploy' };
    const refused = await postJson(`${base}/api/notifications`, note, 'not-the-key');
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    const notified = await postJson(`${base}/api/notifications`, note, API_KEY);
    assert.equal(notified.status, 201, JSON.stringify(notified.body));
    await bob.page.locator('.toast.note', { hasText: 'Deploy finished: build 42 is live' }).waitFor();
    await badgeShows(bob.page, before + 1).waitFor();
    await badgeShows(bob2.page, before + 1).waitFor();
    assert.equal(await alice.page.locator('.toast', { hasText: 'Deploy finished' }).count(), 0,
      'Alice does not get Bob\'s notification');
    await shot(bob.page, '11-bob-notification-toast');
    // Bob opens the bell and marks all read: the badge clears in both tabs.
    await bob.page.click('#bell');
    await bob.page.locator('#notification-list li.unread', { hasText: 'Deploy finished' }).waitFor();
    await shot(bob.page, '12-bob-notification-panel');
    await bob.page.click('#mark-all-read');
    await bob.page.locator('#badge').waitFor({ state: 'hidden' });
    await bob.page.locator('#notification-list li.read', { hasText: 'Deploy finished' }).waitFor();
    await bob2.page.locator('#badge').waitFor({ state: 'hidden' });
    await shot(bob.page, '13-bob-marked-read');
    await shot(bob2.page, '13-bob-other-tab-cleared');

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
    // Reaction counts come with the history, not Dave's own.
    await dave.page.locator('#messages > li > .actions > .chip[aria-pressed="false"]', { hasText: '🎉 1' }).waitFor();
    await shot(dave.page, '14-dave-history');

    assert.deepEqual(alice.errors, [], 'no script errors on Alice\'s page');
    assert.deepEqual(bob.errors, [], 'no script errors on Bob\'s page');
    assert.deepEqual(bob2.errors, [], 'no script errors on Bob\'s second tab');
    assert.deepEqual(dave.errors, [], 'no script errors on Dave\'s page');
  });
