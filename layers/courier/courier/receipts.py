"""Read receipts, derived from the read cursors (never counted or stored apart).

In a DM each user sees the other's read cursor: `peerReadSeq` in the conversation entry,
and a `receipt` frame on the peer's live connections whenever the cursor moves, by a
`read` or by sending (a message sent reads its channel up to itself). The frames are
best effort and never retried: `peerReadSeq` in the next sync is the truth, and a
cursor only moves forward, so a late frame can only repeat a value (clients keep the
highest).
"""

from __future__ import annotations

from typing import Any

from courier.ids import parse_channel
from courier.tables import Tables


def receipt_frame(channel: str, user: str, read_seq: int) -> dict[str, Any]:
    return {"type": "receipt", "channel": channel, "user": user, "readSeq": read_seq}


def peer_read_seqs(tables: Tables, user: str, channels: list[str]) -> dict[str, int]:
    """The peer's read cursor in each of these DMs (channels that are not DMs are left
    out): one BatchGetItem per 100, eventually consistent like the rest of the list."""
    peers = {
        channel: parsed.peer(user)
        for channel in channels
        if (parsed := parse_channel(channel)).is_dm
    }
    rows = tables.memberships.batch_get([(peer, channel) for channel, peer in peers.items()])
    found = {row.channel: int(row.read_seq or 0) for row in rows}
    return {channel: found.get(channel, 0) for channel in peers}


MAX_READ_BY = 100


def read_by(tables: Tables, channel: str, seq: int, sender: str | None) -> dict[str, Any]:
    """Who of the channel's members, the sender aside, has read up to `seq`: the exact
    count, at most MAX_READ_BY of them (sorted), and the member count (the sender
    included). One Query of the ByChannel index, page after page (eventually consistent:
    a read of the last moment may not be in it yet)."""
    readers: list[str] = []
    members = 0
    for row in tables.memberships.by_channel.query(channel):
        members += 1
        if row.user_id != sender and int(row.read_seq or 0) >= seq:
            readers.append(row.user_id)
    readers.sort()
    return {"count": len(readers), "members": members, "readBy": readers[:MAX_READ_BY]}
