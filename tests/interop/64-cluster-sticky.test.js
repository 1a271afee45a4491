// Two of our nodes (one cluster through a real redis-server) behind HAProxy (Debian's
// haproxy, running docs/cluster-haproxy.cfg as it is) with cookie stickiness: the
// handshake is balanced round robin and answered with SERVERID=node1|node2, and every
// later request of the session goes back to that node by the cookie. Polling-only
// socket.io-client sockets keep the cookie in Node with withCredentials: true
// (engine.io-client 6.6's cookie jar), so several of them run long sessions on both
// nodes; without the cookie the session breaks at its second request. A polling request
// sent straight to the wrong node gets 400 {"code":1,"message":"Session ID unknown"}.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { Clients, ioClient, request, sleep, HOST } = require('./helpers');
const { RedisServer, startNode, waitMesh, waitFor, connect, room, freePort, track, stopChild } = require('./cluster-helpers');

const HAPROXY = process.env.HAPROXY || 'haproxy';
const CONFIG = path.join(__dirname, '..', '..', 'docs', 'cluster-haproxy.cfg');
const UNKNOWN_SID = '{"code":1,"message":"Session ID unknown"}';
const haveHaproxy = spawnSync(HAPROXY, ['-v'], { stdio: 'ignore' }).status === 0;
const skip = haveHaproxy ? false : `no ${HAPROXY} (Debian package haproxy; scripts/setup.sh installs it)`;

const ROUND_TRIPS = 30;
const CLIENTS = 6;

/** Engine.IO polling URL for `sid` on `base`. */
const pollUrl = (base, sid) => `${base}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

describe('cluster: sticky sessions behind HAProxy (cookie SERVERID)', { skip, timeout: 40000 }, () => {
  let redis;
  let A;
  let B;
  let lb;
  let lbUrl;
  const clients = new Clients();

  before(async () => {
    redis = await RedisServer.start();
    [A, B] = await Promise.all([startNode(redis), startNode(redis)]);
    await waitMesh([A, B], clients, { namespaces: ['/'] });
    const port = await freePort();
    lbUrl = `http://${HOST}:${port}`;
    const env = { ...process.env, HUB_LB_BIND: `${HOST}:${port}`, HUB_NODE1: `${HOST}:${A.port}`, HUB_NODE2: `${HOST}:${B.port}` };
    const check = spawnSync(HAPROXY, ['-c', '-f', CONFIG], { env, encoding: 'utf8' });
    assert.equal(check.status, 0, `haproxy -c: ${check.stdout}${check.stderr}`);
    lb = track(spawn(HAPROXY, ['-db', '-f', CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitFor(async () => (await request('GET', `${lbUrl}/healthz`, { timeout: 500 }).catch(() => ({}))).status === 200,
      { timeout: 5000, interval: 100, what: `haproxy on ${lbUrl}` });
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients.closeAll();
    if (lb) await stopChild(lb);
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
  });

  const nodeOf = (cookie) => ({ node1: A, node2: B })[cookie];

  /** The node that holds `sid`: a noop POST is answered "ok" there, 400 elsewhere. */
  async function homeOf(sid) {
    const answers = [];
    for (const node of [A, B]) {
      const res = await request('POST', pollUrl(node.url, sid), { body: '6', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
      answers.push(res);
    }
    const home = answers.findIndex((r) => r.status === 200);
    assert.ok(home >= 0, `no node holds ${sid}: ${answers.map((r) => `${r.status} ${r.body}`).join(', ')}`);
    assert.equal(answers[home].body, 'ok');
    const wrong = answers[1 - home];
    assert.equal(wrong.status, 400, 'the other node knows the session too');
    assert.equal(wrong.body, UNKNOWN_SID);
    return home === 0 ? A : B;
  }

  it('the handshake gets SERVERID round robin; the wrong node answers 400 Session ID unknown', async () => {
    const seen = new Map();
    for (let i = 0; i < 4; i++) {
      const res = await request('GET', `${lbUrl}/socket.io/?EIO=4&transport=polling`);
      assert.equal(res.status, 200, res.body);
      const cookies = [].concat(res.headers['set-cookie'] || []);
      const m = cookies.map((c) => /^SERVERID=(node[12]);/.exec(c)).find(Boolean);
      assert.ok(m, `SERVERID cookie in ${JSON.stringify(cookies)}`);
      const { sid } = JSON.parse(res.body.slice(1));
      seen.set(m[1], (seen.get(m[1]) || 0) + 1);
      const home = nodeOf(m[1]);
      const wrong = home === A ? B : A;

      // straight to the wrong node: Node's answer, as JSON
      const res2 = await request('GET', pollUrl(wrong.url, sid));
      assert.equal(res2.status, 400);
      assert.equal(res2.body, UNKNOWN_SID);
      assert.match(String(res2.headers['content-type']), /^application\/json/);

      // through the balancer with the cookie: the home node, where the session lives
      const cookie = { Cookie: `SERVERID=${m[1]}` };
      const post = await request('POST', pollUrl(lbUrl, sid), { body: '40', headers: { ...cookie, 'Content-Type': 'text/plain;charset=UTF-8' } });
      assert.equal(post.status, 200, post.body);
      assert.equal(post.body, 'ok');
      const poll = await request('GET', pollUrl(lbUrl, sid), { headers: cookie });
      assert.equal(poll.status, 200, poll.body);
      assert.match(poll.body, /^40\{"sid":"[^"]+"\}/, 'the CONNECT answer, from the node that holds the session');
      assert.equal(await homeOf(sid), home, 'the cookie names the node that holds the session');
    }
    assert.deepEqual([...seen.entries()].sort(), [['node1', 2], ['node2', 2]], 'round robin over both nodes');
  });

  it(`${CLIENTS} polling clients keep their sessions for ${ROUND_TRIPS} round trips each, on both nodes`, async () => {
    const r = room();
    const list = [];
    for (let i = 0; i < CLIENTS; i++) { // one after the other: the handshakes alternate nodes
      const c = await connect({ url: lbUrl }, clients, '/', { transports: ['polling'], withCredentials: true });
      assert.equal(await c.call('join', r), true);
      list.push(c);
    }
    await sleep(50); // every POST answered: the noop probes below must not overlap one
    const homes = [];
    for (const c of list) homes.push(await homeOf(c.socket.io.engine.id));
    const onA = homes.filter((n) => n === A).length;
    assert.ok(onA >= 2 && CLIENTS - onA >= 2, `sessions per node: ${onA} on A, ${CLIENTS - onA} on B`);
    const engines = list.map((c) => c.socket.io.engine.id);

    await Promise.all(list.map(async (c, i) => {
      for (let k = 0; k < ROUND_TRIPS; k++) {
        const payload = { client: i, k, text: `round ${k} ✓`.repeat(1 + (k % 3)) };
        assert.deepEqual(await c.call('message-with-ack', payload), payload);
        if (k % 5 === 0) {
          c.socket.emit('message', 'back', k);
          assert.deepEqual(await c.any.next(), ['message-back', 'back', k]);
        }
      }
    }));

    // across nodes through the cluster, delivered over the polling sessions
    assert.equal(await list[0].call('broadcast', { rooms: [r], event: 'all', args: ['via redis'], broadcast: true }), true);
    for (const c of list.slice(1)) assert.deepEqual(await c.any.next(), ['all', 'via redis']);
    await sleep(300);
    for (const c of list) assert.equal(c.any.pending, 0, 'a duplicate');

    list.forEach((c, i) => {
      assert.equal(c.socket.io.engine.id, engines[i], 'same Engine.IO session');
      assert.equal(c.socket.io.engine.transport.name, 'polling');
      assert.equal(c.q.disconnect.pending, 0, 'a disconnect');
    });
  });

  it('without the cookie (withCredentials: false) the session breaks at once', async () => {
    const c = ioClient(lbUrl, { transports: ['polling'], withCredentials: false });
    clients.add(c.socket);
    await assert.rejects(c.connect(5000), /connect_error/,
      'the balancer sent every request of the session to the same node without a cookie');
  });
});
