#!/usr/bin/env node
// Crash-loop reliability driver for `hub-server --app hub` (run it with scripts/crash_loop.sh).
//
// SENDERS socket.io-client clients (websocket, reconnection on, fast backoff) join both chat
// rooms of the run and send messages continuously to one of them (content "s<i>:<n>"),
// with acks. Meanwhile the driver kill -9s the server KILLS times at seeded-random moments
// and restarts it on the same data dir and port; the clients reconnect and recover by
// themselves. Then sending stops and the driver checks:
//
//  (a) the room logs, read with `sync` (limit 500, paged) by a fresh client: every
//      acknowledged message is there exactly once (same id, seq and content); seqs are
//      1..N with no gap and no duplicate; every entry is a send some client attempted.
//  (b) per sender: its acknowledged contents are in the log, none twice (no send was
//      stored twice, e.g. by a replay of a buffered packet).
//  (c) per client and room: the `new-message` events it received (live + replayed by
//      connection state recovery) are EXACTLY the log entries after its join point, each
//      once, in seq order.
//      Why exact and not "after a final sync": docs/recovery.md guarantees that within
//      --recovery-window (default 2m; this run is far shorter) a session survives a
//      kill -9 (its record in RocksDB has no disconnectedAt, so it counts as
//      disconnected at the new process's start), the reconnect is recovered
//      (socket.recovered === true), the missed entries are replayed after the client's
//      offset, and held live events are de-duplicated by seq: "Every event reaches the
//      client exactly once". The weaker "caught up after a final sync from the last seen
//      seq" is the fallback only for gaps longer than the window, which this run never
//      creates. So every reconnect must be recovered, and coverage must be exact; a
//      reconnect that is not recovered is reported as a failure (the driver then rejoins
//      and syncs from the last seen seq, and reports whether that filled the gap).
//  (d) after one more kill -9 and restart, a fresh client reads the same logs again.
//
// Sends whose ack was lost in a crash may or may not be stored: both are allowed
// ("unacknowledged but stored" is reported); a stored send that no client attempted, a
// duplicate or a gap is not.
//
// Environment: HUB_SERVER (binary), KILLS (30), SENDERS (4), SEED (random), WORK_DIR (a
// temp dir for the data dir and server log; created and removed here when unset),
// DELAY_MIN_MS/DELAY_MAX_MS (150/1500: sending time between "all clients are back" and
// the next kill), EARLY_KILL_PCT (15: % of kills that hit while the clients are still
// reconnecting/recovering instead), INFLIGHT (2 unacknowledged sends per client),
// TIME_LIMIT_S (a bound on the whole run; default 120 + 20 per kill), VERBOSE=1,
// EXTRA_SERVER_ARGS (more hub-server flags, for experiments).
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const NODE_MODULES = path.resolve(__dirname, '..', 'interop', 'node_modules');
const need = (name) => require(require.resolve(name, { paths: [NODE_MODULES] }));
const { io } = need('socket.io-client');
const jwt = need('jsonwebtoken');

// ---------------------------------------------------------------- configuration

const intEnv = (name, def, min = 0) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`crash-loop: ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
};

const HUB_SERVER = process.env.HUB_SERVER || path.resolve(__dirname, '..', '..', 'build', 'hub-server');
const KILLS = intEnv('KILLS', 30);
const SENDERS = intEnv('SENDERS', 4, 1);
const SEED = intEnv('SEED', crypto.randomInt(1, 2 ** 31 - 1));
const DELAY_MIN_MS = intEnv('DELAY_MIN_MS', 150);
const DELAY_MAX_MS = Math.max(DELAY_MIN_MS, intEnv('DELAY_MAX_MS', 1500));
const EARLY_KILL_PCT = Math.min(100, intEnv('EARLY_KILL_PCT', 15));
const INFLIGHT = intEnv('INFLIGHT', 2, 1);
const TIME_LIMIT_MS = intEnv('TIME_LIMIT_S', 120 + 20 * KILLS, 10) * 1000;
const VERBOSE = process.env.VERBOSE === '1';
// Extra hub-server flags, whitespace-separated (experiments only, e.g. "--workers 1").
const EXTRA_SERVER_ARGS = (process.env.EXTRA_SERVER_ARGS ?? '').split(/\s+/).filter(Boolean);

const HOST = '127.0.0.1';
const ROOMS = ['crash-a', 'crash-b'];
const JWT_SECRET = crypto.randomBytes(32).toString('hex'); // 64 hex characters
const READY_RE = /^listening on http:\/\/127\.0\.0\.1:(\d+)\s*$/;
const STARTUP_TIMEOUT_MS = 15000;
const ACK_TIMEOUT_MS = 5000;
const RECONNECT_TIMEOUT_MS = 20000;
const CATCH_UP_TIMEOUT_MS = 20000;
const SYNC_LIMIT = 500;

const T0 = Date.now();
const DEADLINE = T0 + TIME_LIMIT_MS;
const ownWorkDir = !process.env.WORK_DIR;
const WORK_DIR = process.env.WORK_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'hub-crash-loop-'));
const DATA_DIR = path.join(WORK_DIR, 'data');
const SERVER_LOG = path.join(WORK_DIR, 'server.log');
const PID_FILE = path.join(WORK_DIR, 'server.pid');

const log = (...a) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s]`, ...a);
const vlog = (...a) => { if (VERBOSE) log(...a); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` unless `p` settles first. */
function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

/** Polls `cond` every 20 ms until true; throws after `ms` (or at the run's deadline). */
async function waitFor(cond, ms, what) {
  const end = Math.min(Date.now() + ms, DEADLINE);
  while (!cond()) {
    if (Date.now() >= end) {
      throw new Error(`${Date.now() >= DEADLINE ? 'run time limit reached' : `timeout after ${ms} ms`}: ${what}`);
    }
    await sleep(20);
  }
}

// mulberry32: small seeded PRNG (the schedule of kills and delays comes from SEED).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

// ---------------------------------------------------------------- the server

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function serverEnv() {
  const env = { ...process.env };
  for (const k of ['JWT_SECRET', 'HUB_DEV_AUTH', 'DATA_DIR', 'HUB_API_KEY', 'PORT', 'HOST', 'JWT_AUDIENCE', 'JWT_ISSUER']) delete env[k];
  env.JWT_SECRET = JWT_SECRET;
  return env;
}

const failures = []; // strings; the run passes only if this stays empty
const fail = (msg) => { failures.push(msg); log(`FAIL: ${msg}`); };

class Server {
  constructor(port) {
    this.port = port;
    this.child = null;
    this.generation = 0;
    this.tail = []; // last output lines of all runs (for failure reports)
    this.logFd = fs.openSync(SERVER_LOG, 'a');
    this.unexpectedExits = [];
  }

  args() {
    return ['--app', 'hub', '--host', HOST, '--port', String(this.port), '--data-dir', DATA_DIR,
      '--rate-limit', '100000/1s', ...EXTRA_SERVER_ARGS];
  }

  note(line) {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
    fs.writeSync(this.logFd, `${line}\n`);
  }

  spawnOnce() {
    const gen = ++this.generation;
    this.note(`==== run ${gen}: ${HUB_SERVER} ${this.args().join(' ')}`);
    const child = spawn(HUB_SERVER, this.args(), { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() });
    child.expectedExit = false;
    fs.writeFileSync(PID_FILE, `${child.pid}\n`);
    const exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.note(`==== run ${gen} exited: code ${code}, signal ${signal}`);
        if (!child.expectedExit && child.wasReady) {
          this.unexpectedExits.push({ gen, code, signal });
          fail(`server run ${gen} exited unexpectedly (code ${code}, signal ${signal})`);
        }
        resolve({ code, signal });
      });
      child.on('error', (err) => { this.note(`spawn error: ${err.message}`); resolve({ code: -1, signal: null }); });
    });
    child.exited = exited;
    const ready = new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          this.note(`[${gen} out] ${line}`);
          const m = READY_RE.exec(line);
          if (m) resolve(Number(m[1]));
        }
      });
      let ebuf = '';
      child.stderr.setEncoding('utf8').on('data', (chunk) => {
        ebuf += chunk;
        let nl;
        while ((nl = ebuf.indexOf('\n')) >= 0) {
          this.note(`[${gen} err] ${ebuf.slice(0, nl)}`);
          ebuf = ebuf.slice(nl + 1);
        }
      });
      exited.then(({ code, signal }) => reject(new Error(`server exited before ready (code ${code}, signal ${signal})`)));
    });
    return { child, ready };
  }

  /** Starts the server on this.port; a port still held right after a kill is retried. */
  async start() {
    let lastErr;
    for (let attempt = 0; attempt < 20; attempt++) {
      const { child, ready } = this.spawnOnce();
      try {
        const port = await withTimeout(ready, STARTUP_TIMEOUT_MS, 'server ready line');
        if (port !== this.port) throw new Error(`server listens on ${port}, wanted ${this.port}`);
        child.wasReady = true;
        this.child = child;
        return Date.now();
      } catch (err) {
        lastErr = err;
        child.expectedExit = true;
        child.kill('SIGKILL');
        await withTimeout(child.exited, 5000, 'exit after SIGKILL').catch(() => {});
        await sleep(100);
      }
    }
    throw new Error(`server did not start: ${lastErr?.message}\n${this.tail.slice(-30).join('\n')}`);
  }

  /** kill -9; resolves once the process is gone. */
  async kill9() {
    const child = this.child;
    this.child = null;
    if (!child) return;
    child.expectedExit = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await withTimeout(child.exited, 5000, 'server exit after SIGKILL');
  }

  get alive() { return !!this.child && this.child.exitCode === null && this.child.signalCode === null; }
}

// ---------------------------------------------------------------- the clients

const token = (sub) => jwt.sign(
  { sub, name: `Crash ${sub}`, projects: ROOMS, exp: Math.floor(Date.now() / 1000) + 6 * 3600 },
  JWT_SECRET, { algorithm: 'HS256' });

function emitAck(socket, event, payload, ms = ACK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, payload, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Reads a room's log after `afterSeq` (0: all of it) with `sync`, paged; returns the messages in order. */
async function readLog(socket, projectId, afterSeq = 0) {
  const out = [];
  let after = afterSeq;
  const maxPages = 10000; // 5 million messages: a bound, never reached
  for (let page = 0; page < maxPages; page++) {
    const r = await emitAck(socket, 'sync', { projectId, afterSeq: after, limit: SYNC_LIMIT }, 10000);
    if (!r?.ok) throw new Error(`sync ${projectId} after ${after}: ${JSON.stringify(r)}`);
    out.push(...r.messages);
    if (!r.hasMore) return out;
    if (!r.messages.length) throw new Error(`sync ${projectId} after ${after}: hasMore with no messages`);
    after = r.messages[r.messages.length - 1].seq;
  }
  throw new Error(`sync ${projectId}: more than ${maxPages} pages`);
}

class Client {
  constructor(i, url) {
    this.i = i;
    this.tag = `s${i}`;
    this.user = `u-crash-${i}`;
    this.sendRoom = ROOMS[i % ROOMS.length];
    this.received = Object.fromEntries(ROOMS.map((r) => [r, []])); // [{seq,id,content}] in arrival order
    this.synced = Object.fromEntries(ROOMS.map((r) => [r, []])); // fallback syncs after a failed recovery
    this.joinSeq = {};
    this.maxSeq = Object.fromEntries(ROOMS.map((r) => [r, 0]));
    this.connects = 0;
    this.recoveredReconnects = 0;
    this.freshReconnects = [];
    this.connectErrors = 0;
    this.lastConnectAt = 0;
    this.counter = 0;
    this.acked = []; // {content, id, seq, projectId}
    this.attempted = new Set();
    this.unacked = []; // {content, why}
    this.refused = []; // acks with ok:false
    this.inflight = 0;
    this.socket = io(url, {
      forceNew: true,
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0.3,
      timeout: 5000,
      auth: { token: token(this.user) },
      autoConnect: false,
    });
    this.socket.on('new-message', (m) => {
      const room = m?.projectId;
      if (!this.received[room]) { fail(`${this.tag}: new-message for an unknown room: ${JSON.stringify(m)}`); return; }
      this.received[room].push({ seq: m.seq, id: m.id, content: m.content });
      if (m.seq > this.maxSeq[room]) this.maxSeq[room] = m.seq;
    });
    this.socket.on('connect_error', () => { this.connectErrors++; });
    this.socket.on('disconnect', (reason) => {
      vlog(`${this.tag} disconnect: ${reason}`);
      // The server never sends a namespace DISCONNECT here; if it did, socket.io-client
      // would not reconnect by itself.
      if (reason === 'io server disconnect') {
        fail(`${this.tag}: server-side namespace disconnect`);
        this.socket.connect();
      }
    });
    this.socket.on('connect', () => {
      this.connects++;
      this.lastConnectAt = Date.now();
      if (this.connects === 1) return;
      if (this.socket.recovered) {
        this.recoveredReconnects++;
      } else {
        this.freshReconnects.push(Date.now() - T0);
        fail(`${this.tag}: reconnect #${this.connects - 1} was NOT recovered (new session) within the recovery window`);
        this.resyncAfterFreshSession().catch((err) => fail(`${this.tag}: rejoin/sync after a fresh session: ${err.message}`));
      }
    });
  }

  /** Per room, the highest seq received (live, replayed or by a fallback sync), else the join point. */
  get caughtUpSeq() {
    const o = {};
    for (const r of ROOMS) o[r] = Math.max(this.maxSeq[r], this.joinSeq[r] ?? 0);
    return o;
  }

  async connect() {
    this.socket.connect();
    await waitFor(() => this.socket.connected, 10000, `${this.tag} first connect`);
  }

  async joinAll() {
    for (const r of ROOMS) {
      const ack = await emitAck(this.socket, 'join-chat-room', r);
      if (!ack?.ok) throw new Error(`${this.tag} join-chat-room ${r}: ${JSON.stringify(ack)}`);
      this.joinSeq[r] = ack.lastSeq;
    }
  }

  /** Fallback after a reconnect that was not recovered: rejoin, then sync from the last seen seq. */
  async resyncAfterFreshSession() {
    for (const r of ROOMS) {
      const ack = await emitAck(this.socket, 'join-chat-room', r);
      if (!ack?.ok) throw new Error(`join-chat-room ${r}: ${JSON.stringify(ack)}`);
      const from = this.caughtUpSeq[r];
      const msgs = await readLog(this.socket, r, from);
      this.synced[r].push(...msgs.map((m) => ({ seq: m.seq, id: m.id, content: m.content })));
      for (const m of msgs) if (m.seq > this.maxSeq[r]) this.maxSeq[r] = m.seq;
    }
  }

  /** One sending lane: a send, its ack, the next send. */
  async lane(isSending) {
    while (isSending()) {
      if (!this.socket.connected) { await sleep(10); continue; }
      const content = `${this.tag}:${this.counter++}`;
      this.attempted.add(content);
      this.inflight++;
      try {
        const r = await emitAck(this.socket, 'send-message', { projectId: this.sendRoom, content });
        if (r?.ok) {
          this.acked.push({ content, id: r.message?.id, seq: r.message?.seq, projectId: r.message?.projectId, ackContent: r.message?.content });
        } else {
          this.refused.push({ content, r });
          this.unacked.push({ content, why: `refused: ${JSON.stringify(r)}` });
          await sleep(50);
        }
      } catch (err) {
        this.unacked.push({ content, why: err.message });
      } finally {
        this.inflight--;
      }
    }
  }

  close() {
    try { this.socket.io.reconnection(false); this.socket.disconnect(); this.socket.io.engine?.close(); } catch { /* ignore */ }
  }
}

// ---------------------------------------------------------------- checks

function checkAll({ logs, clients, logsAfterRestart }) {
  const f = {
    logLength: 0, acked: 0, unackedStored: 0, unackedLost: 0, duplicates: 0, gaps: 0,
    unknownEntries: 0, ackedMissing: 0, ackMismatch: 0, clientMissing: 0, clientDuplicates: 0,
    clientExtra: 0, clientOutOfOrder: 0, clientContentMismatch: 0,
  };
  const problems = [];
  const sample = (arr) => JSON.stringify(arr.slice(0, 5)) + (arr.length > 5 ? ` (+${arr.length - 5} more)` : '');

  // (a) the logs: seqs 1..N, no duplicate id/seq/content; every entry was attempted.
  const byContent = new Map(); // content -> [entry]
  const byId = new Map();
  const attemptedAll = new Set(clients.flatMap((c) => [...c.attempted]));
  for (const room of ROOMS) {
    const entries = logs[room];
    f.logLength += entries.length;
    f.perRoom = { ...f.perRoom, [room]: entries.length };
    const seqCount = new Map();
    for (const m of entries) seqCount.set(m.seq, (seqCount.get(m.seq) ?? 0) + 1);
    const maxSeq = entries.reduce((a, m) => Math.max(a, m.seq), 0);
    const missingSeqs = [];
    for (let s = 1; s <= maxSeq; s++) if (!seqCount.has(s)) missingSeqs.push(s);
    const dupSeqs = [...seqCount].filter(([, n]) => n > 1).map(([s]) => s);
    f.gaps += missingSeqs.length;
    f.duplicates += dupSeqs.reduce((a, s) => a + seqCount.get(s) - 1, 0);
    if (missingSeqs.length) problems.push(`(a) ${room}: missing seqs ${sample(missingSeqs)}`);
    if (dupSeqs.length) problems.push(`(a) ${room}: duplicate seqs ${sample(dupSeqs)}`);
    let prev = 0;
    for (const m of entries) {
      if (m.seq <= prev) { problems.push(`(a) ${room}: seq ${m.seq} after ${prev} (not increasing)`); break; }
      prev = m.seq;
    }
    for (const m of entries) {
      if (m.id !== `${room}:${m.seq}`) problems.push(`(a) ${room}: id ${JSON.stringify(m.id)} for seq ${m.seq}`);
      if (byId.has(m.id)) { f.duplicates++; problems.push(`(a) duplicate id ${m.id}`); }
      byId.set(m.id, m);
      const list = byContent.get(m.content) ?? [];
      list.push({ ...m, room });
      byContent.set(m.content, list);
      if (!attemptedAll.has(m.content)) {
        f.unknownEntries++;
        if (f.unknownEntries <= 5) problems.push(`(a) ${room} seq ${m.seq}: content ${JSON.stringify(m.content)} was never sent`);
      }
    }
  }
  for (const [content, list] of byContent) {
    if (list.length > 1) {
      f.duplicates += list.length - 1;
      problems.push(`(a/b) content ${JSON.stringify(content)} stored ${list.length} times: ${list.map((m) => m.id).join(', ')}`);
    }
  }

  // (a)+(b) every acknowledged message is in the log once, as acknowledged; per sender.
  const perSender = [];
  for (const c of clients) {
    let missing = 0; let mismatch = 0; let stored = 0; let lost = 0;
    const seen = new Set();
    for (const a of c.acked) {
      f.acked++;
      if (seen.has(a.content)) { f.duplicates++; problems.push(`(b) ${c.tag}: ${a.content} acknowledged twice`); }
      seen.add(a.content);
      const list = byContent.get(a.content) ?? [];
      if (list.length === 0) {
        missing++;
        problems.push(`(a) ACKNOWLEDGED MESSAGE LOST: ${JSON.stringify(a)}`);
        continue;
      }
      const m = list[0];
      if (m.id !== a.id || m.seq !== a.seq || m.room !== a.projectId || a.ackContent !== a.content || m.room !== c.sendRoom) {
        mismatch++;
        problems.push(`(a) ack ${JSON.stringify(a)} but the log has ${JSON.stringify({ id: m.id, seq: m.seq, room: m.room })}`);
      }
    }
    for (const u of c.unacked) {
      if (byContent.has(u.content)) stored++; else lost++;
    }
    f.ackedMissing += missing;
    f.ackMismatch += mismatch;
    f.unackedStored += stored;
    f.unackedLost += lost;
    perSender.push({ sender: c.tag, room: c.sendRoom, attempted: c.attempted.size, acked: c.acked.length, unackedStored: stored, unackedNotStored: lost, refused: c.refused.length, missing, mismatch });
  }

  // (c) each client's new-message events: exactly the log after its join point, once, in order.
  const perClient = [];
  for (const c of clients) {
    const row = { client: c.tag, reconnects: c.connects - 1, recovered: c.recoveredReconnects, fresh: c.freshReconnects.length };
    for (const room of ROOMS) {
      const expected = logs[room].filter((m) => m.seq > c.joinSeq[room]);
      const bySeq = new Map(logs[room].map((m) => [m.seq, m]));
      const got = c.received[room];
      const count = new Map();
      let outOfOrder = 0; let extra = 0; let contentMismatch = 0; let prev = -Infinity;
      for (const g of got) {
        count.set(g.seq, (count.get(g.seq) ?? 0) + 1);
        if (g.seq <= prev) outOfOrder++;
        prev = Math.max(prev, g.seq);
        const m = bySeq.get(g.seq);
        if (!m || g.seq <= c.joinSeq[room]) extra++;
        else if (m.content !== g.content || m.id !== g.id) contentMismatch++;
      }
      const dups = [...count.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
      const missing = expected.filter((m) => !count.has(m.seq)).map((m) => m.seq);
      f.clientMissing += missing.length;
      f.clientDuplicates += dups;
      f.clientExtra += extra;
      f.clientOutOfOrder += outOfOrder;
      f.clientContentMismatch += contentMismatch;
      if (missing.length) {
        const afterSync = new Set([...got, ...c.synced[room]].map((m) => m.seq));
        const stillMissing = missing.filter((s) => !afterSync.has(s));
        problems.push(`(c) ${c.tag} ${room}: ${missing.length} logged messages never received as new-message: seqs ${sample(missing)}` +
          (c.synced[room].length ? `; after its fallback sync still missing: ${sample(stillMissing)}` : ''));
      }
      if (dups) problems.push(`(c) ${c.tag} ${room}: ${dups} duplicate new-message events`);
      if (extra) problems.push(`(c) ${c.tag} ${room}: ${extra} new-message events not in the log after its join`);
      if (outOfOrder) problems.push(`(c) ${c.tag} ${room}: ${outOfOrder} new-message events out of seq order`);
      if (contentMismatch) problems.push(`(c) ${c.tag} ${room}: ${contentMismatch} new-message events differ from the log`);
      row[room] = `${got.length}/${expected.length}`;
    }
    perClient.push(row);
  }

  // (d) the logs read again after one more kill -9 and restart.
  for (const room of ROOMS) {
    const a = JSON.stringify(logs[room].map((m) => [m.seq, m.id, m.content]));
    const b = JSON.stringify((logsAfterRestart[room] ?? []).map((m) => [m.seq, m.id, m.content]));
    if (a !== b) problems.push(`(d) ${room}: the log read after a final kill -9 + restart differs (${logs[room].length} vs ${logsAfterRestart[room]?.length} entries)`);
  }

  return { f, problems, perSender, perClient };
}

// ---------------------------------------------------------------- main

async function main() {
  if (!fs.existsSync(HUB_SERVER)) throw new Error(`HUB_SERVER not found: ${HUB_SERVER}`);
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const port = await freePort();
  log(`crash loop: KILLS=${KILLS} SENDERS=${SENDERS} SEED=${SEED} INFLIGHT=${INFLIGHT} ` +
    `delays ${DELAY_MIN_MS}-${DELAY_MAX_MS} ms, early kills ${EARLY_KILL_PCT}%, port ${port}, work dir ${WORK_DIR}`);
  log(`server: ${HUB_SERVER}`);
  const server = new Server(port);
  const url = `http://${HOST}:${port}`;
  const clients = [];
  const stats = { kills: 0, earlyKills: 0, recoveryMs: [], caughtUpMs: [], downtimeMs: [], startMs: [] };
  let sending = true;
  const lanes = [];
  let result;

  try {
    await server.start();
    for (let i = 0; i < SENDERS; i++) clients.push(new Client(i, url));
    await Promise.all(clients.map((c) => c.connect()));
    for (const c of clients) await c.joinAll();
    log(`${SENDERS} clients connected and joined ${ROOMS.join(', ')}; sending`);
    for (const c of clients) for (let k = 0; k < INFLIGHT; k++) lanes.push(c.lane(() => sending));

    let allBack = true; // were all clients reconnected before this kill?
    for (let k = 1; k <= KILLS; k++) {
      if (Date.now() >= DEADLINE) throw new Error('run time limit reached');
      const early = k > 1 && rand() * 100 < EARLY_KILL_PCT;
      const delay = early ? randInt(0, 150) : randInt(DELAY_MIN_MS, DELAY_MAX_MS);
      if (!early && !allBack) {
        await waitFor(() => clients.every((c) => c.socket.connected), RECONNECT_TIMEOUT_MS, 'clients reconnected');
      }
      await sleep(delay);
      if (!server.alive) throw new Error(`the server is not running before kill ${k}`);
      const ackedBefore = clients.reduce((a, c) => a + c.acked.length, 0);
      const tKill = Date.now();
      await server.kill9();
      stats.kills++;
      if (early) stats.earlyKills++;
      const tReady = await server.start();
      stats.startMs.push(tReady - tKill);
      if (early) {
        vlog(`kill ${k} (early, ${delay} ms after restart, acked so far ${ackedBefore})`);
        allBack = false;
        continue;
      }
      // Steady kill: every client must come back (recovered) before the next one.
      await waitFor(() => clients.every((c) => c.socket.connected && c.lastConnectAt >= tReady),
        RECONNECT_TIMEOUT_MS, `kill ${k}: every client reconnected after the restart`);
      const back = Math.max(...clients.map((c) => c.lastConnectAt));
      stats.recoveryMs.push(back - tReady);
      // Replay complete: every client has received each room's messages acknowledged before the kill.
      const target = Object.fromEntries(ROOMS.map((r) => [r, Math.max(0, ...clients.flatMap((c) =>
        c.acked.filter((a) => a.projectId === r && a.seq !== undefined).slice(-2 * INFLIGHT).map((a) => a.seq)))]));
      await waitFor(() => clients.every((c) => ROOMS.every((r) => c.caughtUpSeq[r] >= target[r])),
        RECONNECT_TIMEOUT_MS, `kill ${k}: every client received what was acknowledged before the kill`);
      stats.caughtUpMs.push(Date.now() - tReady);
      stats.downtimeMs.push(back - tKill);
      allBack = true;
      vlog(`kill ${k} after ${delay} ms: restart ${tReady - tKill} ms, all back ${back - tReady} ms after ready; acked so far ${ackedBefore}`);
      if (k % 10 === 0 || k === KILLS) log(`kill ${k}/${KILLS} done; acked so far ${ackedBefore}`);
    }

    // Let the clients settle, then stop sending.
    await waitFor(() => clients.every((c) => c.socket.connected), RECONNECT_TIMEOUT_MS, 'clients reconnected after the last kill');
    await sleep(500);
    sending = false;
    await withTimeout(Promise.all(lanes), ACK_TIMEOUT_MS + 5000, 'senders stopped');
    await waitFor(() => clients.every((c) => c.socket.connected), RECONNECT_TIMEOUT_MS, 'clients connected at the end');

    // (a) read the logs from a fresh client.
    const readAll = async () => {
      const reader = new Client('reader', url);
      try {
        await reader.connect();
        await reader.joinAll();
        const logs = {};
        for (const r of ROOMS) logs[r] = await readLog(reader.socket, r);
        return logs;
      } finally { reader.close(); }
    };
    const logs = await readAll();
    // (c) wait (bounded) until every client has seen each room's last seq.
    await waitFor(() => clients.every((c) => ROOMS.every((r) => {
      const last = logs[r].length ? logs[r][logs[r].length - 1].seq : 0;
      return c.caughtUpSeq[r] >= last;
    })), CATCH_UP_TIMEOUT_MS, 'every client received up to the last logged seq').catch((err) => log(`note: ${err.message}`));
    await sleep(300); // a late duplicate would show up here

    // (d) one more kill -9, restart, read again.
    await server.kill9();
    await server.start();
    const logsAfterRestart = await readAll();

    result = checkAll({ logs, clients, logsAfterRestart });
    for (const p of result.problems) fail(p);
  } catch (err) {
    fail(`run aborted: ${err.stack || err.message}`);
  } finally {
    sending = false;
    for (const c of clients) c.close();
    await server.kill9().catch(() => {});
    try { fs.unlinkSync(PID_FILE); } catch { /* ignore */ }
  }

  // ---- figures
  const wallS = (Date.now() - T0) / 1000;
  const pct = (arr, p) => {
    if (!arr.length) return null;
    const s = [...arr].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  const reconnects = clients.reduce((a, c) => a + Math.max(0, c.connects - 1), 0);
  const recovered = clients.reduce((a, c) => a + c.recoveredReconnects, 0);
  const fresh = clients.reduce((a, c) => a + c.freshReconnects.length, 0);
  const attempted = clients.reduce((a, c) => a + c.attempted.size, 0);
  const f = result?.f ?? {};
  const summary = {
    seed: SEED,
    kills: stats.kills,
    earlyKills: stats.earlyKills,
    senders: SENDERS,
    attemptedSends: attempted,
    acknowledged: f.acked,
    logLength: f.logLength,
    unacknowledgedButStored: f.unackedStored,
    unacknowledgedNotStored: f.unackedLost,
    acknowledgedMissing: f.ackedMissing,
    ackMismatch: f.ackMismatch,
    unknownEntries: f.unknownEntries,
    duplicates: f.duplicates,
    gaps: f.gaps,
    clientMissing: f.clientMissing,
    clientDuplicates: f.clientDuplicates,
    clientExtra: f.clientExtra,
    clientOutOfOrder: f.clientOutOfOrder,
    reconnects,
    recoveredReconnects: recovered,
    freshSessionReconnects: fresh,
    restartMsMax: pct(stats.startMs, 100),
    recoveryMsP50: pct(stats.recoveryMs, 50),
    recoveryMsMax: pct(stats.recoveryMs, 100),
    caughtUpMsMax: pct(stats.caughtUpMs, 100),
    downtimeMsMax: pct(stats.downtimeMs, 100),
    serverUnexpectedExits: server.unexpectedExits.length,
    wallSeconds: Number(wallS.toFixed(1)),
    failures: failures.length,
  };

  console.log('');
  console.log('==== crash loop figures');
  const rows = [
    ['seed', SEED],
    ['kills (of which during recovery)', `${stats.kills} (${stats.earlyKills})`],
    ['senders / rooms', `${SENDERS} / ${ROOMS.length}`],
    ['sends attempted', attempted],
    ['acknowledged messages', f.acked],
    ['log length (all rooms)', `${f.logLength} (${ROOMS.map((r) => `${r}: ${f.perRoom?.[r]}`).join(', ')})`],
    ['unacknowledged but stored (allowed)', f.unackedStored],
    ['unacknowledged, not stored (allowed)', f.unackedLost],
    ['acknowledged but missing from the log', f.ackedMissing],
    ['ack differs from the log', f.ackMismatch],
    ['log entries never sent', f.unknownEntries],
    ['duplicates (log)', f.duplicates],
    ['gaps (log)', f.gaps],
    ['client new-message missing / duplicate / extra / out of order',
      `${f.clientMissing} / ${f.clientDuplicates} / ${f.clientExtra} / ${f.clientOutOfOrder}`],
    ['reconnects (recovered / fresh session)', `${reconnects} (${recovered} / ${fresh})`],
    ['restart time max (kill -> ready)', `${summary.restartMsMax} ms`],
    ['recovery time after restart p50 / max (ready -> all clients back)', `${summary.recoveryMsP50} / ${summary.recoveryMsMax} ms`],
    ['replay complete max (ready -> all clients have every pre-kill ack)', `${summary.caughtUpMsMax} ms (20 ms polling)`],
    ['downtime max (kill -> all clients back)', `${summary.downtimeMsMax} ms`],
    ['total wall time', `${wallS.toFixed(1)} s`],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(66)} ${v}`);
  if (result) {
    console.log('  per sender:');
    for (const s of result.perSender) console.log(`    ${JSON.stringify(s)}`);
    console.log('  per client (new-message received/expected per room):');
    for (const s of result.perClient) console.log(`    ${JSON.stringify(s)}`);
  }
  console.log(`SUMMARY ${JSON.stringify(summary)}`);

  if (failures.length) {
    console.log('');
    console.log(`==== FAILED: ${failures.length} problem(s)`);
    for (const p of failures.slice(0, 40)) console.log(`  - ${p}`);
    console.log(`  reproduce: KILLS=${KILLS} SENDERS=${SENDERS} SEED=${SEED} scripts/crash_loop.sh (timing is not deterministic; the seed fixes the schedule)`);
    console.log('  last server output:');
    for (const line of server.tail.slice(-40)) console.log(`    ${line}`);
  } else {
    console.log('==== PASS: every check passed');
  }
  if (ownWorkDir) fs.rmSync(WORK_DIR, { recursive: true, force: true });
  return failures.length ? 1 : 0;
}

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    if (exiting) return;
    exiting = true;
    try {
      const pid = Number(fs.readFileSync(PID_FILE, 'utf8'));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch { /* no server */ }
    if (ownWorkDir) fs.rmSync(WORK_DIR, { recursive: true, force: true });
    process.exit(130);
  });
}

main().then((code) => { process.exitCode = code; setTimeout(() => process.exit(code), 200).unref(); },
  (err) => { console.error(err); process.exit(1); });
