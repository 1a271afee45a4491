// Bare Engine.IO echo endpoint (/engine.io/) with the real engine.io-client.
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { Socket } = require('engine.io-client');
const { startServer, EventQueue, Clients, once, withTimeout } = require('./helpers');

let server;
const clients = new Clients();

before(async () => { server = await startServer(); });
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

function toBuffer(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`not binary: ${typeof data}`);
}

async function openEngine(transports) {
  const opts = transports ? { transports } : {};
  const socket = clients.add(new Socket(server.url, opts));
  const messages = new EventQueue(socket, 'message');
  const upgrade = new EventQueue(socket, 'upgrade');
  await once(socket, 'open', 5000);
  return { socket, messages, upgrade };
}

async function exerciseEcho({ socket, messages }) {
  const bin = Buffer.from([0, 1, 2, 3, 254, 255]);
  const bigText = 'x'.repeat(200 * 1024);
  const bigBin = Buffer.alloc(100 * 1024, 7);
  const sent = [
    'hello',
    '',
    'unicode é ☃ 😀 "quoted" \\ {json-like}',
    bin,
    '4not-a-packet-type',
    bigText,
    bigBin,
    'last',
  ];
  for (const m of sent) socket.send(m);
  for (const expected of sent) {
    const [got] = await messages.next(5000);
    if (expected === '') {
      // "4" with no data: engine.io-client's parser yields `undefined` for it.
      assert.ok(got === '' || got === undefined, `empty text message came back as ${typeof got}`);
    } else if (typeof expected === 'string') {
      assert.equal(typeof got, 'string', 'text message must come back as text');
      assert.equal(got, expected);
    } else {
      assert.notEqual(typeof got, 'string', 'binary message must come back as binary');
      assert.deepEqual(toBuffer(got), expected);
    }
  }
}

test('engine.io websocket-only: text and binary echo, order kept', { timeout: 15000 }, async () => {
  const e = await openEngine(['websocket']);
  assert.equal(e.socket.transport.name, 'websocket');
  assert.equal(typeof e.socket.id, 'string');
  await exerciseEcho(e);
});

test('engine.io polling-only: text and binary echo, order kept', { timeout: 15000 }, async () => {
  const e = await openEngine(['polling']);
  assert.equal(e.socket.transport.name, 'polling');
  await exerciseEcho(e);
  assert.equal(e.socket.transport.name, 'polling', 'polling-only must never upgrade');
  assert.equal(e.upgrade.pending, 0);
});

test('engine.io polling then upgrade to websocket: echo before and after', { timeout: 15000 }, async () => {
  const e = await openEngine(undefined);
  assert.equal(e.socket.transport.name, 'polling');
  const sidBefore = e.socket.id;
  e.socket.send('before-upgrade');
  const [first] = await e.messages.next(5000);
  assert.equal(first, 'before-upgrade');
  await e.upgrade.next(5000);
  assert.equal(e.socket.transport.name, 'websocket');
  assert.equal(e.socket.id, sidBefore, 'session id unchanged by the upgrade');
  await exerciseEcho(e);
});

test('engine.io sessions are independent', { timeout: 10000 }, async () => {
  const a = await openEngine(['websocket']);
  const b = await openEngine(['polling']);
  assert.notEqual(a.socket.id, b.socket.id);
  a.socket.send('for-a');
  b.socket.send(Buffer.from([9, 9]));
  const [ga] = await a.messages.next();
  const [gb] = await b.messages.next();
  assert.equal(ga, 'for-a');
  assert.deepEqual(toBuffer(gb), Buffer.from([9, 9]));
  // Nothing crossed over.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(a.messages.pending, 0);
  assert.equal(b.messages.pending, 0);
  // Closing one does not affect the other.
  const closed = once(a.socket, 'close', 3000);
  a.socket.close();
  await withTimeout(closed, 3000, 'close a');
  b.socket.send('still-here');
  const [gb2] = await b.messages.next();
  assert.equal(gb2, 'still-here');
});
