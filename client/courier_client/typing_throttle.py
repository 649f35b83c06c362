"""The client's side of the typing throttle: the server delivers at most one `typing`
frame per (user, channel) per 3 seconds and drops the rest (PROTOCOL.md v1.1, typing),
so a device sends no more than that: the others would cost a frame, a write on the
server and the user's data for nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

TYPING_INTERVAL = 3.0  # seconds, the server's own


class TypingThrottle:
    """Lets one `typing` frame per channel through per `interval` seconds of `clock`."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, interval: float = TYPING_INTERVAL
    ) -> None:
        self.clock = clock
        self.interval = interval
        self._last: dict[str, float] = {}  # channel → when its last frame went out

    def take(self, channel: str) -> bool:
        """Whether a frame for `channel` may go out now; if so, it counts as gone."""
        now = self.clock()
        last = self._last.get(channel)
        if last is not None and now - last < self.interval:
            return False
        self._last[channel] = now
        return True
