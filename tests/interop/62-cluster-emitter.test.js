// The official @socket.io/redis-emitter 5.1 (over node-redis 4) in the test process,
// talking to two of our nodes through a real redis-server: room emits reach the members
// on both nodes and nobody else, of('/custom'), except, binary, serverSideEmit('relay')
// on every node, socketsJoin / socketsLeave / disconnectSockets on our sockets.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { Emitter } = require('@socket.io/redis-emitter');
const { Clients } = require('./helpers');
const { RedisServer, startNode, connect, waitMesh, waitFor, room } = require('./cluster-helpers');

const QUIET_MS = 300;

async function once(c, expected, what) {
  assert.deepEqual(await c.any.next(), expected, what);
  assert.deepEqual(await c.any.drain(QUIET_MS), [], `${what}: a duplicate or another event`);
}

async function nothing(list, what) {
  for (const c of list) assert.deepEqual(await c.any.drain(0), [], what);
}

describe('cluster: @socket.io/redis-emitter to two nodes', { timeout: 30000 }, () => {
  let redis;
  let A;
  let B;
  let pub;
  let emitter;
  const clients = new Clients();

  before(async () => {
    redis = await RedisServer.start();
    [A, B] = await Promise.all([startNode(redis), startNode(redis)]);
    await waitMesh([A, B], clients);
    pub = createClient({ url: redis.url });
    pub.on('error', () => {});
    await pub.connect();
    emitter = new Emitter(pub);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients.closeAll();
    await pub?.disconnect().catch(() => {});
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
  });

  async function on(node, rooms = [], nsp = '/') {
    const c = await connect(node, clients, nsp);
    for (const r of rooms) assert.equal(await c.call('join', r), true);
    return c;
  }

  it('to(user:42).emit reaches the members on both nodes, not the others', async () => {
    const user = `user:42-${process.pid}`; // a room name with a colon, as apps use
    const [a1, a2, b1, b2] = [await on(A, [user]), await on(A, ['user:43']), await on(B, [user]), await on(B)];
    const note = { id: 7, text: 'you have mail ✉', at: 1700000000000, tags: ['a', 'b'], read: false, extra: null };
    emitter.to(user).emit('notification', note);
    await Promise.all([once(a1, ['notification', note], 'member on A'), once(b1, ['notification', note], 'member on B')]);
    await nothing([a2, b2], 'not user:42');

    // several rooms in one emit (the emitter's other channel): each member once
    const r = room();
    const both = await on(A, [user, r]);
    emitter.to([user, r]).emit('multi', 1);
    await Promise.all([a1, b1, both].map((c) => once(c, ['multi', 1], 'a member of one or both rooms')));
    await nothing([a2, b2], 'outside both');

    // no room: the whole namespace on both nodes
    emitter.emit('everyone', 'x');
    await Promise.all([a1, a2, b1, b2, both].map((c) => once(c, ['everyone', 'x'], 'whole namespace')));
  });

  it('of("/custom") reaches "/custom" only', async () => {
    const r = room();
    const [mainA, mainB] = [await on(A, [r]), await on(B, [r])];
    const [customA, customB] = [await on(A, [r], '/custom'), await on(B, [r], '/custom')];
    emitter.of('/custom').to(r).emit('ns', 'custom');
    await Promise.all([once(customA, ['ns', 'custom'], '/custom on A'), once(customB, ['ns', 'custom'], '/custom on B')]);
    await nothing([mainA, mainB], '"/" got the /custom emit');
    emitter.of('custom').emit('ns', 'no slash'); // the emitter adds the leading "/"
    await Promise.all([once(customA, ['ns', 'no slash'], 'A'), once(customB, ['ns', 'no slash'], 'B')]);
    await nothing([mainA, mainB], '"/" got the /custom emit');
  });

  it('except leaves the excluded room out on both nodes', async () => {
    const team = room('team');
    const muted = room('muted');
    const [a1, a2, b1, b2] = [await on(A, [team]), await on(A, [team, muted]), await on(B, [team, muted]), await on(B, [team])];
    emitter.to(team).except(muted).emit('standup', { at: '09:30' });
    await Promise.all([once(a1, ['standup', { at: '09:30' }], 'A'), once(b2, ['standup', { at: '09:30' }], 'B')]);
    await nothing([a2, b1], 'muted');
  });

  it('binary arguments from the emitter arrive as Buffers', async () => {
    const r = room();
    const [a1, b1] = [await on(A, [r]), await on(B, [r])];
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 255]);
    emitter.to(r).emit('blob', bytes, { inner: Buffer.from('x') });
    for (const c of [a1, b1]) {
      const [event, got, obj] = await c.any.next();
      assert.equal(event, 'blob');
      assert.ok(Buffer.isBuffer(got) && got.equals(bytes), 'top-level buffer');
      assert.ok(Buffer.isBuffer(obj.inner) && obj.inner.equals(Buffer.from('x')), 'nested buffer');
    }
  });

  it('serverSideEmit("relay", ...) makes every node emit to its own clients', async () => {
    const [a1, a2, b1] = [await on(A), await on(A), await on(B)];
    const customB = await on(B, [], '/custom');
    emitter.serverSideEmit('relay', 'ev', 1);
    await Promise.all([a1, a2, b1].map((c) => once(c, ['ev', 1], 'every node\'s "/" clients')));
    await nothing([customB], 'relay on "/" reached "/custom"');
    emitter.of('/custom').serverSideEmit('relay', 'ev', 2);
    await once(customB, ['ev', 2], '/custom relay');
    await nothing([a1, a2, b1], '"/" clients got the /custom relay');
  });

  it('socketsJoin / socketsLeave change our sockets\' rooms on both nodes', async () => {
    const user = room('user');
    const vip = room('vip');
    const [a1, a2, b1] = [await on(A, [user]), await on(A), await on(B, [user])];
    emitter.in(user).socketsJoin(vip);
    for (const c of [a1, b1]) {
      await waitFor(async () => (await c.call('rooms')).includes(vip), { timeout: 3000, what: 'joined vip' });
    }
    assert.deepEqual(await a2.call('rooms'), [a2.socket.id], 'a socket outside the room joined');
    emitter.to(vip).emit('vip-only', true);
    await Promise.all([once(a1, ['vip-only', true], 'A'), once(b1, ['vip-only', true], 'B')]);
    await nothing([a2], 'not vip');

    emitter.in(b1.socket.id).socketsLeave([vip, user]); // one socket, by its id, two rooms
    await waitFor(async () => (await b1.call('rooms')).length === 1, { timeout: 3000, what: 'left vip and user' });
    assert.deepEqual(await b1.call('rooms'), [b1.socket.id]);
    assert.deepEqual(await a1.call('rooms'), [a1.socket.id, user, vip].sort(), 'the other socket kept its rooms');
  });

  it('disconnectSockets disconnects the selected sockets on both nodes', async () => {
    const kick = room('kick');
    const [victimA, stayA, victimB, stayB] = [await on(A, [kick]), await on(A), await on(B, [kick]), await on(B)];
    emitter.in(kick).disconnectSockets();
    for (const c of [victimA, victimB]) assert.equal((await c.q.disconnect.next(3000))[0], 'io server disconnect');
    for (const c of [stayA, stayB]) {
      assert.equal(c.socket.connected, true);
      assert.deepEqual(await c.call('rooms'), [c.socket.id], 'still answers');
      assert.equal(c.q.disconnect.pending, 0);
    }
  });
});
