"""Edit: the sender replaces a message's body, any time, unless it was recalled.

One conditional UpdateItem: the body, `version` raised by one (1 for the first edit) and
`editedAt`, on condition that the caller sent the message and it is not recalled. Two
edits racing each get their own version, and the stored body is the one of the higher
(each update is atomic), which is the one clients keep: they keep the highest version
they have seen. An edit never changes unread (nothing it writes takes part in it).
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from courier.channel_frames import tell_channel
from courier.channels import message_view
from courier.dynamo import is_condition_failure
from courier.errors import forbidden
from courier.history import StoredMessage
from courier.ids import Channel
from courier.runtime import Services


def edit_message(
    svc: Services, user: str, channel: Channel, seq: int, body_json: str
) -> StoredMessage:
    """Store the new body of the caller's message; the message as edited."""
    message_view(svc.tables, user, channel, seq)
    rows = svc.tables.messages
    row = rows(channel.id, seq)
    try:
        row.update(
            actions=[
                rows.body.set(body_json),
                rows.version.set((rows.version | 0) + 1),
                rows.edited_at.set(svc.now_ms()),
            ],
            condition=rows.seq.exists() & (rows.sender == user) & rows.recalled.does_not_exist(),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise forbidden("only its sender may edit a message, and not once recalled") from None
        raise
    return StoredMessage.from_row(row)


def edit_frame(message: StoredMessage) -> dict[str, Any]:
    return {
        "type": "edit",
        "channel": message.channel,
        "seq": message.seq,
        "messageId": message.message_id,
        "body": message.fields()["body"],
        "version": message.version,
        "editedAt": message.edited_at,
    }


def tell_members(svc: Services, message: StoredMessage, except_connection: str | None) -> None:
    """An `edit` frame to every live connection of every member (but the caller's)."""
    tell_channel(svc, edit_frame(message), except_connection)
