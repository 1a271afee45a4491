// Project Hub reactions and threads with the real socket.io-client: react toggles ->
// message-reaction to the whole room (the reacting user's tabs included); history carries
// reactions {emoji: count} and replyCount; send-message with replyTo must name a message of
// the same room; sync {thread} and GET ?thread= list a thread; all of it survives a restart.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, getMessages, withTimeout,
  collect,
  joinChat, sendMessage: send,
} = require('./hub-helpers');

const PROJECTS = ['rx-react', 'rx-thread', 'rx-other'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
  carol: mintToken('u-carol', { name: 'Carol Chen', projects: ['rx-other'] }),
};

describe('hub: reactions and threads', { skip: skipReason }, () => {
  const clients = new HubClients();
  let hub;
  const start = async (opts = {}) => { hub = await startHub(['--rate-limit', '1000/1s'], opts); return hub; };
  before(async () => { await start(); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });
  async function joined(who, project, transports) {
    const c = await connect(who, transports);
    await joinChat(c, project);
    return c;
  }
  async function expectRefused(c, event, payload, error) {
    assert.deepEqual(await c.ack(event, payload), { ok: false, error }, `${event} ${JSON.stringify(payload)}`);
    assert.equal(typeof (await c.next('error')).message, 'string', 'error event');
  }

  it('react toggles; message-reaction reaches the whole room, the reacting user\'s tabs included', async () => {
    const a1 = await joined('alice', 'rx-react');
    const a2 = await joined('alice', 'rx-react', ['polling']);
    const bob = await joined('bob', 'rx-react');
    const outsider = await joined('carol', 'rx-other');
    const m = await send(bob, 'rx-react', 'react to me');
    for (const c of [a1, a2, bob]) c.drain();

    assert.deepEqual(await a1.ack('react', { projectId: 'rx-react', messageId: m.id, emoji: '👍' }), { ok: true, action: 'added' });
    const added = { projectId: 'rx-react', messageId: m.id, userId: 'u-alice', emoji: '👍', action: 'added' };
    for (const c of [a1, a2, bob]) assert.deepEqual(await c.next('message-reaction'), added);
    assert.deepEqual(await bob.ack('react', { projectId: 'rx-react', messageId: m.id, emoji: '👍' }), { ok: true, action: 'added' });
    assert.deepEqual(await bob.ack('react', { projectId: 'rx-react', messageId: m.id, emoji: '🎉' }), { ok: true, action: 'added' });
    for (const c of [a1, a2, bob]) assert.equal((await collect(c, 'message-reaction', 150)).length, 2);

    let sync = await a1.ack('sync', { projectId: 'rx-react' });
    assert.deepEqual(sync.messages[0].reactions, { '👍': 2, '🎉': 1 });

    assert.deepEqual(await a2.ack('react', { projectId: 'rx-react', messageId: m.id, emoji: '👍' }), { ok: true, action: 'removed' });
    assert.deepEqual(await bob.next('message-reaction'), { ...added, action: 'removed' });
    sync = await bob.ack('sync', { projectId: 'rx-react' });
    assert.deepEqual(sync.messages[0].reactions, { '👍': 1, '🎉': 1 });
    assert.deepEqual(await collect(outsider, 'message-reaction', 0), [], 'another room hears nothing');

    await expectRefused(a1, 'react', { projectId: 'rx-react', messageId: 'rx-other:1', emoji: '👍' }, 'invalid');
    await expectRefused(a1, 'react', { projectId: 'rx-react', messageId: 'rx-react:99', emoji: '👍' }, 'not_found');
    await expectRefused(a1, 'react', { projectId: 'rx-react', messageId: m.id, emoji: '' }, 'invalid');
    await expectRefused(a1, 'react', { projectId: 'rx-react', messageId: m.id, emoji: 'a b' }, 'invalid');
    await expectRefused(a1, 'react', { projectId: 'rx-react', messageId: m.id, emoji: 'x'.repeat(33) }, 'invalid');
    await expectRefused(outsider, 'react', { projectId: 'rx-react', messageId: m.id, emoji: '👍' }, 'forbidden');
  });

  it('replies name a message of the same room; threads are listed by sync {thread} and HTTP ?thread=', async () => {
    const alice = await joined('alice', 'rx-thread');
    const bob = await joined('bob', 'rx-thread', ['polling']);
    const root = await send(alice, 'rx-thread', 'root');
    const other = await send(alice, 'rx-thread', 'unrelated');
    const r1 = await send(bob, 'rx-thread', 'reply one', root.id);
    assert.equal(r1.replyTo, root.id);
    const r2 = await send(alice, 'rx-thread', 'reply two', root.id);
    // bob saw the replies live, with replyTo.
    const live = (await collect(bob, 'new-message', 150)).filter((x) => x.replyTo === root.id);
    assert.deepEqual(live.map((x) => x.id), [r1.id, r2.id]);

    await expectRefused(alice, 'send-message', { projectId: 'rx-thread', content: 'x', replyTo: 'rx-thread:99' }, 'invalid');
    await expectRefused(alice, 'send-message', { projectId: 'rx-thread', content: 'x', replyTo: 'rx-react:1' }, 'invalid');
    await expectRefused(alice, 'send-message', { projectId: 'rx-thread', content: 'x', replyTo: 1 }, 'invalid');

    const thread = await bob.ack('sync', { projectId: 'rx-thread', thread: root.id });
    assert.equal(thread.ok, true, JSON.stringify(thread));
    assert.equal(thread.root.id, root.id);
    assert.equal(thread.root.content, 'root');
    assert.equal(thread.root.replyCount, 2);
    assert.deepEqual(thread.messages.map((x) => [x.id, x.content, x.replyTo]),
      [[r1.id, 'reply one', root.id], [r2.id, 'reply two', root.id]]);
    assert.equal(thread.hasMore, false);
    const page = await bob.ack('sync', { projectId: 'rx-thread', thread: root.id, limit: 1 });
    assert.deepEqual([page.messages.map((x) => x.id), page.hasMore], [[r1.id], true]);
    const next = await bob.ack('sync', { projectId: 'rx-thread', thread: root.id, afterSeq: r1.seq });
    assert.deepEqual([next.messages.map((x) => x.id), next.hasMore], [[r2.id], false]);
    await expectRefused(bob, 'sync', { projectId: 'rx-thread', thread: 'rx-react:1' }, 'invalid');
    assert.deepEqual(await bob.ack('sync', { projectId: 'rx-thread', thread: 'rx-thread:99' }), { ok: false, error: 'not_found' });

    const all = await bob.ack('sync', { projectId: 'rx-thread' });
    assert.deepEqual(all.messages.map((x) => [x.content, x.replyCount]),
      [['root', 2], ['unrelated', 0], ['reply one', 0], ['reply two', 0]]);

    const http = await getMessages(hub.url, tokens.bob, 'rx-thread', `thread=${encodeURIComponent(root.id)}`);
    assert.equal(http.status, 200, http.body);
    assert.deepEqual(http.json.messages.map((x) => x.id), [r1.id, r2.id]);
    assert.equal(http.json.root.id, root.id);
    assert.equal((await getMessages(hub.url, tokens.bob, 'rx-thread', 'thread=nope')).status, 400);
    assert.equal((await getMessages(hub.url, tokens.bob, 'rx-thread', `thread=${encodeURIComponent(other.id)}`)).json.messages.length, 0);
    assert.equal((await getMessages(hub.url, tokens.bob, 'rx-thread', 'thread=rx-thread%3A99')).status, 404);
  });

  it('reactions and reply counts survive a restart', async () => {
    const alice = await joined('alice', 'rx-thread');
    const before = await alice.ack('sync', { projectId: 'rx-thread' });
    const root = before.messages[0];
    assert.deepEqual(await alice.ack('react', { projectId: 'rx-thread', messageId: root.id, emoji: '🚀' }), { ok: true, action: 'added' });
    clients.closeAll();
    const dir = hub.dataDir;
    await hub.stop('SIGTERM');
    await withTimeout(hub.exited, 5000, 'exit after SIGTERM');
    await start({ dataDir: dir });
    const bob = await joined('bob', 'rx-thread');
    const afterRestart = await bob.ack('sync', { projectId: 'rx-thread' });
    assert.equal(afterRestart.messages[0].replyCount, 2);
    assert.deepEqual(afterRestart.messages[0].reactions, { '🚀': 1 });
    // The next reply counts on.
    await send(bob, 'rx-thread', 'reply three', root.id);
    const thread = await bob.ack('sync', { projectId: 'rx-thread', thread: root.id });
    assert.equal(thread.messages.length, 3);
    assert.deepEqual(await bob.ack('react', { projectId: 'rx-thread', messageId: root.id, emoji: '🚀' }), { ok: true, action: 'added' });
    assert.deepEqual((await bob.ack('sync', { projectId: 'rx-thread' })).messages[0].reactions, { '🚀': 2 });
  });
});
