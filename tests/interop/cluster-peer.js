#!/usr/bin/env node
// A plain Node Socket.IO node for mixed clusters: socket.io 4.8 attached to an HTTP server
// the usual way, with the official @socket.io/redis-adapter over node-redis 4, and the
// echo profile's namespaces and events (setupEchoNamespace from reference-echo-server.js).
// The cluster tests start it next to hub-server nodes to show both speak one wire.
//
// CLI: --host H --port P (0 = free port) --redis redis://H:P[/db] [--redis-key-prefix K]
//      (REDIS_URL works too). Prints `listening on http://HOST:PORT` once Redis is linked.
// GET /healthz: 200 {"status":"ok","redis":"up"|"down"}.
'use strict';

const http = require('node:http');
const { Server } = require('socket.io');
const { setupEchoNamespace, connectRedisAdapter, healthBody } = require('./reference-echo-server');

function fail(msg) {
  process.stderr.write(`cluster-peer: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, redis: process.env.REDIS_URL || null, key: 'socket.io' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const take = () => {
      if (i + 1 >= argv.length) fail(`missing value for ${arg}`);
      return argv[++i];
    };
    switch (arg) {
      case '--host': opts.host = take(); break;
      case '--port': opts.port = Number(take()); break;
      case '--redis': opts.redis = take(); break;
      case '--redis-key-prefix': opts.key = take(); break;
      default: fail(`unknown argument: ${arg}`);
    }
  }
  if (!opts.redis) fail('--redis URL (or REDIS_URL) is required');
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (msg) => process.stderr.write(`cluster-peer: ${msg}\n`);
  const redis = await connectRedisAdapter(opts.redis, opts.key, log);

  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(healthBody(redis));
    }
    // socket.io answers /socket.io/ itself: only other paths reach this handler
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  const io = new Server(server, { serveClient: false, adapter: redis.adapter });
  for (const name of ['/', '/custom']) setupEchoNamespace(io.of(name));

  server.on('error', (err) => fail(`server error: ${err.message}`));
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`listening on http://${opts.host}:${server.address().port}\n`);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

main().catch((err) => fail(err.message));
