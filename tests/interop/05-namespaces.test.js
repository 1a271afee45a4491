// Namespaces on one Engine.IO connection: "/" and "/custom" multiplexed, an invalid
// namespace, and the auth middleware refusing a CONNECT.
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { io } = require('socket.io-client');
const {
  startServer, ioManager, wrapSocket, emitAck, Clients, sleep,
} = require('./helpers');

let server;
const clients = new Clients();

before(async () => { server = await startServer(); });
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

/** Records the Socket.IO packets (text) the client receives on the manager's engine. */
function recordPackets(manager) {
  const received = [];
  manager.on('open', () => {
    manager.engine.on('packet', (p) => {
      if (p.type === 'message' && typeof p.data === 'string') received.push(p.data);
    });
  });
  return received;
}

async function checkIndependent(a, b) {
  a.socket.emit('message', 'to-main', 1);
  b.socket.emit('message', 'to-custom', Buffer.from([2]));
  assert.deepEqual(await a.q.messageBack.next(), ['to-main', 1]);
  assert.deepEqual(await b.q.messageBack.next(), ['to-custom', Buffer.from([2])]);
  assert.deepEqual(await emitAck(a.socket, 'message-with-ack', ['ack-main']), ['ack-main']);
  assert.deepEqual(await emitAck(b.socket, 'message-with-ack', ['ack-custom']), ['ack-custom']);
  b.socket.emit('emit-with-ack', 'q-custom');
  const [arg, cb] = await b.q.emitWithAck.next();
  assert.equal(arg, 'q-custom');
  cb('r-custom');
  assert.deepEqual(await b.q.emitWithAck.next(), ['r-custom']);
  await sleep(100);
  for (const c of [a, b]) {
    assert.equal(c.q.messageBack.pending, 0, 'no cross-namespace delivery');
    assert.equal(c.q.emitWithAck.pending, 0, 'no cross-namespace delivery');
  }
}

test('io(url) and io(url + "/custom") share one Engine.IO connection, events stay separate', { timeout: 15000 }, async () => {
  // No forceNew: socket.io-client's cache multiplexes both namespaces on one Manager.
  const common = { transports: ['websocket'], reconnection: false, autoConnect: false };
  const a = wrapSocket(io(server.url, { ...common, auth: { ns: 'main' } }));
  const b = wrapSocket(io(`${server.url}/custom`, { ...common, auth: { ns: 'custom' } }));
  clients.add(a.socket);
  clients.add(b.socket);
  assert.equal(a.socket.io, b.socket.io, 'same Manager');
  await Promise.all([a.connect(), b.connect()]);
  assert.equal(a.socket.io.engine, b.socket.io.engine, 'same engine');
  const engineId = a.socket.io.engine.id;
  assert.equal(typeof engineId, 'string');
  assert.equal(b.socket.io.engine.id, engineId);
  assert.notEqual(a.socket.id, b.socket.id, 'each namespace has its own socket id');
  assert.notEqual(a.socket.id, engineId);
  assert.notEqual(b.socket.id, engineId);

  assert.deepEqual(await a.q.auth.next(), [{ ns: 'main' }]);
  assert.deepEqual(await b.q.auth.next(), [{ ns: 'custom' }]);
  await checkIndependent(a, b);
});

test('[polling] both namespaces on one Manager; leaving one keeps the other', { timeout: 15000 }, async () => {
  const manager = ioManager(server.url, { transports: ['polling'] });
  const a = wrapSocket(manager.socket('/', { auth: { ns: 'main' } }));
  const b = wrapSocket(manager.socket('/custom', { auth: { ns: 'custom' } }));
  clients.add(a.socket);
  clients.add(b.socket);
  await Promise.all([a.connect(), b.connect()]);
  const engineId = manager.engine.id;
  assert.deepEqual(await a.q.auth.next(), [{ ns: 'main' }]);
  assert.deepEqual(await b.q.auth.next(), [{ ns: 'custom' }]);
  await checkIndependent(a, b);

  // Namespace disconnect: the Engine.IO connection stays, the other namespace keeps working.
  b.socket.disconnect();
  await sleep(100);
  a.socket.emit('message', 'still-main');
  assert.deepEqual(await a.q.messageBack.next(), ['still-main']);
  assert.equal(manager.engine.id, engineId, 'same Engine.IO session');
  assert.equal(a.socket.connected, true);

  // Rejoin /custom on the same connection: a new socket id, the auth event again.
  const oldId = b.socket.id;
  await b.connect();
  assert.equal(manager.engine.id, engineId);
  assert.notEqual(b.socket.id, oldId);
  assert.deepEqual(await b.q.auth.next(), [{ ns: 'custom' }]);
  b.socket.emit('message', 'custom-again');
  assert.deepEqual(await b.q.messageBack.next(), ['custom-again']);
});

for (const transports of [['websocket'], ['polling']]) {
  test(`[${transports[0]}] invalid namespace: connect_error, the other namespaces keep working`, { timeout: 15000 }, async () => {
    const manager = ioManager(server.url, { transports });
    const packets = recordPackets(manager);
    const good = wrapSocket(manager.socket('/'));
    clients.add(good.socket);
    await good.connect();
    await good.q.auth.next();
    const engineId = manager.engine.id;

    const bad = wrapSocket(manager.socket('/does-not-exist', { auth: { x: 1 } }));
    clients.add(bad.socket);
    bad.socket.connect();
    const [event, err] = await bad.q.status.next();
    assert.equal(event, 'connect_error');
    assert.equal(err.message, 'Invalid namespace');
    assert.equal(bad.socket.active, false, 'no automatic retry after CONNECT_ERROR');
    assert.equal(bad.socket.connected, false);
    assert.ok(packets.includes('4/does-not-exist,{"message":"Invalid namespace"}'),
      `CONNECT_ERROR packet on the wire; got ${JSON.stringify(packets)}`);

    // The connection is still open and usable: "/" works, "/custom" can join.
    good.socket.emit('message', 'after-invalid');
    assert.deepEqual(await good.q.messageBack.next(), ['after-invalid']);
    const custom = wrapSocket(manager.socket('/custom'));
    clients.add(custom.socket);
    await custom.connect();
    assert.deepEqual(await custom.q.auth.next(), [{}]);
    assert.equal(manager.engine.id, engineId, 'same Engine.IO session throughout');
    custom.socket.emit('message', 'custom-after-invalid');
    assert.deepEqual(await custom.q.messageBack.next(), ['custom-after-invalid']);
    await sleep(100);
    assert.equal(bad.q.status.pending, 0, 'no retry of the invalid namespace');
  });
}

const REJECT_VALUES = [
  ['string', 'token missing'],
  ['object', { code: 42, list: [1, 'two'], nested: { z: 1, a: 2 } }],
  ['null', null],
  ['false', false],
];

for (const [nsp, transports] of [['/', ['websocket']], ['/custom', ['polling']]]) {
  test(`[${transports[0]}] middleware refusal on "${nsp}": connect_error "not authorized" with data.reason`, { timeout: 15000 }, async () => {
    for (const [label, reject] of REJECT_VALUES) {
      const manager = ioManager(server.url, { transports });
      // A healthy socket on the other namespace keeps the Engine.IO connection open.
      const other = wrapSocket(manager.socket(nsp === '/' ? '/custom' : '/'));
      clients.add(other.socket);
      await other.connect();
      const engineId = manager.engine.id;

      const refused = wrapSocket(manager.socket(nsp, { auth: { user: 'u', reject } }));
      clients.add(refused.socket);
      refused.socket.connect();
      const [event, err] = await refused.q.status.next();
      assert.equal(event, 'connect_error', label);
      assert.equal(err.message, 'not authorized', label);
      assert.deepEqual(err.data, { reason: reject }, label);
      assert.equal(JSON.stringify(err.data), JSON.stringify({ reason: reject }), label);
      assert.equal(refused.socket.active, false, `${label}: socket.active false after refusal`);
      assert.equal(refused.socket.connected, false, label);

      // The connection stays; the refused socket got no 'auth' (no handler ran).
      other.socket.emit('message', label);
      assert.deepEqual(await other.q.messageBack.next(), [label]);
      assert.equal(refused.q.auth.pending, 0, `${label}: no auth event for a refused socket`);

      // The application may retry with other credentials on the same connection.
      refused.socket.auth = { user: 'u', fixed: true };
      await refused.connect();
      assert.deepEqual(await refused.q.auth.next(), [{ user: 'u', fixed: true }]);
      assert.equal(manager.engine.id, engineId, `${label}: same Engine.IO session`);
      clients.closeAll();
    }
  });
}

test('middleware refusal with no other namespace: socket inactive, no retry', { timeout: 10000 }, async () => {
  const manager = ioManager(server.url, { transports: ['websocket'] });
  const s = wrapSocket(manager.socket('/', { auth: { reject: 'go away' } }));
  clients.add(s.socket);
  s.socket.connect();
  const [event, err] = await s.q.status.next();
  assert.equal(event, 'connect_error');
  assert.equal(err.message, 'not authorized');
  assert.deepEqual(err.data, { reason: 'go away' });
  assert.equal(s.socket.active, false);
  await sleep(300);
  assert.equal(s.q.status.pending, 0, 'no automatic reconnect after a refusal');
});
