// Event payloads: mixed JSON and binary (several attachments, nested), key order,
// number text, strings with escapes. Checked with socket.io-client over both transports,
// and on the raw wire.
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const looseAssert = require('node:assert');
const {
  startServer, ioClient, emitAck, Clients, openWs, isReference,
} = require('./helpers');

let server;
const clients = new Clients();

before(async () => { server = await startServer(); });
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

const TRANSPORTS = [['websocket'], ['polling']];

async function connected(transports, opts = {}) {
  const c = ioClient(server.url, { transports, ...opts });
  clients.add(c.socket);
  // Record Engine.IO message texts in both directions (Socket.IO packets, attachments excluded).
  c.wire = { sent: [], received: [] };
  c.socket.io.on('open', () => {
    const engine = c.socket.io.engine;
    engine.on('packetCreate', (p) => { if (p.type === 'message' && typeof p.data === 'string') c.wire.sent.push(p.data); });
    engine.on('packet', (p) => { if (p.type === 'message' && typeof p.data === 'string') c.wire.received.push(p.data); });
  });
  await c.connect();
  await c.q.auth.next();
  return c;
}

const mixedArgs = () => [
  'text',
  { bin: Buffer.from([1, 2, 3]), nested: { arr: [Buffer.from([4]), 'x', { deep: Buffer.from('deep') }] } },
  [Buffer.from([5, 6]), 1, null, true, { big: Buffer.alloc(3000, 0xab) }],
  Buffer.from('top-level'),
  { noBinary: [1, 2, { three: 3 }] },
];

for (const transports of TRANSPORTS) {
  const t = transports[0];

  test(`[${t}] mixed JSON and binary arguments (6 attachments) round-trip`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const args = mixedArgs();
    c.socket.emit('message', ...args);
    const back = await c.q.messageBack.next();
    assert.deepEqual(back, args);
    assert.ok(Buffer.isBuffer(back[1].nested.arr[2].deep), 'nested attachment comes back as binary');
    assert.equal(JSON.stringify(back), JSON.stringify(args));
    // Same through an ack (BINARY_ACK).
    assert.deepEqual(await emitAck(c.socket, 'message-with-ack', args), args);
  });

  test(`[${t}] ten attachments, including an empty buffer`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const bufs = Array.from({ length: 9 }, (_, i) => Buffer.alloc(i + 1, i));
    const args = [{ list: bufs }, Buffer.alloc(0)];
    c.socket.emit('message', ...args);
    const back = await c.q.messageBack.next();
    assert.deepEqual(back, args);
    assert.equal(back[1].length, 0);
  });

  test(`[${t}] key order and number text preserved`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const obj = {
      zeta: 1,
      alpha: 2,
      'middle-key': { y: 'y', b: 'b', x: [{ d: 1, c: 2 }] },
      '': 'empty key',
      émoji: '😀',
      last: true,
    };
    const numbers = [1.5, 1e21, 0.000001, -0, 2 ** 53, -(2 ** 53), 12345678901234567890,
      -9223372036854775808, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 1e-7, 100, -1];
    const strings = ['quote " backslash \\ slash / newline \n tab \t', 'nul \u0000 rs \u001e us \u001f',
      'line sep \u2028 para \u2029', 'é ☃ 😀 中文', ''];
    c.socket.emit('message', obj, numbers, strings);
    const back = await c.q.messageBack.next();
    // JSON text comparison covers key order and -0 (serialised as 0 by the client).
    assert.equal(JSON.stringify(back), JSON.stringify([obj, numbers, strings]));
    assert.deepEqual(Object.keys(back[0]), Object.keys(obj));

    // The raw wire text of the echo is the sent text with only the event name changed.
    const sent = c.wire.sent.find((s) => s.startsWith('2["message",'));
    const received = c.wire.received.find((s) => s.startsWith('2["message-back",'));
    assert.ok(sent && received, 'captured the packets');
    assert.equal(received, sent.replace('2["message",', '2["message-back",'));
  });

  test(`[${t}] event with no arguments and with many arguments`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    c.socket.emit('message');
    assert.deepEqual(await c.q.messageBack.next(), []);
    // 10 attachments: Node's socket.io-parser refuses more (maxAttachments).
    const many = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? Buffer.from([i]) : { i }));
    c.socket.emit('message', ...many);
    assert.deepEqual(await c.q.messageBack.next(), many);
    assert.deepEqual(await emitAck(c.socket, 'message-with-ack', []), []);
  });

  test(`[${t}] large payloads (300 KB text, 300 KB binary)`, { timeout: 10000 }, async () => {
    const c = await connected(transports);
    const text = 'é'.repeat(150 * 1024);
    const bin = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bin.length; i++) bin[i] = i % 251;
    c.socket.emit('message', text, bin);
    const back = await c.q.messageBack.next(5000);
    assert.equal(back[0], text);
    assert.ok(back[1].equals(bin));
  });
}

// Raw WebSocket: JSON text the real client would never produce (non-canonical numbers,
// integer-like keys). The echo profile keeps the client's number text and key order, so
// hub-server must send it back byte-for-byte with only the event name changed.
test('raw websocket: non-canonical number text and integer-like keys kept', { timeout: 10000 }, async () => {
  const { ws, messages } = await openWs(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`);
  clients.add(ws);
  const [open] = await messages.next();
  assert.match(open.toString(), /^0\{/);
  ws.send('40');
  const [connectReply] = await messages.next();
  assert.match(connectReply.toString(), /^40\{"sid":"[^"]+"/);
  const [authEvent] = await messages.next();
  assert.equal(authEvent.toString(), '42["auth",{}]');

  const payload = '{"b":1,"a":2,"10":3,"2":4},1.50,1E21,-0,12345678901234567890123,0.0000010,-0.0,1e+2';
  ws.send(`42["message",${payload}]`);
  const [echo] = await messages.next();
  const expected = `42["message-back",${payload}]`;
  if (isReference) {
    // RELAXED for the reference server only: Node re-serialises JSON (1.50 -> 1.5, 1E21 ->
    // 1e+21, -0 -> 0, integer-like keys sorted first), so only the values can be compared.
    looseAssert.deepEqual(JSON.parse(echo.toString().slice(2)), JSON.parse(expected.slice(2)));
  } else {
    assert.equal(echo.toString(), expected);
  }
});
