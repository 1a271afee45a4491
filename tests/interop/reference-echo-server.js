#!/usr/bin/env node
// Reference implementation of `hub-server --app echo`, built on the official npm
// packages (socket.io + engine.io). The interop suite runs against this server when
// HUB_SERVER is unset (or "reference"), which validates the tests themselves.
//
// CLI (same as hub-server):
//   --app echo --host H --port P (0 = pick a free port)
//   --ping-interval D --ping-timeout D --connect-timeout D   (D: 500ms, 8s, 2m; plain number = ms)
//   --max-payload BYTES
//   --cors-origin ORIGIN   (repeatable or comma list; credentials enabled)
//   --redis redis://127.0.0.1:P[/db]   (or env REDIS_URL) join a cluster through Redis with
//                                      the official @socket.io/redis-adapter (node-redis 4)
//   --redis-key-prefix PREFIX          the adapter's `key` (default socket.io)
// Prints exactly `listening on http://HOST:PORT` on stdout when ready (with --redis, once
// both Redis connections are up). GET /healthz: 200 JSON {"status":"ok"}, with --redis also
// "redis":"up" or "redis":"down" (node-redis reconnects by itself meanwhile).
//
// Echo profile:
//   /engine.io/  bare Engine.IO: every message is sent back unchanged (text/binary kept).
//   /socket.io/  Socket.IO namespaces "/" and "/custom" (others: "Invalid namespace"):
//     - auth has key "reject"  -> connect_error "not authorized", data {reason: auth.reject}
//     - on connect             -> emit("auth", handshake auth or {})
//     - "message"              -> emit("message-back", ...args)
//     - "message-with-ack"     -> ack(...args)
//     - "emit-with-ack"        -> emit("emit-with-ack", ...args, ack); on ack(...r) emit("emit-with-ack", ...r)
//     - the cluster events (join, leave, rooms, set-data, broadcast, fetch-sockets, ...):
//       see attachClusterEcho below and tests/interop/README.md.
//
// This file is also a module: cluster-peer.js (a plain socket.io server in a mixed
// cluster) reuses setupEchoNamespace() and connectRedisAdapter().
'use strict';

const http = require('node:http');
const engine = require('engine.io');
const { Server } = require('socket.io');

function fail(msg) {
  process.stderr.write(`reference-echo-server: ${msg}\n`);
  process.exit(2);
}

function parseDuration(name, text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!m) fail(`invalid duration for ${name}: ${text}`);
  const mult = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] || 'ms'];
  return Math.round(Number(m[1]) * mult);
}

function parseArgs(argv) {
  const opts = {
    app: null,
    host: '127.0.0.1',
    port: 0,
    pingInterval: 25000,
    pingTimeout: 20000,
    connectTimeout: 45000,
    maxPayload: 1e6,
    corsOrigins: [],
    redis: process.env.REDIS_URL || null,
    redisKeyPrefix: 'socket.io',
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const take = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) fail(`missing value for ${arg}`);
      return argv[++i];
    };
    switch (arg) {
      case '--app': opts.app = take(); break;
      case '--host': opts.host = take(); break;
      case '--port': {
        const v = take();
        if (!/^\d+$/.test(v) || Number(v) > 65535) fail(`invalid port: ${v}`);
        opts.port = Number(v);
        break;
      }
      case '--ping-interval': opts.pingInterval = parseDuration(arg, take()); break;
      case '--ping-timeout': opts.pingTimeout = parseDuration(arg, take()); break;
      case '--connect-timeout': opts.connectTimeout = parseDuration(arg, take()); break;
      case '--max-payload': {
        const v = take();
        if (!/^\d+$/.test(v)) fail(`invalid max payload: ${v}`);
        opts.maxPayload = Number(v);
        break;
      }
      case '--cors-origin':
        for (const o of take().split(',')) if (o.trim()) opts.corsOrigins.push(o.trim());
        break;
      case '--redis': opts.redis = take(); break;
      case '--redis-key-prefix': opts.redisKeyPrefix = take(); break;
      default:
        fail(`unknown argument: ${argv[i]}`);
    }
  }
  if (opts.app !== 'echo') fail(`only --app echo is supported (got ${opts.app})`);
  if (opts.redis !== null && !/^rediss?:\/\//.test(opts.redis)) fail(`invalid --redis URL: ${opts.redis}`);
  if (!opts.redisKeyPrefix) fail('empty --redis-key-prefix');
  return opts;
}

function stripAck(args) {
  return typeof args[args.length - 1] === 'function'
    ? { args: args.slice(0, -1), ack: args[args.length - 1] }
    : { args, ack: null };
}

// --- cluster echo events (the same in hub-server's echo profile) ---
//
// Every event answers through the client's ack; a {rooms, except} selector picks sockets
// cluster-wide (empty or missing: all sockets of the namespace).

function selector(nsp, { rooms = [], except = [] } = {}) {
  return nsp.in(rooms).except(except);
}

/** A socket (local or remote) as the cluster events report it. */
function describeSocket(s) {
  return { id: s.id, rooms: [...s.rooms].sort(), data: s.data };
}

function answer(ack, value) {
  if (typeof ack === 'function') ack(value);
}

/** Runs `fn`; a throw or rejection answers {error: message} (tests then fail on it). */
async function guarded(ack, fn) {
  try {
    answer(ack, await fn());
  } catch (err) {
    answer(ack, { error: err.message });
  }
}

function attachClusterEcho(nsp, socket) {
  socket.on('join', (room, ack) => guarded(ack, async () => { await socket.join(room); return true; }));
  socket.on('leave', (room, ack) => guarded(ack, async () => { await socket.leave(room); return true; }));
  socket.on('rooms', (ack) => answer(ack, [...socket.rooms].sort()));
  socket.on('set-data', (data, ack) => { socket.data = data; answer(ack, true); });
  socket.on('broadcast', (o, ack) => guarded(ack, () => {
    let op = o.broadcast ? socket.broadcast : nsp;  // socket.broadcast leaves the sender out
    op = op.to(o.rooms || []).except(o.except || []);
    if (o.local) op = op.local;
    op.emit(o.event, ...(o.args || []));
    return true;
  }));
  socket.on('fetch-sockets', (o, ack) => guarded(ack, async () => {
    const sockets = await selector(nsp, o).fetchSockets();
    return sockets.map(describeSocket).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }));
  socket.on('sockets-join', (o, ack) => guarded(ack, () => { selector(nsp, o).socketsJoin(o.join); return true; }));
  socket.on('sockets-leave', (o, ack) => guarded(ack, () => { selector(nsp, o).socketsLeave(o.leave); return true; }));
  socket.on('disconnect-sockets', (o, ack) => guarded(ack, () => {
    selector(nsp, o).disconnectSockets(!!o.close);
    return true;
  }));
  // Namespace#serverSideEmit has no timeout() in socket.io 4.8: the Redis adapter waits its
  // requestsTimeout (5 s) for the other nodes' answers, so `timeout` is not used here.
  socket.on('server-side-emit', (o, ack) => {
    if (!o.ack) {
      nsp.serverSideEmit(o.event, ...(o.args || []));
      return answer(ack, true);
    }
    nsp.serverSideEmit(o.event, ...(o.args || []), (err, responses) => {
      answer(ack, { err: err ? err.message : null, responses });
    });
  });
  socket.on('broadcast-with-ack', (o, ack) => {
    selector(nsp, o).timeout(o.timeout).emit(o.event, ...(o.args || []), (err, responses) => {
      answer(ack, { err: err ? err.message : null, responses });
    });
  });
  socket.on('server-count', (ack) => guarded(ack, () => nsp.adapter.serverCount()));
}

/**
 * Server-side events from the other nodes (or the emitter): "relay" (event, ...args)
 * emits to this node's own clients; any event that comes with a callback is answered
 * with {node: this node's adapter uid, event, args}.
 */
function attachServerSideEcho(nsp) {
  nsp.on('relay', (...raw) => {
    const { args } = stripAck(raw);
    if (args.length) nsp.local.emit(...args);
  });
  // Namespace#on only takes named events; the adapter hands every server-side event to
  // _onServerSideEmit([event, ...args, callback?]), so that is where "any event" is seen.
  const dispatch = nsp._onServerSideEmit.bind(nsp);
  nsp._onServerSideEmit = (packet) => {
    dispatch(packet);
    const [event, ...rest] = packet;
    const { args, ack } = stripAck(rest);
    if (ack) ack({ node: nsp.adapter.uid ?? null, event, args });
  };
}

/** The echo profile on a Socket.IO namespace ("/" and "/custom"). */
function setupEchoNamespace(nsp) {
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth;
    if (auth && typeof auth === 'object' && Object.prototype.hasOwnProperty.call(auth, 'reject')) {
      const err = new Error('not authorized');
      err.data = { reason: auth.reject };
      return next(err);
    }
    next();
  });
  attachServerSideEcho(nsp);
  nsp.on('connection', (socket) => {
    socket.emit('auth', socket.handshake.auth || {});
    socket.on('message', (...raw) => {
      const { args } = stripAck(raw);
      socket.emit('message-back', ...args);
    });
    socket.on('message-with-ack', (...raw) => {
      const { args, ack } = stripAck(raw);
      if (ack) ack(...args);
    });
    socket.on('emit-with-ack', (...raw) => {
      const { args } = stripAck(raw);
      socket.emit('emit-with-ack', ...args, (...acked) => {
        socket.emit('emit-with-ack', ...acked);
      });
    });
    attachClusterEcho(nsp, socket);
  });
}

/**
 * Connects node-redis 4 (a publishing client and its duplicate for subscriptions) and
 * returns {adapter: the @socket.io/redis-adapter factory, up(): both links ready}.
 * node-redis reconnects by itself (50 ms more per retry, 500 ms at most) and subscribes
 * again; commands issued meanwhile wait in its offline queue.
 */
async function connectRedisAdapter(url, key, log) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const [name, client] of [['pub', pub], ['sub', sub]]) {
    let down = false;
    client.on('error', (err) => {
      if (!down) log(`redis ${name}: ${err.message}`);
      down = true;
    });
    client.on('ready', () => {
      if (down) log(`redis ${name}: up again`);
      down = false;
    });
  }
  // A PUBLISH in flight when the link drops rejects, and the adapter does not catch it.
  process.on('unhandledRejection', (err) => log(`unhandled rejection: ${err?.message ?? err}`));
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, { key }),
    up: () => pub.isReady && sub.isReady,
  };
}

function healthBody(redis) {
  const body = { status: 'ok' };
  if (redis) body.redis = redis.up() ? 'up' : 'down';
  return JSON.stringify(body);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (msg) => process.stderr.write(`reference-echo-server: ${msg}\n`);

  let cors = false;
  if (opts.corsOrigins.length) {
    cors = opts.corsOrigins.includes('*')
      ? { origin: '*' }
      : { origin: opts.corsOrigins, credentials: true };
  }

  const engineOptions = () => ({
    pingInterval: opts.pingInterval,
    pingTimeout: opts.pingTimeout,
    maxHttpBufferSize: opts.maxPayload,
    transports: ['polling', 'websocket'],
    allowUpgrades: true,
    cors,
  });

  // --- bare Engine.IO echo on /engine.io/ ---
  const eio = new engine.Server(engineOptions());
  eio.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });

  // --- Socket.IO echo on /socket.io/ ---
  const redis = opts.redis ? await connectRedisAdapter(opts.redis, opts.redisKeyPrefix, log) : null;
  const io = new Server({
    serveClient: false,
    connectTimeout: opts.connectTimeout,
    ...(redis ? { adapter: redis.adapter } : {}),
  });
  const sioEngine = new engine.Server(engineOptions());
  io.bind(sioEngine);
  for (const name of ['/', '/custom']) setupEchoNamespace(io.of(name));

  // --- HTTP routing ---
  const EIO_PATH = '/engine.io/';
  const SIO_PATH = '/socket.io/';

  const server = http.createServer((req, res) => {
    if (req.url.startsWith(EIO_PATH)) return eio.handleRequest(req, res);
    if (req.url.startsWith(SIO_PATH)) return sioEngine.handleRequest(req, res);
    if (req.url === '/healthz' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(healthBody(redis));
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url.startsWith(EIO_PATH)) return eio.handleUpgrade(req, socket, head);
    if (req.url.startsWith(SIO_PATH)) return sioEngine.handleUpgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });

  server.on('error', (err) => fail(`server error: ${err.message}`));
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    process.stdout.write(`listening on http://${host}:${port}\n`);
  });

  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
}

module.exports = { setupEchoNamespace, connectRedisAdapter, healthBody, parseDuration };

if (require.main === module) main().catch((err) => fail(err.message));
