/** `CourierClient`: one device's connection, with reconnect, outbox and read resend, sync and
 * acks, and protocol v1.1's recall, edit, mentions, mute, receipts, typing and presence. */

import { Connection, type Link, type Session } from "./connection.js";
import { Emitter } from "./emitter.js";
import { AuthError, NotConnectedError } from "./errors.js";
import {
  checkedUserIds,
  MAX_MENTIONS,
  MAX_PRESENCE_USERS,
  newId,
  tokenClaims,
  tokenUser,
} from "./ids.js";
import { State } from "./state.js";
import { fetchConversations, fill, holds, recount, type Request } from "./sync.js";
import { OutboxSender, ReadSender } from "./resend.js";
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
} from "./types.js";
import { conversations, pendingMessage, sentMessage } from "./views.js";

const MAX_TICK_MS = 1000;
/** The largest body `send` takes, serialized (the server refuses more as `too_large`). */
export const MAX_BODY_BYTES = 16384;
/** A token this close to its `exp` is refreshed before connecting (clocks drift). */
const TOKEN_MARGIN_MS = 60_000;
const AUTH_FAILURES: ReadonlySet<number> = new Set([401, 403]);

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
}

function deferred(): Deferred {
  const result = {} as Deferred;
  result.promise = new Promise<void>((resolve, reject) => {
    result.resolve = resolve;
    result.reject = reject;
  });
  result.promise.catch(() => undefined); // rejected for whoever awaits it; not unhandled
  return result;
}

const int = (value: unknown): number => (typeof value === "number" ? Math.trunc(value) : 0);
const str = (value: unknown): string => (typeof value === "string" ? value : String(value));

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function wsUrl(url: string, token: string): string {
  const base = url
    .replace(/^https:\/\//, "wss://")
    .replace(/^http:\/\//, "ws://")
    .replace(/\/+$/, "");
  return `${base}/?token=${encodeURIComponent(token)}`;
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
  private readonly store: Store;
  private readonly connection: Connection;
  private readonly request: Request;
  private readonly options: typeof DEFAULTS & { checkServer: boolean };
  private readonly now: () => number;
  private readonly state = new State();
  private readonly events = new Emitter<CourierEvents>();
  private readonly typingThrottle: TypingThrottle;
  private checked = false; // this connection's server holds the store's state
  private held: Frame[] = []; // frames that came in before that was known
  private readonly acked = new Map<string, number>(); // channel → highest seq acked
  private readonly outboxSender: OutboxSender;
  private readonly reads: ReadSender;
  private readonly filling = new Set<string>();
  private readonly reported = new Map<string, [number, number]>(); // unread, mentions told
  private loading: Promise<void> | undefined;
  private ready: Deferred | undefined;
  private running: Promise<void> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private token: string;
  private readonly refreshToken: (() => Promise<string>) | undefined;
  private refusedInARow = 0;

  constructor(options: CourierOptions) {
    this.user = tokenUser(options.token);
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    this.store = options.store ?? new MemoryStore();
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const impl = options.WebSocket ?? global;
    if (impl === undefined) {
      throw new Error("no global WebSocket: pass options.WebSocket (in Node 20, the ws package)");
    }
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
    const tickMs = Math.min(
      MAX_TICK_MS,
      this.options.pingIntervalMs / 2,
      this.options.resendTimeoutMs / 2,
    );
    const session: Session = {
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
      },
    };
    const resend = {
      ...this.options,
      now: this.now,
      send: (frame: Frame) => this.connection.send(frame),
    };
    this.outboxSender = new OutboxSender(this.state, resend);
    this.reads = new ReadSender(this.state, resend);
    this.connection = new Connection(
      async () => wsUrl(options.url, await this.freshToken()),
      impl,
      { ...this.options, tickMs, now: this.now },
      session,
    );
    this.request = (frame, probe) => this.connection.request(frame, probe);
  }

  // lifecycle

  /** Load the store (once) without connecting: the outbox, messages and unread of the last
   * run are then readable offline. `connect` and `send` call it. */
  load(): Promise<void> {
    this.loading ??= this.store.load().then((snapshot) => {
      this.state.load(snapshot);
    });
    return this.loading;
  }

  /** Start the connection loop; resolves once connected and caught up the first time. Rejects
   * with `AuthError` if the token is refused, `NotConnectedError` if closed first. */
  connect(): Promise<void> {
    if (this.ready !== undefined) return this.ready.promise;
    const ready = deferred();
    this.ready = ready;
    this.running = this.run(ready);
    return ready.promise;
  }

  /** Stop: close the connection, stop reconnecting, and finish the store's writes. The store
   * stays open (it is the app's). */
  async close(): Promise<void> {
    this.connection.stop();
    this.ready?.reject(new NotConnectedError("closed"));
    await this.running;
    this.ready = undefined;
    this.running = undefined;
    await this.persist().catch(() => undefined);
  }

  get connected(): boolean {
    return this.connection.open;
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
    for (;;) {
      const refused = await this.connection.run(AUTH_FAILURES);
      if (refused === undefined) return; // closed
      this.refusedInARow += 1;
      if (this.refusedInARow > 1 || !(await this.refresh())) {
        this.events.emit("auth_failed", { status: refused });
        ready.reject(new AuthError(refused));
        this.ready = undefined;
        return;
      }
    }
  }

  /** The token to connect with: refreshed first if it has expired or is about to. */
  private async freshToken(): Promise<string> {
    const { exp } = tokenClaims(this.token);
    if (exp !== undefined && exp * 1000 - this.now() < TOKEN_MARGIN_MS) await this.refresh();
    return this.token;
  }

  /** Ask the app for a new token (for this user only); false if there is none to be had. */
  private async refresh(): Promise<boolean> {
    if (this.refreshToken === undefined) return false;
    try {
      const token = await this.refreshToken();
      if (tokenUser(token) !== this.user) return false;
      this.token = token;
      return true;
    } catch {
      return false;
    }
  }

  private disconnected(): void {
    this.checked = false;
    this.filling.clear();
    this.events.emit("disconnected", {});
  }

  private receive(frame: Frame, reply: boolean): void {
    if (this.checked || reply) this.handleFrame(frame);
    else this.held.push(frame); // until the server is known to be ours
  }

  /** On each new socket: check the server, then resend the outbox, catch every conversation
   * up (messages missed, acks), and send every read the server does not hold yet. */
  private async catchUp(link: Link): Promise<void> {
    this.outboxSender.resetDue(); // everything in the outbox goes out again on this connection
    this.reads.resetDue(); // and every wanted read
    this.checked = false;
    this.held = [];
    try {
      if (this.options.checkServer) await this.checkServer();
      while (this.held.length > 0) this.handleFrame(this.held.shift() as Frame);
      this.checked = true;
      this.outboxSender.resendDue();
      for (const conversation of await fetchConversations(this.request)) {
        const channel = str(conversation.channel);
        if (this.state.contiguousPrefix(channel) < this.state.lastSeq(channel)) {
          await fill(this.request, this.state, channel);
        }
        await recount(this.request, this.state, this.user, conversation);
        this.ack(channel);
      }
      this.reads.resendDue();
      await this.persist();
      this.events.emit("connected", { totalUnread: this.state.totalUnread() });
      this.ready?.resolve();
    } catch {
      link.close(); // reconnect and try again
    }
  }

  /** If the server does not hold the store's witness message, the store is another server's
   * (the local stack restarted empty): forget what came from it, keep the outbox and reads. */
  private async checkServer(): Promise<void> {
    const witness = this.state.witness();
    if (witness === undefined || (await holds(this.request, witness))) return;
    this.state.forgetServer();
    this.acked.clear();
    this.outboxSender.forgetFailures();
    this.reported.clear();
    await this.persist();
    this.events.emit("server_reset", { outbox: this.state.outbox().length });
  }

  /** While connected: resend unanswered sends and reads. */
  private maintain(): void {
    if (this.checked) {
      this.outboxSender.resendDue();
      this.reads.resendDue();
    }
  }

  // frames out

  /** A request of the user's, only to a server the store is known to be from. `probe`: the
   * reply is the caller's alone (nothing to store). */
  private act(frame: Frame, probe = false): Promise<Frame> {
    if (!(this.connected && this.checked)) {
      return Promise.reject(new NotConnectedError("not connected"));
    }
    return this.connection.request(frame, probe);
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
    if (this.connected && this.checked) this.outboxSender.transmit(entry);
    return entry.clientMsgNo;
  }

  /** Fetch every conversation, page by page (also applied to the state), and tell the UI
   * what changed. */
  async syncConversations(): Promise<void> {
    if (!(this.connected && this.checked)) throw new NotConnectedError("not connected");
    await fetchConversations(this.request);
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
    if (this.connected && this.checked) this.reads.send(channel);
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
    return this.act({ action: "receipts", channel, seq }, true);
  }

  /** user → presence for those of `users` (1 to 100 ids, each once) the server reports:
   * only those who share a conversation with this user. */
  async presence(users: string[]): Promise<Record<string, Presence>> {
    const ids = checkedUserIds(users, MAX_PRESENCE_USERS, 1);
    const reply = await this.act({ action: "presence", users: ids }, true);
    const found = reply.users;
    return typeof found === "object" && found !== null ? (found as Record<string, Presence>) : {};
  }

  /** Tell the channel's other members this user is typing; true if the frame went out. At most
   * one per channel per 3 s does (the server would drop the others), and none offline. */
  typing(channel: string): boolean {
    if (!(this.connected && this.checked) || !this.typingThrottle.take(channel)) return false;
    return this.connection.send({ action: "typing", channel });
  }

  /** Ack the contiguous prefix once the store holds it, if it grew; `again` when the server
   * shows (by sending a message again) that it has not got the last ack. */
  private ack(channel: string, again = false): void {
    this.persist().then(
      () => {
        const prefix = this.state.contiguousPrefix(channel);
        const acked = this.acked.get(channel) ?? 0;
        if (!(prefix > acked || (again && prefix > 0))) return;
        if (this.connection.send({ action: "ack", channel, seq: prefix })) {
          this.acked.set(channel, Math.max(prefix, acked));
        }
      },
      () => undefined, // not written: not acked; the server sends it again
    );
  }

  private async fillAndAck(channel: string): Promise<void> {
    if (this.filling.has(channel)) return;
    this.filling.add(channel);
    try {
      await fill(this.request, this.state, channel);
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
    const entry = this.outboxSender.acknowledged(clientMsgNo);
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
   * another device's read (`ReadSender.confirmed`). */
  private onRead(frame: Frame): void {
    const [channel, readSeq] = [str(frame.channel), int(frame.readSeq)];
    this.reads.confirmed(frame.requestId, channel, readSeq);
    // v1.1 leaves recalled messages out of `unread`: this is a lower bound of lastSeq
    this.state.setLastSeq(channel, readSeq + int(frame.unread));
    this.events.emit("read", { channel, readSeq, unread: this.state.unread(channel) });
  }

  private onError(frame: Frame): void {
    const code = str(frame.code);
    const clientMsgNo = typeof frame.clientMsgNo === "string" ? frame.clientMsgNo : undefined;
    this.reads.refused(frame.requestId, code);
    const dropped =
      clientMsgNo === undefined ? undefined : this.outboxSender.refused(clientMsgNo, code);
    const event: CourierEvents["error"] = { code };
    if (typeof frame.message === "string") event.message = frame.message;
    if (clientMsgNo !== undefined) event.clientMsgNo = clientMsgNo;
    if (dropped !== undefined) event.channel = dropped.channel;
    this.events.emit("error", event);
  }

  /** A frame of API Gateway's own (a function failed or timed out): the outcome of whatever
   * caused it is unknown, so everything unanswered goes out again. */
  private onGatewayError(frame: Frame): void {
    this.outboxSender.resetDue();
    this.reads.unknownOutcome();
    this.maintain();
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
