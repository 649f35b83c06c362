"""Who belongs to which channel.

A membership row (user, channel) holds the user's read cursor and when they joined.
DM rows appear with the DM's first message; group rows are set by the admin API.
"""

from __future__ import annotations

from dataclasses import dataclass

from courier.dynamo import seqs
from courier.ids import Channel
from courier.tables import Tables


@dataclass(frozen=True)
class Membership:
    channel: str
    read_seq: int
    joined_at: int
    muted: bool = False
    mentioned: frozenset[int] = frozenset()


def channel_members(tables: Tables, channel: Channel, limit: int | None = None) -> list[str]:
    """The users of a channel: a DM's two, or a group's members through the by-channel index
    (at most `limit` of them: enough to tell a large group from a small one)."""
    if channel.dm_users is not None:
        return list(channel.dm_users)
    rows = tables.memberships.by_channel.query(channel.id, limit=limit)
    return [row.user_id for row in rows]


def memberships_of(tables: Tables, user: str) -> list[Membership]:
    """Every channel the user belongs to, with their read cursor."""
    return [
        Membership(
            channel=row.channel,
            read_seq=int(row.read_seq or 0),
            joined_at=int(row.joined_at or 0),
            muted=bool(row.muted),
            mentioned=seqs(row.mention_seqs),
        )
        for row in tables.memberships.query(user, consistent_read=True)
    ]


def replace_group_members(
    tables: Tables, channel: Channel, members: list[str], now_ms: int
) -> list[str]:
    """Make the group's membership exactly `members`; returns them sorted.

    Members who stay keep their read cursor. A newcomer starts with everything before
    they joined marked read (history stays readable through sync, but is not unread).
    """
    wanted = sorted(set(members))
    head, row = tables.channels(channel.id), tables.channels
    head.update(  # PynamoDB's update returns ALL_NEW: head.last_seq is the stored one
        actions=[
            row.created_at.set(row.created_at | now_ms),
            row.member_count.set(len(wanted)),
            row.last_seq.set(row.last_seq | 0),
            row.last_ts.set(row.last_ts | 0),
        ]
    )
    last_seq = int(head.last_seq or 0)
    current = set(channel_members(tables, channel))
    with tables.memberships.batch_write() as batch:  # 25 requests per BatchWriteItem
        for user in sorted(current - set(wanted)):
            batch.delete(tables.memberships(user, channel.id))
        for user in wanted:
            if user not in current:
                batch.save(
                    tables.memberships(user, channel.id, read_seq=last_seq, joined_at=now_ms)
                )
    return wanted
