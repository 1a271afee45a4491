// WebSocket-level pings from the client while the server is writing: hub-server frames
// queued packets itself and writes them in one go, while Beast answers pings; the pongs
// and the data frames must never interleave on the wire (a corrupt frame would make
// `ws` fail the connection). Runs against the bare Engine.IO echo at /engine.io/.
'use strict';

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { startServer, withTimeout } = require('./helpers');

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
});
