// Project Hub HTTP API on the Socket.IO port: POST /api/chat, GET
// /api/chat/:projectId/messages?after=&limit=, 401/403/400, /healthz.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  SECRET, skipReason, mintToken, unsignedToken, startHub, HubClients, api, getMessages, checkMessage,
  asHistory,
} = require('./hub-helpers');

const PROJECTS = ['h-post', 'h-page', 'h-default', 'h-bad', 'h-auth', 'h-empty'];
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice Anders', projects: PROJECTS }),
  bob: mintToken('u-bob', { name: 'Bob Brown', projects: PROJECTS }),
  mallory: mintToken('u-mallory', { name: 'Mallory M', projects: ['h-elsewhere'] }),
};

describe('hub: HTTP API', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  before(async () => { hub = await startHub(['--rate-limit', '1000/1s']); });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(() => clients.closeAll());

  const post = (token, body) => api(hub.url, 'POST', '/api/chat', { token, body });

  it('GET /healthz -> 200', async () => {
    const res = await api(hub.url, 'GET', '/healthz');
    assert.equal(res.status, 200);
  });

  it('POST /api/chat -> 201 with the stored message, broadcast to the room; identity from the token', async () => {
    const bob = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    const alice = await clients.connect(hub.url, { token: tokens.alice, transports: ['websocket'] });
    assert.equal((await bob.ack('join-chat-room', 'h-post'))?.ok, true);
    assert.equal((await alice.ack('join-chat-room', 'h-post'))?.ok, true);

    const res = await post(tokens.alice, {
      projectId: 'h-post', content: 'via HTTP', senderId: 'u-bob', senderName: 'Bob Brown',
    });
    assert.equal(res.status, 201, res.body);
    assert.match(String(res.headers['content-type']), /application\/json/);
    checkMessage(res.json, { projectId: 'h-post', content: 'via HTTP', senderId: 'u-alice', senderName: 'Alice Anders', seq: 1 });
    assert.deepEqual(await bob.next('new-message'), res.json);
    assert.deepEqual(await alice.next('new-message'), res.json);

    // Socket and HTTP share the room's seq.
    const ack = await bob.ack('send-message', { projectId: 'h-post', content: 'via socket', replyTo: res.json.id });
    assert.equal(ack?.message?.seq, 2, JSON.stringify(ack));
    const res2 = await post(tokens.bob, { projectId: 'h-post', content: 'reply via HTTP', replyTo: ack.message.id });
    assert.equal(res2.status, 201, res2.body);
    checkMessage(res2.json, { seq: 3, replyTo: ack.message.id, senderId: 'u-bob' });

    const got = await getMessages(hub.url, tokens.alice, 'h-post');
    assert.equal(got.status, 200, got.body);
    assert.deepEqual(got.json, {
      messages: [asHistory(res.json, { replyCount: 1 }), asHistory(ack.message, { replyCount: 1 }), asHistory(res2.json)],
      hasMore: false,
    });
  });

  it('GET messages: after/limit paging with hasMore, oldest first', async () => {
    const sent = [];
    for (let i = 1; i <= 7; i++) {
      const r = await post(i % 2 ? tokens.alice : tokens.bob, { projectId: 'h-page', content: `page ${i}` });
      assert.equal(r.status, 201, r.body);
      sent.push(r.json);
    }
    assert.deepEqual(sent.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7]);
    const hist = sent.map((m) => asHistory(m));
    const page = async (query) => {
      const r = await getMessages(hub.url, tokens.bob, 'h-page', query);
      assert.equal(r.status, 200, `${query}: ${r.body}`);
      return r.json;
    };
    assert.deepEqual(await page('after=0&limit=3'), { messages: hist.slice(0, 3), hasMore: true });
    assert.deepEqual(await page('after=3&limit=3'), { messages: hist.slice(3, 6), hasMore: true });
    assert.deepEqual(await page('after=6&limit=3'), { messages: hist.slice(6), hasMore: false });
    assert.deepEqual(await page('after=4&limit=3'), { messages: hist.slice(4, 7), hasMore: false });
    assert.deepEqual(await page('after=7&limit=3'), { messages: [], hasMore: false });
    assert.deepEqual(await page('after=100'), { messages: [], hasMore: false });
    assert.deepEqual(await page('after=2'), { messages: hist.slice(2), hasMore: false });
    assert.deepEqual(await page('limit=2'), { messages: hist.slice(0, 2), hasMore: true });
    assert.deepEqual(await page(''), { messages: hist, hasMore: false });
    for (const m of sent) checkMessage(m, { projectId: 'h-page' });
  });

  it('GET messages: default limit 50; limit up to 500', async () => {
    const posts = [];
    for (let i = 1; i <= 55; i++) posts.push(post(tokens.alice, { projectId: 'h-default', content: `n${i}` }));
    const results = await Promise.all(posts);
    for (const r of results) assert.equal(r.status, 201, r.body);
    const def = await getMessages(hub.url, tokens.alice, 'h-default');
    assert.equal(def.status, 200);
    assert.equal(def.json.messages.length, 50, 'default page size');
    assert.deepEqual(def.json.messages.map((m) => m.seq), Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(def.json.hasMore, true);
    const big = await getMessages(hub.url, tokens.alice, 'h-default', 'limit=500');
    assert.equal(big.status, 200, big.body);
    assert.deepEqual(big.json.messages.map((m) => m.seq), Array.from({ length: 55 }, (_, i) => i + 1));
    assert.equal(big.json.hasMore, false);
  });

  it('GET messages of an empty room -> {messages: [], hasMore: false}', async () => {
    const r = await getMessages(hub.url, tokens.alice, 'h-empty');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json, { messages: [], hasMore: false });
  });

  const badTokens = [
    ['no Authorization header', undefined, {}],
    ['a malformed token', 'garbage', {}],
    ['an expired token', mintToken('u-alice', { projects: PROJECTS, expSeconds: -120 }), {}],
    ['a token signed with another secret', mintToken('u-alice', { projects: PROJECTS, secret: `${SECRET}-x` }), {}],
    ['an unsigned token', unsignedToken('u-alice', { projects: PROJECTS }), {}],
    ['a non-Bearer scheme', undefined, { authorization: `Basic ${Buffer.from('u-alice:pw').toString('base64')}` }],
  ];
  for (const [what, token, headers] of badTokens) {
    it(`401 for ${what} (POST and GET); nothing stored`, async () => {
      const p = await api(hub.url, 'POST', '/api/chat', { token, headers, body: { projectId: 'h-auth', content: 'nope' } });
      assert.equal(p.status, 401, `POST: ${p.body}`);
      const g = await api(hub.url, 'GET', '/api/chat/h-auth/messages', { token, headers });
      assert.equal(g.status, 401, `GET: ${g.body}`);
      const check = await getMessages(hub.url, tokens.alice, 'h-auth');
      assert.deepEqual(check.json?.messages, []);
    });
  }

  it('403 for a project not in the token (POST and GET); nothing stored', async () => {
    const p = await post(tokens.mallory, { projectId: 'h-auth', content: 'intrusion' });
    assert.equal(p.status, 403, p.body);
    const g = await getMessages(hub.url, tokens.mallory, 'h-auth');
    assert.equal(g.status, 403, g.body);
    const check = await getMessages(hub.url, tokens.alice, 'h-auth');
    assert.deepEqual(check.json?.messages, []);
  });

  const badBodies = [
    ['bad JSON', '{"projectId": "h-bad", "content": '],
    ['a JSON array', '["h-bad", "hello"]'],
    ['blank content', { projectId: 'h-bad', content: '   ' }],
    ['numeric content', { projectId: 'h-bad', content: 5 }],
    ['missing content', { projectId: 'h-bad' }],
    ['missing projectId', { content: 'where to?' }],
    ['4097 bytes of content', { projectId: 'h-bad', content: 'y'.repeat(4097) }],
  ];
  for (const [what, body] of badBodies) {
    it(`400 with JSON {error} for ${what}; nothing stored`, async () => {
      const r = await post(tokens.alice, body);
      assert.equal(r.status, 400, r.body);
      assert.ok(r.json && typeof r.json === 'object' && r.json.error, `JSON body with error: ${r.body}`);
      const check = await getMessages(hub.url, tokens.alice, 'h-bad');
      assert.deepEqual(check.json?.messages, []);
    });
  }

  it('after a 400, the next valid POST gets the next seq (seq did not advance)', async () => {
    const r = await post(tokens.alice, { projectId: 'h-bad', content: 'finally valid' });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.seq, 1);
  });
});
