/** A Courier server in memory behind fake sockets, for the SDK's unit tests (the TypeScript
 * twin of tests/unit/fake_courier.py). One user's view: send with dedup, sync pages that
 * skip expired messages, read, ack, ping, recall, edit, mute. It misbehaves on purpose:
 * `faults` lists, per action, what happens to the next frames of that action. */

import type { WebSocketConstructor, WebSocketLike } from "../src/index.js";

export type Frame = Record<string, unknown>;
/** lost on the way: not carried out, no reply */
export const DROP = "drop";
/** carried out, but the function "timed out" (API Gateway's own frame instead of the reply) */
export const GATEWAY_ERROR = "gateway_error";
/** not carried out: a `throttled` error */
export const THROTTLED = "throttled";
export type Fault = typeof DROP | typeof GATEWAY_ERROR | typeof THROTTLED;

const BASE_TS = 1_764_158_400_000;

/** A token whose `sub` is `user` (the fake server does not check signatures). */
export function tokenFor(user: string, claims: Record<string, unknown> = {}): string {
  const payload = Buffer.from(JSON.stringify({ sub: user, ...claims })).toString("base64url");
  return `e30.${payload}.signature`;
}

export class FakeServer {
  messages = new Map<string, Frame[]>(); // channel → seq order
  expired = new Set<string>(); // `${channel}#${seq}`
  reads = new Map<string, number>();
  acks = new Map<string, number>();
  muted = new Set<string>();
  faults = new Map<string, Fault[]>();
  received: Frame[] = [];
  sendacks = new Map<string, Frame>(); // clientMsgNo → first sendack
  sockets: FakeSocket[] = [];
  /** The status to refuse the next handshakes with (401/403), if any. */
  refuse: number | undefined;

  constructor(readonly user: string) {}

  /** The WebSocket constructor the client is given. */
  get WebSocket(): WebSocketConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the class below needs it
    const server = this;
    return class extends FakeSocket {
      constructor(url: string) {
        super(server, url);
      }
    };
  }

  /** The open socket (the newest one). */
  get socket(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error("no socket yet");
    return socket;
  }

  fault(action: string, ...faults: Fault[]): void {
    this.faults.set(action, [...(this.faults.get(action) ?? []), ...faults]);
  }

  /** Store a message as if another user had sent it; returns its `message` frame. */
  add(channel: string, from: string, text: string, mentions: string[] = []): Frame {
    const history = this.messages.get(channel) ?? [];
    this.messages.set(channel, history);
    const seq = history.length + 1;
    const message: Frame = {
      channel,
      seq,
      messageId: `m-${channel}-${seq}`,
      from,
      clientMsgNo: `c-${from}-${seq}`,
      body: { text },
      ts: BASE_TS + seq,
    };
    if (mentions.length > 0) message.mentions = mentions;
    history.push(message);
    return { type: "message", ...message };
  }

  /** Recall a message; returns the `recall` frame the user's connections get. */
  recall(channel: string, seq: number): Frame {
    const message = this.messages.get(channel)?.[seq - 1];
    if (message === undefined) throw new Error(`no ${channel}#${seq}`);
    delete message.body;
    delete message.mentions;
    message.recalled = true;
    const unread = this.unread(channel);
    return { type: "recall", channel, seq, messageId: message.messageId, unread };
  }

  /** Edit a message (as its sender would); returns the `edit` frame. */
  edit(channel: string, seq: number, body: unknown): Frame {
    const message = this.messages.get(channel)?.[seq - 1];
    if (message === undefined) throw new Error(`no ${channel}#${seq}`);
    message.body = body;
    message.version = Number(message.version ?? 0) + 1;
    message.editedAt = BASE_TS + 1000;
    const { messageId, version, editedAt } = message;
    return { type: "edit", channel, seq, messageId, body, version, editedAt };
  }

  sent(action: string): Frame[] {
    return this.received.filter((frame) => frame.action === action);
  }

  /** The frames the server sends back for one client frame. */
  answer(frame: Frame): Frame[] {
    this.received.push(frame);
    const action = String(frame.action);
    const fault = this.faults.get(action)?.shift();
    if (fault === DROP) return [];
    const echo = (names: string[]): Frame =>
      Object.fromEntries(names.filter((n) => n in frame).map((n) => [n, frame[n]]));
    if (fault === THROTTLED) {
      const error = { type: "error", code: "throttled", message: "try again" };
      return [{ ...error, ...echo(["requestId", "clientMsgNo"]) }];
    }
    const replies = this.carryOut(action, frame);
    if (fault === GATEWAY_ERROR) {
      return [{ message: "Internal server error", connectionId: "c", requestId: "r" }];
    }
    return replies.map((reply) => ({ ...reply, ...echo(["requestId"]) }));
  }

  private carryOut(action: string, frame: Frame): Frame[] {
    const channel = String(frame.channel);
    switch (action) {
      case "send":
        return [this.onSend(frame)];
      case "sync":
        return [frame.channel == null ? this.conversations() : this.page(frame)];
      case "read": {
        const seq = Math.min(Number(frame.seq), this.lastSeq(channel));
        this.reads.set(channel, Math.max(this.reads.get(channel) ?? 0, seq));
        const readSeq = this.reads.get(channel);
        return [{ type: "read", channel, readSeq, unread: this.unread(channel) }];
      }
      case "ack":
        this.acks.set(channel, Math.max(this.acks.get(channel) ?? 0, Number(frame.seq)));
        return [];
      case "mute":
        if (frame.muted === true) this.muted.add(channel);
        else this.muted.delete(channel);
        return [{ type: "mute", channel, muted: frame.muted, totalUnread: this.totalUnread() }];
      case "recall":
        return [this.recall(channel, Number(frame.seq))];
      case "ping":
        return [{ type: "pong" }];
      case "receipts":
        return [{ type: "receipts", channel, seq: frame.seq, count: 1, members: 2, readBy: ["bob"] }];
      case "presence":
        return [{ type: "presence", users: { bob: { online: false, lastSeen: BASE_TS } } }];
      default:
        return [];
    }
  }

  private onSend(frame: Frame): Frame {
    const [clientMsgNo, channel] = [String(frame.clientMsgNo), String(frame.channel)];
    if (!channel.startsWith("dm:")) {
      return { type: "error", code: "forbidden", message: "not a member", clientMsgNo };
    }
    const earlier = this.sendacks.get(clientMsgNo);
    if (earlier !== undefined) return { ...earlier, duplicate: true };
    const message = this.add(channel, this.user, "");
    const stored = this.messages.get(channel)?.at(-1) as Frame;
    stored.body = message.body = frame.body;
    this.reads.set(channel, Number(message.seq));
    const sendack = {
      type: "sendack",
      clientMsgNo,
      channel,
      seq: message.seq,
      messageId: message.messageId,
      ts: message.ts,
      duplicate: false,
    };
    this.sendacks.set(clientMsgNo, sendack);
    return sendack;
  }

  lastSeq(channel: string): number {
    return this.messages.get(channel)?.length ?? 0;
  }

  /** v1.1: the messages after the read cursor that are not recalled. */
  unread(channel: string): number {
    const after = (this.messages.get(channel) ?? []).slice(this.reads.get(channel) ?? 0);
    return after.filter((m) => m.recalled !== true).length;
  }

  private mentions(channel: string): number {
    const after = (this.messages.get(channel) ?? []).slice(this.reads.get(channel) ?? 0);
    return after.filter((m) => Array.isArray(m.mentions) && m.mentions.includes(this.user))
      .length;
  }

  totalUnread(): number {
    let total = 0;
    for (const channel of this.messages.keys()) {
      if (!this.muted.has(channel)) total += this.unread(channel);
    }
    return total;
  }

  private conversations(): Frame {
    const conversations = [...this.messages.keys()].sort().map((channel) => {
      const last = this.messages.get(channel)?.at(-1);
      const summary =
        last === undefined || this.expired.has(`${channel}#${String(last.seq)}`)
          ? null
          : Object.fromEntries(
              Object.entries(last).filter(([k]) => k !== "clientMsgNo" && k !== "channel"),
            );
      return {
        channel,
        lastSeq: this.lastSeq(channel),
        readSeq: this.reads.get(channel) ?? 0,
        unread: this.unread(channel),
        mentions: this.mentions(channel),
        muted: this.muted.has(channel),
        lastMessage: summary,
      };
    });
    return { type: "conversations", conversations, totalUnread: this.totalUnread(), next: null };
  }

  private page(frame: Frame): Frame {
    const channel = String(frame.channel);
    const after = typeof frame.afterSeq === "number" ? frame.afterSeq : 0;
    const kept = (this.messages.get(channel) ?? []).filter(
      (m) => Number(m.seq) > after && !this.expired.has(`${channel}#${String(m.seq)}`),
    );
    const limit = typeof frame.limit === "number" ? frame.limit : 50;
    return {
      type: "messages",
      channel,
      messages: kept.slice(0, limit).map((m) => {
        const item = { ...m };
        delete item.channel;
        return item;
      }),
      more: kept.length > limit,
      lastSeq: this.lastSeq(channel),
      readSeq: this.reads.get(channel) ?? 0,
    };
  }
}

/** What the client uses of a WebSocket, wired to a FakeServer; every delivery is
 * asynchronous, as over a network. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly server: FakeServer,
    readonly url: string,
  ) {
    server.sockets.push(this);
    setImmediate(() => {
      if (this.readyState !== 0) return;
      if (server.refuse !== undefined) {
        this.onerror?.({ message: `Unexpected server response: ${server.refuse}` });
        this.finish();
        return;
      }
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    for (const reply of this.server.answer(JSON.parse(data) as Frame)) this.push(reply);
  }

  /** Deliver a server frame to the client. */
  push(frame: Frame): void {
    const data = JSON.stringify(frame);
    setImmediate(() => {
      if (this.readyState === 1) this.onmessage?.({ data });
    });
  }

  /** Close from either side: the client sees the connection end. */
  close(): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setImmediate(() => this.finish());
  }

  private finish(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1000 });
  }
}
