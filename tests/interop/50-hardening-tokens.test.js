// Hostile tokens against hub-server: each case shows the refusal, that the server is still
// running, and that a well-behaved client on the same server keeps connecting, sending
// and receiving. (A Bearer token with the header {"alg":0} used to end the process.)
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
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

const b64 = (s) => Buffer.from(s).toString('base64url');
// The tokens that killed the server or could: header {"alg":0}, ill-typed header fields,
// a 100k-deep payload, garbage. Each must be refused as a failed authentication.
const HOSTILE_TOKENS = [
  ['header {"alg":0}', 'eyJhbGciOjB9.e30.x'],
  ['header {"alg":"HS256","typ":7}', `${b64('{"alg":"HS256","typ":7}')}.${b64('{}')}.x`],
  ['header {"alg":null}', `${b64('{"alg":null}')}.${b64('{"sub":"a","exp":9999999999}')}.x`],
  ['header is an array', `${b64('[1,2]')}.${b64('{}')}.x`],
  ['payload nested 2,900 deep', `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64('['.repeat(2900) + ']'.repeat(2900))}.x`],
  ['exp as a string (signed)', null],
  ['four parts', 'a.b.c.d'],
  ['not base64url', '%%%.&&&.***'],
  ['9 KB long', `${'a'.repeat(9000)}.b.c`],
];
// Past the 8 KB bound on what a client may send before CONNECT: HTTP only.
const HTTP_ONLY = new Set(['9 KB long']);

/** A token with the right signature whose exp is a string: signature fine, claims not. */
function signedWithStringExp() {
  const crypto = require('node:crypto');
  const { SECRET } = require('./hub-helpers');
  const head = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify({ sub: 'u-x', exp: 'never', projects: [PROJECT] }))}`;
  const sig = crypto.createHmac('sha256', SECRET).update(head).digest('base64url');
  return `${head}.${sig}`;
}




describe('hub: hostile tokens', { skip: skipReason }, () => {
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

  for (const [what, token] of HOSTILE_TOKENS) {
    it(`GET /api/notifications with a hostile Bearer token (${what}) -> 401`, async () => {
      const t = token ?? signedWithStringExp();
      const res = await api(hub.url, 'GET', '/api/notifications', { token: t });
      assert.equal(res.status, 401, res.body);
    });

    if (HTTP_ONLY.has(what)) continue;
    it(`CONNECT with a hostile token (${what}) -> connect_error`, async () => {
      const t = token ?? signedWithStringExp();
      const c = clients.make(hub.url, { token: t });
      const err = await c.connectError();
      assert.match(err.message, /Authentication failed/);
    });
  }

  it('/metrics counts the refused tokens', async () => {
    const res = await api(hub.url, 'GET', '/metrics');
    const line = res.body.split('\n').find((l) => l.startsWith('hub_refusals_total{cause="bad_token"} '));
    assert.ok(line, 'no bad_token counter');
    assert.ok(Number(line.split(' ')[1]) >= 2 * HOSTILE_TOKENS.length - HTTP_ONLY.size, line);
  });

});
