"""One simulated device: the reference SDK, unchanged, and what the app saw it do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from typing import Any

import aiohttp

from chaos.history import (
    NO_ANSWER,
    Attempt,
    Edit,
    History,
    Key,
    Message,
    Mute,
    Read,
    Recall,
    Sendack,
    now_ms,
    user_of,
)
from courier_client import CourierClient, Store
from courier_client.client import RequestError

CONNECT_TIMEOUT = 20.0  # connect() returns once caught up; a lost sync frame costs 10 s


class NotedStore(Store):
    """The SDK's store, unchanged, noting each revision the SDK gives it (a message, a
    recall, an edit or a `lastMessage`): the highest version of each message, and the
    recalled ones. What the store then holds must be the latest of them."""

    def __init__(self, versions: dict[Key, int], recalls: set[Key]) -> None:
        super().__init__(":memory:")
        self._versions = versions
        self._recalls = recalls

    def _note(self, channel: str, seq: int, carrier: Mapping[str, Any]) -> None:
        if carrier.get("recalled") is True:
            self._recalls.add((channel, seq))
        version = int(carrier.get("version", 0))
        self._versions[(channel, seq)] = max(version, self._versions.get((channel, seq), 0))

    def add_message(self, channel: str, message: Mapping[str, Any]) -> bool:
        self._note(channel, int(message["seq"]), message)
        return super().add_message(channel, message)

    def recall(self, channel: str, seq: int) -> bool:
        self._note(channel, seq, {"recalled": True})
        return super().recall(channel, seq)

    def revise(self, channel: str, seq: int, carrier: Mapping[str, Any]) -> bool:
        self._note(channel, seq, carrier)
        return super().revise(channel, seq, carrier)


class Device:
    def __init__(self, name: str, url: str, token: str, history: History) -> None:
        self.name = name
        self.user = user_of(name)
        store = NotedStore(
            history.versions_seen.setdefault(name, {}), history.recalls_seen.setdefault(name, set())
        )
        self.client = CourierClient(url, token, store, backoff_max=2.0)
        self.client.callbacks.append(self._on_event)
        # the SDK's connection is up and caught up, so requests go out (`connected` to
        # `disconnected` events)
        self.ready = False
        self.history = history
        self.sent = 0
        self.edited = 0
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
        self.caught_up = self.ready = False
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

    async def send(self, channel: str, mentions: tuple[str, ...] = ()) -> None:
        self.sent += 1
        body = {"text": f"{self.name} #{self.sent}", "n": self.sent}
        client_msg_no = await self.client.send(channel, body, mentions=mentions)
        self.history.attempts.append(Attempt(self.name, client_msg_no, channel, body, mentions))

    async def _ask(self, request: Awaitable[dict[str, Any]]) -> tuple[str, int | None, Any]:
        """The server's answer to a request (the reply's type or the error's code), when
        it came, and the reply; NO_ANSWER when none came."""
        try:
            reply = await request
        except RequestError as exc:
            return str(exc.code), now_ms(), exc.frame
        except (TimeoutError, ConnectionError, aiohttp.ClientError):
            return NO_ANSWER, None, {}
        return str(reply.get("type")), now_ms(), reply

    async def recall(self, channel: str, seq: int) -> Recall:
        sent = now_ms()
        answer, answered, _ = await self._ask(self.client.recall(channel, seq))
        done = Recall(self.name, channel, sent, answer, answered, seq=seq)
        self.history.recalls.append(done)
        return done

    async def edit(self, channel: str, seq: int) -> Edit:
        self.edited += 1
        body = {"text": f"{self.name} edit {self.edited}", "edit": self.edited}
        sent = now_ms()
        answer, answered, reply = await self._ask(self.client.edit(channel, seq, body))
        version = int(reply["version"]) if answer == "edit" else None
        done = Edit(self.name, channel, sent, answer, answered, seq=seq, body=body, version=version)
        self.history.edits.append(done)
        return done

    async def mute(self, channel: str, muted: bool) -> Mute:
        sent = now_ms()
        answer, answered, _ = await self._ask(self.client.mute(channel, muted))
        done = Mute(self.name, channel, sent, answer, answered, muted=muted)
        self.history.mutes.append(done)
        return done

    def own(self, channel: str) -> list[dict[str, Any]]:
        """The user's messages in the channel that the store holds (from any of their
        devices)."""
        return [m for m in self.client.store.messages(channel) if m["from"] == self.user]

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
                mentions=tuple(m["mentions"]),
                recalled=bool(m["recalled"]),
                version=int(m["version"]),
            )
            for channel in self.client.store.channels()
            for m in self.client.store.messages(channel)
        ]

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in ("connected", "disconnected"):
            self.ready = event["type"] == "connected"

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
