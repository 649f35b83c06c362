"""One simulated device: the reference SDK, unchanged, and what the app saw it do."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from chaos.history import Attempt, History, Message, Read, Sendack, user_of
from courier_client import CourierClient, Store

CONNECT_TIMEOUT = 20.0  # connect() returns once caught up; a lost sync frame costs 10 s


class Device:
    def __init__(self, name: str, url: str, token: str, history: History) -> None:
        self.name = name
        self.user = user_of(name)
        self.client = CourierClient(url, token, Store(":memory:"), backoff_max=2.0)
        self.history = history
        self.sent = 0
        self.caught_up = False  # its last connect returned: connected, synced, filled
        self._events: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[bool] | None = None

    async def start(self) -> None:
        self._events = asyncio.create_task(self._watch())
        await self.online()

    async def online(self) -> bool:
        """Connect; returns once caught up (True), or after CONNECT_TIMEOUT (False: the SDK
        keeps trying)."""
        try:
            await asyncio.wait_for(self.client.connect(), CONNECT_TIMEOUT)
        except TimeoutError:
            return False
        self.caught_up = True
        return True

    def go_online(self) -> None:
        """Start connecting, as an app does, while the user goes on using it."""
        self._connecting = asyncio.create_task(self.online())

    async def offline(self) -> None:
        self.caught_up = False
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        await self.client.close()

    async def reconnect(self) -> bool:
        await self.offline()
        return await self.online()

    async def stop(self) -> None:
        await self.offline()
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events
        self.client.store.close()

    async def send(self, channel: str) -> None:
        self.sent += 1
        body = {"text": f"{self.name} #{self.sent}", "n": self.sent}
        client_msg_no = await self.client.send(channel, body)
        self.history.attempts.append(Attempt(self.name, client_msg_no, channel, body))

    async def read(self, channel: str) -> None:
        """Read the channel up to what the device knows: that is now the truth."""
        seq = self.client.store.last_seq(channel)
        if seq > 0:
            self.history.reads.append(Read(self.name, channel, seq))
        await self.client.read(channel)

    def unread(self, channel: str) -> int:
        return self.client.unread(channel)

    def outbox(self) -> list[str]:
        return [entry.client_msg_no for entry in self.client.store.outbox()]

    def missing(self, channel: str, last_seq: int) -> int:
        """How many of the seqs 1..last_seq of the channel the store does not hold."""
        held = {int(m["seq"]) for m in self.client.store.messages(channel)}
        return sum(1 for seq in range(1, last_seq + 1) if seq not in held)

    def stored(self) -> list[Message]:
        """Every message in the device's store."""
        return [
            Message(
                channel=channel,
                seq=int(m["seq"]),
                message_id=str(m["messageId"]),
                sender=str(m["from"]),
                client_msg_no=str(m["clientMsgNo"]),
                body=m["body"],
            )
            for channel in self.client.store.channels()
            for m in self.client.store.messages(channel)
        ]

    def flush_events(self) -> None:
        """Note the UI events emitted and not yet noted (once the device is offline)."""
        while not self.client.events.empty():
            self._note(self.client.events.get_nowait())

    async def _watch(self) -> None:
        """Note the UI events as they come."""
        while True:
            self._note(await self.client.events.get())

    def _note(self, event: dict[str, Any]) -> None:
        """Messages shown, sendacks received, and the read cursor the SDK holds for the
        event's channel (what the user sees: it must never move back). The frames
        themselves may: API Gateway runs requests at once, so a reply computed before a
        read can arrive after that read's broadcast; the SDK keeps the highest."""
        channel = event.get("channel")
        if isinstance(channel, str):
            held = self.history.cursors.setdefault(self.name, [])
            held.append((("read", self.user, channel), self.client.store.read_seq(channel)))
        kind = event.get("type")
        if kind == "message":
            shown = self.history.shown.setdefault(self.name, [])
            shown.append((str(event["channel"]), int(event["seq"])))
        elif kind == "sendack":
            self.history.sendacks.append(
                Sendack(
                    device=self.name,
                    client_msg_no=str(event["clientMsgNo"]),
                    channel=str(event["channel"]),
                    seq=int(event["seq"]),
                    message_id=str(event["messageId"]),
                )
            )
