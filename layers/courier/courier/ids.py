"""User, device and channel identifiers (PROTOCOL.md, "Identities and channels")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from courier.errors import forbidden, invalid

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def is_name(value: Any) -> TypeGuard[str]:
    """True for a valid user, device or group name."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class Channel:
    """A parsed channel id: a DM between two users or a group."""

    id: str
    dm_users: tuple[str, str] | None = None

    @property
    def is_dm(self) -> bool:
        return self.dm_users is not None

    @property
    def is_group(self) -> bool:
        return self.dm_users is None

    def peer(self, user: str) -> str:
        """The other user of this DM (`user` being one of its two)."""
        assert self.dm_users is not None
        first, second = self.dm_users
        return second if user == first else first

    def check_dm_party(self, user: str) -> None:
        """Raise `forbidden` when `user` is not one of the two users of this DM."""
        if self.dm_users is not None and user not in self.dm_users:
            raise forbidden(f"{self.id} is not your conversation")


def dm_channel_id(a: str, b: str) -> str:
    low, high = sorted((a, b))
    return f"dm:{low}:{high}"


def parse_channel(value: Any) -> Channel:
    """Parse a client-supplied channel id, raising `invalid` when it is malformed."""
    if not isinstance(value, str):
        raise invalid("channel must be a string")
    kind, _, rest = value.partition(":")
    if kind == "g" and is_name(rest):
        return Channel(id=value)
    if kind == "dm":
        a, sep, b = rest.partition(":")
        if sep and is_name(a) and is_name(b) and a < b:
            return Channel(id=value, dm_users=(a, b))
    raise invalid("channel must be dm:<a>:<b> with a < b, or g:<group>")
