// Project Hub persistence: acked messages survive a restart on the same --data-dir, after a
// graceful SIGTERM (exit code 0) and after a SIGKILL; seq continues without gaps.
'use strict';

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, freshDataDir, startHub, HubClients, api, getMessages, withTimeout,
  stripHistory,
} = require('./hub-helpers');

const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: ['s-1', 's-2'] }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: ['s-1', 's-2'] }),
};

describe('hub: persistence across restarts', { skip: skipReason }, () => {
  const dataDir = skipReason ? null : freshDataDir();
  const clients = new HubClients();
  let hub;
  after(async () => { clients.closeAll(); await hub?.stop(); });

  const start = async () => {
    hub = await startHub(['--rate-limit', '1000/1s'], { dataDir });
    return hub;
  };

  async function allMessages(projectId) {
    const res = await getMessages(hub.url, tokens.bob, projectId, 'after=0&limit=500');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.hasMore, false);
    return res.json.messages.map(stripHistory);
  }

  /** Sends n messages (alternating socket tabs / HTTP) and returns the acked messages. */
  async function sendMany(projectId, n, tag) {
    const alice = await clients.connect(hub.url, { token: tokens.alice, transports: ['websocket'] });
    const bob = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    for (const c of [alice, bob]) assert.equal((await c.ack('join-chat-room', projectId))?.ok, true);
    const acked = [];
    for (let i = 0; i < n; i++) {
      const content = `${tag} ${i}`;
      if (i % 3 === 2) {
        const r = await api(hub.url, 'POST', '/api/chat', { token: tokens.bob, body: { projectId, content } });
        assert.equal(r.status, 201, r.body);
        acked.push(r.json);
      } else {
        const c = i % 3 === 0 ? alice : bob;
        const r = await c.ack('send-message', { projectId, content });
        assert.equal(r?.ok, true, JSON.stringify(r));
        acked.push(r.message);
      }
    }
    return acked;
  }

  const seqs = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('after SIGTERM (exit code 0): every acked message is readable; seq continues', async () => {
    await start();
    const s1 = await sendMany('s-1', 6, 'first run');
    const s2 = await sendMany('s-2', 2, 'other room');
    assert.deepEqual(s1.map((m) => m.seq), seqs(1, 6));
    clients.closeAll();

    await hub.stop('SIGTERM'); // SIGKILLs after 3 s if still running
    const { code, signal } = await withTimeout(hub.exited, 5000, 'exit after SIGTERM');
    assert.equal(code, 0, `exit code after SIGTERM (signal ${signal}); output:\n${hub.output.slice(-10).join('\n')}`);

    await start();
    assert.deepEqual(await allMessages('s-1'), s1);
    assert.deepEqual(await allMessages('s-2'), s2);
    const c = await clients.connect(hub.url, { token: tokens.alice, transports: ['polling'] });
    const j = await c.ack('join-chat-room', 's-1');
    assert.equal(j?.lastSeq, 6, `join ack after restart: ${JSON.stringify(j)}`);
    const next = await c.ack('send-message', { projectId: 's-1', content: 'after restart' });
    assert.equal(next?.ok, true, JSON.stringify(next));
    assert.equal(next.message.seq, 7, 'seq continues after the restart');
    assert.ok(!s1.some((m) => m.id === next.message.id), 'a new id, not a reused one');
    clients.closeAll();
  });

  it('after SIGKILL right after the acks: every acked message is readable; seq continues without gaps', async () => {
    if (!hub || hub.child.exitCode !== null || hub.child.signalCode !== null) await start();
    const before = await allMessages('s-1'); // 7 from the previous test
    assert.equal(before.length, 7);
    const more = await sendMany('s-1', 12, 'killed run');
    assert.deepEqual(more.map((m) => m.seq), seqs(8, 19));

    await hub.stop('SIGKILL');
    await withTimeout(hub.exited, 5000, 'exit after SIGKILL');
    clients.closeAll();

    await start();
    const after = await allMessages('s-1');
    assert.deepEqual(after.map((m) => m.seq), seqs(1, 19), 'seq 1..19, no gaps');
    assert.deepEqual(after, [...before, ...more], 'exactly the acked messages');

    const c = await clients.connect(hub.url, { token: tokens.bob, transports: ['websocket'] });
    assert.equal((await c.ack('join-chat-room', 's-1'))?.lastSeq, 19);
    const next = await c.ack('send-message', { projectId: 's-1', content: 'after the kill' });
    assert.equal(next?.message?.seq, 20, JSON.stringify(next));
    const ids = new Set([...after, next.message].map((m) => m.id));
    assert.equal(ids.size, 20, 'ids still unique after the restart');
    const h = await api(hub.url, 'POST', '/api/chat', { token: tokens.alice, body: { projectId: 's-1', content: 'http after kill' } });
    assert.equal(h.status, 201, h.body);
    assert.equal(h.json.seq, 21);
  });
});
