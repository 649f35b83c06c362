/** What the user did, sent until the server holds it: `OutboxSender` resends each outbox entry
 * with the same clientMsgNo until its sendack; `ReadSender` resends each channel's wanted read
 * until the server reports a cursor that covers it. Both live in the store (`State`); these
 * only keep, per connection, when each is due again. */

import { newId } from "./ids.js";
import type { State } from "./state.js";
import type { OutboxEntry } from "./store.js";
import type { Frame } from "./types.js";

/** Resending cannot succeed. */
export const PERMANENT_ERRORS: ReadonlySet<string> = new Set(["invalid", "forbidden", "too_large"]);
/** Nothing was done: send the same frame again. */
export const RETRYABLE_ERRORS: ReadonlySet<string> = new Set(["throttled", "internal"]);

export interface ResendOptions {
  resendTimeoutMs: number;
  backoffBaseMs: number;
  now: () => number;
  /** Sends a frame if connected; false if it could not go out. */
  send: (frame: Frame) => boolean;
}

export class OutboxSender {
  private readonly due = new Map<string, number>(); // clientMsgNo → when to send it (again)
  private readonly failures = new Map<string, number>(); // clientMsgNo → retryable errors

  constructor(
    private readonly state: State,
    private readonly options: ResendOptions,
  ) {}

  /** A new connection, or an unknown outcome: every entry goes out again. */
  resetDue(): void {
    this.due.clear();
  }

  /** The server lost its state: earlier failures tell nothing of the new one. */
  forgetFailures(): void {
    this.failures.clear();
  }

  transmit(entry: OutboxEntry): void {
    this.due.set(entry.clientMsgNo, this.options.now() + this.options.resendTimeoutMs);
    const frame: Frame = {
      action: "send",
      channel: entry.channel,
      clientMsgNo: entry.clientMsgNo,
      body: entry.body,
    };
    if (entry.mentions.length > 0) frame.mentions = entry.mentions;
    this.options.send(frame);
  }

  /** Send every entry not sent on this connection, or overdue. */
  resendDue(): void {
    const now = this.options.now();
    for (const entry of this.state.outbox()) {
      if ((this.due.get(entry.clientMsgNo) ?? now) <= now) this.transmit(entry);
    }
  }

  /** Its sendack came: the entry leaves the outbox; returns it (undefined if it had). */
  acknowledged(clientMsgNo: string): OutboxEntry | undefined {
    this.due.delete(clientMsgNo);
    this.failures.delete(clientMsgNo);
    return this.state.outboxRemove(clientMsgNo);
  }

  /** An `error` for a send: a permanent one drops the entry (returned, for the UI), a
   * retryable one sends it again soon, backing off as the same entry keeps failing. */
  refused(clientMsgNo: string, code: string): OutboxEntry | undefined {
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
    return undefined;
  }
}

export class ReadSender {
  private readonly due = new Map<string, [number, number]>(); // channel → (seq sent, when again)
  private readonly asks = new Map<string, [string, number]>(); // requestId → (channel, seq)

  constructor(
    private readonly state: State,
    private readonly options: ResendOptions,
  ) {}

  /** A new connection: every wanted read goes out again, and earlier asks get no reply. */
  resetDue(): void {
    this.due.clear();
    this.asks.clear();
  }

  /** An unknown outcome: every wanted read goes out again. */
  unknownOutcome(): void {
    this.due.clear();
  }

  /** Send the channel's wanted read with a requestId: the reply tells this read's outcome
   * apart from other devices' reads. */
  send(channel: string): void {
    const seq = this.state.wantedRead(channel);
    if (seq <= 0) return;
    for (const [requestId, [asked]] of this.asks) {
      if (asked === channel) this.asks.delete(requestId); // a late reply still confirms
    }
    const requestId = newId();
    this.asks.set(requestId, [channel, seq]);
    this.due.set(channel, [seq, this.options.now() + this.options.resendTimeoutMs]);
    this.options.send({ action: "read", channel, seq, requestId });
  }

  /** Send every wanted read not sent on this connection, grown since, or overdue. */
  resendDue(): void {
    const now = this.options.now();
    for (const [channel, seq] of this.state.wantedReads()) {
      const sent = this.due.get(channel);
      if (sent === undefined || sent[0] !== seq || sent[1] <= now) this.send(channel);
    }
  }

  private ask(requestId: unknown): [string, number] | undefined {
    if (typeof requestId !== "string") return undefined;
    const asked = this.asks.get(requestId);
    this.asks.delete(requestId);
    return asked;
  }

  /** A `read` frame: the user's cursor as the server holds it confirms every wanted read it
   * covers. The reply to a read of n showing a cursor below n means the server clamped it to
   * its lastSeq: the wanted read (if not higher now) is given up rather than sent forever. */
  confirmed(requestId: unknown, channel: string, readSeq: number): void {
    const asked = this.ask(requestId);
    this.state.readConfirmed(channel, readSeq);
    if (asked !== undefined && asked[0] === channel && readSeq < asked[1]) {
      this.state.dropWantedRead(channel, asked[1]);
    }
  }

  /** An `error` for a read: a permanent one gives the read up (e.g. no longer a member), any
   * other sends it again soon. */
  refused(requestId: unknown, code: string): void {
    const asked = this.ask(requestId);
    if (asked === undefined) return;
    if (PERMANENT_ERRORS.has(code)) {
      this.state.dropWantedRead(...asked);
      return;
    }
    const soon = Math.min(this.options.resendTimeoutMs, this.options.backoffBaseMs);
    this.due.set(asked[0], [asked[1], this.options.now() + soon]);
  }
}
