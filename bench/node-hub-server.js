#!/usr/bin/env node
// The seed's server.js made runnable for the side-by-side benchmark: the hub events of
// docs/hub.md on the official `socket.io` package, with an in-memory store instead of
// the database and without Next.js. It is a benchmark reference, not a product.
//
// Usage: node bench/node-hub-server.js [--host H] [--port P] [--dev-auth] [--redis URL]
//   env JWT_SECRET  HS256 secret for auth {token} (claims sub, name, projects, exp)
//   env HUB_API_KEY Bearer key for POST /api/notifications and /api/tasks/:id/events
//   --dev-auth (or HUB_DEV_AUTH=1): auth {userId, userName} accepted, every project allowed
//   --retention N   messages kept per room in memory (default 1000)
//   --redis URL (or env REDIS_URL, e.g. redis://127.0.0.1:6379): several nodes through
//                   Redis with `@socket.io/redis-adapter` (PUBLISH / PSUBSCRIBE): every
//                   broadcast reaches the clients of every node; each node keeps its own
//                   in-memory store (sequence numbers, presence), it is a benchmark only
//   --redis-key-prefix K (or env REDIS_KEY_PREFIX): the adapter's channel prefix
//                   (default "socket.io", the adapter's own)
// Prints `listening on http://HOST:PORT` when ready.
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');
const { Server } = require('socket.io');

const opts = { host: '127.0.0.1', port: Number(process.env.PORT || 3000), devAuth: false, retention: 1000,
               redis: process.env.REDIS_URL || '', redisKey: process.env.REDIS_KEY_PREFIX || 'socket.io' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--host') opts.host = process.argv[++i];
  else if (a === '--port') opts.port = Number(process.argv[++i]);
  else if (a === '--dev-auth') opts.devAuth = true;
  else if (a === '--retention') opts.retention = Number(process.argv[++i]);
  else if (a === '--redis') opts.redis = process.argv[++i];
  else if (a === '--redis-key-prefix') opts.redisKey = process.argv[++i];
  else { process.stderr.write(`node-hub-server: unknown argument ${a}\n`); process.exit(2); }
}
if (process.env.HUB_DEV_AUTH === '1' || process.env.HUB_DEV_AUTH === 'true') opts.devAuth = true;
const jwtSecret = process.env.JWT_SECRET || '';
const apiKey = process.env.HUB_API_KEY || '';
const maxContent = 4096;

// -- identity --------------------------------------------------------------------------
function b64url(buf) {
  return buf.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}
function verifyJwt(token) {
  if (!jwtSecret || typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const sig = b64url(crypto.createHmac('sha256', jwtSecret).update(`${parts[0]}.${parts[1]}`).digest());
  if (sig.length !== parts[2].length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(parts[2]))) return null;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch { return null; }
  if (header.alg !== 'HS256') return null;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
  if (typeof claims.sub !== 'string' || !claims.sub) return null;
  const projects = new Set((Array.isArray(claims.projects) ? claims.projects : []).map(String));
  return { userId: claims.sub, userName: typeof claims.name === 'string' ? claims.name : claims.sub, projects, all: false };
}
function authenticate(auth) {
  if (auth && 'token' in auth) return verifyJwt(auth.token);
  if (!opts.devAuth) return null;
  if (auth && (typeof auth.userId === 'string' || Number.isInteger(auth.userId))) {
    const userId = String(auth.userId);
    return { userId, userName: typeof auth.userName === 'string' ? auth.userName : userId, projects: new Set(), all: true };
  }
  return { anonymous: true };
}
const mayAccess = (who, project) => who && (who.all || who.projects.has(project));
function idFrom(v, key) {
  if (v && typeof v === 'object' && !Array.isArray(v)) v = v[key];
  if (typeof v === 'string' && v.length > 0 && v.length <= 128) return v;
  if (Number.isInteger(v)) return String(v);
  return null;
}

// -- in-memory store -------------------------------------------------------------------
const rooms = new Map();  // projectId -> { lastSeq, messages[], present: Map<userId,{name,count}>, reads: Map }
function room(project) {
  let r = rooms.get(project);
  if (!r) rooms.set(project, (r = { lastSeq: 0, messages: [], present: new Map(), reads: new Map() }));
  return r;
}
const taskProjects = new Map();
const randomId = () => crypto.randomBytes(15).toString('base64url').slice(0, 20);

function saveMessage(who, project, content, replyTo) {
  const r = room(project);
  const message = { id: randomId(), seq: ++r.lastSeq, projectId: project, senderId: who.userId,
                    senderName: who.userName, content, createdAt: new Date().toISOString() };
  if (replyTo !== undefined) message.replyTo = replyTo;
  r.messages.push(message);
  if (r.messages.length > opts.retention) r.messages.splice(0, r.messages.length - opts.retention);
  return message;
}

// -- HTTP API --------------------------------------------------------------------------
function readJson(req, cb) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; if (body.length > 1e6) req.destroy(); });
  req.on('end', () => { try { cb(JSON.parse(body)); } catch { cb(undefined); } });
}
function reply(res, status, obj) {
  const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': typeof obj === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}
const bearer = (req) => {
  const h = req.headers.authorization || '';
  return h.startsWith('Bearer ') ? h.slice(7) : null;
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method === 'GET' && url.pathname === '/healthz') return reply(res, 200, 'ok');
  if (req.method === 'POST' && url.pathname === '/api/notifications') {
    if (!apiKey || bearer(req) !== apiKey) return reply(res, 401, { error: 'unauthorized' });
    return readJson(req, (b) => {
      const userId = b && idFrom(b.userId);
      if (!userId || typeof b.title !== 'string' || typeof b.message !== 'string')
        return reply(res, 400, { error: 'invalid' });
      const notification = { id: randomId(), userId, title: b.title, message: b.message,
                             type: typeof b.type === 'string' ? b.type : 'info', createdAt: new Date().toISOString() };
      io.to(`user:${userId}`).emit('notification', notification);
      reply(res, 201, notification);
    });
  }
  const task = /^\/api\/tasks\/([^/]+)\/events$/.exec(url.pathname);
  if (req.method === 'POST' && task) {
    if (!apiKey || bearer(req) !== apiKey) return reply(res, 401, { error: 'unauthorized' });
    return readJson(req, (b) => {
      const project = b && idFrom(b.projectId);
      if (!project) return reply(res, 400, { error: 'invalid' });
      const taskId = decodeURIComponent(task[1]);
      taskProjects.set(taskId, project);
      const event = { taskId, projectId: project, task: b.task, updatedAt: new Date().toISOString() };
      io.to([`task:${taskId}`, `group:${project}`]).emit('task-updated', event);
      reply(res, 200, event);
    });
  }
  if (req.method === 'POST' && url.pathname === '/api/chat') {
    const who = verifyJwt(bearer(req));
    if (!who) return reply(res, 401, { error: 'unauthorized' });
    return readJson(req, (b) => {
      const project = b && idFrom(b.projectId);
      if (!project || typeof b.content !== 'string' || !b.content.trim() || b.content.length > maxContent)
        return reply(res, 400, { error: 'invalid' });
      if (!mayAccess(who, project)) return reply(res, 403, { error: 'forbidden' });
      const message = saveMessage(who, project, b.content, b.replyTo);
      io.to(`group:${project}`).emit('new-message', message);
      reply(res, 201, message);
    });
  }
  reply(res, 404, { error: 'not found' });
});

// -- Socket.IO -------------------------------------------------------------------------
const io = new Server(server, { serveClient: false });

io.use((socket, next) => {
  const who = authenticate(socket.handshake.auth);
  if (!who) return next(new Error('Authentication failed'));
  socket.data.who = who.anonymous ? null : who;
  next();
});

function refuse(socket, ack, code, message) {
  socket.emit('error', { message });
  if (typeof ack === 'function') ack({ ok: false, error: code });
}
function memberProject(socket, payload, ack) {
  const who = socket.data.who;
  if (!who) { refuse(socket, ack, 'unauthenticated', 'Not authenticated'); return null; }
  const project = idFrom(payload, 'projectId');
  if (!project) { refuse(socket, ack, 'invalid', 'Invalid project id'); return null; }
  if (!mayAccess(who, project)) { refuse(socket, ack, 'forbidden', 'Forbidden'); return null; }
  return project;
}
function present(socket, project) {
  const who = socket.data.who;
  const r = room(project);
  const p = r.present.get(who.userId);
  if (p) p.count++;
  else {
    r.present.set(who.userId, { name: who.userName, count: 1 });
    socket.to(`group:${project}`).emit('user-joined', { userId: who.userId, userName: who.userName });
  }
}
function absent(socket, project) {
  const who = socket.data.who;
  const r = room(project);
  const p = r.present.get(who.userId);
  if (!p) return;
  if (--p.count === 0) {
    r.present.delete(who.userId);
    io.to(`group:${project}`).emit('user-left', { userId: who.userId, userName: who.userName });
  }
}
const online = (project) => [...room(project).present].map(([userId, p]) => ({ userId, userName: p.name }));

io.on('connection', (socket) => {
  const who = socket.data.who;
  if (who) socket.join(`user:${who.userId}`);

  socket.on('join-user-room', (userId, ack) => {
    const id = idFrom(userId, 'userId');
    if (!id) return refuse(socket, ack, 'invalid', 'Invalid user id');
    if (!socket.data.who) {
      socket.data.who = { userId: id, userName: id, projects: new Set(), all: true };
      socket.join(`user:${id}`);
    } else if (socket.data.who.userId !== id) return refuse(socket, ack, 'forbidden', 'Forbidden');
    if (typeof ack === 'function') ack({ ok: true, unread: 0 });
  });

  socket.on('join-chat-room', (payload, ack) => {
    const project = memberProject(socket, payload, ack);
    if (!project) return;
    const name = `group:${project}`;
    if (!socket.rooms.has(name)) {
      socket.join(name);
      present(socket, project);
    }
    const r = room(project);
    if (typeof ack === 'function')
      ack({ ok: true, lastSeq: r.lastSeq, online: online(project), lastReadSeq: r.reads.get(socket.data.who.userId) || 0 });
  });

  socket.on('leave-chat-room', (payload, ack) => {
    const project = memberProject(socket, payload, ack);
    if (!project) return;
    if (socket.rooms.has(`group:${project}`)) {
      socket.leave(`group:${project}`);
      absent(socket, project);
    }
    if (typeof ack === 'function') ack({ ok: true });
  });

  socket.on('send-message', (data, ack) => {
    const project = memberProject(socket, data, ack);
    if (!project) return;
    const content = data && data.content;
    if (typeof content !== 'string' || !content.trim() || Buffer.byteLength(content) > maxContent)
      return refuse(socket, ack, 'invalid', 'Invalid message');
    const message = saveMessage(socket.data.who, project, content, data.replyTo);
    io.to(`group:${project}`).emit('new-message', message);
    if (typeof ack === 'function') ack({ ok: true, message });
  });

  socket.on('typing', (data) => {
    const project = memberProject(socket, data);
    if (!project) return;
    const w = socket.data.who;
    socket.to(`group:${project}`).except(`user:${w.userId}`).emit('user-typing', { userId: w.userId, userName: w.userName });
  });
  socket.on('stop-typing', (data) => {
    const project = memberProject(socket, data);
    if (!project) return;
    const w = socket.data.who;
    socket.to(`group:${project}`).except(`user:${w.userId}`).emit('user-stopped-typing', { userId: w.userId });
  });

  socket.on('mark-read', (data, ack) => {
    const project = memberProject(socket, data, ack);
    if (!project) return;
    const r = room(project);
    if (!Number.isInteger(data.seq) || data.seq < 0 || data.seq > r.lastSeq)
      return refuse(socket, ack, 'invalid', 'Invalid read marker');
    const w = socket.data.who;
    const prev = r.reads.get(w.userId) || 0;
    if (data.seq > prev) {
      r.reads.set(w.userId, data.seq);
      socket.to(`group:${project}`).except(`user:${w.userId}`).emit('message-read', { projectId: project, userId: w.userId, seq: data.seq });
    }
    if (typeof ack === 'function') ack({ ok: true, lastReadSeq: Math.max(prev, data.seq) });
  });

  socket.on('get-presence', (data, ack) => {
    const project = memberProject(socket, data, ack);
    if (project && typeof ack === 'function') ack({ ok: true, online: online(project) });
  });

  socket.on('sync', (data, ack) => {
    const project = memberProject(socket, data, ack);
    if (!project || typeof ack !== 'function') return;
    const after = Number.isInteger(data.afterSeq) ? data.afterSeq : 0;
    const limit = Number.isInteger(data.limit) ? Math.min(data.limit, 500) : 50;
    const msgs = room(project).messages;
    if (msgs.length && after + 1 < msgs[0].seq) return ack({ ok: false, error: 'gap', oldestSeq: msgs[0].seq });
    const newer = msgs.filter((m) => m.seq > after);
    ack({ ok: true, messages: newer.slice(0, limit), hasMore: newer.length > limit });
  });

  socket.on('join-task-room', (data, ack) => {
    const project = memberProject(socket, data, ack);
    if (!project) return;
    const task = idFrom(data, 'taskId');
    if (!task) return refuse(socket, ack, 'invalid', 'Invalid task room');
    const owner = taskProjects.get(task);
    if (owner !== undefined && owner !== project) return refuse(socket, ack, 'forbidden', 'Forbidden');
    socket.join(`task:${task}`);
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('leave-task-room', (data, ack) => {
    const task = idFrom(data, 'taskId');
    if (task) socket.leave(`task:${task}`);
    if (typeof ack === 'function') ack({ ok: true });
  });

  socket.on('disconnecting', () => {
    if (!socket.data.who) return;
    for (const name of socket.rooms) if (name.startsWith('group:')) absent(socket, name.slice(6));
  });
});

// With Redis: the adapter's two connections are up before the port opens, so a client
// that connects gets every broadcast of the other nodes from its first packet on.
async function withRedis() {
  if (!opts.redis) return;
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: opts.redis });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e) => process.stderr.write(`node-hub-server: redis: ${e.message}\n`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key: opts.redisKey }));
  process.stderr.write(`node-hub-server: redis adapter on ${opts.redis} (key ${opts.redisKey})\n`);
}

withRedis().then(() => {
  server.listen(opts.port, opts.host, () => {
    const { address, port } = server.address();
    process.stdout.write(`listening on http://${address}:${port}\n`);
  });
}, (e) => {
  process.stderr.write(`node-hub-server: redis ${opts.redis}: ${e.message}\n`);
  process.exit(1);
});
