// Project Hub's durable state in Redis (docs/cluster.md, "Durable state"): three
// `hub-server --app hub` nodes on one persistent redis-server (appendonly yes,
// appendfsync always), clients with the real socket.io-client spread over them.
//   - concurrent sends from every node: each seq once, every member gets every message
//     once and in seq order, the same history on every node;
//   - Redis killed and restarted with its data: nodes reconnect and resubscribe, what was
//     published while a node's feed was down is filled from the log, nothing is lost;
//   - Redis wiped: a client that reconnects gets recovered === false and syncs;
//   - kill -9 of the node a third of the clients use, during a stream of acknowledged
//     sends: those clients reconnect to the other nodes (given the list, as a load
//     balancer would), recover, and every acknowledged message is in the log once, in seq
//     order, and reached every member once.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { sleep, withTimeout } = require('./helpers');
const { RedisServer } = require('./cluster-helpers');
const {
  skipReason, mintToken, startHub, HubClients, joinChat, getMessages, FAST_RECONNECT, cutTransport, resume,
  nextConnect,
} = require('./hub-helpers');

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

// Every new-message a client received, as seqs, until it has `n` or `ms` passed.
async function seqsOf(c, n, ms = 10000) {
  const out = [];
  const deadline = Date.now() + ms;
  while (out.length < n && Date.now() < deadline) {
    try {
      const [m] = await c.q['new-message'].next(Math.max(1, deadline - Date.now()));
      out.push(m.seq);
    } catch { break; }
  }
  return out;
}

// send-message with an ack and a bound: the stored message, or null (refused or no ack).
async function trySend(c, projectId, content, ms = 3000) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    c.socket.emit('send-message', { projectId, content }, (r) => {
      clearTimeout(timer);
      resolve(r?.ok ? r.message : null);
    });
  });
}

async function history(node, user, projectId) {
  const res = await getMessages(node.url, mintToken(user, { projects: [projectId] }), projectId, 'limit=500');
  assert.equal(res.status, 200, res.body);
  return res.json.messages;
}

describe('cluster: Project Hub state in Redis, three nodes', { skip: skipReason, timeout: 120000 }, () => {
  let redis;
  let nodes = [];
  const clients = new HubClients();

  before(async () => {
    redis = await RedisServer.start({ durable: true });
    // debug: a session that is not recovered says why (shown when the check fails).
    const args = ['--redis', redis.url, '--rate-limit', '1000/1s', '--log-level', 'debug'];
    nodes = await Promise.all([startHub(args), startHub(args), startHub(args)]);
    const probe = createClient({ url: redis.url });
    probe.on('error', () => {});
    await probe.connect();
    for (let i = 0; i < 100; i++) { // bounded: 5 s, until the three nodes subscribed
      const [, n] = await probe.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io-request#/#']);
      if (Number(n) === 3) break;
      await sleep(50);
    }
    await probe.quit();
  });
  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });
  afterEach(() => clients.closeAll());

  const connect = (node, user, project, opts = {}) =>
    clients.connect(node.url, { token: mintToken(user, { projects: [project] }), ...opts });

  it('concurrent sends from every node: each seq once; every member gets all, once, in order; one history', async () => {
    const P = 'p-seq';
    const members = [];
    for (let i = 0; i < 6; i++) {
      const c = await connect(nodes[i % 3], `u-seq-${i}`, P);
      await joinChat(c, P);
      members.push(c);
    }
    const perClient = 15;
    const acked = (await Promise.all(members.map(async (c, i) => {
      const mine = [];
      for (let j = 0; j < perClient; j++) mine.push(await trySend(c, P, `c${i} #${j}`));
      return mine;
    }))).flat();
    assert.ok(acked.every(Boolean), 'every send acknowledged');
    const total = members.length * perClient;
    assert.deepEqual(acked.map((m) => m.seq).sort((a, b) => a - b), range(1, total), 'each seq once, no gap');
    for (const [i, c] of members.entries()) {
      assert.deepEqual(await seqsOf(c, total), range(1, total), `member ${i} (node ${i % 3}): all, once, in order`);
      await c.expectNone('new-message', 0);
    }
    await members[0].expectNone('new-message', 300);
    const views = await Promise.all(nodes.map((n) => history(n, 'u-seq-0', P)));
    for (const v of views) assert.deepEqual(v, views[0], 'the same history on every node');
    assert.deepEqual(views[0].map((m) => m.seq), range(1, total));
    const bySeq = new Map(acked.map((m) => [m.seq, m.content]));
    for (const m of views[0]) assert.equal(m.content, bySeq.get(m.seq));
  });

  it('Redis killed and restarted with its data: nodes resubscribe, gaps are filled, nothing lost', async () => {
    const P = 'p-redis-restart';
    const members = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect(nodes[i], `u-rr-${i}`, P);
      await joinChat(c, P);
      members.push(c);
    }
    const before = await trySend(members[0], P, 'before the restart');
    assert.ok(before);
    for (const c of members) assert.deepEqual(await seqsOf(c, 1), [1]);
    await redis.kill9();
    const refused = await trySend(members[1], P, 'while Redis is down', 4000);
    assert.equal(refused, null, 'not acknowledged while Redis is down');
    await redis.launch();
    // The first acknowledged sends after the restart: nodes whose feed is still
    // reconnecting miss their publications, and fill them from the log.
    const sent = [];
    const deadline = Date.now() + 20000;
    while (sent.length < 5 && Date.now() < deadline) {
      const m = await trySend(members[sent.length % 3], P, `after the restart ${sent.length}`, 2000);
      if (m) sent.push(m); else await sleep(100);
    }
    assert.equal(sent.length, 5, 'sends work again after the restart');
    const seqs = sent.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    const expected = (await history(nodes[2], 'u-rr-0', P)).map((m) => m.seq);
    assert.equal(expected[0], 1, 'the message from before the restart survived it');
    for (const s of seqs) assert.ok(expected.includes(s), `acknowledged ${s} is in the log`);
    for (const [i, c] of members.entries()) {
      assert.deepEqual(await seqsOf(c, expected.length - 1, 15000), expected.slice(1), `member ${i}: once, in order`);
    }
  });

  it('Redis wiped: a client that reconnects gets recovered === false, then syncs', async () => {
    const P = 'p-wipe';
    const a = await connect(nodes[0], 'u-wipe', P, { io: FAST_RECONNECT });
    const b = await connect(nodes[1], 'u-wipe-peer', P);
    await joinChat(a, P);
    await joinChat(b, P);
    assert.ok(await trySend(b, P, 'before the wipe'));
    assert.deepEqual(await seqsOf(a, 1), [1]);
    const wiper = createClient({ url: redis.url });
    wiper.on('error', () => {});
    await wiper.connect();
    await wiper.sendCommand(['FLUSHALL']);
    await wiper.quit();
    await cutTransport(a);
    await resume(a);
    assert.equal(a.socket.recovered, false, 'no session to recover: the data is gone');
    await joinChat(a, P);
    const after = await trySend(b, P, 'after the wipe');
    assert.ok(after);
    assert.equal(after.seq, 1, 'the log starts again');
    const synced = await a.ack('sync', { projectId: P, afterSeq: 0 });
    assert.equal(synced?.ok, true, JSON.stringify(synced));
    assert.deepEqual(synced.messages.map((m) => m.content), ['after the wipe']);
  });

  it('kill -9 of a node during acknowledged sends: its clients recover elsewhere; every acked message once, in order, to everyone', async () => {
    const P = 'p-kill';
    const [A, B, C] = nodes;
    const members = [];
    for (let i = 0; i < 6; i++) {
      const node = [A, B, C][i % 3];
      const c = await connect(node, `u-kill-${i}`, P, { io: FAST_RECONNECT });
      await joinChat(c, P);
      members.push(c);
    }
    const onC = members.filter((_, i) => i % 3 === 2);
    // The load balancer's part: a client whose node is gone reconnects to another one.
    onC.forEach((c, k) => c.socket.on('disconnect', () => { c.socket.io.uri = [A, B][k % 2].url; }));
    const reconnected = onC.map((c) => nextConnect(c, 20000));
    const acked = [];
    const senders = members.map(async (c, i) => {
      for (let j = 0; j < 20; j++) {
        const m = await trySend(c, P, `k${i} #${j}`, 2000);
        if (m) acked.push(m);
        await sleep(10);
      }
    });
    await sleep(300);
    await C.stop('SIGKILL');
    await Promise.all(senders);
    await withTimeout(Promise.all(reconnected), 20000, 'clients of the killed node reconnect');
    const why = () => [A, B].flatMap((n) => n.output.filter((l) => /not recovered|session record|being recovered/.test(l))).join('\n');
    for (const c of onC) assert.equal(c.socket.recovered, true, `recovered on another node; the nodes said:\n${why()}`);

    const log = (await history(A, 'u-kill-0', P)).map((m) => m.seq);
    assert.deepEqual(log, range(1, log.length), 'the log: every seq once, in order');
    for (const m of acked) assert.ok(log.includes(m.seq), `acknowledged ${m.seq} is in the log`);
    assert.ok(acked.length >= 80, `most sends acknowledged (${acked.length})`);
    for (const [i, c] of members.entries()) {
      const got = await seqsOf(c, log.length, 15000);
      assert.deepEqual(got, log, `member ${i}${i % 3 === 2 ? ' (was on the killed node)' : ''}: every message once, in order`);
    }
  });
});
