// Redis dies under a two-node cluster (kill -9) and comes back on the same port. Local
// delivery on each node goes on through the outage without a pause, /healthz reports
// Redis down (status still 200), broadcasts meanwhile are counted as lost; after the
// restart the nodes link again by themselves and cross-node broadcasts, fetchSockets and
// serverCount work for the same client sessions, which never saw a disconnect.
// /metrics (hub_redis_link_up, hub_cluster_publications_*, hub_redis_reconnects_total)
// is hub-server's: those checks are skipped for the reference server.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { Clients, isReference, sleep } = require('./helpers');
const { RedisServer, startNode, connect, waitMesh, waitFor, room, metric, healthz } = require('./cluster-helpers');

const QUIET_MS = 300;

async function redisState(node) {
  const h = await healthz(node);
  assert.equal(h.status, 200, 'healthz stays 200: local delivery works');
  return h.body.redis;
}

async function metrics(node) {
  return {
    up: await metric(node, 'hub_redis_link_up'),
    published: await metric(node, 'hub_cluster_publications_total'),
    lost: await metric(node, 'hub_cluster_publications_lost_total'),
    reconnects: await metric(node, 'hub_redis_reconnects_total'),
  };
}

describe('cluster: Redis killed and restarted', { timeout: 40000 }, () => {
  let redis;
  let A;
  let B;
  const clients = new Clients();

  before(async () => {
    redis = await RedisServer.start();
    [A, B] = await Promise.all([startNode(redis), startNode(redis)]);
    await waitMesh([A, B], clients);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients.closeAll();
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
  });

  it('local delivery survives the outage; the cluster heals for the same sessions', async () => {
    const r = room();
    const [a1, a2, b1, b2] = [await connect(A, clients), await connect(A, clients), await connect(B, clients), await connect(B, clients)];
    const all = [a1, a2, b1, b2];
    for (const c of all) assert.equal(await c.call('join', r), true);
    const ids = all.map((c) => c.socket.id);
    const engines = all.map((c) => c.socket.io.engine.id);
    const send = (c, event, args) => c.call('broadcast', { rooms: [r], event, args, broadcast: true });

    // linked: A's broadcast reaches B
    assert.equal(await send(a1, 'before', [0]), true);
    for (const c of [a2, b1, b2]) assert.deepEqual(await c.any.next(), ['before', 0]);
    for (const node of [A, B]) assert.equal(await redisState(node), 'up');
    const m0 = isReference ? null : { A: await metrics(A), B: await metrics(B) };
    if (m0) {
      for (const [name, m] of Object.entries(m0)) {
        assert.equal(m.up, 1, `${name}: hub_redis_link_up`);
        assert.ok(m.published >= 1, `${name}: hub_cluster_publications_total ${m.published}`);
        assert.equal(typeof m.lost, 'number', `${name}: hub_cluster_publications_lost_total`);
        assert.equal(typeof m.reconnects, 'number', `${name}: hub_redis_reconnects_total`);
      }
    }

    await redis.kill9();
    for (const node of [A, B]) {
      const state = await waitFor(async () => {
        const s = await redisState(node);
        return typeof s === 'string' && s.startsWith('down') && s;
      }, { timeout: 5000, interval: 100, what: 'healthz redis down' });
      assert.match(state, /^down/);
    }
    if (m0) {
      for (const node of [A, B]) {
        await waitFor(async () => (await metric(node, 'hub_redis_link_up')) === 0, { timeout: 3000, what: 'hub_redis_link_up 0' });
      }
    }

    // local broadcasts on each node go on, promptly and in order
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      assert.equal(await send(a1, 'outage-a', [i]), true);
      assert.deepEqual(await a2.any.next(1000), ['outage-a', i], 'A\'s local delivery during the outage');
      assert.equal(await send(b1, 'outage-b', [i]), true);
      assert.deepEqual(await b2.any.next(1000), ['outage-b', i], 'B\'s local delivery during the outage');
      assert.ok(Date.now() - t0 < 1500, `round ${i} took ${Date.now() - t0} ms`);
      await sleep(100);
    }
    if (m0) {
      const lostA = await metric(A, 'hub_cluster_publications_lost_total');
      const lostB = await metric(B, 'hub_cluster_publications_lost_total');
      assert.ok(lostA >= m0.A.lost + 3, `A lost ${lostA - m0.A.lost} publications, sent 3 during the outage`);
      assert.ok(lostB >= m0.B.lost + 3, `B lost ${lostB - m0.B.lost} publications, sent 3 during the outage`);
    }

    await redis.restart();
    // heals by itself: probe A -> B, then B -> A, until one arrives (bounded)
    for (const [from, to, event] of [[a1, b1, 'heal-ab'], [b1, a1, 'heal-ba']]) {
      let seen = false;
      const onHeal = () => { seen = true; };
      to.socket.on(event, onHeal);
      try {
        await waitFor(async () => {
          await send(from, event, [Date.now()]);
          await sleep(150);
          return seen;
        }, { timeout: 10000, interval: 0, what: `${event} across nodes after the restart` });
      } finally { to.socket.off(event, onHeal); }
    }
    for (const node of [A, B]) {
      await waitFor(async () => (await redisState(node)) === 'up', { timeout: 5000, interval: 100, what: 'healthz redis up' });
    }

    // now exactly once across nodes again (leftovers of the probes drained first; Node's
    // node-redis also sends the outage's queued publications late, after reconnecting)
    await sleep(QUIET_MS);
    for (const c of all) c.any.items.splice(0);
    assert.equal(await send(a1, 'after', ['healed']), true);
    for (const c of [a2, b1, b2]) assert.deepEqual(await c.any.next(), ['after', 'healed']);
    for (const c of all) assert.deepEqual(await c.any.drain(0), [], 'a duplicate after healing');
    await sleep(QUIET_MS);
    for (const c of all) assert.deepEqual(c.any.items, [], 'a late duplicate after healing');

    // requests work again too (the request channels are subscribed again)
    assert.equal(await b2.call('server-count'), 2);
    const seen = await b2.call('fetch-sockets', { rooms: [r] });
    assert.deepEqual(seen.map((s) => s.id), [...ids].sort(), 'fetch-sockets across nodes after healing');

    // the same sessions throughout: no disconnect, same socket and Engine.IO ids
    all.forEach((c, i) => {
      assert.equal(c.q.disconnect.pending, 0, `client ${i} saw a disconnect`);
      assert.equal(c.socket.connected, true);
      assert.equal(c.socket.id, ids[i]);
      assert.equal(c.socket.io.engine.id, engines[i]);
    });

    if (m0) {
      for (const [name, node] of [['A', A], ['B', B]]) {
        const m = await metrics(node);
        assert.equal(m.up, 1, `${name}: hub_redis_link_up after the restart`);
        assert.ok(m.reconnects >= m0[name].reconnects + 1, `${name}: hub_redis_reconnects_total ${m0[name].reconnects} -> ${m.reconnects}`);
        assert.ok(m.published > m0[name].published, `${name}: hub_cluster_publications_total rose`);
      }
    }
  });
});
