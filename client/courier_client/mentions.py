"""The `mentions` of a `send`, checked as the server checks them (docs/protocol.md, v1.1)."""

from __future__ import annotations

from collections.abc import Iterable

from courier_client.user_ids import InvalidUserIds, checked_user_ids

MAX_MENTIONS = 50


class InvalidMentions(InvalidUserIds):
    """Mentions the server would refuse as `invalid`: raised before anything is queued."""


def checked_mentions(mentions: Iterable[str]) -> tuple[str, ...]:
    """The mentions as given (order kept), if the server would take them: at most
    `MAX_MENTIONS` user ids, no duplicates."""
    return checked_user_ids(mentions, most=MAX_MENTIONS, error=InvalidMentions)
