"""Recall: a message keeps its seq and identity, loses its body and mentions for good, and
stops counting as unread for everyone.

One transaction of two items: the message (recalled = true, body and mentions removed;
attribute_exists: a message still stored) and the channel row (its seq added to
recalledSeqs, which courier.unread leaves out of every unread and mention count). Both
writes are idempotent, so a recall repeated or racing another changes nothing more; an
edit is conditioned on the message not being recalled (courier.edits), so no body comes
back after a recall, whichever of the two DynamoDB applies first. A message already
expired (retention) is recalled on the channel row alone.

Every live connection of every member gets a `recall` frame carrying that member's
unread, read after the recall (courier.channel_frames: inline in a small channel, through
fan-out jobs in a large one).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from courier.channel_frames import tell_channel
from courier.channels import channel_head, message_view
from courier.dynamo import error_code
from courier.errors import forbidden
from courier.history import StoredMessage, stored_message
from courier.ids import Channel
from courier.runtime import Services
from courier.tables import Tables


def erase(tables: Tables, channel: str, seq: int) -> None:
    """Recall (channel, seq) on the message and on the channel row, in one transaction."""
    message, head = tables.messages, tables.channels
    try:
        with TransactWrite(connection=tables.connection) as transaction:
            transaction.update(
                message(channel, seq),
                actions=[
                    message.recalled.set(True),
                    message.body.remove(),
                    message.mentions.remove(),
                ],
                condition=message.seq.exists(),
            )
            transaction.update(head(channel), actions=[head.recalled_seqs.add({seq})])
    except TransactWriteError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        reasons = exc.cancellation_reasons
        if not reasons or reasons[0] is None or reasons[0].code != "ConditionalCheckFailed":
            raise
        head(channel).update(actions=[head.recalled_seqs.add({seq})])  # expired message


@dataclass(frozen=True)
class Recalled:
    message: StoredMessage
    unread: int  # the caller's, once the message is recalled


def recall_as_sender(svc: Services, user: str, channel: Channel, seq: int) -> Recalled:
    """The sender's recall, within COURIER_RECALL_SECONDS of the message's ts (recalling a
    recalled one again changes nothing). The caller's unread after it comes from the view
    read before, with this seq recalled: no second read."""
    view = message_view(svc.tables, user, channel, seq)
    message = stored_message(svc.tables, channel.id, seq)
    if message is None or message.sender != user:
        raise forbidden("only its sender may recall a message")
    if not message.recalled:
        if svc.now_ms() - message.ts > svc.settings.recall_seconds * 1000:
            raise forbidden(f"a message may be recalled within {svc.settings.recall_seconds} s")
        erase(svc.tables, channel.id, seq)
    return Recalled(message, replace(view, recalled=view.recalled | {seq}).unread)


def recall_frame(message_id: str, channel: str, seq: int, unread: int) -> dict[str, Any]:
    return {
        "type": "recall",
        "channel": channel,
        "seq": seq,
        "messageId": message_id,
        "unread": unread,
    }


def tell_members(
    svc: Services, channel: Channel, seq: int, message_id: str, except_connection: str | None
) -> None:
    """A `recall` frame to every live connection of every member (but the caller's), each
    with its user's unread after the recall (courier.channel_frames)."""
    tell_channel(svc, recall_frame(message_id, channel.id, seq, 0), except_connection)


def recall_any(svc: Services, channel: Channel, seq: int) -> bool:
    """The admin API's recall: any message, any time; False for a seq above lastSeq."""
    head = channel_head(svc.tables, channel)
    if seq > head.last_seq:
        return False
    message = stored_message(svc.tables, channel.id, seq)
    erase(svc.tables, channel.id, seq)
    if message is not None:
        tell_members(svc, channel, seq, message.message_id, except_connection=None)
    return True
