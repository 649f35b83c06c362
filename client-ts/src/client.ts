/** `CourierClient`: one device's connection, with reconnect, outbox and read resend, sync and
 * acks, and protocol v1.1's recall, edit, mentions, mute, receipts, typing and presence. */

import { Emitter } from "./emitter.js";
import { AuthError, NotConnectedError, RequestError } from "./errors.js";
import {
  checkedUserIds,
  MAX_MENTIONS,
  MAX_PRESENCE_USERS,
  newId,
  tokenUser,
} from "./ids.js";
import { State, type Witness } from "./state.js";
import { MemoryStore, type OutboxEntry, type Store } from "./store.js";
import { TypingThrottle } from "./typing-throttle.js";
import type {
  Conversation,
  CourierEvents,
  CourierOptions,
  Frame,
  Message,
  Presence,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
import { conversations, pendingMessage, sentMessage } from "./views.js";

const PAGE_LIMIT = 100;
const MAX_TICK_MS = 1000;
const MAX_BODY_BYTES = 16384;
const OPEN = 1;
const AUTH_FAILURES = new Set([401, 403]);
/** Resending cannot succeed. */
const PERMANENT_ERRORS = new Set(["invalid", "forbidden", "too_large"]);
/** Nothing was done: send the same frame again. */
const RETRYABLE_ERRORS = new Set(["throttled", "internal"]);

const DEFAULTS = {
  pingIntervalMs: 300_000, // API Gateway drops a connection after 10 minutes without a message
  resendTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
};

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
  settled: boolean;
}

interface PendingRequest {
  resolve(frame: Frame): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  probe: boolean;
}

interface Outcome {
  opened: boolean;
  status?: number;
}

function deferred(): Deferred {
  const result = { settled: false } as Deferred;
  result.promise = new Promise<void>((resolve, reject) => {
    result.resolve = () => {
      result.settled = true;
      resolve();
    };
    result.reject = (error) => {
      result.settled = true;
      reject(error);
    };
  });
  result.promise.catch(() => undefined); // rejected for whoever awaits it; not unhandled
  return result;
}

const int = (value: unknown): number => (typeof value === "number" ? Math.trunc(value) : 0);
const str = (value: unknown): string => (typeof value === "string" ? value : String(value));

function parse(data: unknown): Frame | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const frame: unknown = JSON.parse(data);
    return typeof frame === "object" && frame !== null && !Array.isArray(frame)
      ? (frame as Frame)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a refused handshake, where the implementation tells it (`ws` does, in
 * the error's message; browsers never do). */
function handshakeStatus(event: unknown): number | undefined {
  const candidates = [
    (event as { message?: unknown } | null)?.message,
    (event as { error?: { message?: unknown } } | null)?.error?.message,
  ];
  for (const text of candidates) {
    const match = typeof text === "string" ? /server response: (\d{3})/.exec(text) : null;
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * A Courier device. State lives in memory and is written through to the `Store`; every UI
 * change is an event (`on`).
 *
 * While connected it pings a quiet connection every `pingIntervalMs`, resends (with the same
 * clientMsgNo) an outbox entry still unanswered after `resendTimeoutMs`, and resends the
 * user's read of a channel until the server reports a read cursor that covers it. It acks
 * what it holds only once the store has written it. On every connect it first checks that
 * the server still holds the store's newest message (unless `checkServer` is false), then
 * resends the outbox, syncs every conversation (gap fill, acks) and resends the reads.
 */
export class CourierClient {
  readonly user: string;
  private readonly wsUrl: string;
  private readonly store: Store;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly options: typeof DEFAULTS & { checkServer: boolean };
  private readonly now: () => number;
  private readonly state = new State();
  private readonly events = new Emitter<CourierEvents>();
  private readonly typingThrottle: TypingThrottle;
  private socket: WebSocketLike | undefined; // opening or open
  private ws: WebSocketLike | undefined; // open
  private checked = false; // this connection's server holds the store's state
  private held: Frame[] = []; // frames that came in before that was known
  private readonly pending = new Map<string, PendingRequest>();
  private readonly acked = new Map<string, number>(); // channel → highest seq acked
  private readonly due = new Map<string, number>(); // clientMsgNo → when to send it (again)
  private readonly readDue = new Map<string, [number, number]>(); // channel → (seq, when)
  private readonly readAsks = new Map<string, [string, number]>(); // requestId → (channel, seq)
  private readonly failures = new Map<string, number>(); // clientMsgNo → retryable errors
  private readonly filling = new Set<string>();
  private readonly reported = new Map<string, [number, number]>(); // unread, mentions told
  private lastTraffic = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private pinging = false;
  private loading: Promise<void> | undefined;
  private ready: Deferred | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(options: CourierOptions) {
    const base = options.url
      .replace(/^https:\/\//, "wss://")
      .replace(/^http:\/\//, "ws://")
      .replace(/\/+$/, "");
    this.wsUrl = `${base}/?token=${encodeURIComponent(options.token)}`;
    this.user = tokenUser(options.token);
    this.store = options.store ?? new MemoryStore();
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const impl = options.WebSocket ?? global;
    if (impl === undefined) {
      throw new Error("no global WebSocket: pass options.WebSocket (in Node 20, the ws package)");
    }
    this.WebSocketImpl = impl;
    this.options = {
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      resendTimeoutMs: options.resendTimeoutMs ?? DEFAULTS.resendTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      backoffBaseMs: options.backoffBaseMs ?? DEFAULTS.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
      checkServer: options.checkServer ?? true,
    };
    this.now = options.now ?? Date.now;
    this.typingThrottle = new TypingThrottle(this.now);
  }

  // lifecycle

  /** Load the store (once) without connecting: the outbox, messages and unread of the last
   * run are then readable offline. `connect` and `send` call it. */
  load(): Promise<void> {
    this.loading ??= this.store.load().then((snapshot) => this.state.load(snapshot));
    return this.loading;
  }

  /** Start the connection loop; resolves once connected and caught up the first time. Rejects
   * with `AuthError` if the token is refused, `NotConnectedError` if closed first. */
  connect(): Promise<void> {
    if (this.ready !== undefined) return this.ready.promise;
    this.closed = false;
    const ready = deferred();
    this.ready = ready;
    this.running = this.run(ready);
    return ready.promise;
  }

  /** Stop: close the connection, stop reconnecting, and finish the store's writes. The store
   * stays open (it is the app's). */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.socket?.close();
    this.ready?.reject(new NotConnectedError("closed"));
    await this.running;
    this.ready = undefined;
    this.running = undefined;
    await this.persist().catch(() => undefined);
  }

  get connected(): boolean {
    return this.ws !== undefined && this.ws.readyState === OPEN;
  }

  on<K extends keyof CourierEvents>(type: K, fn: (event: CourierEvents[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  private async run(ready: Deferred): Promise<void> {
    try {
      await this.load();
    } catch (error) {
      ready.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    let attempt = 0;
    while (!this.closed) {
      const outcome = await this.session();
      if (outcome.opened) attempt = 0;
      if (outcome.status !== undefined && AUTH_FAILURES.has(outcome.status)) {
        this.events.emit("auth_failed", { status: outcome.status });
        ready.reject(new AuthError(outcome.status));
        this.ready = undefined;
        return;
      }
      if (this.isClosed()) return;
      if (outcome.opened) this.events.emit("disconnected", {});
      const delay = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
      attempt += 1;
      await this.sleep(delay * (0.5 + Math.random() / 2));
    }
  }

  /** `closed` as it is now (close() may have run while awaiting). */
  private isClosed(): boolean {
    return this.closed;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One connection, from opening to closed. */
  private session(): Promise<Outcome> {
    return new Promise((resolve) => {
      let ws: WebSocketLike;
      try {
        ws = new this.WebSocketImpl(this.wsUrl);
      } catch {
        resolve({ opened: false });
        return;
      }
      this.socket = ws;
      let opened = false;
      let status: number | undefined;
      ws.onopen = () => {
        opened = true;
        if (this.closed) ws.close();
        else this.serve(ws);
      };
      ws.onmessage = (event: { data?: unknown }) => {
        if (this.ws === ws) this.receive(event.data);
      };
      ws.onerror = (event: unknown) => {
        status ??= handshakeStatus(event);
      };
      ws.onclose = () => {
        if (this.ws === ws) this.served();
        if (this.socket === ws) this.socket = undefined;
        resolve(status === undefined ? { opened } : { opened, status });
      };
    });
  }

  private serve(ws: WebSocketLike): void {
    this.ws = ws;
    this.due.clear(); // everything in the outbox goes out again on this connection
    this.readDue.clear(); // and every wanted read
    this.readAsks.clear();
    this.checked = false;
    this.held = [];
    this.lastTraffic = this.now();
    const tick = Math.min(
      MAX_TICK_MS,
      this.options.pingIntervalMs / 2,
      this.options.resendTimeoutMs / 2,
    );
    this.ticker = setInterval(() => void this.maintain(ws), tick);
    void this.catchUp(ws);
  }

  private served(): void {
    this.ws = undefined;
    this.checked = false;
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new NotConnectedError("disconnected"));
    }
    this.pending.clear();
    this.filling.clear();
  }

  private receive(data: unknown): void {
    this.lastTraffic = this.now();
    const frame = parse(data);
    if (frame === undefined) return;
    const requestId = frame.requestId;
    if (this.checked || (typeof requestId === "string" && this.pending.has(requestId))) {
      this.handleFrame(frame);
    } else {
      this.held.push(frame); // until the server is known to be ours
    }
  }

  /** Check the server, then resend the outbox, catch every conversation up (messages missed,
   * acks), and send every read the server does not hold yet. */
  private async catchUp(ws: WebSocketLike): Promise<void> {
    try {
      if (this.options.checkServer) await this.checkServer();
      while (this.held.length > 0) this.handleFrame(this.held.shift() as Frame);
      this.checked = true;
      this.resendDue();
      for (const conversation of await this.fetchConversations()) {
        const channel = str(conversation.channel);
        if (this.state.contiguousPrefix(channel) < this.state.lastSeq(channel)) {
          await this.fill(channel);
        }
        await this.recount(conversation);
        this.ack(channel);
      }
      this.resendReads();
      await this.persist();
      this.events.emit("connected", { totalUnread: this.state.totalUnread() });
      this.ready?.resolve();
    } catch {
      if (this.ws === ws) ws.close(); // reconnect and try again
    }
  }

  /** If the server does not hold the store's witness message, the store is another server's
   * (the local stack restarted empty): forget what came from it, keep the outbox and reads. */
  private async checkServer(): Promise<void> {
    const witness = this.state.witness();
    if (witness === undefined || (await this.holds(witness))) return;
    this.state.forgetServer();
    this.acked.clear();
    this.failures.clear();
    this.reported.clear();
    await this.persist();
    this.events.emit("server_reset", { outbox: this.state.outbox().length });
  }

  /** Whether the server has the witness at its seq. A seq at or below its lastSeq without a
   * message has expired there: still the same server. `forbidden`: the channel is unknown. */
  private async holds(witness: Witness): Promise<boolean> {
    const frame = { action: "sync", channel: witness.channel, afterSeq: witness.seq - 1, limit: 1 };
    let page: Frame;
    try {
      page = await this.request(frame, false);
    } catch (error) {
      if (error instanceof RequestError && error.code === "forbidden") return false;
      throw error;
    }
    const items = Array.isArray(page.messages) ? (page.messages as Frame[]) : [];
    for (const item of items) {
      if (int(item.seq) === witness.seq) return item.messageId === witness.messageId;
    }
    return int(page.lastSeq) >= witness.seq;
  }

  /** While connected: resend unanswered sends and reads, ping when the connection is quiet. */
  private async maintain(ws: WebSocketLike): Promise<void> {
    if (this.checked) {
      this.resendDue();
      this.resendReads();
    }
    if (this.pinging || this.now() - this.lastTraffic < this.options.pingIntervalMs) return;
    this.pinging = true;
    try {
      await this.request({ action: "ping" });
    } catch {
      if (this.ws === ws) ws.close(); // no pong: the connection is dead; reconnect
    } finally {
      this.pinging = false;
    }
  }

  // frames out

  private trySend(frame: Frame): boolean {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      return false;
    }
    this.lastTraffic = this.now();
    return true;
  }

  /** Send a frame and resolve with its reply (`RequestError` for an `error` one). The reply is
   * also applied to the state, unless `apply` is false (a probe of the server). */
  private request(frame: Frame, apply = true): Promise<Frame> {
    const requestId = newId();
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new NotConnectedError(`no reply in ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer, probe: !apply });
      if (!this.trySend({ ...frame, requestId })) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(new NotConnectedError("not connected"));
      }
    });
  }

  /** A request of the user's, only to a server the store is known to be from. */
  private act(frame: Frame, apply = true): Promise<Frame> {
    if (!(this.connected && this.checked)) {
      return Promise.reject(new NotConnectedError("not connected"));
    }
    return this.request(frame, apply);
  }

  /** Write what changed to the store, after every earlier write. Rejects if this write failed
   * (an `error` event with code `store` tells the UI). */
  private persist(): Promise<void> {
    const batch = this.state.takeBatch();
    if (batch === undefined) return this.saving;
    const write = this.saving.then(() => this.store.write(batch));
    this.saving = write.catch((error: unknown) => {
      this.events.emit("error", { code: "store", message: String(error) });
    });
    return write;
  }

  /** Queue a message in the outbox; resolves with its clientMsgNo once the store holds it.
   * It goes out now if connected, and again, unchanged, until its sendack arrives. Throws
   * (nothing queued) for mentions or a body the server would refuse. */
  async send(channel: string, body: unknown, opts?: { mentions?: string[] }): Promise<string> {
    const mentions = checkedUserIds(opts?.mentions ?? [], MAX_MENTIONS);
    const json = JSON.stringify(body) as string | undefined;
    if (json === undefined) throw new TypeError("body: not a JSON value");
    if (utf8Length(json) > MAX_BODY_BYTES) {
      throw new RangeError(`body: over ${MAX_BODY_BYTES} bytes serialized`);
    }
    await this.load();
    const entry: OutboxEntry = {
      clientMsgNo: newId(),
      channel,
      body: JSON.parse(json),
      mentions,
      created: Date.now(),
    };
    this.state.outboxAdd(entry);
    await this.persist();
    if (this.connected && this.checked) this.transmit(entry);
    return entry.clientMsgNo;
  }

  private transmit(entry: OutboxEntry): void {
    this.due.set(entry.clientMsgNo, this.now() + this.options.resendTimeoutMs);
    const frame: Frame = {
      action: "send",
      channel: entry.channel,
      clientMsgNo: entry.clientMsgNo,
      body: entry.body,
    };
    if (entry.mentions.length > 0) frame.mentions = entry.mentions;
    this.trySend(frame);
  }

  /** Send every outbox entry not sent on this connection, or overdue. */
  private resendDue(): void {
    const now = this.now();
    for (const entry of this.state.outbox()) {
      if ((this.due.get(entry.clientMsgNo) ?? now) <= now) this.transmit(entry);
    }
  }

  /** Fetch every conversation, page by page (also applied to the state), and tell the UI
   * what changed. */
  async syncConversations(): Promise<void> {
    if (!(this.connected && this.checked)) throw new NotConnectedError("not connected");
    await this.fetchConversations();
  }

  private async fetchConversations(): Promise<Frame[]> {
    let cursor: unknown = null;
    const list: Frame[] = [];
    for (;;) {
      const page = await this.request({ action: "sync", limit: PAGE_LIMIT, cursor });
      if (Array.isArray(page.conversations)) list.push(...(page.conversations as Frame[]));
      cursor = page.next ?? null;
      if (cursor === null) return list;
    }
  }

  /** Mark the channel read up to the newest seq known. The read is kept in the store until
   * the server reports a read cursor that covers it: sent now if connected, again every
   * `resendTimeoutMs` while unanswered, and on each connect. */
  async read(channel: string): Promise<void> {
    await this.load();
    const seq = this.state.lastSeq(channel);
    this.state.setReadSeq(channel, seq);
    this.state.wantRead(channel, seq);
    this.reportUnread([channel]);
    await this.persist();
    if (this.connected && this.checked) this.sendRead(channel);
  }

  /** Send the channel's wanted read with a requestId: the reply tells this read's outcome
   * apart from other devices' reads. */
  private sendRead(channel: string): void {
    const seq = this.state.wantedRead(channel);
    if (seq <= 0) return;
    for (const [requestId, [asked]] of this.readAsks) {
      if (asked === channel) this.readAsks.delete(requestId); // a late reply still confirms
    }
    const requestId = newId();
    this.readAsks.set(requestId, [channel, seq]);
    this.readDue.set(channel, [seq, this.now() + this.options.resendTimeoutMs]);
    this.trySend({ action: "read", channel, seq, requestId });
  }

  /** Send every wanted read not sent on this connection, grown since, or overdue. */
  private resendReads(): void {
    const now = this.now();
    for (const [channel, seq] of this.state.wantedReads()) {
      const sent = this.readDue.get(channel);
      if (sent === undefined || sent[0] !== seq || sent[1] <= now) this.sendRead(channel);
    }
  }

  conversations(): Conversation[] {
    return conversations(this.state, this.user);
  }

  /** The held messages in seq order, then this user's pending ones (oldest first). */
  messages(channel: string): Message[] {
    const held: Message[] = this.state.messages(channel).map(sentMessage);
    const pending = this.state.outbox().filter((entry) => entry.channel === channel);
    return held.concat(pending.map((entry) => pendingMessage(entry, this.user)));
  }

  unread(channel: string): number {
    return this.state.unread(channel);
  }

  /** How many of the channel's unread messages mention this user. */
  mentions(channel: string): number {
    return this.state.mentions(channel, this.user);
  }

  /** The unread of every conversation not muted. */
  totalUnread(): number {
    return this.state.totalUnread();
  }

  muted(channel: string): boolean {
    return this.state.muted(channel);
  }

  /** How far the other user of a DM has read (0 if unknown). */
  peerReadSeq(channel: string): number {
    return this.state.peerReadSeq(channel);
  }

  /** The outbox, oldest first (messages not yet acknowledged by the server). */
  outbox(): Message[] {
    return this.state.outbox().map((entry) => pendingMessage(entry, this.user));
  }

  /** Recall a message of this user's; resolves with the server's `recall` frame, already
   * applied. Needs a connection (`NotConnectedError`; nothing is queued), `RequestError` if
   * the server refuses it. */
  recall(channel: string, seq: number): Promise<Frame> {
    return this.act({ action: "recall", channel, seq });
  }

  /** Replace the body of a message of this user's; resolves with the `edit` frame. */
  edit(channel: string, seq: number, body: unknown): Promise<Frame> {
    return this.act({ action: "edit", channel, seq, body });
  }

  /** Mute (or unmute) the conversation for this user on all devices. */
  mute(channel: string, muted = true): Promise<Frame> {
    return this.act({ action: "mute", channel, muted });
  }

  /** Who of the channel's members (the sender aside) has read up to `seq`: the server's
   * `receipts` frame (`count`, `members`, `readBy`). */
  receipts(channel: string, seq: number): Promise<Frame> {
    return this.act({ action: "receipts", channel, seq }, false);
  }

  /** user → presence for those of `users` (1 to 100 ids, each once) the server reports:
   * only those who share a conversation with this user. */
  async presence(users: string[]): Promise<Record<string, Presence>> {
    const ids = checkedUserIds(users, MAX_PRESENCE_USERS, 1);
    const reply = await this.act({ action: "presence", users: ids }, false);
    const found = reply.users;
    return typeof found === "object" && found !== null ? (found as Record<string, Presence>) : {};
  }

  /** Tell the channel's other members this user is typing; true if the frame went out. At most
   * one per channel per 3 s does (the server would drop the others), and none offline. */
  typing(channel: string): boolean {
    if (!(this.connected && this.checked) || !this.typingThrottle.take(channel)) return false;
    return this.trySend({ action: "typing", channel });
  }

  /** Ack the contiguous prefix once the store holds it, if it grew; `again` when the server
   * shows (by sending a message again) that it has not got the last ack. */
  private ack(channel: string, again = false): void {
    this.persist().then(
      () => {
        const prefix = this.state.contiguousPrefix(channel);
        const acked = this.acked.get(channel) ?? 0;
        if (!(prefix > acked || (again && prefix > 0))) return;
        if (this.trySend({ action: "ack", channel, seq: prefix })) {
          this.acked.set(channel, Math.max(prefix, acked));
        }
      },
      () => undefined, // not written: not acked; the server sends it again
    );
  }

  /** Fetch what is missing after the contiguous prefix, page by page. Seqs a page skips have
   * expired (retention): they count as held, so the prefix moves on. */
  private async fill(channel: string): Promise<void> {
    for (;;) {
      const after = this.state.contiguousPrefix(channel);
      if (after >= this.state.lastSeq(channel)) return;
      const page = await this.request({
        action: "sync",
        channel,
        afterSeq: after,
        limit: PAGE_LIMIT,
      });
      const seqs = Array.isArray(page.messages)
        ? (page.messages as Frame[]).map((m) => int(m.seq))
        : [];
      if (seqs.length > 0) this.state.markExpiredThrough(channel, Math.min(...seqs) - 1);
      else if (page.more !== true) this.state.markExpiredThrough(channel, int(page.lastSeq));
      if (this.state.contiguousPrefix(channel) <= after) return; // nothing more to get now
    }
  }

  /** Count the entry's unread and mentions here, over its cursors; if the server's differ, a
   * message held was recalled while this device was away (no frame told it): fetch the
   * entry's unread messages again, as they are now. */
  private async recount(conversation: Frame): Promise<void> {
    const channel = str(conversation.channel);
    const [read, last] = [int(conversation.readSeq), int(conversation.lastSeq)];
    const unread = this.state.unreadIn(channel, read, last);
    const mentions = this.state.mentionsIn(channel, this.user, read, last);
    const theirs = typeof conversation.mentions === "number" ? conversation.mentions : mentions;
    if (unread === conversation.unread && mentions === theirs) return;
    let after = read;
    while (after < last) {
      const frame = { action: "sync", channel, afterSeq: after, limit: PAGE_LIMIT };
      const page = await this.request(frame);
      const seqs = Array.isArray(page.messages)
        ? (page.messages as Frame[]).map((m) => int(m.seq))
        : [];
      if (seqs.length === 0 || page.more !== true) return;
      after = Math.max(...seqs);
    }
  }

  private async fillAndAck(channel: string): Promise<void> {
    if (this.filling.has(channel)) return;
    this.filling.add(channel);
    try {
      await this.fill(channel);
      this.ack(channel);
    } catch {
      // caught up again on the next connect
    } finally {
      this.filling.delete(channel);
    }
  }

  // frames in

  /** Apply one server frame to the state, emit UI events, and write what changed. */
  private handleFrame(frame: Frame): void {
    const requestId = frame.requestId;
    const request = typeof requestId === "string" ? this.pending.get(requestId) : undefined;
    if (request !== undefined) {
      this.pending.delete(requestId as string);
      clearTimeout(request.timer);
      if (frame.type === "error") request.reject(new RequestError(frame));
      else request.resolve(frame);
      if (request.probe || frame.type === "error") return; // the caller's alone
    }
    this.apply(frame);
    const channels =
      frame.type === "conversations" && Array.isArray(frame.conversations)
        ? (frame.conversations as Frame[]).map((c) => str(c.channel))
        : typeof frame.channel === "string"
          ? [frame.channel]
          : [];
    this.reportUnread(channels);
    void this.persist().catch(() => undefined);
  }

  /** Apply a frame by its type (frames of other types change nothing). */
  private apply(frame: Frame): void {
    switch (frame.type) {
      case undefined:
        this.onGatewayError(frame);
        return;
      case "message":
        this.onMessage(frame);
        return;
      case "messages":
        this.onMessages(frame);
        return;
      case "conversations":
        for (const conversation of (frame.conversations as Frame[] | undefined) ?? []) {
          this.onConversation(conversation);
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

  private onMessage(frame: Frame): void {
    const [channel, seq] = [str(frame.channel), int(frame.seq)];
    this.state.setLastSeq(channel, seq);
    if (frame.from === this.user) this.state.readConfirmed(channel, seq); // another device's
    this.addAndTell(channel, frame);
    if (seq > this.state.contiguousPrefix(channel) + 1) void this.fillAndAck(channel);
    this.ack(channel, seq <= (this.acked.get(channel) ?? 0));
  }

  private addAndTell(channel: string, item: Frame): void {
    if (!this.state.addMessage(channel, item)) return;
    const record = this.state.message(channel, int(item.seq));
    if (record !== undefined) {
      this.events.emit("message", { channel, message: sentMessage(record) });
    }
  }

  private onMessages(frame: Frame): void {
    const channel = str(frame.channel);
    this.state.setLastSeq(channel, int(frame.lastSeq));
    this.state.readConfirmed(channel, int(frame.readSeq));
    for (const item of Array.isArray(frame.messages) ? (frame.messages as Frame[]) : []) {
      this.addAndTell(channel, item);
    }
  }

  /** A conversation entry: its cursors, its mute, its DM peer's read, and the recall or edit
   * its `lastMessage` shows. A `lastMessage` is never held as a message (it has no
   * clientMsgNo): one not held yet comes whole from `sync`. */
  private onConversation(conversation: Frame): void {
    const channel = str(conversation.channel);
    this.state.setLastSeq(channel, int(conversation.lastSeq));
    this.state.readConfirmed(channel, int(conversation.readSeq));
    if (typeof conversation.muted === "boolean") this.state.setMuted(channel, conversation.muted);
    if (typeof conversation.peerReadSeq === "number") {
      this.peerRead(channel, conversation.peerReadSeq);
    }
    const last = conversation.lastMessage;
    if (typeof last === "object" && last !== null) {
      this.state.revise(channel, int((last as Frame).seq), last as Frame);
    }
  }

  private onRecall(frame: Frame): void {
    const [channel, seq] = [str(frame.channel), int(frame.seq)];
    if (this.changedMessage(channel, seq, this.state.recall(channel, seq))) {
      const event: CourierEvents["recall"] = { channel, seq };
      if (typeof frame.messageId === "string") event.messageId = frame.messageId;
      this.events.emit("recall", event);
    }
  }

  private onEdit(frame: Frame): void {
    const [channel, seq] = [str(frame.channel), int(frame.seq)];
    if (this.changedMessage(channel, seq, this.state.revise(channel, seq, frame))) {
      const version = int(frame.version);
      const event: CourierEvents["edit"] = { channel, seq, body: frame.body, version };
      if (typeof frame.messageId === "string") event.messageId = frame.messageId;
      if (typeof frame.editedAt === "number") event.editedAt = frame.editedAt;
      this.events.emit("edit", event);
    }
  }

  /** After a recall or an edit: the message proves lastSeq reaches its seq, and one not held
   * yet is fetched. Returns `changed`: the UI hears of it once, however often it arrives. */
  private changedMessage(channel: string, seq: number, changed: boolean): boolean {
    this.state.setLastSeq(channel, seq);
    if (seq > this.state.contiguousPrefix(channel)) void this.fillAndAck(channel);
    return changed;
  }

  private onMute(frame: Frame): void {
    const channel = str(frame.channel);
    this.state.setMuted(channel, frame.muted === true);
    const totalUnread = this.state.totalUnread();
    this.events.emit("mute", { channel, muted: frame.muted === true, totalUnread });
  }

  /** The DM peer's read cursor moved. It is at most the DM's lastSeq: one above the messages
   * held (its message frame was lost) has the missing ones fetched. */
  private onReceipt(frame: Frame): void {
    const [channel, readSeq] = [str(frame.channel), int(frame.readSeq)];
    if (frame.user === this.user || !channel.startsWith("dm:")) return;
    this.state.setLastSeq(channel, readSeq);
    if (readSeq > this.state.contiguousPrefix(channel)) void this.fillAndAck(channel);
    this.peerRead(channel, readSeq);
  }

  private peerRead(channel: string, readSeq: number): void {
    if (this.state.raisePeerReadSeq(channel, readSeq)) {
      this.events.emit("peer_read", { channel, peerReadSeq: readSeq });
    }
  }

  /** Another member is typing: the UI shows it for a few seconds (a frame comes at most every
   * 3 s while they type, and none says they stopped). */
  private onTyping(frame: Frame): void {
    if (frame.user !== this.user) {
      this.events.emit("typing", { channel: str(frame.channel), user: str(frame.user) });
    }
  }

  private onSendack(frame: Frame): void {
    const clientMsgNo = str(frame.clientMsgNo);
    const entry = this.state.outboxRemove(clientMsgNo);
    this.due.delete(clientMsgNo);
    this.failures.delete(clientMsgNo);
    const [channel, seq] = [str(frame.channel), int(frame.seq)];
    if (entry !== undefined) {
      this.state.addMessage(channel, {
        seq,
        messageId: frame.messageId,
        from: this.user,
        clientMsgNo,
        body: entry.body,
        ts: frame.ts,
        mentions: entry.mentions,
      });
    }
    this.state.setLastSeq(channel, seq);
    this.state.readConfirmed(channel, seq); // sending moved the server's cursor there
    this.events.emit("sendack", {
      channel,
      clientMsgNo,
      seq,
      messageId: str(frame.messageId),
      ts: int(frame.ts),
      duplicate: frame.duplicate === true,
    });
  }

  /** The user's read cursor as the server holds it: the reply to a read of this device, or
   * another device's read. It confirms every wanted read it covers. A reply to a read of n
   * showing a cursor below n means the server clamped it to its lastSeq: the wanted read
   * (if not higher now) is given up rather than sent forever. */
  private onRead(frame: Frame): void {
    const [channel, readSeq] = [str(frame.channel), int(frame.readSeq)];
    const requestId = frame.requestId;
    const asked = typeof requestId === "string" ? this.readAsks.get(requestId) : undefined;
    if (asked !== undefined) this.readAsks.delete(requestId as string);
    this.state.readConfirmed(channel, readSeq);
    // v1.1 leaves recalled messages out of `unread`: this is a lower bound of lastSeq
    this.state.setLastSeq(channel, readSeq + int(frame.unread));
    if (asked !== undefined && asked[0] === channel && readSeq < asked[1]) {
      this.state.dropWantedRead(channel, asked[1]);
    }
    this.events.emit("read", { channel, readSeq, unread: this.state.unread(channel) });
  }

  private onError(frame: Frame): void {
    const code = str(frame.code);
    const clientMsgNo = typeof frame.clientMsgNo === "string" ? frame.clientMsgNo : undefined;
    const requestId = frame.requestId;
    const asked = typeof requestId === "string" ? this.readAsks.get(requestId) : undefined;
    if (asked !== undefined) {
      this.readAsks.delete(requestId as string);
      if (PERMANENT_ERRORS.has(code)) {
        this.state.dropWantedRead(...asked); // e.g. no longer a member: cannot be held
      } else {
        const soon = Math.min(this.options.resendTimeoutMs, this.options.backoffBaseMs);
        this.readDue.set(asked[0], [asked[1], this.now() + soon]);
      }
    }
    let channel: string | undefined;
    if (clientMsgNo !== undefined && PERMANENT_ERRORS.has(code)) {
      channel = this.state.outboxRemove(clientMsgNo)?.channel;
      this.due.delete(clientMsgNo);
    } else if (clientMsgNo !== undefined && RETRYABLE_ERRORS.has(code)) {
      const failures = (this.failures.get(clientMsgNo) ?? 0) + 1;
      this.failures.set(clientMsgNo, failures);
      const delay = Math.min(
        this.options.resendTimeoutMs,
        this.options.backoffBaseMs * 2 ** (failures - 1),
      );
      this.due.set(clientMsgNo, this.now() + delay);
    }
    const event: CourierEvents["error"] = { code };
    if (typeof frame.message === "string") event.message = frame.message;
    if (clientMsgNo !== undefined) event.clientMsgNo = clientMsgNo;
    if (channel !== undefined) event.channel = channel;
    this.events.emit("error", event);
  }

  /** A frame of API Gateway's own (a function failed or timed out): the outcome of whatever
   * caused it is unknown, so everything unanswered goes out again. */
  private onGatewayError(frame: Frame): void {
    this.due.clear();
    this.readDue.clear();
    if (this.checked) {
      this.resendDue();
      this.resendReads();
    }
    const message = typeof frame.message === "string" ? frame.message : JSON.stringify(frame);
    this.events.emit("error", { code: "gateway", message });
  }

  /** Tell the UI each of these channels whose unread or mentions changed since last told. */
  private reportUnread(channels: Iterable<string>): void {
    for (const channel of new Set(channels)) {
      const [unread, mentions] = [this.state.unread(channel), this.mentions(channel)];
      const [told, toldMentions] = this.reported.get(channel) ?? [0, 0];
      if (unread === told && mentions === toldMentions) continue;
      this.reported.set(channel, [unread, mentions]);
      const totalUnread = this.state.totalUnread();
      this.events.emit("unread", { channel, unread, mentions, totalUnread });
    }
  }
}
