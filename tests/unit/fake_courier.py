"""A Courier server in memory behind fake sockets, for the client SDK's unit tests.

It keeps just enough of the protocol (one user's view: send with dedup, sync pages that
skip expired messages, read, ack, ping) and can misbehave on purpose: `faults` lists,
per action, what happens to the next frames of that action.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from courier_client import CourierClient, Store

Frame = dict[str, Any]
# What a fault does to the frame it hits:
DROP = "drop"  # lost on the way: not carried out, no reply
GATEWAY_ERROR = "gateway_error"  # carried out, but the function "timed out" (AWS's frame)
THROTTLED = "throttled"  # not carried out: a `throttled` error


def token_for(user: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"sub": user}).encode()).decode().rstrip("=")
    return f"e30.{claims}.signature"


@dataclass
class FakeServer:
    user: str
    messages: dict[str, list[Frame]] = field(default_factory=dict)  # channel → seq order
    expired: set[tuple[str, int]] = field(default_factory=set)
    reads: dict[str, int] = field(default_factory=dict)
    acks: dict[str, int] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    received: list[Frame] = field(default_factory=list)
    sendacks: dict[str, Frame] = field(default_factory=dict)  # clientMsgNo → first sendack

    def add(self, channel: str, sender: str, text: str) -> Frame:
        """Store a message as if another user had sent it; returns its `message` frame."""
        history = self.messages.setdefault(channel, [])
        seq = len(history) + 1
        message = {
            "channel": channel,
            "seq": seq,
            "messageId": f"m-{channel}-{seq}",
            "from": sender,
            "clientMsgNo": f"c-{sender}-{seq}",
            "body": {"text": text},
            "ts": 1_764_158_400_000 + seq,
        }
        history.append(message)
        return {"type": "message", **message}

    def sent(self, action: str) -> list[Frame]:
        return [frame for frame in self.received if frame.get("action") == action]

    def answer(self, frame: Frame) -> list[Frame]:
        """The frames the server sends back for one client frame."""
        self.received.append(frame)
        action = str(frame.get("action"))
        fault = self.faults.get(action, []).pop(0) if self.faults.get(action) else None
        if fault == DROP:
            return []
        if fault == THROTTLED:
            error = {"type": "error", "code": "throttled", "message": "try again"}
            return [{**error, **_echo(frame, "requestId", "clientMsgNo")}]
        replies = getattr(self, f"_{action}")(frame)
        if fault == GATEWAY_ERROR:
            gateway = {"message": "Internal server error", "connectionId": "c", "requestId": "r"}
            return [gateway]
        return [{**reply, **_echo(frame, "requestId")} for reply in replies]

    def _last_seq(self, channel: str) -> int:
        return len(self.messages.get(channel, []))

    def _send(self, frame: Frame) -> list[Frame]:
        client_msg_no, channel = frame["clientMsgNo"], frame["channel"]
        if not channel.startswith("dm:"):
            error = {"type": "error", "code": "forbidden", "message": "not a member"}
            return [{**error, "clientMsgNo": client_msg_no}]
        if client_msg_no in self.sendacks:
            return [{**self.sendacks[client_msg_no], "duplicate": True}]
        message = self.add(channel, self.user, "")
        message["body"] = frame["body"]
        self.reads[channel] = message["seq"]
        sendack = {
            "type": "sendack",
            "clientMsgNo": client_msg_no,
            "channel": channel,
            "seq": message["seq"],
            "messageId": message["messageId"],
            "ts": message["ts"],
            "duplicate": False,
        }
        self.sendacks[client_msg_no] = sendack
        return [sendack]

    def _sync(self, frame: Frame) -> list[Frame]:
        channel = frame.get("channel")
        if channel is None:
            conversations = [
                {
                    "channel": name,
                    "lastSeq": self._last_seq(name),
                    "readSeq": self.reads.get(name, 0),
                    "unread": self._last_seq(name) - self.reads.get(name, 0),
                    "lastMessage": None,
                }
                for name in sorted(self.messages)
            ]
            total = sum(c["unread"] for c in conversations)
            return [
                {
                    "type": "conversations",
                    "conversations": conversations,
                    "totalUnread": total,
                    "next": None,
                }
            ]
        kept = [
            {k: v for k, v in m.items() if k != "channel"}
            for m in self.messages.get(channel, [])
            if m["seq"] > frame.get("afterSeq", 0) and (channel, m["seq"]) not in self.expired
        ]
        limit = frame.get("limit", 50)
        page = {"type": "messages", "channel": channel, "messages": kept[:limit]}
        page |= {"more": len(kept) > limit, "lastSeq": self._last_seq(channel)}
        return [{**page, "readSeq": self.reads.get(channel, 0)}]

    def _read(self, frame: Frame) -> list[Frame]:
        channel = frame["channel"]
        read = max(self.reads.get(channel, 0), min(frame["seq"], self._last_seq(channel)))
        self.reads[channel] = read
        unread = self._last_seq(channel) - read
        return [{"type": "read", "channel": channel, "readSeq": read, "unread": unread}]

    def _ack(self, frame: Frame) -> list[Frame]:
        channel = frame["channel"]
        self.acks[channel] = max(self.acks.get(channel, 0), frame["seq"])
        return []

    def _ping(self, frame: Frame) -> list[Frame]:
        return [{"type": "pong"}]


def bob_sends(server: FakeServer, count: int) -> list[dict[str, Any]]:
    """`count` messages from bob to alice, stored by the server."""
    return [server.add("dm:alice:bob", "bob", f"m{n}") for n in range(count)]


def _echo(frame: Frame, *names: str) -> Frame:
    return {name: frame[name] for name in names if name in frame}


class FakeSocket:
    """What the client uses of aiohttp's ClientWebSocketResponse, wired to a FakeServer."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.closed = False
        self._incoming: asyncio.Queue[aiohttp.WSMessage | None] = asyncio.Queue()

    async def send_str(self, text: str) -> None:
        if self.closed:
            raise ConnectionResetError("closed")
        for reply in self.server.answer(json.loads(text)):
            self.push(reply)

    def push(self, frame: Frame) -> None:
        """Deliver a server frame to the client."""
        self._incoming.put_nowait(
            aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, json.dumps(frame), None)
        )

    async def close(self) -> None:
        """Close from either side: the client's loop sees the connection end."""
        self.closed = True
        self._incoming.put_nowait(None)

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> aiohttp.WSMessage:
        message = await self._incoming.get()
        if message is None:
            raise StopAsyncIteration
        return message


class FakeClient(CourierClient):
    """The real client, served by a FakeServer instead of a network."""

    def __init__(self, server: FakeServer, store: Store | None = None, **options: Any) -> None:
        options.setdefault("backoff_base", 0.01)
        super().__init__(
            "http://courier.test", token_for(server.user), store or Store(":memory:"), **options
        )
        self.server = server
        self.sockets: list[FakeSocket] = []

    def _open(self) -> Any:
        socket = FakeSocket(self.server)
        self.sockets.append(socket)
        return contextlib.nullcontext(socket)

    @property
    def socket(self) -> FakeSocket:
        return self.sockets[-1]


async def next_event(client: CourierClient, kind: str, timeout: float = 5.0) -> Frame:
    """The next UI event of this type, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            event = await client.events.get()
            if event.get("type") == kind:
                return event


async def until(condition: Any, timeout: float = 5.0) -> None:
    """Wait until `condition()` is true."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def connected(client: CourierClient) -> AsyncIterator[CourierClient]:
    await asyncio.wait_for(client.connect(), 5.0)
    try:
        yield client
    finally:
        await client.close()
        client.store.close()
