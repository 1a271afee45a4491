// Sessions and what they may hold: a socket closes when its token expires (recoverably:
// the client comes back with a fresh token and recovers), a user's sessions can be
// revoked (durably), pending acks per socket are bounded, reactions are emoji from an
// allow-list with a bounded number of different ones per message, development mode
// is kept away from production secrets and networks, and /metrics can move off the
// public listener. Each case shows the refusal and
// that a well-behaved client on the same server keeps working.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { EventQueue } = require('./helpers');
const {
  FAST_RECONNECT, skipReason, mintToken, startHub, HubClients, api, joinChat, sendMessage, sleep,
  runExpectingExit, cleanEnv, freshDataDir, SECRET, nextConnect,
} = require('./hub-helpers');

const P = 'sess-p';
const API_KEY = `hub-api-key-${crypto.randomBytes(8).toString('hex')}`;

async function metric(hub, name) {
  const res = await api(hub.url, 'GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Resolves with the reason of c's next 'disconnect'. */
async function nextDisconnect(c, ms) {
  const q = new EventQueue(c.socket, 'disconnect');
  try {
    const [reason] = await q.next(ms);
    return reason;
  } finally {
    q.close();
  }
}

/** Waits until the wall clock is in a later second than `unixSeconds`. */
async function pastSecond(unixSeconds) {
  while (Math.floor(Date.now() / 1000) <= unixSeconds) await sleep(50);
}

async function stillChats(sender, watcher, tag) {
  watcher.drain();
  const m = await sendMessage(sender, P, `still ${tag}`);
  const got = await watcher.next('new-message');
  assert.equal(got.id, m.id, `${tag}: a message sent was not received`);
}

describe('hub: token expiry closes the session recoverably', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => {
    hub = await startHub(['--jwt-leeway', '0s', '--rate-limit', '1000/1s', '--auth-failure-rate', '2/10s']);
  });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  it('at exp the transport closes; the auth callback gives a fresh token and the session is recovered', async () => {
    let current = mintToken('u-exp', { name: 'Exp', projects: [P], expSeconds: 2 });
    let asked = 0;
    const alice = clients.make(hub.url, {
      auth: (cb) => { asked++; cb({ token: current }); },
      io: FAST_RECONNECT,
    });
    await alice.connect();
    await joinChat(alice, P);
    const bob = await clients.connect(hub.url, { token: mintToken('u-bob', { projects: [P] }) });
    await joinChat(bob, P);
    current = mintToken('u-exp', { name: 'Exp', projects: [P] });  // what the app would fetch
    const reason = await nextDisconnect(alice, 6000);
    assert.equal(reason, 'transport close', 'the expiry must look like a lost transport (recoverable)');
    const missed = await sendMessage(bob, P, 'sent while alice was away');
    await nextConnect(alice, 5000);
    assert.equal(alice.socket.recovered, true, 'the session was not recovered after the fresh token');
    assert.ok(asked >= 2, 'the auth callback was not asked again');
    const got = await alice.next('new-message');
    assert.equal(got.id, missed.id, `alice got ${JSON.stringify(got)}; missed ${JSON.stringify(missed)}`);
    await stillChats(alice, bob, 'after renewal');
    assert.ok((await metric(hub, 'hub_sessions_expired_total')) >= 1);
  });

  it('a reconnect with the expired token is told "Token expired", and it does not count as a failed guess', async () => {
    const expired = mintToken('u-late', { projects: [P], expSeconds: -5 });
    // --auth-failure-rate 2/10s: a third failed guess would be refused as "Too many".
    for (let i = 0; i < 4; i++) {
      const c = clients.make(hub.url, { token: expired });
      const err = await c.connectError();
      assert.equal(err.message, 'Token expired', `attempt ${i}`);
    }
    const good = await clients.connect(hub.url, { token: mintToken('u-good', { projects: [P] }) });
    await joinChat(good, P);
    assert.ok((await metric(hub, 'hub_refusals_total{cause="token_expired"}')) >= 4);
  });
});

describe('hub: revoking a user\'s sessions', { skip: skipReason }, () => {
  let hub;
  let dataDir;
  const clients = new HubClients();
  const start = async () => {
    hub = await startHub(['--rate-limit', '1000/1s'], { dataDir, env: { HUB_API_KEY: API_KEY } });
  };
  before(async () => { dataDir = freshDataDir(); await start(); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const revoke = (user, key = API_KEY) =>
    api(hub.url, 'POST', `/api/users/${encodeURIComponent(user)}/revoke`, { headers: { authorization: `Bearer ${key}` } });

  it('ends every session of the user, refuses their older tokens, and survives a restart', async () => {
    const oldToken = mintToken('u-rev', { projects: [P] });
    const a1 = await clients.connect(hub.url, { token: oldToken, io: FAST_RECONNECT });
    const a2 = await clients.connect(hub.url, { token: oldToken, transports: ['polling'], io: FAST_RECONNECT });
    const bob = await clients.connect(hub.url, { token: mintToken('u-bob2', { projects: [P] }) });
    const carol = await clients.connect(hub.url, { token: mintToken('u-carol', { projects: [P] }) });
    await joinChat(bob, P);
    await joinChat(carol, P);
    assert.equal((await revoke('u-rev', 'wrong-key')).status, 401);
    const gone1 = nextDisconnect(a1, 3000);
    const gone2 = nextDisconnect(a2, 3000);
    const res = await revoke('u-rev');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.userId, 'u-rev');
    const before = res.json.revokedBefore;
    assert.ok(Number.isInteger(before) && Math.abs(before - Date.now() / 1000) < 5);
    // A server disconnect: the client does not come back by itself.
    assert.equal(await gone1, 'io server disconnect');
    assert.equal(await gone2, 'io server disconnect');
    await sleep(400);
    assert.equal(a1.socket.connected, false, 'the revoked socket reconnected by itself');
    await stillChats(bob, carol, 'during');

    const again = clients.make(hub.url, { token: oldToken });
    assert.equal((await again.connectError()).message, 'Token revoked');
    assert.equal((await api(hub.url, 'GET', '/api/notifications', { token: oldToken })).status, 401);
    await pastSecond(before);
    const fresh = mintToken('u-rev', { projects: [P] });
    const back = await clients.connect(hub.url, { token: fresh });
    await joinChat(back, P);
    assert.equal((await api(hub.url, 'GET', '/api/notifications', { token: fresh })).status, 200);
    assert.ok((await metric(hub, 'hub_refusals_total{cause="token_revoked"}')) >= 2);

    clients.closeAll();
    await hub.stop();
    await start();
    const afterRestart = clients.make(hub.url, { token: oldToken });
    assert.equal((await afterRestart.connectError()).message, 'Token revoked', 'the revocation was not durable');
    await clients.connect(hub.url, { token: fresh });
  });

  it('refuses bad requests: no key, a method other than POST, an invalid user id', async () => {
    assert.equal((await api(hub.url, 'POST', '/api/users/u-x/revoke')).status, 401);
    assert.equal((await api(hub.url, 'GET', '/api/users/u-x/revoke', { headers: { authorization: `Bearer ${API_KEY}` } })).status, 405);
    assert.equal((await api(hub.url, 'POST', '/api/users/%FF/revoke', { headers: { authorization: `Bearer ${API_KEY}` } })).status, 400);
    assert.equal((await api(hub.url, 'POST', '/api/users/u-x/other', { headers: { authorization: `Bearer ${API_KEY}` } })).status, 404);
  });
});

describe('hub: pending acks per socket', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s', '--max-pending-acks', '4']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });

  it('a burst past --max-pending-acks is answered too_many_pending_acks unhandled; the rest is handled', async () => {
    const tok = mintToken('u-burst', { projects: [P] });
    const burst = await clients.connect(hub.url, { token: tok });
    const watcher = await clients.connect(hub.url, { token: mintToken('u-watch', { projects: [P] }) });
    await joinChat(burst, P);
    await joinChat(watcher, P);
    const n = 60;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
      burst.ack('send-message', { projectId: P, content: `burst ${i}` })));
    const ok = replies.filter((r) => r?.ok === true);
    const refused = replies.filter((r) => r?.ok === false);
    assert.equal(ok.length + refused.length, n, `every event is answered: ${JSON.stringify(replies.slice(0, 5))}`);
    assert.ok(refused.length > 0, 'a burst of 60 never had more than 4 acks pending');
    for (const r of refused) assert.equal(r.error, 'too_many_pending_acks', JSON.stringify(r));
    // Exactly the accepted ones were stored and broadcast.
    const seen = new Set();
    for (let i = 0; i < ok.length; i++) seen.add((await watcher.next('new-message')).id);
    assert.deepEqual([...seen].sort(), ok.map((r) => r.message.id).sort());
    await watcher.expectNone('new-message', 300);
    assert.ok((await metric(hub, 'hub_refusals_total{cause="too_many_pending_acks"}')) >= refused.length);
    await stillChats(burst, watcher, 'after the burst');
  });
});

describe('hub: reactions are emoji, and boundedly many', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s', '--reaction-rate', '1000/10s', '--max-reactions-per-message', '3']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });

  it('refuses what is not an emoji, accepts sequences, and caps the different emoji on a message', async () => {
    const a = await clients.connect(hub.url, { token: mintToken('u-ra', { projects: [P] }) });
    const b = await clients.connect(hub.url, { token: mintToken('u-rb', { projects: [P] }) });
    await joinChat(a, P);
    await joinChat(b, P);
    const m = await sendMessage(a, P, 'react to me');
    await b.next('new-message');
    const react = (c, emoji) => c.ack('react', { projectId: P, messageId: m.id, emoji });
    for (const bad of ['x', 'ok', '<b>', '1', '👍x', 'a👍', '\u200d', '\ufe0f', ' 👍']) {
      const r = await react(a, bad);
      assert.deepEqual([r.ok, r.error], [false, 'invalid'], `${JSON.stringify(bad)}: ${JSON.stringify(r)}`);
    }
    // Emoji with a variation selector, a ZWJ family, a flag: three different ones.
    for (const good of ['❤️', '👨‍👩‍👧', '🇫🇷']) {
      const r = await react(a, good);
      assert.equal(r.ok, true, `${good}: ${JSON.stringify(r)}`);
      assert.equal((await b.next('message-reaction')).emoji, good);
    }
    const over = await react(b, '1️⃣');
    assert.deepEqual([over.ok, over.error], [false, 'too_many_reactions'], JSON.stringify(over));
    // Existing emoji still toggle, and removing one frees a slot.
    assert.equal((await react(b, '❤️')).action, 'added');
    assert.equal((await react(a, '🇫🇷')).action, 'removed');
    assert.equal((await react(b, '1️⃣')).action, 'added');
    await stillChats(a, b, 'after the reactions');
  });
});

describe('hub: development mode stays development', { skip: skipReason }, () => {
  it('refuses to start with --dev-auth and JWT_SECRET both set', async () => {
    const res = await runExpectingExit(['--app', 'hub', '--dev-auth', '--host', '127.0.0.1', '--port', '0',
      '--data-dir', freshDataDir()], cleanEnv({ JWT_SECRET: SECRET }), 5000);
    assert.equal(res.timedOut, false, `it started: ${res.stdout}`);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /JWT_SECRET/);
  });

  it('listens on 127.0.0.1 only unless --host says otherwise', async () => {
    const child = spawn(process.env.HUB_SERVER, ['--app', 'hub', '--dev-auth', '--port', '0', '--data-dir', freshDataDir()],
      { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    try {
      const port = await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 10000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on http:\/\/([0-9.]+):(\d+)/.exec(out);
          if (m) { clearTimeout(timer); assert.equal(m[1], '127.0.0.1'); resolve(Number(m[2])); }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const tryConnect = (host) => new Promise((resolve) => {
        const s = net.connect({ host, port });
        s.once('connect', () => { s.destroy(); resolve('connected'); });
        s.once('error', (e) => resolve(e.code));
      });
      assert.equal(await tryConnect('127.0.0.1'), 'connected');
      // Another loopback address of this machine: only a wildcard listener would accept it.
      assert.equal(await tryConnect('127.0.0.2'), 'ECONNREFUSED');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--metrics-listen moves /metrics to a listener of its own; /healthz stays on both', async () => {
    const hub = await startHub(['--metrics-listen', '127.0.0.1:0']);
    try {
      const line = hub.output.find((l) => /^metrics on http:\/\/127\.0\.0\.1:\d+$/.test(l));
      assert.ok(line, `no metrics line in: ${hub.output.join('\n')}`);
      const murl = line.slice('metrics on '.length);
      const m = await api(murl, 'GET', '/metrics');
      assert.equal(m.status, 200);
      assert.match(m.body, /^hub_connections /m);
      assert.equal((await api(murl, 'GET', '/healthz')).status, 200);
      assert.equal((await api(murl, 'GET', '/api/notifications')).status, 404, 'only metrics there');
      const pub = await api(hub.url, 'GET', '/metrics');
      assert.equal(pub.status, 404, 'the public listener still serves /metrics');
      assert.equal((await api(hub.url, 'GET', '/healthz')).status, 200);
    } finally {
      await hub.stop();
    }
    const bad = await runExpectingExit(['--app', 'hub', '--port', '0', '--metrics-listen', 'nonsense:', '--data-dir', freshDataDir()],
      cleanEnv({ JWT_SECRET: SECRET }), 5000);
    assert.equal(bad.timedOut, false);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--metrics-listen/);
  });

  it('--record creates its file 0600 (it holds tokens), even over a file with wider permissions', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-rec-'));
    const file = path.join(dir, 'rec.jsonl');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const hub = await startHub(['--dev-auth', '--record', file], { secret: null });
    try {
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    } finally {
      await hub.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
