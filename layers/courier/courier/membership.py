"""Who belongs to which channel.

A membership row (user, channel) holds the user's read cursor and when they joined.
DM rows appear with the DM's first message; group rows are set by the admin API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courier.dynamo import get_n, get_s, n, s
from courier.ids import Channel
from courier.tables import Tables

BY_CHANNEL_INDEX = "ByChannel"
BATCH_WRITE_LIMIT = 25


@dataclass(frozen=True)
class Membership:
    channel: str
    read_seq: int
    joined_at: int


def _query_all(tables: Tables, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        reply = tables.client.query(**kwargs)
        items.extend(reply.get("Items", []))
        if "LastEvaluatedKey" not in reply:
            return items
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


def channel_members(tables: Tables, channel: Channel) -> list[str]:
    """The users of a channel: a DM's two, or a group's members through the by-channel index."""
    if channel.dm_users is not None:
        return list(channel.dm_users)
    items = _query_all(
        tables,
        TableName=tables.memberships,
        IndexName=BY_CHANNEL_INDEX,
        KeyConditionExpression="channel = :c",
        ExpressionAttributeValues={":c": s(channel.id)},
    )
    return [get_s(item, "userId") for item in items]


def memberships_of(tables: Tables, user: str) -> list[Membership]:
    """Every channel the user belongs to, with their read cursor."""
    items = _query_all(
        tables,
        TableName=tables.memberships,
        KeyConditionExpression="userId = :u",
        ExpressionAttributeValues={":u": s(user)},
        ConsistentRead=True,
    )
    return [
        Membership(
            channel=get_s(item, "channel"),
            read_seq=get_n(item, "readSeq"),
            joined_at=get_n(item, "joinedAt"),
        )
        for item in items
    ]


def replace_group_members(
    tables: Tables, channel: Channel, members: list[str], now_ms: int
) -> list[str]:
    """Make the group's membership exactly `members`; returns them sorted.

    Members who stay keep their read cursor. A newcomer starts with everything before
    they joined marked read (history stays readable through sync, but is not unread).
    """
    wanted = sorted(set(members))
    reply = tables.client.update_item(
        TableName=tables.channels,
        Key={"channel": s(channel.id)},
        UpdateExpression="SET createdAt = if_not_exists(createdAt, :now), memberCount = :count, "
        "lastSeq = if_not_exists(lastSeq, :zero), lastTs = if_not_exists(lastTs, :zero)",
        ExpressionAttributeValues={":now": n(now_ms), ":zero": n(0), ":count": n(len(wanted))},
        ReturnValues="ALL_NEW",
    )
    last_seq = get_n(reply.get("Attributes", {}), "lastSeq")
    current = set(channel_members(tables, channel))
    writes: list[dict[str, Any]] = [
        {"DeleteRequest": {"Key": {"userId": s(user), "channel": s(channel.id)}}}
        for user in sorted(current - set(wanted))
    ]
    writes += [
        {
            "PutRequest": {
                "Item": {
                    "userId": s(user),
                    "channel": s(channel.id),
                    "readSeq": n(last_seq),
                    "joinedAt": n(now_ms),
                }
            }
        }
        for user in wanted
        if user not in current
    ]
    for start in range(0, len(writes), BATCH_WRITE_LIMIT):
        pending = {tables.memberships: writes[start : start + BATCH_WRITE_LIMIT]}
        while pending:
            pending = (
                tables.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )
    return wanted
