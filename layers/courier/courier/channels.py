"""A channel's counter row and one user's view of it: who may use it, and where they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courier.dynamo import seqs
from courier.errors import forbidden, invalid
from courier.ids import Channel
from courier.models import Channels, Memberships
from courier.tables import Tables, table_name
from courier.unread import Unread


@dataclass(frozen=True)
class ChannelView:
    """lastSeq of a channel, its recalled seqs, and a user's membership in it: read
    cursor, mentions, mute."""

    last_seq: int
    last_ts: int
    read_seq: int
    joined_at: int | None
    recalled: frozenset[int] = frozenset()
    mentioned: frozenset[int] = frozenset()
    muted: bool = False

    @property
    def tally(self) -> Unread:
        return Unread(self.last_seq, self.read_seq, self.recalled, self.mentioned, self.muted)

    @property
    def unread(self) -> int:
        return self.tally.count


def channel_view(tables: Tables, user: str, channel: Channel) -> ChannelView:
    """Read the channel row and the user's membership row in one strongly consistent batch.

    Raw BatchGetItem on the shared client: PynamoDB's batch_get reads one table per call,
    and this is one request over two tables (two calls would double its latency and count).
    """
    heads, members = table_name(tables.channels), table_name(tables.memberships)
    request: dict[str, Any] = {
        heads: {"Keys": [tables.channels(channel.id).serialize()], "ConsistentRead": True},
        members: {
            "Keys": [tables.memberships(user, channel.id).serialize()],
            "ConsistentRead": True,
        },
    }
    head: Channels | None = None
    member: Memberships | None = None
    while request:
        reply = tables.client.batch_get_item(RequestItems=request)
        found = reply.get("Responses", {})
        for item in found.get(heads, []):
            head = tables.channels.from_raw_data(item)
        for item in found.get(members, []):
            member = tables.memberships.from_raw_data(item)
        request = reply.get("UnprocessedKeys") or {}
    return ChannelView(
        last_seq=int(head.last_seq or 0) if head else 0,
        last_ts=int(head.last_ts or 0) if head else 0,
        read_seq=int(member.read_seq or 0) if member else 0,
        joined_at=int(member.joined_at or 0) if member else None,
        recalled=seqs(head.recalled_seqs) if head else frozenset(),
        mentioned=seqs(member.mention_seqs) if member else frozenset(),
        muted=bool(member.muted) if member else False,
    )


def require_access(user: str, channel: Channel, view: ChannelView) -> None:
    """DMs belong to their two users; groups to the members the admin API set."""
    channel.check_dm_party(user)
    if channel.is_group and view.joined_at is None:
        raise forbidden(f"you are not a member of {channel.id}")


def message_view(tables: Tables, user: str, channel: Channel, seq: int) -> ChannelView:
    """The user's view of a channel they act on message `seq` of (recall, edit): a channel
    of theirs, and a seq it has reached."""
    view = channel_view(tables, user, channel)
    require_access(user, channel, view)
    if seq > view.last_seq:
        raise invalid(f"seq {seq} is above the channel's lastSeq {view.last_seq}")
    return view


@dataclass(frozen=True)
class ChannelHead:
    """A channel's counter row: zeros before its first message."""

    last_seq: int
    last_ts: int
    member_count: int

    @classmethod
    def from_row(cls, channel: Channel, row: Channels | None) -> ChannelHead:
        if row is None:
            return cls(0, 0, 2 if channel.is_dm else 0)
        members = 2 if channel.is_dm else int(row.member_count or 0)
        return cls(int(row.last_seq or 0), int(row.last_ts or 0), members)


def channel_head(tables: Tables, channel: Channel) -> ChannelHead:
    """The channel's counter row, strongly consistent."""
    try:
        row: Channels | None = tables.channels.get(channel.id, consistent_read=True)
    except tables.channels.DoesNotExist:
        row = None
    return ChannelHead.from_row(channel, row)


def members_unread(tables: Tables, channel: str, users: list[str]) -> dict[str, int]:
    """Each user's unread in the channel now: its row, then the users' membership rows
    (one BatchGetItem per 100), strongly consistent."""
    head = tables.channels.get(channel, consistent_read=True)
    last_seq, recalled = int(head.last_seq or 0), seqs(head.recalled_seqs)
    rows = tables.memberships.batch_get([(user, channel) for user in users], consistent_read=True)
    read = {row.user_id: int(row.read_seq or 0) for row in rows}
    return {user: Unread(last_seq, read.get(user, 0), recalled).count for user in users}
