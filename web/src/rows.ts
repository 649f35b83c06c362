// What the views show, read from the client: conversation rows and message rows. Unread,
// mentions, muted and the peer's read cursor all come from the SDK (derived from cursors);
// nothing here counts.

import type { CourierClient, Presence, SentMessage } from "../../client-ts/src/index.ts";
import type { ConversationRow } from "./list-view.ts";
import type { MessageRow } from "./messages-view.ts";
import { bodyText, channelTitle, clock, dmPeer } from "./text.ts";

export interface RowContext {
  me: string;
  open: string | null;
  presence: ReadonlyMap<string, Presence>;
  selected: number | null;
}

/** The SDK's conversations (most recent first), after DMs opened here but not yet written to. */
export function conversationRows(client: CourierClient, view: RowContext, drafts: Iterable<string>): ConversationRow[] {
  const listed = client.conversations();
  const known = new Set(listed.map((c) => c.channel));
  const fresh = [...drafts].filter((channel) => !known.has(channel));
  const row = (channel: string, last?: SentMessage): ConversationRow => {
    const peer = dmPeer(channel, view.me);
    return {
      channel,
      title: channelTitle(channel, view.me),
      peer,
      unread: client.unread(channel),
      mentions: client.mentions(channel),
      muted: client.muted(channel),
      preview: last !== undefined ? preview(last, view.me) : known.has(channel) ? (peer === undefined ? "No messages yet" : "") : "New conversation",
      time: last !== undefined ? clock(last.sentAt) : "",
      online: peer === undefined ? undefined : view.presence.get(peer)?.online,
      active: channel === view.open,
    };
  };
  return [...fresh.map((channel) => row(channel)), ...listed.map((c) => row(c.channel, c.last))];
}

function preview(message: SentMessage, me: string): string {
  if (message.recalled === true) return "Message recalled";
  const text = bodyText(message.body).replace(/\s+/g, " ");
  if (message.from === me) return `You: ${text}`;
  return dmPeer(message.channel, me) === undefined ? `${message.from}: ${text}` : text;
}

/** The channel's held messages then its pending ones; "Seen" goes under the last of mine the
 * DM peer has read. */
export function messageRows(client: CourierClient, channel: string, view: RowContext): MessageRow[] {
  const { me } = view;
  const group = dmPeer(channel, me) === undefined;
  const peerRead = group ? 0 : client.peerReadSeq(channel);
  const rows: MessageRow[] = [];
  let previousFrom = "";
  let seenSeq = 0;
  for (const message of client.messages(channel)) {
    const base = { seen: false, selected: false, recalled: false, edited: false };
    if (message.pending === true) {
      rows.push({
        ...base, key: `p:${message.clientMsgNo}`, from: me, mine: true, text: bodyText(message.body),
        time: "", day: day(message.createdAt), pending: true, showSender: false,
      });
      previousFrom = me;
      continue;
    }
    const mine = message.from === me;
    if (mine && message.seq <= peerRead) seenSeq = message.seq;
    rows.push({
      ...base, key: `s:${message.seq}`, seq: message.seq, from: message.from, mine,
      text: bodyText(message.body), time: clock(message.sentAt), day: day(message.sentAt), pending: false,
      recalled: message.recalled === true, edited: message.editedAt !== undefined,
      showSender: group && !mine && message.from !== previousFrom, selected: message.seq === view.selected,
    });
    previousFrom = message.from;
  }
  const seen = rows.find((row) => row.seq === seenSeq && seenSeq > 0);
  if (seen !== undefined) seen.seen = true;
  return rows;
}

function day(ms: number): string {
  return new Date(ms).toLocaleDateString([], { weekday: "long", month: "short", day: "numeric" });
}
