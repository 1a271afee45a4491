// Storage that fails for real under hub-server: the data directory's disk fills up
// (ENOSPC) or its files hit the process's file-size limit (EFBIG), then the space comes
// back. Shows /healthz degrade to 503 and /metrics report it, acks refused with
// 'storage' (send-message, mark-read) and nothing broadcast for them, a well-behaved
// client meanwhile still connecting, joining, typing and reading history; and, once the
// fault clears, recovery by itself: healthy again, sends acknowledged with no seq gap,
// and every acknowledged message still there exactly once after a kill -9 and restart.
//
// Two ways to fail, each skipped with its reason when this machine cannot do it:
// - disk full: a 192 MiB tmpfs mounted for the data directory, filled by a filler file
//   and emptied again (needs root and mount(2): CI machines run as root). RocksDB
//   resumes from a full disk by itself once its write-buffer reserve (128 MiB with our
//   options) is free, so the disk must be larger than that; tmpfs pages cost memory
//   only while the filler holds them;
// - file size: hub-server started under `prlimit --fsize=<soft>:unlimited` (util-linux),
//   the soft limit raised again with `prlimit --pid` (no root needed). RocksDB calls a
//   failed WAL write without ENOSPC fatal, so this one exercises the reopen path.
// Every wait and loop is bounded in count and time.
'use strict';

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { request, sleep } = require('./helpers');
const {
  skipReason, mintToken, startHub, freshDataDir, HubClient, joinChat, sendMessage, collect,
} = require('./hub-helpers');

const PROJECT = 'storage-fault';
const CONTENT = 'x'.repeat(4000);  // under --max-content (4096): fills a WAL quickly
const SERVER_ARGS = ['--rate-limit', '100000/1s'];

function tryRun(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
    return null;
  } catch (err) {
    return `${cmd} ${args.join(' ')}: ${(err.stderr?.toString() || err.message).trim()}`;
  }
}

/** Why a tmpfs cannot be mounted here, or false. Leaves nothing mounted. */
function tmpfsSkip() {
  if (skipReason) return skipReason;
  if (process.platform !== 'linux') return 'tmpfs: Linux only';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'disk-full test needs root to mount a small tmpfs (run as root, as CI does)';
  }
  const probe = freshDataDir();
  const err = tryRun('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]);
  if (err) return `cannot mount a tmpfs here: ${err}`;
  tryRun('umount', [probe]);
  return false;
}

/**
 * Grows `filler` until the filesystem of `mnt` has at most `leave` bytes free (0: until
 * ENOSPC), in 256 KiB writes (bounded: 1024 of them, 256 MiB).
 */
function fillDisk(filler, mnt, leave) {
  const fd = fs.openSync(filler, 'a');
  try {
    const chunk = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 1024; i++) {
      const { bavail, bsize } = fs.statfsSync(mnt);
      const free = bavail * bsize;
      if (leave > 0 && free <= leave) return;
      fs.writeSync(fd, leave > 0 ? chunk.subarray(0, Math.min(chunk.length, free - leave)) : chunk);
    }
  } catch (err) {
    if (err.code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/** Why prlimit cannot limit and later raise hub-server's file size, or false. */
function prlimitSkip() {
  if (skipReason) return skipReason;
  if (process.platform !== 'linux') return 'prlimit: Linux only';
  const err = tryRun('prlimit', ['--fsize=1000000:unlimited', '--', 'true']);
  return err ? `prlimit (util-linux) unusable: ${err}` : false;
}

async function healthz(hub) {
  const res = await request('GET', `${hub.url}/healthz`, { timeout: 3000 });
  let json;
  try { json = JSON.parse(res.body); } catch { json = undefined; }
  return { status: res.status, body: res.body, json };
}

async function metric(hub, name) {
  const res = await request('GET', `${hub.url}/metrics`, { timeout: 3000 });
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Polls `check` (async, truthy = done) every 100 ms for at most `ms`; returns its last value. */
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    last = await check();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`not within ${ms} ms: ${what}; last: ${JSON.stringify(last)}`);
}

async function client(hub, user) {
  const c = new HubClient(hub.url, { token: mintToken(user, { name: user, projects: [PROJECT] }) });
  await c.connect();
  return c;
}

async function history(hub, user) {
  const c = await client(hub, user);
  try {
    const out = [];
    for (let page = 0; page < 20; page++) {
      const r = await c.ack('sync', { projectId: PROJECT, afterSeq: out.length ? out.at(-1).seq : 0, limit: 500 });
      assert.equal(r?.ok, true, `sync: ${JSON.stringify(r)}`);
      out.push(...r.messages);
      if (!r.hasMore) return out;
    }
    throw new Error('history longer than 20 pages');
  } finally {
    c.socket.close();
  }
}

/**
 * The scenario, whatever makes storage fail: `fail()` makes writes fail (may be a no-op
 * when the fault fills as the senders write), `heal()` gives the space back.
 */
async function scenario(opts) {
  try {
    return await scenarioSteps(opts);
  } catch (err) {
    // The server's own account of it (storage warnings, recovery) helps more than a timeout.
    err.message += `\n--- hub-server output (last 30 lines):\n${opts.hub.output.slice(-30).join('\n')}`;
    throw err;
  }
}

// selfHealing: the fault may end before heal() (a file size limit: RocksDB's recovery
// starts a new WAL file, which is under the limit again until it grows).
async function scenarioSteps({ hub, fail, heal, restart, selfHealing = false }) {
  const sockets = [];
  try {
    const alice = await client(hub, 'u-alice');
    const bob = await client(hub, 'u-bob');
    const carolBefore = await client(hub, 'u-carol');
    sockets.push(alice, bob, carolBefore);
    await joinChat(alice, PROJECT);
    await joinChat(bob, PROJECT);
    await joinChat(carolBefore, PROJECT);  // stored as a member while storage works
    carolBefore.socket.close();
    const acked = [await sendMessage(alice, PROJECT, 'before the fault')];
    assert.equal((await healthz(hub)).status, 200);
    assert.equal(await metric(hub, 'hub_storage_healthy'), 1);

    // Fill: send until an ack is refused (bounded: the fault must show within 400 sends).
    await fail();
    let refused;
    for (let i = 0; i < 400 && !refused; i++) {
      const r = await alice.ack('send-message', { projectId: PROJECT, content: `${i} ${CONTENT}` });
      if (r?.ok) acked.push(r.message);
      else refused = r;
    }
    assert.deepEqual(refused, { ok: false, error: 'storage' }, 'a send refused for storage');

    // Visible: /healthz 503 degraded with the error, /metrics unhealthy with errors counted.
    const h = await healthz(hub);
    assert.equal(h.status, 503, h.body);
    assert.equal(h.json?.status, 'degraded');
    assert.match(h.json?.storage ?? '', /space|too large|IO error|I\/O/i, h.body);
    assert.equal(await metric(hub, 'hub_storage_healthy'), 0);
    assert.ok((await metric(hub, 'hub_storage_errors_total')) >= 1);

    // Refused while failing: another send, and a mark-read (not acknowledged, not announced).
    // A fault that ends by itself may be over by now: then an ack is only allowed once the
    // server has recovered (and reports it), and an acknowledged send counts as acked.
    const duringSend = await alice.ack('send-message', { projectId: PROJECT, content: 'during' });
    const markedSeq = acked.at(-1).seq;
    const duringRead = await alice.ack('mark-read', { projectId: PROJECT, seq: markedSeq });
    let healedEarly = false;
    if (selfHealing && (duringSend?.ok || duringRead?.ok)) {
      healedEarly = true;
      assert.ok((await metric(hub, 'hub_storage_recoveries_total')) >= 1, 'acknowledged only after a recovery');
      if (duringSend?.ok) acked.push(duringSend.message);
      else assert.deepEqual(duringSend, { ok: false, error: 'storage' });
    } else {
      assert.deepEqual(duringSend, { ok: false, error: 'storage' });
      assert.deepEqual(duringRead, { ok: false, error: 'storage' });
    }

    // Well-behaved meanwhile: a new connection of a stored member connects, joins, sees
    // typing, reads history; bob got exactly the acknowledged messages, no message-read.
    const carol = await client(hub, 'u-carol');
    sockets.push(carol);
    const join = await joinChat(carol, PROJECT);
    assert.equal(join.lastSeq, acked.at(-1).seq);
    alice.emit('typing', PROJECT);
    assert.equal((await carol.next('user-typing', 3000)).userId, 'u-alice');
    const seen = await collect(bob, 'new-message', 200);
    assert.deepEqual(seen.map((m) => m.seq), acked.map((m) => m.seq));
    const reads = await collect(bob, 'message-read', 0);
    if (healedEarly && duringRead?.ok) assert.deepEqual(reads.map((r) => r.seq), [markedSeq]);
    else assert.deepEqual(reads, []);
    const during = await carol.ack('sync', { projectId: PROJECT, afterSeq: 0, limit: 500 });
    assert.equal(during?.ok, true, JSON.stringify(during));
    assert.deepEqual(during.messages.map((m) => m.seq), acked.map((m) => m.seq));

    // The space comes back: healthy again by itself (RocksDB checks free space every
    // 5 s, our recovery attempts are at most 5 s apart).
    await heal();
    await until(async () => (await healthz(hub)).status === 200, 30000, '/healthz back to 200');
    assert.equal(await metric(hub, 'hub_storage_healthy'), 1);
    assert.ok((await metric(hub, 'hub_storage_recoveries_total')) >= 1);
    const after = await sendMessage(alice, PROJECT, 'after the fault');
    assert.equal(after.seq, acked.at(-1).seq + 1, 'no seq gap for the refused sends');
    acked.push(after);
    assert.equal((await carol.next('new-message', 3000)).seq, after.seq);
    assert.deepEqual(await alice.ack('mark-read', { projectId: PROJECT, seq: after.seq }),
      { ok: true, lastReadSeq: after.seq });
    assert.equal((await bob.next('message-read', 3000)).seq, after.seq);

    // Durable: after a kill -9 and a restart on the same data, every acknowledged
    // message is there exactly once, in seq order, and nothing else.
    for (const s of sockets) s.socket.close();
    sockets.length = 0;
    const restarted = await restart();
    const log = await history(restarted, 'u-bob');
    assert.deepEqual(log.map((m) => [m.seq, m.content]), acked.map((m) => [m.seq, m.content]));
    const markerJoin = await client(restarted, 'u-alice');
    sockets.push(markerJoin);
    assert.equal((await joinChat(markerJoin, PROJECT)).lastReadSeq, after.seq);
    return restarted;
  } finally {
    for (const s of sockets) s.socket.close();
  }
}

describe('hub: storage failure is visible, refused, and recovered from', () => {
  const cleanups = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  it('disk full (tmpfs): ENOSPC, then the filler file is removed (RocksDB Resume)', { skip: tmpfsSkip() }, async () => {
    const mnt = freshDataDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=192m', 'tmpfs', mnt]);
    cleanups.push(async () => { tryRun('umount', ['-l', mnt]); });
    const dataDir = path.join(mnt, 'data');
    const filler = path.join(mnt, 'filler');
    // All but 4 MiB taken before the server starts: RocksDB cannot preallocate its WAL
    // (it would otherwise write into tens of MiB reserved before the disk filled), and
    // the senders meet ENOSPC after a few hundred KiB.
    fillDisk(filler, mnt, 4 * 1024 * 1024);
    let hub = await startHub(SERVER_ARGS, { dataDir });
    cleanups.push(() => hub.stop('SIGKILL'));
    await scenario({
      hub,
      fail: async () => fillDisk(filler, mnt, 0),
      heal: async () => fs.rmSync(filler),
      restart: async () => {
        await hub.stop('SIGKILL');
        hub = await startHub(SERVER_ARGS, { dataDir });
        return hub;
      },
    });
  });

  it('file size limit (prlimit): EFBIG, then the limit is raised (reopen)', { skip: prlimitSkip() }, async () => {
    const dataDir = freshDataDir();
    // RocksDB's files at start are well under 200 KB; the WAL passes it after ~50 sends.
    const prefix = ['prlimit', '--fsize=200000:unlimited', '--'];
    let hub = await startHub(SERVER_ARGS, { dataDir, prefix });
    cleanups.push(() => hub.stop('SIGKILL'));
    await scenario({
      hub,
      fail: async () => {},  // the WAL reaches the limit as alice sends
      selfHealing: true,
      heal: async () => {
        execFileSync('prlimit', ['--pid', String(hub.child.pid), '--fsize=unlimited:unlimited']);
      },
      restart: async () => {
        await hub.stop('SIGKILL');
        hub = await startHub(SERVER_ARGS, { dataDir });
        return hub;
      },
    });
  });
});
