/** What the UI gets: held messages, pending outbox entries and conversations, built from the
 * client's state. */

import type { State } from "./state.js";
import type { MessageRecord, OutboxEntry } from "./store.js";
import type { Conversation, PendingMessage, SentMessage } from "./types.js";

export function sentMessage(record: MessageRecord): SentMessage {
  const message: SentMessage = {
    channel: record.channel,
    seq: record.seq,
    messageId: record.messageId,
    from: record.from,
    body: record.recalled ? undefined : record.body,
    sentAt: record.ts,
  };
  if (record.mentions.length > 0) message.mentions = [...record.mentions];
  if (record.recalled) message.recalled = true;
  if (record.version > 0) message.version = record.version;
  if (record.editedAt !== undefined) message.editedAt = record.editedAt;
  if (record.clientMsgNo !== undefined) message.clientMsgNo = record.clientMsgNo;
  return message;
}

export function pendingMessage(entry: OutboxEntry, from: string): PendingMessage {
  const message: PendingMessage = {
    pending: true,
    channel: entry.channel,
    clientMsgNo: entry.clientMsgNo,
    from,
    body: entry.body,
    createdAt: entry.created,
  };
  if (entry.mentions.length > 0) message.mentions = [...entry.mentions];
  return message;
}

/** Every conversation held (and every channel with a message in the outbox), most recently
 * active first: by the newest message held, else the oldest pending one; ties by channel. */
export function conversations(state: State, user: string): Conversation[] {
  const pendingSince = new Map<string, number>();
  for (const entry of state.outbox()) {
    if (!pendingSince.has(entry.channel)) pendingSince.set(entry.channel, entry.created);
  }
  const channels = new Set([...state.channelIds(), ...pendingSince.keys()]);
  const list = [...channels].map((channel) => {
    const newest = state.newest(channel);
    const conversation: Conversation = {
      channel,
      lastSeq: state.lastSeq(channel),
      readSeq: state.readSeq(channel),
      unread: state.unread(channel),
      mentions: state.mentions(channel, user),
      muted: state.muted(channel),
      peerReadSeq: state.peerReadSeq(channel),
    };
    if (newest !== undefined) conversation.last = sentMessage(newest);
    const active = newest?.ts ?? pendingSince.get(channel) ?? 0;
    return { conversation, active };
  });
  list.sort((a, b) =>
    a.active !== b.active
      ? b.active - a.active
      : a.conversation.channel < b.conversation.channel
        ? -1
        : 1,
  );
  return list.map((item) => item.conversation);
}
