/** The client's state in memory: messages, per-channel cursors, the outbox and the reads the
 * server does not hold yet. Every change is recorded as dirty and handed to the `Store` as
 * one batch (`takeBatch`), so the store only keeps records.
 *
 * Unread is always computed from the cursors and the held messages, never counted up per
 * frame, so a frame delivered twice can never change it: the messages after the read cursor,
 * up to lastSeq, that are not recalled (protocol v1.1); muted channels are left out of the
 * total. A recall or an edit of a message not held yet is kept as an early change and merged
 * into the message when it comes (`revisions.latest`).
 *
 * A seq whose message expired on the server (retention) before this device fetched it is
 * recorded as such, so the contiguous prefix, and with it the acks, can move past it.
 *
 * What the user did is kept until the server holds it: the outbox (until each sendack) and
 * each channel's wanted read (until the server reports a read cursor at least as high). */

import { latest, RECALLED, revisionOf, sameRevision, type Revision } from "./revisions.js";
import {
  clone,
  type ChannelRecord,
  type MessageRecord,
  type OutboxEntry,
  type StoreBatch,
  type StoreSnapshot,
} from "./store.js";
import type { Frame } from "./types.js";

function emptyChannel(channel: string): ChannelRecord {
  return {
    channel,
    lastSeq: 0,
    readSeq: 0,
    wantedRead: 0,
    expiredThrough: 0,
    muted: false,
    peerReadSeq: 0,
    early: {},
    anchors: {},
  };
}

/** The entries of a seq-keyed record whose seq passes `test`. */
function keep<T>(record: Record<string, T>, test: (seq: number) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([seq]) => test(Number(seq))));
}

const int = (value: unknown): number => (typeof value === "number" ? Math.trunc(value) : 0);

export interface Witness {
  channel: string;
  seq: number;
  messageId: string;
}

export class State {
  private channels = new Map<string, ChannelRecord>();
  private held = new Map<string, Map<number, MessageRecord>>();
  /** channel → the seqs known recalled (held messages and early changes alike). */
  private recalledSeqs = new Map<string, Set<number>>();
  private prefixes = new Map<string, number>();
  private maxSeqs = new Map<string, number>(); // channel → the highest seq held
  private outboxEntries = new Map<string, OutboxEntry>();
  private dirtyChannels = new Set<string>();
  private dirtyMessages = new Map<string, MessageRecord>();
  private dirtyOutbox = new Map<string, OutboxEntry | null>();
  private resetPending = false;

  load(snapshot: StoreSnapshot): void {
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
  takeBatch(): StoreBatch | undefined {
    const batch: StoreBatch = {};
    if (this.resetPending) batch.reset = true;
    const channels = [...this.dirtyChannels].flatMap((c) => this.channels.get(c) ?? []);
    if (channels.length > 0) batch.channels = clone(channels);
    if (this.dirtyMessages.size > 0) batch.messages = clone([...this.dirtyMessages.values()]);
    const puts = [...this.dirtyOutbox.values()].filter((e): e is OutboxEntry => e !== null);
    const deletes = [...this.dirtyOutbox].filter(([, e]) => e === null).map(([k]) => k);
    if (puts.length > 0) batch.outbox = clone(puts);
    if (deletes.length > 0) batch.deleteOutbox = deletes;
    this.dirtyChannels.clear();
    this.dirtyMessages.clear();
    this.dirtyOutbox.clear();
    this.resetPending = false;
    return Object.keys(batch).length > 0 ? batch : undefined;
  }

  private channel(channel: string): ChannelRecord {
    let record = this.channels.get(channel);
    if (record === undefined) {
      record = emptyChannel(channel);
      this.channels.set(channel, record);
    }
    this.dirtyChannels.add(channel);
    return record;
  }

  private peek(channel: string): ChannelRecord | undefined {
    return this.channels.get(channel);
  }

  private recalledOf(channel: string): Set<number> {
    let seqs = this.recalledSeqs.get(channel);
    if (seqs === undefined) {
      seqs = new Set();
      this.recalledSeqs.set(channel, seqs);
    }
    return seqs;
  }

  private put(record: MessageRecord): void {
    let byseq = this.held.get(record.channel);
    if (byseq === undefined) {
      byseq = new Map();
      this.held.set(record.channel, byseq);
    }
    byseq.set(record.seq, record);
    this.maxSeqs.set(record.channel, Math.max(this.maxSeqs.get(record.channel) ?? 0, record.seq));
    if (record.recalled) this.recalledOf(record.channel).add(record.seq);
  }

  private changed(record: MessageRecord): void {
    this.dirtyMessages.set(`${record.channel}\u0000${record.seq}`, record);
  }

  // messages

  /** Hold a message (a `message` frame, a sync item); false if (channel, seq) is held. Its
   * recall or edits, seen before or with it, are merged in either way. */
  addMessage(channel: string, message: Frame): boolean {
    const seq = int(message.seq);
    const revision = revisionOf(message);
    if (this.message(channel, seq) !== undefined) {
      this.reviseWith(channel, seq, revision);
      return false;
    }
    const mentions = message.mentions;
    const record: MessageRecord = {
      channel,
      seq,
      messageId: String(message.messageId),
      from: String(message.from),
      body: revision.body,
      ts: int(message.ts),
      mentions: revision.recalled || !Array.isArray(mentions) ? [] : mentions.map(String),
      recalled: revision.recalled,
      version: revision.version,
    };
    if (typeof message.clientMsgNo === "string") record.clientMsgNo = message.clientMsgNo;
    if (revision.editedAt !== undefined) record.editedAt = revision.editedAt;
    this.put(record);
    this.changed(record);
    const early = this.peek(channel)?.early[seq];
    if (early !== undefined) {
      const record = this.channel(channel);
      record.early = keep(record.early, (at) => at !== seq);
      this.reviseWith(channel, seq, early);
    }
    this.settleAnchor(channel, seq, record.messageId);
    return true;
  }

  /** The message at `seq` is recalled (a `recall` frame); false if that was known. */
  recall(channel: string, seq: number): boolean {
    return this.reviseWith(channel, seq, RECALLED);
  }

  /** Keep the revision an `edit` frame or a `lastMessage` carries if it is the latest;
   * false if it changes nothing. */
  revise(channel: string, seq: number, carrier: Frame): boolean {
    return this.reviseWith(channel, seq, revisionOf(carrier));
  }

  private reviseWith(channel: string, seq: number, seen: Revision): boolean {
    const record = this.message(channel, seq);
    if (record === undefined) {
      const held = this.peek(channel)?.early[seq];
      const kept = held === undefined ? seen : latest(held, seen);
      if (held !== undefined && sameRevision(held, kept)) return false;
      this.channel(channel).early[seq] = kept;
      if (kept.recalled) this.recalledOf(channel).add(seq);
      return true;
    }
    const held: Revision = {
      recalled: record.recalled,
      version: record.version,
      body: record.body,
    };
    const kept = latest(held, seen);
    if (sameRevision(held, kept)) return false;
    record.recalled = kept.recalled;
    record.version = kept.version;
    record.body = kept.body;
    if (kept.editedAt !== undefined) record.editedAt = kept.editedAt;
    else delete record.editedAt;
    if (kept.recalled) {
      record.mentions = [];
      this.recalledOf(channel).add(seq);
    }
    this.changed(record);
    return true;
  }

  message(channel: string, seq: number): MessageRecord | undefined {
    return this.held.get(channel)?.get(seq);
  }

  /** The held messages in seq order. */
  messages(channel: string): MessageRecord[] {
    return [...(this.held.get(channel)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  /** The held message with the highest seq. */
  newest(channel: string): MessageRecord | undefined {
    const seq = this.maxSeqs.get(channel);
    return seq === undefined ? undefined : this.message(channel, seq);
  }

  maxSeq(channel: string): number {
    return this.newest(channel)?.seq ?? 0;
  }

  /** The highest n such that every message 1..n is held or expired (0 if none). */
  contiguousPrefix(channel: string): number {
    const byseq = this.held.get(channel);
    let prefix = Math.max(this.prefixes.get(channel) ?? 0, this.expiredThrough(channel));
    while (byseq?.has(prefix + 1)) prefix += 1;
    this.prefixes.set(channel, prefix);
    return prefix;
  }

  /** Every seq up to `seq` not held has expired on the server: `sync` will never return it.
   * A read anchor there can no longer settle. */
  markExpiredThrough(channel: string, seq: number): void {
    if (seq <= this.expiredThrough(channel)) return;
    const record = this.channel(channel);
    record.expiredThrough = seq;
    record.anchors = keep(record.anchors, (at) => at > seq);
  }

  expiredThrough(channel: string): number {
    return this.peek(channel)?.expiredThrough ?? 0;
  }

  // cursors

  /** Record the channel's lastSeq as known from the server (never moves backwards). */
  setLastSeq(channel: string, lastSeq: number): void {
    if (lastSeq > (this.peek(channel)?.lastSeq ?? -1)) this.channel(channel).lastSeq = lastSeq;
  }

  /** Move the read cursor forward (never backwards). */
  setReadSeq(channel: string, readSeq: number): void {
    if (readSeq > (this.peek(channel)?.readSeq ?? -1)) this.channel(channel).readSeq = readSeq;
  }

  readSeq(channel: string): number {
    return this.peek(channel)?.readSeq ?? 0;
  }

  /** The highest seq known: the server's lastSeq or a held message, whichever is higher. */
  lastSeq(channel: string): number {
    return Math.max(this.peek(channel)?.lastSeq ?? 0, this.maxSeq(channel));
  }

  unread(channel: string): number {
    return this.unreadIn(channel, this.readSeq(channel), this.lastSeq(channel));
  }

  /** What unread would be with these cursors (a server's, to compare with its count): the
   * seqs in (readSeq, lastSeq] not known recalled (one not held counts). */
  unreadIn(channel: string, readSeq: number, lastSeq: number): number {
    if (lastSeq <= readSeq) return 0;
    let recalled = 0;
    for (const seq of this.recalledSeqs.get(channel) ?? []) {
      if (seq > readSeq && seq <= lastSeq) recalled += 1;
    }
    return lastSeq - readSeq - recalled;
  }

  /** How many of the unread messages mention `user`. */
  mentions(channel: string, user: string): number {
    return this.mentionsIn(channel, user, this.readSeq(channel), this.lastSeq(channel));
  }

  mentionsIn(channel: string, user: string, readSeq: number, lastSeq: number): number {
    const byseq = this.held.get(channel);
    if (byseq === undefined || lastSeq <= readSeq) return 0;
    // the unread range or the held messages, whichever is shorter to walk
    const unread =
      lastSeq - readSeq <= byseq.size
        ? Array.from({ length: lastSeq - readSeq }, (_, i) => byseq.get(readSeq + 1 + i))
        : [...byseq.values()].filter((m) => m.seq > readSeq && m.seq <= lastSeq);
    return unread.filter((m) => m !== undefined && !m.recalled && m.mentions.includes(user))
      .length;
  }

  setMuted(channel: string, muted: boolean): void {
    if ((this.peek(channel)?.muted ?? false) !== muted) this.channel(channel).muted = muted;
  }

  muted(channel: string): boolean {
    return this.peek(channel)?.muted ?? false;
  }

  /** Record the DM peer's read cursor (never backwards); true if it rose. */
  raisePeerReadSeq(channel: string, readSeq: number): boolean {
    if (readSeq <= this.peerReadSeq(channel)) return false;
    this.channel(channel).peerReadSeq = readSeq;
    return true;
  }

  peerReadSeq(channel: string): number {
    return this.peek(channel)?.peerReadSeq ?? 0;
  }

  /** Every channel with cursors or messages, sorted. */
  channelIds(): string[] {
    return [...new Set([...this.channels.keys(), ...this.held.keys()])].sort();
  }

  /** The unread of every channel not muted. */
  totalUnread(): number {
    let total = 0;
    for (const channel of this.channelIds()) {
      if (!this.muted(channel)) total += this.unread(channel);
    }
    return total;
  }

  // outbox

  outboxAdd(entry: OutboxEntry): void {
    if (this.outboxEntries.has(entry.clientMsgNo)) return;
    this.outboxEntries.set(entry.clientMsgNo, entry);
    this.dirtyOutbox.set(entry.clientMsgNo, entry);
  }

  /** Drop an entry; returns it, or undefined if it was not there. */
  outboxRemove(clientMsgNo: string): OutboxEntry | undefined {
    const entry = this.outboxEntries.get(clientMsgNo);
    if (entry !== undefined) {
      this.outboxEntries.delete(clientMsgNo);
      this.dirtyOutbox.set(clientMsgNo, null);
    }
    return entry;
  }

  outboxGet(clientMsgNo: string): OutboxEntry | undefined {
    return this.outboxEntries.get(clientMsgNo);
  }

  /** The entries, oldest first. */
  outbox(): OutboxEntry[] {
    return [...this.outboxEntries.values()];
  }

  // reads the server does not hold yet

  /** The user read the channel up to `seq`: keep it until the server holds it. */
  wantRead(channel: string, seq: number): void {
    if (seq > (this.peek(channel)?.wantedRead ?? 0)) this.channel(channel).wantedRead = seq;
  }

  wantedRead(channel: string): number {
    return this.peek(channel)?.wantedRead ?? 0;
  }

  /** channel → wanted read, for every channel with one. */
  wantedReads(): Map<string, number> {
    const wanted = new Map<string, number>();
    for (const record of this.channels.values()) {
      if (record.wantedRead > 0) wanted.set(record.channel, record.wantedRead);
    }
    return wanted;
  }

  /** The server reports the user's read cursor at `readSeq`: the local cursor moves there
   * (never backwards), and a wanted read it covers is held, so forgotten. */
  readConfirmed(channel: string, readSeq: number): void {
    this.setReadSeq(channel, readSeq);
    this.dropWantedRead(channel, readSeq);
  }

  /** Give up a wanted read of at most `seq` (the server cannot hold it). */
  dropWantedRead(channel: string, seq: number): void {
    const wanted = this.wantedRead(channel);
    if (wanted > 0 && wanted <= seq) this.channel(channel).wantedRead = 0;
  }

  anchors(channel: string): Record<string, string> {
    return { ...(this.peek(channel)?.anchors ?? {}) };
  }

  /** A message at the seq of a read anchor settles it: the very message read brings the
   * read back up to it; any other one drops the anchors from it on. */
  private settleAnchor(channel: string, seq: number, messageId: string): void {
    const anchors = this.peek(channel)?.anchors;
    const read = anchors?.[seq];
    if (anchors === undefined || read === undefined) return;
    const record = this.channel(channel);
    record.anchors = keep(anchors, (at) => (read === messageId ? at > seq : at < seq));
    if (read === messageId && this.readSeq(channel) < seq) {
      this.setReadSeq(channel, seq);
      this.wantRead(channel, seq);
    }
  }

  // the server lost its state

  /** A held message to recognise the server by: the newest of a DM, else of any channel
   * (a group can be gone for other reasons). */
  witness(): Witness | undefined {
    let best: MessageRecord | undefined;
    const rank = (m: MessageRecord): [number, number, number] => [
      m.channel.startsWith("dm:") ? 1 : 0,
      m.ts,
      m.seq,
    ];
    for (const byseq of this.held.values()) {
      for (const record of byseq.values()) {
        if (best === undefined) {
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
  forgetServer(): void {
    const kept = new Map<string, ChannelRecord>();
    for (const record of this.channels.values()) {
      const read = Math.max(record.readSeq, record.wantedRead);
      const anchors = { ...record.anchors };
      for (const message of this.held.get(record.channel)?.values() ?? []) {
        if (message.seq <= read) anchors[message.seq] = message.messageId;
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
}
