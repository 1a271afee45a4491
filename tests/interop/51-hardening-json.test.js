// Hostile JSON against hub-server: each case shows the refusal, that the server is still
// running, and that a well-behaved client on the same server keeps connecting, sending
// and receiving. (A 100k-deep event used to end the process with SIGSEGV.)
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { request, openWs, pollingHandshake, splitPayload } = require('./helpers');
const {
  skipReason, mintToken, startHub, HubClients, api, joinChat, sendMessage, sleep,
} = require('./hub-helpers');

const PROJECT = 'hard-p1';
const tokens = {
  alice: mintToken('u-alice', { name: 'Alice', projects: [PROJECT] }),
  bob: mintToken('u-bob', { name: 'Bob', projects: [PROJECT] }),
  eve: mintToken('u-eve', { name: 'Eve', projects: [PROJECT] }),
};
const API_KEY = 'hardening-api-key-0123456789abcdef';

/** 42["event", <n-deep nesting>] in array or object form. */
function deepEvent(event, depth, form = 'array') {
  const inner = form === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  return `42["${event}",${inner}]`;
}

/** A raw Engine.IO WebSocket connected to "/" with auth {token}; resolves after the CONNECT reply. */
async function rawConnected(hub, token) {
  const conn = await openWs(`${hub.wsUrl}/socket.io/?EIO=4&transport=websocket`);
  const [open] = await conn.messages.next(3000);
  assert.match(open.toString(), /^0\{/);
  conn.ws.send(`40${JSON.stringify({ token })}`);
  const [reply] = await conn.messages.next(3000);
  assert.match(reply.toString(), /^40\{"sid"/, `CONNECT reply: ${reply}`);
  return conn;
}

async function metric(hub, name) {
  const res = await request('GET', `${hub.url}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}

describe('hub: hostile JSON', { skip: skipReason }, () => {
  let hub;
  const clients = new HubClients();
  let alice;
  let bob;
  before(async () => {
    hub = await startHub(['--rate-limit', '1000/1s'], { env: { HUB_API_KEY: API_KEY } });
    alice = await clients.connect(hub.url, { token: tokens.alice });
    bob = await clients.connect(hub.url, { token: tokens.bob, transports: ['polling'] });
    await joinChat(alice, PROJECT);
    await joinChat(bob, PROJECT);
  });
  after(async () => { clients.closeAll(); await hub?.stop(); });
  afterEach(async () => {
    // The server is alive and the well-behaved pair still chats, both ways.
    assert.equal(hub.child.exitCode, null, 'hub-server exited');
    assert.equal(hub.child.signalCode, null, 'hub-server was killed by a signal');
    bob.drain();
    const sent = await sendMessage(alice, PROJECT, `still here ${Date.now()}`);
    const got = await bob.next('new-message', 3000);
    assert.equal(got.id, sent.id);
  });

  for (const form of ['array', 'object']) {
    for (const event of ['send-message', 'join-chat-room']) {
      it(`a 100k-deep ${event} (${form} form) over WebSocket closes that session only`, async () => {
        const conn = await rawConnected(hub, tokens.eve);
        conn.ws.send(deepEvent(event, 100000, form));
        const closed = await Promise.race([conn.closed, sleep(3000).then(() => null)]);
        assert.ok(closed, 'the hostile WebSocket was not closed');
      });
    }
  }

  it('nesting up to the bound (32) is served; one more level closes the session', async () => {
    const ok = await rawConnected(hub, tokens.eve);
    // Depth 32 counting the outer array: refused by the handler (not a project id), with an ack.
    ok.ws.send(`421["get-presence",${'['.repeat(31)}"${PROJECT}"${']'.repeat(31)}]`);
    let reply;
    do { [reply] = await ok.messages.next(3000); } while (!reply.toString().startsWith('431'));
    assert.match(reply.toString(), /^431\[\{"ok":false/, `the ack: ${reply}`);
    ok.ws.send(`42["get-presence",${'['.repeat(32)}${']'.repeat(32)}]`);
    const closed = await Promise.race([ok.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'depth 33 was not refused');
  });

  it('a 100k-deep event over a polling POST ends that session only', async () => {
    const open = await pollingHandshake(hub.url);
    const base = `${hub.url}/socket.io/?EIO=4&transport=polling&sid=${open.sid}`;
    let res = await request('POST', base, { body: `40${JSON.stringify({ token: tokens.eve })}` });
    assert.equal(res.status, 200);
    res = await request('GET', base);
    assert.match(res.body, /^40\{"sid"/);
    res = await request('POST', base, { body: deepEvent('send-message', 100000) });
    // The session is closed: the next poll is refused or gets the close packet.
    res = await request('GET', base);
    assert.ok(res.status === 400 || splitPayload(res.body).includes('1'), `poll after: ${res.status} ${res.body}`);
  });

  it('an object with 50k keys (under the size limit) is refused before any tree is built', async () => {
    const conn = await rawConnected(hub, tokens.eve);
    const keys = Array.from({ length: 50000 }, (_, i) => `"k${i}":1`).join(',');
    const started = Date.now();
    conn.ws.send(`42["send-message",{${keys}}]`);
    const closed = await Promise.race([conn.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'the wide object was not refused');
    assert.ok(Date.now() - started < 2000, `refusal took ${Date.now() - started} ms`);
  });

  it('a large CONNECT before authentication is refused (pre-connect bound)', async () => {
    const conn = await openWs(`${hub.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    await conn.messages.next(3000);
    conn.ws.send(`40${JSON.stringify({ token: 'x', pad: 'y'.repeat(100000) })}`);
    const closed = await Promise.race([conn.closed, sleep(3000).then(() => null)]);
    assert.ok(closed, 'a 100 KB CONNECT was not refused');
    assert.ok((await metric(hub, 'hub_refusals_total{cause="preconnect_too_large"}')) >= 1);
  });

  it('POST /api/tasks/%FF/events (invalid UTF-8 in the path) -> 400', async () => {
    const res = await api(hub.url, 'POST', '/api/tasks/%FF/events', {
      headers: { authorization: `Bearer ${API_KEY}` },
      body: { projectId: PROJECT, task: { title: 't' } },
    });
    assert.equal(res.status, 400, res.body);
  });

  it('a 100k-deep JSON body to POST /api/chat and /api/notifications -> 400', async () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    let res = await api(hub.url, 'POST', '/api/chat', { token: tokens.alice, body: deep });
    assert.equal(res.status, 400, res.body);
    res = await api(hub.url, 'POST', '/api/notifications', {
      headers: { authorization: `Bearer ${API_KEY}` }, body: `{"userId":"u-bob","data":${deep}}`,
    });
    assert.equal(res.status, 400, res.body);
  });

  it('/metrics counts the refusals by cause', async () => {
    assert.ok((await metric(hub, 'hub_refusals_total{cause="json_too_deep"}')) >= 1);
    assert.ok((await metric(hub, 'hub_refusals_total{cause="json_too_wide"}')) >= 1);
  });
});
