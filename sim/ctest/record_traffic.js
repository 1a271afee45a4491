// Drives a hub-server started with --dev-auth --record FILE over Engine.IO long-polling
// (plain fetch: no npm packages), so that the record can be replayed by hub-sim:
// four clients join rooms, type, send messages with acks and leave; one drops off
// without saying goodbye. Usage: node record_traffic.js http://127.0.0.1:PORT
'use strict';

const base = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function client(user, rooms, sends) {
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
        if (p === '2') await post('3');  // pong
        else received.push(p);
      }
    }
  })();
  await post(`40${JSON.stringify({ userId: user, userName: user })}`);
  await sleep(50);
  let ack = 0;
  for (const room of rooms) await post(`42${ack++}["join-chat-room",${JSON.stringify(room)}]`);
  await sleep(100);
  for (let i = 0; i < sends; ++i) {
    const room = rooms[i % rooms.length];
    await post(`42["typing",{"projectId":${JSON.stringify(room)}}]`);
    await sleep(20);
    await post(`42${ack++}["send-message",{"projectId":${JSON.stringify(room)},"content":"${user} says ${i}"}]`);
    await sleep(30);
  }
  return { received, close: async (polite) => { if (polite) await post('1'); alive = false; } };
}

(async () => {
  const a = await client('alice', ['p1', 'p2'], 6);
  const b = await client('bob', ['p1'], 4);
  const c = await client('carol', ['p2'], 3);
  const d = await client('dave', ['p1', 'p2'], 2);
  await sleep(300);
  await a.close(true);
  await b.close(true);
  await c.close(true);
  await d.close(false);  // vanishes: the server times the session out
  console.log(`received: ${a.received.length + b.received.length + c.received.length + d.received.length} packets`);
  process.exit(0);
})();
