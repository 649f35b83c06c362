"""A channel's counter row and one user's view of it: who may use it, and where they are."""

from __future__ import annotations

from dataclasses import dataclass

from courier.dynamo import get_n, s
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


def channel_head(tables: Tables, channel: Channel) -> tuple[int, int]:
    """(lastSeq, lastTs) of a channel, strongly consistent; (0, 0) before its first message."""
    reply = tables.client.get_item(
        TableName=tables.channels, Key={"channel": s(channel.id)}, ConsistentRead=True
    )
    row = reply.get("Item", {})
    return get_n(row, "lastSeq"), get_n(row, "lastTs")
