// Helpers for the cluster tests (6*-cluster-*.test.js): a real redis-server per test file
// on a free loopback port, our nodes (startServer from helpers.js with --redis: hub-server
// or the reference), the Node peer (cluster-peer.js: plain socket.io + the official
// @socket.io/redis-adapter), and socket.io-client sockets that record every event.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { startServer, ioClient, emitAck, sleep, withTimeout, HOST } = require('./helpers');

const REDIS_SERVER = process.env.REDIS_SERVER || '/usr/bin/redis-server';
const READY_RE = /^listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/;

const liveChildren = new Set(); // redis-server, cluster-peer and haproxy children
process.on('exit', () => {
  for (const child of liveChildren) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** A TCP port free on 127.0.0.1 right now (the kernel picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true when a Redis at `port` answers PING with +PONG within `ms`. */
function pingRedis(port, ms = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    let buf = '';
    const done = (ok) => { clearTimeout(timer); sock.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), ms);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (c) => { buf += c; if (buf.includes('\r\n')) done(buf.startsWith('+PONG')); });
    sock.on('error', () => done(false));
  });
}

/** Tracks a child process: {child, output (lines), exited: Promise<{code, signal}>}. */
function track(child) {
  liveChildren.add(child);
  const output = [];
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { liveChildren.delete(child); resolve({ code, signal }); });
    child.on('error', (err) => { liveChildren.delete(child); output.push(`spawn error: ${err.message}`); resolve({ code: -1, signal: null }); });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => output.push(...chunk.split('\n').filter(Boolean)));
  }
  return { child, output, exited };
}

async function stopChild(t, signal = 'SIGTERM') {
  if (t.child.exitCode !== null || t.child.signalCode !== null) return t.exited;
  t.child.kill(signal);
  try {
    return await withTimeout(t.exited, 3000, `exit after ${signal}`);
  } catch {
    t.child.kill('SIGKILL');
    return withTimeout(t.exited, 3000, 'exit after SIGKILL').catch(() => ({}));
  }
}

/**
 * A real redis-server (Debian's) on a free loopback port with no persistence, in its own
 * temporary --dir. kill9() and restart() (same port) are for the outage test; stop() ends
 * it and removes the directory (idempotent).
 */
class RedisServer {
  constructor(port, dir, { durable = false } = {}) {
    this.port = port;
    this.dir = dir;
    this.durable = durable;
    this.url = `redis://${HOST}:${port}`;
    this.proc = null;
  }

  /**
   * durable: AOF on, every write synced before Redis answers (appendonly yes,
   * appendfsync always), so that a kill -9 loses nothing Redis acknowledged.
   */
  static async start({ durable = false } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-redis-'));
    let lastErr;
    for (let i = 0; i < 5; i++) { // a port taken between freePort() and the bind: another one
      const r = new RedisServer(await freePort(), dir, { durable });
      try {
        await r.launch();
        return r;
      } catch (err) {
        lastErr = err;
        await r.kill9();
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw lastErr;
  }

  async launch() {
    const args = ['--port', String(this.port), '--bind', HOST, '--dir', this.dir,
      '--save', '', ...(this.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];
    this.proc = track(spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const t0 = Date.now();
    for (let i = 0; i < 100 && Date.now() - t0 < 5000; i++) { // bounded: 5 s
      if (this.proc.child.exitCode !== null) break;
      if (await pingRedis(this.port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING:\n${this.proc.output.slice(-10).join('\n')}`);
  }

  /** The URL with a database number (pub/sub is not per database in Redis). */
  urlDb(db) { return `${this.url}/${db}`; }

  async kill9() {
    if (this.proc) await stopChild(this.proc, 'SIGKILL');
  }

  /** Starts again on the same port (after kill9). */
  async restart() {
    await this.kill9();
    await this.launch();
  }

  async stop() {
    await this.kill9();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One of our nodes (hub-server or the reference) in the cluster behind `redis`. */
function startNode(redis, { prefix, url, extra = [] } = {}) {
  const args = ['--redis', url || redis.url, ...(prefix ? ['--redis-key-prefix', prefix] : []), ...extra];
  return startServer(args);
}

/** Waits for a child's `listening on` line; resolves with the port. */
function waitListening(t, what, ms = 10000) {
  const ready = new Promise((resolve, reject) => {
    let buf = '';
    t.child.stdout.on('data', (chunk) => {
      buf += chunk;
      for (const line of buf.split('\n')) {
        const m = READY_RE.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    t.exited.then(({ code, signal }) => reject(new Error(
      `${what} exited before ready (code ${code}, signal ${signal}):\n${t.output.slice(-20).join('\n')}`)));
  });
  return withTimeout(ready, ms, `${what} ready line`);
}

/** The Node peer (cluster-peer.js) as a child process: {url, port, output, stop()}. */
async function startPeer(redis, { prefix, url } = {}) {
  const args = [path.join(__dirname, 'cluster-peer.js'), '--host', HOST, '--port', '0',
    '--redis', url || redis.url, ...(prefix ? ['--redis-key-prefix', prefix] : [])];
  const t = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let port;
  try {
    port = await waitListening(t, 'cluster-peer');
  } catch (err) {
    await stopChild(t, 'SIGKILL');
    throw err;
  }
  return { kind: 'node-peer', port, url: `http://${HOST}:${port}`, output: t.output, child: t.child, stop: () => stopChild(t) };
}

/**
 * Every event a socket.io-client socket receives, in order, as [event, ...args] (the
 * echo profile's 'auth' greeting and the mesh probes left out). Register before connecting.
 */
class AnyQueue {
  constructor(socket) {
    this.items = [];
    this.waiters = [];
    socket.onAny((event, ...args) => {
      if (event === 'auth' || event === 'cluster-probe') return;
      const item = [event, ...args];
      const w = this.waiters.shift();
      if (w) w(item);
      else this.items.push(item);
    });
  }

  /** The next event; rejects after `ms`. */
  next(ms = 3000) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    let waiter;
    const p = new Promise((resolve) => { waiter = resolve; });
    this.waiters.push(waiter);
    return withTimeout(p, ms, 'an event').catch((err) => {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      throw err;
    });
  }

  /** Waits `ms`, then returns (and removes) everything received but not consumed. */
  async drain(ms = 300) {
    await sleep(ms);
    return this.items.splice(0);
  }

  get pending() { return this.items.length; }
}

/**
 * A connected socket.io-client socket on `node` (namespace `nsp`), websocket unless
 * opts.transports says otherwise. Returns {socket, q, any, node, call(event, ...args)}:
 * `any` is an AnyQueue, call() resolves with the ack's first value (3 s bound by default;
 * set c.callMs for longer).
 */
async function connect(node, clients, nsp = '/', opts = {}) {
  const c = ioClient(nsp === '/' ? node.url : `${node.url}${nsp}`, { transports: ['websocket'], ...opts });
  clients.add(c.socket);
  c.any = new AnyQueue(c.socket);
  c.node = node;
  c.callMs = 3000;
  c.call = async (event, ...args) => (await emitAck(c.socket, event, args, c.callMs))[0];
  await c.connect();
  await c.q.auth.next();
  return c;
}

/** Polls `fn` (async) every `interval` ms until it returns a truthy value; bounded. */
async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  for (let i = 0; i < 10000; i++) {
    last = await fn();
    if (last) return last;
    if (Date.now() - t0 > timeout) break;
    await sleep(interval);
  }
  throw new Error(`timeout after ${timeout} ms waiting for ${what}; last value ${JSON.stringify(last)}`);
}

/**
 * Waits until the nodes form one cluster on each namespace: every node reports
 * server-count = nodes.length, and a broadcast from each node reaches a client on every
 * other one (subscriptions may settle after a node prints its ready line). Bounded.
 */
async function waitMesh(nodes, clients, { namespaces = ['/', '/custom'], timeout = 10000 } = {}) {
  const t0 = Date.now();
  for (const nsp of namespaces) {
    const probes = [];
    for (const node of nodes) {
      const c = ioClient(nsp === '/' ? node.url : `${node.url}${nsp}`, { transports: ['websocket'] });
      clients.add(c.socket);
      const seen = new Set();
      c.socket.on('cluster-probe', (token) => seen.add(token));
      await c.connect();
      probes.push({ c, seen });
    }
    await waitFor(async () => {
      for (const { c } of probes) {
        const n = (await emitAck(c.socket, 'server-count', [], 3000))[0];
        if (n !== nodes.length) return false;
      }
      return true;
    }, { timeout: Math.max(1000, timeout - (Date.now() - t0)), interval: 100, what: `server-count ${nodes.length} on ${nsp}` });
    for (let round = 0; ; round++) {
      const token = (i) => `${nsp}:${round}:${i}`;
      for (const [i, { c }] of probes.entries()) {
        await emitAck(c.socket, 'broadcast', [{ event: 'cluster-probe', args: [token(i)], broadcast: true }], 3000);
      }
      await sleep(100);
      const meshed = probes.every(({ seen }, j) => probes.every((_, i) => i === j || seen.has(token(i))));
      if (meshed) break;
      if (Date.now() - t0 > timeout) throw new Error(`nodes not meshed on ${nsp} after ${timeout} ms`);
    }
    for (const { c } of probes) { c.socket.disconnect(); c.socket.io.engine?.close(); }
  }
}

/** A fresh room name per call (tests share nodes, so rooms must not collide). */
let roomSeq = 0;
function room(tag = 'r') {
  roomSeq += 1;
  return `${tag}-${process.pid}-${roomSeq}`;
}

/** A counter or gauge from /metrics (first sample line `name value` or `name{...} value`). */
async function metric(node, name) {
  const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(3000) });
  const line = res.status === 200 && (await res.text()).split('\n')
    .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.trim().split(/\s+/).pop()) : null;
}

/** GET /healthz as {status, body (parsed JSON or the text)}. */
async function healthz(node) {
  const res = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

module.exports = {
  RedisServer,
  startNode,
  startPeer,
  AnyQueue,
  connect,
  waitFor,
  waitMesh,
  room,
  metric,
  healthz,
  freePort,
  track,
  stopChild,
  liveChildren,
};
