"""Mentions: who a message names, and whom that counts for.

A message keeps the mentions its sender gave (frames, sync and lastMessage carry them).
Only members other than the sender count them: each such member's membership row gets
the message's seq in `mentionSeqs`, written in the send's own transaction, so a send
writes one item more per mentioned member and never one per member of the channel. A
read prunes the seqs it passes (courier.cursors); unread mentions are derived from them
like unread (courier.unread).
"""

from __future__ import annotations

from typing import Any

from courier.errors import invalid
from courier.ids import Channel, is_name
from courier.tables import Tables

MAX_MENTIONS = 50


def mentions_field(frame: dict[str, Any]) -> tuple[str, ...]:
    """The frame's optional `mentions`: at most 50 distinct user ids."""
    value = frame.get("mentions")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(is_name(user) for user in value):
        raise invalid("mentions must be a list of user ids")
    if len(value) > MAX_MENTIONS:
        raise invalid(f"mentions lists at most {MAX_MENTIONS} users")
    if len(set(value)) != len(value):
        raise invalid("mentions must not repeat a user")
    return tuple(value)


def mentioned_members(
    tables: Tables, channel: Channel, sender: str, mentions: tuple[str, ...]
) -> list[str]:
    """The mentioned users the mention counts for: members, the sender aside. One
    strongly consistent BatchGetItem for a group (none for a DM)."""
    named = [user for user in dict.fromkeys(mentions) if user != sender]
    if channel.dm_users is not None:
        return [user for user in named if user in channel.dm_users]
    if not named:
        return []
    rows = tables.memberships.batch_get(
        [(user, channel.id) for user in named], consistent_read=True
    )
    members = {row.user_id for row in rows if row.joined_at is not None}
    return [user for user in named if user in members]
