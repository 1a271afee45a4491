// A mixed cluster: our node A and N, a plain Node socket.io 4.8 server with the official
// @socket.io/redis-adapter 8.3 (cluster-peer.js), through one real redis-server. Shows
// both directions of broadcasts, the adapter's requests (fetchSockets, socketsJoin,
// socketsLeave, disconnectSockets, serverSideEmit with and without ack, broadcast with
// acks) and serverCount, then that --redis-key-prefix names the channels: nodes with the
// same prefix form a cluster, a node with another prefix is not in it.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { Clients, ioManager, wrapSocket, startServer } = require('./helpers');
const { RedisServer, startNode, startPeer, connect, waitMesh, waitFor, room } = require('./cluster-helpers');

const QUIET_MS = 300;

async function once(c, expected, what) {
  assert.deepEqual(await c.any.next(), expected, what);
  assert.deepEqual(await c.any.drain(QUIET_MS), [], `${what}: a duplicate or another event`);
}

async function nothing(list, what) {
  for (const c of list) assert.deepEqual(await c.any.drain(0), [], what);
}

/** Waits until `c`'s rooms (asked of its own node) satisfy `pred`; returns them. */
function roomsUntil(c, pred, what) {
  return waitFor(async () => {
    const rooms = await c.call('rooms');
    return pred(rooms) && rooms;
  }, { timeout: 3000, what });
}

/** Answers event `ask` with `${name}:${arg}` (for broadcast-with-ack). */
function answers(c, name) {
  c.socket.on('ask', (arg, cb) => cb(`${name}:${arg}`));
  return c;
}

describe('cluster: our node with a Node socket.io peer', { timeout: 40000 }, () => {
  let redis;
  let A;
  let N;
  const clients = new Clients();

  before(async () => {
    redis = await RedisServer.start();
    [A, N] = await Promise.all([startNode(redis), startPeer(redis)]);
    await waitMesh([A, N], clients);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients.closeAll();
    await Promise.all([A?.stop(), N?.stop()]);
    await redis?.stop();
  });

  async function on(node, rooms = [], nsp = '/') {
    const c = await connect(node, clients, nsp);
    for (const r of rooms) assert.equal(await c.call('join', r), true);
    return c;
  }

  it('server-count is 2 on both nodes and both namespaces', async () => {
    for (const nsp of ['/', '/custom']) {
      for (const node of [A, N]) {
        const c = await on(node, [], nsp);
        assert.equal(await c.call('server-count'), 2, `${node === A ? 'A' : 'N'} ${nsp}`);
      }
    }
  });

  it('N\'s io.to(room).emit reaches our clients; our broadcasts reach N\'s', async () => {
    const r = room();
    const [a1, a2, n1, n2] = [await on(A, [r]), await on(A), await on(N, [r]), await on(N)];
    assert.equal(await n1.call('broadcast', { rooms: [r], event: 'from-n', args: ['hi', { n: 1 }] }), true);
    await Promise.all([once(a1, ['from-n', 'hi', { n: 1 }], 'our member'), once(n1, ['from-n', 'hi', { n: 1 }], 'N\'s member')]);
    await nothing([a2, n2], 'outside the room');

    assert.equal(await a1.call('broadcast', { rooms: [r], event: 'from-a', args: [Buffer.from([1, 2, 3])], broadcast: true }), true);
    const [event, buf] = await n1.any.next();
    assert.equal(event, 'from-a');
    assert.ok(Buffer.isBuffer(buf) && buf.equals(Buffer.from([1, 2, 3])), 'binary from our node to N');
    assert.deepEqual(await n1.any.drain(QUIET_MS), []);
    await nothing([a1, a2, n2], 'sender or outside');

    // a socket of N addressed by id from our node, and the other way round
    assert.equal(await a2.call('broadcast', { rooms: [n2.socket.id], event: 'direct', args: [] }), true);
    await once(n2, ['direct'], 'N\'s socket by id');
    assert.equal(await n2.call('broadcast', { rooms: [a2.socket.id], event: 'direct', args: [2] }), true);
    await once(a2, ['direct', 2], 'our socket by id');
    await nothing([a1, n1], 'not addressed');
  });

  it('fetch-sockets from either node sees the other\'s sockets with rooms and data', async () => {
    const r = room();
    const x = room('x');
    const a1 = await on(A, [r, x]);
    const n1 = await on(N, [r]);
    const dataA = { user: 'ana', n: 1, tags: ['x', 'y'], nested: { 'ü': '✓', none: null } };
    const dataN = { user: 'nod', n: 2 };
    assert.equal(await a1.call('set-data', dataA), true);
    assert.equal(await n1.call('set-data', dataN), true);
    const roomsA = await a1.call('rooms');
    assert.deepEqual(roomsA, [a1.socket.id, r, x].sort());

    const expected = [
      { id: a1.socket.id, rooms: roomsA, data: dataA },
      { id: n1.socket.id, rooms: [n1.socket.id, r].sort(), data: dataN },
    ].sort((p, q) => (p.id < q.id ? -1 : 1));
    assert.deepEqual(await n1.call('fetch-sockets', { rooms: [r] }), expected, 'from N');
    assert.deepEqual(await a1.call('fetch-sockets', { rooms: [r] }), expected, 'from our node');
    assert.deepEqual(await n1.call('fetch-sockets', { rooms: [r], except: [x] }),
      [{ id: n1.socket.id, rooms: [n1.socket.id, r].sort(), data: dataN }], 'except from N');
    assert.deepEqual(await a1.call('fetch-sockets', { rooms: [a1.socket.id, n1.socket.id], except: [r] }), [], 'both excluded');
  });

  it('sockets-join and sockets-leave from N change our sockets\' rooms (and the reverse)', async () => {
    const r = room();
    const keep = room('keep');
    const j1 = room('j1');
    const j2 = room('j2');
    const [a1, a2, a3, n1] = [await on(A, [r]), await on(A, [r]), await on(A, [r, keep]), await on(N)];
    assert.equal(await n1.call('sockets-join', { rooms: [r], except: [keep], join: [j1, j2] }), true);
    for (const c of [a1, a2]) await roomsUntil(c, (rs) => rs.includes(j1) && rs.includes(j2), 'joined j1 and j2');
    assert.deepEqual(await a3.call('rooms'), [a3.socket.id, r, keep].sort(), 'the excluded socket joined');
    assert.deepEqual(await n1.call('rooms'), [n1.socket.id], 'N\'s socket outside r joined');

    // the joined room is live: N's broadcast to it reaches our sockets through Redis
    assert.equal(await n1.call('broadcast', { rooms: [j2], event: 'in-j2', args: [] }), true);
    await Promise.all([once(a1, ['in-j2'], 'a1'), once(a2, ['in-j2'], 'a2')]);
    await nothing([a3], 'a3 is not in j2');

    assert.equal(await n1.call('sockets-leave', { rooms: [j1], leave: [j1] }), true);
    for (const c of [a1, a2]) {
      assert.deepEqual(await roomsUntil(c, (rs) => !rs.includes(j1), 'left j1'), [c.socket.id, r, j2].sort());
    }

    // reverse: from our node onto N's socket
    const n2 = await on(N, [r]);
    assert.equal(await a1.call('sockets-join', { rooms: [n2.socket.id], join: [j1] }), true);
    assert.deepEqual(await roomsUntil(n2, (rs) => rs.includes(j1), 'N\'s socket joined j1'), [n2.socket.id, r, j1].sort());
    assert.equal(await a1.call('sockets-leave', { rooms: [n2.socket.id], leave: [r] }), true);
    assert.deepEqual(await roomsUntil(n2, (rs) => !rs.includes(r), 'N\'s socket left r'), [n2.socket.id, j1].sort());
  });

  it('disconnect-sockets from N disconnects our client with "io server disconnect"', async () => {
    const kick = room('kick');
    const victim = await on(A, [kick]);
    const bystander = await on(A);
    const n1 = await on(N);
    assert.equal(await n1.call('disconnect-sockets', { rooms: [kick] }), true);
    assert.equal((await victim.q.disconnect.next(3000))[0], 'io server disconnect');
    assert.equal(bystander.socket.connected, true);
    assert.deepEqual(await bystander.call('rooms'), [bystander.socket.id], 'the bystander still answers');
    assert.equal(bystander.q.disconnect.pending, 0);

    // close: false keeps the client's other namespace on the same connection; close: true
    // ends the connection, and Node first sends each namespace of it a DISCONNECT
    // (Client#_disconnect), so the other namespace sees "io server disconnect" too
    for (const close of [false, true]) {
      const manager = ioManager(A.url, { transports: ['websocket'] });
      const main = wrapSocket(manager.socket('/'));
      const custom = wrapSocket(manager.socket('/custom'));
      clients.add(main.socket);
      clients.add(custom.socket);
      await Promise.all([main.connect(), custom.connect()]);
      assert.equal(await n1.call('disconnect-sockets', { rooms: [main.socket.id], close }), true);
      assert.equal((await main.q.disconnect.next(3000))[0], 'io server disconnect', `close ${close}`);
      if (close) {
        assert.equal((await custom.q.disconnect.next(3000))[0], 'io server disconnect', 'close: true ends the connection');
      } else {
        await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
        assert.equal(custom.socket.connected, true, 'close: false left the other namespace alone');
        assert.equal(custom.q.disconnect.pending, 0);
      }
    }
  });

  it('server-side-emit with ack: each node answers the other, with its own uid', async () => {
    const a1 = await on(A);
    const n1 = await on(N);
    a1.callMs = n1.callMs = 6000; // the adapter waits 5 s at most for the answers
    const args = [1, 'two', { three: [3] }];
    let t0 = Date.now();
    const fromN = await n1.call('server-side-emit', { event: 'who', args, ack: true, timeout: 4000 });
    assert.ok(Date.now() - t0 < 4000, `answered in ${Date.now() - t0} ms, not by the adapter's timeout`);
    assert.equal(fromN.err, null);
    assert.equal(fromN.responses.length, 1, JSON.stringify(fromN));
    const [ours] = fromN.responses;
    assert.deepEqual({ ...ours, node: typeof ours.node }, { node: 'string', event: 'who', args });

    t0 = Date.now();
    const fromA = await a1.call('server-side-emit', { event: 'who', args: ['back'], ack: true, timeout: 4000 });
    assert.ok(Date.now() - t0 < 4000, `answered in ${Date.now() - t0} ms`);
    assert.equal(fromA.err, null);
    assert.equal(fromA.responses.length, 1, JSON.stringify(fromA));
    const [theirs] = fromA.responses;
    assert.deepEqual({ ...theirs, node: typeof theirs.node }, { node: 'string', event: 'who', args: ['back'] });
    assert.ok(ours.node.length > 0 && theirs.node.length > 0);
    assert.notEqual(ours.node, theirs.node, 'our node answered with N\'s uid');
  });

  it('server-side-emit without ack: "relay" runs on the other node only', async () => {
    const [a1, a2] = [await on(A), await on(A)];
    const [n1, n2] = [await on(N), await on(N)];
    const customA = await on(A, [], '/custom');
    assert.equal(await n1.call('server-side-emit', { event: 'relay', args: ['relayed', 5, { k: 'v' }] }), true);
    await Promise.all([a1, a2].map((c) => once(c, ['relayed', 5, { k: 'v' }], 'our clients via relay')));
    await nothing([n1, n2], 'serverSideEmit reached its own node');
    await nothing([customA], 'relay crossed into /custom');

    assert.equal(await a1.call('server-side-emit', { event: 'relay', args: ['back', 6] }), true);
    await Promise.all([n1, n2].map((c) => once(c, ['back', 6], 'N\'s clients via relay')));
    await nothing([a1, a2], 'our own node ran our serverSideEmit');
  });

  it('broadcast-with-ack collects the acks of clients on both nodes', async () => {
    const r = room();
    const a1 = answers(await on(A, [r]), 'a1');
    const a2 = answers(await on(A, [r]), 'a2');
    const n2 = answers(await on(N, [r]), 'n2');
    const n1 = await on(N);
    const a3 = await on(A);
    const all = ['a1:q', 'a2:q', 'n2:q'];

    let res = await n1.call('broadcast-with-ack', { rooms: [r], event: 'ask', args: ['q'], timeout: 2000 });
    assert.equal(res.err, null, JSON.stringify(res));
    assert.deepEqual([...res.responses].sort(), all, 'from N');
    res = await a3.call('broadcast-with-ack', { rooms: [r], event: 'ask', args: ['q'], timeout: 2000 });
    assert.equal(res.err, null, JSON.stringify(res));
    assert.deepEqual([...res.responses].sort(), all, 'from our node');

    // a member that never answers: the timeout, with the answers that came
    const silent = await on(A, [r]);
    assert.ok(silent);
    const t0 = Date.now();
    res = await n1.call('broadcast-with-ack', { rooms: [r], event: 'ask', args: ['t'], timeout: 500 });
    assert.ok(Date.now() - t0 >= 450, `timed out after ${Date.now() - t0} ms`);
    assert.equal(res.err, 'operation has timed out');
    assert.deepEqual([...res.responses].sort(), ['a1:t', 'a2:t', 'n2:t']);
    assert.ok(a1 && a2 && n2);
  });
});

describe('cluster: --redis-key-prefix', { timeout: 30000 }, () => {
  const PREFIX = 'hubtest';
  let redis;
  let A;
  let N;
  let C;
  let cli;
  const clients = new Clients();

  before(async () => {
    redis = await RedisServer.start();
    [A, N, C] = await Promise.all([
      // a database number in the URL: accepted (Redis pub/sub spans all databases)
      startNode(redis, { prefix: PREFIX, url: redis.urlDb(2) }),
      startPeer(redis, { prefix: PREFIX }),
      // the other prefix, and the URL from REDIS_URL instead of --redis
      startServer(['--redis-key-prefix', 'other'], { env: { ...process.env, REDIS_URL: redis.url } }),
    ]);
    await waitMesh([A, N], clients);
    await waitMesh([C], clients); // alone: server-count 1
    cli = createClient({ url: redis.url });
    cli.on('error', () => {});
    await cli.connect();
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients.closeAll();
    await cli?.disconnect().catch(() => {});
    await Promise.all([A?.stop(), N?.stop(), C?.stop()]);
    await redis?.stop();
  });

  it('the channels carry the prefix; same prefix = one cluster, the other prefix is alone', async () => {
    const numsub = await cli.pubSubNumSub([`${PREFIX}-request#/#`, `${PREFIX}-request#/custom#`, 'other-request#/#', 'socket.io-request#/#']);
    assert.deepEqual({ ...numsub }, {
      [`${PREFIX}-request#/#`]: 2,
      [`${PREFIX}-request#/custom#`]: 2,
      'other-request#/#': 1,
      'socket.io-request#/#': 0,
    });
    const a1 = await connect(A, clients);
    const n1 = await connect(N, clients);
    const c1 = await connect(C, clients);
    assert.equal(await a1.call('server-count'), 2);
    assert.equal(await n1.call('server-count'), 2);
    assert.equal(await c1.call('server-count'), 1);

    assert.equal(await n1.call('broadcast', { event: 'p', args: [1] }), true);
    await Promise.all([once(a1, ['p', 1], 'same prefix'), once(n1, ['p', 1], 'sender')]);
    await nothing([c1], 'another prefix got the broadcast');

    assert.equal(await c1.call('broadcast', { event: 'q', args: [2] }), true);
    await once(c1, ['q', 2], 'the lone node itself');
    await nothing([a1, n1], 'the lone node reached the cluster');

    c1.callMs = 6000;
    assert.deepEqual(await c1.call('server-side-emit', { event: 'who', args: [], ack: true, timeout: 1000 }),
      { err: null, responses: [] }, 'nobody else with that prefix');
    const res = await a1.call('server-side-emit', { event: 'who', args: [], ack: true, timeout: 4000 });
    assert.equal(res.err, null);
    assert.equal(res.responses.length, 1, 'only N answers in the prefixed cluster');
  });
});
