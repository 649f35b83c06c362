"""Typing: relayed to the live connections of the channel's other members; never stored
but for its throttle, never retried, never counted.

At most one per (user, channel) per TYPING_MS, across concurrent invocations (Lambda
containers share no memory): one conditional UpdateItem of the user's membership row
sets `typingAt` only if the stored one is older than TYPING_MS; a refused write drops the
frame silently. For a group the same write requires the row's joinedAt (a member now),
so the throttle costs no read before it: 1 write unit per frame, accepted or not.
Channels above FanoutInlineLimit deliver none and write nothing (one page of members
tells them apart).
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from courier.broadcast import broadcast, same_frame
from courier.dynamo import is_condition_failure
from courier.errors import forbidden
from courier.ids import Channel
from courier.membership import channel_members
from courier.runtime import Services

TYPING_MS = 3_000


def claim_turn(svc: Services, user: str, channel: Channel) -> bool:
    """Record that the user types now, unless they did less than TYPING_MS ago (False)."""
    rows = svc.tables.memberships
    now = svc.now_ms()
    condition = rows.typing_at.does_not_exist() | (rows.typing_at <= now - TYPING_MS)
    if channel.is_group:
        condition &= rows.joined_at.exists()
    try:
        rows(user, channel.id).update(actions=[rows.typing_at.set(now)], condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def relay_typing(svc: Services, user: str, channel: Channel) -> str:
    """Tell the other members that `user` is typing; what happened, for the metrics."""
    channel.check_dm_party(user)
    limit = svc.settings.fanout_inline_limit
    members = channel_members(svc.tables, channel, limit=limit + 1)
    if len(members) > limit:
        return "large_channel"
    if user not in members:
        raise forbidden(f"you are not a member of {channel.id}")
    if not claim_turn(svc, user, channel):
        return "throttled"
    frame = {"type": "typing", "channel": channel.id, "user": user}
    others = [member for member in members if member != user]
    broadcast(svc, others, same_frame(frame), except_connection=None)
    return "relayed"
