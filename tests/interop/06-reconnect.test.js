// Server restart: the client notices the lost connection and reconnects by itself once
// the server is back on the same port (both namespaces, each transport).
'use strict';

const { test, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const {
  startServer, ioManager, wrapSocket, Clients, EventQueue,
} = require('./helpers');

const servers = new Set();
const clients = new Clients();

afterEach(async () => {
  clients.closeAll();
  for (const s of servers) await s.stop();
  servers.clear();
});
after(async () => {
  clients.closeAll();
  for (const s of servers) await s.stop();
});

async function start(opts) {
  const s = await startServer([], opts);
  servers.add(s);
  return s;
}

/** Skips connect_error items (failed attempts while the server is down) until 'connect'. */
async function nextConnect(c, ms) {
  const deadline = Date.now() + ms;
  let errors = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no reconnect within ${ms} ms (${errors} connect_error)`);
    const [event] = await c.q.status.next(left);
    if (event === 'connect') return errors;
    errors++;
  }
}

for (const transports of [['websocket'], ['polling']]) {
  test(`[${transports[0]}] client reconnects by itself after a server restart`, { timeout: 20000 }, async () => {
    let server = await start();
    const port = server.port;
    const manager = ioManager(server.url, {
      transports,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
      timeout: 2000,
    });
    const reconnects = new EventQueue(manager, 'reconnect');
    const main = wrapSocket(manager.socket('/', { auth: { who: 'main' } }));
    const custom = wrapSocket(manager.socket('/custom', { auth: { who: 'custom' } }));
    clients.add(main.socket);
    clients.add(custom.socket);
    await Promise.all([main.connect(), custom.connect()]);
    assert.deepEqual(await main.q.auth.next(), [{ who: 'main' }]);
    assert.deepEqual(await custom.q.auth.next(), [{ who: 'custom' }]);
    const ids = [main.socket.id, custom.socket.id];
    const engineId = manager.engine.id;

    // Kill the server hard: the client sees a transport-level disconnect (not a server
    // disconnect), so it must try to reconnect.
    await server.stop('SIGKILL');
    servers.delete(server);
    const [reason] = await main.q.disconnect.next(5000);
    assert.match(reason, /^(transport close|transport error|ping timeout)$/);
    await custom.q.disconnect.next(5000);
    assert.equal(main.socket.active, true, 'still trying to reconnect');

    // Let at least one attempt fail, then bring the server back on the same port.
    await new Promise((r) => setTimeout(r, 300));
    server = await start({ port });
    assert.equal(server.port, port);

    await nextConnect(main, 10000);
    await nextConnect(custom, 10000);
    await reconnects.next(2000);
    assert.notEqual(manager.engine.id, engineId, 'a new Engine.IO session');
    assert.notEqual(main.socket.id, ids[0]);
    assert.notEqual(custom.socket.id, ids[1]);
    assert.equal(manager.engine.transport.name, transports[0]);

    // The new sessions run the whole profile again.
    assert.deepEqual(await main.q.auth.next(), [{ who: 'main' }]);
    assert.deepEqual(await custom.q.auth.next(), [{ who: 'custom' }]);
    main.socket.emit('message', 'after-restart');
    custom.socket.emit('message', 'custom-after-restart');
    assert.deepEqual(await main.q.messageBack.next(), ['after-restart']);
    assert.deepEqual(await custom.q.messageBack.next(), ['custom-after-restart']);
  });
}
