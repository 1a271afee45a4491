// Project Hub demo page: chat, typing, presence, reactions, threads, read markers,
// notifications and a connection banner, on the real socket.io-client (window.io).
// Plain script, no framework: state lives in `S`; scheduleRender() redraws the list from
// it once per animation frame.
// Every server event used here is documented in docs/hub.md; events the server may not
// have yet (react, thread sync, notifications) time out and the page says so instead.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const ACK_TIMEOUT = 8000;        // ms to wait for any ack before calling it failed
  const TYPING_IDLE = 3000;        // send stop-typing after this much quiet (seed's value)
  const TYPING_RESEND = 2000;      // repeat 'typing' while typing so the server's expiry does not fire
  const TYPING_STALE = 6000;       // drop someone's indicator if the server's stop never comes
  const HISTORY = 50;              // messages loaded on entering a room
  const EMOJIS = ['👍', '❤️', '😄', '🎉', '😮'];

  const S = {
    me: null,               // {id, name}
    token: null,
    project: null,
    socket: null,
    messages: new Map(),    // id -> message (real or temp)
    pending: new Map(),     // tempId -> content (optimistic sends not yet confirmed)
    lastSeq: 0,             // highest seq seen in this room
    lastReadSeq: 0,         // my read marker
    readers: new Map(),     // userId -> {name, seq}: others' read markers
    online: new Map(),      // userId -> userName
    typing: new Map(),      // userId -> {name, timer}
    replyTo: null,          // message id the composer replies to
    notifications: new Map(),
    unreadNotifications: 0,
    everConnected: false,
    wasDisconnected: false,
    typingSentAt: 0,
    typingIdle: null,
    markReadTimer: null,
    features: { react: true, thread: true, notifications: true },
  };

  // ---- small helpers ------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);  // strings become text nodes: no HTML injection
    return e;
  }

  function toast(text, kind = 'info', ms = 5000) {
    const t = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
    $('toasts').append(t);
    setTimeout(() => t.remove(), ms);
  }

  function timeOf(iso) {
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // emit with an ack; resolves {ok:false, error:'timeout'} rather than rejecting.
  function request(event, payload) {
    return new Promise((resolve) => {
      if (!S.socket || !S.socket.connected) return resolve({ ok: false, error: 'offline' });
      S.socket.timeout(ACK_TIMEOUT).emit(event, payload, (err, res) => {
        if (err) return resolve({ ok: false, error: 'timeout' });
        resolve(res && typeof res === 'object' ? res : { ok: false, error: 'invalid' });
      });
    });
  }

  function atBottom() {
    const m = $('messages');
    return m.scrollHeight - m.scrollTop - m.clientHeight < 40;
  }

  // ---- connection banner ------------------------------------------------------------------

  const BANNER = {
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Connection lost — reconnecting…',
    recovered: 'Reconnected — session recovered, missed messages delivered',
    resynced: 'Reconnected — caught up with the room',
    failed: 'Disconnected',
  };
  let bannerTimer = null;
  function banner(state, detail) {
    const c = $('conn');
    c.hidden = false;
    c.dataset.state = state;
    document.body.dataset.conn = state;  // the CSS dims what may be stale while offline
    c.textContent = BANNER[state] + (detail ? ` ${detail}` : '');
    clearTimeout(bannerTimer);
    c.classList.remove('quiet');
    // Good news fades to a quiet line; bad news stays loud until it changes.
    if (state === 'connected' || state === 'recovered' || state === 'resynced')
      bannerTimer = setTimeout(() => c.classList.add('quiet'), 4000);
  }

  // ---- sign in ------------------------------------------------------------------------------

  function slug(name) {
    return name.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'user';
  }

  function claimsOf(token) {
    try {
      const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));  // names may be any UTF-8
    } catch { return null; }
  }

  async function signIn(name, project, token) {
    if (!token) {
      let res;
      try {
        res = await fetch('/dev/token', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ userId: slug(name), userName: name.trim(), projects: [project] }),
        });
      } catch {
        return toast('Cannot reach the server', 'error');
      }
      if (res.status === 404) return toast('This server is not in development mode: sign in with a token', 'error');
      if (!res.ok) return toast(`Sign-in failed (${res.status})`, 'error');
      token = (await res.json()).token;
    }
    const claims = claimsOf(token);
    if (!claims || !claims.sub) return toast('That token cannot be read', 'error');
    S.me = { id: String(claims.sub), name: claims.name || String(claims.sub) };
    S.token = token;
    S.project = project;
    sessionStorage.setItem('hub-demo', JSON.stringify({ token, project }));
    enterChat();
  }

  function signOut() {
    sessionStorage.removeItem('hub-demo');
    if (S.socket) S.socket.disconnect();
    location.reload();
  }

  // ---- the socket --------------------------------------------------------------------------------

  function enterChat() {
    $('signin').hidden = true;
    $('chat').hidden = false;
    $('project-label').hidden = false;
    $('project-label').textContent = `# ${S.project}`;
    $('me-label').hidden = false;
    $('me-label').textContent = S.me.name;
    $('sign-out').hidden = false;
    $('bell').hidden = false;
    banner('connecting');

    if (typeof io !== 'function') {
      banner('failed', '— the socket.io client script did not load (is socket.io-client installed on the server?)');
      return;
    }
    const socket = io({
      auth: { token: S.token },
      // Quicker retries than the defaults (1 s .. 5 s): a demo should show recovery promptly.
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
    });
    S.socket = socket;

    socket.on('connect', onConnect);
    socket.on('disconnect', (reason) => {
      S.wasDisconnected = true;
      clearTypingIndicators();
      if (reason === 'io server disconnect' || reason === 'io client disconnect') banner('failed');
      else banner('reconnecting');
    });
    socket.io.on('reconnect_attempt', (n) => banner('reconnecting', `(attempt ${n})`));
    socket.on('connect_error', (err) => {
      if (!socket.active) {
        // Refused by the server (bad or expired token): no automatic retry.
        banner('failed', `— ${err.message}`);
        toast(`Connection refused: ${err.message}`, 'error');
      } else if (!S.everConnected) {
        banner('connecting', '(server unreachable, retrying)');
      }
    });

    socket.on('new-message', (m) => { if (m && m.projectId === S.project) addMessage(m, true); });
    socket.on('user-typing', ({ userId, userName } = {}) => {
      if (!userId || userId === S.me.id) return;
      const prev = S.typing.get(userId);
      if (prev) clearTimeout(prev.timer);
      S.typing.set(userId, { name: userName || userId, timer: setTimeout(() => stoppedTyping(userId), TYPING_STALE) });
      renderTyping();
    });
    socket.on('user-stopped-typing', ({ userId } = {}) => stoppedTyping(userId));
    socket.on('user-joined', ({ userId, userName } = {}) => {
      if (!userId) return;
      S.online.set(userId, userName || userId);
      renderPresence();
    });
    socket.on('user-left', ({ userId } = {}) => {
      S.online.delete(userId);
      stoppedTyping(userId);
      renderPresence();
    });
    socket.on('message-read', ({ projectId, userId, seq, userName } = {}) => {
      if (projectId !== S.project || !userId || userId === S.me.id) return;
      const name = userName || S.online.get(userId) || (S.readers.get(userId) || {}).name || userId;
      S.readers.set(userId, { name, seq });
      scheduleRender();
    });
    socket.on('message-reaction', onReaction);
    socket.on('notification', onNotification);
    // Another tab of mine marked notifications read (mine gets the ack instead).
    socket.on('notifications-read', ({ ids, all, unread } = {}) => {
      for (const n of S.notifications.values()) if (all || (ids || []).includes(n.id)) n.read = true;
      if (typeof unread === 'number') S.unreadNotifications = unread;
      renderNotifications();
    });
    socket.on('error', (e) => { if (e && e.message) console.warn('server:', e.message); });
  }

  async function onConnect() {
    const socket = S.socket;
    const reconnect = S.everConnected;
    S.everConnected = true;
    if (socket.recovered) {
      // The server restored our rooms and replays what we missed as ordinary events.
      banner('recovered');
      const presence = await request('get-presence', { projectId: S.project });
      if (presence.ok) setOnline(presence.online);
      // Belt and braces (duplicates are merged by id); from the oldest message shown, since
      // reactions and reply counts that changed meanwhile are not replayed.
      await catchUp(firstLoadedSeq());
      return;
    }
    const user = await request('join-user-room', S.me.id);
    if (user.ok && typeof user.unread === 'number') {
      S.unreadNotifications = user.unread;
      renderNotifications();
    }
    const room = await request('join-chat-room', { projectId: S.project });
    if (!room.ok) {
      banner('failed', `— cannot join #${S.project} (${room.error})`);
      return;
    }
    setOnline(room.online);
    S.lastReadSeq = Math.max(S.lastReadSeq, room.lastReadSeq || 0);
    if (S.lastSeq === 0) {
      // Fresh page: the last HISTORY messages.
      await catchUp(Math.max(0, (room.lastSeq || 0) - HISTORY));
      $('history-note').hidden = false;
      $('history-note').textContent = room.lastSeq > HISTORY ? 'Older messages are not shown.' : 'Start of the conversation.';
      scrollToBottom();
    } else {
      await catchUp(firstLoadedSeq());  // also refreshes the reactions and reply counts shown
    }
    banner(reconnect && S.wasDisconnected ? 'resynced' : 'connected');
  }

  // Loads every message after `after` (default: the last one we have) through `sync`.
  async function catchUp(after = S.lastSeq) {
    for (let page = 0; page < 20; page++) {
      const res = await request('sync', { projectId: S.project, afterSeq: after, limit: 200 });
      if (!res.ok) {
        if (res.error === 'gap' && typeof res.oldestSeq === 'number' && res.oldestSeq - 1 > after) {
          // Only news if messages we never had are gone (not ones merely being refreshed).
          if (res.oldestSeq > S.lastSeq + 1) toast('Some older messages have expired', 'info');
          after = res.oldestSeq - 1;
          continue;
        }
        if (res.error !== 'offline') toast('Could not load messages', 'error');
        return;
      }
      for (const m of res.messages || []) addMessage(m, false);
      if (!res.hasMore || !(res.messages || []).length) return;
      after = res.messages[res.messages.length - 1].seq;
    }
  }

  // The seq just before the oldest message loaded (for a refresh of what is on screen).
  function firstLoadedSeq() {
    let first = S.lastSeq;
    for (const m of S.messages.values()) if (!m.temp && m.seq && m.seq - 1 < first) first = m.seq - 1;
    return first;
  }

  function setOnline(list) {
    S.online.clear();
    for (const u of list || []) if (u && u.userId) S.online.set(String(u.userId), u.userName || u.userId);
    renderPresence();
  }

  // ---- messages ------------------------------------------------------------------------------

  function addMessage(m, live) {
    if (!m || !m.id) return;
    const known = S.messages.get(m.id);
    if (known) {
      // Replayed and synced copies are the same message; a copy from `sync` carries the
      // current reaction counts and reply count, which live events do not repeat.
      if (m.reactions && typeof m.reactions === 'object') known.reactions = { ...m.reactions };
      if (typeof m.replyCount === 'number') known.replyCount = m.replyCount;
      scheduleRender();
      return;
    }
    if (m.senderId === S.me.id) {
      // Our own message coming back before its ack: it replaces its optimistic copy.
      for (const [tempId, content] of S.pending) {
        if (content === m.content) {
          S.pending.delete(tempId);
          S.messages.delete(tempId);
          break;
        }
      }
    }
    if (m.replyCount === undefined) m.replyCount = 0;
    m.reactions = m.reactions || {};
    S.messages.set(m.id, m);
    if (typeof m.seq === 'number' && m.seq > S.lastSeq) S.lastSeq = m.seq;
    if (live) stoppedTyping(m.senderId);
    if (live && m.senderId !== S.me.id && (document.hidden || !atBottom()))
      toast(`${m.senderName || m.senderId}: ${m.content.slice(0, 80)}`, 'note', 3500);
    scheduleRender();
  }

  async function send(content) {
    if (!S.socket || !S.socket.connected) {
      toast('Not connected — message not sent', 'error');
      return false;
    }
    // Optimistic: show it at once, greyed; the ack (or our own new-message) confirms it.
    const tempId = `temp-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
    const replyTo = S.replyTo;
    S.pending.set(tempId, content);
    S.messages.set(tempId, {
      id: tempId, temp: true, content, senderId: S.me.id, senderName: S.me.name,
      createdAt: new Date().toISOString(), replyTo: replyTo || undefined, reactions: {}, replyCount: 0,
    });
    setReplyTo(null);
    stopTyping();
    scheduleRender(true);
    const payload = { projectId: S.project, content };
    if (replyTo) payload.replyTo = replyTo;
    const res = await request('send-message', payload);
    if (res.ok && res.message) {
      if (S.messages.has(tempId)) {
        S.pending.delete(tempId);
        S.messages.delete(tempId);
      }
      addMessage(res.message, false);
      return true;
    }
    // Our own new-message already confirmed it (only the ack was lost): nothing to undo.
    if (!S.messages.has(tempId)) return true;
    // Roll back, and give the text back so nothing typed is lost.
    S.messages.delete(tempId);
    S.pending.delete(tempId);
    scheduleRender();
    if (!$('message').value) $('message').value = content;
    if (res.error === 'rate_limited') {
      const s = Math.ceil((res.retryAfterMs || 1000) / 1000);
      toast(`Failed to send message: slow down, try again in ${s} s`, 'error');
    } else {
      toast(`Failed to send message${res.error ? ` (${res.error})` : ''}`, 'error');
    }
    return false;
  }

  async function react(message, emoji) {
    if (!S.features.react) return toast('Reactions are not available on this server', 'info');
    const res = await request('react', { projectId: S.project, messageId: message.id, emoji });
    if (res.ok && (res.action === 'added' || res.action === 'removed')) {
      // The count comes with message-reaction (sent to all my tabs); this says whether it is mine.
      const m = S.messages.get(message.id);
      if (m) {
        m.mine = m.mine || {};
        m.mine[emoji] = res.action === 'added';
        scheduleRender();
      }
    }
    if (!res.ok) {
      if (res.error === 'timeout') S.features.react = false;
      toast(res.error === 'timeout' ? 'Reactions are not available on this server' : `Reaction failed (${res.error})`,
        res.error === 'timeout' ? 'info' : 'error');
    }
  }

  function onReaction({ projectId, messageId, userId, emoji, action } = {}) {
    if (projectId !== S.project) return;
    const m = S.messages.get(messageId);
    if (!m || !emoji) return;
    const n = (m.reactions[emoji] || 0) + (action === 'removed' ? -1 : 1);
    if (n > 0) m.reactions[emoji] = n; else delete m.reactions[emoji];
    if (userId === S.me.id) {
      m.mine = m.mine || {};
      m.mine[emoji] = action !== 'removed';
    }
    scheduleRender();
  }

  // All replies of a thread: sync {thread} pages through them (afterSeq is a room seq).
  async function loadThread(message) {
    if (!S.features.thread) return toast('Threads cannot be loaded from this server', 'info');
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const res = await request('sync', { projectId: S.project, thread: message.id, afterSeq: after, limit: 200 });
      if (!res.ok || !Array.isArray(res.messages)) {
        if (res.error === 'timeout') S.features.thread = false;
        return toast(res.error === 'timeout' ? 'Threads cannot be loaded from this server'
          : `Could not load the thread (${res.error})`, res.error === 'timeout' ? 'info' : 'error');
      }
      if (res.root) addMessage(res.root, false);  // its current reactions
      for (const m of res.messages) addMessage(m, false);
      if (!res.hasMore || !res.messages.length) return;
      after = res.messages[res.messages.length - 1].seq;
    }
  }

  // ---- read markers and unread counts --------------------------------------------------------

  function unreadCount() {
    let n = 0;
    for (const m of S.messages.values())
      if (!m.temp && m.senderId !== S.me.id && m.seq > S.lastReadSeq) n++;
    return n;
  }

  // Marks everything read when the newest message is on screen and the page is visible.
  // At most one mark-read every 400 ms; a pending one is kept (not pushed back by every
  // redraw: a busy room, with reactions coming in, would otherwise postpone it for ever).
  function maybeMarkRead() {
    if (document.hidden || !atBottom() || S.lastSeq <= S.lastReadSeq || S.markReadTimer) return;
    S.markReadTimer = setTimeout(async () => {
      S.markReadTimer = null;
      const seq = S.lastSeq;
      if (seq <= S.lastReadSeq || document.hidden || !atBottom()) return;
      const res = await request('mark-read', { projectId: S.project, seq });
      if (res.ok) {
        S.lastReadSeq = Math.max(S.lastReadSeq, res.lastReadSeq || seq);
        renderUnread();
      }
    }, 400);
  }

  // ---- typing ------------------------------------------------------------------------------------

  function onComposerInput() {
    if (!S.socket || !S.socket.connected) return;
    const now = Date.now();
    if (now - S.typingSentAt > TYPING_RESEND) {
      S.typingSentAt = now;
      S.socket.emit('typing', { projectId: S.project });
    }
    clearTimeout(S.typingIdle);
    S.typingIdle = setTimeout(stopTyping, TYPING_IDLE);
  }

  function stopTyping() {
    clearTimeout(S.typingIdle);
    if (!S.typingSentAt) return;
    S.typingSentAt = 0;
    if (S.socket && S.socket.connected) S.socket.emit('stop-typing', { projectId: S.project });
  }

  function stoppedTyping(userId) {
    const t = S.typing.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    S.typing.delete(userId);
    renderTyping();
  }

  function clearTypingIndicators() {
    for (const id of [...S.typing.keys()]) stoppedTyping(id);
  }

  // ---- notifications ---------------------------------------------------------------------------

  // A notification, or a new version of one: chat notifications are coalesced per project
  // (same id, data.count grows, createdAt changes) until read, and a new version is unread again.
  function onNotification(n) {
    if (!n || !n.id) return;
    const prev = S.notifications.get(n.id);
    if (prev && prev.createdAt === n.createdAt) return;  // the same version again (replay, push on connect)
    if (!n.read && (!prev || prev.read)) S.unreadNotifications += 1;
    S.notifications.set(n.id, n);
    if (!n.read) toast(`${n.title || 'Notification'}${n.message ? ': ' + n.message : ''}`, 'note');
    renderNotifications();
  }

  // The inbox as the server has it (GET /api/notifications with my token): the page only
  // hears of notifications that arrive while it is open, the badge counts older ones too.
  async function loadNotifications() {
    let res;
    try {
      res = await fetch('/api/notifications?limit=50', {
        headers: { Authorization: `Bearer ${S.token}` },
        signal: AbortSignal.timeout(ACK_TIMEOUT),
      });
    } catch { return; }
    if (!res.ok) return;  // a server without the inbox: keep what arrived live
    const body = await res.json().catch(() => null);
    if (!body || !Array.isArray(body.notifications)) return;
    for (const n of body.notifications) if (n && n.id) S.notifications.set(n.id, n);
    if (typeof body.unread === 'number') S.unreadNotifications = body.unread;
    renderNotifications();
  }

  // {all: true} or {ids: [...]}; the ack carries the new unread count, my other tabs get
  // notifications-read.
  async function markNotificationsRead(which) {
    const res = await request('mark-notifications-read', which);
    if (!res.ok) {
      return toast(res.error === 'timeout' ? 'Notifications are not available on this server'
        : `Could not mark read (${res.error})`, 'info');
    }
    for (const n of S.notifications.values()) if (which.all || which.ids.includes(n.id)) n.read = true;
    if (typeof res.unread === 'number') S.unreadNotifications = res.unread;
    renderNotifications();
  }

  // ---- rendering ----------------------------------------------------------------------------------

  let renderQueued = false;
  let stickToBottom = false;
  function scheduleRender(forceBottom = false) {
    stickToBottom = stickToBottom || forceBottom || atBottom();
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderMessages();
      if (stickToBottom) scrollToBottom();
      stickToBottom = false;
      renderUnread();
      maybeMarkRead();
    });
  }

  function scrollToBottom() {
    const m = $('messages');
    m.scrollTop = m.scrollHeight;
  }

  function parentOf(m) {
    if (m.replyTo === undefined || m.replyTo === null) return null;
    if (typeof m.replyTo === 'string') return S.messages.get(m.replyTo) || null;
    for (const p of S.messages.values()) if (p.seq === m.replyTo) return p;
    return null;
  }

  function renderMessages() {
    const all = [...S.messages.values()].sort((a, b) => {
      // Confirmed messages by seq; optimistic ones after them, by time.
      if (a.temp !== b.temp) return a.temp ? 1 : -1;
      if (!a.temp) return a.seq - b.seq;
      return a.createdAt < b.createdAt ? -1 : 1;
    });
    const replies = new Map();  // parent id -> [reply]
    const top = [];
    for (const m of all) {
      const p = parentOf(m);
      if (p) {
        if (!replies.has(p.id)) replies.set(p.id, []);
        replies.get(p.id).push(m);
      } else {
        top.push(m);
      }
    }
    // Where each reader's marker sits: the last confirmed message at or before it.
    const seenAt = new Map();  // message id -> [names]
    const confirmed = all.filter((m) => !m.temp);
    for (const r of S.readers.values()) {
      let at = null;
      for (const m of confirmed) if (m.seq <= r.seq) at = m;
      if (at) {
        if (!seenAt.has(at.id)) seenAt.set(at.id, []);
        seenAt.get(at.id).push(r.name);
      }
    }
    const list = $('messages');
    list.replaceChildren(...top.map((m) => messageItem(m, replies, seenAt, false)));
  }

  function messageItem(m, replies, seenAt, nested) {
    const mine = m.senderId === S.me.id;
    const li = el('li', {
      class: `msg${mine ? ' mine' : ''}${m.temp ? ' pending' : ''}${nested ? ' reply' : ''}`,
      dataset: { id: m.id, seq: m.seq || '', testid: 'message' },
    });
    li.append(el('div', { class: 'meta' },
      el('strong', {}, m.senderName || m.senderId), ' ',
      el('time', { datetime: m.createdAt }, m.temp ? 'sending…' : timeOf(m.createdAt))));
    if (m.replyTo !== undefined && m.replyTo !== null && !parentOf(m))
      li.append(el('div', { class: 'muted small' }, '↪ reply to a message not loaded'));
    li.append(el('div', { class: 'content', 'data-testid': 'content' }, m.content));

    if (!m.temp) {
      const bar = el('div', { class: 'actions' });
      for (const [emoji, count] of Object.entries(m.reactions || {})) {
        const on = Boolean(m.mine && m.mine[emoji]);
        bar.append(el('button', {
          type: 'button', class: `chip${on ? ' on' : ''}`, 'aria-label': `${emoji} ${count}`,
          'aria-pressed': String(on), title: on ? 'Remove your reaction' : 'React', onclick: () => react(m, emoji),
        }, `${emoji} ${count}`));
      }
      const picker = el('span', { class: 'picker' });
      for (const emoji of EMOJIS) {
        if (m.reactions && m.reactions[emoji]) continue;
        picker.append(el('button', { type: 'button', class: 'emoji', 'aria-label': `React ${emoji}`, onclick: () => react(m, emoji) }, emoji));
      }
      bar.append(picker);
      if (!nested) bar.append(el('button', { type: 'button', class: 'link', onclick: () => setReplyTo(m.id) }, 'Reply'));
      li.append(bar);
    }
    const seen = seenAt.get(m.id);
    if (seen) li.append(el('div', { class: 'seen muted small', 'data-testid': 'seen' }, `Seen by ${seen.join(', ')}`));

    const kids = replies.get(m.id) || [];
    const total = Math.max(m.replyCount || 0, kids.filter((k) => !k.temp).length);
    if (kids.length || total) {
      const thread = el('div', { class: 'thread' });
      thread.append(el('div', { class: 'muted small' }, `${total} ${total === 1 ? 'reply' : 'replies'}`));
      if (total > kids.filter((k) => !k.temp).length)
        thread.append(el('button', { type: 'button', class: 'link', onclick: () => loadThread(m) }, 'Show thread'));
      thread.append(el('ol', { class: 'replies' }, ...kids.map((k) => messageItem(k, replies, seenAt, true))));
      li.append(thread);
    }
    return li;
  }

  function renderTyping() {
    const names = [...S.typing.values()].map((t) => t.name);
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    $('typing').textContent = text;
  }

  function renderPresence() {
    const ids = [...S.online.keys()].sort((a, b) => (a === S.me.id ? -1 : b === S.me.id ? 1 : a.localeCompare(b)));
    $('presence').replaceChildren(...ids.map((id) =>
      el('li', { dataset: { user: id } }, el('span', { class: 'dot' }), S.online.get(id) + (id === S.me.id ? ' (you)' : ''))));
    $('online-count').textContent = String(ids.length);
  }

  function renderUnread() {
    const n = unreadCount();
    const pill = $('unread-messages');
    pill.hidden = n === 0;
    pill.textContent = `${n} unread`;
    document.title = `${n + S.unreadNotifications ? `(${n + S.unreadNotifications}) ` : ''}Project Hub`;
  }

  function renderNotifications() {
    const b = $('badge');
    b.hidden = S.unreadNotifications <= 0;
    b.textContent = String(S.unreadNotifications);
    const items = [...S.notifications.values()].sort((a, b2) => (a.createdAt < b2.createdAt ? 1 : -1));
    $('notification-list').replaceChildren(...items.map((n) =>
      el('li', { class: n.read ? 'read' : 'unread', dataset: { id: n.id } },
        el('strong', {}, n.title || 'Notification'), ' ', n.message || '',
        el('div', { class: 'muted small' }, timeOf(n.createdAt), ' ',
          n.read ? null : el('button', {
            type: 'button', class: 'link', onclick: () => markNotificationsRead({ ids: [n.id] }),
          }, 'Mark read')))));
    $('no-notifications').hidden = items.length > 0;
    renderUnread();
  }

  function setReplyTo(id) {
    S.replyTo = id;
    const m = id && S.messages.get(id);
    $('reply-bar').hidden = !m;
    if (m) {
      $('reply-text').textContent = `Replying to ${m.senderName || m.senderId}: ${m.content.slice(0, 60)}`;
      $('message').focus();
    }
  }

  // ---- wiring -------------------------------------------------------------------------------------

  $('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('name').value.trim();
    const project = $('project').value.trim();
    const token = $('token').value.trim();
    if ((!name && !token) || !project) return;
    signIn(name || 'user', project, token || null);
  });
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const content = $('message').value;
    if (!content.trim()) return;
    $('message').value = '';
    send(content);
  });
  $('message').addEventListener('input', onComposerInput);
  $('reply-cancel').addEventListener('click', () => setReplyTo(null));
  $('sign-out').addEventListener('click', signOut);
  $('bell').addEventListener('click', () => {
    const panel = $('notifications');
    panel.hidden = !panel.hidden;
    $('bell').setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) loadNotifications();
  });
  $('mark-all-read').addEventListener('click', () => markNotificationsRead({ all: true }));
  $('unread-messages').addEventListener('click', scrollToBottom);  // reading them marks them read
  $('messages').addEventListener('scroll', () => maybeMarkRead());
  document.addEventListener('visibilitychange', () => maybeMarkRead());

  // A reload keeps this tab signed in (sessionStorage is per tab).
  try {
    const saved = JSON.parse(sessionStorage.getItem('hub-demo') || 'null');
    if (saved && saved.token) {
      const claims = claimsOf(saved.token);
      if (claims && claims.exp * 1000 > Date.now()) {
        S.me = { id: String(claims.sub), name: claims.name || String(claims.sub) };
        S.token = saved.token;
        S.project = saved.project;
        enterChat();
      }
    }
  } catch { /* a broken entry: show the form */ }
})();
