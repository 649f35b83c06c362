"""A user's conversation list and unread totals, derived from cursors (never counted).

unread(channel) follows courier.unread: the messages after the user's read cursor that
are not recalled. The list is read-diffused: the user's membership rows (cursor, mute,
mentions), then the channels' counter rows (lastSeq, recalled seqs) in batches of 100;
for a page's DMs, the peers' rows (peerReadSeq). totalUnread leaves muted conversations
out.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from courier.dynamo import seqs
from courier.errors import invalid
from courier.frames import dumps
from courier.history import last_messages
from courier.membership import memberships_of
from courier.models import Channels
from courier.receipts import peer_read_seqs
from courier.tables import Tables
from courier.unread import Unread

MAX_CURSOR_CHARS = 512  # ours are under 150: [activity, channel id of at most 131 chars]


@dataclass(frozen=True)
class Conversation:
    channel: str
    last_seq: int
    read_seq: int
    activity: int  # ts of the last message, or when the user joined a silent group
    tally: Unread

    @property
    def unread(self) -> int:
        return self.tally.count

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: most recent activity first, then channel id for a stable order."""
        return (-self.activity, self.channel)


def conversations_of(tables: Tables, user: str) -> list[Conversation]:
    """Every DM with a message and every group of the user, most recently active first."""
    memberships = memberships_of(tables, user)
    heads: dict[str, Channels] = {
        row.channel: row  # PynamoDB reads them 100 keys per BatchGetItem
        for row in tables.channels.batch_get([m.channel for m in memberships])
    }
    found = []
    for membership in memberships:
        row = heads.get(membership.channel)
        last_seq = int(row.last_seq or 0) if row else 0
        if membership.channel.startswith("dm:") and last_seq == 0:
            continue
        read_seq = min(membership.read_seq, last_seq)
        recalled = seqs(row.recalled_seqs) if row else frozenset()
        found.append(
            Conversation(
                channel=membership.channel,
                last_seq=last_seq,
                read_seq=read_seq,
                activity=int(row.last_ts or 0) if row and last_seq else membership.joined_at,
                tally=Unread(last_seq, read_seq, recalled, membership.mentioned, membership.muted),
            )
        )
    found.sort(key=lambda c: c.order)
    return found


def encode_cursor(conversation: Conversation) -> str:
    raw = json.dumps([conversation.activity, conversation.channel], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: Any) -> tuple[int, str] | None:
    """The sort position after which the next page starts; None for the first page."""
    if cursor is None:
        return None
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise invalid("cursor is not one this server issued")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        activity, channel = json.loads(raw)
    except (TypeError, ValueError, binascii.Error, RecursionError):
        raise invalid("cursor is not one this server issued") from None
    if not isinstance(activity, int) or not isinstance(channel, str):
        raise invalid("cursor is not one this server issued")
    return (-activity, channel)


def conversations_frame(
    tables: Tables, user: str, limit: int, cursor: Any, max_bytes: int
) -> dict[str, Any]:
    """The `conversations` reply: one page (at most `limit` entries and `max_bytes` of
    entries, never empty while any is left), the total unread, and the next cursor."""
    after = decode_cursor(cursor)
    everything = conversations_of(tables, user)
    remaining = [c for c in everything if after is None or c.order > after]
    candidates = remaining[:limit]
    messages = last_messages(tables, {c.channel: c.last_seq for c in candidates})
    peers = peer_read_seqs(tables, user, [c.channel for c in candidates])
    page: list[dict[str, Any]] = []
    used = len(encode_cursor(candidates[-1])) if candidates else 0
    for c in candidates:
        entry: dict[str, Any] = {
            "channel": c.channel,
            "lastSeq": c.last_seq,
            "readSeq": c.read_seq,
            **({"peerReadSeq": min(peers[c.channel], c.last_seq)} if c.channel in peers else {}),
            "unread": c.unread,
            "mentions": c.tally.mentions,
            "muted": c.tally.muted,
            "lastMessage": messages[c.channel].summary() if c.channel in messages else None,
        }
        size = len(dumps(entry).encode("utf-8")) + 1
        if page and used + size > max_bytes:
            break
        page.append(entry)
        used += size
    more = len(page) < len(remaining)
    return {
        "type": "conversations",
        "conversations": page,
        "totalUnread": total_unread(everything),
        "next": encode_cursor(remaining[len(page) - 1]) if more else None,
    }


def total_unread(conversations: list[Conversation]) -> int:
    """totalUnread and the push badge: muted conversations left out."""
    return sum(c.tally.counted for c in conversations)


def unread_summary(tables: Tables, user: str) -> dict[str, Any]:
    """The admin API's view of a user's unread counts."""
    everything = conversations_of(tables, user)
    return {
        "user": user,
        "totalUnread": total_unread(everything),
        "channels": {c.channel: c.unread for c in everything},
        "muted": [c.channel for c in everything if c.tally.muted],
        "mentions": {c.channel: c.tally.mentions for c in everything if c.tally.mentions},
    }
