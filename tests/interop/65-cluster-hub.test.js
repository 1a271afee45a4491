// Project Hub (--app hub) on two nodes through a real redis-server: a chat message sent
// on node A reaches the room's members on node B; the backend's
// `@socket.io/redis-emitter` `to('user:<id>').emit('notification', ...)` (the seed's
// in-process `io.to(...)` after the move) reaches that user's connections on both nodes;
// a revocation POSTed to node A ends the user's sessions on node B too.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { sleep, withTimeout } = require('./helpers');
const { RedisServer } = require('./cluster-helpers');
const {
  skipReason, mintToken, startHub, HubClients, joinChat, api, checkMessage,
} = require('./hub-helpers');

const API_KEY = `hub-api-key-${crypto.randomBytes(8).toString('hex')}`;
const P = 'p-cluster';

describe('cluster: Project Hub on two nodes', { skip: skipReason, timeout: 60000 }, () => {
  let redis;
  let A;
  let B;
  let pub;
  let emitter;
  const clients = new HubClients();

  before(async () => {
    redis = await RedisServer.start();
    const args = ['--redis', redis.url, '--rate-limit', '1000/1s'];
    [A, B] = await Promise.all([
      startHub(args, { env: { HUB_API_KEY: API_KEY } }),
      startHub(args, { env: { HUB_API_KEY: API_KEY } }),
    ]);
    pub = createClient({ url: redis.url });
    pub.on('error', () => {});
    await pub.connect();
    emitter = new Emitter(pub);
    // Both nodes subscribed: each counts the other on the request channel.
    for (let i = 0; i < 100; i++) { // bounded: 5 s
      const [, n] = await pub.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io-request#/#']);
      if (Number(n) === 2) break;
      await sleep(50);
    }
  });
  after(async () => {
    clients.closeAll();
    await pub?.quit().catch(() => {});
    await A?.stop();
    await B?.stop();
    await redis?.stop();
  });
  afterEach(() => clients.closeAll());

  const connect = (node, user, opts = {}) =>
    clients.connect(node.url, { token: mintToken(user, { projects: [P] }), ...opts });

  it('a chat message sent on node A reaches the room on node B, once', async () => {
    const alice = await connect(A, 'u-alice');
    const bob = await connect(B, 'u-bob');
    const carol = await connect(B, 'u-carol'); // on B, not in the room
    await joinChat(alice, P);
    await joinChat(bob, P);
    const sent = await alice.ack('send-message', { projectId: P, content: 'across nodes' });
    assert.equal(sent?.ok, true, JSON.stringify(sent));
    const got = await bob.next('new-message', 5000);
    checkMessage(got, { content: 'across nodes', senderId: 'u-alice', projectId: P });
    assert.deepEqual(await alice.next('new-message'), got); // the same message on both nodes
    await bob.expectNone('new-message', 300); // no duplicate
    await carol.expectNone('new-message', 0);
  });

  it("the emitter's to('user:<id>').emit('notification') reaches that user on both nodes", async () => {
    const onA = await connect(A, 'u-dave');
    const onB = await connect(B, 'u-dave', { transports: ['polling'] });
    const other = await connect(B, 'u-erin');
    for (const c of [onA, onB]) assert.equal((await c.ack('join-user-room', 'u-dave'))?.ok, true);
    assert.equal((await other.ack('join-user-room', 'u-erin'))?.ok, true);
    const note = { id: 'n-1', type: 'task', title: 'Review the deploy', read: false };
    emitter.to('user:u-dave').emit('notification', note);
    assert.deepEqual(await onA.next('notification', 5000), note);
    assert.deepEqual(await onB.next('notification', 5000), note);
    await other.expectNone('notification', 300);
    await onA.expectNone('notification', 0);
  });

  it('a revocation POSTed to node A ends the user\'s sessions on node B', async () => {
    const victim = await connect(B, 'u-rev');
    const bystander = await connect(B, 'u-frank');
    const gone = withTimeout(new Promise((resolve) => victim.socket.once('disconnect', resolve)), 5000, 'disconnect');
    const res = await api(A.url, 'POST', '/api/users/u-rev/revoke', { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(res.status, 200, res.body);
    assert.equal(await gone, 'io server disconnect');
    await sleep(300);
    assert.equal(bystander.socket.connected, true, 'another user on B keeps its session');
  });
});
