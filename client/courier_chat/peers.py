"""What the chat knows of the other users right now: who is typing where, shown until a
few seconds after their last `typing` frame, and who is online, asked of the server when
it is worth knowing (on connecting, on opening a DM), never polled."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from courier_client import CourierClient
from courier_client.client import MAX_PRESENCE_USERS

# A typing frame comes at most every 3 s while someone types (the server's throttle) and
# none says they stopped: shown this long after the last one, a pause reads as stopping.
TYPING_SHOWN = 4.0


class Peers:
    def __init__(
        self,
        client: CourierClient,
        on_change: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.on_change = on_change
        self.clock = clock
        self.online: dict[str, bool] = {}  # user → online, for those the server reported
        self._typing: dict[tuple[str, str], float] = {}  # (channel, user) → shown until

    def typing(self, channel: str, user: str) -> None:
        """Their `typing` frame came: shown until TYPING_SHOWN from now (redrawn then)."""
        self._typing[(channel, user)] = self.clock() + TYPING_SHOWN
        asyncio.get_running_loop().call_later(TYPING_SHOWN, self.on_change)

    def stopped(self, channel: str, user: str) -> None:
        """Their message arrived: they are done typing it."""
        self._typing.pop((channel, user), None)

    def typing_in(self, channel: str) -> list[str]:
        """Who is typing in the channel now, by name."""
        now = self.clock()
        shown = self._typing.items()
        return sorted(user for (at, user), until in shown if at == channel and until > now)

    async def ask(self, users: Iterable[str]) -> None:
        """Ask the server who of `users` is online (100 a request). A server without
        presence, or no connection, leaves what is known as it is: the dots are a hint."""
        wanted = sorted(set(users))
        for start in range(0, len(wanted), MAX_PRESENCE_USERS):
            with contextlib.suppress(ConnectionError, TimeoutError):  # refusals are too
                reply = await self.client.presence(wanted[start : start + MAX_PRESENCE_USERS])
                self.online |= {user: bool(state.get("online")) for user, state in reply.items()}
        self.on_change()
