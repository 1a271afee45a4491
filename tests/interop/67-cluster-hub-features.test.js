// Project Hub's features with clients spread over three `hub-server --app hub` nodes on
// one durable redis-server (docs/cluster.md, "Durable state"): presence and typing once
// per change cluster-wide, and no ghost after kill -9 of a node; notifications posted on
// any node, unread counts on every node; reactions, read markers and membership shared;
// the chat rate limit counted once for all nodes; a revocation refused on every node;
// threads, sync and HTTP history the same on every node; task events across nodes.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { createClient } = require('redis');
const { sleep } = require('./helpers');
const { RedisServer } = require('./cluster-helpers');
const {
  skipReason, mintToken, startHub, HubClients, HubClient, joinChat, api, collect, sendMessage,
} = require('./hub-helpers');

const API_KEY = `hub-api-key-${crypto.randomBytes(8).toString('hex')}`;
const GRACE_MS = 300;
const TYPING_MS = 800;
const RATE = 6;

describe('cluster: Project Hub features across three nodes', { skip: skipReason, timeout: 120000 }, () => {
  let redis;
  let nodes = [];
  const clients = new HubClients();
  const start = () => startHub(['--redis', redis.url, '--rate-limit', `${RATE}/30s`, '--presence-grace', `${GRACE_MS}ms`,
    '--typing-timeout', `${TYPING_MS}ms`], { env: { HUB_API_KEY: API_KEY } });

  before(async () => {
    redis = await RedisServer.start({ durable: true });
    nodes = await Promise.all([start(), start(), start()]);
    const probe = createClient({ url: redis.url });
    probe.on('error', () => {});
    await probe.connect();
    for (let i = 0; i < 100; i++) { // bounded: 5 s, until the three nodes subscribed
      const [, n] = await probe.sendCommand(['PUBSUB', 'NUMSUB', 'socket.io-request#/#']);
      if (Number(n) === 3) break;
      await sleep(50);
    }
    await probe.quit();
  });
  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });
  afterEach(() => clients.closeAll());

  const token = (user, projects) => mintToken(user, { projects });
  const connect = (node, user, projects) => clients.connect(node.url, { token: token(user, projects) });

  it('presence: user-joined once per change cluster-wide; a second tab elsewhere changes nothing; user-left after the last', async () => {
    const P = 'f-presence';
    const [A, B, C] = nodes;
    const watchB = await connect(B, 'u-w1', [P]);
    const watchC = await connect(C, 'u-w2', [P]);
    await joinChat(watchB, P);
    await joinChat(watchC, P);
    await collect(watchB, 'user-joined', 300); // watchC's own
    const tab1 = await connect(A, 'u-pres', [P]);
    await joinChat(tab1, P);
    const joined = { userId: 'u-pres', userName: 'u-pres' };
    assert.deepEqual(await collect(watchB, 'user-joined', 500), [joined], 'B: once');
    assert.deepEqual(await collect(watchC, 'user-joined', 0), [joined], 'C: once');
    const tab2 = await connect(B, 'u-pres', [P]); // the same user on another node
    const ack = await joinChat(tab2, P);
    assert.ok(ack.online.some((u) => u.userId === 'u-pres'), 'B lists the user (online on A) at the join');
    assert.deepEqual(await collect(watchC, 'user-joined', 500), [], 'no second user-joined');
    tab1.close();
    assert.deepEqual(await collect(watchC, 'user-left', GRACE_MS + 500), [], 'still online on B');
    tab2.close();
    const left = await collect(watchC, 'user-left', GRACE_MS + 800);
    assert.deepEqual(left.map((e) => e.userId), ['u-pres'], 'user-left once, after the last connection');
    assert.deepEqual((await collect(watchB, 'user-left', 0)).map((e) => e.userId), ['u-pres']);
  });

  it('typing reaches every node, stops once; the join answer lists users online on other nodes', async () => {
    const P = 'f-typing';
    const [A, B, C] = nodes;
    const typist = await connect(A, 'u-typist', [P]);
    const onB = await connect(B, 'u-tb', [P]);
    await joinChat(typist, P);
    const info = await joinChat(onB, P);
    assert.ok(JSON.stringify(info).includes('u-typist'), `the join on B lists the typist on A: ${JSON.stringify(info)}`);
    const onC = await connect(C, 'u-tc', [P]);
    await joinChat(onC, P);
    typist.emit('typing', { projectId: P });
    assert.equal((await onB.next('user-typing', 3000)).userId, 'u-typist');
    assert.equal((await onC.next('user-typing', 3000)).userId, 'u-typist');
    typist.emit('typing', { projectId: P }); // a refresh: no second user-typing
    typist.emit('stop-typing', { projectId: P });
    assert.equal((await onB.next('user-stopped-typing', 3000)).userId, 'u-typist');
    assert.equal((await onC.next('user-stopped-typing', 3000)).userId, 'u-typist');
    await onB.expectNone('user-typing', 300);
    await onC.expectNone('user-stopped-typing', 0);
  });

  it('notifications posted on one node reach the user on the others; unread counts agree on every node', async () => {
    const [A, B, C] = nodes;
    const onB = await connect(B, 'u-note', []);
    const onC = await connect(C, 'u-note', []);
    for (const c of [onB, onC]) assert.equal((await c.ack('join-user-room', 'u-note'))?.ok, true);
    const post = await api(A.url, 'POST', '/api/notifications', {
      headers: { authorization: `Bearer ${API_KEY}` },
      body: { userId: 'u-note', title: 'Task assigned', message: 'Review', type: 'task' },
    });
    assert.equal(post.status, 201, post.body);
    const n = await onB.next('notification', 5000);
    assert.deepEqual(await onC.next('notification', 5000), n);
    assert.equal(n.title, 'Task assigned');
    await sleep(200); // every node's mailbox folds the entry from the log feed
    for (const node of nodes) {
      const inbox = await api(node.url, 'GET', '/api/notifications?unread=1', { token: token('u-note', []) });
      assert.equal(inbox.status, 200, inbox.body);
      assert.equal(inbox.json.unread, 1, `unread on ${node.url}`);
      assert.deepEqual(inbox.json.notifications.map((x) => x.id), [n.id]);
    }
    assert.deepEqual(await onB.ack('mark-notifications-read', { all: true }), { ok: true, unread: 0 });
    assert.deepEqual(await onC.next('notifications-read', 3000), { all: true, unread: 0 });
    await sleep(200);
    for (const node of nodes) {
      const inbox = await api(node.url, 'GET', '/api/notifications', { token: token('u-note', []) });
      assert.equal(inbox.json.unread, 0, `read on ${node.url}`);
    }
  });

  it('reactions from two nodes both stay; read markers never move back; absent members get chat notifications', async () => {
    const P = 'f-shared';
    const [A, B, C] = nodes;
    const alice = await connect(A, 'u-ra', [P]);
    const bob = await connect(B, 'u-rb', [P]);
    await joinChat(alice, P);
    await joinChat(bob, P);
    // carol joined once on C, then left: a member who is absent.
    const carol = await connect(C, 'u-rc', [P]);
    await joinChat(carol, P);
    assert.equal((await carol.ack('leave-chat-room', P))?.ok, true);
    assert.equal((await carol.ack('join-user-room', 'u-rc'))?.ok, true);
    await sleep(200);
    const m1 = await sendMessage(alice, P, 'react to me');
    const m2 = await sendMessage(alice, P, 'second');
    const chatNote = await carol.next('notification', 5000);
    assert.equal(chatNote.type, 'chat', JSON.stringify(chatNote));
    assert.deepEqual(await alice.ack('react', { projectId: P, messageId: m1.id, emoji: '👍' }), { ok: true, action: 'added' });
    assert.deepEqual(await bob.ack('react', { projectId: P, messageId: m1.id, emoji: '🎉' }), { ok: true, action: 'added' });
    for (const node of nodes) {
      const h = await api(node.url, 'GET', `/api/chat/${P}/messages`, { token: token('u-ra', [P]) });
      const first = h.json.messages.find((m) => m.seq === m1.seq);
      assert.deepEqual(first.reactions, { '👍': 1, '🎉': 1 }, `both reactions on ${node.url}`);
    }
    assert.deepEqual(await bob.ack('mark-read', { projectId: P, seq: m2.seq }), { ok: true, lastReadSeq: m2.seq });
    const bobOnC = await connect(C, 'u-rb', [P]);
    const again = await joinChat(bobOnC, P);
    assert.equal(again.lastReadSeq, m2.seq, 'the marker stored on B, read on C');
    const back = await bobOnC.ack('mark-read', { projectId: P, seq: m1.seq });
    assert.equal(back.lastReadSeq, m2.seq, 'never backwards');
  });

  it('threads, sync and history agree on every node; a task event posted on one node reaches task rooms on the others', async () => {
    const P = 'f-thread';
    const [A, B, C] = nodes;
    const alice = await connect(A, 'u-th-a', [P]);
    const bob = await connect(B, 'u-th-b', [P]);
    const carol = await connect(C, 'u-th-c', [P]);
    for (const c of [alice, bob, carol]) await joinChat(c, P);
    const root = await sendMessage(alice, P, 'root');
    const r1 = await sendMessage(bob, P, 'reply one', root.id);
    const other = await sendMessage(carol, P, 'unrelated');
    const r2 = await sendMessage(carol, P, 'reply two', root.id);
    for (const [name, c] of [['A', alice], ['B', bob], ['C', carol]]) {
      const thread = await c.ack('sync', { projectId: P, thread: root.id });
      assert.equal(thread?.ok, true, `${name}: ${JSON.stringify(thread)}`);
      assert.equal(thread.root.replyCount, 2, `${name}: replyCount`);
      assert.deepEqual(thread.messages.map((x) => [x.id, x.replyTo]), [[r1.id, root.id], [r2.id, root.id]], name);
      const all = await c.ack('sync', { projectId: P, afterSeq: 0 });
      assert.deepEqual(all.messages.map((x) => x.id), [root.id, r1.id, other.id, r2.id], `${name}: one history`);
    }
    for (const node of nodes) {
      const h = await api(node.url, 'GET', `/api/chat/${P}/messages?thread=${encodeURIComponent(root.id)}`,
        { token: token('u-th-b', [P]) });
      assert.equal(h.status, 200, h.body);
      assert.deepEqual(h.json.messages.map((x) => x.id), [r1.id, r2.id], `thread over HTTP on ${node.url}`);
    }
    assert.deepEqual(await carol.ack('join-task-room', { projectId: P, taskId: 't-x' }), { ok: true });
    const task = { title: 'Ship the cluster', status: 'done' };
    const res = await api(A.url, 'POST', '/api/tasks/t-x/events', {
      headers: { authorization: `Bearer ${API_KEY}` }, body: { projectId: P, task },
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await carol.next('task-updated', 3000), res.json, 'the task room on node C');
    // As on one node, the project's chat room hears its tasks too.
    assert.deepEqual(await bob.next('task-updated', 3000), res.json, 'the chat room on node B');
  });

  it('the chat rate limit is one window for all nodes', async () => {
    const P = 'f-rate';
    const [A, B, C] = nodes;
    const tabs = [];
    for (const node of [A, B, C]) {
      const c = await connect(node, 'u-rate', [P]);
      await joinChat(c, P);
      tabs.push(c);
    }
    const answers = [];
    for (let i = 0; i < RATE + 3; i++) answers.push(await tabs[i % 3].ack('send-message', { projectId: P, content: `r${i}` }));
    assert.equal(answers.filter((r) => r?.ok).length, RATE, JSON.stringify(answers.map((r) => r?.ok)));
    for (const r of answers.slice(RATE)) {
      assert.equal(r.error, 'rate_limited', JSON.stringify(r));
      assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= 30000, JSON.stringify(r));
    }
  });

  it('a revocation POSTed to one node is refused by the others for new connections', async () => {
    const [A, B, C] = nodes;
    const t = token('u-revoked', []);
    const res = await api(A.url, 'POST', '/api/users/u-revoked/revoke', { headers: { authorization: `Bearer ${API_KEY}` } });
    assert.equal(res.status, 200, res.body);
    await sleep(200);
    for (const node of [B, C]) {
      const c = clients.make(node.url, { token: t });
      const err = await c.connectError();
      assert.match(err.message, /revoked|Authentication/i, `${node.url}: ${err.message}`);
    }
    // Someone else on the same nodes is unaffected.
    await connect(B, 'u-fine', []);
  });

  it('hostile publications on the log feed are dropped: garbage, 100k-deep JSON, a stray epoch, a repeat', async () => {
    const P = 'f-hostile';
    const [A, B] = nodes;
    const a = await connect(A, 'u-ha', [P]);
    const b = await connect(B, 'u-hb', [P]);
    await joinChat(a, P);
    await joinChat(b, P);
    const first = await sendMessage(a, P, 'real one');
    assert.equal((await b.next('new-message', 3000)).seq, first.seq);
    assert.equal((await a.next('new-message', 3000)).seq, first.seq); // the sender's own copy
    const evil = createClient({ url: redis.url });
    evil.on('error', () => {});
    await evil.connect();
    const epoch = await evil.get('socket.io:kv:meta/epoch');
    const channel = `socket.io-log#room/${P}`;
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    for (const payload of ['garbage', `${epoch}:${first.seq + 1}:${deep}`, `stray1:1:{"content":"x"}`,
      `${epoch}:${first.seq}:{"content":"a repeat"}`, `${epoch}:0:{}`,
      `${epoch}:${first.seq + 2}:{"content":"forged, ahead of the log"}`]) {
      await evil.publish(channel, payload);
    }
    await evil.quit();
    await b.expectNone('new-message', 500);
    await a.expectNone('new-message', 0);
    const next = await sendMessage(b, P, 'still works');
    assert.equal(next.seq, first.seq + 1);
    assert.equal((await a.next('new-message', 3000)).content, 'still works');
    assert.equal((await b.next('new-message', 3000)).content, 'still works');
    const after = await sendMessage(a, P, 'and the next');
    assert.equal(after.seq, first.seq + 2);
    for (const c of [a, b]) assert.equal((await c.next('new-message', 3000)).content, 'and the next', 'not the forged one');
    await a.expectNone('new-message', 300);
    await b.expectNone('new-message', 0);
  });

  it('kill -9 of a node: its users go offline on the others and its typist leaves no ghost', async () => {
    const P = 'f-kill';
    const [A, B, C] = nodes;
    const watcher = await connect(A, 'u-kw', [P]);
    await joinChat(watcher, P);
    const doomed = new HubClient(C.url, { token: token('u-doomed', [P]) });
    await doomed.connect();
    await joinChat(doomed, P);
    assert.equal((await watcher.next('user-joined', 3000)).userId, 'u-doomed');
    doomed.emit('typing', { projectId: P });
    assert.equal((await watcher.next('user-typing', 3000)).userId, 'u-doomed');
    await C.stop('SIGKILL');
    // The typist's timeout (+1 s) ends the ghost; the node's stopped heartbeat (5 s) and
    // the grace end its presence. Bounded waits, not sleeps of the whole bound.
    assert.equal((await watcher.next('user-stopped-typing', TYPING_MS + 3000)).userId, 'u-doomed');
    assert.equal((await watcher.next('user-left', 10000)).userId, 'u-doomed');
    await watcher.expectNone('user-left', 300);
    doomed.close();
    assert.ok(B, 'the other nodes keep serving');
    const still = await connect(B, 'u-after', [P]);
    await joinChat(still, P);
  });
});
