// Heartbeat with short timers (--ping-interval 300 --ping-timeout 200): the connection
// stays up for ~2 s, the server keeps pinging on time (socket.io-client drops the
// connection if no ping arrives within pingInterval + pingTimeout = 500 ms).
'use strict';

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ioClient, Clients, sleep } = require('./helpers');

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const WATCH_MS = 2000;

let server;
const clients = new Clients();

before(async () => {
  server = await startServer(['--ping-interval', String(PING_INTERVAL), '--ping-timeout', `${PING_TIMEOUT}ms`]);
});
afterEach(() => clients.closeAll());
after(async () => { clients.closeAll(); await server?.stop(); });

async function watchPings(transports, { busy = false } = {}) {
  const c = ioClient(server.url, { transports });
  clients.add(c.socket);
  const pings = [];
  c.socket.io.on('open', () => c.socket.io.engine.on('ping', () => pings.push(Date.now())));
  await c.connect();
  await c.q.auth.next();
  const id = c.socket.id;
  const engineId = c.socket.io.engine.id;
  const start = Date.now();

  let sent = 0;
  if (busy) {
    // Constant traffic must not delay the pings.
    while (Date.now() - start < WATCH_MS) {
      c.socket.emit('message', sent++);
      await sleep(20);
    }
  } else {
    await sleep(WATCH_MS);
  }

  assert.equal(c.q.disconnect.pending, 0, `no disconnect (got ${JSON.stringify(c.q.disconnect.items)})`);
  assert.equal(c.socket.connected, true);
  assert.equal(c.socket.id, id, 'same socket');
  assert.equal(c.socket.io.engine.id, engineId, 'same Engine.IO session');
  const inWindow = pings.filter((t) => t >= start);
  assert.ok(inWindow.length >= 4, `expected several pings in ${WATCH_MS} ms, got ${inWindow.length}`);
  assert.ok(inWindow.length <= 9, `pings too frequent for a ${PING_INTERVAL} ms interval: ${inWindow.length}`);
  for (let i = 1; i < pings.length; i++) {
    const gap = pings[i] - pings[i - 1];
    assert.ok(gap < PING_INTERVAL + PING_TIMEOUT, `gap between pings ${gap} ms`);
  }
  // Still fully working afterwards.
  if (busy) {
    for (let i = 0; i < sent; i++) assert.deepEqual(await c.q.messageBack.next(), [i]);
  }
  c.socket.emit('message', 'after-heartbeats');
  assert.deepEqual(await c.q.messageBack.next(), ['after-heartbeats']);
}

test('[websocket] connection stays up with short ping timers', { timeout: 10000 }, async () => {
  await watchPings(['websocket']);
});

test('[polling] connection stays up with short ping timers', { timeout: 10000 }, async () => {
  await watchPings(['polling']);
});

test('[websocket] pings keep coming on a busy connection', { timeout: 10000 }, async () => {
  await watchPings(['websocket'], { busy: true });
});
