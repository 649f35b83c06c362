"""Accepting a message: one transaction that dedups, numbers and stores it.

The transaction writes four items, whatever the channel's size:
  0. the dedup record of (sender, clientMsgNo)   attribute_not_exists: one message per key
  1. the channel counter                        lastSeq = :n - 1: gap-free seq
  2. the message at (channel, seq)              attribute_not_exists
  3. the sender's membership row                readSeq = seq (own messages are never unread);
                                                for groups, attribute_exists: still a member
and, on a DM's first message only, the peer's membership row, so that the DM shows
in the peer's conversation list.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from courier.channels import ChannelHead, channel_head
from courier.dynamo import error_code, get_n, get_s, is_throttling, n, s
from courier.errors import THROTTLED, ProtocolError, forbidden
from courier.history import StoredMessage
from courier.ids import Channel
from courier.tables import Tables

DEDUP, COUNTER, MESSAGE, SENDER = range(4)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.25


@dataclass(frozen=True)
class Accepted:
    """The outcome of a send: the stored message, and whether it already existed."""

    message: StoredMessage
    duplicate: bool
    member_count: int


@dataclass(frozen=True)
class Retention:
    message_seconds: int
    dedup_seconds: int


def new_message_id(ts: int) -> str:
    """Time-ordered, unguessable: 12 hex digits of milliseconds, 20 of randomness."""
    return f"{ts:012x}{secrets.token_hex(10)}"


def _transaction(
    tables: Tables,
    message: StoredMessage,
    channel: Channel,
    prev_seq: int,
    retention: Retention,
) -> list[dict[str, Any]]:
    expires = message.ts // 1000
    counter_condition = (
        "attribute_not_exists(lastSeq) OR lastSeq = :prev" if prev_seq == 0 else "lastSeq = :prev"
    )
    sender_update: dict[str, Any] = {
        "TableName": tables.memberships,
        "Key": {"userId": s(message.sender), "channel": s(channel.id)},
        "UpdateExpression": "SET readSeq = :seq, joinedAt = if_not_exists(joinedAt, :ts)",
        "ExpressionAttributeValues": {":seq": n(message.seq), ":ts": n(message.ts)},
    }
    if channel.is_group:
        sender_update["ConditionExpression"] = "attribute_exists(joinedAt)"
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": tables.dedup,
                "Item": {
                    "dedupKey": s(f"{message.sender}#{message.client_msg_no}"),
                    "channel": s(channel.id),
                    "seq": n(message.seq),
                    "messageId": s(message.message_id),
                    "ts": n(message.ts),
                    "expiresAt": n(expires + retention.dedup_seconds),
                },
                "ConditionExpression": "attribute_not_exists(dedupKey)",
            }
        },
        {
            "Update": {
                "TableName": tables.channels,
                "Key": {"channel": s(channel.id)},
                "UpdateExpression": "SET lastSeq = :seq, lastTs = :ts, "
                "createdAt = if_not_exists(createdAt, :ts)",
                "ConditionExpression": counter_condition,
                "ExpressionAttributeValues": {
                    ":seq": n(message.seq),
                    ":ts": n(message.ts),
                    ":prev": n(prev_seq),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "Put": {
                "TableName": tables.messages,
                "Item": message.to_item(expires + retention.message_seconds),
                "ConditionExpression": "attribute_not_exists(seq)",
            }
        },
        {"Update": sender_update},
    ]
    if channel.dm_users is not None and prev_seq == 0:
        peer = next(u for u in channel.dm_users if u != message.sender)
        items.append(
            {
                "Update": {
                    "TableName": tables.memberships,
                    "Key": {"userId": s(peer), "channel": s(channel.id)},
                    "UpdateExpression": "SET joinedAt = if_not_exists(joinedAt, :ts), "
                    "readSeq = if_not_exists(readSeq, :zero)",
                    "ExpressionAttributeValues": {":ts": n(message.ts), ":zero": n(0)},
                }
            }
        )
    return items


def stored_duplicate(tables: Tables, sender: str, client_msg_no: str) -> StoredMessage | None:
    """The message already accepted for (sender, clientMsgNo), if any."""
    reply = tables.client.get_item(
        TableName=tables.dedup,
        Key={"dedupKey": s(f"{sender}#{client_msg_no}")},
        ConsistentRead=True,
    )
    record = reply.get("Item")
    if record is None:
        return None
    return StoredMessage(
        channel=get_s(record, "channel"),
        seq=get_n(record, "seq"),
        message_id=get_s(record, "messageId"),
        sender=sender,
        client_msg_no=client_msg_no,
        body_json="null",
        ts=get_n(record, "ts"),
    )


def accept_message(
    tables: Tables,
    *,
    sender: str,
    channel: Channel,
    client_msg_no: str,
    body_json: str,
    retention: Retention,
    now_ms: Callable[[], int],
    sleep: Callable[[float], None] = time.sleep,
) -> Accepted:
    """Store a message exactly once for (sender, clientMsgNo) at the next seq of the channel.

    Raises `forbidden` for a group the sender is not a member of and `throttled` when
    contention or DynamoDB throttling outlasts the bounded, jittered retries.
    """
    channel.check_dm_party(sender)
    head = channel_head(tables, channel)
    for attempt in range(MAX_ATTEMPTS):
        prev_seq = head.last_seq
        ts = max(now_ms(), head.last_ts)  # ts never goes back along a channel's seq
        message = StoredMessage(
            channel=channel.id,
            seq=prev_seq + 1,
            message_id=new_message_id(ts),
            sender=sender,
            client_msg_no=client_msg_no,
            body_json=body_json,
            ts=ts,
        )
        try:
            tables.client.transact_write_items(
                TransactItems=_transaction(tables, message, channel, prev_seq, retention)
            )
            return Accepted(message=message, duplicate=False, member_count=head.member_count)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException" and not is_throttling(exc):
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if _failed(reasons, DEDUP):
                original = stored_duplicate(tables, sender, client_msg_no)
                if original is not None:
                    return Accepted(message=original, duplicate=True, member_count=0)
            if _failed(reasons, SENDER):
                raise forbidden(f"you are not a member of {channel.id}") from None
            sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            current = reasons[COUNTER].get("Item") if _failed(reasons, COUNTER) else None
            if current:  # another sender took this seq; the cancellation says which is last
                head = ChannelHead.from_item(channel, current)
            else:
                head = channel_head(tables, channel)
    raise ProtocolError(THROTTLED, "the channel is busy; send again")


def _failed(reasons: list[dict[str, Any]], index: int) -> bool:
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"
