// Project Hub chat over Socket.IO: join/leave, the online list, send-message round trips,
// identity from the token, gap-free seq, invalid messages.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, getMessages, checkMessage, sleep,
  asHistory,
} = require('./hub-helpers');

// One project per test, so tests don't see each other's messages.
const PROJECTS = ['p-roundtrip', 'p-seq', 'p-invalid', 'p-leave', 'p-online', 'p-forbid', 'p-reply', 'p-other'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
  carol: mintToken('u-carol', { name: 'Carol Chen', projects: PROJECTS }),
  // Sorts before u-alice; only some projects.
  aaron: mintToken('u-aaron', { name: 'Aaron Able', projects: ['p-online'] }),
  // Member of p-other only.
  mallory: mintToken('u-mallory', { name: 'Mallory M', projects: ['p-other'] }),
};

describe('hub: chat over Socket.IO', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  async function join(c, projectId) {
    const ack = await c.ack('join-chat-room', projectId);
    assert.equal(ack?.ok, true, `join-chat-room ${projectId}: ${JSON.stringify(ack)}`);
    return ack;
  }

  it("join-chat-room for a project not in the token -> {ok:false, error:'forbidden'} + error {message:'Forbidden'}; no delivery", async () => {
    const m = await connect('mallory', ['polling']);
    const ack = await m.ack('join-chat-room', 'p-forbid');
    assert.deepEqual(ack, { ok: false, error: 'forbidden' });
    assert.deepEqual(await m.next('error'), { message: 'Forbidden' });

    // Not in the room: a message there is not delivered to it, and it may not send there.
    const a = await connect('alice');
    await join(a, 'p-forbid');
    const sent = await a.ack('send-message', { projectId: 'p-forbid', content: 'members only' });
    assert.equal(sent?.ok, true, JSON.stringify(sent));
    await a.next('new-message');
    await m.expectNone('new-message', 300);
    const mack = await m.ack('send-message', { projectId: 'p-forbid', content: 'let me in' });
    assert.deepEqual(mack, { ok: false, error: 'forbidden' });
    const res = await getMessages(hub.url, tokens.alice, 'p-forbid');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.messages.map((x) => x.content), ['members only']);
  });

  it('join ack: lastSeq and the online list (users with a connection in the room, sorted by userId)', async () => {
    const alice = await connect('alice');
    const j1 = await join(alice, 'p-online');
    assert.equal(j1.lastSeq, 0, 'lastSeq of an empty room');
    assert.deepEqual(j1.online, [{ userId: 'u-alice', userName: 'Alice Anders' }]);

    const carol = await connect('carol', ['polling']);
    const j2 = await join(carol, 'p-online');
    assert.deepEqual(j2.online, [
      { userId: 'u-alice', userName: 'Alice Anders' },
      { userId: 'u-carol', userName: 'Carol Chen' },
    ]);

    // Two messages: lastSeq follows.
    for (const content of ['one', 'two']) {
      const s = await alice.ack('send-message', { projectId: 'p-online', content });
      assert.equal(s?.ok, true, JSON.stringify(s));
    }
    // A second connection of alice: no duplicate entry. aaron sorts first.
    const alice2 = await connect('alice', ['polling']);
    const j3 = await join(alice2, 'p-online');
    assert.equal(j3.lastSeq, 2);
    assert.deepEqual(j3.online, [
      { userId: 'u-alice', userName: 'Alice Anders' },
      { userId: 'u-carol', userName: 'Carol Chen' },
    ]);
    const aaron = await connect('aaron');
    const j4 = await join(aaron, 'p-online');
    assert.deepEqual(j4.online.map((u) => u.userId), ['u-aaron', 'u-alice', 'u-carol']);
    assert.deepEqual(j4.online[0], { userId: 'u-aaron', userName: 'Aaron Able' });

    // carol leaves: gone from the list. One of alice's two connections leaves: still there.
    assert.deepEqual(await carol.ack('leave-chat-room', 'p-online'), { ok: true });
    assert.deepEqual(await alice.ack('leave-chat-room', 'p-online'), { ok: true });
    const bob = await connect('bob');
    const j5 = await join(bob, 'p-online');
    assert.deepEqual(j5.online.map((u) => u.userId), ['u-aaron', 'u-alice', 'u-bob']);

    // aaron disconnects: eventually gone (the disconnect reaches the server asynchronously).
    aaron.close();
    let online;
    for (let i = 0; i < 20; i++) {
      const probe = await connect('bob', ['websocket']);
      online = (await join(probe, 'p-online')).online.map((u) => u.userId);
      probe.close();
      if (!online.includes('u-aaron')) break;
      await sleep(100);
    }
    assert.deepEqual(online, ['u-alice', 'u-bob'], 'online after aaron disconnected');
  });

  it('send-message round trip between two users (websocket + polling); identity from the token', async () => {
    const alice = await connect('alice', ['websocket']);
    const bob = await connect('bob', ['polling']);
    await join(alice, 'p-roundtrip');
    await join(bob, 'p-roundtrip');

    // The payload lies about the sender: ignored.
    const before = Date.now();
    const ack = await alice.ack('send-message', {
      projectId: 'p-roundtrip', content: 'Hello Bob!', senderId: 'u-bob', senderName: 'Bob Brown',
      userId: 'u-bob', userName: 'Evil', seq: 99, id: 'forged-id', createdAt: '2000-01-01T00:00:00.000Z',
    });
    const afterTs = Date.now();
    assert.equal(ack?.ok, true, `ack: ${JSON.stringify(ack)}`);
    checkMessage(ack.message, {
      projectId: 'p-roundtrip', content: 'Hello Bob!', senderId: 'u-alice', senderName: 'Alice Anders', seq: 1,
    });
    assert.notEqual(ack.message.id, 'forged-id');
    const created = Date.parse(ack.message.createdAt);
    assert.ok(created >= before - 5000 && created <= afterTs + 5000, `createdAt is now-ish: ${ack.message.createdAt}`);

    // Both get new-message, the sender included, equal to the stored message.
    assert.deepEqual(await bob.next('new-message'), ack.message);
    assert.deepEqual(await alice.next('new-message'), ack.message);

    // And back: bob answers.
    const ack2 = await bob.ack('send-message', { projectId: 'p-roundtrip', content: 'Hi Alice', senderId: 'u-alice' });
    assert.equal(ack2?.ok, true, JSON.stringify(ack2));
    checkMessage(ack2.message, { senderId: 'u-bob', senderName: 'Bob Brown', seq: 2, content: 'Hi Alice' });
    assert.notEqual(ack2.message.id, ack.message.id);
    assert.deepEqual(await alice.next('new-message'), ack2.message);
    assert.deepEqual(await bob.next('new-message'), ack2.message);

    // Stored as acked.
    const res = await getMessages(hub.url, tokens.carol, 'p-roundtrip');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { messages: [asHistory(ack.message), asHistory(ack2.message)], hasMore: false });
  });

  it('send-message with replyTo keeps it; without, none', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, 'p-reply');
    await join(bob, 'p-reply');
    const first = await alice.ack('send-message', { projectId: 'p-reply', content: 'question?' });
    assert.equal(first?.ok, true, JSON.stringify(first));
    assert.ok(first.message.replyTo === undefined || first.message.replyTo === null, 'no replyTo');
    const reply = await bob.ack('send-message', { projectId: 'p-reply', content: 'answer!', replyTo: first.message.id });
    assert.equal(reply?.ok, true, JSON.stringify(reply));
    checkMessage(reply.message, { replyTo: first.message.id, seq: 2 });
    await alice.next('new-message');
    assert.deepEqual(await alice.next('new-message'), reply.message);
  });

  it('seq is gap-free and ordered across 20 concurrent messages from 3 clients', async () => {
    const cs = [await connect('alice', ['websocket']), await connect('bob', ['polling']), await connect('carol', ['websocket'])];
    for (const c of cs) await join(c, 'p-seq');
    const sends = [];
    for (let i = 0; i < 20; i++) {
      sends.push(cs[i % 3].ack('send-message', { projectId: 'p-seq', content: `msg ${i}` }));
    }
    const acks = await Promise.all(sends);
    for (const a of acks) assert.equal(a?.ok, true, JSON.stringify(a));
    const seqs = acks.map((a) => a.message.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1), 'seq 1..20, no gaps, no duplicates');
    assert.equal(new Set(acks.map((a) => a.message.id)).size, 20, 'ids unique');
    for (const a of acks) checkMessage(a.message, { projectId: 'p-seq' });
    // Each client's own messages have increasing seq in the order it sent them.
    for (let k = 0; k < 3; k++) {
      const own = acks.filter((_, i) => i % 3 === k).map((a) => a.message.seq);
      assert.deepEqual(own, [...own].sort((x, y) => x - y), `client ${k} seq follows its send order`);
    }
    const bySeq = new Map(acks.map((a) => [a.message.seq, a.message]));

    // Every client receives all 20, in seq order, equal to the acked messages.
    for (const c of cs) {
      const got = [];
      for (let i = 0; i < 20; i++) got.push(await c.next('new-message'));
      assert.deepEqual(got.map((m) => m.seq), Array.from({ length: 20 }, (_, i) => i + 1));
      for (const m of got) assert.deepEqual(m, bySeq.get(m.seq));
    }
    // The log holds exactly these.
    const res = await getMessages(hub.url, tokens.alice, 'p-seq', 'after=0&limit=100');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.messages, [...bySeq.keys()].sort((x, y) => x - y).map((s) => asHistory(bySeq.get(s))));
    assert.equal(res.json.hasMore, false);
  });

  it("invalid messages -> {ok:false, error:'invalid'} + error event; nothing stored, seq does not advance", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, 'p-invalid');
    await join(bob, 'p-invalid');
    const first = await alice.ack('send-message', { projectId: 'p-invalid', content: 'valid 1' });
    assert.equal(first?.message?.seq, 1, JSON.stringify(first));
    assert.equal((await bob.next('new-message')).seq, 1);
    alice.drain();

    const invalid = [
      ['blank content', { projectId: 'p-invalid', content: '   \t\n ' }],
      ['empty content', { projectId: 'p-invalid', content: '' }],
      ['numeric content', { projectId: 'p-invalid', content: 123 }],
      ['null content', { projectId: 'p-invalid', content: null }],
      ['object content', { projectId: 'p-invalid', content: { text: 'hi' } }],
      ['missing content', { projectId: 'p-invalid' }],
      ['missing projectId', { content: 'no project' }],
      ['4097 bytes of content', { projectId: 'p-invalid', content: 'x'.repeat(4097) }],
      ['2049 two-byte chars (4098 bytes)', { projectId: 'p-invalid', content: 'é'.repeat(2049) }],
      ['a string payload', 'just a string'],
    ];
    for (const [what, payload] of invalid) {
      const ack = await alice.ack('send-message', payload);
      assert.deepEqual(ack, { ok: false, error: 'invalid' }, `${what}: ${JSON.stringify(ack)}`);
      const err = await alice.next('error');
      assert.equal(typeof err?.message, 'string', `${what}: error event {message}: ${JSON.stringify(err)}`);
    }

    // Exactly at the limit is fine (4096 bytes as 2048 two-byte chars).
    const atLimit = await alice.ack('send-message', { projectId: 'p-invalid', content: 'é'.repeat(2048) });
    assert.equal(atLimit?.ok, true, `4096 bytes accepted: ${JSON.stringify(atLimit)}`);
    assert.equal(atLimit.message.seq, 2, 'seq did not advance for invalid messages');
    assert.equal(atLimit.message.content, 'é'.repeat(2048));
    // bob's next new-message is that one: none of the invalid ones was broadcast.
    assert.equal((await bob.next('new-message')).seq, 2);
    assert.equal(bob.q['new-message'].pending, 0);
    const res = await getMessages(hub.url, tokens.alice, 'p-invalid');
    assert.deepEqual(res.json.messages.map((m) => m.seq), [1, 2]);
  });

  it('send-message to a project not in the token -> forbidden', async () => {
    const m = await connect('mallory');
    const ack = await m.ack('send-message', { projectId: 'p-roundtrip', content: 'intrusion' });
    assert.deepEqual(ack, { ok: false, error: 'forbidden' });
    const res = await getMessages(hub.url, tokens.alice, 'p-roundtrip');
    assert.ok(!res.json.messages.some((x) => x.content === 'intrusion'), 'not stored');
  });

  it('leave-chat-room -> {ok:true}; no more new-message from that room; rejoining restores delivery', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, 'p-leave');
    await join(alice, 'p-other');
    await join(bob, 'p-leave');
    await join(bob, 'p-other');

    const m1 = await alice.ack('send-message', { projectId: 'p-leave', content: 'before leave' });
    assert.equal((await bob.next('new-message')).id, m1.message.id);

    assert.deepEqual(await bob.ack('leave-chat-room', 'p-leave'), { ok: true });
    const m2 = await alice.ack('send-message', { projectId: 'p-leave', content: 'after leave' });
    assert.equal(m2?.ok, true);
    await alice.next('new-message');
    await alice.next('new-message');
    await bob.expectNone('new-message', 300);

    // Still in p-other.
    const m3 = await alice.ack('send-message', { projectId: 'p-other', content: 'other room' });
    assert.deepEqual(await bob.next('new-message'), m3.message);

    await join(bob, 'p-leave');
    const m4 = await alice.ack('send-message', { projectId: 'p-leave', content: 'back again' });
    assert.deepEqual(await bob.next('new-message'), m4.message);
  });
});
