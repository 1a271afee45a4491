// Project Hub typing indicators: user-typing to the other users only, expiry after
// --typing-timeout, and the immediate user-stopped-typing on stop-typing / send-message /
// leaving / disconnecting (of the user's last connection in the room).
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { skipReason, mintToken, startHub, HubClients, sleep } = require('./hub-helpers');

const PROJECTS = ['t-basic', 't-expiry', 't-stop', 't-send', 't-disc', 't-leave', 't-forbid'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
  carol: mintToken('u-carol', { name: 'Carol Chen', projects: PROJECTS }),
};

async function join(c, projectId) {
  const ack = await c.ack('join-chat-room', projectId);
  assert.equal(ack?.ok, true, `join-chat-room ${projectId}: ${JSON.stringify(ack)}`);
}

describe('hub: typing (--typing-timeout 400ms)', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--typing-timeout', '400ms', '--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  it("user-typing {userId, userName} reaches the other users, not the typing user's connections", async () => {
    const alice = await connect('alice');
    const bob1 = await connect('bob', ['polling']);
    const bob2 = await connect('bob', ['websocket']);
    const carol = await connect('carol', ['polling']);
    for (const c of [alice, bob1, bob2, carol]) await join(c, 't-basic');

    // The payload lies about the user: ignored.
    bob1.emit('typing', { projectId: 't-basic', userId: 'u-carol', userName: 'Not Bob' });
    const expected = { userId: 'u-bob', userName: 'Bob Brown' };
    assert.deepEqual(await alice.next('user-typing'), expected);
    assert.deepEqual(await carol.next('user-typing'), expected);

    // Barrier: carol types next. The room sends to each connection in order, so bob2's
    // first user-typing must be carol's: bob's own indicator never reached his second tab.
    carol.emit('typing', { projectId: 't-basic' });
    assert.deepEqual(await bob2.next('user-typing'), { userId: 'u-carol', userName: 'Carol Chen' },
      "bob's second tab got bob's own user-typing");
    assert.deepEqual(await bob1.next('user-typing'), { userId: 'u-carol', userName: 'Carol Chen' },
      'bob got his own user-typing');
    assert.deepEqual(await alice.next('user-typing'), { userId: 'u-carol', userName: 'Carol Chen' });
    await carol.expectNone('user-typing', 100);
    assert.equal(bob2.q['user-typing'].pending, 0);
  });

  it('user-stopped-typing comes by itself --typing-timeout after the LAST typing', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, 't-expiry');
    await join(bob, 't-expiry');

    bob.emit('typing', { projectId: 't-expiry' });
    assert.deepEqual(await alice.next('user-typing'), { userId: 'u-bob', userName: 'Bob Brown' });
    await sleep(250);
    bob.emit('typing', { projectId: 't-expiry' }); // renews the timer
    const lastTyping = Date.now();
    const stopped = await alice.next('user-stopped-typing', 3000);
    const elapsed = Date.now() - lastTyping;
    assert.deepEqual(stopped, { userId: 'u-bob' });
    assert.ok(elapsed >= 300, `expired ${elapsed} ms after the last typing (timeout 400 ms): not renewed?`);
    assert.ok(elapsed <= 1500, `expired ${elapsed} ms after the last typing (timeout 400 ms): too late`);
    // Once only.
    await alice.expectNone('user-stopped-typing', 500);
  });

  it("typing in a room the socket hasn't joined -> {ok:false, error:'forbidden'}; nobody is told", async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await join(alice, 't-forbid');
    const ack = await bob.ack('typing', { projectId: 't-forbid' });
    assert.deepEqual(ack, { ok: false, error: 'forbidden' });
    await alice.expectNone('user-typing', 200);
  });
});

// A long timeout here: every user-stopped-typing seen within the 2 s bounds below was
// caused by the action under test, not by expiry.
describe('hub: typing cleared at once (--typing-timeout 10s)', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--typing-timeout', '10s', '--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  async function pair(project) {
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, project);
    await join(bob, project);
    bob.emit('typing', { projectId: project });
    assert.deepEqual(await alice.next('user-typing'), { userId: 'u-bob', userName: 'Bob Brown' });
    return { alice, bob };
  }

  it('stop-typing -> user-stopped-typing {userId} at once', async () => {
    const { alice, bob } = await pair('t-stop');
    bob.emit('stop-typing', { projectId: 't-stop', userId: 'u-carol' });
    assert.deepEqual(await alice.next('user-stopped-typing', 2000), { userId: 'u-bob' });
  });

  it('sending a message -> user-stopped-typing {userId} at once', async () => {
    const { alice, bob } = await pair('t-send');
    const ack = await bob.ack('send-message', { projectId: 't-send', content: 'done typing' });
    assert.equal(ack?.ok, true, JSON.stringify(ack));
    assert.deepEqual(await alice.next('user-stopped-typing', 2000), { userId: 'u-bob' });
    assert.equal((await alice.next('new-message')).id, ack.message.id);
  });

  it("disconnect of the user's last connection in the room -> user-stopped-typing at once (not before)", async () => {
    const alice = await connect('alice');
    const bob1 = await connect('bob', ['polling']);
    const bob2 = await connect('bob', ['websocket']);
    for (const c of [alice, bob1, bob2]) await join(c, 't-disc');
    bob1.emit('typing', { projectId: 't-disc' });
    assert.deepEqual(await alice.next('user-typing'), { userId: 'u-bob', userName: 'Bob Brown' });

    bob1.close(); // bob is still in the room through bob2
    await alice.expectNone('user-stopped-typing', 400);
    bob2.close();
    assert.deepEqual(await alice.next('user-stopped-typing', 2000), { userId: 'u-bob' },
      "no user-stopped-typing after bob's last connection disconnected");
  });

  it("leave-chat-room by the user's last connection -> user-stopped-typing at once", async () => {
    const { alice, bob } = await pair('t-leave');
    assert.deepEqual(await bob.ack('leave-chat-room', 't-leave'), { ok: true });
    assert.deepEqual(await alice.next('user-stopped-typing', 2000), { userId: 'u-bob' });
  });
});
