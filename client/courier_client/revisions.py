"""Which state of a message a client keeps when recalls and edits arrive late, twice or out
of order: a recall is final, and otherwise the highest `version` seen wins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Revision:
    """The part of a message that recall and edit change. A recalled message has no body
    (and no mentions): they are erased for good."""

    recalled: bool
    version: int  # 0 until the first edit
    body: Any
    edited_at: int | None

    @staticmethod
    def of(message: Mapping[str, Any]) -> Revision:
        """The revision a `message` frame, a sync item, a `lastMessage` or an `edit` frame
        carries."""
        if message.get("recalled") is True:
            return RECALLED
        edited_at = message.get("editedAt")
        return Revision(
            recalled=False,
            version=int(message.get("version", 0)),
            body=message.get("body"),
            edited_at=None if edited_at is None else int(edited_at),
        )


RECALLED = Revision(recalled=True, version=0, body=None, edited_at=None)


def latest(held: Revision, seen: Revision) -> Revision:
    """The revision to keep of the one held and one just seen."""
    if held.recalled or seen.recalled:
        return RECALLED
    return seen if seen.version > held.version else held
