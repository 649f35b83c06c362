"""Mute: per user, every device. A muted conversation keeps its own unread but leaves
totalUnread and badges, and pushes only messages that mention the user (courier.notify).

One UpdateItem of the user's membership row (for a group, attribute_exists: a member).
Every live connection of the user gets the `mute` frame with the new totalUnread.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from courier.broadcast import broadcast, same_frame
from courier.channels import channel_view, require_access
from courier.conversations import conversations_of, total_unread
from courier.dynamo import is_condition_failure
from courier.errors import forbidden
from courier.ids import Channel
from courier.runtime import Services


def set_muted(svc: Services, user: str, channel: Channel, muted: bool) -> dict[str, Any]:
    """Mute or unmute the channel for the user; the `mute` frame."""
    view = channel_view(svc.tables, user, channel)
    require_access(user, channel, view)
    rows = svc.tables.memberships
    try:
        rows(user, channel.id).update(
            actions=[rows.muted.set(muted), rows.joined_at.set(rows.joined_at | svc.now_ms())],
            condition=rows.joined_at.exists() if channel.is_group else None,
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise forbidden(f"you are not a member of {channel.id}") from None
        raise
    return {
        "type": "mute",
        "channel": channel.id,
        "muted": muted,
        "totalUnread": total_unread(conversations_of(svc.tables, user)),
    }


def tell_devices(svc: Services, user: str, frame: dict[str, Any], except_connection: str) -> None:
    broadcast(svc, [user], same_frame(frame), except_connection)
