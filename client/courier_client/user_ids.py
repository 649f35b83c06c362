"""Lists of user ids checked as the server checks them (a send's `mentions`, a
`presence` request's `users`), so what it would refuse as `invalid` is refused here,
before anything goes out."""

from __future__ import annotations

import re
from collections.abc import Iterable

USER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class InvalidUserIds(ValueError):
    """User ids the server would refuse as `invalid`."""


def checked_user_ids(
    users: Iterable[str],
    *,
    most: int,
    least: int = 0,
    error: type[InvalidUserIds] = InvalidUserIds,
) -> tuple[str, ...]:
    """The ids as given (order kept), if the server would take them: `least` to `most`
    user ids, no duplicates; else `error`."""
    if isinstance(users, str):
        raise error("a list of user ids, not one string")
    ids = tuple(users)
    if not least <= len(ids) <= most:
        span = f"at most {most}" if least == 0 else f"{least} to {most}"
        raise error(f"{span} user ids, not {len(ids)}")
    for user in ids:
        if not isinstance(user, str) or USER_ID.fullmatch(user) is None:
            raise error(f"not a user id: {user!r} (1-64 of A-Z a-z 0-9 _ . -)")
    repeated = sorted({user for user in ids if ids.count(user) > 1})
    if repeated:
        raise error(f"named more than once: {', '.join(repeated)}")
    return ids
