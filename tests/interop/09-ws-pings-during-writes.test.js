// WebSocket-level pings from the client while the server is writing: hub-server frames
// queued packets itself and writes them in one go, while Beast answers pings; the pongs
// and the data frames must never interleave on the wire (a corrupt frame would make
// `ws` fail the connection). Runs against the bare Engine.IO echo at /engine.io/.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { startServer, withTimeout, isReference, sleep } = require('./helpers');

describe('websocket pings during large writes', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('every echo arrives intact and every ping is answered', { timeout: 20000 }, async () => {
    const ws = new WebSocket(`${server.wsUrl}/engine.io/?EIO=4&transport=websocket`);
    const COUNT = 40;
    const body = 'x'.repeat(20000);  // 40 × 20 KB stays under the default 1 MB send queue
    let pings = 0;
    let pongs = 0;
    const done = new Promise((resolve, reject) => {
      let echoes = 0;
      ws.on('pong', () => { pongs++; });
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`closed ${code} after ${echoes} echoes`)));
      ws.on('message', (data) => {
        const text = data.toString();
        if (text[0] === '0') {  // open: send everything at once, pings in between
          for (let i = 0; i < COUNT; i++) {
            ws.send(`4${i}:${body}`);
            ws.ping(); pings++;
          }
          return;
        }
        if (text === '2') return ws.send('3');
        if (text[0] !== '4') return;
        assert.equal(text, `4${echoes}:${body}`, `echo ${echoes}`);
        echoes++;
        ws.ping(); pings++;
        if (echoes === COUNT) resolve();
      });
    });
    await withTimeout(done, 15000, 'echoes');
    await withTimeout((async () => { while (pongs < pings) await new Promise((r) => setTimeout(r, 10)); })(),
      5000, 'pongs');
    assert.equal(pongs, pings);
    ws.close();
  });

  // hub-server writes a frame at once on the sender's thread when the socket is idle; a
  // client that stops reading fills the socket, so the socket takes only part of a frame
  // and the network thread must write the rest before anything else.
  test('a client that stops reading, then reads again, gets every frame whole and in order',
    { timeout: 30000, skip: isReference && 'hub-server only (its write-through counters)' }, async () => {
      const slow = await startServer(['--max-send-queue', String(64 << 20)]);
      try {
        const ws = new WebSocket(`${slow.wsUrl}/engine.io/?EIO=4&transport=websocket`);
        const body = 'y'.repeat(50000);
        const opened = new Promise((resolve, reject) => {
          ws.on('error', reject);
          ws.once('message', (data) => (data.toString()[0] === '0' ? resolve() : reject(new Error('no open packet'))));
        });
        await withTimeout(opened, 5000, 'open');
        const echoes = [];
        ws.on('message', (data) => {
          const text = data.toString();
          if (text === '2') return ws.send('3');
          if (text[0] === '4') echoes.push(text);
        });
        ws._socket.pause();  // the kernel's buffers fill; the server writes what fits
        const cutBefore = await metric(slow, 'hub_ws_write_through_rest_total');
        let sent = 0;
        // Until a written-through frame was cut short (bounded: 60 × 500 KB).
        for (let round = 0; round < 60; round++) {
          for (let i = 0; i < 10; i++, sent++) ws.send(`4${sent}:${body}`);
          await sleep(100);
          if (await metric(slow, 'hub_ws_write_through_rest_total') > cutBefore) break;
        }
        assert.ok(await metric(slow, 'hub_ws_write_through_rest_total') > cutBefore,
          `no written-through frame was cut short after ${sent} × 50 KB: the test did not fill the socket`);
        ws._socket.resume();
        await withTimeout((async () => { while (echoes.length < sent) await sleep(10); })(), 20000, 'echoes');
        for (let i = 0; i < sent; i++) assert.equal(echoes[i], `4${i}:${body}`, `echo ${i}`);
        ws.close();
      } finally {
        await slow.stop();
      }
    });

  // A counter from hub-server's /metrics.
  async function metric(srv, name) {
    const res = await fetch(`${srv.url}/metrics`);
    const text = await res.text();
    const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  }
});
