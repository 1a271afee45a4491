// Two of our nodes, A and B, in one cluster through a real redis-server (the wire of
// @socket.io/redis-adapter 8.3). Broadcasts from a client on one node reach the right
// clients on both: rooms, except, broadcast (sender left out), binary, local, namespaces,
// several rooms at once, a socket id as a room. Every delivery is checked to happen
// exactly once (a bounded wait after the first shows no duplicate), every "not there" by
// a bounded wait on the clients that must get nothing.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { Clients } = require('./helpers');
const { RedisServer, startNode, connect, waitMesh, room } = require('./cluster-helpers');

const QUIET_MS = 300; // how long "nothing more arrives" is watched

describe('cluster: broadcast across two nodes', { timeout: 30000 }, () => {
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

  /** Connects one client per [node, rooms] entry and joins it to its rooms. */
  async function setup(spec, nsp = '/') {
    return Promise.all(spec.map(async ([node, rooms]) => {
      const c = await connect(node, clients, nsp);
      for (const r of rooms) assert.equal(await c.call('join', r), true);
      return c;
    }));
  }

  /** Asserts `c` gets exactly `expected` (one [event, ...args]) and nothing after it. */
  async function once(c, expected, what) {
    assert.deepEqual(await c.any.next(), expected, what);
    assert.deepEqual(await c.any.drain(QUIET_MS), [], `${what}: a duplicate or another event`);
  }

  async function nothing(list, what) {
    for (const c of list) assert.deepEqual(await c.any.drain(0), [], what);
  }

  it('to a room: members on both nodes get it once, the others nothing', async () => {
    const r = room();
    const [a1, a2, b1, b2, b3] = await setup([[A, [r]], [A, []], [B, []], [B, [r]], [B, ['elsewhere']]]);
    assert.equal(await b1.call('broadcast', { rooms: [r], event: 'news', args: ['hello', 1, { deep: [true, null] }] }), true);
    const expected = ['news', 'hello', 1, { deep: [true, null] }];
    await Promise.all([once(a1, expected, 'member on A'), once(b2, expected, 'member on B')]);
    await nothing([a2, b1, b3], 'not in the room');
  });

  it('except: members of an excluded room are left out on both nodes', async () => {
    const r = room();
    const muted = room('muted');
    const [a1, a2, b1, b2, b3] = await setup([[A, [r, muted]], [A, [r]], [B, []], [B, [r]], [B, [r, muted]]]);
    assert.equal(await b1.call('broadcast', { rooms: [r], except: [muted], event: 'ex', args: [7] }), true);
    await Promise.all([once(a2, ['ex', 7], 'A, not muted'), once(b2, ['ex', 7], 'B, not muted')]);
    await nothing([a1, b3, b1], 'muted or outside');

    // except with no rooms: everyone in the namespace but the excluded room
    assert.equal(await b1.call('broadcast', { except: [muted], event: 'all-but', args: [] }), true);
    await Promise.all([a2, b1, b2].map((c) => once(c, ['all-but'], 'not muted')));
    await nothing([a1, b3], 'muted');
  });

  it('broadcast: true leaves the sender out, not its room-mates on either node', async () => {
    const r = room();
    const [sender, mateB, mateA] = await setup([[B, [r]], [B, [r]], [A, [r]]]);
    assert.equal(await sender.call('broadcast', { rooms: [r], event: 'b', args: ['x'], broadcast: true }), true);
    await Promise.all([once(mateA, ['b', 'x'], 'mate on A'), once(mateB, ['b', 'x'], 'mate on B')]);
    assert.deepEqual(await sender.any.drain(0), [], 'the sender got its own broadcast');

    // Without the flag the sender (in the room) gets it too: the flag is what left it out.
    assert.equal(await sender.call('broadcast', { rooms: [r], event: 'b2', args: [] }), true);
    await Promise.all([sender, mateA, mateB].map((c) => once(c, ['b2'], 'no flag')));
  });

  it('binary arguments cross nodes intact', async () => {
    const r = room();
    const [a1, b1] = await setup([[A, [r]], [B, []]]);
    const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255]);
    const big = Buffer.alloc(70000, 0xab); // more than a 16-bit msgpack length
    const args = [bytes, { nested: { buf: Buffer.from('héllo', 'utf8'), list: [Buffer.alloc(0), 3] } }, big, 'text'];
    assert.equal(await b1.call('broadcast', { rooms: [r], event: 'bin', args }), true);
    const [event, ...got] = await a1.any.next();
    assert.equal(event, 'bin');
    assert.ok(Buffer.isBuffer(got[0]), 'a Buffer, not an array or an object');
    assert.ok(got[0].equals(bytes));
    assert.ok(Buffer.isBuffer(got[1].nested.buf) && got[1].nested.buf.equals(Buffer.from('héllo', 'utf8')));
    assert.ok(Buffer.isBuffer(got[1].nested.list[0]) && got[1].nested.list[0].length === 0);
    assert.equal(got[1].nested.list[1], 3);
    assert.ok(Buffer.isBuffer(got[2]) && got[2].equals(big), 'the 70 000-byte buffer');
    assert.equal(got[3], 'text');
    assert.deepEqual(await a1.any.drain(QUIET_MS), []);
  });

  it('local: true stays on the sender\'s node', async () => {
    const r = room();
    const [a1, b1, b2] = await setup([[A, [r]], [B, []], [B, [r]]]);
    assert.equal(await b1.call('broadcast', { rooms: [r], event: 'loc', args: [1], local: true }), true);
    await once(b2, ['loc', 1], 'member on the same node');
    assert.deepEqual(await a1.any.drain(0), [], 'a local broadcast crossed to the other node');

    // The same broadcast without local does reach A: it is the flag that kept it home.
    assert.equal(await b1.call('broadcast', { rooms: [r], event: 'loc', args: [2] }), true);
    await Promise.all([once(a1, ['loc', 2], 'A'), once(b2, ['loc', 2], 'B')]);
  });

  it('namespaces stay apart across nodes ("/custom" vs "/")', async () => {
    const r = room();
    const [mainA, mainB] = await setup([[A, [r]], [B, [r]]], '/');
    const [customA, customB] = await setup([[A, [r]], [B, [r]]], '/custom');
    assert.equal(await customB.call('broadcast', { rooms: [r], event: 'ns', args: ['custom'] }), true);
    await Promise.all([once(customA, ['ns', 'custom'], '/custom on A'), once(customB, ['ns', 'custom'], '/custom on B')]);
    await nothing([mainA, mainB], '"/" got a "/custom" broadcast');

    assert.equal(await mainB.call('broadcast', { event: 'ns', args: ['main'] }), true); // whole namespace
    await Promise.all([once(mainA, ['ns', 'main'], '"/" on A'), once(mainB, ['ns', 'main'], '"/" on B')]);
    await nothing([customA, customB], '"/custom" got a "/" broadcast');
  });

  it('two rooms at once: a client in both gets it once', async () => {
    const r1 = room();
    const r2 = room();
    const [both, onlyR2, outside, sender, bothB] = await setup([[A, [r1, r2]], [A, [r2]], [A, []], [B, []], [B, [r1, r2]]]);
    assert.equal(await sender.call('broadcast', { rooms: [r1, r2], event: 'two', args: [] }), true);
    await Promise.all([
      once(both, ['two'], 'in both rooms, on A'),
      once(onlyR2, ['two'], 'in one room'),
      once(bothB, ['two'], 'in both rooms, on B'),
    ]);
    await nothing([outside, sender], 'in neither room');
  });

  it('a socket id as the room reaches only that socket, on the other node', async () => {
    const [target, neighbour, sender, other] = await setup([[A, []], [A, []], [B, []], [B, []]]);
    const sid = target.socket.id;
    assert.deepEqual(await target.call('rooms'), [sid], 'a socket is in its own room');
    assert.equal(await sender.call('broadcast', { rooms: [sid], event: 'direct', args: ['for you'] }), true);
    await once(target, ['direct', 'for you'], 'the addressed socket');
    await nothing([neighbour, sender, other], 'not addressed');
  });
});
