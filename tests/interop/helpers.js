// Shared helpers for the interop suite.
//
// Server under test, chosen by the environment:
//   HUB_SERVER=/path/to/hub-server  -> `$HUB_SERVER --app echo --host 127.0.0.1 --port 0 [extra]`
//   HUB_SERVER unset or "reference" -> `node reference-echo-server.js` with the same flags
// Both print `listening on http://127.0.0.1:PORT` on stdout when ready.
'use strict';

const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const WebSocket = require('ws');

const HOST = '127.0.0.1';
const READY_RE = /^listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/;
const STARTUP_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 3000;

const hubServer = process.env.HUB_SERVER;
const isReference = !hubServer || hubServer === 'reference';
const serverKind = isReference ? 'reference' : 'hub-server';

const live = new Set(); // child processes still running (killed on exit)
function killAll() {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(sig, () => { killAll(); process.exit(code); });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with a message unless `promise` settles first. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function spawnOnce(extraArgs, port, { app = 'echo', env, prefix } = {}) {
  const args = ['--app', app, '--host', HOST, '--port', String(port), ...extraArgs];
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) };
  const child = isReference
    ? spawn(process.execPath, [path.join(__dirname, 'reference-echo-server.js'), ...args], opts)
    : prefix ? spawn(prefix[0], [...prefix.slice(1), hubServer, ...args], opts) : spawn(hubServer, args, opts);
  live.add(child);
  const output = [];
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
    child.on('error', (err) => { live.delete(child); output.push(`spawn error: ${err.message}`); resolve({ code: -1, signal: null }); });
  });

  const ready = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        output.push(line);
        const m = READY_RE.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { output.push(...chunk.split('\n').filter(Boolean)); });
    exited.then(({ code, signal }) => reject(new Error(
      `${serverKind} exited before ready (code ${code}, signal ${signal}); args: ${args.join(' ')}\n` +
      output.slice(-30).join('\n'))));
  });
  return { child, args, output, exited, ready };
}

/**
 * Starts the server under test and waits for its ready line.
 * @param {string[]} extraArgs flags appended after `--app echo --host 127.0.0.1 --port N`
 * @param {{port?: number, app?: string, env?: object}} options a fixed port (default 0 =
 *        free port), the `--app` value (default echo), the child's environment (default
 *        this process's)
 */
async function startServer(extraArgs = [], { port = 0, app = 'echo', env, prefix } = {}) {
  // A fixed port may still be held for a moment after a restart: retry a few times.
  const attempts = port ? 20 : 1;
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    const p = spawnOnce(extraArgs, port, { app, env, prefix });
    try {
      const actualPort = await withTimeout(p.ready, STARTUP_TIMEOUT_MS, `${serverKind} ready line`);
      if (port && actualPort !== port) throw new Error(`server listens on ${actualPort}, wanted ${port}`);
      return makeHandle(p, actualPort, extraArgs);
    } catch (err) {
      lastErr = err;
      p.child.kill('SIGKILL');
      await withTimeout(p.exited, STOP_TIMEOUT_MS, 'server exit').catch(() => {});
      if (i + 1 < attempts) await sleep(100);
    }
  }
  throw lastErr;
}

function makeHandle(p, port, extraArgs) {
  let stopped = false;
  p.exited.then(({ code, signal }) => {
    if (stopped) return;
    process.stderr.write(`[interop] ${serverKind} (port ${port}) exited unexpectedly: code ${code}, ` +
      `signal ${signal}; last output:\n${p.output.slice(-20).join('\n')}\n`);
  });
  return {
    port,
    host: HOST,
    url: `http://${HOST}:${port}`,
    wsUrl: `ws://${HOST}:${port}`,
    extraArgs,
    output: p.output,
    child: p.child,
    /** Resolves with {code, signal} when the process exits. */
    exited: p.exited,
    /** Stops the server (SIGTERM, then SIGKILL after a bounded wait). Idempotent. */
    async stop(signal = 'SIGTERM') {
      if (stopped) return;
      stopped = true;
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
      try {
        await withTimeout(p.exited, STOP_TIMEOUT_MS, `${serverKind} exit after ${signal}`);
      } catch {
        p.child.kill('SIGKILL');
        await withTimeout(p.exited, STOP_TIMEOUT_MS, `${serverKind} exit after SIGKILL`).catch(() => {});
      }
    },
  };
}

/**
 * FIFO of events from an emitter (socket.io-client, engine.io-client, ws, ...). Register it
 * before the events can fire (e.g. before connecting) so nothing is missed.
 */
class EventQueue {
  /**
   * @param emitter anything with on/off (or removeListener)
   * @param {string|string[]} events one event (items are its argument arrays) or several
   *        (items are [eventName, ...args], in arrival order)
   */
  constructor(emitter, events) {
    this.emitter = emitter;
    this.multi = Array.isArray(events);
    this.events = this.multi ? events : [events];
    this.items = [];
    this.waiters = [];
    this.listeners = this.events.map((event) => {
      const listener = (...args) => {
        const item = this.multi ? [event, ...args] : args;
        const w = this.waiters.shift();
        if (w) w.resolve(item);
        else this.items.push(item);
      };
      emitter.on(event, listener);
      return [event, listener];
    });
  }

  /** Resolves with the next item (see constructor); rejects after `ms`. */
  next(ms = 3000) {
    if (this.items.length) return Promise.resolve(this.items.shift());
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; });
    this.waiters.push(waiter);
    return withTimeout(p, ms, `event '${this.events.join("' or '")}'`).catch((err) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw err;
    });
  }

  /** Number of events received but not consumed yet. */
  get pending() { return this.items.length; }

  close() {
    for (const [event, listener] of this.listeners) {
      if (typeof this.emitter.off === 'function') this.emitter.off(event, listener);
      else this.emitter.removeListener(event, listener);
    }
  }
}

/** Resolves with the arguments of the next `event` on `emitter`. */
function once(emitter, event, ms = 3000) {
  const q = new EventQueue(emitter, event);
  return q.next(ms).finally(() => q.close());
}

/**
 * Emits with an ack and resolves with all ack arguments (socket.io-client's emitWithAck
 * only returns the first one). Rejects after `ms`.
 */
function emitAck(socket, event, args, ms = 3000) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...res) => (err ? reject(err) : resolve(res)));
  });
}

/** Tracks client sockets (socket.io-client / engine.io-client / ws) to close them all. */
class Clients {
  constructor() { this.all = new Set(); }
  add(c) { this.all.add(c); return c; }
  closeAll() {
    for (const c of this.all) {
      try {
        if (typeof c.terminate === 'function') c.terminate(); // ws
        else if (c.io && typeof c.disconnect === 'function') { c.disconnect(); c.io.engine?.close(); }
        else if (typeof c.close === 'function') c.close();
      } catch { /* ignore */ }
    }
    this.all.clear();
  }
}

/**
 * Raw HTTP request (no keep-alive). Resolves with {status, headers, body (utf8 string)}.
 */
function request(method, url, { body, headers = {}, timeout = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => { clearTimeout(timer); reject(err); });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timeout after ${timeout} ms: ${method} ${url}`));
    }, timeout);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Opens a raw WebSocket (ws package). Resolves with {ws, messages} where messages is an
 * EventQueue of [data, isBinary]. Rejects on 'unexpected-response' / error / timeout.
 */
function openWs(url, ms = 3000) {
  const ws = new WebSocket(url);
  const messages = new EventQueue(ws, 'message');
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => { /* reported through 'close' or the open promise */ });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (req, res) => {
      reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode }));
      req.destroy();
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed before open (${code})`)));
  });
  return withTimeout(opened, ms, `websocket open ${url}`).catch((err) => { ws.terminate(); throw err; });
}

/** Splits a polling payload on the record separator. */
function splitPayload(body) {
  return body.split('\x1e');
}

/** Polling handshake on `path` (/engine.io/ or /socket.io/). Returns the parsed open JSON. */
async function pollingHandshake(base, pathname = '/socket.io/') {
  const res = await request('GET', `${base}${pathname}?EIO=4&transport=polling`);
  if (res.status !== 200 || !res.body.startsWith('0')) {
    throw new Error(`handshake failed: ${res.status} ${res.body}`);
  }
  return JSON.parse(res.body.slice(1));
}

/**
 * Registers queues for the echo profile's events on a socket.io-client socket that is
 * not connected yet. Returns {socket, q, connect(ms)}; connect() resolves on 'connect'
 * and throws on 'connect_error'.
 */
function wrapSocket(socket) {
  const q = {
    // 'connect' / 'connect_error' in arrival order: items ['connect'] or ['connect_error', err]
    status: new EventQueue(socket, ['connect', 'connect_error']),
    disconnect: new EventQueue(socket, 'disconnect'),
    auth: new EventQueue(socket, 'auth'),
    messageBack: new EventQueue(socket, 'message-back'),
    emitWithAck: new EventQueue(socket, 'emit-with-ack'),
  };
  return {
    socket,
    q,
    async connect(ms = 5000) {
      socket.connect();
      const [event, err] = await q.status.next(ms);
      if (event !== 'connect') throw new Error(`connect_error: ${err?.message} ${JSON.stringify(err?.data)}`);
    },
  };
}

/**
 * A socket.io-client socket for `url` (not connected yet), wrapped by wrapSocket().
 * Defaults: forceNew, no reconnection, 5 s open timeout (tests override as needed).
 */
function ioClient(url, opts = {}) {
  const { io } = require('socket.io-client');
  return wrapSocket(io(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts, autoConnect: false }));
}

/** A socket.io-client Manager (not opened yet) with the suite's defaults. */
function ioManager(url, opts = {}) {
  const { Manager } = require('socket.io-client');
  return new Manager(url, { reconnection: false, timeout: 5000, ...opts, autoConnect: false });
}

module.exports = {
  ioClient,
  ioManager,
  wrapSocket,
  HOST,
  isReference,
  serverKind,
  sleep,
  withTimeout,
  startServer,
  EventQueue,
  once,
  emitAck,
  Clients,
  request,
  openWs,
  splitPayload,
  pollingHandshake,
};
