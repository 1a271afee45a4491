// Project Hub: presence (user-joined / user-left with --presence-grace, get-presence), task
// rooms (join-task-room / leave-task-room, POST /api/tasks/:taskId/events -> task-updated),
// and read receipts (mark-read -> message-read, lastReadSeq in the join ack, durable).
//
// Several users with several connections each, over websocket and polling. Every wait is
// bounded; negative checks use a bounded wait or a barrier (a later event on the same
// connection proves that an earlier one was never sent).
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {
  skipReason, mintToken, startHub, freshDataDir, HubClients, api, sleep, withTimeout,
  collect,
  joinChat: join,
} = require('./hub-helpers');

const GRACE_MS = 400;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const user = (id, name) => ({ userId: id, userName: name });
const ALICE = user('u-alice', 'Alice Anders');
const BOB = user('u-bob', 'Bob Brown');
const CAROL = user('u-carol', 'Carol Chen');
const DAVE = user('u-dave', 'Dave Dunn');
const AARON = user('u-aaron', 'Aaron Able');
const ZOE = user('u-zoe', 'Zoe Zimmer');

/** Asserts an error event {message: non-empty string} arrives (docs/hub.md: refusals always send one). */
async function expectErrorEvent(c, what) {
  let e;
  try {
    e = await c.next('error', 2000);
  } catch {
    assert.fail(`${what}: no 'error' event (docs/hub.md: refusals always send an error event {message})`);
  }
  assert.equal(typeof e?.message, 'string', `${what}: error event {message}: ${JSON.stringify(e)}`);
  assert.ok(e.message.length > 0, `${what}: error message is empty`);
}

// --------------------------------------------------------------------------------------------
// (A) Presence
// --------------------------------------------------------------------------------------------

describe(`hub: presence (--presence-grace ${GRACE_MS}ms)`, { skip: skipReason }, () => {
  const PROJECTS = ['pr-join', 'pr-leave', 'pr-disc-websocket', 'pr-disc-polling', 'pr-a', 'pr-b', 'pr-reload', 'pr-rejoin', 'pr-get', 'pr-other'];
  const tokens = {
    alice: mintToken(ALICE.userId, { name: ALICE.userName, projects: PROJECTS }),
    bob: mintToken(BOB.userId, { name: BOB.userName, projects: PROJECTS }),
    carol: mintToken(CAROL.userId, { name: CAROL.userName, projects: PROJECTS }),
    dave: mintToken(DAVE.userId, { name: DAVE.userName, projects: PROJECTS }),
    aaron: mintToken(AARON.userId, { name: AARON.userName, projects: ['pr-get'] }),
    zoe: mintToken(ZOE.userId, { name: ZOE.userName, projects: ['pr-get'] }),
    mallory: mintToken('u-mallory', { name: 'Mallory M', projects: ['pr-other'] }),
  };
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--presence-grace', `${GRACE_MS}ms`, '--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  it("user-joined {userId, userName} goes to the other users on a user's FIRST connection only; never to the joiner's own tabs", async () => {
    const alice = await connect('alice');
    const bob1 = await connect('bob', ['polling']);
    const bob2 = await connect('bob', ['websocket']);
    const carol = await connect('carol', ['polling']);
    const dave = await connect('dave'); // connected, member, but not in the room
    const other = await connect('alice', ['polling']); // alice's tab in another room
    await join(other, 'pr-other');

    const ja = await join(alice, 'pr-join');
    assert.deepEqual(ja.online, [ALICE], 'join ack online (alice alone)');

    const jb1 = await join(bob1, 'pr-join');
    assert.deepEqual(jb1.online, [ALICE, BOB], 'join ack online after bob joined');
    assert.deepEqual(await alice.next('user-joined'), BOB, "alice told of bob's first connection");

    // bob's second tab: no re-announcement.
    const jb2 = await join(bob2, 'pr-join');
    assert.deepEqual(jb2.online, [ALICE, BOB], 'second tab of bob: no duplicate in online');

    // Barrier: carol joins. For alice the next user-joined must be carol's (so bob's second
    // tab did not re-announce); for bob1/bob2 the first one must be carol's (so bob's own
    // join never reached his tabs).
    const jc = await join(carol, 'pr-join');
    assert.deepEqual(jc.online, [ALICE, BOB, CAROL]);
    assert.deepEqual(await alice.next('user-joined'), CAROL, "bob's second tab re-announced bob to alice");
    assert.deepEqual(await bob1.next('user-joined'), CAROL, "bob's own user-joined reached bob's first tab");
    assert.deepEqual(await bob2.next('user-joined'), CAROL, "bob's own user-joined reached bob's second tab");

    // Nothing to the joiner itself (carol), nor to sockets outside the room.
    assert.deepEqual(await collect(carol, 'user-joined', 250), [], 'carol got user-joined for herself or earlier users');
    assert.deepEqual(await collect(dave, 'user-joined', 0), [], 'a connection not in the room got user-joined');
    assert.deepEqual(await collect(other, 'user-joined', 0), [], 'a connection in another room got user-joined');
    assert.deepEqual(await collect(alice, 'user-joined', 0), []);
    assert.deepEqual(await collect(bob1, 'user-joined', 0), []);
    assert.deepEqual(await collect(bob2, 'user-joined', 0), []);
    for (const c of [alice, bob1, bob2, carol, dave, other]) assert.equal(c.q['user-left'].pending, 0);
  });

  it("user-left after leave-chat-room of the user's LAST connection, --presence-grace later; not for one of two tabs", async () => {
    const alice = await connect('alice');
    const carol = await connect('carol', ['polling']);
    const bob1 = await connect('bob', ['polling']);
    const bob2 = await connect('bob', ['websocket']);
    for (const c of [alice, carol, bob1, bob2]) await join(c, 'pr-leave');
    alice.drain(); carol.drain();

    // One of bob's two tabs leaves: bob is still present, no user-left even after the grace.
    assert.deepEqual(await bob1.ack('leave-chat-room', 'pr-leave'), { ok: true });
    assert.deepEqual(await collect(alice, 'user-left', GRACE_MS + 400), [], 'user-left while bob still had a tab in the room');
    const p1 = await alice.ack('get-presence', { projectId: 'pr-leave' });
    assert.deepEqual(p1, { ok: true, online: [ALICE, BOB, CAROL] }, 'get-presence with one of bob\'s tabs left');

    // The last one leaves: user-left to alice and carol, not before the grace.
    const t0 = Date.now();
    const leaveAck = bob2.ack('leave-chat-room', 'pr-leave');
    assert.deepEqual(await leaveAck, { ok: true });
    // Present = has a connection in the room: bob is no longer listed (even during the grace).
    const p2 = await carol.ack('get-presence', { projectId: 'pr-leave' });
    assert.deepEqual(p2, { ok: true, online: [ALICE, CAROL] },
      'get-presence right after bob\'s last connection left (spec: users with a connection in the room)');

    const [la, lc] = await Promise.all([alice.next('user-left', 3000), carol.next('user-left', 3000)]);
    const elapsed = Date.now() - t0;
    assert.deepEqual(la, BOB);
    assert.deepEqual(lc, BOB);
    assert.ok(elapsed >= GRACE_MS - 50, `user-left ${elapsed} ms after the leave: before the ${GRACE_MS} ms grace`);
    assert.ok(elapsed <= GRACE_MS + 1600, `user-left ${elapsed} ms after the leave: too late`);
    // Once only; bob's connections (no longer in the room) get nothing.
    assert.deepEqual(await collect(alice, 'user-left', 300), [], 'second user-left');
    assert.deepEqual(await collect(carol, 'user-left', 0), []);
    assert.deepEqual(await collect(bob1, 'user-left', 0), []);
    assert.deepEqual(await collect(bob2, 'user-left', 0), []);
  });

  for (const transport of ['websocket', 'polling']) {
    it(`user-left after the last connection DISCONNECTS (${transport}), --presence-grace later`, async () => {
      const project = `pr-disc-${transport}`;
      const alice = await connect('alice', ['polling']);
      const carol = await connect('carol', ['websocket']);
      const bob1 = await connect('bob', [transport]);
      const bob2 = await connect('bob', [transport === 'polling' ? 'websocket' : 'polling']);
      for (const c of [alice, carol, bob1, bob2]) await join(c, project);
      await sleep(50);
      alice.drain(); carol.drain();

      bob1.close();
      assert.deepEqual(await collect(alice, 'user-left', GRACE_MS + 400), [], 'user-left while bob still had a connection');
      const t0 = Date.now();
      bob2.close();
      const [la, lc] = await Promise.all([alice.next('user-left', 3000), carol.next('user-left', 3000)]);
      const elapsed = Date.now() - t0;
      assert.deepEqual(la, BOB);
      assert.deepEqual(lc, BOB);
      assert.ok(elapsed >= GRACE_MS - 50, `user-left ${elapsed} ms after the disconnect: before the grace`);
      assert.ok(elapsed <= GRACE_MS + 2000, `user-left ${elapsed} ms after the disconnect: too late`);
      assert.deepEqual(await alice.ack('get-presence', { projectId: project }), { ok: true, online: [ALICE, CAROL] });
      assert.deepEqual(await collect(alice, 'user-left', 200), [], 'second user-left');
      assert.deepEqual(await collect(carol, 'user-joined', 0), []);
    });
  }

  it('a reload within the grace does not flap: no user-left, no second user-joined', async () => {
    const project = 'pr-reload';
    const alice = await connect('alice', ['polling']);
    const bob = await connect('bob', ['websocket']);
    await join(alice, project);
    await join(bob, project);
    assert.deepEqual(await alice.next('user-joined'), BOB);

    // Reload: the only connection goes away, a new one joins well within the grace.
    bob.close();
    await sleep(100);
    const bobReloaded = await connect('bob', ['polling']);
    const j = await join(bobReloaded, project);
    assert.deepEqual(j.online, [ALICE, BOB]);

    // Past the grace of the first connection: still nothing.
    await sleep(GRACE_MS + 400);
    assert.deepEqual(alice.q['user-left'].items.map((i) => i[0]), [], 'user-left although bob came back within the grace');
    assert.deepEqual(alice.q['user-joined'].items.map((i) => i[0]), [], 'second user-joined after a reload');
    assert.deepEqual(await alice.ack('get-presence', { projectId: project }), { ok: true, online: [ALICE, BOB] });

    // Barrier: carol joins; alice's next presence event is carol's.
    const carol = await connect('carol');
    await join(carol, project);
    assert.deepEqual(await alice.next('user-joined'), CAROL);
    assert.equal(alice.q['user-left'].pending, 0);

    // Reload by leave-chat-room + join-chat-room on the same socket within the grace.
    assert.deepEqual(await bobReloaded.ack('leave-chat-room', project), { ok: true });
    await sleep(100);
    await join(bobReloaded, project);
    await sleep(GRACE_MS + 300);
    assert.deepEqual(alice.q['user-left'].items.map((i) => i[0]), [], 'user-left after leave + re-join within the grace');
    assert.deepEqual(alice.q['user-joined'].items.map((i) => i[0]), [], 'user-joined after leave + re-join within the grace');
    assert.deepEqual(carol.q['user-left'].items.map((i) => i[0]), []);
    assert.deepEqual(carol.q['user-joined'].items.map((i) => i[0]), []);
  });

  it("user-left comes --presence-grace after the LAST leave, not after an earlier leave that was cancelled", async () => {
    const project = 'pr-rejoin';
    const alice = await connect('alice', ['websocket']);
    const bob = await connect('bob', ['polling']);
    await join(alice, project);
    await join(bob, project);
    assert.deepEqual(await alice.next('user-joined'), BOB);

    // leave at t0, back at ~t0+150, leave again at ~t0+250: a user-left is due at
    // ~t0+250+grace, not at t0+grace (the cancelled timer).
    assert.deepEqual(await bob.ack('leave-chat-room', project), { ok: true });
    await sleep(150);
    await join(bob, project);
    await sleep(100);
    const t1 = Date.now();
    assert.deepEqual(await bob.ack('leave-chat-room', project), { ok: true });
    const left = await alice.next('user-left', 3000);
    const elapsed = Date.now() - t1;
    assert.deepEqual(left, BOB);
    assert.ok(elapsed >= GRACE_MS - 50,
      `user-left ${elapsed} ms after the last leave (grace ${GRACE_MS} ms): the first, cancelled timer fired`);
    assert.deepEqual(await collect(alice, 'user-left', 300), [], 'second user-left');
    assert.equal(alice.q['user-joined'].pending, 0, 'user-joined on the re-join within the grace');
  });

  it('presence is per project room: joining / leaving one room is announced in that room only', async () => {
    const dave = await connect('dave', ['polling']); // pr-a only
    const carol = await connect('carol'); // pr-b only
    const bob = await connect('bob', ['polling']); // one socket, both rooms
    await join(dave, 'pr-a');
    await join(carol, 'pr-b');

    await join(bob, 'pr-b');
    assert.deepEqual(await carol.next('user-joined'), BOB);
    // bob is present in pr-b; his first connection in pr-a is still announced there.
    const ja = await join(bob, 'pr-a');
    assert.deepEqual(ja.online, [BOB, DAVE]);
    assert.deepEqual(await dave.next('user-joined'), BOB, 'no user-joined in pr-a (bob was already present in pr-b)');
    assert.deepEqual(await collect(carol, 'user-joined', 200), [], 'carol (pr-b) told of the join in pr-a');

    // bob leaves pr-a only: user-left there after the grace; pr-b is not told and still lists him.
    assert.deepEqual(await bob.ack('leave-chat-room', 'pr-a'), { ok: true });
    assert.deepEqual(await dave.next('user-left', 3000), BOB, 'no user-left in pr-a');
    assert.deepEqual(await collect(carol, 'user-left', 200), [], 'carol (pr-b) got user-left for a leave of pr-a');
    assert.deepEqual(await carol.ack('get-presence', { projectId: 'pr-b' }), { ok: true, online: [BOB, CAROL] });
    assert.deepEqual(await dave.ack('get-presence', { projectId: 'pr-a' }), { ok: true, online: [DAVE] });
  });

  it("get-presence {projectId}: {ok:true, online} sorted by userId (members, joined or not); non-member -> forbidden", async () => {
    const project = 'pr-get';
    const zoe = await connect('zoe', ['polling']);
    const alice1 = await connect('alice');
    const alice2 = await connect('alice', ['polling']);
    const aaron = await connect('aaron');
    const bob = await connect('bob'); // member, never joins the room
    const mallory = await connect('mallory', ['polling']);

    assert.deepEqual(await bob.ack('get-presence', { projectId: project }), { ok: true, online: [] }, 'empty room');
    const jz = await join(zoe, project);
    assert.deepEqual(jz.online, [ZOE]);
    await join(alice1, project);
    await join(alice2, project);
    const jaa = await join(aaron, project);
    const expected = [AARON, ALICE, ZOE];
    assert.deepEqual(jaa.online, expected, 'join ack online: sorted by userId, one entry per user');
    assert.deepEqual(await bob.ack('get-presence', { projectId: project }), { ok: true, online: expected },
      'get-presence by a member not in the room');
    assert.deepEqual(await zoe.ack('get-presence', { projectId: project }), { ok: true, online: expected },
      'get-presence by a member in the room');

    const denied = await mallory.ack('get-presence', { projectId: project });
    assert.deepEqual(denied, { ok: false, error: 'forbidden' }, 'get-presence by a non-member');
    await expectErrorEvent(mallory, 'get-presence by a non-member');
    // A non-member's (refused) joins do not count either.
    const mj = await mallory.ack('join-chat-room', project);
    assert.deepEqual(mj, { ok: false, error: 'forbidden' });
    assert.deepEqual(await bob.ack('get-presence', { projectId: project }), { ok: true, online: expected });
    assert.deepEqual(await collect(zoe, 'user-joined', 200), [ALICE, AARON], 'zoe saw alice then aaron, once each');
  });
});

// --------------------------------------------------------------------------------------------
// (B) Task rooms
// --------------------------------------------------------------------------------------------

const API_KEY = `hub-api-key-${crypto.randomBytes(8).toString('hex')}`;

describe('hub: task rooms and POST /api/tasks/:taskId/events', { skip: skipReason }, () => {
  const tokens = {
    alice: mintToken(ALICE.userId, { name: ALICE.userName, projects: ['tk-p', 'tk-q'] }),
    bob: mintToken(BOB.userId, { name: BOB.userName, projects: ['tk-p', 'tk-q'] }),
    carol: mintToken(CAROL.userId, { name: CAROL.userName, projects: ['tk-p'] }),
    dave: mintToken(DAVE.userId, { name: DAVE.userName, projects: ['tk-q'] }),
    mallory: mintToken('u-mallory', { name: 'Mallory M', projects: ['tk-elsewhere'] }),
  };
  let hub;
  const clients = new HubClients();
  before(async () => {
    hub = await startHub(['--rate-limit', '1000/1s', '--presence-grace', `${GRACE_MS}ms`], { env: { HUB_API_KEY: API_KEY } });
  });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  const postEvent = (taskId, body, key = API_KEY, headers = {}) => {
    const h = { ...headers };
    if (key !== null) h.authorization = `Bearer ${key}`;
    return api(hub.url, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/events`, { body, headers: h });
  };

  async function joinTask(c, projectId, taskId) {
    const ack = await c.ack('join-task-room', { projectId, taskId });
    assert.deepEqual(ack, { ok: true }, `join-task-room ${projectId}/${taskId}: ${JSON.stringify(ack)}`);
  }

  function checkTaskEvent(ev, { taskId, projectId, task }) {
    assert.ok(ev && typeof ev === 'object', `task event is an object: ${JSON.stringify(ev)}`);
    assert.deepEqual(Object.keys(ev).sort(), ['projectId', 'task', 'taskId', 'updatedAt'], `keys of ${JSON.stringify(ev)}`);
    assert.equal(ev.taskId, taskId);
    assert.equal(ev.projectId, projectId);
    assert.deepEqual(ev.task, task);
    assert.equal(typeof ev.updatedAt, 'string', 'updatedAt is a string');
    assert.match(ev.updatedAt, ISO_RE, 'updatedAt is ISO-8601');
    assert.ok(!Number.isNaN(Date.parse(ev.updatedAt)), 'Date.parse(updatedAt)');
    assert.ok(Math.abs(Date.parse(ev.updatedAt) - Date.now()) < 60000, `updatedAt is now-ish: ${ev.updatedAt}`);
  }

  it('HTTP auth: missing / wrong API key -> 401 (a user JWT is not the key); nothing is broadcast', async () => {
    const alice = await connect('alice');
    await join(alice, 'tk-p');
    const body = { projectId: 'tk-p', task: { title: 'x' } };
    const cases = [
      ['no Authorization', await postEvent('t-auth', body, null)],
      ['wrong key', await postEvent('t-auth', body, `${API_KEY}x`)],
      ['empty key', await postEvent('t-auth', body, '')],
      ['a valid user JWT', await postEvent('t-auth', body, tokens.alice)],
      ['key without Bearer', await postEvent('t-auth', body, null, { authorization: API_KEY })],
    ];
    for (const [what, res] of cases) assert.equal(res.status, 401, `${what}: ${res.status} ${res.body}`);
    assert.deepEqual(await collect(alice, 'task-updated', 200), [], 'task-updated after a refused POST');
  });

  it('HTTP: invalid body -> 400; nothing is broadcast', async () => {
    const alice = await connect('alice', ['polling']);
    await join(alice, 'tk-p');
    const cases = [
      ['not JSON', '{"projectId": "tk-p", "task": '],
      ['empty object', {}],
      ['no task', { projectId: 'tk-p' }],
      ['no projectId', { task: { title: 'x' } }],
      ['task is a string', { projectId: 'tk-p', task: 'title' }],
      ['task is an array', { projectId: 'tk-p', task: [1, 2] }],
      ['task is null', { projectId: 'tk-p', task: null }],
      ['task is a number', { projectId: 'tk-p', task: 7 }],
      ['projectId is an object', { projectId: { id: 'tk-p' }, task: { title: 'x' } }],
      ['projectId longer than 128 bytes', { projectId: 'p'.repeat(129), task: { title: 'x' } }],
      ['body is an array', [{ projectId: 'tk-p', task: {} }]],
    ];
    for (const [what, body] of cases) {
      const res = await postEvent('t-bad', body);
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
    }
    assert.deepEqual(await collect(alice, 'task-updated', 200), [], 'task-updated after a refused POST');
  });

  it('task-updated reaches task:<id> and group:<projectId> (exactly once to a socket in both), and nobody else', async () => {
    // alice: two tabs in the task room (one also in the chat room); bob: chat room only
    // (polling); carol: task room only; dave (member of tk-q only): in tk-q's chat room and
    // another task's room; alice3: in the chat room of tk-q only.
    const alice1 = await connect('alice', ['websocket']);
    const alice2 = await connect('alice', ['polling']);
    const alice3 = await connect('alice', ['polling']);
    const bob = await connect('bob', ['polling']);
    const carol = await connect('carol', ['websocket']);
    const dave = await connect('dave', ['polling']);
    await joinTask(alice1, 'tk-p', 't-1');
    await join(alice1, 'tk-p');
    await joinTask(alice2, 'tk-p', 't-1');
    await join(bob, 'tk-p');
    await joinTask(carol, 'tk-p', 't-1');
    await join(dave, 'tk-q');
    await joinTask(dave, 'tk-q', 't-other');
    await join(alice3, 'tk-q');

    const task = { title: 'Write the interop tests', status: 'in-progress', assignees: ['u-alice'], points: 3, meta: { a: null, b: [true, 1.5] } };
    const res = await postEvent('t-1', { projectId: 'tk-p', task });
    assert.equal(res.status, 200, res.body);
    assert.match(String(res.headers['content-type']), /application\/json/);
    checkTaskEvent(res.json, { taskId: 't-1', projectId: 'tk-p', task });

    for (const [name, c] of [['alice1 (task + chat)', alice1], ['alice2 (task)', alice2], ['bob (chat)', bob], ['carol (task)', carol]]) {
      let ev;
      try { ev = await c.next('task-updated', 3000); } catch { assert.fail(`${name}: no task-updated`); }
      checkTaskEvent(ev, { taskId: 't-1', projectId: 'tk-p', task });
      assert.deepEqual(ev, res.json, `${name}: the event equals the HTTP answer`);
    }
    // Second event (another task of the same project): reaches bob and alice1 through the
    // chat room only. It is also the barrier: alice1's next task-updated must be this one.
    const task2 = { title: 'second' };
    const res2 = await postEvent('t-2', { projectId: 'tk-p', task: task2 });
    assert.equal(res2.status, 200, res2.body);
    assert.deepEqual(await alice1.next('task-updated'), res2.json, 'alice1 (in both rooms) got t-1 twice');
    assert.deepEqual(await bob.next('task-updated'), res2.json);

    assert.deepEqual(await collect(alice1, 'task-updated', 300), [], 'alice1: a duplicate');
    assert.deepEqual(await collect(alice2, 'task-updated', 0), [], 'alice2 (only in task:t-1) got t-2 or a duplicate');
    assert.deepEqual(await collect(carol, 'task-updated', 0), [], 'carol (only in task:t-1) got t-2 or a duplicate');
    assert.deepEqual(await collect(bob, 'task-updated', 0), []);
    assert.deepEqual(await collect(dave, 'task-updated', 0), [], 'dave (another project / task) got an event');
    assert.deepEqual(await collect(alice3, 'task-updated', 0), [], "alice3 (tk-q's chat room) got a tk-p event");
  });

  it("join-task-room by a non-member -> {ok:false, error:'forbidden'} + error event; it receives nothing", async () => {
    const mallory = await connect('mallory', ['polling']);
    const carol = await connect('carol');
    const ack = await mallory.ack('join-task-room', { projectId: 'tk-p', taskId: 't-forbid' });
    assert.deepEqual(ack, { ok: false, error: 'forbidden' });
    await expectErrorEvent(mallory, 'join-task-room by a non-member');
    // dave is a member of tk-q, not tk-p.
    const dave = await connect('dave');
    assert.deepEqual(await dave.ack('join-task-room', { projectId: 'tk-p', taskId: 't-forbid' }), { ok: false, error: 'forbidden' });
    await expectErrorEvent(dave, 'join-task-room for a project not in the token');

    await joinTask(carol, 'tk-p', 't-forbid');
    const res = await postEvent('t-forbid', { projectId: 'tk-p', task: { n: 1 } });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await carol.next('task-updated'), res.json);
    assert.deepEqual(await collect(mallory, 'task-updated', 250), [], 'a refused join still receives');
    assert.deepEqual(await collect(dave, 'task-updated', 0), [], 'a refused join still receives');
  });

  it('leave-task-room {taskId} -> {ok:true}; no more task-updated from that task', async () => {
    const alice = await connect('alice', ['polling']);
    const bob = await connect('bob', ['websocket']);
    await joinTask(alice, 'tk-p', 't-leave');
    await joinTask(alice, 'tk-p', 't-stay');
    await joinTask(bob, 'tk-p', 't-leave');

    const r1 = await postEvent('t-leave', { projectId: 'tk-p', task: { v: 1 } });
    assert.equal(r1.status, 200, r1.body);
    assert.deepEqual(await alice.next('task-updated'), r1.json);
    assert.deepEqual(await bob.next('task-updated'), r1.json);

    assert.deepEqual(await alice.ack('leave-task-room', { taskId: 't-leave' }), { ok: true });
    const r2 = await postEvent('t-leave', { projectId: 'tk-p', task: { v: 2 } });
    assert.equal(r2.status, 200, r2.body);
    assert.deepEqual(await bob.next('task-updated'), r2.json, 'bob (still in the room) gets v2');
    // Barrier: an event of the task alice is still in.
    const r3 = await postEvent('t-stay', { projectId: 'tk-p', task: { v: 3 } });
    assert.equal(r3.status, 200, r3.body);
    assert.deepEqual(await alice.next('task-updated'), r3.json, 'alice got an event of the task she left');
    assert.deepEqual(await collect(alice, 'task-updated', 200), []);

    // Leaving a task room the socket is not in: still {ok:true}.
    assert.deepEqual(await bob.ack('leave-task-room', { taskId: 't-never-joined' }), { ok: true });
  });

  // A task's room is the task in one project: joining is checked against that project,
  // and an event goes to the room of the project the backend names.
  it('a task nobody had seen, joined claiming project Q, gets nothing when it is posted for P', async () => {
    const dave = await connect('dave', ['polling']); // member of tk-q only
    const bob = await connect('bob');
    await joinTask(dave, 'tk-q', 't-unseen');  // before any event of t-unseen
    await joinTask(bob, 'tk-p', 't-unseen');
    const res = await postEvent('t-unseen', { projectId: 'tk-p', task: { secret: 'of tk-p' } });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(await bob.next('task-updated'), res.json, 'the member of tk-p gets it');
    assert.deepEqual(await collect(dave, 'task-updated', 300), [], "dave (tk-q) got a tk-p task's event");
  });

  it('a task that moves to another project: its old project\'s members get nothing more', async () => {
    const carol = await connect('carol');              // tk-p only
    const dave = await connect('dave', ['polling']);   // tk-q only
    await joinTask(carol, 'tk-p', 't-move');
    await joinTask(dave, 'tk-q', 't-move');
    const r1 = await postEvent('t-move', { projectId: 'tk-p', task: { v: 1 } });
    assert.equal(r1.status, 200, r1.body);
    assert.deepEqual(await carol.next('task-updated'), r1.json);
    const r2 = await postEvent('t-move', { projectId: 'tk-q', task: { v: 2, moved: true } });
    assert.equal(r2.status, 200, r2.body);
    assert.deepEqual(await dave.next('task-updated'), r2.json, 'tk-q members get the moved task');
    assert.deepEqual(await collect(carol, 'task-updated', 300), [], 'carol (tk-p) got an event of a task now in tk-q');
    assert.deepEqual(await collect(dave, 'task-updated', 0), [], 'dave got the tk-p event');
  });

  it('leave-task-room {projectId, taskId} leaves that project\'s room only; {taskId} leaves all', async () => {
    const alice = await connect('alice');  // tk-p and tk-q
    await joinTask(alice, 'tk-p', 't-two');
    await joinTask(alice, 'tk-q', 't-two');
    assert.deepEqual(await alice.ack('leave-task-room', { projectId: 'tk-p', taskId: 't-two' }), { ok: true });
    const rp = await postEvent('t-two', { projectId: 'tk-p', task: { v: 'p' } });
    const rq = await postEvent('t-two', { projectId: 'tk-q', task: { v: 'q' } });
    assert.equal(rp.status, 200, rp.body);
    assert.equal(rq.status, 200, rq.body);
    assert.deepEqual(await alice.next('task-updated'), rq.json, 'still in tk-q\'s room, not in tk-p\'s');
    assert.deepEqual(await alice.ack('leave-task-room', 't-two'), { ok: true });
    const rq2 = await postEvent('t-two', { projectId: 'tk-q', task: { v: 'q2' } });
    assert.equal(rq2.status, 200, rq2.body);
    assert.deepEqual(await collect(alice, 'task-updated', 300), [], 'left every room of t-two');
  });
});

describe('hub: POST /api/tasks/:taskId/events without HUB_API_KEY on the server', { skip: skipReason }, () => {
  let hub;
  before(async () => { hub = await startHub([]); });
  after(async () => { await hub?.stop(); });

  it('no key configured: no bearer value is accepted (401)', async () => {
    const body = { projectId: 'tk-p', task: { title: 'x' } };
    for (const authorization of [undefined, 'Bearer ', 'Bearer undefined', `Bearer ${API_KEY}`]) {
      const headers = authorization === undefined ? {} : { authorization };
      const res = await api(hub.url, 'POST', '/api/tasks/t-1/events', { body, headers });
      assert.equal(res.status, 401, `Authorization ${JSON.stringify(authorization)}: ${res.status} ${res.body}`);
    }
  });
});

// --------------------------------------------------------------------------------------------
// (C) Read receipts
// --------------------------------------------------------------------------------------------

describe('hub: read receipts (mark-read / message-read / lastReadSeq)', { skip: skipReason }, () => {
  const PROJECTS = ['rd-race', 'rd-basic', 'rd-mono', 'rd-invalid', 'rd-join', 'rd-other', 'rd-empty', 'rd-nojoin'];
  const tokens = {
    alice: mintToken(ALICE.userId, { name: ALICE.userName, projects: PROJECTS }),
    bob: mintToken(BOB.userId, { name: BOB.userName, projects: PROJECTS }),
    carol: mintToken(CAROL.userId, { name: CAROL.userName, projects: PROJECTS }),
    mallory: mintToken('u-mallory', { name: 'Mallory M', projects: ['rd-elsewhere'] }),
  };
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s', '--presence-grace', `${GRACE_MS}ms`]); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  async function seed(projectId, n) {
    for (let i = 1; i <= n; i++) {
      const res = await api(hub.url, 'POST', '/api/chat', { token: tokens.carol, body: { projectId, content: `m${i}` } });
      assert.equal(res.status, 201, res.body);
      assert.equal(res.json.seq, i);
    }
  }

  const markRead = (c, projectId, seq) => c.ack('mark-read', { projectId, seq });

  it("mark-read -> {ok:true, lastReadSeq}; message-read {projectId, userId, seq} to the OTHER users only", async () => {
    const p = 'rd-basic';
    await seed(p, 3);
    const alice1 = await connect('alice', ['websocket']);
    const alice2 = await connect('alice', ['polling']);
    const bob = await connect('bob', ['polling']);
    const carol = await connect('carol', ['websocket']);
    const carolOut = await connect('carol', ['polling']); // carol's tab that did not join the room
    for (const c of [alice1, alice2, bob, carol]) await join(c, p);

    assert.deepEqual(await markRead(alice1, p, 2), { ok: true, lastReadSeq: 2 });
    const expected = { projectId: p, userId: 'u-alice', seq: 2 };
    assert.deepEqual(await bob.next('message-read'), expected);
    assert.deepEqual(await carol.next('message-read'), expected);

    // Barrier: bob reads. alice's tabs' first message-read must be bob's.
    assert.deepEqual(await markRead(bob, p, 3), { ok: true, lastReadSeq: 3 });
    const fromBob = { projectId: p, userId: 'u-bob', seq: 3 };
    assert.deepEqual(await alice1.next('message-read'), fromBob, "alice's own message-read reached the reading tab");
    assert.deepEqual(await alice2.next('message-read'), fromBob, "alice's own message-read reached her other tab");
    assert.deepEqual(await carol.next('message-read'), fromBob);
    assert.deepEqual(await collect(bob, 'message-read', 250), [], "bob got his own message-read");
    assert.deepEqual(await collect(alice1, 'message-read', 0), []);
    assert.deepEqual(await collect(alice2, 'message-read', 0), []);
    assert.deepEqual(await collect(carol, 'message-read', 0), []);
    assert.deepEqual(await collect(carolOut, 'message-read', 0), [], 'a connection not in the room got message-read');
  });

  it('never moves backwards: a lower or equal seq acks the current lastReadSeq and sends nothing', async () => {
    const p = 'rd-mono';
    await seed(p, 5);
    const alice = await connect('alice', ['polling']);
    const bob = await connect('bob', ['websocket']);
    await join(alice, p);
    await join(bob, p);

    assert.deepEqual(await markRead(alice, p, 3), { ok: true, lastReadSeq: 3 });
    assert.deepEqual(await bob.next('message-read'), { projectId: p, userId: 'u-alice', seq: 3 });
    assert.deepEqual(await markRead(alice, p, 1), { ok: true, lastReadSeq: 3 }, 'lower seq');
    assert.deepEqual(await markRead(alice, p, 0), { ok: true, lastReadSeq: 3 }, 'seq 0');
    assert.deepEqual(await markRead(alice, p, 3), { ok: true, lastReadSeq: 3 }, 'same seq');
    // Barrier: the next one moves forward; it must be bob's next message-read.
    assert.deepEqual(await markRead(alice, p, 5), { ok: true, lastReadSeq: 5 });
    assert.deepEqual(await bob.next('message-read'), { projectId: p, userId: 'u-alice', seq: 5 },
      'message-read for a mark-read that did not move the marker');
    assert.deepEqual(await collect(bob, 'message-read', 200), []);

    // A second tab of alice shares the marker.
    const alice2 = await connect('alice', ['websocket']);
    assert.deepEqual(await markRead(alice2, p, 4), { ok: true, lastReadSeq: 5 }, "another tab of alice: the user's marker");
    // bob's marker is his own.
    assert.deepEqual(await markRead(bob, p, 1), { ok: true, lastReadSeq: 1 }, "bob's marker is not alice's");
    assert.deepEqual(await alice.next('message-read'), { projectId: p, userId: 'u-bob', seq: 1 });
  });

  it("invalid seq -> {ok:false, error:'invalid'}; non-member -> forbidden; the marker is unchanged", async () => {
    const p = 'rd-invalid';
    await seed(p, 2);
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    const mallory = await connect('mallory', ['polling']);
    await join(alice, p);
    await join(bob, p);
    assert.deepEqual(await markRead(alice, p, 1), { ok: true, lastReadSeq: 1 });
    assert.deepEqual(await bob.next('message-read'), { projectId: p, userId: 'u-alice', seq: 1 });

    const bad = [
      ['seq > last seq', { projectId: p, seq: 3 }],
      ['seq far beyond', { projectId: p, seq: 1000000 }],
      ['negative', { projectId: p, seq: -1 }],
      ['fraction', { projectId: p, seq: 1.5 }],
      ['string', { projectId: p, seq: '2' }],
      ['null', { projectId: p, seq: null }],
      ['missing', { projectId: p }],
      ['boolean', { projectId: p, seq: true }],
    ];
    for (const [what, payload] of bad) {
      const ack = await alice.ack('mark-read', payload);
      assert.deepEqual(ack, { ok: false, error: 'invalid' }, `mark-read ${what}: ${JSON.stringify(ack)}`);
    }
    await expectErrorEvent(alice, 'mark-read invalid');

    const denied = await markRead(mallory, p, 1);
    assert.deepEqual(denied, { ok: false, error: 'forbidden' }, 'mark-read by a non-member');
    await expectErrorEvent(mallory, 'mark-read by a non-member');

    // Unchanged: the join ack of a new tab shows 1; the next valid mark-read is the first event bob sees.
    const alice2 = await connect('alice', ['polling']);
    assert.equal((await join(alice2, p)).lastReadSeq, 1, 'lastReadSeq after refused mark-reads');
    assert.deepEqual(await markRead(alice, p, 2), { ok: true, lastReadSeq: 2 });
    assert.deepEqual(await bob.next('message-read'), { projectId: p, userId: 'u-alice', seq: 2 },
      'a refused mark-read sent message-read');
  });

  it('an empty room: seq 0 is valid (no event), seq 1 is invalid', async () => {
    const p = 'rd-empty';
    const alice = await connect('alice');
    const bob = await connect('bob');
    const j = await join(alice, p);
    assert.equal(j.lastSeq, 0);
    assert.equal(j.lastReadSeq, 0);
    await join(bob, p);
    assert.deepEqual(await markRead(alice, p, 0), { ok: true, lastReadSeq: 0 });
    assert.deepEqual(await markRead(alice, p, 1), { ok: false, error: 'invalid' });
    assert.deepEqual(await collect(bob, 'message-read', 250), [], 'message-read although the marker stayed at 0');
  });

  it('join-chat-room ack: lastReadSeq per user and room (0 when never marked)', async () => {
    const p = 'rd-join';
    await seed(p, 4);
    await seed('rd-other', 2);
    const alice = await connect('alice', ['polling']);
    const j0 = await join(alice, p);
    assert.equal(j0.lastReadSeq, 0, `never marked: ${JSON.stringify(j0)}`);
    assert.equal(j0.lastSeq, 4);
    assert.ok(Array.isArray(j0.online), 'the join ack still has online');
    assert.deepEqual(await markRead(alice, p, 3), { ok: true, lastReadSeq: 3 });

    const alice2 = await connect('alice', ['websocket']);
    assert.equal((await join(alice2, p)).lastReadSeq, 3, "another tab of alice: alice's marker");
    assert.equal((await join(alice2, 'rd-other')).lastReadSeq, 0, 'another room: its own marker');
    const bob = await connect('bob', ['polling']);
    assert.equal((await join(bob, p)).lastReadSeq, 0, "bob: his own marker, not alice's");
    // Leave and re-join: still there.
    assert.deepEqual(await alice.ack('leave-chat-room', p), { ok: true });
    assert.equal((await join(alice, p)).lastReadSeq, 3, 'after leave + re-join');
  });

  it('concurrent mark-reads from several tabs: the marker only moves forward; message-read seqs strictly increase', async () => {
    const p = 'rd-race';
    await seed(p, 10);
    const tabs = [await connect('alice'), await connect('alice', ['polling']), await connect('alice')];
    const bob = await connect('bob', ['polling']);
    await join(bob, p);
    await join(tabs[0], p);
    // Distinct-ish seqs in a scrambled order, all fired at once.
    const seqs = [4, 9, 1, 7, 10, 2, 8, 3, 6, 5, 0, 10, 7, 3];
    const acks = await Promise.all(seqs.map((seq, i) => tabs[i % tabs.length].ack('mark-read', { projectId: p, seq })));
    acks.forEach((a, i) => {
      assert.equal(a?.ok, true, `mark-read ${seqs[i]}: ${JSON.stringify(a)}`);
      assert.ok(Number.isInteger(a.lastReadSeq) && a.lastReadSeq >= seqs[i] && a.lastReadSeq <= 10,
        `mark-read ${seqs[i]} acked lastReadSeq ${a.lastReadSeq}`);
    });
    const events = await collect(bob, 'message-read', 400);
    const got = events.map((e) => e.seq);
    assert.ok(got.length >= 1, 'no message-read at all');
    for (const e of events) assert.deepEqual(Object.keys(e).sort(), ['projectId', 'seq', 'userId']);
    for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `message-read seqs not increasing: ${got}`);
    assert.equal(got[got.length - 1], 10, `last message-read: ${got}`);
    const moved = new Set(acks.filter((a, i) => a.lastReadSeq === seqs[i]).map((a) => a.lastReadSeq));
    for (const g of got) assert.ok(moved.has(g), `message-read ${g} without an ack that moved the marker to it`);
    assert.equal((await join(tabs[1], p)).lastReadSeq, 10);
    assert.deepEqual(await collect(tabs[0], 'message-read', 0), [], "alice's tab got her own message-read");
  });

  it('mark-read by a member whose socket has not joined the room: accepted; the others are told', async () => {
    const p = 'rd-nojoin';
    await seed(p, 2);
    const alice = await connect('alice'); // member, never joins
    const bob = await connect('bob', ['polling']);
    await join(bob, p);
    assert.deepEqual(await markRead(alice, p, 2), { ok: true, lastReadSeq: 2 });
    assert.deepEqual(await bob.next('message-read'), { projectId: p, userId: 'u-alice', seq: 2 });
    assert.deepEqual(await collect(alice, 'message-read', 200), []);
  });
});

describe('hub: read markers survive a restart (SIGTERM, same --data-dir)', { skip: skipReason }, () => {
  const p = 'rd-durable';
  const tokens = {
    alice: mintToken(ALICE.userId, { name: ALICE.userName, projects: [p] }),
    bob: mintToken(BOB.userId, { name: BOB.userName, projects: [p] }),
    carol: mintToken(CAROL.userId, { name: CAROL.userName, projects: [p] }),
  };
  const dataDir = skipReason ? null : freshDataDir();
  const clients = new HubClients();
  let hub;
  after(async () => { clients.closeAll(); await hub?.stop(); });
  const start = async () => { hub = await startHub(['--rate-limit', '1000/1s'], { dataDir }); };
  const connect = (who, transports = ['websocket']) => clients.connect(hub.url, { token: tokens[who], transports });

  it('join ack after the restart shows the same lastReadSeq; still never backwards', async () => {
    await start();
    for (let i = 1; i <= 4; i++) {
      const res = await api(hub.url, 'POST', '/api/chat', { token: tokens.carol, body: { projectId: p, content: `m${i}` } });
      assert.equal(res.status, 201, res.body);
    }
    const alice = await connect('alice');
    const bob = await connect('bob', ['polling']);
    await join(alice, p);
    await join(bob, p);
    assert.deepEqual(await alice.ack('mark-read', { projectId: p, seq: 3 }), { ok: true, lastReadSeq: 3 });
    assert.deepEqual(await bob.ack('mark-read', { projectId: p, seq: 1 }), { ok: true, lastReadSeq: 1 });
    clients.closeAll();

    await hub.stop('SIGTERM');
    const { code } = await withTimeout(hub.exited, 5000, 'exit after SIGTERM');
    assert.equal(code, 0, 'exit code after SIGTERM');

    await start();
    const alice2 = await connect('alice', ['polling']);
    const alice3 = await connect('alice');
    const bob2 = await connect('bob');
    const carol2 = await connect('carol');
    // bob joins (observer). alice's marker is not loaded yet: two concurrent lower mark-reads
    // from two of her tabs must not move it back (acks show 3) and nobody is told.
    assert.equal((await join(bob2, p)).lastReadSeq, 1, "bob's marker after the restart");
    const [r1, r2] = await Promise.all([
      alice3.ack('mark-read', { projectId: p, seq: 1 }),
      alice2.ack('mark-read', { projectId: p, seq: 2 }),
    ]);
    assert.deepEqual(r1, { ok: true, lastReadSeq: 3 }, 'mark-read 1 as the first thing after the restart');
    assert.deepEqual(r2, { ok: true, lastReadSeq: 3 }, 'mark-read 2 as the first thing after the restart');
    assert.deepEqual(await collect(bob2, 'message-read', 250), [], 'message-read for a marker that did not move');
    const ja = await join(alice2, p);
    assert.equal(ja.lastSeq, 4);
    assert.equal(ja.lastReadSeq, 3, `alice's marker after the restart: ${JSON.stringify(ja)}`);
    assert.equal((await join(carol2, p)).lastReadSeq, 0, 'never marked: 0 after the restart');
    assert.deepEqual(await alice2.ack('mark-read', { projectId: p, seq: 2 }), { ok: true, lastReadSeq: 3 },
      'backwards after the restart');
    assert.deepEqual(await alice2.ack('mark-read', { projectId: p, seq: 4 }), { ok: true, lastReadSeq: 4 });
    assert.deepEqual(await bob2.next('message-read'), { projectId: p, userId: 'u-alice', seq: 4 });
  });
});
