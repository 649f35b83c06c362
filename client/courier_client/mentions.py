"""The `mentions` of a `send`, checked as the server checks them (docs/protocol.md, v1.1)."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_MENTIONS = 50
USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class InvalidMentions(ValueError):
    """Mentions the server would refuse as `invalid`: raised before anything is queued."""


def checked_mentions(mentions: Iterable[str]) -> tuple[str, ...]:
    """The mentions as given (order kept), if the server would take them: at most
    `MAX_MENTIONS` user ids, no duplicates."""
    if isinstance(mentions, str):
        raise InvalidMentions("mentions is a list of user ids, not one string")
    users = tuple(mentions)
    if len(users) > MAX_MENTIONS:
        raise InvalidMentions(f"at most {MAX_MENTIONS} mentions, not {len(users)}")
    for user in users:
        if not isinstance(user, str) or USER_ID.fullmatch(user) is None:
            raise InvalidMentions(f"not a user id: {user!r} (1-64 of A-Z a-z 0-9 _ . -)")
    repeated = sorted({user for user in users if users.count(user) > 1})
    if repeated:
        raise InvalidMentions(f"mentioned more than once: {', '.join(repeated)}")
    return users
