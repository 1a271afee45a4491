// Helpers for the Project Hub interop tests (20-hub-*.test.js): `hub-server --app hub`
// driven by the real socket.io-client, plus its HTTP API.
//
// These tests need HUB_SERVER=/path/to/hub-server. In reference mode (HUB_SERVER unset or
// "reference") they are skipped: reference-echo-server.js only implements the echo profile.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const {
  HOST, isReference, startServer, EventQueue, emitAck, request, withTimeout, sleep,
} = require('./helpers');

const skipReason = isReference
  ? 'hub tests need HUB_SERVER=/path/to/hub-server (the reference echo server has no --app hub)'
  : false;

/** Secret shared by the test process (mints tokens) and the servers it starts. */
const SECRET = `interop-secret-${crypto.randomBytes(16).toString('hex')}`;

/**
 * An HS256 JWT as the hub expects it: {sub, name, projects, exp}.
 * @param {string} sub user id
 * @param {{name?: string, projects?: string[], secret?: string, expSeconds?: number}} o
 *        expSeconds: exp relative to now (negative = already expired; default +1 h)
 */
function mintToken(sub, { name = sub, projects = [], secret = SECRET, expSeconds = 3600 } = {}) {
  const exp = Math.floor(Date.now() / 1000) + expSeconds;
  return jwt.sign({ sub, name, projects, exp }, secret, { algorithm: 'HS256', noTimestamp: false });
}

/** An unsigned token (`alg: none`) with otherwise valid claims. */
function unsignedToken(sub, { name = sub, projects = [] } = {}) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, name, projects, exp })}.`;
}

/** This process's environment without anything that would configure the hub. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['JWT_SECRET', 'HUB_DEV_AUTH', 'DATA_DIR', 'HUB_API_KEY']) delete env[k];
  return { ...env, ...extra };
}

const tempDirs = new Set();
/** A fresh, empty data directory (removed at process exit). */
function freshDataDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-interop-'));
  tempDirs.add(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});

/**
 * Starts `hub-server --app hub --host 127.0.0.1 --port 0 --data-dir DIR [extraArgs]` with
 * JWT_SECRET=SECRET (secret: null = no JWT_SECRET) and the extra variables of `env` (e.g.
 * HUB_API_KEY). Resolves with the helpers.js handle plus {dataDir, secret}.
 */
async function startHub(extraArgs = [], { dataDir = freshDataDir(), secret = SECRET, port = 0, env: extraEnv = {}, prefix } = {}) {
  const env = cleanEnv({ ...(secret === null ? {} : { JWT_SECRET: secret }), ...extraEnv });
  const handle = await startServer(['--data-dir', dataDir, ...extraArgs], { app: 'hub', env, port, prefix });
  return Object.assign(handle, { dataDir, secret });
}

/**
 * Runs hub-server expecting it NOT to start. Resolves with {code, signal, stdout, stderr,
 * timedOut}; the process is SIGKILLed if it is still running after `ms`.
 */
function runExpectingExit(args, env, ms = 5000) {
  return new Promise((resolve) => {
    const child = spawn(process.env.HUB_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, ms);
    child.on('error', (err) => { stderr += `spawn error: ${err.message}`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const HUB_EVENTS = [
  'new-message', 'user-typing', 'user-stopped-typing', 'error',
  'user-joined', 'user-left', 'task-updated', 'message-read',
  'notification', 'notifications-read', 'message-reaction',
];

/**
 * A socket.io-client socket for the hub with a queue per server event, registered before
 * connecting. Not connected yet: call connect() (resolves on 'connect', rejects with the
 * connect_error) or connectError() (resolves with the connect_error, rejects on 'connect').
 */
class HubClient {
  /**
   * @param {string} url server url
   * @param {{token?: string, auth?: object, transports?: string[], io?: object}} o
   *        token -> auth {token}; io: extra socket.io-client options (e.g. reconnection)
   */
  constructor(url, { token, auth, transports = ['websocket'], io: ioOpts = {} } = {}) {
    const { io } = require('socket.io-client');
    const opts = {
      forceNew: true, reconnection: false, timeout: 5000, ...ioOpts, autoConnect: false, transports,
    };
    if (token !== undefined) opts.auth = { token };
    else if (auth !== undefined) opts.auth = auth;
    this.socket = io(url, opts);
    this.status = new EventQueue(this.socket, ['connect', 'connect_error']);
    this.q = {};
    for (const ev of HUB_EVENTS) this.q[ev] = new EventQueue(this.socket, ev);
  }

  async connect(ms = 5000) {
    this.socket.connect();
    const [event, err] = await this.status.next(ms);
    if (event !== 'connect') {
      throw new Error(`connect_error: ${err?.message} ${JSON.stringify(err?.data)}`);
    }
    return this;
  }

  async connectError(ms = 5000) {
    this.socket.connect();
    const [event, err] = await this.status.next(ms);
    if (event !== 'connect_error') throw new Error(`expected connect_error, got ${event}`);
    return err;
  }

  /** Emits with an ack; resolves with the first ack argument. */
  async ack(event, ...args) {
    const res = await emitAck(this.socket, event, args, 3000);
    return res[0];
  }

  emit(event, ...args) { this.socket.emit(event, ...args); }

  /** Next payload (first argument) of a server event. */
  async next(event, ms = 3000) {
    const item = await this.q[event].next(ms);
    return item[0];
  }

  /** Asserts (by throwing) that no `event` arrives within `ms`. */
  async expectNone(event, ms = 300) {
    await sleep(ms);
    if (this.q[event].pending) {
      throw new Error(`unexpected '${event}': ${JSON.stringify(this.q[event].items.map((i) => i[0]))}`);
    }
  }

  /** Drops every queued event. */
  drain() { for (const ev of HUB_EVENTS) this.q[ev].items.length = 0; }

  get transport() { return this.socket.io.engine?.transport?.name; }

  close() {
    try { this.socket.disconnect(); this.socket.io.engine?.close(); } catch { /* ignore */ }
  }
}

/** Tracks HubClients to close them all in afterEach/after. */
class HubClients {
  constructor() { this.all = new Set(); }

  /** Creates and connects a client (see HubClient). */
  async connect(url, opts) {
    const c = new HubClient(url, opts);
    this.all.add(c);
    await c.connect();
    return c;
  }

  /** Creates a client without connecting it. */
  make(url, opts) {
    const c = new HubClient(url, opts);
    this.all.add(c);
    return c;
  }

  closeAll() {
    for (const c of this.all) c.close();
    this.all.clear();
  }
}

/**
 * HTTP request to the hub. body: an object (JSON-encoded) or a string (sent as is).
 * Resolves with {status, headers, body, json (parsed body or undefined)}.
 */
async function api(base, method, pathname, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (!h['content-type']) h['content-type'] = 'application/json';
    h['content-length'] = Buffer.byteLength(payload);
  }
  const res = await request(method, `${base}${pathname}`, { body: payload, headers: h, timeout: 5000 });
  let parsed;
  try { parsed = JSON.parse(res.body); } catch { parsed = undefined; }
  return { ...res, json: parsed };
}

/** GET /api/chat/:projectId/messages with the given query; asserts nothing. */
function getMessages(base, token, projectId, query = '') {
  const q = query ? `?${query}` : '';
  return api(base, 'GET', `/api/chat/${encodeURIComponent(projectId)}/messages${q}`, { token });
}

const MESSAGE_KEYS = ['id', 'seq', 'projectId', 'senderId', 'senderName', 'content', 'createdAt'];
const ISO_Z_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Throws unless `m` is a well-formed Message: exactly {id, seq, projectId, senderId,
 * senderName, content, createdAt, replyTo?}, seq a positive integer, id a non-empty
 * string or a number, createdAt ISO-8601 ending in Z. `expect` fields are compared too.
 */
// A message as history (sync, GET .../messages) returns it: the live message plus its
// thread's reply count and reaction counts.
function asHistory(m, { replyCount = 0, reactions = {} } = {}) {
  return { ...m, replyCount, reactions };
}

// A history message without the history-only fields (after checking they are there),
// to compare with what was sent live.
function stripHistory(m) {
  const assert = require('node:assert/strict');
  assert.ok(Number.isInteger(m.replyCount), `history message has replyCount: ${JSON.stringify(m)}`);
  assert.equal(typeof m.reactions, 'object', `history message has reactions: ${JSON.stringify(m)}`);
  const { replyCount, reactions, ...live } = m;
  return live;
}

function checkMessage(m, expect = {}) {
  const assert = require('node:assert/strict');
  assert.ok(m && typeof m === 'object' && !Array.isArray(m), `message is an object: ${JSON.stringify(m)}`);
  const keys = Object.keys(m).filter((k) => !(k === 'replyTo' && (m.replyTo === undefined || m.replyTo === null)));
  const allowed = [...MESSAGE_KEYS, 'replyTo'];
  for (const k of MESSAGE_KEYS) assert.ok(k in m, `message has '${k}': ${JSON.stringify(m)}`);
  for (const k of keys) assert.ok(allowed.includes(k), `unexpected message field '${k}': ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `seq is a positive integer: ${JSON.stringify(m.seq)}`);
  assert.ok((typeof m.id === 'string' && m.id.length > 0) || typeof m.id === 'number',
    `id is a non-empty string or a number: ${JSON.stringify(m.id)}`);
  assert.equal(typeof m.createdAt, 'string', 'createdAt is a string');
  assert.match(m.createdAt, ISO_Z_RE, 'createdAt is ISO-8601 ending in Z');
  assert.ok(!Number.isNaN(Date.parse(m.createdAt)), 'Date.parse(createdAt) works');
  for (const [k, v] of Object.entries(expect)) {
    assert.deepEqual(m[k], v, `message.${k}: ${JSON.stringify(m)}`);
  }
}

// ---- Connection state recovery (30-recovery-*.test.js) ----

/** socket.io-client options for a client that reconnects by itself, quickly. */
const FAST_RECONNECT = {
  reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0,
};

/** join-chat-room that must succeed; resolves with the ack. */
async function joinChat(c, projectId) {
  const assert = require('node:assert/strict');
  const ack = await c.ack('join-chat-room', projectId);
  assert.equal(ack?.ok, true, `join-chat-room ${projectId}: ${JSON.stringify(ack)}`);
  return ack;
}

/** send-message that must succeed; resolves with the stored message. */
async function sendMessage(c, projectId, content, replyTo) {
  const assert = require('node:assert/strict');
  const r = await c.ack('send-message', { projectId, content, ...(replyTo === undefined ? {} : { replyTo }) });
  assert.equal(r?.ok, true, `send-message: ${JSON.stringify(r)}`);
  return r.message;
}

/** n messages "<tag> 0".."<tag> n-1", one after another; resolves with the stored messages. */
async function sendMany(c, projectId, n, tag) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await sendMessage(c, projectId, `${tag} ${i}`));
  return out;
}

/** Every payload of `event` that c received within `ms` (waits the whole `ms`); consumed. */
async function collect(c, event, ms = 300) {
  await sleep(ms);
  return c.q[event].items.splice(0).map((i) => i[0]);
}

/** Resolves on c's next 'connect', skipping the connect_errors of failed reconnect attempts. */
async function nextConnect(c, ms = 8000) {
  const deadline = Date.now() + ms;
  let lastErr;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no 'connect' within ${ms} ms (last connect_error: ${lastErr?.message})`);
    let item;
    try {
      item = await c.status.next(left);
    } catch (err) {
      throw new Error(`no 'connect' within ${ms} ms (last connect_error: ${lastErr?.message})`);
    }
    if (item[0] === 'connect') return c;
    lastErr = item[1];
  }
}

/**
 * Cuts c's transport without a Socket.IO DISCONNECT (socket.io.engine.close(): the server
 * sees a transport close, which is recoverable). reconnect: whether the client may
 * reconnect by itself (else it stays away until resume()). Resolves on 'disconnect'.
 */
async function cutTransport(c, { reconnect = false, ms = 3000 } = {}) {
  const gone = new EventQueue(c.socket, 'disconnect');
  try {
    c.socket.io.reconnection(reconnect);
    c.socket.io.engine.close();
    const [reason] = await gone.next(ms);
    return reason;
  } finally {
    gone.close();
  }
}

/** Lets a client cut by cutTransport() reconnect now (it sends {pid, offset}); resolves on 'connect'. */
async function resume(c, ms = 8000) {
  c.socket.io.reconnection(true);
  c.socket.connect();
  return nextConnect(c, ms);
}

/** The next n `new-message` events of c, as their argument arrays ([message, offset?]). */
async function takeNewMessages(c, n, ms = 5000) {
  const deadline = Date.now() + ms;
  const out = [];
  while (out.length < n) {
    const left = deadline - Date.now();
    try {
      out.push(await c.q['new-message'].next(Math.max(1, left)));
    } catch {
      throw new Error(`got ${out.length} of ${n} new-message events within ${ms} ms; seqs: ` +
        JSON.stringify(out.map((a) => a[0]?.seq)));
    }
  }
  return out;
}

module.exports = {
  FAST_RECONNECT,
  nextConnect,
  cutTransport,
  resume,
  takeNewMessages,
  HOST,
  SECRET,
  skipReason,
  mintToken,
  unsignedToken,
  cleanEnv,
  freshDataDir,
  startHub,
  runExpectingExit,
  HubClient,
  HubClients,
  api,
  getMessages,
  checkMessage,
  asHistory,
  stripHistory,
  collect,
  joinChat,
  sendMessage,
  sendMany,
  withTimeout,
  sleep,
};
