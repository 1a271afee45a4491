// Beyond connection state recovery (docs/recovery.md): a client away longer than
// --recovery-window gets a fresh session and catches up with `sync`; retention reports
// pruned entries as a gap (sync, HTTP 410, failed recovery); the per-client offset is the
// last argument of every event when recovery is on, and absent with --recovery-window 0.
'use strict';

const { describe, it, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, getMessages, sleep,
  FAST_RECONNECT, cutTransport, resume, takeNewMessages,
  asHistory,
  stripHistory,
  joinChat: join, sendMany,
} = require('./hub-helpers');

const PROJECTS = ['sy-window', 'sy-retention', 'sy-off-a', 'sy-off-b', 'sy-none'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
};
const HUB_FLAGS = ['--rate-limit', '1000/1s'];

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const seqsOf = (argLists) => argLists.map((a) => a[0]?.seq);
// epoch, then one "~stream=seq" per followed stream (docs/recovery.md)
const OFFSET_RE = /^[^~]+(~[^~=]+=\d+)+$/;

describe('hub: sync, retention and offsets', { skip: skipReason }, () => {
  const clients = new HubClients();
  const hubs = new Set();
  const start = async (extra = []) => {
    const h = await startHub([...HUB_FLAGS, ...extra]);
    hubs.add(h);
    return h;
  };
  after(async () => {
    clients.closeAll();
    for (const h of hubs) await h.stop();
  });
  afterEach(() => clients.closeAll());

  const recoverer = (url, who, transports) =>
    clients.connect(url, { token: tokens[who], transports, io: FAST_RECONNECT });
  const plain = (url, who, transports) => clients.connect(url, { token: tokens[who], transports });

  it('away longer than --recovery-window 1s -> recovered === false, new id; `sync` from the last seen seq fills the gap exactly', async () => {
    const P = 'sy-window';
    const hub = await start(['--recovery-window', '1s']);
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const b = await plain(hub.url, 'bob', ['polling']);
    await join(a, P);
    await join(b, P);
    const first = await sendMany(b, P, 3, 'seen');
    const seen = await takeNewMessages(a, 3);
    assert.deepEqual(seen.map((x) => x[0]), first);
    const lastSeenSeq = seen[seen.length - 1][0].seq;
    const id = a.socket.id;
    const pid = a.socket._pid;

    const cutAt = Date.now();
    await cutTransport(a);
    const missed = await sendMany(b, P, 7, 'missed');
    await sleep(Math.max(0, 2000 - (Date.now() - cutAt)));
    await resume(a);
    assert.equal(a.socket.recovered, false, 'not recovered after the window');
    assert.notEqual(a.socket.id, id, 'a new socket id');
    assert.notEqual(a.socket._pid, pid, 'a new pid');

    // A fresh session: nothing replayed, and not back in the room until it joins.
    const notInRoom = await sendMany(b, P, 1, 'while A has not rejoined');
    await a.expectNone('new-message', 300);
    const j = await join(a, P);
    assert.equal(j.lastSeq, 11);

    const page1 = await a.ack('sync', { projectId: P, afterSeq: lastSeenSeq, limit: 4 });
    assert.equal(page1?.ok, true, JSON.stringify(page1));
    assert.deepEqual(page1.messages.map(stripHistory), missed.slice(0, 4), 'first page: seq 4..7');
    assert.equal(page1.hasMore, true);
    const page2 = await a.ack('sync', { projectId: P, afterSeq: page1.messages[3].seq });
    assert.equal(page2?.ok, true, JSON.stringify(page2));
    assert.deepEqual(page2.messages.map(stripHistory), [...missed.slice(4), ...notInRoom], 'second page: seq 8..11');
    assert.equal(page2.hasMore, false);

    const live = await sendMany(b, P, 1, 'live');
    const gotLive = await takeNewMessages(a, 1);
    assert.deepEqual(gotLive[0][0], live[0]);
    await a.expectNone('new-message', 200);
    const all = [...seen.map((x) => x[0]), ...page1.messages, ...page2.messages, gotLive[0][0]];
    assert.deepEqual(all.map((m) => m.seq), range(1, 12), 'seen + synced + live: contiguous, no duplicate');
  });

  it('--retention-count 5: sync/HTTP report the gap (oldestSeq, 410), sync from oldestSeq-1 works, recovery needing pruned entries fails', async (t) => {
    const P = 'sy-retention';
    const hub = await start(['--retention-count', '5']);
    const a = await recoverer(hub.url, 'alice', ['polling']);
    const b = await plain(hub.url, 'bob', ['websocket']);
    await join(a, P);
    await join(b, P);
    const sent = await sendMany(b, P, 1, 'seen');
    assert.deepEqual((await takeNewMessages(a, 1))[0][0], sent[0]);
    const id = a.socket.id;
    await cutTransport(a); // A's offset: room/sy-retention=1
    sent.push(...await sendMany(b, P, 11, 'pruned or kept'));
    assert.deepEqual(sent.map((m) => m.seq), range(1, 12));

    // Pruning follows the appends; give it a bounded moment to show.
    let gap;
    const deadline = Date.now() + 2000;
    for (;;) {
      gap = await b.ack('sync', { projectId: P, afterSeq: 0 });
      if (gap?.ok === false || Date.now() > deadline) break;
      await sleep(50);
    }
    t.diagnostic(`sync afterSeq 0: ${JSON.stringify(gap)}`);
    assert.equal(gap?.ok, false, `sync after 0 reports the pruned entries: ${JSON.stringify(gap)}`);
    assert.deepEqual(Object.keys(gap).sort(), ['error', 'ok', 'oldestSeq']);
    assert.equal(gap.error, 'gap');
    const { oldestSeq } = gap;
    assert.ok(Number.isInteger(oldestSeq) && oldestSeq > 2,
      `oldestSeq > 2 (seq 2 must be gone with 12 messages and a limit of 5): ${oldestSeq}`);
    assert.ok(oldestSeq <= 8, `at least the last 5 messages are kept: oldestSeq ${oldestSeq}`);

    const http = await getMessages(hub.url, tokens.bob, P, 'after=0');
    assert.equal(http.status, 410, `GET ?after=0: ${http.status} ${http.body}`);
    assert.deepEqual(http.json, gap, 'HTTP 410 body equals the sync answer');

    const before = await b.ack('sync', { projectId: P, afterSeq: oldestSeq - 2 });
    assert.deepEqual(before, gap, `sync after ${oldestSeq - 2} (needs pruned seq ${oldestSeq - 1}) is a gap`);

    const rest = await b.ack('sync', { projectId: P, afterSeq: oldestSeq - 1 });
    assert.deepEqual(rest, { ok: true, messages: sent.slice(oldestSeq - 1).map((m) => asHistory(m)), hasMore: false },
      `sync after ${oldestSeq - 1}`);
    const restHttp = await getMessages(hub.url, tokens.bob, P, `after=${oldestSeq - 1}`);
    assert.equal(restHttp.status, 200, restHttp.body);
    assert.deepEqual(restHttp.json, { messages: sent.slice(oldestSeq - 1).map((m) => asHistory(m)), hasMore: false });

    await resume(a);
    assert.equal(a.socket.recovered, false, 'recovery that needs pruned entries fails');
    assert.notEqual(a.socket.id, id, 'a new socket id');
    await a.expectNone('new-message', 300);
  });

  it('recovery on (websocket and polling): every new-message (and user-typing) ends with the offset string', async () => {
    const hub = await start();
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const c = await recoverer(hub.url, 'alice', ['polling']);
    const b = await plain(hub.url, 'bob', ['polling']);
    for (const x of [a, c, b]) {
      await join(x, 'sy-off-a');
      await join(x, 'sy-off-b');
    }
    const sent = [
      ...await sendMany(b, 'sy-off-a', 2, 'a'),
      ...await sendMany(b, 'sy-off-b', 3, 'b'),
    ];
    for (const x of [a, c]) {
      const got = await takeNewMessages(x, 5);
      assert.deepEqual(got.map((args) => args[0]), sent);
      for (const args of got) {
        assert.equal(args.length, 2, `new-message has the message and an offset: ${JSON.stringify(args)}`);
        const offset = args[1];
        assert.equal(typeof offset, 'string', 'the offset is a string');
        assert.match(offset, OFFSET_RE, 'epoch~stream=seq...');
        const m = args[0];
        assert.ok(offset.includes(`~room/${m.projectId}=${m.seq}`),
          `offset names room/${m.projectId}=${m.seq}: ${offset}`);
      }
      const lastOffset = got[4][1];
      assert.ok(lastOffset.includes('~room/sy-off-a=2') && lastOffset.includes('~room/sy-off-b=3'),
        `the offset names every followed stream: ${lastOffset}`);
      assert.equal(x.socket._lastOffset, lastOffset, 'socket.io-client took it as its offset');
    }

    // Ephemeral events are not logged but still carry the (unchanged) offset.
    b.emit('typing', { projectId: 'sy-off-b' });
    for (const x of [a, c]) {
      const typing = await x.q['user-typing'].next(3000);
      assert.equal(typing.length, 2, `user-typing has a payload and an offset: ${JSON.stringify(typing)}`);
      assert.deepEqual(typing[0], { userId: 'u-bob', userName: 'Bob Brown' });
      assert.equal(typing[1], x.socket._lastOffset, 'the same offset as the last new-message');
    }
  });

  it('--recovery-window 0: no pid, no offset argument, no recovery', async () => {
    const hub = await start(['--recovery-window', '0']);
    const a = await recoverer(hub.url, 'alice', ['websocket']);
    const c = await recoverer(hub.url, 'alice', ['polling']);
    const b = await plain(hub.url, 'bob', ['websocket']);
    for (const x of [a, c, b]) await join(x, 'sy-none');
    const sent = await sendMany(b, 'sy-none', 2, 'plain');
    for (const x of [a, c]) {
      assert.equal(x.socket._pid, undefined, 'no pid in the CONNECT reply');
      const got = await takeNewMessages(x, 2);
      for (const [i, args] of got.entries()) {
        assert.deepEqual(args, [sent[i]], 'new-message has exactly one argument');
      }
    }
    b.emit('typing', { projectId: 'sy-none' });
    for (const x of [a, c]) {
      const typing = await x.q['user-typing'].next(3000);
      assert.deepEqual(typing, [{ userId: 'u-bob', userName: 'Bob Brown' }], 'user-typing has one argument');
    }

    const id = a.socket.id;
    await cutTransport(a);
    await sendMany(b, 'sy-none', 1, 'missed');
    await resume(a);
    assert.ok(!a.socket.recovered, 'not recovered with recovery off');
    assert.notEqual(a.socket.id, id, 'a new socket id');
    await a.expectNone('new-message', 300);
  });
});
