/** Where a client keeps its state between runs: a small interface of three record kinds,
 * loaded whole at start and written in atomic batches, and `MemoryStore`.
 *
 * A store holds plain JSON-like records; all the logic (dedup, unread, revisions) lives in
 * the client's state, so a store for another platform (React Native over SQLite or
 * AsyncStorage) only has to keep records by key: see the README. */

import type { Revision } from "./revisions.js";

/** One channel's cursors and what the user did there that the server does not hold yet. */
export interface ChannelRecord {
  channel: string;
  /** The highest seq known from the server. */
  lastSeq: number;
  /** The user's read cursor (never moves backwards). */
  readSeq: number;
  /** The seq the user read up to that the server does not hold yet (0: none). */
  wantedRead: number;
  /** Every seq up to here not held has expired on the server (retention). */
  expiredThrough: number;
  muted: boolean;
  peerReadSeq: number;
  /** Recalls and edits of messages not held yet, by seq: merged when the message comes. */
  early: Record<string, Revision>;
  /** seq → messageId of messages read on a server that lost its state (`forgetServer`). */
  anchors: Record<string, string>;
}

/** A held message, as stored. */
export interface MessageRecord {
  channel: string;
  seq: number;
  messageId: string;
  from: string;
  clientMsgNo?: string;
  body: unknown;
  ts: number;
  mentions: string[];
  recalled: boolean;
  version: number;
  editedAt?: number;
}

/** A message typed and not yet acknowledged by the server. */
export interface OutboxEntry {
  clientMsgNo: string;
  channel: string;
  body: unknown;
  mentions: string[];
  /** ms since the epoch: the outbox goes out oldest first. */
  created: number;
}

export interface StoreSnapshot {
  channels: ChannelRecord[];
  messages: MessageRecord[];
  outbox: OutboxEntry[];
}

/** One atomic write. `reset` first drops every channel and message (the outbox stays). */
export interface StoreBatch {
  reset?: boolean;
  channels?: ChannelRecord[];
  messages?: MessageRecord[];
  outbox?: OutboxEntry[];
  deleteOutbox?: string[];
}

export interface Store {
  /** Everything held (once, when the client starts). */
  load(): Promise<StoreSnapshot>;
  /** Apply a batch, all or nothing; the client awaits it before it acks what it holds, and
   * `send` awaits the outbox entry's. Batches are written one at a time, in order. */
  write(batch: StoreBatch): Promise<void>;
  close(): Promise<void>;
}

/** A deep copy of JSON-like records (`structuredClone` is missing on some React Native
 * engines). */
export const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Records in memory: lost when the process ends. Reused across clients in one process it
 * stands in for a durable store (a "restart" in tests). */
export class MemoryStore implements Store {
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly messages = new Map<string, MessageRecord>();
  private readonly outbox = new Map<string, OutboxEntry>();

  load(): Promise<StoreSnapshot> {
    return Promise.resolve(
      clone({
        channels: [...this.channels.values()],
        messages: [...this.messages.values()],
        outbox: [...this.outbox.values()],
      }),
    );
  }

  write(batch: StoreBatch): Promise<void> {
    const copy = clone(batch);
    if (copy.reset) {
      this.channels.clear();
      this.messages.clear();
    }
    for (const record of copy.channels ?? []) this.channels.set(record.channel, record);
    for (const record of copy.messages ?? []) {
      this.messages.set(`${record.channel}\u0000${record.seq}`, record);
    }
    for (const entry of copy.outbox ?? []) this.outbox.set(entry.clientMsgNo, entry);
    for (const clientMsgNo of copy.deleteOutbox ?? []) this.outbox.delete(clientMsgNo);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
