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
// Prints exactly `listening on http://HOST:PORT` on stdout when ready.
//
// Echo profile:
//   /engine.io/  bare Engine.IO: every message is sent back unchanged (text/binary kept).
//   /socket.io/  Socket.IO namespaces "/" and "/custom" (others: "Invalid namespace"):
//     - auth has key "reject"  -> connect_error "not authorized", data {reason: auth.reject}
//     - on connect             -> emit("auth", handshake auth or {})
//     - "message"              -> emit("message-back", ...args)
//     - "message-with-ack"     -> ack(...args)
//     - "emit-with-ack"        -> emit("emit-with-ack", ...args, ack); on ack(...r) emit("emit-with-ack", ...r)
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
      default:
        fail(`unknown argument: ${argv[i]}`);
    }
  }
  if (opts.app !== 'echo') fail(`only --app echo is supported (got ${opts.app})`);
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

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
const io = new Server({ serveClient: false, connectTimeout: opts.connectTimeout });
const sioEngine = new engine.Server(engineOptions());
io.bind(sioEngine);

function stripAck(args) {
  return typeof args[args.length - 1] === 'function'
    ? { args: args.slice(0, -1), ack: args[args.length - 1] }
    : { args, ack: null };
}

for (const name of ['/', '/custom']) {
  const nsp = io.of(name);
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth;
    if (auth && typeof auth === 'object' && Object.prototype.hasOwnProperty.call(auth, 'reject')) {
      const err = new Error('not authorized');
      err.data = { reason: auth.reject };
      return next(err);
    }
    next();
  });
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
  });
}

// --- HTTP routing ---
const EIO_PATH = '/engine.io/';
const SIO_PATH = '/socket.io/';

const server = http.createServer((req, res) => {
  if (req.url.startsWith(EIO_PATH)) return eio.handleRequest(req, res);
  if (req.url.startsWith(SIO_PATH)) return sioEngine.handleRequest(req, res);
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
