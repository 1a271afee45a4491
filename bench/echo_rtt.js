// Round trips per second and latency of `message-with-ack` against an echo-profile
// server (hub-server --app echo, or tests/interop/reference-echo-server.js).
//   node bench/echo_rtt.js --url http://127.0.0.1:3000 --clients 4 --seconds 5
// Prints one JSON line. Loopback only; bounded by --seconds.
'use strict';
const { io } = require('socket.io-client');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const url = arg('url', 'http://127.0.0.1:3000');
const clients = Number(arg('clients', 4));
const seconds = Number(arg('seconds', 5));
const payload = 'x'.repeat(Number(arg('bytes', 32)));
if (!/^http:\/\/(127\.|localhost)/.test(url)) throw new Error('loopback targets only');

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

(async () => {
  const sockets = await Promise.all(Array.from({ length: clients }, () => new Promise((resolve, reject) => {
    const s = io(url, { transports: ['websocket'], reconnection: false });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  })));
  const latencies = [];
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(sockets.map(async (s) => {
    while (Date.now() < deadline) {
      const t0 = process.hrtime.bigint();
      await s.timeout(5000).emitWithAck('message-with-ack', payload);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }));
  sockets.forEach((s) => s.close());
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    url, clients, seconds, roundTrips: latencies.length,
    perSecond: Math.round(latencies.length / seconds),
    p50us: Math.round(percentile(latencies, 0.5)),
    p99us: Math.round(percentile(latencies, 0.99)),
  }));
  process.exit(0);
})().catch((e) => { console.error(e.message); process.exit(1); });
