// client-ts/src/errors.ts
var AuthError = class extends Error {
  constructor(status) {
    super(`handshake refused${status === void 0 ? "" : `: ${status}`}`);
    this.status = status;
  }
  status;
  name = "AuthError";
};
var RequestError = class extends Error {
  constructor(frame) {
    const code = typeof frame.code === "string" ? frame.code : "unknown";
    super(`${code}: ${typeof frame.message === "string" ? frame.message : ""}`);
    this.frame = frame;
    this.code = code;
  }
  frame;
  name = "RequestError";
  code;
};
var NotConnectedError = class extends Error {
  name = "NotConnectedError";
};

// client-ts/src/ids.ts
var USER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
var BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
var MAX_MENTIONS = 50;
var MAX_PRESENCE_USERS = 100;
var InvalidUserIdsError = class extends Error {
  name = "InvalidUserIdsError";
};
function newId() {
  const bytes = new Uint8Array(16);
  const crypto = globalThis.crypto;
  if (crypto?.getRandomValues) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
function base64UrlDecode(text) {
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const char of text.replace(/=+$/, "")) {
    const digit = BASE64URL.indexOf(char === "+" ? "-" : char === "/" ? "_" : char);
    if (digit < 0) throw new Error("token: not base64url");
    value = value << 6 | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push(value >> bits & 255);
    }
  }
  return decodeURIComponent(bytes.map((b) => "%" + b.toString(16).padStart(2, "0")).join(""));
}
function tokenClaims(token) {
  const payload = token.split(".")[1];
  if (payload === void 0) throw new Error("token: not a JWT");
  const claims = JSON.parse(base64UrlDecode(payload));
  if (typeof claims?.sub !== "string") throw new Error("token: no sub claim");
  return typeof claims.exp === "number" ? { sub: claims.sub, exp: claims.exp } : { sub: claims.sub };
}
function tokenUser(token) {
  return tokenClaims(token).sub;
}
function checkedUserIds(users, most, least = 0) {
  const given = users;
  if (!Array.isArray(given)) throw new InvalidUserIdsError("a list of user ids");
  const ids = [];
  for (const user of given) {
    if (typeof user !== "string" || !USER_ID.test(user)) {
      throw new InvalidUserIdsError(`not a user id: ${JSON.stringify(user)}`);
    }
    ids.push(user);
  }
  if (ids.length < least || ids.length > most) {
    const span = least === 0 ? `at most ${most}` : `${least} to ${most}`;
    throw new InvalidUserIdsError(`${span} user ids, not ${ids.length}`);
  }
  const repeated = [...new Set(ids.filter((u, i) => ids.indexOf(u) !== i))].sort();
  if (repeated.length > 0) {
    throw new InvalidUserIdsError(`named more than once: ${repeated.join(", ")}`);
  }
  return ids;
}

// client-ts/src/connection.ts
var OPEN = 1;
function parse(data) {
  if (typeof data !== "string") return void 0;
  try {
    const frame = JSON.parse(data);
    return typeof frame === "object" && frame !== null && !Array.isArray(frame) ? frame : void 0;
  } catch {
    return void 0;
  }
}
function handshakeStatus(event) {
  const candidates = [
    event?.message,
    event?.error?.message
  ];
  for (const text of candidates) {
    const match = typeof text === "string" ? /server response: (\d{3})/.exec(text) : null;
    if (match?.[1] !== void 0) return Number(match[1]);
  }
  return void 0;
}
var Connection = class {
  constructor(url, WebSocketImpl, options, session) {
    this.url = url;
    this.WebSocketImpl = WebSocketImpl;
    this.options = options;
    this.session = session;
  }
  url;
  WebSocketImpl;
  options;
  session;
  socket;
  // opening or open
  ws;
  // open
  pending = /* @__PURE__ */ new Map();
  lastTraffic = 0;
  ticker;
  pinging = false;
  stopped = false;
  wake;
  get open() {
    return this.ws !== void 0 && this.ws.readyState === OPEN;
  }
  /** Open sockets one after another until `stop`; resolves then, or with the HTTP status of
   * a refused handshake (401/403: the token is bad, trying again is pointless). */
  async run(refusals) {
    this.stopped = false;
    let attempt = 0;
    while (!this.isStopped()) {
      const outcome = await this.connectOnce(await this.url());
      if (outcome.opened) attempt = 0;
      if (outcome.status !== void 0 && refusals.has(outcome.status)) return outcome.status;
      if (this.isStopped()) break;
      const delay = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
      attempt += 1;
      await this.sleep(delay * (0.5 + Math.random() / 2));
    }
    return void 0;
  }
  /** Stop reconnecting and close the socket; `run` resolves once it has closed. */
  stop() {
    this.stopped = true;
    this.wake?.();
    this.socket?.close();
  }
  /** `stopped` as it is now (stop() may have run while awaiting). */
  isStopped() {
    return this.stopped;
  }
  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  /** One socket, from opening to closed. */
  connectOnce(url) {
    return new Promise((resolve) => {
      let ws;
      try {
        ws = new this.WebSocketImpl(url);
      } catch {
        resolve({ opened: false });
        return;
      }
      this.socket = ws;
      let opened = false;
      let status;
      ws.onopen = () => {
        opened = true;
        if (this.stopped) ws.close();
        else this.serve(ws);
      };
      ws.onmessage = (event) => {
        if (this.ws === ws) this.receive(event.data);
      };
      ws.onerror = (event) => {
        status ??= handshakeStatus(event);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.served();
        if (this.socket === ws) this.socket = void 0;
        resolve(status === void 0 ? { opened } : { opened, status });
      };
    });
  }
  serve(ws) {
    this.ws = ws;
    this.lastTraffic = this.options.now();
    this.ticker = setInterval(() => void this.tick(ws), this.options.tickMs);
    this.session.opened({
      close: () => {
        if (this.ws === ws) ws.close();
      }
    });
  }
  served() {
    this.ws = void 0;
    clearInterval(this.ticker);
    this.ticker = void 0;
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new NotConnectedError("disconnected"));
    }
    this.pending.clear();
    this.session.closed();
  }
  receive(data) {
    this.lastTraffic = this.options.now();
    const frame = parse(data);
    if (frame === void 0) return;
    const requestId = frame.requestId;
    const request = typeof requestId === "string" ? this.pending.get(requestId) : void 0;
    if (request === void 0) {
      this.session.frame(frame, false);
      return;
    }
    this.pending.delete(requestId);
    clearTimeout(request.timer);
    if (frame.type === "error") request.reject(new RequestError(frame));
    else request.resolve(frame);
    if (!request.probe && frame.type !== "error") this.session.frame(frame, true);
  }
  /** The session's upkeep, then a ping if the socket has been quiet for `pingIntervalMs`:
   * no pong in time means the socket is dead, so it is closed (and another opened). */
  async tick(ws) {
    this.session.tick();
    const quiet = this.options.now() - this.lastTraffic >= this.options.pingIntervalMs;
    if (this.pinging || !quiet) return;
    this.pinging = true;
    try {
      await this.request({ action: "ping" });
    } catch {
      if (this.ws === ws) ws.close();
    } finally {
      this.pinging = false;
    }
  }
  /** Send a frame if a socket is open; false if it could not go out. */
  send(frame) {
    const ws = this.ws;
    if (ws === void 0 || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      return false;
    }
    this.lastTraffic = this.options.now();
    return true;
  }
  /** Send a frame with a fresh requestId and resolve with its reply (`RequestError` for an
   * `error` one, `NotConnectedError` without a socket, or without a reply in time). The
   * reply also goes to the session unless `probe` (it is the caller's alone). */
  request(frame, probe = false) {
    const requestId = newId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new NotConnectedError(`no reply in ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer, probe });
      if (!this.send({ ...frame, requestId })) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(new NotConnectedError("not connected"));
      }
    });
  }
};

// client-ts/src/emitter.ts
var Emitter = class {
  listeners = /* @__PURE__ */ new Map();
  on(type, listener) {
    let set = this.listeners.get(type);
    if (set === void 0) {
      set = /* @__PURE__ */ new Set();
      this.listeners.set(type, set);
    }
    const stored = listener;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }
  emit(type, event) {
    for (const listener of [...this.listeners.get(type) ?? []]) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
};

// client-ts/src/revisions.ts
var RECALLED = { recalled: true, version: 0, body: void 0 };
function revisionOf(carrier) {
  if (carrier.recalled === true) return RECALLED;
  const revision = {
    recalled: false,
    version: typeof carrier.version === "number" ? carrier.version : 0,
    body: carrier.body
  };
  if (typeof carrier.editedAt === "number") revision.editedAt = carrier.editedAt;
  return revision;
}
function latest(held, seen) {
  if (held.recalled || seen.recalled) return RECALLED;
  return seen.version > held.version ? seen : held;
}
function sameRevision(held, kept) {
  return held.recalled === kept.recalled && held.version === kept.version;
}

// client-ts/src/store.ts
var clone = (value) => JSON.parse(JSON.stringify(value));
var MemoryStore = class {
  channels = /* @__PURE__ */ new Map();
  messages = /* @__PURE__ */ new Map();
  outbox = /* @__PURE__ */ new Map();
  load() {
    return Promise.resolve(
      clone({
        channels: [...this.channels.values()],
        messages: [...this.messages.values()],
        outbox: [...this.outbox.values()]
      })
    );
  }
  write(batch) {
    const copy = clone(batch);
    if (copy.reset) {
      this.channels.clear();
      this.messages.clear();
    }
    for (const record of copy.channels ?? []) this.channels.set(record.channel, record);
    for (const record of copy.messages ?? []) {
      this.messages.set(`${record.channel}\0${record.seq}`, record);
    }
    for (const entry of copy.outbox ?? []) this.outbox.set(entry.clientMsgNo, entry);
    for (const clientMsgNo of copy.deleteOutbox ?? []) this.outbox.delete(clientMsgNo);
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
};

// client-ts/src/state.ts
function emptyChannel(channel) {
  return {
    channel,
    lastSeq: 0,
    readSeq: 0,
    wantedRead: 0,
    expiredThrough: 0,
    muted: false,
    peerReadSeq: 0,
    early: {},
    anchors: {}
  };
}
function keep(record, test) {
  return Object.fromEntries(Object.entries(record).filter(([seq]) => test(Number(seq))));
}
var int = (value) => typeof value === "number" ? Math.trunc(value) : 0;
var State = class {
  channels = /* @__PURE__ */ new Map();
  held = /* @__PURE__ */ new Map();
  /** channel → the seqs known recalled (held messages and early changes alike). */
  recalledSeqs = /* @__PURE__ */ new Map();
  prefixes = /* @__PURE__ */ new Map();
  maxSeqs = /* @__PURE__ */ new Map();
  // channel → the highest seq held
  outboxEntries = /* @__PURE__ */ new Map();
  dirtyChannels = /* @__PURE__ */ new Set();
  dirtyMessages = /* @__PURE__ */ new Map();
  dirtyOutbox = /* @__PURE__ */ new Map();
  resetPending = false;
  load(snapshot) {
    for (const record of snapshot.channels) this.channels.set(record.channel, record);
    for (const record of snapshot.messages) this.put(record);
    const entries = [...snapshot.outbox].sort((a, b) => a.created - b.created);
    for (const entry of entries) this.outboxEntries.set(entry.clientMsgNo, entry);
    for (const record of snapshot.channels) {
      for (const [seq, early] of Object.entries(record.early)) {
        if (early.recalled) this.recalledOf(record.channel).add(Number(seq));
      }
    }
  }
  /** The changes since the last call, as one store batch (undefined: none). */
  takeBatch() {
    const batch = {};
    if (this.resetPending) batch.reset = true;
    const channels = [...this.dirtyChannels].flatMap((c) => this.channels.get(c) ?? []);
    if (channels.length > 0) batch.channels = clone(channels);
    if (this.dirtyMessages.size > 0) batch.messages = clone([...this.dirtyMessages.values()]);
    const puts = [...this.dirtyOutbox.values()].filter((e) => e !== null);
    const deletes = [...this.dirtyOutbox].filter(([, e]) => e === null).map(([k]) => k);
    if (puts.length > 0) batch.outbox = clone(puts);
    if (deletes.length > 0) batch.deleteOutbox = deletes;
    this.dirtyChannels.clear();
    this.dirtyMessages.clear();
    this.dirtyOutbox.clear();
    this.resetPending = false;
    return Object.keys(batch).length > 0 ? batch : void 0;
  }
  channel(channel) {
    let record = this.channels.get(channel);
    if (record === void 0) {
      record = emptyChannel(channel);
      this.channels.set(channel, record);
    }
    this.dirtyChannels.add(channel);
    return record;
  }
  peek(channel) {
    return this.channels.get(channel);
  }
  recalledOf(channel) {
    let seqs = this.recalledSeqs.get(channel);
    if (seqs === void 0) {
      seqs = /* @__PURE__ */ new Set();
      this.recalledSeqs.set(channel, seqs);
    }
    return seqs;
  }
  put(record) {
    let byseq = this.held.get(record.channel);
    if (byseq === void 0) {
      byseq = /* @__PURE__ */ new Map();
      this.held.set(record.channel, byseq);
    }
    byseq.set(record.seq, record);
    this.maxSeqs.set(record.channel, Math.max(this.maxSeqs.get(record.channel) ?? 0, record.seq));
    if (record.recalled) this.recalledOf(record.channel).add(record.seq);
  }
  changed(record) {
    this.dirtyMessages.set(`${record.channel}\0${record.seq}`, record);
  }
  // messages
  /** Hold a message (a `message` frame, a sync item); false if (channel, seq) is held. Its
   * recall or edits, seen before or with it, are merged in either way. */
  addMessage(channel, message2) {
    const seq = int(message2.seq);
    const revision = revisionOf(message2);
    if (this.message(channel, seq) !== void 0) {
      this.reviseWith(channel, seq, revision);
      return false;
    }
    const mentions = message2.mentions;
    const record = {
      channel,
      seq,
      messageId: String(message2.messageId),
      from: String(message2.from),
      body: revision.body,
      ts: int(message2.ts),
      mentions: revision.recalled || !Array.isArray(mentions) ? [] : mentions.map(String),
      recalled: revision.recalled,
      version: revision.version
    };
    if (typeof message2.clientMsgNo === "string") record.clientMsgNo = message2.clientMsgNo;
    if (revision.editedAt !== void 0) record.editedAt = revision.editedAt;
    this.put(record);
    this.changed(record);
    const early = this.peek(channel)?.early[seq];
    if (early !== void 0) {
      const record2 = this.channel(channel);
      record2.early = keep(record2.early, (at) => at !== seq);
      this.reviseWith(channel, seq, early);
    }
    this.settleAnchor(channel, seq, record.messageId);
    return true;
  }
  /** The message at `seq` is recalled (a `recall` frame); false if that was known. */
  recall(channel, seq) {
    return this.reviseWith(channel, seq, RECALLED);
  }
  /** Keep the revision an `edit` frame or a `lastMessage` carries if it is the latest;
   * false if it changes nothing. */
  revise(channel, seq, carrier) {
    return this.reviseWith(channel, seq, revisionOf(carrier));
  }
  reviseWith(channel, seq, seen) {
    const record = this.message(channel, seq);
    if (record === void 0) {
      const held2 = this.peek(channel)?.early[seq];
      const kept2 = held2 === void 0 ? seen : latest(held2, seen);
      if (held2 !== void 0 && sameRevision(held2, kept2)) return false;
      this.channel(channel).early[seq] = kept2;
      if (kept2.recalled) this.recalledOf(channel).add(seq);
      return true;
    }
    const held = {
      recalled: record.recalled,
      version: record.version,
      body: record.body
    };
    const kept = latest(held, seen);
    if (sameRevision(held, kept)) return false;
    record.recalled = kept.recalled;
    record.version = kept.version;
    record.body = kept.body;
    if (kept.editedAt !== void 0) record.editedAt = kept.editedAt;
    else delete record.editedAt;
    if (kept.recalled) {
      record.mentions = [];
      this.recalledOf(channel).add(seq);
    }
    this.changed(record);
    return true;
  }
  message(channel, seq) {
    return this.held.get(channel)?.get(seq);
  }
  /** The held messages in seq order. */
  messages(channel) {
    return [...this.held.get(channel)?.values() ?? []].sort((a, b) => a.seq - b.seq);
  }
  /** The held message with the highest seq. */
  newest(channel) {
    const seq = this.maxSeqs.get(channel);
    return seq === void 0 ? void 0 : this.message(channel, seq);
  }
  maxSeq(channel) {
    return this.newest(channel)?.seq ?? 0;
  }
  /** The highest n such that every message 1..n is held or expired (0 if none). */
  contiguousPrefix(channel) {
    const byseq = this.held.get(channel);
    let prefix = Math.max(this.prefixes.get(channel) ?? 0, this.expiredThrough(channel));
    while (byseq?.has(prefix + 1)) prefix += 1;
    this.prefixes.set(channel, prefix);
    return prefix;
  }
  /** Every seq up to `seq` not held has expired on the server: `sync` will never return it.
   * A read anchor there can no longer settle. */
  markExpiredThrough(channel, seq) {
    if (seq <= this.expiredThrough(channel)) return;
    const record = this.channel(channel);
    record.expiredThrough = seq;
    record.anchors = keep(record.anchors, (at) => at > seq);
  }
  expiredThrough(channel) {
    return this.peek(channel)?.expiredThrough ?? 0;
  }
  // cursors
  /** Record the channel's lastSeq as known from the server (never moves backwards). */
  setLastSeq(channel, lastSeq) {
    if (lastSeq > (this.peek(channel)?.lastSeq ?? -1)) this.channel(channel).lastSeq = lastSeq;
  }
  /** Move the read cursor forward (never backwards). */
  setReadSeq(channel, readSeq) {
    if (readSeq > (this.peek(channel)?.readSeq ?? -1)) this.channel(channel).readSeq = readSeq;
  }
  readSeq(channel) {
    return this.peek(channel)?.readSeq ?? 0;
  }
  /** The highest seq known: the server's lastSeq or a held message, whichever is higher. */
  lastSeq(channel) {
    return Math.max(this.peek(channel)?.lastSeq ?? 0, this.maxSeq(channel));
  }
  unread(channel) {
    return this.unreadIn(channel, this.readSeq(channel), this.lastSeq(channel));
  }
  /** What unread would be with these cursors (a server's, to compare with its count): the
   * seqs in (readSeq, lastSeq] not known recalled (one not held counts). */
  unreadIn(channel, readSeq, lastSeq) {
    if (lastSeq <= readSeq) return 0;
    let recalled = 0;
    for (const seq of this.recalledSeqs.get(channel) ?? []) {
      if (seq > readSeq && seq <= lastSeq) recalled += 1;
    }
    return lastSeq - readSeq - recalled;
  }
  /** How many of the unread messages mention `user`. */
  mentions(channel, user) {
    return this.mentionsIn(channel, user, this.readSeq(channel), this.lastSeq(channel));
  }
  mentionsIn(channel, user, readSeq, lastSeq) {
    const byseq = this.held.get(channel);
    if (byseq === void 0 || lastSeq <= readSeq) return 0;
    const unread = lastSeq - readSeq <= byseq.size ? Array.from({ length: lastSeq - readSeq }, (_, i) => byseq.get(readSeq + 1 + i)) : [...byseq.values()].filter((m) => m.seq > readSeq && m.seq <= lastSeq);
    return unread.filter((m) => m !== void 0 && !m.recalled && m.mentions.includes(user)).length;
  }
  setMuted(channel, muted) {
    if ((this.peek(channel)?.muted ?? false) !== muted) this.channel(channel).muted = muted;
  }
  muted(channel) {
    return this.peek(channel)?.muted ?? false;
  }
  /** Record the DM peer's read cursor (never backwards); true if it rose. */
  raisePeerReadSeq(channel, readSeq) {
    if (readSeq <= this.peerReadSeq(channel)) return false;
    this.channel(channel).peerReadSeq = readSeq;
    return true;
  }
  peerReadSeq(channel) {
    return this.peek(channel)?.peerReadSeq ?? 0;
  }
  /** Every channel with cursors or messages, sorted. */
  channelIds() {
    return [.../* @__PURE__ */ new Set([...this.channels.keys(), ...this.held.keys()])].sort();
  }
  /** The unread of every channel not muted. */
  totalUnread() {
    let total = 0;
    for (const channel of this.channelIds()) {
      if (!this.muted(channel)) total += this.unread(channel);
    }
    return total;
  }
  // outbox
  outboxAdd(entry) {
    if (this.outboxEntries.has(entry.clientMsgNo)) return;
    this.outboxEntries.set(entry.clientMsgNo, entry);
    this.dirtyOutbox.set(entry.clientMsgNo, entry);
  }
  /** Drop an entry; returns it, or undefined if it was not there. */
  outboxRemove(clientMsgNo) {
    const entry = this.outboxEntries.get(clientMsgNo);
    if (entry !== void 0) {
      this.outboxEntries.delete(clientMsgNo);
      this.dirtyOutbox.set(clientMsgNo, null);
    }
    return entry;
  }
  outboxGet(clientMsgNo) {
    return this.outboxEntries.get(clientMsgNo);
  }
  /** The entries, oldest first. */
  outbox() {
    return [...this.outboxEntries.values()];
  }
  // reads the server does not hold yet
  /** The user read the channel up to `seq`: keep it until the server holds it. */
  wantRead(channel, seq) {
    if (seq > (this.peek(channel)?.wantedRead ?? 0)) this.channel(channel).wantedRead = seq;
  }
  wantedRead(channel) {
    return this.peek(channel)?.wantedRead ?? 0;
  }
  /** channel → wanted read, for every channel with one. */
  wantedReads() {
    const wanted = /* @__PURE__ */ new Map();
    for (const record of this.channels.values()) {
      if (record.wantedRead > 0) wanted.set(record.channel, record.wantedRead);
    }
    return wanted;
  }
  /** The server reports the user's read cursor at `readSeq`: the local cursor moves there
   * (never backwards), and a wanted read it covers is held, so forgotten. */
  readConfirmed(channel, readSeq) {
    this.setReadSeq(channel, readSeq);
    this.dropWantedRead(channel, readSeq);
  }
  /** Give up a wanted read of at most `seq` (the server cannot hold it). */
  dropWantedRead(channel, seq) {
    const wanted = this.wantedRead(channel);
    if (wanted > 0 && wanted <= seq) this.channel(channel).wantedRead = 0;
  }
  anchors(channel) {
    return { ...this.peek(channel)?.anchors ?? {} };
  }
  /** A message at the seq of a read anchor settles it: the very message read brings the
   * read back up to it; any other one drops the anchors from it on. */
  settleAnchor(channel, seq, messageId) {
    const anchors = this.peek(channel)?.anchors;
    const read = anchors?.[seq];
    if (anchors === void 0 || read === void 0) return;
    const record = this.channel(channel);
    record.anchors = keep(anchors, (at) => read === messageId ? at > seq : at < seq);
    if (read === messageId && this.readSeq(channel) < seq) {
      this.setReadSeq(channel, seq);
      this.wantRead(channel, seq);
    }
  }
  // the server lost its state
  /** A held message to recognise the server by: the newest of a DM, else of any channel
   * (a group can be gone for other reasons). */
  witness() {
    let best;
    const rank = (m) => [
      m.channel.startsWith("dm:") ? 1 : 0,
      m.ts,
      m.seq
    ];
    for (const byseq of this.held.values()) {
      for (const record of byseq.values()) {
        if (best === void 0) {
          best = record;
          continue;
        }
        const [a, b] = [rank(record), rank(best)];
        if (a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] > b[2]) {
          best = record;
        }
      }
    }
    return best && { channel: best.channel, seq: best.seq, messageId: best.messageId };
  }
  /** The server no longer holds what came from it: drop messages, early changes, cursors and
   * expiry records; keep the outbox, and keep reads as anchors (seq → messageId of every held
   * message the read covered), settled by the new server's messages as they arrive. */
  forgetServer() {
    const kept = /* @__PURE__ */ new Map();
    for (const record of this.channels.values()) {
      const read = Math.max(record.readSeq, record.wantedRead);
      const anchors = { ...record.anchors };
      for (const message2 of this.held.get(record.channel)?.values() ?? []) {
        if (message2.seq <= read) anchors[message2.seq] = message2.messageId;
      }
      if (Object.keys(anchors).length > 0) {
        kept.set(record.channel, { ...emptyChannel(record.channel), anchors });
      }
    }
    this.channels = kept;
    this.held.clear();
    this.maxSeqs.clear();
    this.recalledSeqs.clear();
    this.prefixes.clear();
    this.dirtyMessages.clear();
    this.dirtyChannels = new Set(kept.keys());
    this.resetPending = true;
  }
};

// client-ts/src/sync.ts
var PAGE_LIMIT = 100;
var int2 = (value) => typeof value === "number" ? Math.trunc(value) : 0;
function seqsOf(page2) {
  return Array.isArray(page2.messages) ? page2.messages.map((m) => int2(m.seq)) : [];
}
async function fetchConversations(request) {
  let cursor = null;
  const list = [];
  for (; ; ) {
    const page2 = await request({ action: "sync", limit: PAGE_LIMIT, cursor });
    if (Array.isArray(page2.conversations)) list.push(...page2.conversations);
    cursor = page2.next ?? null;
    if (cursor === null) return list;
  }
}
async function fill(request, state, channel) {
  for (; ; ) {
    const after = state.contiguousPrefix(channel);
    if (after >= state.lastSeq(channel)) return;
    const page2 = await request({ action: "sync", channel, afterSeq: after, limit: PAGE_LIMIT });
    const seqs = seqsOf(page2);
    if (seqs.length > 0) state.markExpiredThrough(channel, Math.min(...seqs) - 1);
    else if (page2.more !== true) state.markExpiredThrough(channel, int2(page2.lastSeq));
    if (state.contiguousPrefix(channel) <= after) return;
  }
}
async function recount(request, state, user, conversation2) {
  const channel = String(conversation2.channel);
  const [read, last] = [int2(conversation2.readSeq), int2(conversation2.lastSeq)];
  const unread = state.unreadIn(channel, read, last);
  const mentions = state.mentionsIn(channel, user, read, last);
  const theirs = typeof conversation2.mentions === "number" ? conversation2.mentions : mentions;
  if (unread === conversation2.unread && mentions === theirs) return;
  let after = read;
  while (after < last) {
    const page2 = await request({ action: "sync", channel, afterSeq: after, limit: PAGE_LIMIT });
    const seqs = seqsOf(page2);
    if (seqs.length === 0 || page2.more !== true) return;
    after = Math.max(...seqs);
  }
}
async function holds(request, witness) {
  const frame = { action: "sync", channel: witness.channel, afterSeq: witness.seq - 1, limit: 1 };
  let page2;
  try {
    page2 = await request(frame, true);
  } catch (error) {
    if (error instanceof RequestError && error.code === "forbidden") return false;
    throw error;
  }
  const items = Array.isArray(page2.messages) ? page2.messages : [];
  for (const item of items) {
    if (int2(item.seq) === witness.seq) return item.messageId === witness.messageId;
  }
  return int2(page2.lastSeq) >= witness.seq;
}

// client-ts/src/resend.ts
var PERMANENT_ERRORS = /* @__PURE__ */ new Set(["invalid", "forbidden", "too_large"]);
var RETRYABLE_ERRORS = /* @__PURE__ */ new Set(["throttled", "internal"]);
var OutboxSender = class {
  // clientMsgNo → retryable errors
  constructor(state, options) {
    this.state = state;
    this.options = options;
  }
  state;
  options;
  due = /* @__PURE__ */ new Map();
  // clientMsgNo → when to send it (again)
  failures = /* @__PURE__ */ new Map();
  /** A new connection, or an unknown outcome: every entry goes out again. */
  resetDue() {
    this.due.clear();
  }
  /** The server lost its state: earlier failures tell nothing of the new one. */
  forgetFailures() {
    this.failures.clear();
  }
  transmit(entry) {
    this.due.set(entry.clientMsgNo, this.options.now() + this.options.resendTimeoutMs);
    const frame = {
      action: "send",
      channel: entry.channel,
      clientMsgNo: entry.clientMsgNo,
      body: entry.body
    };
    if (entry.mentions.length > 0) frame.mentions = entry.mentions;
    this.options.send(frame);
  }
  /** Send every entry not sent on this connection, or overdue. */
  resendDue() {
    const now = this.options.now();
    for (const entry of this.state.outbox()) {
      if ((this.due.get(entry.clientMsgNo) ?? now) <= now) this.transmit(entry);
    }
  }
  /** Its sendack came: the entry leaves the outbox; returns it (undefined if it had). */
  acknowledged(clientMsgNo) {
    this.due.delete(clientMsgNo);
    this.failures.delete(clientMsgNo);
    return this.state.outboxRemove(clientMsgNo);
  }
  /** An `error` for a send: a permanent one drops the entry (returned, for the UI), a
   * retryable one sends it again soon, backing off as the same entry keeps failing. */
  refused(clientMsgNo, code) {
    if (PERMANENT_ERRORS.has(code)) {
      this.due.delete(clientMsgNo);
      return this.state.outboxRemove(clientMsgNo);
    }
    if (RETRYABLE_ERRORS.has(code)) {
      const failures = (this.failures.get(clientMsgNo) ?? 0) + 1;
      this.failures.set(clientMsgNo, failures);
      const { resendTimeoutMs, backoffBaseMs } = this.options;
      const delay = Math.min(resendTimeoutMs, backoffBaseMs * 2 ** (failures - 1));
      this.due.set(clientMsgNo, this.options.now() + delay);
    }
    return void 0;
  }
};
var ReadSender = class {
  // requestId → (channel, seq)
  constructor(state, options) {
    this.state = state;
    this.options = options;
  }
  state;
  options;
  due = /* @__PURE__ */ new Map();
  // channel → (seq sent, when again)
  asks = /* @__PURE__ */ new Map();
  /** A new connection: every wanted read goes out again, and earlier asks get no reply. */
  resetDue() {
    this.due.clear();
    this.asks.clear();
  }
  /** An unknown outcome: every wanted read goes out again. */
  unknownOutcome() {
    this.due.clear();
  }
  /** Send the channel's wanted read with a requestId: the reply tells this read's outcome
   * apart from other devices' reads. */
  send(channel) {
    const seq = this.state.wantedRead(channel);
    if (seq <= 0) return;
    for (const [requestId2, [asked]] of this.asks) {
      if (asked === channel) this.asks.delete(requestId2);
    }
    const requestId = newId();
    this.asks.set(requestId, [channel, seq]);
    this.due.set(channel, [seq, this.options.now() + this.options.resendTimeoutMs]);
    this.options.send({ action: "read", channel, seq, requestId });
  }
  /** Send every wanted read not sent on this connection, grown since, or overdue. */
  resendDue() {
    const now = this.options.now();
    for (const [channel, seq] of this.state.wantedReads()) {
      const sent = this.due.get(channel);
      if (sent === void 0 || sent[0] !== seq || sent[1] <= now) this.send(channel);
    }
  }
  ask(requestId) {
    if (typeof requestId !== "string") return void 0;
    const asked = this.asks.get(requestId);
    this.asks.delete(requestId);
    return asked;
  }
  /** A `read` frame: the user's cursor as the server holds it confirms every wanted read it
   * covers. The reply to a read of n showing a cursor below n means the server clamped it to
   * its lastSeq: the wanted read (if not higher now) is given up rather than sent forever. */
  confirmed(requestId, channel, readSeq) {
    const asked = this.ask(requestId);
    this.state.readConfirmed(channel, readSeq);
    if (asked !== void 0 && asked[0] === channel && readSeq < asked[1]) {
      this.state.dropWantedRead(channel, asked[1]);
    }
  }
  /** An `error` for a read: a permanent one gives the read up (e.g. no longer a member), any
   * other sends it again soon. */
  refused(requestId, code) {
    const asked = this.ask(requestId);
    if (asked === void 0) return;
    if (PERMANENT_ERRORS.has(code)) {
      this.state.dropWantedRead(...asked);
      return;
    }
    const soon = Math.min(this.options.resendTimeoutMs, this.options.backoffBaseMs);
    this.due.set(asked[0], [asked[1], this.options.now() + soon]);
  }
};

// client-ts/src/typing-throttle.ts
var TYPING_INTERVAL_MS = 3e3;
var TypingThrottle = class {
  constructor(now = Date.now, intervalMs = TYPING_INTERVAL_MS) {
    this.now = now;
    this.intervalMs = intervalMs;
  }
  now;
  intervalMs;
  last = /* @__PURE__ */ new Map();
  /** Whether a frame for `channel` may go out now; if so, it counts as gone. */
  take(channel) {
    const now = this.now();
    const last = this.last.get(channel);
    if (last !== void 0 && now - last < this.intervalMs) return false;
    this.last.set(channel, now);
    return true;
  }
};

// client-ts/src/views.ts
function sentMessage(record) {
  const message2 = {
    channel: record.channel,
    seq: record.seq,
    messageId: record.messageId,
    from: record.from,
    body: record.recalled ? void 0 : record.body,
    sentAt: record.ts
  };
  if (record.mentions.length > 0) message2.mentions = [...record.mentions];
  if (record.recalled) message2.recalled = true;
  if (record.version > 0) message2.version = record.version;
  if (record.editedAt !== void 0) message2.editedAt = record.editedAt;
  if (record.clientMsgNo !== void 0) message2.clientMsgNo = record.clientMsgNo;
  return message2;
}
function pendingMessage(entry, from) {
  const message2 = {
    pending: true,
    channel: entry.channel,
    clientMsgNo: entry.clientMsgNo,
    from,
    body: entry.body,
    createdAt: entry.created
  };
  if (entry.mentions.length > 0) message2.mentions = [...entry.mentions];
  return message2;
}
function conversations(state, user) {
  const pendingSince = /* @__PURE__ */ new Map();
  for (const entry of state.outbox()) {
    if (!pendingSince.has(entry.channel)) pendingSince.set(entry.channel, entry.created);
  }
  const channels = /* @__PURE__ */ new Set([...state.channelIds(), ...pendingSince.keys()]);
  const list = [...channels].map((channel) => {
    const newest = state.newest(channel);
    const conversation2 = {
      channel,
      lastSeq: state.lastSeq(channel),
      readSeq: state.readSeq(channel),
      unread: state.unread(channel),
      mentions: state.mentions(channel, user),
      muted: state.muted(channel),
      peerReadSeq: state.peerReadSeq(channel)
    };
    if (newest !== void 0) conversation2.last = sentMessage(newest);
    const active = newest?.ts ?? pendingSince.get(channel) ?? 0;
    return { conversation: conversation2, active };
  });
  list.sort(
    (a, b) => a.active !== b.active ? b.active - a.active : a.conversation.channel < b.conversation.channel ? -1 : 1
  );
  return list.map((item) => item.conversation);
}

// client-ts/src/client.ts
var MAX_TICK_MS = 1e3;
var MAX_BODY_BYTES = 16384;
var TOKEN_MARGIN_MS = 6e4;
var AUTH_FAILURES = /* @__PURE__ */ new Set([401, 403]);
var DEFAULTS = {
  pingIntervalMs: 3e5,
  // API Gateway drops a connection after 10 minutes without a message
  resendTimeoutMs: 1e4,
  requestTimeoutMs: 1e4,
  backoffBaseMs: 500,
  backoffMaxMs: 3e4
};
function deferred() {
  const result = {};
  result.promise = new Promise((resolve, reject) => {
    result.resolve = resolve;
    result.reject = reject;
  });
  result.promise.catch(() => void 0);
  return result;
}
var int3 = (value) => typeof value === "number" ? Math.trunc(value) : 0;
var str = (value) => typeof value === "string" ? value : String(value);
function utf8Length(text) {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 128 ? 1 : code < 2048 ? 2 : code < 65536 ? 3 : 4;
  }
  return bytes;
}
function wsUrl(url, token) {
  const base = url.replace(/^https:\/\//, "wss://").replace(/^http:\/\//, "ws://").replace(/\/+$/, "");
  return `${base}/?token=${encodeURIComponent(token)}`;
}
var CourierClient = class {
  user;
  store;
  connection;
  request;
  options;
  now;
  state = new State();
  events = new Emitter();
  typingThrottle;
  checked = false;
  // this connection's server holds the store's state
  held = [];
  // frames that came in before that was known
  acked = /* @__PURE__ */ new Map();
  // channel → highest seq acked
  outboxSender;
  reads;
  filling = /* @__PURE__ */ new Set();
  reported = /* @__PURE__ */ new Map();
  // unread, mentions told
  loading;
  ready;
  running;
  saving = Promise.resolve();
  token;
  refreshToken;
  refusedInARow = 0;
  constructor(options) {
    this.user = tokenUser(options.token);
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    this.store = options.store ?? new MemoryStore();
    const global = globalThis.WebSocket;
    const impl = options.WebSocket ?? global;
    if (impl === void 0) {
      throw new Error("no global WebSocket: pass options.WebSocket (in Node 20, the ws package)");
    }
    this.options = {
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      resendTimeoutMs: options.resendTimeoutMs ?? DEFAULTS.resendTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      backoffBaseMs: options.backoffBaseMs ?? DEFAULTS.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
      checkServer: options.checkServer ?? true
    };
    this.now = options.now ?? Date.now;
    this.typingThrottle = new TypingThrottle(this.now);
    const tickMs = Math.min(
      MAX_TICK_MS,
      this.options.pingIntervalMs / 2,
      this.options.resendTimeoutMs / 2
    );
    const session = {
      opened: (link) => {
        this.refusedInARow = 0;
        void this.catchUp(link);
      },
      frame: (frame, reply) => {
        this.receive(frame, reply);
      },
      tick: () => {
        this.maintain();
      },
      closed: () => {
        this.disconnected();
      }
    };
    const resend = {
      ...this.options,
      now: this.now,
      send: (frame) => this.connection.send(frame)
    };
    this.outboxSender = new OutboxSender(this.state, resend);
    this.reads = new ReadSender(this.state, resend);
    this.connection = new Connection(
      async () => wsUrl(options.url, await this.freshToken()),
      impl,
      { ...this.options, tickMs, now: this.now },
      session
    );
    this.request = (frame, probe) => this.connection.request(frame, probe);
  }
  // lifecycle
  /** Load the store (once) without connecting: the outbox, messages and unread of the last
   * run are then readable offline. `connect` and `send` call it. */
  load() {
    this.loading ??= this.store.load().then((snapshot) => {
      this.state.load(snapshot);
    });
    return this.loading;
  }
  /** Start the connection loop; resolves once connected and caught up the first time. Rejects
   * with `AuthError` if the token is refused, `NotConnectedError` if closed first. */
  connect() {
    if (this.ready !== void 0) return this.ready.promise;
    const ready = deferred();
    this.ready = ready;
    this.running = this.run(ready);
    return ready.promise;
  }
  /** Stop: close the connection, stop reconnecting, and finish the store's writes. The store
   * stays open (it is the app's). */
  async close() {
    this.connection.stop();
    this.ready?.reject(new NotConnectedError("closed"));
    await this.running;
    this.ready = void 0;
    this.running = void 0;
    await this.persist().catch(() => void 0);
  }
  get connected() {
    return this.connection.open;
  }
  on(type, fn) {
    return this.events.on(type, fn);
  }
  async run(ready) {
    try {
      await this.load();
    } catch (error) {
      ready.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (; ; ) {
      const refused = await this.connection.run(AUTH_FAILURES);
      if (refused === void 0) return;
      this.refusedInARow += 1;
      if (this.refusedInARow > 1 || !await this.refresh()) {
        this.events.emit("auth_failed", { status: refused });
        ready.reject(new AuthError(refused));
        this.ready = void 0;
        return;
      }
    }
  }
  /** The token to connect with: refreshed first if it has expired or is about to. */
  async freshToken() {
    const { exp } = tokenClaims(this.token);
    if (exp !== void 0 && exp * 1e3 - this.now() < TOKEN_MARGIN_MS) await this.refresh();
    return this.token;
  }
  /** Ask the app for a new token (for this user only); false if there is none to be had. */
  async refresh() {
    if (this.refreshToken === void 0) return false;
    try {
      const token = await this.refreshToken();
      if (tokenUser(token) !== this.user) return false;
      this.token = token;
      return true;
    } catch {
      return false;
    }
  }
  disconnected() {
    this.checked = false;
    this.filling.clear();
    this.events.emit("disconnected", {});
  }
  receive(frame, reply) {
    if (this.checked || reply) this.handleFrame(frame);
    else this.held.push(frame);
  }
  /** On each new socket: check the server, then resend the outbox, catch every conversation
   * up (messages missed, acks), and send every read the server does not hold yet. */
  async catchUp(link) {
    this.outboxSender.resetDue();
    this.reads.resetDue();
    this.checked = false;
    this.held = [];
    try {
      if (this.options.checkServer) await this.checkServer();
      while (this.held.length > 0) this.handleFrame(this.held.shift());
      this.checked = true;
      this.outboxSender.resendDue();
      for (const conversation2 of await fetchConversations(this.request)) {
        const channel = str(conversation2.channel);
        if (this.state.contiguousPrefix(channel) < this.state.lastSeq(channel)) {
          await fill(this.request, this.state, channel);
        }
        await recount(this.request, this.state, this.user, conversation2);
        this.ack(channel);
      }
      this.reads.resendDue();
      await this.persist();
      this.events.emit("connected", { totalUnread: this.state.totalUnread() });
      this.ready?.resolve();
    } catch {
      link.close();
    }
  }
  /** If the server does not hold the store's witness message, the store is another server's
   * (the local stack restarted empty): forget what came from it, keep the outbox and reads. */
  async checkServer() {
    const witness = this.state.witness();
    if (witness === void 0 || await holds(this.request, witness)) return;
    this.state.forgetServer();
    this.acked.clear();
    this.outboxSender.forgetFailures();
    this.reported.clear();
    await this.persist();
    this.events.emit("server_reset", { outbox: this.state.outbox().length });
  }
  /** While connected: resend unanswered sends and reads. */
  maintain() {
    if (this.checked) {
      this.outboxSender.resendDue();
      this.reads.resendDue();
    }
  }
  // frames out
  /** A request of the user's, only to a server the store is known to be from. `probe`: the
   * reply is the caller's alone (nothing to store). */
  act(frame, probe = false) {
    if (!(this.connected && this.checked)) {
      return Promise.reject(new NotConnectedError("not connected"));
    }
    return this.connection.request(frame, probe);
  }
  /** Write what changed to the store, after every earlier write. Rejects if this write failed
   * (an `error` event with code `store` tells the UI). */
  persist() {
    const batch = this.state.takeBatch();
    if (batch === void 0) return this.saving;
    const write = this.saving.then(() => this.store.write(batch));
    this.saving = write.catch((error) => {
      this.events.emit("error", { code: "store", message: String(error) });
    });
    return write;
  }
  /** Queue a message in the outbox; resolves with its clientMsgNo once the store holds it.
   * It goes out now if connected, and again, unchanged, until its sendack arrives. Throws
   * (nothing queued) for mentions or a body the server would refuse. */
  async send(channel, body, opts) {
    const mentions = checkedUserIds(opts?.mentions ?? [], MAX_MENTIONS);
    const json = JSON.stringify(body);
    if (json === void 0) throw new TypeError("body: not a JSON value");
    if (utf8Length(json) > MAX_BODY_BYTES) {
      throw new RangeError(`body: over ${MAX_BODY_BYTES} bytes serialized`);
    }
    await this.load();
    const entry = {
      clientMsgNo: newId(),
      channel,
      body: JSON.parse(json),
      mentions,
      created: Date.now()
    };
    this.state.outboxAdd(entry);
    await this.persist();
    if (this.connected && this.checked) this.outboxSender.transmit(entry);
    return entry.clientMsgNo;
  }
  /** Fetch every conversation, page by page (also applied to the state), and tell the UI
   * what changed. */
  async syncConversations() {
    if (!(this.connected && this.checked)) throw new NotConnectedError("not connected");
    await fetchConversations(this.request);
  }
  /** Mark the channel read up to the newest seq known. The read is kept in the store until
   * the server reports a read cursor that covers it: sent now if connected, again every
   * `resendTimeoutMs` while unanswered, and on each connect. */
  async read(channel) {
    await this.load();
    const seq = this.state.lastSeq(channel);
    this.state.setReadSeq(channel, seq);
    this.state.wantRead(channel, seq);
    this.reportUnread([channel]);
    await this.persist();
    if (this.connected && this.checked) this.reads.send(channel);
  }
  conversations() {
    return conversations(this.state, this.user);
  }
  /** The held messages in seq order, then this user's pending ones (oldest first). */
  messages(channel) {
    const held = this.state.messages(channel).map(sentMessage);
    const pending = this.state.outbox().filter((entry) => entry.channel === channel);
    return held.concat(pending.map((entry) => pendingMessage(entry, this.user)));
  }
  unread(channel) {
    return this.state.unread(channel);
  }
  /** How many of the channel's unread messages mention this user. */
  mentions(channel) {
    return this.state.mentions(channel, this.user);
  }
  /** The unread of every conversation not muted. */
  totalUnread() {
    return this.state.totalUnread();
  }
  muted(channel) {
    return this.state.muted(channel);
  }
  /** How far the other user of a DM has read (0 if unknown). */
  peerReadSeq(channel) {
    return this.state.peerReadSeq(channel);
  }
  /** The outbox, oldest first (messages not yet acknowledged by the server). */
  outbox() {
    return this.state.outbox().map((entry) => pendingMessage(entry, this.user));
  }
  /** Recall a message of this user's; resolves with the server's `recall` frame, already
   * applied. Needs a connection (`NotConnectedError`; nothing is queued), `RequestError` if
   * the server refuses it. */
  recall(channel, seq) {
    return this.act({ action: "recall", channel, seq });
  }
  /** Replace the body of a message of this user's; resolves with the `edit` frame. */
  edit(channel, seq, body) {
    return this.act({ action: "edit", channel, seq, body });
  }
  /** Mute (or unmute) the conversation for this user on all devices. */
  mute(channel, muted = true) {
    return this.act({ action: "mute", channel, muted });
  }
  /** Who of the channel's members (the sender aside) has read up to `seq`: the server's
   * `receipts` frame (`count`, `members`, `readBy`). */
  receipts(channel, seq) {
    return this.act({ action: "receipts", channel, seq }, true);
  }
  /** user → presence for those of `users` (1 to 100 ids, each once) the server reports:
   * only those who share a conversation with this user. */
  async presence(users) {
    const ids = checkedUserIds(users, MAX_PRESENCE_USERS, 1);
    const reply = await this.act({ action: "presence", users: ids }, true);
    const found = reply.users;
    return typeof found === "object" && found !== null ? found : {};
  }
  /** Tell the channel's other members this user is typing; true if the frame went out. At most
   * one per channel per 3 s does (the server would drop the others), and none offline. */
  typing(channel) {
    if (!(this.connected && this.checked) || !this.typingThrottle.take(channel)) return false;
    return this.connection.send({ action: "typing", channel });
  }
  /** Ack the contiguous prefix once the store holds it, if it grew; `again` when the server
   * shows (by sending a message again) that it has not got the last ack. */
  ack(channel, again = false) {
    this.persist().then(
      () => {
        const prefix = this.state.contiguousPrefix(channel);
        const acked = this.acked.get(channel) ?? 0;
        if (!(prefix > acked || again && prefix > 0)) return;
        if (this.connection.send({ action: "ack", channel, seq: prefix })) {
          this.acked.set(channel, Math.max(prefix, acked));
        }
      },
      () => void 0
      // not written: not acked; the server sends it again
    );
  }
  async fillAndAck(channel) {
    if (this.filling.has(channel)) return;
    this.filling.add(channel);
    try {
      await fill(this.request, this.state, channel);
      this.ack(channel);
    } catch {
    } finally {
      this.filling.delete(channel);
    }
  }
  // frames in
  /** Apply one server frame to the state, emit UI events, and write what changed. */
  handleFrame(frame) {
    this.apply(frame);
    const channels = frame.type === "conversations" && Array.isArray(frame.conversations) ? frame.conversations.map((c) => str(c.channel)) : typeof frame.channel === "string" ? [frame.channel] : [];
    this.reportUnread(channels);
    void this.persist().catch(() => void 0);
  }
  /** Apply a frame by its type (frames of other types change nothing). */
  apply(frame) {
    switch (frame.type) {
      case void 0:
        this.onGatewayError(frame);
        return;
      case "message":
        this.onMessage(frame);
        return;
      case "messages":
        this.onMessages(frame);
        return;
      case "conversations":
        for (const conversation2 of frame.conversations ?? []) {
          this.onConversation(conversation2);
        }
        return;
      case "recall":
        this.onRecall(frame);
        return;
      case "edit":
        this.onEdit(frame);
        return;
      case "mute":
        this.onMute(frame);
        return;
      case "receipt":
        this.onReceipt(frame);
        return;
      case "typing":
        this.onTyping(frame);
        return;
      case "sendack":
        this.onSendack(frame);
        return;
      case "read":
        this.onRead(frame);
        return;
      case "error":
        this.onError(frame);
        return;
    }
  }
  onMessage(frame) {
    const [channel, seq] = [str(frame.channel), int3(frame.seq)];
    this.state.setLastSeq(channel, seq);
    if (frame.from === this.user) this.state.readConfirmed(channel, seq);
    this.addAndTell(channel, frame);
    if (seq > this.state.contiguousPrefix(channel) + 1) void this.fillAndAck(channel);
    this.ack(channel, seq <= (this.acked.get(channel) ?? 0));
  }
  addAndTell(channel, item) {
    if (!this.state.addMessage(channel, item)) return;
    const record = this.state.message(channel, int3(item.seq));
    if (record !== void 0) {
      this.events.emit("message", { channel, message: sentMessage(record) });
    }
  }
  onMessages(frame) {
    const channel = str(frame.channel);
    this.state.setLastSeq(channel, int3(frame.lastSeq));
    this.state.readConfirmed(channel, int3(frame.readSeq));
    for (const item of Array.isArray(frame.messages) ? frame.messages : []) {
      this.addAndTell(channel, item);
    }
  }
  /** A conversation entry: its cursors, its mute, its DM peer's read, and the recall or edit
   * its `lastMessage` shows. A `lastMessage` is never held as a message (it has no
   * clientMsgNo): one not held yet comes whole from `sync`. */
  onConversation(conversation2) {
    const channel = str(conversation2.channel);
    this.state.setLastSeq(channel, int3(conversation2.lastSeq));
    this.state.readConfirmed(channel, int3(conversation2.readSeq));
    if (typeof conversation2.muted === "boolean") this.state.setMuted(channel, conversation2.muted);
    if (typeof conversation2.peerReadSeq === "number") {
      this.peerRead(channel, conversation2.peerReadSeq);
    }
    const last = conversation2.lastMessage;
    if (typeof last === "object" && last !== null) {
      this.state.revise(channel, int3(last.seq), last);
    }
  }
  onRecall(frame) {
    const [channel, seq] = [str(frame.channel), int3(frame.seq)];
    if (this.changedMessage(channel, seq, this.state.recall(channel, seq))) {
      const event = { channel, seq };
      if (typeof frame.messageId === "string") event.messageId = frame.messageId;
      this.events.emit("recall", event);
    }
  }
  onEdit(frame) {
    const [channel, seq] = [str(frame.channel), int3(frame.seq)];
    if (this.changedMessage(channel, seq, this.state.revise(channel, seq, frame))) {
      const version = int3(frame.version);
      const event = { channel, seq, body: frame.body, version };
      if (typeof frame.messageId === "string") event.messageId = frame.messageId;
      if (typeof frame.editedAt === "number") event.editedAt = frame.editedAt;
      this.events.emit("edit", event);
    }
  }
  /** After a recall or an edit: the message proves lastSeq reaches its seq, and one not held
   * yet is fetched. Returns `changed`: the UI hears of it once, however often it arrives. */
  changedMessage(channel, seq, changed) {
    this.state.setLastSeq(channel, seq);
    if (seq > this.state.contiguousPrefix(channel)) void this.fillAndAck(channel);
    return changed;
  }
  onMute(frame) {
    const channel = str(frame.channel);
    this.state.setMuted(channel, frame.muted === true);
    const totalUnread = this.state.totalUnread();
    this.events.emit("mute", { channel, muted: frame.muted === true, totalUnread });
  }
  /** The DM peer's read cursor moved. It is at most the DM's lastSeq: one above the messages
   * held (its message frame was lost) has the missing ones fetched. */
  onReceipt(frame) {
    const [channel, readSeq] = [str(frame.channel), int3(frame.readSeq)];
    if (frame.user === this.user || !channel.startsWith("dm:")) return;
    this.state.setLastSeq(channel, readSeq);
    if (readSeq > this.state.contiguousPrefix(channel)) void this.fillAndAck(channel);
    this.peerRead(channel, readSeq);
  }
  peerRead(channel, readSeq) {
    if (this.state.raisePeerReadSeq(channel, readSeq)) {
      this.events.emit("peer_read", { channel, peerReadSeq: readSeq });
    }
  }
  /** Another member is typing: the UI shows it for a few seconds (a frame comes at most every
   * 3 s while they type, and none says they stopped). */
  onTyping(frame) {
    if (frame.user !== this.user) {
      this.events.emit("typing", { channel: str(frame.channel), user: str(frame.user) });
    }
  }
  onSendack(frame) {
    const clientMsgNo = str(frame.clientMsgNo);
    const entry = this.outboxSender.acknowledged(clientMsgNo);
    const [channel, seq] = [str(frame.channel), int3(frame.seq)];
    if (entry !== void 0) {
      this.state.addMessage(channel, {
        seq,
        messageId: frame.messageId,
        from: this.user,
        clientMsgNo,
        body: entry.body,
        ts: frame.ts,
        mentions: entry.mentions
      });
    }
    this.state.setLastSeq(channel, seq);
    this.state.readConfirmed(channel, seq);
    this.events.emit("sendack", {
      channel,
      clientMsgNo,
      seq,
      messageId: str(frame.messageId),
      ts: int3(frame.ts),
      duplicate: frame.duplicate === true
    });
  }
  /** The user's read cursor as the server holds it: the reply to a read of this device, or
   * another device's read (`ReadSender.confirmed`). */
  onRead(frame) {
    const [channel, readSeq] = [str(frame.channel), int3(frame.readSeq)];
    this.reads.confirmed(frame.requestId, channel, readSeq);
    this.state.setLastSeq(channel, readSeq + int3(frame.unread));
    this.events.emit("read", { channel, readSeq, unread: this.state.unread(channel) });
  }
  onError(frame) {
    const code = str(frame.code);
    const clientMsgNo = typeof frame.clientMsgNo === "string" ? frame.clientMsgNo : void 0;
    this.reads.refused(frame.requestId, code);
    const dropped = clientMsgNo === void 0 ? void 0 : this.outboxSender.refused(clientMsgNo, code);
    const event = { code };
    if (typeof frame.message === "string") event.message = frame.message;
    if (clientMsgNo !== void 0) event.clientMsgNo = clientMsgNo;
    if (dropped !== void 0) event.channel = dropped.channel;
    this.events.emit("error", event);
  }
  /** A frame of API Gateway's own (a function failed or timed out): the outcome of whatever
   * caused it is unknown, so everything unanswered goes out again. */
  onGatewayError(frame) {
    this.outboxSender.resetDue();
    this.reads.unknownOutcome();
    this.maintain();
    const message2 = typeof frame.message === "string" ? frame.message : JSON.stringify(frame);
    this.events.emit("error", { code: "gateway", message: message2 });
  }
  /** Tell the UI each of these channels whose unread or mentions changed since last told. */
  reportUnread(channels) {
    for (const channel of new Set(channels)) {
      const [unread, mentions] = [this.state.unread(channel), this.mentions(channel)];
      const [told, toldMentions] = this.reported.get(channel) ?? [0, 0];
      if (unread === told && mentions === toldMentions) continue;
      this.reported.set(channel, [unread, mentions]);
      const totalUnread = this.state.totalUnread();
      this.events.emit("unread", { channel, unread, mentions, totalUnread });
    }
  }
};

// client-ts/src/indexeddb-store.ts
var VERSION = 1;
var CHANNELS = "channels";
var MESSAGES = "messages";
var OUTBOX = "outbox";
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB request failed"));
  });
}
function committed(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB write failed"));
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB write aborted"));
  });
}
var IndexedDbStore = class {
  constructor(options) {
    this.options = options;
  }
  options;
  db;
  open() {
    this.db ??= new Promise((resolve, reject) => {
      const global = globalThis;
      const factory = this.options.indexedDB ?? global.indexedDB;
      if (factory === void 0) {
        reject(new Error("no IndexedDB here: use another Store"));
        return;
      }
      const request = factory.open(this.options.name, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore(CHANNELS, { keyPath: "channel" });
        db.createObjectStore(MESSAGES, { keyPath: ["channel", "seq"] });
        db.createObjectStore(OUTBOX, { keyPath: "clientMsgNo" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("IndexedDB open failed"));
    });
    return this.db;
  }
  async load() {
    const db = await this.open();
    const transaction = db.transaction([CHANNELS, MESSAGES, OUTBOX], "readonly");
    const [channels, messages, outbox] = await Promise.all([
      done(transaction.objectStore(CHANNELS).getAll()),
      done(transaction.objectStore(MESSAGES).getAll()),
      done(transaction.objectStore(OUTBOX).getAll())
    ]);
    return {
      channels,
      messages,
      outbox
    };
  }
  async write(batch) {
    const db = await this.open();
    const transaction = db.transaction([CHANNELS, MESSAGES, OUTBOX], "readwrite");
    const finished = committed(transaction);
    const [channels, messages, outbox] = [CHANNELS, MESSAGES, OUTBOX].map(
      (name) => transaction.objectStore(name)
    );
    if (batch.reset) {
      channels.clear();
      messages.clear();
    }
    for (const record of batch.channels ?? []) channels.put(record);
    for (const record of batch.messages ?? []) messages.put(record);
    for (const entry of batch.outbox ?? []) outbox.put(entry);
    for (const clientMsgNo of batch.deleteOutbox ?? []) outbox.delete(clientMsgNo);
    await finished;
  }
  /** Close the database (a later call opens it again). */
  async close() {
    const db = this.db;
    this.db = void 0;
    if (db !== void 0) (await db).close();
  }
  /** Delete the whole database (e.g. on logout). */
  static async destroy(name, factory = globalThis.indexedDB) {
    await done(factory.deleteDatabase(name));
  }
};

// web/src/dom.ts
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === void 0 || value === false) continue;
    if (typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  append(node, children);
  return node;
}
function append(node, children) {
  for (const child of children) {
    if (child === null || child === void 0 || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}
function byId(id) {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing from index.html`);
  return node;
}

// web/src/text.ts
var MENTION = /(?<![\w@.-])@([A-Za-z0-9_.-]{1,64})/g;
function dmChannel(me, other) {
  return me < other ? `dm:${me}:${other}` : `dm:${other}:${me}`;
}
function dmPeer(channel, me) {
  const parts = channel.split(":");
  if (parts[0] !== "dm" || parts.length !== 3) return void 0;
  return parts[1] === me ? parts[2] : parts[1];
}
function parseNewChat(input, me) {
  const text = input.trim();
  if (!text.startsWith("#")) {
    if (!USER_ID.test(text)) return { problem: "Type a user id (A–Z a–z 0–9 _ . -), or #group user, user" };
    return text === me ? { problem: "That is you: pick someone else." } : { dm: text };
  }
  const [name = "", ...rest] = text.slice(1).split(/[\s,]+/).filter((part) => part !== "");
  if (!USER_ID.test(name)) return { problem: "A group name is 1–64 of A–Z a–z 0–9 _ . -" };
  const bad = rest.find((user) => !USER_ID.test(user));
  if (bad !== void 0) return { problem: `Not a user id: ${bad}` };
  return { group: name, members: rest.length === 0 ? [] : [.../* @__PURE__ */ new Set([me, ...rest])].sort() };
}
function channelTitle(channel, me) {
  const peer = dmPeer(channel, me);
  if (peer !== void 0) return peer;
  return channel.startsWith("g:") ? `# ${channel.slice(2)}` : channel;
}
function bodyText(body) {
  if (typeof body === "string") return body;
  if (body !== null && typeof body === "object" && typeof body.text === "string") {
    return body.text;
  }
  return JSON.stringify(body) ?? "";
}
function mentioned(text) {
  const users = [...text.matchAll(MENTION)].map((m) => (m[1] ?? "").replace(/\.+$/, ""));
  return [...new Set(users.filter((u) => u !== ""))];
}
function mentionRuns(text) {
  const runs = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const user = (match[1] ?? "").replace(/\.+$/, "");
    if (user === "") continue;
    const start = match.index ?? 0;
    if (start > at) runs.push({ text: text.slice(at, start) });
    runs.push({ text: `@${user}`, user });
    at = start + 1 + user.length;
  }
  if (at < text.length) runs.push({ text: text.slice(at) });
  return runs;
}
function clock(ms, now = /* @__PURE__ */ new Date()) {
  const when = new Date(ms);
  const time = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (when.toDateString() === now.toDateString()) return time;
  const sameYear = when.getFullYear() === now.getFullYear();
  const date = when.toLocaleDateString([], sameYear ? { month: "short", day: "numeric" } : { dateStyle: "medium" });
  return `${date} ${time}`;
}
function lastSeen(ms, now = Date.now()) {
  const minutes = Math.max(0, Math.round((now - ms) / 6e4));
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  return `last seen ${clock(ms)}`;
}
function hue(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

// web/src/avatar.ts
function avatar(id, group, online) {
  const node = el("span", { class: group ? "avatar group" : "avatar", "aria-hidden": "true" });
  fillAvatar(node, id, group, online);
  return node;
}
function fillAvatar(node, id, group, online) {
  node.className = group ? "avatar group" : "avatar";
  node.style.setProperty("--hue", String(hue(id)));
  const initial = group ? "#" : (Array.from(id)[0] ?? "?").toUpperCase();
  node.replaceChildren(initial);
  if (online !== void 0) {
    node.appendChild(el("span", { class: online ? "dot online" : "dot", title: online ? "online" : "offline" }));
  }
}

// web/src/list-view.ts
function renderList(list, rows, open) {
  if (rows.length === 0) {
    list.replaceChildren(el("li", { class: "empty" }, "No conversations yet. Start one above: try bob."));
    return;
  }
  list.replaceChildren(...rows.map((row) => conversation(row, open)));
}
function conversation(row, open) {
  const badges = el(
    "span",
    { class: "badges" },
    row.mentions > 0 && el("span", { class: "badge mention", title: `${row.mentions} unread mention(s)` }, "@"),
    row.unread > 0 && el("span", { class: row.muted ? "badge unread muted" : "badge unread" }, String(row.unread))
  );
  const classes = ["conversation", row.active ? "active" : "", row.unread > 0 ? "has-unread" : ""].filter(Boolean);
  return el(
    "li",
    { "data-channel": row.channel },
    el(
      "button",
      {
        type: "button",
        class: classes.join(" "),
        "aria-current": row.active ? "true" : void 0,
        onclick: () => open(row.channel)
      },
      avatar(row.peer ?? row.title.replace(/^# /, ""), row.peer === void 0, row.online),
      el(
        "span",
        { class: "conversation-text" },
        el(
          "span",
          { class: "conversation-top" },
          el("span", { class: "conversation-name" }, row.title),
          row.muted && el("span", { class: "muted-tag", title: "Muted: not counted in your total, no pushes" }, "muted"),
          el("span", { class: "conversation-time" }, row.time)
        ),
        el("span", { class: "conversation-bottom" }, el("span", { class: "preview" }, row.preview), badges)
      )
    )
  );
}

// web/src/messages-view.ts
function withMentions(text, me) {
  const runs = mentionRuns(text).map(
    (run) => run.user === void 0 ? run.text : el("span", { class: run.user === me ? "at at-me" : "at" }, run.text)
  );
  return el("span", { class: "text" }, ...runs);
}
function renderMessages(list, rows, me, actions) {
  const items = [];
  let day2 = "";
  for (const row of rows) {
    if (row.day !== day2) {
      day2 = row.day;
      items.push(el("li", { class: "day" }, el("span", {}, day2)));
    }
    items.push(message(row, me, actions));
  }
  if (rows.length === 0) items.push(el("li", { class: "day" }, el("span", {}, "No messages yet. Say hello.")));
  list.replaceChildren(...items);
}
function message(row, me, actions) {
  const classes = ["message", row.mine ? "mine" : "theirs"];
  if (row.pending) classes.push("pending");
  if (row.recalled) classes.push("recalled");
  if (row.selected) classes.push("selected");
  const meta = el(
    "span",
    { class: "meta" },
    row.edited && !row.recalled && el("span", { class: "edited" }, "edited"),
    el("span", {}, row.pending ? "sending…" : row.time)
  );
  const canChange = row.mine && !row.pending && !row.recalled && row.seq !== void 0;
  const bubble = el(
    "div",
    { class: "bubble", onclick: canChange ? () => actions.select(row.seq) : void 0 },
    row.recalled ? el("span", { class: "text" }, row.mine ? "You recalled this message" : "Message recalled") : withMentions(row.text, me),
    meta
  );
  const tools = canChange && el(
    "span",
    { class: "tools" },
    el("button", { type: "button", class: "tool edit", onclick: () => actions.edit(row.seq, row.text) }, "Edit"),
    el("button", { type: "button", class: "tool recall", onclick: () => actions.recall(row.seq) }, "Recall")
  );
  return el(
    "li",
    { class: classes.join(" "), "data-seq": row.seq === void 0 ? void 0 : String(row.seq), "data-key": row.key },
    row.showSender && el("div", { class: "sender" }, row.from),
    el("div", { class: "line" }, tools, bubble),
    row.seen && el("div", { class: "seen" }, "Seen")
  );
}

// web/src/rows.ts
function conversationRows(client, view, drafts) {
  const listed = client.conversations();
  const known = new Set(listed.map((c) => c.channel));
  const fresh = [...drafts].filter((channel) => !known.has(channel));
  const row = (channel, last) => {
    const peer = dmPeer(channel, view.me);
    return {
      channel,
      title: channelTitle(channel, view.me),
      peer,
      unread: client.unread(channel),
      mentions: client.mentions(channel),
      muted: client.muted(channel),
      preview: last !== void 0 ? preview(last, view.me) : known.has(channel) ? peer === void 0 ? "No messages yet" : "" : "New conversation",
      time: last !== void 0 ? clock(last.sentAt) : "",
      online: peer === void 0 ? void 0 : view.presence.get(peer)?.online,
      active: channel === view.open
    };
  };
  return [...fresh.map((channel) => row(channel)), ...listed.map((c) => row(c.channel, c.last))];
}
function preview(message2, me) {
  if (message2.recalled === true) return "Message recalled";
  const text = bodyText(message2.body).replace(/\s+/g, " ");
  if (message2.from === me) return `You: ${text}`;
  return dmPeer(message2.channel, me) === void 0 ? `${message2.from}: ${text}` : text;
}
function messageRows(client, channel, view) {
  const { me } = view;
  const group = dmPeer(channel, me) === void 0;
  const peerRead = group ? 0 : client.peerReadSeq(channel);
  const rows = [];
  let previousFrom = "";
  let seenSeq = 0;
  for (const message2 of client.messages(channel)) {
    const base = { seen: false, selected: false, recalled: false, edited: false };
    if (message2.pending === true) {
      rows.push({
        ...base,
        key: `p:${message2.clientMsgNo}`,
        from: me,
        mine: true,
        text: bodyText(message2.body),
        time: "",
        day: day(message2.createdAt),
        pending: true,
        showSender: false
      });
      previousFrom = me;
      continue;
    }
    const mine = message2.from === me;
    if (mine && message2.seq <= peerRead) seenSeq = message2.seq;
    rows.push({
      ...base,
      key: `s:${message2.seq}`,
      seq: message2.seq,
      from: message2.from,
      mine,
      text: bodyText(message2.body),
      time: clock(message2.sentAt),
      day: day(message2.sentAt),
      pending: false,
      recalled: message2.recalled === true,
      edited: message2.editedAt !== void 0,
      showSender: group && !mine && message2.from !== previousFrom,
      selected: message2.seq === view.selected
    });
    previousFrom = message2.from;
  }
  const seen = rows.find((row) => row.seq === seenSeq && seenSeq > 0);
  if (seen !== void 0) seen.seen = true;
  return rows;
}
function day(ms) {
  return new Date(ms).toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" });
}

// web/src/admin.ts
var TOKEN_TTL_SECONDS = 12 * 3600;
async function call(method, path, body) {
  const reply = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body)
  });
  const payload = await reply.json().catch(() => null);
  if (!reply.ok || payload === null || typeof payload !== "object") {
    const message2 = payload?.message;
    throw new Error(`the admin API said HTTP ${reply.status}${typeof message2 === "string" ? `: ${message2}` : ""}`);
  }
  return payload;
}
async function fetchToken(who) {
  const reply = await call("POST", "/admin/tokens", { user: who.user, device: who.device, ttlSeconds: TOKEN_TTL_SECONDS });
  if (typeof reply.token !== "string") throw new Error("the admin API sent no token");
  return reply.token;
}
async function putGroup(group, members) {
  await call("PUT", `/admin/groups/${encodeURIComponent(group)}`, { members });
}

// web/src/peers.ts
var TYPING_SHOWN_MS = 5e3;
var PRESENCE_BATCH = 100;
var Peers = class {
  constructor(client, me, changed) {
    this.client = client;
    this.me = me;
    this.changed = changed;
  }
  client;
  me;
  changed;
  presence = /* @__PURE__ */ new Map();
  askedOnce = /* @__PURE__ */ new Set();
  typing = /* @__PURE__ */ new Map();
  /** Ask the server (on connecting, on opening a DM). Presence is never pushed, and this
   * page never polls it in a loop. */
  async ask(users) {
    if (users.length === 0 || !this.client.connected) return;
    try {
      const found = await this.client.presence(users.slice(0, PRESENCE_BATCH));
      for (const [user, state] of Object.entries(found)) this.presence.set(user, state);
      this.changed();
    } catch {
    }
  }
  /** Every DM peer in the list, in one request. */
  askAll() {
    const peers = this.client.conversations().map((c) => dmPeer(c.channel, this.me));
    return this.ask(peers.filter((peer) => peer !== void 0));
  }
  /** A DM whose peer has no presence yet (a new conversation): ask once, not at every message
   * (the server reports a peer only once the DM has a message). */
  askOnce(channel) {
    const peer = dmPeer(channel, this.me);
    if (peer === void 0 || this.presence.has(peer) || this.askedOnce.has(peer)) return;
    this.askedOnce.add(peer);
    void this.ask([peer]);
  }
  typed(channel, user) {
    this.typing.set(channel, { user, until: Date.now() + TYPING_SHOWN_MS });
    this.changed();
    window.setTimeout(this.changed, TYPING_SHOWN_MS + 50);
  }
  /** Their message came: they are no longer typing it. */
  sent(channel) {
    this.typing.delete(channel);
  }
  /** The open conversation's header line: typing, else online or last seen, else nothing known. */
  status(channel) {
    const peer = dmPeer(channel, this.me);
    const typing = this.typing.get(channel);
    if (typing !== void 0 && typing.until > Date.now()) {
      return { text: peer === void 0 ? `${typing.user} is typing…` : "typing…", className: "status typing-now" };
    }
    const seen = peer === void 0 ? void 0 : this.presence.get(peer);
    if (seen === void 0) return { text: peer === void 0 ? "group" : "", className: "status" };
    if (seen.online) return { text: "online", className: "status online" };
    return { text: seen.lastSeen !== void 0 ? lastSeen(seen.lastSeen) : "offline", className: "status" };
  }
};

// web/src/chat.ts
var ChatPage = class {
  constructor(who, token, signOut) {
    this.who = who;
    this.signOut = signOut;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;
    const store = new IndexedDbStore({ name: `courier-web:${who.user}:${who.device}` });
    const refreshToken = () => fetchToken(who);
    this.client = new CourierClient({ url, token, store, refreshToken });
    this.peers = new Peers(this.client, who.user, () => this.render());
  }
  who;
  signOut;
  client;
  open = null;
  drafts = /* @__PURE__ */ new Set();
  // DMs opened here before their first message
  peers;
  editing = null;
  selected = null;
  // the own message whose tools show on a phone
  scheduled = false;
  stickToBottom = true;
  toastTimer;
  unsubscribe = [];
  async start() {
    this.bindDom();
    const on = this.client.on.bind(this.client);
    this.unsubscribe.push(
      on("connected", () => {
        this.render();
        void this.peers.askAll();
      }),
      on("disconnected", () => this.render()),
      on("auth_failed", () => this.signOut("The server refused this device's token. Sign in again.")),
      on("server_reset", () => this.render()),
      on("message", (e) => {
        this.peers.sent(e.channel);
        this.render();
        if (e.channel === this.open) this.readIfVisible();
        this.peers.askOnce(e.channel);
      }),
      on("unread", (e) => {
        this.render();
        if (e.channel === this.open && e.unread > 0) this.readIfVisible();
      }),
      on("sendack", (e) => {
        this.render();
        this.peers.askOnce(e.channel);
      }),
      on("recall", () => this.render()),
      on("edit", () => this.render()),
      on("mute", () => this.render()),
      on("peer_read", () => this.render()),
      on("typing", (e) => this.peers.typed(e.channel, e.user)),
      on("error", (e) => this.toast(`Server said ${e.code}${e.message ? `: ${e.message}` : ""}`))
    );
    document.addEventListener("visibilitychange", this.onVisibility);
    await this.client.load();
    this.render();
    await this.client.connect();
  }
  async stop() {
    for (const off of this.unsubscribe.splice(0)) off();
    document.removeEventListener("visibilitychange", this.onVisibility);
    await this.client.close();
  }
  // ------------------------------------------------------------------ actions
  openChannel(channel) {
    this.open = channel;
    this.editing = null;
    this.selected = null;
    this.stickToBottom = true;
    byId("draft").value = "";
    this.render();
    if (channel === null) return;
    this.readIfVisible();
    const peer = dmPeer(channel, this.who.user);
    if (peer !== void 0) void this.peers.ask([peer]);
    if (matchMedia("(min-width: 721px)").matches) byId("draft").focus();
  }
  /** Mark the open conversation read, when a person can see it. */
  readIfVisible() {
    const channel = this.open;
    if (channel === null || document.visibilityState !== "visible") return;
    if (this.client.unread(channel) > 0 || this.client.mentions(channel) > 0) {
      this.client.read(channel).catch((error) => this.toast(`Not marked read: ${String(error)}`));
    }
  }
  /** Back to the page: read what came meanwhile, and fetch the conversation list again (a
   * group the admin API added this user to is announced by no frame). */
  onVisibility = () => {
    this.readIfVisible();
    if (document.visibilityState === "visible" && this.client.connected) {
      this.client.syncConversations().then(() => this.render(), () => void 0);
    }
  };
  async startChat(event) {
    event.preventDefault();
    const input = byId("new-dm-user");
    const error = byId("new-dm-error");
    const wanted = parseNewChat(input.value, this.who.user);
    error.textContent = "problem" in wanted ? wanted.problem : "";
    if ("problem" in wanted) return;
    if ("dm" in wanted) {
      input.value = "";
      const channel2 = dmChannel(this.who.user, wanted.dm);
      this.drafts.add(channel2);
      this.openChannel(channel2);
      return;
    }
    const channel = `g:${wanted.group}`;
    try {
      if (wanted.members.length > 0) {
        await putGroup(wanted.group, wanted.members);
        await this.client.syncConversations();
      }
    } catch (failure) {
      error.textContent = `Could not make #${wanted.group}: ${failure instanceof Error ? failure.message : String(failure)}`;
      return;
    }
    if (!this.client.conversations().some((c) => c.channel === channel)) {
      error.textContent = `You are not in #${wanted.group}. To make it: #${wanted.group} alice, bob`;
      return;
    }
    input.value = "";
    this.openChannel(channel);
  }
  async submit(event) {
    event.preventDefault();
    const draft = byId("draft");
    const channel = this.open;
    const text = draft.value.trim();
    if (channel === null || text === "") return;
    const body = { text };
    if (new TextEncoder().encode(JSON.stringify(body)).length > MAX_BODY_BYTES) {
      this.toast("That message is too long (16 KB at most).");
      return;
    }
    const mentions = mentioned(text).filter((user) => user !== this.who.user);
    if (mentions.length > MAX_MENTIONS) {
      this.toast(`A message mentions at most ${MAX_MENTIONS} users.`);
      return;
    }
    draft.value = "";
    this.autosize();
    const editing = this.editing;
    this.editing = null;
    this.stickToBottom = true;
    try {
      if (editing !== null && editing.channel === channel) {
        await this.client.edit(channel, editing.seq, body);
      } else {
        const sending = this.client.send(channel, body, mentions.length > 0 ? { mentions } : {});
        this.render();
        await sending;
      }
    } catch (error) {
      this.toast(`Not sent: ${String(error)}`);
    }
    this.render();
  }
  beginEdit(seq, text) {
    if (this.open === null) return;
    this.selected = null;
    this.editing = { channel: this.open, seq };
    const draft = byId("draft");
    draft.value = text;
    this.autosize();
    draft.focus();
    this.render();
  }
  async recall(seq) {
    if (this.open === null) return;
    this.selected = null;
    try {
      await this.client.recall(this.open, seq);
    } catch (error) {
      this.toast(`Not recalled: ${String(error)}`);
    }
    this.render();
  }
  async toggleMute() {
    if (this.open === null) return;
    try {
      await this.client.mute(this.open, !this.client.muted(this.open));
    } catch (error) {
      this.toast(`Not changed: ${String(error)}`);
    }
    this.render();
  }
  onDraftInput() {
    this.autosize();
    if (this.open !== null && byId("draft").value.trim() !== "") {
      try {
        this.client.typing(this.open);
      } catch {
      }
    }
  }
  // ---------------------------------------------------------------- rendering
  /** Re-render once, after the events of this turn. */
  render() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.draw();
    });
  }
  draw() {
    const me = this.who.user;
    const total = this.client.totalUnread();
    document.title = total > 0 ? `(${total}) Courier chat` : "Courier chat";
    const status = byId("me-status");
    status.textContent = this.client.connected ? "online" : "connecting…";
    status.className = this.client.connected ? "status online" : "status away";
    const view = { me, open: this.open, presence: this.peers.presence, selected: this.selected };
    const rows = conversationRows(this.client, view, this.drafts);
    renderList(byId("conversations"), rows, (channel2) => this.openChannel(channel2));
    byId("chat").classList.toggle("pane-open", this.open !== null);
    const channel = this.open;
    for (const id of ["pane-head", "messages", "composer"]) byId(id).hidden = channel === null;
    byId("pane-empty").hidden = channel !== null;
    if (channel === null) return;
    const peer = dmPeer(channel, me);
    const online = peer === void 0 ? void 0 : this.peers.presence.get(peer)?.online;
    fillAvatar(byId("peer-avatar"), peer ?? channel.slice(2), peer === void 0, online);
    byId("pane-name").textContent = channelTitle(channel, me);
    const line = this.peers.status(channel);
    const paneStatus = byId("pane-status");
    paneStatus.textContent = line.text;
    paneStatus.className = line.className;
    const muted = this.client.muted(channel);
    const mute = byId("mute");
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(muted));
    byId("editing").hidden = this.editing?.channel !== channel;
    byId("send").textContent = this.editing?.channel === channel ? "Save" : "Send";
    const list = byId("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    renderMessages(list, messageRows(this.client, channel, view), me, {
      edit: (seq, text) => this.beginEdit(seq, text),
      recall: (seq) => void this.recall(seq),
      select: (seq) => {
        this.selected = this.selected === seq ? null : seq;
        this.render();
      }
    });
    if (atBottom || this.stickToBottom) list.scrollTop = list.scrollHeight;
    this.stickToBottom = false;
  }
  // --------------------------------------------------------------- DOM wiring
  bindDom() {
    fillAvatar(byId("me-avatar"), this.who.user, false);
    byId("me-name").textContent = `${this.who.user} · ${this.who.device}`;
    byId("sign-out").onclick = () => this.signOut();
    byId("new-dm").onsubmit = (e) => void this.startChat(e);
    byId("composer").onsubmit = (e) => void this.submit(e);
    byId("back").onclick = () => this.openChannel(null);
    byId("mute").onclick = () => void this.toggleMute();
    byId("cancel-edit").onclick = () => {
      this.editing = null;
      byId("draft").value = "";
      this.render();
    };
    const draft = byId("draft");
    draft.oninput = () => this.onDraftInput();
    draft.onkeydown = (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        byId("composer").requestSubmit();
      } else if (e.key === "Escape" && this.editing !== null) {
        byId("cancel-edit").click();
      }
    };
  }
  autosize() {
    const draft = byId("draft");
    draft.style.height = "auto";
    draft.style.height = `${Math.min(draft.scrollHeight, 160)}px`;
  }
  toast(text) {
    const toast = byId("toast");
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => toast.hidden = true, 4e3);
  }
};

// web/src/login.ts
var LAST_IDENTITY = "courier-web:last-identity";
var TAB_IDENTITY = "courier-web:tab-identity";
function idProblem(what, id) {
  if (id === "") return `Enter a ${what} id.`;
  if (!USER_ID.test(id)) return `A ${what} id is 1–64 of A–Z a–z 0–9 _ . - (no spaces).`;
  return null;
}
function lastIdentity() {
  return saved(() => localStorage, LAST_IDENTITY);
}
function tabIdentity() {
  return saved(() => sessionStorage, TAB_IDENTITY);
}
function rememberIdentity(who) {
  save(() => localStorage, LAST_IDENTITY, who);
  save(() => sessionStorage, TAB_IDENTITY, who);
}
function forgetTabIdentity() {
  save(() => sessionStorage, TAB_IDENTITY, null);
}
function saved(storage, key) {
  try {
    const who = JSON.parse(storage().getItem(key) ?? "null");
    if (typeof who?.user === "string" && typeof who.device === "string") return { user: who.user, device: who.device };
  } catch {
  }
  return null;
}
function save(storage, key, who) {
  try {
    if (who === null) storage().removeItem(key);
    else storage().setItem(key, JSON.stringify(who));
  } catch {
  }
}

// web/src/main.ts
var page = null;
function showLogin(reason) {
  void page?.stop();
  page = null;
  forgetTabIdentity();
  byId("chat").hidden = true;
  byId("login").hidden = false;
  document.title = "Courier chat";
  byId("login-error").textContent = reason ?? "";
  const last = lastIdentity();
  const user = byId("login-user");
  const device = byId("login-device");
  if (last !== null && user.value === "") {
    user.value = last.user;
    device.value = last.device;
  }
  user.focus();
}
async function signIn(who) {
  const submit = byId("login-submit");
  submit.disabled = true;
  try {
    const token = await fetchToken(who);
    rememberIdentity(who);
    byId("login").hidden = true;
    byId("chat").hidden = false;
    const current = new ChatPage(who, token, showLogin);
    page = current;
    await current.start().catch((error) => {
      if (page === current) throw error;
    });
  } catch (error) {
    showLogin(`Could not sign in: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    submit.disabled = false;
  }
}
function onSubmit(event) {
  event.preventDefault();
  const user = byId("login-user").value.trim();
  const device = byId("login-device").value.trim() || "browser";
  const problem = idProblem("user", user) ?? idProblem("device", device);
  byId("login-error").textContent = problem ?? "";
  if (problem === null) void signIn({ user, device });
}
byId("login-form").addEventListener("submit", onSubmit);
for (const chip of document.querySelectorAll(".chip[data-user]")) {
  chip.addEventListener("click", () => {
    byId("login-user").value = chip.dataset.user ?? "";
    byId("login-device").focus();
  });
}
var signedIn = tabIdentity();
if (signedIn === null) showLogin();
else void signIn(signedIn);
