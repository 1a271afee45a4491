// Acknowledgements in both directions:
//   client -> server: message-with-ack (the server acks with the same arguments)
//   server -> client: emit-with-ack (the server asks for an ack, then emits what we acked)
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ioClient, emitAck, Clients, sleep } = require('./helpers');

let server;
const clients = new Clients();

before(async () => { server = await startServer(); });
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

async function connected(transports, nsp = '') {
  const c = ioClient(server.url + nsp, { transports });
  clients.add(c.socket);
  await c.connect();
  await c.q.auth.next();
  return c;
}

for (const transports of [['websocket'], ['polling']]) {
  const t = transports[0];

  test(`[${t}] client->server acks: concurrent acks are matched to their emits`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const N = 25;
    const results = await Promise.all(Array.from({ length: N }, (_, i) => {
      const args = i % 4 === 0 ? [i, Buffer.from([i, i + 1])] : [i, { i, s: `v${i}` }];
      return emitAck(c.socket, 'message-with-ack', args, 5000).then((res) => [args, res]);
    }));
    for (const [args, res] of results) assert.deepEqual(res, args);
  });

  test(`[${t}] client->server ack: no arguments, many arguments, binary only`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    assert.deepEqual(await emitAck(c.socket, 'message-with-ack', []), []);
    assert.deepEqual(await emitAck(c.socket, 'message-with-ack', [null]), [null]);
    const many = ['a', 1, 2.5, false, null, [], {}, { k: [1, { z: 'z', a: 'a' }] }];
    const res = await emitAck(c.socket, 'message-with-ack', many);
    assert.deepEqual(res, many);
    assert.equal(JSON.stringify(res), JSON.stringify(many));
    const bins = [Buffer.from([0]), Buffer.from([1, 1]), { inner: Buffer.from([2, 2, 2]) }];
    assert.deepEqual(await emitAck(c.socket, 'message-with-ack', bins), bins);
  });

  test(`[${t}] server->client acks: concurrent requests acked in reverse order`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const N = 10;
    for (let i = 0; i < N; i++) c.socket.emit('emit-with-ack', 'req', i);
    const requests = [];
    for (let i = 0; i < N; i++) requests.push(await c.q.emitWithAck.next());
    for (const [i, r] of requests.entries()) {
      assert.deepEqual(r.slice(0, 2), ['req', i]);
      assert.equal(typeof r[2], 'function', 'each server emit requests an ack');
    }
    // Ack in reverse order, with distinct (some binary) results.
    for (let i = N - 1; i >= 0; i--) {
      const cb = requests[i][2];
      if (i % 3 === 0) cb('res', i, Buffer.from([i]));
      else cb('res', i, { nested: { i } });
    }
    const seen = new Map();
    for (let i = 0; i < N; i++) {
      const ev = await c.q.emitWithAck.next();
      assert.equal(ev[0], 'res');
      assert.notEqual(typeof ev[ev.length - 1], 'function', 'the follow-up emit has no ack');
      seen.set(ev[1], ev);
    }
    assert.equal(seen.size, N, 'every ack produced exactly one follow-up');
    for (let i = 0; i < N; i++) {
      const expected = i % 3 === 0 ? ['res', i, Buffer.from([i])] : ['res', i, { nested: { i } }];
      assert.deepEqual(seen.get(i), expected);
    }
  });

  test(`[${t}] server->client ack with no arguments, and a duplicate ack call is ignored`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    c.socket.emit('emit-with-ack', { only: 'one' });
    const [arg, cb] = await c.q.emitWithAck.next();
    assert.deepEqual(arg, { only: 'one' });
    cb();
    cb('second call'); // socket.io-client sends an ack only once
    assert.deepEqual(await c.q.emitWithAck.next(), []);
    await sleep(100);
    assert.equal(c.q.emitWithAck.pending, 0);
    // The connection is still healthy.
    c.socket.emit('message', 'after');
    assert.deepEqual(await c.q.messageBack.next(), ['after']);
  });
}

test('acks on /custom use the namespace (both directions)', { timeout: 10000 }, async () => {
  const c = await connected(['websocket'], '/custom');
  assert.deepEqual(await emitAck(c.socket, 'message-with-ack', ['custom', 1]), ['custom', 1]);
  c.socket.emit('emit-with-ack', 'on-custom');
  const [arg, cb] = await c.q.emitWithAck.next();
  assert.equal(arg, 'on-custom');
  cb('acked-on-custom');
  assert.deepEqual(await c.q.emitWithAck.next(), ['acked-on-custom']);
});
