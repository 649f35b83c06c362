"""Channel ids as docs/protocol.md spells them: user and group ids, DMs, groups."""

from __future__ import annotations

import re

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_valid_id(value: str) -> bool:
    """A user, device or group id."""
    return _ID.fullmatch(value) is not None


def dm_channel(a: str, b: str) -> str:
    """The DM of two users: `dm:<lower>:<higher>` in plain string order."""
    low, high = sorted((a, b))
    return f"dm:{low}:{high}"


def group_channel(group: str) -> str:
    return f"g:{group}"


def is_channel_of(channel: str, user: str) -> bool:
    """Well formed, and usable by `user` as far as the id tells (group membership aside)."""
    kind, _, rest = channel.partition(":")
    if kind == "g":
        return is_valid_id(rest)
    if kind != "dm":
        return False
    a, _, b = rest.partition(":")
    return is_valid_id(a) and is_valid_id(b) and a < b and user in (a, b)


def dm_peer(channel: str, user: str) -> str | None:
    """The other user of a DM of `user`'s; None for a group."""
    kind, _, rest = channel.partition(":")
    a, _, b = rest.partition(":")
    if kind != "dm" or user not in (a, b):
        return None
    return b if a == user else a


def title(channel: str, user: str) -> str:
    """How a person names a conversation: the other user of a DM, `#name` for a group."""
    kind, _, rest = channel.partition(":")
    if kind == "g":
        return f"#{rest}"
    return dm_peer(channel, user) or channel
