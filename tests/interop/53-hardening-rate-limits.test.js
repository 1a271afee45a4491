// Per-user rate limits on every client event (token buckets: --typing-rate, --reaction-rate,
// --sync-rate, --room-rate, --mark-read-rate), rooms per socket, and failed handshakes per
// source address. Each case shows the refusal ({ok:false, error, retryAfterMs} + an
// `error` event) and that a well-behaved user on the same server keeps sending and
// receiving meanwhile.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, api, joinChat, sendMessage, collect, sleep,
} = require('./hub-helpers');

const P = 'rl-p';
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice', projects: [P] }),
  bob: mintToken('u-bob', { name: 'Bob', projects: [P] }),
  // Each case floods with a user of its own: no waiting for another case's buckets.
  carol: mintToken('u-carol', { name: 'Carol', projects: [P] }),
  dave: mintToken('u-dave', { name: 'Dave', projects: [P] }),
  erin: mintToken('u-erin', { name: 'Erin', projects: [P] }),
};

async function metric(hub, name) {
  const res = await api(hub.url, 'GET', '/metrics');
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Emits `event` with `payload` n times (each waiting for its ack); returns the acks. */
async function acks(c, n, event, payload) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await c.ack(event, typeof payload === 'function' ? payload(i) : payload));
  return out;
}

function assertLimited(list, allowed, what) {
  const ok = list.filter((a) => a?.ok === true).length;
  assert.equal(ok, allowed, `${what}: ${ok} accepted of ${list.length}: ${JSON.stringify(list.slice(allowed))}`);
  for (const a of list.slice(allowed)) {
    assert.equal(a.ok, false, `${what}: ${JSON.stringify(a)}`);
    assert.equal(a.error, 'rate_limited', `${what}: ${JSON.stringify(a)}`);
    assert.ok(Number.isInteger(a.retryAfterMs) && a.retryAfterMs > 0 && a.retryAfterMs <= 10000,
      `${what}: retryAfterMs ${a.retryAfterMs}`);
  }
}

describe('hub: per-user limits on client events', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => {
    hub = await startHub(['--rate-limit', '1000/1s', '--typing-rate', '5/10s', '--reaction-rate', '3/10s',
      '--sync-rate', '2/10s', '--room-rate', '4/10s', '--mark-read-rate', '3/10s', '--max-rooms-per-socket', '6']);
  });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  /** bob keeps chatting with a third socket's help: a message sent is received. */
  async function bobStillChats(bob, watcher, tag) {
    const m = await sendMessage(bob, P, `bob ${tag}`);
    const got = await watcher.next('new-message');
    assert.equal(got.id, m.id, `${tag}: the message bob sent was not received`);
  }

  it('typing and stop-typing share one bucket per user; other users are not limited', async () => {
    // alice's two sockets share her bucket; bob is in the room too.
    const a1 = await connect('alice');
    const a2 = await connect('alice', ['polling']);
    const bob = await connect('bob');
    const bobEyes = await connect('bob', ['polling']);
    for (const c of [a1, a2, bob, bobEyes]) await joinChat(c, P);  // 4 room joins of 4: alice 2, bob 2
    const before = await metric(hub, 'hub_rate_limited_total');
    const list = [
      ...(await acks(a1, 3, 'typing', P)),
      ...(await acks(a2, 2, 'stop-typing', P)),
      ...(await acks(a1, 3, 'typing', P)),
    ];
    assertLimited(list, 5, 'alice typing');
    const err = await a1.next('error');
    assert.match(err.message, /rate limit/i);
    assert.ok((await metric(hub, 'hub_rate_limited_total')) >= before + 3);
    // bob has his own bucket, and keeps chatting meanwhile.
    assert.deepEqual(await bob.ack('typing', P), { ok: true });
    await bobStillChats(bob, bobEyes, 'after typing flood');
  });

  it('react, sync and mark-read: each its own bucket, with retryAfterMs', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const bobEyes = await connect('bob', ['polling']);
    for (const c of [alice, bob, bobEyes]) await joinChat(c, P);
    const m = await sendMessage(bob, P, 'react to me');
    await bobEyes.next('new-message');
    const reacts = await acks(alice, 5, 'react', (i) => ({ projectId: P, messageId: m.id, emoji: i % 2 ? '👍' : '🎉' }));
    assertLimited(reacts, 3, 'react');
    const syncs = await acks(alice, 4, 'sync', { projectId: P });
    assertLimited(syncs, 2, 'sync');
    const reads = await acks(alice, 5, 'mark-read', { projectId: P, seq: m.seq });
    assertLimited(reads, 3, 'mark-read');
    await bobStillChats(bob, bobEyes, 'after the floods');
  });

  it('joins and leaves are limited (each rewrites the session record)', async () => {
    const carol = await connect('carol');
    const dave = await connect('dave');
    const daveEyes = await connect('dave', ['polling']);
    await joinChat(dave, P);
    await joinChat(daveEyes, P);
    const list = await acks(carol, 7, 'join-task-room', (i) => ({ projectId: P, taskId: `t-${i}` }));
    assertLimited(list, 4, 'join-task-room');
    await bobStillChats(dave, daveEyes, 'after the join flood');
  });
});

describe('hub: rooms per socket', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  // Joins are not rate limited here (--room-rate 100/1s): only the cap answers.
  before(async () => { hub = await startHub(['--room-rate', '100/1s', '--max-rooms-per-socket', '6']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });

  it('rooms per socket are capped (too_many_rooms); leaving one makes room', async () => {
    const alice = await clients.connect(hub.url, { token: tokens.erin, transports: ['websocket'] });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await alice.ack('join-task-room', { projectId: P, taskId: `cap-${i}` }));
    // The socket's own room and user:<id> count: 4 task rooms fit under 6.
    assert.deepEqual(results.slice(0, 4).map((r) => r.ok), [true, true, true, true], JSON.stringify(results));
    for (const r of results.slice(4)) {
      assert.deepEqual(r, { ok: false, error: 'too_many_rooms', maxRooms: 6 });
    }
    assert.ok((await metric(hub, 'hub_refusals_total{cause="too_many_rooms"}')) >= 3);
    assert.deepEqual(await alice.ack('leave-task-room', { taskId: 'cap-0' }), { ok: true });
    assert.deepEqual(await alice.ack('join-task-room', { projectId: P, taskId: 'cap-9' }), { ok: true });
  });
});

describe('hub: failed handshakes per source address', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => {
    hub = await startHub(['--auth-failure-rate', '3/10s'], { env: { HUB_API_KEY: 'rl-api-key-0123456789abcdef0123456789' } });
  });
  after(async () => { clients.closeAll(); await hub?.stop(); });

  it('after 3 failures an address is refused (even with a valid token) for a while; others are not', async () => {
    const good = await clients.connect(hub.url, { token: tokens.bob });  // connected before the attack
    await joinChat(good, P);
    for (let i = 0; i < 3; i++) {
      const err = await clients.make(hub.url, { token: `${tokens.alice}x` }).connectError();
      assert.equal(err.message, 'Authentication failed');
    }
    const blocked = await clients.make(hub.url, { token: tokens.alice }).connectError();
    assert.equal(blocked.message, 'Too many failed authentications');
    assert.ok(blocked.data?.retryAfterMs > 0 && blocked.data.retryAfterMs <= 10000, JSON.stringify(blocked.data));
    // HTTP from the same address too: 429 with Retry-After, before any token is checked.
    const res = await api(hub.url, 'GET', '/api/notifications', { headers: { authorization: `Bearer ${tokens.alice}` } });
    assert.equal(res.status, 429, res.body);
    assert.equal(res.json.error, 'too_many_auth_failures');
    assert.ok(Number(res.headers['retry-after']) >= 1);
    assert.ok((await metric(hub, 'hub_refusals_total{cause="too_many_auth_failures"}')) >= 2);
    // Another source address connects with a valid token; the connected client keeps chatting.
    const other = await clients.connect(hub.url, { token: tokens.alice, io: { localAddress: '127.0.0.2' } });
    await joinChat(other, P);
    const m = await sendMessage(good, P, 'still here');
    assert.equal((await other.next('new-message')).id, m.id);
    // Wrong API keys count too (server-to-server endpoints).
    const key = await api(hub.url, 'POST', '/api/notifications', { body: {}, headers: { authorization: 'Bearer wrong' } });
    assert.equal(key.status, 429, key.body);
  });

  it('the address may try again once its bucket refills', async () => {
    await sleep(3500);  // one failure's worth (10 s / 3)
    const c = await clients.connect(hub.url, { token: tokens.alice });
    assert.equal(c.socket.connected, true);
  });
});
