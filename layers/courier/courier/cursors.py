"""Forward-only cursors: a user's read cursor and a device's ack cursor.

Each write is one UpdateItem conditioned on the stored value being lower, so a late,
repeated or reordered frame can never move a cursor back.
"""

from __future__ import annotations

from botocore.exceptions import ClientError
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import UpdateError

from courier.dynamo import is_condition_failure
from courier.errors import forbidden
from courier.ids import Channel
from courier.tables import Tables, device_key


def advance_read(
    tables: Tables,
    user: str,
    channel: Channel,
    target: int,
    now_ms: int,
    *,
    passed_mentions: frozenset[int] = frozenset(),
) -> int | None:
    """Move the user's read cursor up to `target`; the new value, or None if it was not lower.
    The same write drops `passed_mentions` (seqs at or below `target`) from the row's
    mentionSeqs: read mentions are never counted again, and the set stays short.

    For a group the row must exist (membership); a DM's row is created on demand.
    The request is built by PynamoDB and sent on the shared client: PynamoDB's UpdateItem
    cannot ask for ReturnValuesOnConditionCheckFailure, which tells "not a member" from
    "already read" without a second read.
    """
    row = tables.memberships
    condition = row.read_seq.does_not_exist() | (row.read_seq < target)
    if channel.is_group:
        condition &= row.joined_at.exists()
    request = row(user, channel.id).get_update_kwargs_from_instance(
        actions=[
            row.read_seq.set(target),
            row.joined_at.set(row.joined_at | now_ms),
            *([row.mention_seqs.delete(set(passed_mentions))] if passed_mentions else []),
        ],
        condition=condition,
        return_values_on_condition_failure=ALL_OLD,
    )
    try:
        tables.client.update_item(**request)
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        if channel.is_group and not exc.response.get("Item"):
            raise forbidden(f"you are not a member of {channel.id}") from None
        return None
    return target


def advance_ack(tables: Tables, user: str, device: str, channel: Channel, target: int) -> bool:
    """Move the device's ack cursor up to `target`; False when it already was there or past."""
    row = tables.acks
    try:
        row(device_key(user, device), channel.id).update(
            actions=[row.ack_seq.set(target)],
            condition=row.ack_seq.does_not_exist() | (row.ack_seq < target),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def ack_cursor(tables: Tables, user: str, device: str, channel: str) -> int:
    """The device's ack cursor in a channel (0 before its first ack)."""
    try:
        row = tables.acks.get(device_key(user, device), channel, consistent_read=True)
    except tables.acks.DoesNotExist:
        return 0
    return int(row.ack_seq or 0)
