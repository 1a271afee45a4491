// Project Hub rate limit (--rate-limit 3/2s): per user, shared by the user's connections
// and POST /api/chat; refused messages are neither stored nor broadcast.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  skipReason, mintToken, startHub, HubClients, api, getMessages, sleep,
} = require('./hub-helpers');

const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: ['r-1'] }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: ['r-1'] }),
};
const WINDOW_MS = 2000;

describe('hub: rate limit (--rate-limit 3/2s)', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '3/2s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  it('is per user across two tabs and HTTP; refused messages are not stored or broadcast; the window reopens', async () => {
    const tab1 = await clients.connect(hub.url, { token: tokens.alice, transports: ['websocket'] });
    const tab2 = await clients.connect(hub.url, { token: tokens.alice, transports: ['polling'] });
    const bob = await clients.connect(hub.url, { token: tokens.bob, transports: ['websocket'] });
    for (const c of [tab1, tab2, bob]) assert.equal((await c.ack('join-chat-room', 'r-1'))?.ok, true);

    // Invalid messages don't use up the quota (only accepted messages count).
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(await tab1.ack('send-message', { projectId: 'r-1', content: ' ' }), { ok: false, error: 'invalid' });
    }
    tab1.drain();

    // Three accepted: one over HTTP, one per tab.
    const h1 = await api(hub.url, 'POST', '/api/chat', { token: tokens.alice, body: { projectId: 'r-1', content: 'a1 http' } });
    assert.equal(h1.status, 201, h1.body);
    const firstAccepted = Date.now();
    const a2 = await tab1.ack('send-message', { projectId: 'r-1', content: 'a2 tab1' });
    assert.equal(a2?.ok, true, `2nd message: ${JSON.stringify(a2)}`);
    const a3 = await tab2.ack('send-message', { projectId: 'r-1', content: 'a3 tab2' });
    assert.equal(a3?.ok, true, `3rd message: ${JSON.stringify(a3)}`);

    // Fourth, from either tab: rate_limited + error event.
    for (const [name, tab] of [['tab1', tab1], ['tab2', tab2]]) {
      const r = await tab.ack('send-message', { projectId: 'r-1', content: `refused ${name}` });
      assert.equal(Date.now() - firstAccepted < WINDOW_MS, true, 'still inside the window (test too slow?)');
      assert.equal(r?.ok, false, `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.error, 'rate_limited', `${name}: ${JSON.stringify(r)}`);
      assert.ok(Number.isFinite(r.retryAfterMs) && r.retryAfterMs > 0 && r.retryAfterMs <= WINDOW_MS,
        `${name}: 0 < retryAfterMs <= ${WINDOW_MS}: ${JSON.stringify(r)}`);
      assert.deepEqual(await tab.next('error'), { message: 'Rate limit exceeded' });
    }
    // And over HTTP: 429 with Retry-After.
    const h4 = await api(hub.url, 'POST', '/api/chat', { token: tokens.alice, body: { projectId: 'r-1', content: 'refused http' } });
    assert.equal(h4.status, 429, h4.body);
    const retryAfter = h4.headers['retry-after'];
    assert.ok(retryAfter !== undefined, 'Retry-After header present');
    assert.ok(/^\d+$/.test(retryAfter) || !Number.isNaN(Date.parse(retryAfter)), `Retry-After is seconds or a date: ${retryAfter}`);

    // Another user is not limited by alice's quota.
    const b1 = await bob.ack('send-message', { projectId: 'r-1', content: 'b1' });
    assert.equal(b1?.ok, true, `bob: ${JSON.stringify(b1)}`);
    assert.equal(b1.message.seq, 4, 'refused messages took no seq');

    // bob saw exactly the 4 accepted messages, in order.
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await bob.next('new-message')).content);
    assert.deepEqual(seen, ['a1 http', 'a2 tab1', 'a3 tab2', 'b1']);
    await bob.expectNone('new-message', 150);

    // After the window: accepted again.
    const wait = firstAccepted + WINDOW_MS + 150 - Date.now();
    if (wait > 0) await sleep(wait);
    const a5 = await tab2.ack('send-message', { projectId: 'r-1', content: 'a5 after window' });
    assert.equal(a5?.ok, true, `after the window: ${JSON.stringify(a5)}`);
    assert.equal(a5.message.seq, 5);

    const log = await getMessages(hub.url, tokens.bob, 'r-1');
    assert.equal(log.status, 200);
    assert.deepEqual(log.json.messages.map((m) => m.content), ['a1 http', 'a2 tab1', 'a3 tab2', 'b1', 'a5 after window']);
    assert.deepEqual(log.json.messages.map((m) => m.seq), [1, 2, 3, 4, 5]);
  });

  it('waiting retryAfterMs is enough', async () => {
    const c = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    assert.equal((await c.ack('join-chat-room', 'r-1'))?.ok, true);
    let refused;
    for (let i = 0; i < 4 && !refused; i++) {
      const r = await c.ack('send-message', { projectId: 'r-1', content: `burst ${i}` });
      if (!r?.ok) refused = r;
    }
    assert.equal(refused?.error, 'rate_limited', `a burst of 4 is limited: ${JSON.stringify(refused)}`);
    await sleep(refused.retryAfterMs + 50);
    const r = await c.ack('send-message', { projectId: 'r-1', content: 'after retryAfterMs' });
    assert.equal(r?.ok, true, `after waiting retryAfterMs=${refused.retryAfterMs}: ${JSON.stringify(r)}`);
  });
});
