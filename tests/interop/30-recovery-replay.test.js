// Connection state recovery (docs/recovery.md): a client whose transport was cut gets
// back its socket id and every `new-message` it missed, exactly once and in seq order,
// then the live stream continues without a gap or a duplicate. Also across a graceful
// restart and a kill -9 of the server (the state is in RocksDB), from the join point when
// the client had no offset yet, and never against a log of another epoch.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, freshDataDir, startHub, HubClients, getMessages, withTimeout, sleep,
  FAST_RECONNECT, nextConnect, cutTransport, resume, takeNewMessages,
  stripHistory,
  joinChat: join, sendMessage: send, sendMany,
} = require('./hub-helpers');

const PROJECTS = ['rc-ws', 'rc-poll', 'rc-join', 'rc-restart', 'rc-kill', 'rc-wipe', 'rc-epoch', 'rc-bye', 'rc-twice'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: [...PROJECTS, 'rc-private'] }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
  // alice again, but no longer granted rc-private
  aliceDemoted: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
};
const HUB_FLAGS = ['--rate-limit', '1000/1s'];

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const seqsOf = (argLists) => argLists.map((a) => a[0]?.seq);

describe('hub: connection state recovery replays missed messages', { skip: skipReason }, () => {
  const clients = new HubClients();
  const hubs = new Set(); // every server handle started here (stopped in after())
  let hub; // shared server for the tests that do not restart it

  const start = async (extra = [], opts = {}) => {
    const h = await startHub([...HUB_FLAGS, ...extra], opts);
    hubs.add(h);
    return h;
  };
  before(async () => { hub = await start(); });
  after(async () => {
    clients.closeAll();
    for (const h of hubs) await h.stop();
  });
  afterEach(() => clients.closeAll());

  /** A connected client that may reconnect (recover) by itself. */
  const recoverer = (url, who, transports) =>
    clients.connect(url, { token: tokens[who], transports, io: FAST_RECONNECT });
  const plain = (url, who, transports) => clients.connect(url, { token: tokens[who], transports });

  async function log(url, projectId) {
    const res = await getMessages(url, tokens.bob, projectId, 'after=0&limit=500');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.hasMore, false);
    return res.json.messages.map(stripHistory);
  }

  it('websocket: transport cut, 6 messages missed -> recovered, same id, each missed once in order, then live without gap', async () => {
    const P = 'rc-ws';
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const b = await plain(hub.url, 'bob', ['polling']);
    await join(a, P);
    await join(b, P);
    const first = await sendMany(b, P, 2, 'before');
    const got = await takeNewMessages(a, 2);
    assert.deepEqual(got.map((x) => x[0]), first);

    const id = a.socket.id;
    const pid = a.socket._pid;
    assert.equal(typeof pid, 'string', 'the CONNECT reply carries a pid when recovery is on');
    await cutTransport(a);
    assert.equal(a.socket.connected, false);

    const missed = await sendMany(b, P, 6, 'missed');
    assert.deepEqual(missed.map((m) => m.seq), range(3, 8));
    await resume(a);
    assert.equal(a.socket.recovered, true, 'socket.recovered after a transport cut within the window');
    assert.equal(a.socket.id, id, 'same socket id after recovery');
    assert.equal(a.socket._pid, pid, 'same pid after recovery');

    const replayed = await takeNewMessages(a, 6);
    assert.deepEqual(replayed.map((x) => x[0]), missed, 'every missed message once, in seq order, as stored');

    const live = await sendMany(b, P, 3, 'live');
    const gotLive = await takeNewMessages(a, 3);
    assert.deepEqual(gotLive.map((x) => x[0]), live, 'live messages after the replay');
    await a.expectNone('new-message', 200);
    assert.deepEqual(seqsOf([...got, ...replayed, ...gotLive]), range(1, 11), 'contiguous seqs for A');
  });

  it('polling: A reconnects by itself while B keeps sending -> recovered, every message exactly once, in order', async (t) => {
    const P = 'rc-poll';
    const a = await recoverer(hub.url, 'alice', ['polling']);
    const b = await plain(hub.url, 'bob', ['websocket']);
    await join(a, P);
    await join(b, P);
    const first = await send(b, P, 'before');
    assert.deepEqual((await takeNewMessages(a, 1))[0][0], first);
    const id = a.socket.id;

    // A reconnects ~100 ms after the cut, while B's 30 sends (10 ms apart) are under way:
    // some are replayed, some arrive live (held during the replay, de-duplicated by seq).
    await cutTransport(a, { reconnect: true });
    const sent = [];
    let sentAtConnect = -1;
    const reconnected = nextConnect(a, 8000).then(() => { sentAtConnect = sent.length; });
    for (let i = 0; i < 30; i++) {
      sent.push(await send(b, P, `stream ${i}`));
      await sleep(10);
    }
    await reconnected;
    t.diagnostic(`A reconnected after ${sentAtConnect} of 30 sends`);
    assert.equal(a.socket.recovered, true, 'socket.recovered');
    assert.equal(a.socket.id, id, 'same socket id');

    const got = await takeNewMessages(a, 30);
    assert.deepEqual(seqsOf(got), range(2, 31), 'seqs 2..31, once each, in order');
    assert.deepEqual(got.map((x) => x[0]), sent);
    await a.expectNone('new-message', 200);
  });

  it('pid without offset (joined, received nothing, then cut) -> recovered; replay starts at the join point', async () => {
    const P = 'rc-join';
    const b = await plain(hub.url, 'bob', ['websocket']);
    await join(b, P);
    await sendMany(b, P, 2, 'before A joined'); // seq 1, 2: A must not get these

    const a = await recoverer(hub.url, 'alice', ['polling']);
    const j = await join(a, P);
    assert.equal(j.lastSeq, 2);
    await sleep(100);
    // Precondition: A received no event, so socket.io-client has no offset to send.
    assert.equal(a.q['new-message'].pending, 0);
    assert.equal(a.socket._lastOffset, undefined, 'precondition: no offset yet');
    assert.equal(typeof a.socket._pid, 'string', 'a pid');
    const id = a.socket.id;

    await cutTransport(a);
    const missed = await sendMany(b, P, 3, 'after A joined');
    assert.deepEqual(missed.map((m) => m.seq), [3, 4, 5]);
    await resume(a);
    assert.equal(a.socket.recovered, true, 'recovered with a pid and no offset');
    assert.equal(a.socket.id, id);
    const got = await takeNewMessages(a, 3);
    assert.deepEqual(got.map((x) => x[0]), missed, 'exactly the messages sent after the join');

    const live = await send(b, P, 'live');
    const gotLive = await takeNewMessages(a, 1);
    assert.deepEqual(gotLive[0][0], live);
    await a.expectNone('new-message', 200);
  });

  it('server restarted (SIGTERM, same port and data dir) while A is away -> recovered, missed messages from both runs once, in order', async () => {
    const P = 'rc-restart';
    const dataDir = freshDataDir();
    let h = await start([], { dataDir });
    const a = await recoverer(h.url, 'alice', ['polling']);
    let b = await plain(h.url, 'bob', ['websocket']);
    await join(a, P);
    await join(b, P);
    const first = await sendMany(b, P, 2, 'first run');
    assert.deepEqual((await takeNewMessages(a, 2)).map((x) => x[0]), first);
    const id = a.socket.id;

    await cutTransport(a); // A stays away until resume()
    const missedBefore = await sendMany(b, P, 3, 'missed, first run');
    b.close();
    await h.stop('SIGTERM');
    const { code } = await withTimeout(h.exited, 5000, 'exit after SIGTERM');
    assert.equal(code, 0, 'exit code after SIGTERM');

    h = await start([], { dataDir, port: h.port });
    b = await plain(h.url, 'bob', ['websocket']);
    await join(b, P);
    const missedAfter = await sendMany(b, P, 4, 'missed, second run');
    assert.deepEqual([...missedBefore, ...missedAfter].map((m) => m.seq), range(3, 9));

    await resume(a);
    assert.equal(a.socket.recovered, true, 'recovered after a server restart');
    assert.equal(a.socket.id, id, 'same socket id after a server restart');
    const got = await takeNewMessages(a, 7);
    assert.deepEqual(got.map((x) => x[0]), [...missedBefore, ...missedAfter]);

    const live = await send(b, P, 'live');
    assert.deepEqual((await takeNewMessages(a, 1))[0][0], live);
    await a.expectNone('new-message', 200);
    await h.stop();
  });

  it('kill -9 during a stream of acked sends -> every acked message is in the gap-free log; A recovers and gets each logged message once', async (t) => {
    const P = 'rc-kill';
    const dataDir = freshDataDir();
    let h = await start([], { dataDir });
    // a1 stays connected until the kill (its session record has no disconnectedAt);
    // a2's transport is cut after 10 acks, so the rest must be replayed after the restart.
    const a1 = await recoverer(h.url, 'alice', ['websocket']);
    const a2 = await recoverer(h.url, 'alice', ['polling']);
    const b = await plain(h.url, 'bob', ['polling']);
    for (const c of [a1, a2, b]) await join(c, P);
    const id1 = a1.socket.id;
    const id2 = a2.socket.id;

    const acked = [];
    let killTimer;
    for (let i = 0; i < 50; i++) {
      let r;
      try {
        r = await b.ack('send-message', { projectId: P, content: `stream ${i}` });
      } catch {
        break; // the server is gone: this send was not acknowledged
      }
      if (!r?.ok) break;
      acked.push(r.message);
      if (acked.length === 10) {
        await takeNewMessages(a2, 10); // a2 has seen 1..10, then goes away
        await cutTransport(a2);
      }
      if (acked.length === 20) killTimer = setTimeout(() => { h.stop('SIGKILL'); }, 3);
    }
    clearTimeout(killTimer);
    await withTimeout(h.exited, 5000, 'exit after SIGKILL');
    t.diagnostic(`${acked.length} sends acknowledged before the kill`);
    assert.ok(acked.length >= 20 && acked.length < 50, `killed mid-stream (${acked.length} acked)`);
    assert.deepEqual(acked.map((m) => m.seq), range(1, acked.length), 'acked seqs are gap-free');

    h = await start([], { dataDir, port: h.port });
    const stored = await log(h.url, P);
    assert.deepEqual(stored.map((m) => m.seq), range(1, stored.length), 'gap-free log after kill -9');
    assert.ok(stored.length >= acked.length, `log has ${stored.length} entries, ${acked.length} acked`);
    assert.deepEqual(stored.slice(0, acked.length), acked, 'every acked message is in the log');

    await nextConnect(a1, 8000); // a1 reconnects by itself
    assert.equal(a1.socket.recovered, true, 'a1 recovered after kill -9 (record without disconnectedAt)');
    assert.equal(a1.socket.id, id1, 'a1: same socket id after kill -9');
    const got1 = await takeNewMessages(a1, stored.length); // live before the kill + replayed
    assert.deepEqual(seqsOf(got1), range(1, stored.length), 'a1: each logged message once, in order');
    assert.deepEqual(got1.map((x) => x[0]), stored);

    await resume(a2);
    assert.equal(a2.socket.recovered, true, 'a2 (cut before the kill) recovered after kill -9');
    assert.equal(a2.socket.id, id2, 'a2: same socket id after kill -9');
    const got2 = await takeNewMessages(a2, stored.length - 10);
    assert.deepEqual(got2.map((x) => x[0]), stored.slice(10), 'a2: seq 11.. replayed once, in order');

    const b2 = await plain(h.url, 'bob', ['websocket']); // b did not reconnect
    await join(b2, P);
    const live = await send(b2, P, 'live');
    for (const c of [a1, a2]) {
      assert.deepEqual((await takeNewMessages(c, 1))[0][0], live);
      await c.expectNone('new-message', 150);
    }
    await h.stop();
  });

  it('restart on a wiped (new, empty) data dir: the old offset has another epoch -> recovered === false, nothing replayed', async () => {
    const P = 'rc-wipe';
    let h = await start();
    const a = await recoverer(h.url, 'alice', ['websocket']);
    let b = await plain(h.url, 'bob', ['polling']);
    await join(a, P);
    await join(b, P);
    const first = await sendMany(b, P, 3, 'old epoch');
    assert.deepEqual((await takeNewMessages(a, 3)).map((x) => x[0]), first);
    const id = a.socket.id;
    const pid = a.socket._pid;
    assert.match(a.socket._lastOffset ?? '', /room\/rc-wipe=3/, 'offset names room/rc-wipe=3');

    await cutTransport(a);
    b.close();
    await h.stop('SIGTERM');
    h = await start([], { dataDir: freshDataDir(), port: h.port });
    b = await plain(h.url, 'bob', ['polling']);
    await join(b, P);
    // The new log reaches seq 5 again: A's old room/rc-wipe=3 must not be read against it.
    const fresh = await sendMany(b, P, 5, 'new epoch');
    assert.deepEqual(fresh.map((m) => m.seq), range(1, 5));

    await resume(a);
    assert.equal(a.socket.recovered, false, 'not recovered against a wiped data dir');
    assert.notEqual(a.socket.id, id, 'a new socket id');
    assert.notEqual(a.socket._pid, pid, 'a new pid');
    await a.expectNone('new-message', 300); // no replay (and not back in the room)
    await h.stop();
  });

  it('an offset of another epoch with a valid pid -> fresh session; the same pid with the real offset recovers', async () => {
    const P = 'rc-epoch';
    const b = await plain(hub.url, 'bob', ['polling']);
    const a1 = await recoverer(hub.url, 'alice', ['websocket']);
    const a2 = await recoverer(hub.url, 'alice', ['polling']);
    for (const c of [b, a1, a2]) await join(c, P);
    const first = await sendMany(b, P, 2, 'before');
    for (const c of [a1, a2]) assert.deepEqual((await takeNewMessages(c, 2)).map((x) => x[0]), first);
    const s1 = { id: a1.socket.id, pid: a1.socket._pid, offset: a1.socket._lastOffset };
    const s2 = { id: a2.socket.id, pid: a2.socket._pid, offset: a2.socket._lastOffset };
    const m = /^([^~]+)(~.*)$/.exec(s1.offset ?? '');
    assert.ok(m, `offset is epoch~stream=seq...: ${JSON.stringify(s1.offset)}`);
    const otherEpoch = m[1].replace(/./g, (ch) => (ch === 'x' ? 'y' : 'x'));
    await cutTransport(a1);
    await cutTransport(a2);
    const missed = await send(b, P, 'missed');

    // New sockets that present the old pid/offset themselves (socket.recovered is only
    // meaningful on the same client object, so compare socket ids and pids).
    const mk = (auth) => {
      const c = clients.make(hub.url, { auth: { token: tokens.alice, ...auth }, transports: ['websocket'] });
      return c.connect();
    };
    const tampered = await mk({ pid: s1.pid, offset: `${otherEpoch}${m[2]}` });
    assert.notEqual(tampered.socket.id, s1.id, 'offset of another epoch: a new socket id');
    assert.notEqual(tampered.socket._pid, s1.pid, 'offset of another epoch: a new pid');
    await tampered.expectNone('new-message', 300);

    const genuine = await mk({ pid: s2.pid, offset: s2.offset });
    assert.equal(genuine.socket.id, s2.id, 'the real offset recovers the session (same socket id)');
    const got = await takeNewMessages(genuine, 1);
    assert.deepEqual(got[0][0], missed);
    await genuine.expectNone('new-message', 200);
  });

  it('client namespace disconnect (socket.disconnect()) deletes the session: connecting again is not a recovery', async () => {
    const P = 'rc-bye';
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const b = await plain(hub.url, 'bob', ['polling']);
    await join(a, P);
    await join(b, P);
    await sendMany(b, P, 1, 'seen');
    await takeNewMessages(a, 1);
    const id = a.socket.id;
    const pid = a.socket._pid;
    a.socket.disconnect();
    await sendMany(b, P, 2, 'missed');
    a.socket.connect(); // socket.io-client still sends {pid, offset}
    await nextConnect(a);
    assert.ok(!a.socket.recovered, 'not recovered after a client namespace disconnect');
    assert.notEqual(a.socket.id, id, 'a new socket id');
    assert.notEqual(a.socket._pid, pid, 'a new pid');
    await a.expectNone('new-message', 300);
  });

  it('the pid of a session that is still connected is not recovered (and that session is left alone)', async () => {
    const P = 'rc-twice';
    const a = await recoverer(hub.url, 'alice', ['polling']);
    const b = await plain(hub.url, 'bob', ['websocket']);
    await join(a, P);
    await join(b, P);
    await sendMany(b, P, 1, 'seen');
    const [[, offset]] = await takeNewMessages(a, 1);
    const copy = clients.make(hub.url, { auth: { token: tokens.alice, pid: a.socket._pid, offset }, transports: ['websocket'] });
    await copy.connect();
    assert.notEqual(copy.socket.id, a.socket.id, 'a copy of a live session gets a new socket id');
    assert.notEqual(copy.socket._pid, a.socket._pid, 'and a new pid');
    const live = await sendMany(b, P, 1, 'live');
    assert.deepEqual((await takeNewMessages(a, 1))[0][0], live[0], 'the original session still receives');
    await copy.expectNone('new-message', 300);
    assert.equal(a.socket.connected, true);
  });

  it("another user's pid/offset is not recovered; a token that no longer grants a room's project gets nothing of it", async (t) => {
    const P = 'rc-private'; // only alice's first token grants it
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const a2 = await recoverer(hub.url, 'alice', ['websocket']);
    const sender = await plain(hub.url, 'alice', ['polling']);
    for (const c of [a, a2, sender]) await join(c, P);
    await sendMany(sender, P, 1, 'seen');
    const [[, offset]] = await takeNewMessages(a, 1);
    await takeNewMessages(a2, 1);
    const s1 = { id: a.socket.id, pid: a.socket._pid, offset };
    await cutTransport(a);
    await cutTransport(a2);
    await sendMany(sender, P, 2, 'missed');

    // bob presents alice's pid and offset
    const thief = clients.make(hub.url, { auth: { token: tokens.bob, pid: s1.pid, offset: s1.offset }, transports: ['websocket'] });
    await thief.connect();
    assert.notEqual(thief.socket.id, s1.id, "bob does not get alice's session");
    await thief.expectNone('new-message', 300);

    // a2 comes back as alice with a token that no longer grants rc-private
    a2.socket.auth = { token: tokens.aliceDemoted };
    await resume(a2);
    t.diagnostic(`demoted token: recovered=${a2.socket.recovered}`);
    await sendMany(sender, P, 1, 'live');
    await sleep(300);
    const leaked = a2.q['new-message'].items.map((x) => x[0].seq);
    assert.deepEqual(leaked, [], `no rc-private message for a token without it (got seqs ${leaked})`);
  });
});
