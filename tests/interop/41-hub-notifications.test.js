// Project Hub notifications with the real socket.io-client: POST /api/notifications (API key)
// -> `notification` to every connection of the user; stored while away and pushed once when
// a connection comes up; unread counts (join-user-room ack, GET /api/notifications);
// mark-notifications-read -> notifications-read to the user's other connections; chat
// notifications coalesced per project for members who are not in the room; recovery
// replays notifications once; everything survives a restart.
//
// Every wait is bounded; negative checks use a bounded wait.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {
  skipReason, mintToken, startHub, HubClients, api, sleep, withTimeout, FAST_RECONNECT, cutTransport, resume,
  collect,
} = require('./hub-helpers');

const API_KEY = `hub-api-key-${crypto.randomBytes(8).toString('hex')}`;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PROJECTS = ['n-chat', 'n-other'];
const names = { alice: 'Alice Anders', bob: 'Bob Brown', carol: 'Carol Chen', dave: 'Dave Dunn', erin: 'Erin Eve' };
const tokens = Object.fromEntries(
  Object.entries(names).map(([id, name]) => [id, mintToken(`u-${id}`, { name, projects: PROJECTS })]));

describe('hub: notifications', { skip: skipReason }, () => {
  const clients = new HubClients();
  let hub;
  const start = async (opts = {}) => {
    hub = await startHub(['--rate-limit', '1000/1s', '--presence-grace', '200ms'],
      { env: { HUB_API_KEY: API_KEY }, ...opts });
    return hub;
  };
  before(async () => { await start(); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const connect = (who, transports = ['websocket'], io = {}) =>
    clients.connect(hub.url, { token: tokens[who], transports, io });
  const notify = (userId, extra = {}, key = API_KEY) => api(hub.url, 'POST', '/api/notifications', {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    body: { userId, title: 'Task assigned', message: 'You have a new task', type: 'task', ...extra },
  });
  const inbox = (who, query = '') => api(hub.url, 'GET', `/api/notifications${query}`, { token: tokens[who] });

  function checkNotification(n, expect) {
    assert.deepEqual(Object.keys(n).sort(), ['createdAt', 'data', 'id', 'message', 'read', 'title', 'type'],
      JSON.stringify(n));
    assert.equal(typeof n.id, 'string');
    assert.ok(n.id.length > 0);
    assert.match(n.createdAt, ISO_RE);
    for (const [k, v] of Object.entries(expect)) assert.deepEqual(n[k], v, `${k} of ${JSON.stringify(n)}`);
  }

  it('POST /api/notifications needs the API key and a valid body', async () => {
    assert.equal((await notify('u-alice', {}, null)).status, 401, 'no key');
    assert.equal((await notify('u-alice', {}, `${API_KEY}x`)).status, 401, 'wrong key');
    const jwt = await api(hub.url, 'POST', '/api/notifications', {
      token: tokens.alice, body: { userId: 'u-alice', title: 't', message: 'm', type: 'task' },
    });
    assert.equal(jwt.status, 401, 'a user JWT is not the API key');
    for (const [what, body] of [
      ['no title', { title: undefined }], ['empty title', { title: '' }], ['long title', { title: 'x'.repeat(201) }],
      ['no type', { type: undefined }], ['message not a string', { message: 5 }],
    ]) {
      const r = await notify('u-alice', body);
      assert.equal(r.status, 400, `${what}: ${r.body}`);
    }
    assert.equal((await notify('', {})).status, 400, 'empty userId');
    const bad = await api(hub.url, 'POST', '/api/notifications', {
      headers: { authorization: `Bearer ${API_KEY}` }, body: 'not json',
    });
    assert.equal(bad.status, 400);
    assert.equal((await api(hub.url, 'PUT', '/api/notifications', { headers: { authorization: `Bearer ${API_KEY}` } })).status, 405);
  });

  it('a notification reaches every connection of the user (websocket and polling), nobody else', async () => {
    const a1 = await connect('alice');
    const a2 = await connect('alice', ['polling']);
    const bob = await connect('bob');
    const r = await notify('u-alice', { data: { taskId: 't-1' } });
    assert.equal(r.status, 201, r.body);
    checkNotification(r.json, { title: 'Task assigned', message: 'You have a new task', type: 'task', data: { taskId: 't-1' }, read: false });
    for (const c of [a1, a2]) assert.deepEqual(await c.next('notification'), r.json);
    assert.deepEqual(await collect(bob, 'notification', 200), [], 'bob got alice\'s notification');
    // data defaults to {}
    const plain = await notify('u-alice');
    assert.deepEqual(plain.json.data, {});
    assert.deepEqual(await a1.next('notification'), plain.json);
  });

  it('stored while the user is away: pushed once to the first connection, counted, listed, marked read across tabs', async () => {
    const n1 = (await notify('u-carol', { title: 'first' })).json;
    const n2 = (await notify('u-carol', { title: 'second' })).json;
    const c1 = await connect('carol');
    const pushed = [await c1.next('notification'), await c1.next('notification')];
    assert.deepEqual(pushed.map((n) => n.id), [n1.id, n2.id], 'oldest first');
    assert.deepEqual(await c1.ack('join-user-room', 'u-carol'), { ok: true, unread: 2 });
    const c2 = await connect('carol', ['polling']);
    assert.deepEqual(await collect(c2, 'notification', 250), [], 'a second tab does not get them pushed again');

    const listed = await inbox('carol', '?unread=1');
    assert.deepEqual(listed.json, { notifications: [n2, n1], unread: 2 }, 'newest first');
    assert.equal((await api(hub.url, 'GET', '/api/notifications')).status, 401, 'no token');
    assert.equal((await inbox('carol', '?unread=maybe')).status, 400);

    // Mark one read from c1: ack with the new count; c2 is told, c1 is not.
    assert.deepEqual(await c1.ack('mark-notifications-read', { ids: [n1.id] }), { ok: true, unread: 1 });
    assert.deepEqual(await c2.next('notifications-read'), { ids: [n1.id], unread: 1 });
    assert.deepEqual(await collect(c1, 'notifications-read', 200), []);
    assert.deepEqual((await inbox('carol', '?unread=1')).json, { notifications: [n2], unread: 1 });
    const all = await inbox('carol');
    assert.deepEqual(all.json.notifications.map((n) => [n.id, n.read]), [[n2.id, false], [n1.id, true]]);

    // Invalid requests: error event + {ok:false, error:'invalid'}.
    for (const bad of [{}, { ids: [] }, { ids: 'x' }, { ids: [5] }, { all: false }, 'all']) {
      assert.deepEqual(await c1.ack('mark-notifications-read', bad), { ok: false, error: 'invalid' }, JSON.stringify(bad));
      assert.equal(typeof (await c1.next('error')).message, 'string');
    }
    assert.deepEqual(await c2.ack('mark-notifications-read', { all: true }), { ok: true, unread: 0 });
    assert.deepEqual(await c1.next('notifications-read'), { all: true, unread: 0 });
    // Nothing unread: same answer, nobody told.
    assert.deepEqual(await c2.ack('mark-notifications-read', { all: true }), { ok: true, unread: 0 });
    assert.deepEqual(await collect(c1, 'notifications-read', 200), []);
    // Another user's ids mean nothing here.
    assert.deepEqual(await c1.ack('join-user-room', 'u-carol'), { ok: true, unread: 0 });
    assert.deepEqual(await c1.ack('join-user-room', 'u-bob'), { ok: false, error: 'forbidden' });
  });

  it('chat notifications go to members not in the room, coalesced per project until read', async () => {
    const alice = await connect('alice');
    const dave = await connect('dave');
    const erin = await connect('erin', ['polling']);
    for (const c of [alice, dave, erin]) assert.equal((await c.ack('join-chat-room', 'n-chat'))?.ok, true);
    // erin leaves the room (still a member: she joined once); bob never joined.
    assert.deepEqual(await erin.ack('leave-chat-room', 'n-chat'), { ok: true });
    const bob = await connect('bob');
    const m1 = (await alice.ack('send-message', { projectId: 'n-chat', content: 'hello erin' })).message;
    const first = await erin.next('notification');
    checkNotification(first, { type: 'chat', read: false, title: 'New message in n-chat', message: 'Alice Anders: hello erin' });
    assert.deepEqual(first.data, { projectId: 'n-chat', count: 1, messageId: m1.id, seq: m1.seq });
    const m2 = (await dave.ack('send-message', { projectId: 'n-chat', content: 'me too' })).message;
    const second = await erin.next('notification');
    assert.equal(second.id, first.id, 'coalesced: same notification');
    assert.deepEqual(second.data, { projectId: 'n-chat', count: 2, messageId: m2.id, seq: m2.seq });
    assert.equal(second.title, '2 new messages in n-chat');
    assert.deepEqual(await erin.ack('join-user-room', 'u-erin'), { ok: true, unread: 1 });
    // In the room (dave, alice) or never a member (bob): nothing.
    for (const [who, c] of [['alice', alice], ['dave', dave], ['bob', bob]])
      assert.deepEqual(await collect(c, 'notification', who === 'bob' ? 200 : 0), [], who);

    // Read -> the next message starts a new one.
    assert.deepEqual(await erin.ack('mark-notifications-read', { ids: [first.id] }), { ok: true, unread: 0 });
    await alice.ack('send-message', { projectId: 'n-chat', content: 'again' });
    const third = await erin.next('notification');
    assert.notEqual(third.id, first.id);
    assert.equal(third.data.count, 1);

    // Offline members get it when they come back (pushed at connect).
    erin.close();
    await sleep(100);
    await alice.ack('send-message', { projectId: 'n-chat', content: 'while you were out' });
    const back = await connect('erin');
    const pushed = await back.next('notification');
    assert.equal(pushed.id, third.id);
    assert.equal(pushed.data.count, 2);
    assert.deepEqual(await collect(back, 'notification', 200), [], 'pushed once');
  });

  it('a recovered connection gets a notification it missed exactly once (replayed, not pushed again)', async () => {
    const a = await connect('bob', ['websocket'], FAST_RECONNECT);
    const n0 = (await notify('u-bob', { title: 'before' })).json;
    assert.equal((await a.next('notification')).id, n0.id);
    await cutTransport(a);
    const missed = (await notify('u-bob', { title: 'missed' })).json;
    await resume(a);
    assert.equal(a.socket.recovered, true, 'recovered');
    assert.deepEqual(await a.next('notification'), missed);
    assert.deepEqual(await collect(a, 'notification', 300), [], 'exactly once');
    // A fresh second tab: nothing pushed (the recovered one had it).
    const b = await connect('bob');
    assert.deepEqual(await collect(b, 'notification', 200), []);
  });

  it('inbox, read state and delivery survive a restart', async () => {
    const n = (await notify('u-dave', { title: 'durable' })).json;
    const kept = (await notify('u-dave', { title: 'kept unread' })).json;
    const d = await connect('dave');
    // (dave was in n-chat whenever a chat message was sent: no chat notifications.)
    const pushed = await collect(d, 'notification', 300);
    assert.deepEqual(pushed.map((x) => x.id), [n.id, kept.id]);
    assert.deepEqual(await d.ack('mark-notifications-read', { ids: [n.id] }), { ok: true, unread: 1 });
    clients.closeAll();
    const dir = hub.dataDir;
    await hub.stop('SIGTERM');
    await withTimeout(hub.exited, 5000, 'exit after SIGTERM');
    await start({ dataDir: dir });
    const listed = await inbox('dave');
    assert.equal(listed.status, 200, listed.body);
    assert.deepEqual(listed.json.notifications.map((x) => [x.id, x.read]), [[kept.id, false], [n.id, true]]);
    assert.equal(listed.json.unread, 1);
    const d2 = await connect('dave');
    assert.deepEqual(await collect(d2, 'notification', 300), [], 'delivered before the restart: not pushed again');
    assert.deepEqual(await d2.ack('join-user-room', 'u-dave'), { ok: true, unread: 1 });
  });
});
