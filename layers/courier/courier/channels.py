"""A channel's counter row and one user's view of it: who may use it, and where they are."""

from __future__ import annotations

from dataclasses import dataclass

from courier.dynamo import Item, get_n, s
from courier.errors import forbidden
from courier.ids import Channel
from courier.tables import Tables, batch_get


@dataclass(frozen=True)
class ChannelView:
    """lastSeq of a channel and a user's membership and read cursor in it."""

    last_seq: int
    last_ts: int
    read_seq: int
    joined_at: int | None

    @property
    def unread(self) -> int:
        return max(self.last_seq - self.read_seq, 0)


def channel_view(tables: Tables, user: str, channel: Channel) -> ChannelView:
    """Read the channel row and the user's membership row in one strongly consistent batch."""
    found = batch_get(
        tables,
        {
            tables.channels: {"Keys": [{"channel": s(channel.id)}], "ConsistentRead": True},
            tables.memberships: {
                "Keys": [{"userId": s(user), "channel": s(channel.id)}],
                "ConsistentRead": True,
            },
        },
    )
    row = found[tables.channels][0] if found[tables.channels] else {}
    member = found[tables.memberships][0] if found[tables.memberships] else None
    return ChannelView(
        last_seq=get_n(row, "lastSeq"),
        last_ts=get_n(row, "lastTs"),
        read_seq=get_n(member, "readSeq") if member else 0,
        joined_at=get_n(member, "joinedAt") if member else None,
    )


def require_access(user: str, channel: Channel, view: ChannelView) -> None:
    """DMs belong to their two users; groups to the members the admin API set."""
    channel.check_dm_party(user)
    if channel.is_group and view.joined_at is None:
        raise forbidden(f"you are not a member of {channel.id}")


@dataclass(frozen=True)
class ChannelHead:
    """A channel's counter row: zeros before its first message."""

    last_seq: int
    last_ts: int
    member_count: int

    @classmethod
    def from_item(cls, channel: Channel, row: Item) -> ChannelHead:
        members = 2 if channel.is_dm else get_n(row, "memberCount")
        return cls(get_n(row, "lastSeq"), get_n(row, "lastTs"), members)


def channel_head(tables: Tables, channel: Channel) -> ChannelHead:
    """The channel's counter row, strongly consistent."""
    reply = tables.client.get_item(
        TableName=tables.channels, Key={"channel": s(channel.id)}, ConsistentRead=True
    )
    return ChannelHead.from_item(channel, reply.get("Item", {}))
