"""Forward-only cursors: a user's read cursor and a device's ack cursor.

Each write is one UpdateItem conditioned on the stored value being lower, so a late,
repeated or reordered frame can never move a cursor back.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from courier.dynamo import get_n, is_condition_failure, n, s
from courier.errors import forbidden
from courier.ids import Channel
from courier.tables import Tables, device_key


def advance_read(
    tables: Tables, user: str, channel: Channel, target: int, now_ms: int
) -> int | None:
    """Move the user's read cursor up to `target`; the new value, or None if it was not lower.

    For a group the row must exist (membership); a DM's row is created on demand.
    """
    condition = "(attribute_not_exists(readSeq) OR readSeq < :v)"
    if channel.is_group:
        condition += " AND attribute_exists(joinedAt)"
    try:
        tables.client.update_item(
            TableName=tables.memberships,
            Key={"userId": s(user), "channel": s(channel.id)},
            UpdateExpression="SET readSeq = :v, joinedAt = if_not_exists(joinedAt, :now)",
            ConditionExpression=condition,
            ExpressionAttributeValues={":v": n(target), ":now": n(now_ms)},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        old = exc.response.get("Item")
        if channel.is_group and not old:
            raise forbidden(f"you are not a member of {channel.id}") from None
        return None
    return target


def advance_ack(tables: Tables, user: str, device: str, channel: Channel, target: int) -> bool:
    """Move the device's ack cursor up to `target`; False when it already was there or past."""
    try:
        tables.client.update_item(
            TableName=tables.acks,
            Key={"deviceKey": s(device_key(user, device)), "channel": s(channel.id)},
            UpdateExpression="SET ackSeq = :v",
            ConditionExpression="attribute_not_exists(ackSeq) OR ackSeq < :v",
            ExpressionAttributeValues={":v": n(target)},
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def ack_cursor(tables: Tables, user: str, device: str, channel: str) -> int:
    """The device's ack cursor in a channel (0 before its first ack)."""
    reply = tables.client.get_item(
        TableName=tables.acks,
        Key={"deviceKey": s(device_key(user, device)), "channel": s(channel)},
        ConsistentRead=True,
    )
    return get_n(reply.get("Item", {}), "ackSeq")
