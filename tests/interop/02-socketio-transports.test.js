// socket.io-client over each transport mode: websocket-only, polling-only, and
// polling + upgrade. Each runs the whole echo profile: auth, message/message-back,
// message-with-ack, emit-with-ack (both directions).
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ioClient, emitAck, Clients, EventQueue, sleep } = require('./helpers');

let server;
const clients = new Clients();

before(async () => { server = await startServer(); });
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

async function runEchoProfile({ socket, q }, auth) {
  // 1. 'auth' right after connect, carrying the CONNECT payload (key order kept).
  const [gotAuth] = await q.auth.next();
  assert.deepEqual(gotAuth, auth);
  assert.equal(JSON.stringify(gotAuth), JSON.stringify(auth));

  // 2. message -> message-back with the same arguments (binary included).
  const args = ['hello', 42, { k: 'v', list: [1, 'two', null, true] }, Buffer.from([1, 2, 3])];
  socket.emit('message', ...args);
  const back = await q.messageBack.next();
  assert.deepEqual(back, args);

  // 3. message-with-ack: the server acks with the same arguments.
  const ackArgs = ['ping', 1.5, { nested: { ok: true } }, Buffer.from('ack-bin')];
  assert.deepEqual(await emitAck(socket, 'message-with-ack', ackArgs), ackArgs);

  // 4. emit-with-ack: the server emits back with an ack request; our ack comes back as
  //    a plain emit-with-ack.
  socket.emit('emit-with-ack', 'question', { n: 1 });
  const first = await q.emitWithAck.next();
  assert.equal(first.length, 3, 'two arguments plus the ack callback');
  assert.deepEqual(first.slice(0, 2), ['question', { n: 1 }]);
  assert.equal(typeof first[2], 'function', 'server must request an ack');
  first[2]('answer', { n: 2 }, Buffer.from([9]));
  const second = await q.emitWithAck.next();
  assert.deepEqual(second, ['answer', { n: 2 }, Buffer.from([9])]);
  assert.notEqual(typeof second[second.length - 1], 'function', 'second emit has no ack');

  // Nothing unexpected queued.
  await sleep(50);
  assert.equal(q.messageBack.pending, 0);
  assert.equal(q.emitWithAck.pending, 0);
  assert.equal(q.auth.pending, 0, "'auth' is emitted once");
}

test('websocket-only transport', { timeout: 15000 }, async () => {
  const auth = { token: 'abc', zeta: 1, alpha: [1, 2] };
  const c = ioClient(server.url, { transports: ['websocket'], auth });
  clients.add(c.socket);
  await c.connect();
  assert.equal(c.socket.io.engine.transport.name, 'websocket');
  assert.equal(typeof c.socket.id, 'string');
  assert.notEqual(c.socket.id, c.socket.io.engine.id, 'socket id must differ from the engine.io sid');
  await runEchoProfile(c, auth);
  assert.equal(c.socket.connected, true);
});

test('polling-only transport', { timeout: 15000 }, async () => {
  const auth = { user: 'poll', 'z-key': null, a: { b: { c: 'deep' } } };
  const c = ioClient(server.url, { transports: ['polling'], auth });
  clients.add(c.socket);
  const upgrades = [];
  c.socket.io.on('open', () => c.socket.io.engine.on('upgrade', () => upgrades.push(1)));
  await c.connect();
  assert.equal(c.socket.io.engine.transport.name, 'polling');
  await runEchoProfile(c, auth);
  assert.equal(c.socket.io.engine.transport.name, 'polling');
  assert.equal(upgrades.length, 0, 'polling-only must not upgrade');
});

test('default transports: polling then upgrade to websocket', { timeout: 15000 }, async () => {
  const auth = { via: 'upgrade' };
  const c = ioClient(server.url, { auth });
  clients.add(c.socket);
  let initialTransport;
  let upgrade;
  c.socket.io.on('open', () => {
    initialTransport = c.socket.io.engine.transport.name;
    upgrade = new EventQueue(c.socket.io.engine, 'upgrade');
  });
  await c.connect();
  assert.equal(initialTransport, 'polling', 'starts on polling');
  const engineId = c.socket.io.engine.id;

  // A burst emitted while the upgrade is (likely) in progress must arrive complete and in order.
  const N = 20;
  for (let i = 0; i < N; i++) c.socket.emit('message', i, `m${i}`);

  await upgrade.next(5000);
  assert.equal(c.socket.io.engine.transport.name, 'websocket');
  assert.equal(c.socket.io.engine.id, engineId, 'same engine.io session after upgrade');

  for (let i = 0; i < N; i++) assert.deepEqual(await c.q.messageBack.next(), [i, `m${i}`]);
  await runEchoProfile(c, auth);
  assert.equal(c.socket.io.engine.transport.name, 'websocket');
});

test('no auth: the auth event carries {}', { timeout: 10000 }, async () => {
  for (const transports of [['websocket'], ['polling']]) {
    const c = ioClient(server.url, { transports });
    clients.add(c.socket);
    await c.connect();
    const [gotAuth] = await c.q.auth.next();
    assert.deepEqual(gotAuth, {});
    c.socket.disconnect();
  }
});
