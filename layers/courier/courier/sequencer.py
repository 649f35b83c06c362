"""Accepting a message: one transaction that dedups, numbers and stores it.

The transaction (PynamoDB's TransactWrite) writes four items, whatever the channel's size:
  the dedup record of (sender, clientMsgNo)   attribute_not_exists: one message per key
  the message at (channel, seq)               attribute_not_exists
  the channel counter                         lastSeq = :n - 1: gap-free seq
  the sender's membership row                 readSeq = seq (own messages are never unread);
                                              for groups, attribute_exists: still a member
and, on a DM's first message only, the peer's membership row, so that the DM shows
in the peer's conversation list; then each mentioned member's membership row, which
gets the seq in `mentionSeqs` (attribute_exists: still a member; see courier.mentions).
PynamoDB sends puts before updates: the positions below are those of the cancellation
reasons.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import CancellationReason, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from courier.channels import ChannelHead, channel_head
from courier.dynamo import error_code, is_throttling
from courier.errors import THROTTLED, ProtocolError, forbidden
from courier.history import StoredMessage
from courier.ids import Channel
from courier.mentions import mentioned_members
from courier.tables import Tables

DEDUP, MESSAGE, COUNTER, SENDER = range(4)
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


def _add_items(
    transaction: TransactWrite,
    tables: Tables,
    *,
    message: StoredMessage,
    channel: Channel,
    prev_seq: int,
    retention: Retention,
    sender_connection: str | None,
    mentioned: list[str],
) -> None:
    expires = message.ts // 1000
    dedup, counter, member = tables.dedup, tables.channels, tables.memberships
    transaction.save(
        dedup(
            f"{message.sender}#{message.client_msg_no}",
            channel=channel.id,
            seq=message.seq,
            message_id=message.message_id,
            ts=message.ts,
            expires_at=expires + retention.dedup_seconds,
        ),
        condition=dedup.dedup_key.does_not_exist(),
    )
    transaction.save(
        message.to_row(expires + retention.message_seconds, sender_connection),
        condition=tables.messages.seq.does_not_exist(),
    )
    previous = counter.last_seq == prev_seq
    transaction.update(
        counter(channel.id),
        actions=[
            counter.last_seq.set(message.seq),
            counter.last_ts.set(message.ts),
            counter.created_at.set(counter.created_at | message.ts),
        ],
        condition=(counter.last_seq.does_not_exist() | previous) if prev_seq == 0 else previous,
        return_values=ALL_OLD,
    )
    transaction.update(
        member(message.sender, channel.id),
        actions=[
            member.read_seq.set(message.seq),
            member.joined_at.set(member.joined_at | message.ts),
        ],
        condition=member.joined_at.exists() if channel.is_group else None,
    )
    mention: list[Action] = [member.mention_seqs.add({message.seq})]
    if channel.is_dm and prev_seq == 0:
        peer = channel.peer(message.sender)
        transaction.update(
            member(peer, channel.id),
            actions=[
                member.joined_at.set(member.joined_at | message.ts),
                member.read_seq.set(member.read_seq | 0),
                *(mention if peer in mentioned else []),
            ],
        )
        mentioned = [user for user in mentioned if user != peer]
    for user in mentioned:
        transaction.update(
            member(user, channel.id), actions=mention, condition=member.joined_at.exists()
        )


def stored_duplicate(tables: Tables, sender: str, client_msg_no: str) -> StoredMessage | None:
    """The message already accepted for (sender, clientMsgNo), if any."""
    try:
        record = tables.dedup.get(f"{sender}#{client_msg_no}", consistent_read=True)
    except tables.dedup.DoesNotExist:
        return None
    return StoredMessage(
        channel=record.channel,
        seq=int(record.seq),
        message_id=record.message_id,
        sender=sender,
        client_msg_no=client_msg_no,
        body_json="null",
        ts=int(record.ts),
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
    sender_connection: str | None = None,
    mentions: tuple[str, ...] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Accepted:
    """Store a message exactly once for (sender, clientMsgNo) at the next seq of the channel.

    Raises `forbidden` for a group the sender is not a member of and `throttled` when
    contention or DynamoDB throttling outlasts the bounded, jittered retries.
    """
    channel.check_dm_party(sender)
    head = channel_head(tables, channel)
    mentioned = mentioned_members(tables, channel, sender, mentions)
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
            mentions=mentions,
        )
        try:
            with TransactWrite(connection=tables.connection) as transaction:
                _add_items(
                    transaction,
                    tables,
                    message=message,
                    channel=channel,
                    prev_seq=prev_seq,
                    retention=retention,
                    sender_connection=sender_connection,
                    mentioned=mentioned,
                )
            return Accepted(message=message, duplicate=False, member_count=head.member_count)
        except TransactWriteError as exc:
            if error_code(exc) != "TransactionCanceledException" and not is_throttling(exc):
                raise
            reasons = exc.cancellation_reasons
            if _failed(reasons, DEDUP):
                original = stored_duplicate(tables, sender, client_msg_no)
                if original is not None:
                    return Accepted(message=original, duplicate=True, member_count=0)
            if _failed(reasons, SENDER):
                raise forbidden(f"you are not a member of {channel.id}") from None
            if any(_failed(reasons, i) for i in range(SENDER + 1, len(reasons))):
                mentioned = mentioned_members(tables, channel, sender, mentions)  # one left
            sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
            counter = reasons[COUNTER] if _failed(reasons, COUNTER) else None
            current = counter.raw_item if counter is not None else None
            if current:  # another sender took this seq; the cancellation says which is last
                head = ChannelHead.from_row(channel, tables.channels.from_raw_data(current))
            else:
                head = channel_head(tables, channel)
    raise ProtocolError(THROTTLED, "the channel is busy; send again")


def _failed(reasons: list[CancellationReason | None], index: int) -> bool:
    reason = reasons[index] if len(reasons) > index else None
    return reason is not None and reason.code == "ConditionalCheckFailed"
