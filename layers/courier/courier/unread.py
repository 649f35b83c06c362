"""Unread, v1.1: derived from cursors and the channel's recalled seqs, never counted.

unread(user, channel) = the messages with readSeq < seq <= lastSeq that are not recalled;
the unread mentions are those of them that mention the user. Every place that reports
unread (the `read` frame, conversation entries, totalUnread, the admin API, push badges)
computes it here, from the same three facts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Unread:
    """One user's position in one channel, and what the channel recalled."""

    last_seq: int
    read_seq: int
    recalled: frozenset[int] = frozenset()
    mentioned: frozenset[int] = frozenset()  # seqs of messages that mention the user
    muted: bool = False

    def _open(self, seqs: Iterable[int]) -> int:
        return sum(1 for seq in seqs if self.read_seq < seq <= self.last_seq)

    @property
    def count(self) -> int:
        if self.last_seq <= self.read_seq:
            return 0
        return self.last_seq - self.read_seq - self._open(self.recalled)

    @property
    def mentions(self) -> int:
        return self._open(self.mentioned - self.recalled)

    @property
    def counted(self) -> int:
        """What the channel adds to totalUnread and badges: nothing when muted."""
        return 0 if self.muted else self.count
