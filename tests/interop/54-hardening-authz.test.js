// Authorization of task rooms: a task event reaches only members of the project the
// backend names (hub.md "Task rooms"), also after connection state recovery with a token
// that no longer grants the project. (The unseen-task and moved-task cases are in 40.)
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, api, FAST_RECONNECT, cutTransport, resume,
  takeNewMessages, collect, joinChat, sendMany,
} = require('./hub-helpers');

const API_KEY = 'authz-api-key-0123456789abcdef0123';
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice', projects: ['az-keep', 'az-private'] }),
  aliceDemoted: mintToken('u-alice', { name: 'Alice', projects: ['az-keep'] }),
  bob: mintToken('u-bob', { name: 'Bob', projects: ['az-keep', 'az-private'] }),
};

describe('hub: task rooms after recovery', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s'], { env: { HUB_API_KEY: API_KEY } }); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const postEvent = (taskId, body) => api(hub.url, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/events`,
    { body, headers: { authorization: `Bearer ${API_KEY}` } });

  async function inRooms(who) {
    const c = await clients.connect(hub.url, { token: tokens[who], transports: ['websocket'], io: FAST_RECONNECT });
    await joinChat(c, 'az-keep');
    assert.deepEqual(await c.ack('join-task-room', { projectId: 'az-private', taskId: 't-secret' }), { ok: true });
    return c;
  }

  it('a token that no longer grants the task\'s project does not get its task room back', async () => {
    const a = await inRooms('alice');
    const sender = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    await joinChat(sender, 'az-keep');
    await sendMany(sender, 'az-keep', 1, 'offset');  // a has an offset: it will ask for recovery
    await takeNewMessages(a, 1);
    const id = a.socket.id;
    await cutTransport(a);
    a.socket.auth = { token: tokens.aliceDemoted };
    await resume(a);
    assert.equal(a.socket.recovered, false, 'recovered although the token lost az-private');
    assert.notEqual(a.socket.id, id);
    const res = await postEvent('t-secret', { projectId: 'az-private', task: { title: 'private' } });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await collect(a, 'task-updated', 400), [], 'a task event of az-private after a demoted recovery');
  });

  it('the same token recovers its task room and gets the events it missed live', async () => {
    const a = await inRooms('alice');
    const sender = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    await joinChat(sender, 'az-keep');
    await sendMany(sender, 'az-keep', 1, 'offset');
    await takeNewMessages(a, 1);
    const id = a.socket.id;
    await cutTransport(a);
    await resume(a);
    assert.equal(a.socket.recovered, true, 'not recovered with the same token');
    assert.equal(a.socket.id, id);
    const res = await postEvent('t-secret', { projectId: 'az-private', task: { title: 'after' } });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await a.next('task-updated'), res.json);
  });
});
