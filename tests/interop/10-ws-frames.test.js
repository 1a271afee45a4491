// WebSocket frames the `ws` client would never send: fragments with a ping between
// them, frames trickled in small pieces, close codes, protocol errors. hub-server reads
// frames itself after Beast's handshake (protocol/ws_frame); these go through a raw
// TCP socket against the bare Engine.IO echo at /engine.io/.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { startServer, sleep, withTimeout, isReference } = require('./helpers');

/** A masked client frame. `b0` is FIN/RSV/opcode; `masked: false` breaks the rules. */
function frame(b0, payload, { masked = true } = {}) {
  const p = Buffer.from(payload);
  const key = crypto.randomBytes(4);
  let hdr;
  if (p.length < 126) hdr = Buffer.from([b0, p.length]);
  else if (p.length < 65536) { hdr = Buffer.alloc(4); hdr[1] = 126; hdr.writeUInt16BE(p.length, 2); }
  else { hdr = Buffer.alloc(10); hdr[1] = 127; hdr.writeBigUInt64BE(BigInt(p.length), 2); }
  hdr[0] = b0;
  if (!masked) return Buffer.concat([hdr, p]);
  hdr[1] |= 0x80;
  return Buffer.concat([hdr, key, Buffer.from(p.map((b, i) => b ^ key[i % 4]))]);
}
const FIN = 0x80;
const closePayload = (code, reason = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

/** A raw WebSocket: upgrade, then server frames as { op, data } in a queue; `ended` when TCP ends. */
function rawWs(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const frames = [];
    const waiters = [];
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const ended = new Promise((r) => sock.on('close', r));
    sock.on('error', () => {});
    sock.on('connect', () => sock.write(
      'GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n'));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error('no 101'));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolve(ws);
      }
      for (;;) {
        if (buf.length < 2) break;
        let len = buf[1] & 0x7f;
        let h = 2;
        if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); h = 4; }
        else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); h = 10; }
        if (buf.length < h + len) break;
        frames.push({ op: buf[0] & 0x0f, data: Buffer.from(buf.subarray(h, h + len)) });
        buf = buf.subarray(h + len);
      }
      while (waiters.length && frames.length) waiters.shift()(frames.shift());
    });
    const ws = {
      sock,
      ended,
      send: (b) => sock.write(b),
      next: (ms = 3000) => withTimeout(new Promise((r) => (frames.length ? r(frames.shift()) : waiters.push(r))), ms, 'server frame'),
      // The next frame that is not an Engine.IO ping (`2`).
      async nextData(ms) {
        for (;;) {
          const f = await ws.next(ms);
          if (!(f.op === 1 && f.data.toString() === '2')) return f;
        }
      },
    };
  });
}

async function opened(port) {
  const ws = await rawWs(port);
  const open = await ws.next();
  assert.equal(open.op, 1);
  assert.equal(open.data.toString()[0], '0', 'Engine.IO open packet');
  return ws;
}

async function expectClose(ws, code) {
  const f = await ws.nextData();
  assert.equal(f.op, 8, `a close frame, got opcode ${f.op}`);
  assert.equal(f.data.length >= 2 ? f.data.readUInt16BE(0) : null, code);
  await withTimeout(ws.ended, 3000, 'connection ends after the close frame');
}

describe('websocket frames', () => {
  let server;
  let port;
  before(async () => {
    server = await startServer();
    port = Number(new URL(server.url).port);
  });
  after(async () => { await server?.stop(); });

  test('fragmented text with a ping between fragments and a character split across them', { timeout: 10000 }, async () => {
    const ws = await opened(port);
    ws.send(Buffer.concat([
      frame(0x01, '4caf'), frame(0x00, Buffer.from([0xc3])), frame(FIN | 0x09, 'between'),
      frame(0x00, Buffer.from([0xa9])), frame(FIN | 0x00, ' €'),
    ]));
    const pong = await ws.nextData();
    assert.equal(pong.op, 0x0a);
    assert.equal(pong.data.toString(), 'between', 'pong echoes the ping payload');
    const echo = await ws.nextData();
    assert.equal(echo.op, 1);
    assert.equal(echo.data.toString(), '4café €');
    ws.sock.destroy();
  });

  test('a 200 KB message trickled in small pieces, then a binary one byte by byte', { timeout: 10000 }, async () => {
    const ws = await opened(port);
    const big = `4${'0123456789'.repeat(20000)}`;
    const bytes = frame(FIN | 0x01, big);
    for (let i = 0; i < bytes.length; i += 6999) {
      ws.send(bytes.subarray(i, i + 6999));
      if (i < 70000) await sleep(1);
    }
    const echo = await ws.nextData();
    assert.equal(echo.data.length, big.length);
    assert.equal(echo.data.toString(), big);
    for (const b of frame(FIN | 0x02, Buffer.from([7, 8, 9]))) {
      ws.send(Buffer.from([b]));
      await sleep(2);
    }
    const bin = await ws.nextData();
    assert.equal(bin.op, 2);
    assert.deepEqual([...bin.data], [7, 8, 9]);
    ws.sock.destroy();
  });

  test('client close: the server answers with the same code and ends the connection', { timeout: 10000 }, async () => {
    const ws = await opened(port);
    ws.send(frame(FIN | 0x08, closePayload(4001, 'bye')));
    await expectClose(ws, 4001);
  });

  // Node's engine.io sends no close frame here; hub-server's own close path is what is tested.
  test('server close (Engine.IO close packet): close frame, then the connection ends once answered',
    { timeout: 10000, skip: isReference && 'reference server sends no close frame' }, async () => {
    const ws = await opened(port);
    ws.send(frame(FIN | 0x01, '1'));
    const f = await ws.nextData();
    assert.equal(f.op, 8);
    const started = Date.now();
    ws.send(frame(FIN | 0x08, closePayload(1000)));
    await withTimeout(ws.ended, 3000, 'connection ends after our close answer');
    assert.ok(Date.now() - started < 1000, 'without waiting for the close timeout');
  });

  for (const [what, bytes, code] of [
    ['unmasked frame', () => frame(FIN | 0x01, '4hi', { masked: false }), 1002],
    ['RSV1 without permessage-deflate', () => frame(FIN | 0x40 | 0x01, '4hi'), 1002],
    ['reserved opcode', () => frame(FIN | 0x03, 'x'), 1002],
    ['continuation without a message', () => frame(FIN | 0x00, '4hi'), 1002],
    ['fragmented ping', () => frame(0x09, 'p'), 1002],
    ['close code 1005', () => frame(FIN | 0x08, closePayload(1005)), 1002],
    ['text that is not UTF-8', () => frame(FIN | 0x01, Buffer.from([0x34, 0xed, 0xa0, 0x80])), 1007],
  ]) {
    test(`${what}: close ${code}`, { timeout: 10000 }, async () => {
      const ws = await opened(port);
      ws.send(bytes());
      const f = await ws.nextData();
      assert.equal(f.op, 8, `a close frame, got opcode ${f.op}`);
      assert.equal(f.data.readUInt16BE(0), code);
      ws.sock.end();  // as a client does after the close frame
      await withTimeout(ws.ended, 3000, 'connection ends');
    });
  }
});
