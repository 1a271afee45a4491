// Project Hub: start-up refusal without JWT_SECRET, JWT authentication on connect, the
// development mode (--dev-auth), and join-user-room.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  HOST, SECRET, skipReason, mintToken, unsignedToken, cleanEnv, freshDataDir, startHub,
  runExpectingExit, HubClients, api, checkMessage,
} = require('./hub-helpers');

describe('hub: start-up', { skip: skipReason }, () => {
  it('refuses to start without JWT_SECRET (and without --dev-auth)', async () => {
    const args = ['--app', 'hub', '--host', HOST, '--port', '0', '--data-dir', freshDataDir()];
    const res = await runExpectingExit(args, cleanEnv(), 5000);
    assert.equal(res.timedOut, false, `server kept running without JWT_SECRET; stdout: ${res.stdout}`);
    assert.ok(res.code !== 0 && res.code !== null, `exit code non-zero: code ${res.code}, signal ${res.signal}`);
    assert.match(res.stderr, /JWT_SECRET/, `stderr mentions JWT_SECRET; stderr: ${res.stderr}`);
    assert.doesNotMatch(res.stdout, /listening on/, 'no ready line');
  });

  it('refuses to start with an empty JWT_SECRET', async () => {
    const args = ['--app', 'hub', '--host', HOST, '--port', '0', '--data-dir', freshDataDir()];
    const res = await runExpectingExit(args, cleanEnv({ JWT_SECRET: '' }), 5000);
    assert.equal(res.timedOut, false, `server kept running with JWT_SECRET=''; stdout: ${res.stdout}`);
    assert.ok(res.code !== 0 && res.code !== null, `exit code non-zero: code ${res.code}, signal ${res.signal}`);
    assert.match(res.stderr, /JWT_SECRET/, `stderr mentions JWT_SECRET; stderr: ${res.stderr}`);
  });

  it('serves /healthz and exits 0 on SIGTERM', async () => {
    const hub = await startHub();
    try {
      const res = await api(hub.url, 'GET', '/healthz');
      assert.equal(res.status, 200);
    } finally {
      await hub.stop('SIGTERM'); // SIGKILLs after 3 s if still running
    }
    const { code, signal } = await hub.exited;
    assert.equal(code, 0, `exit code after SIGTERM (signal ${signal})`);
  });
});

describe('hub: JWT authentication', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const refusals = [
    ['no auth at all', {}],
    ['an empty auth object', { auth: {} }],
    ['a token signed with another secret', { token: mintToken('alice', { secret: `${SECRET}-wrong`, projects: ['p1'] }) }],
    ['an expired token', { token: mintToken('alice', { expSeconds: -120, projects: ['p1'] }) }, 'Token expired'],
    ['an unsigned (alg none) token', { token: unsignedToken('alice', { projects: ['p1'] }) }],
    ['a malformed token', { token: 'not.a.jwt' }],
    ['a non-string token', { auth: { token: 42 } }],
    ['dev-mode {userId, userName} without --dev-auth', { auth: { userId: 'alice', userName: 'Alice' } }],
  ];
  for (const [what, opts, message = 'Authentication failed'] of refusals) {
    it(`refuses ${what} with connect_error '${message}'`, async () => {
      const c = clients.make(hub.url, opts);
      const err = await c.connectError();
      assert.equal(err.message, message);
      assert.equal(c.socket.connected, false);
    });
  }

  it('refuses a tampered payload (claims changed after signing)', async () => {
    const good = mintToken('alice', { projects: ['p1'] });
    const [h, , s] = good.split('.');
    const evil = Buffer.from(JSON.stringify({
      sub: 'alice', name: 'Alice', projects: ['p1', 'p-secret'], exp: Math.floor(Date.now() / 1000) + 3600,
    })).toString('base64url');
    const err = await clients.make(hub.url, { token: `${h}.${evil}.${s}` }).connectError();
    assert.equal(err.message, 'Authentication failed');
  });

  it('accepts a valid token over websocket and over polling', async () => {
    const token = mintToken('alice', { name: 'Alice', projects: ['p1'] });
    const ws = await clients.connect(hub.url, { token, transports: ['websocket'] });
    const poll = await clients.connect(hub.url, { token, transports: ['polling'] });
    assert.equal(ws.transport, 'websocket');
    assert.equal(poll.transport, 'polling');
    assert.ok(ws.socket.connected && poll.socket.connected);
  });

  it('join-user-room: own id -> {ok:true, unread:0}', async () => {
    const c = await clients.connect(hub.url, { token: mintToken('alice', { projects: ['p1'] }) });
    assert.deepEqual(await c.ack('join-user-room', 'alice'), { ok: true, unread: 0 });
  });

  it("join-user-room: another user's id -> {ok:false, error:'forbidden'} and an error event", async () => {
    const c = await clients.connect(hub.url, { token: mintToken('alice', { projects: ['p1'] }), transports: ['polling'] });
    const ack = await c.ack('join-user-room', 'bob');
    assert.deepEqual(ack, { ok: false, error: 'forbidden' });
    const err = await c.next('error');
    assert.equal(typeof err?.message, 'string', `error event {message}: ${JSON.stringify(err)}`);
    assert.ok(err.message.length > 0);
  });
});

describe('hub: development mode (--dev-auth, no JWT_SECRET)', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--dev-auth', '--rate-limit', '1000/1s'], { secret: null }); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  it('accepts auth {userId, userName} with access to every project', async () => {
    const a = await clients.connect(hub.url, { auth: { userId: 'dev-ann', userName: 'Ann Dev' } });
    const b = await clients.connect(hub.url, { auth: { userId: 'dev-ben', userName: 'Ben Dev' }, transports: ['polling'] });
    const ja = await a.ack('join-chat-room', 'any-project-42');
    assert.equal(ja?.ok, true, `join ack: ${JSON.stringify(ja)}`);
    const jb = await b.ack('join-chat-room', 'any-project-42');
    assert.equal(jb?.ok, true, `join ack: ${JSON.stringify(jb)}`);
    assert.deepEqual(jb.online, [{ userId: 'dev-ann', userName: 'Ann Dev' }, { userId: 'dev-ben', userName: 'Ben Dev' }]);

    const ack = await a.ack('send-message', { projectId: 'any-project-42', content: 'hello from dev', senderId: 'dev-ben' });
    assert.equal(ack?.ok, true, `send ack: ${JSON.stringify(ack)}`);
    checkMessage(ack.message, {
      projectId: 'any-project-42', senderId: 'dev-ann', senderName: 'Ann Dev', content: 'hello from dev', seq: 1,
    });
    assert.deepEqual(await b.next('new-message'), ack.message);
    assert.deepEqual(await a.next('new-message'), ack.message);
    assert.deepEqual(await a.ack('join-user-room', 'dev-ann'), { ok: true, unread: 0 });
    assert.deepEqual(await a.ack('join-user-room', 'dev-ben'), { ok: false, error: 'forbidden' });
  });

  it('accepts no auth at all; identity comes from the first join-user-room', async () => {
    const c = await clients.connect(hub.url, { transports: ['polling'] });
    const other = await clients.connect(hub.url, { auth: { userId: 'dev-obs', userName: 'Observer' } });
    assert.deepEqual(await c.ack('join-user-room', 'dev-anon'), { ok: true, unread: 0 });
    const j = await c.ack('join-chat-room', 'dev-room-2');
    assert.equal(j?.ok, true, `join ack: ${JSON.stringify(j)}`);
    assert.equal((await other.ack('join-chat-room', 'dev-room-2'))?.ok, true);
    const ack = await c.ack('send-message', { projectId: 'dev-room-2', content: 'anon hi', senderId: 'someone-else' });
    assert.equal(ack?.ok, true, `send ack: ${JSON.stringify(ack)}`);
    checkMessage(ack.message, { senderId: 'dev-anon', content: 'anon hi', projectId: 'dev-room-2' });
    assert.deepEqual(await other.next('new-message'), ack.message);
    // The identity is now fixed: another user id is refused.
    assert.deepEqual(await c.ack('join-user-room', 'dev-someone-else'), { ok: false, error: 'forbidden' });
  });

  it('the HTTP API still requires a token (401 without one)', async () => {
    const res = await api(hub.url, 'GET', '/api/chat/any-project-42/messages');
    assert.equal(res.status, 401);
  });
});
