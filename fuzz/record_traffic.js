// Drives a hub-server started with --dev-auth --record FILE over Engine.IO long-polling
// (plain fetch: no npm packages) through every client event of docs/hub.md, with real
// development tokens in CONNECT, acks, a binary event and a second namespace, so that
// scripts/fuzz_seeds.sh can cut fuzz seeds out of the record.
// Usage: node fuzz/record_traffic.js http://127.0.0.1:PORT
'use strict';

const base = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function token(userId, projects) {
  const r = await fetch(`${base}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, userName: userId, projects }),
  });
  return (await r.json()).token;
}

async function client(user, projects) {
  const open = await (await fetch(`${base}/socket.io/?EIO=4&transport=polling`)).text();
  const { sid } = JSON.parse(open.slice(1));
  const url = `${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const post = (body) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  let alive = true;
  const received = [];
  (async () => {
    while (alive) {
      const r = await fetch(url).catch(() => null);
      if (!r || r.status !== 200) break;
      for (const p of (await r.text()).split('\x1e')) {
        if (p === '2') await post('3');
        else received.push(p);
      }
    }
  })();
  await post(`40${JSON.stringify({ token: await token(user, projects) })}`);
  await sleep(50);
  return { post, received, close: async () => { await post('1'); alive = false; } };
}

(async () => {
  const a = await client('alice', ['p1', 'p2']);
  const b = await client('bob', ['p1']);
  const e = (c, ack, name, arg) => c.post(`42${ack ?? ''}${JSON.stringify(arg === undefined ? [name] : [name, arg])}`);
  await e(a, 1, 'join-user-room', { userId: 'alice' });
  await e(a, 2, 'join-chat-room', { projectId: 'p1' });
  await e(a, 3, 'join-chat-room', 'p2');
  await e(b, 1, 'join-chat-room', 'p1');
  await e(a, undefined, 'typing', { projectId: 'p1' });
  await e(a, undefined, 'stop-typing', { projectId: 'p1' });
  await e(a, 4, 'send-message', { projectId: 'p1', content: 'hello bob' });
  await e(b, 2, 'send-message', { projectId: 'p1', content: 'héllo ✓ 🎉', replyTo: 'p1:1' });
  await sleep(100);
  await e(b, 3, 'react', { projectId: 'p1', messageId: 'p1:1', emoji: '👍' });
  await e(a, 5, 'mark-read', { projectId: 'p1', seq: 2 });
  await e(a, 6, 'sync', { projectId: 'p1', afterSeq: 0, limit: 50 });
  await e(a, 7, 'sync', { projectId: 'p1', thread: 'p1:1' });
  await e(a, 8, 'get-presence', { projectId: 'p1' });
  await e(a, 9, 'join-task-room', { projectId: 'p1', taskId: 't-42' });
  await e(a, 10, 'leave-task-room', { taskId: 't-42' });
  await e(a, 11, 'mark-notifications-read', { all: true });
  await e(b, 4, 'mark-notifications-read', { ids: ['n1', 'n2'] });
  await e(a, 12, 'send-message', { projectId: 7, content: '  ' });  // refused: blank
  await e(a, 13, 'leave-chat-room', { projectId: 'p2' });
  // A binary event: the placeholder, then the attachment as 'b' + base64.
  await a.post(`451-13["send-message",{"projectId":"p1","content":"file","blob":{"_placeholder":true,"num":0}}]` +
               `\x1eb${Buffer.from([0, 1, 2, 254, 255]).toString('base64')}`);
  await a.post(`40/admin,${JSON.stringify({ token: 'x' })}`);  // another namespace
  await sleep(300);
  await a.close();
  await b.close();
  await sleep(100);
})().catch((err) => { console.error(err); process.exit(1); });
