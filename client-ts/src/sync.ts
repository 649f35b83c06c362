/** Catching up through `sync`: the conversation list, the messages after the contiguous
 * prefix (gap fill), the unread messages again when the server counts them otherwise, and the
 * witness probe that tells whether the server still holds the store's state. Each reply a
 * `request` gets is also applied to the state by the client, so these only decide what to
 * ask for next. */

import { RequestError } from "./errors.js";
import type { State, Witness } from "./state.js";
import type { Frame } from "./types.js";

export const PAGE_LIMIT = 100;

/** Sends a frame and resolves with its reply; `probe`: the reply is not applied. */
export type Request = (frame: Frame, probe?: boolean) => Promise<Frame>;

const int = (value: unknown): number => (typeof value === "number" ? Math.trunc(value) : 0);

function seqsOf(page: Frame): number[] {
  return Array.isArray(page.messages) ? (page.messages as Frame[]).map((m) => int(m.seq)) : [];
}

/** Every conversation, page by page, as the server lists them. */
export async function fetchConversations(request: Request): Promise<Frame[]> {
  let cursor: unknown = null;
  const list: Frame[] = [];
  for (;;) {
    const page = await request({ action: "sync", limit: PAGE_LIMIT, cursor });
    if (Array.isArray(page.conversations)) list.push(...(page.conversations as Frame[]));
    cursor = page.next ?? null;
    if (cursor === null) return list;
  }
}

/** Fetch what is missing after the contiguous prefix, page by page. Seqs a page skips have
 * expired (retention): they count as held, so the prefix moves on. */
export async function fill(request: Request, state: State, channel: string): Promise<void> {
  for (;;) {
    const after = state.contiguousPrefix(channel);
    if (after >= state.lastSeq(channel)) return;
    const page = await request({ action: "sync", channel, afterSeq: after, limit: PAGE_LIMIT });
    const seqs = seqsOf(page);
    if (seqs.length > 0) state.markExpiredThrough(channel, Math.min(...seqs) - 1);
    else if (page.more !== true) state.markExpiredThrough(channel, int(page.lastSeq));
    if (state.contiguousPrefix(channel) <= after) return; // nothing more to get now
  }
}

/** Count a conversation entry's unread and mentions here, over its cursors; if the server's
 * differ, a message held was recalled while this device was away (no frame told it): fetch
 * the entry's unread messages again, as they are now. */
export async function recount(
  request: Request,
  state: State,
  user: string,
  conversation: Frame,
): Promise<void> {
  const channel = String(conversation.channel);
  const [read, last] = [int(conversation.readSeq), int(conversation.lastSeq)];
  const unread = state.unreadIn(channel, read, last);
  const mentions = state.mentionsIn(channel, user, read, last);
  const theirs = typeof conversation.mentions === "number" ? conversation.mentions : mentions;
  if (unread === conversation.unread && mentions === theirs) return;
  let after = read;
  while (after < last) {
    const page = await request({ action: "sync", channel, afterSeq: after, limit: PAGE_LIMIT });
    const seqs = seqsOf(page);
    if (seqs.length === 0 || page.more !== true) return;
    after = Math.max(...seqs);
  }
}

/** Whether the server has the witness at its seq. A seq at or below its lastSeq without a
 * message has expired there: still the same server. `forbidden`: the channel is unknown to
 * it (groups are made through the admin API, so a server that lost its state has none). */
export async function holds(request: Request, witness: Witness): Promise<boolean> {
  const frame = { action: "sync", channel: witness.channel, afterSeq: witness.seq - 1, limit: 1 };
  let page: Frame;
  try {
    page = await request(frame, true);
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
