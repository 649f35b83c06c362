"""A Courier server in memory behind fake sockets, for the client SDK's unit tests.

It keeps just enough of the protocol (one user's view: send with dedup and mentions, sync
pages that skip expired messages, read, ack, ping; v1.1's recall, edit and mute, with
unread leaving recalled messages out; receipts, typing and presence) and can misbehave on
purpose: `faults` lists, per action, what happens to the next frames of that action.
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
RECALL_MS = 120_000  # COURIER_RECALL_SECONDS


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
    muted: set[str] = field(default_factory=set)
    peer_reads: dict[str, int] = field(default_factory=dict)  # DM → the other user's cursor
    read_by: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # receipts
    members: dict[str, int] = field(default_factory=dict)  # group → member count
    presences: dict[str, Frame] = field(default_factory=dict)  # users sharing a conversation
    now: int = 1_764_158_400_000  # ms, for the recall window (messages are at now + seq)

    def add(self, channel: str, sender: str, text: str, mentions: tuple[str, ...] = ()) -> Frame:
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
        if mentions:
            message["mentions"] = list(mentions)
        history.append(message)
        return {"type": "message", **message}

    def recall(self, channel: str, seq: int) -> Frame:
        """Recall a message (as its sender or the admin API would); returns the `recall`
        frame the user's connections get."""
        message = self.messages[channel][seq - 1]
        for erased in ("body", "mentions"):
            message.pop(erased, None)
        message["recalled"] = True
        return {
            "type": "recall",
            "channel": channel,
            "seq": seq,
            "messageId": message["messageId"],
            "unread": self._unread(channel),
        }

    def edit(self, channel: str, seq: int, body: Any) -> Frame:
        """Edit a message (as its sender would); returns the `edit` frame."""
        message = self.messages[channel][seq - 1]
        message["body"] = body
        message["version"] = message.get("version", 0) + 1
        message["editedAt"] = self.now
        names = ("channel", "seq", "messageId", "body", "version", "editedAt")
        return {"type": "edit", **_echo(message, *names)}

    def receipt(self, channel: str, seq: int) -> Frame:
        """The DM peer reads up to `seq`; returns the `receipt` frame the user gets."""
        peer = next(user for user in channel.split(":")[1:] if user != self.user)
        self.peer_reads[channel] = max(self.peer_reads.get(channel, 0), seq)
        return {"type": "receipt", "channel": channel, "user": peer, "readSeq": seq}

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
        stored = self.messages[channel][-1]
        stored["body"] = message["body"] = frame["body"]
        if frame.get("mentions"):
            stored["mentions"] = message["mentions"] = frame["mentions"]
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
                    "unread": self._unread(name),
                    "mentions": self._mentions(name),
                    "muted": name in self.muted,
                    "lastMessage": self._last_message(name),
                }
                | ({"peerReadSeq": self.peer_reads.get(name, 0)} if name.startswith("dm:") else {})
                for name in sorted(self.messages)
            ]
            total = self._total_unread()
            return [
                {
                    "type": "conversations",
                    "conversations": conversations,
                    "totalUnread": total,
                    "next": None,
                }
            ]
        kept = [
            self._stored(m)
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
        unread = self._unread(channel)
        return [{"type": "read", "channel": channel, "readSeq": read, "unread": unread}]

    def _recall(self, frame: Frame) -> list[Frame]:
        channel, seq = frame["channel"], frame["seq"]
        if seq > self._last_seq(channel):
            return [{"type": "error", "code": "invalid", "message": "no such message"}]
        message = self.messages[channel][seq - 1]
        late = self.now - message["ts"] > RECALL_MS
        if message["from"] != self.user or (late and not message.get("recalled")):
            return [{"type": "error", "code": "forbidden", "message": "not yours, or too late"}]
        return [self.recall(channel, seq)]

    def _edit(self, frame: Frame) -> list[Frame]:
        channel, seq = frame["channel"], frame["seq"]
        if seq > self._last_seq(channel):
            return [{"type": "error", "code": "invalid", "message": "no such message"}]
        message = self.messages[channel][seq - 1]
        if message["from"] != self.user or message.get("recalled"):
            return [{"type": "error", "code": "forbidden", "message": "not yours, or recalled"}]
        return [self.edit(channel, seq, frame["body"])]

    def _mute(self, frame: Frame) -> list[Frame]:
        channel, muted = frame["channel"], frame["muted"]
        (self.muted.add if muted else self.muted.discard)(channel)
        mute = {"type": "mute", "channel": channel, "muted": muted}
        return [mute | {"totalUnread": self._total_unread()}]

    def _receipts(self, frame: Frame) -> list[Frame]:
        channel, seq = frame["channel"], frame["seq"]
        if not 1 <= seq <= self._last_seq(channel):
            return [{"type": "error", "code": "invalid", "message": "no such message"}]
        read_by = self.read_by.get((channel, seq), [])
        members = self.members.get(channel, 2)
        counted = {"count": len(read_by), "members": members, "readBy": read_by}
        return [{"type": "receipts", "channel": channel, "seq": seq, **counted}]

    def _typing(self, frame: Frame) -> list[Frame]:
        return []

    def _presence(self, frame: Frame) -> list[Frame]:
        users = {user: self.presences[user] for user in frame["users"] if user in self.presences}
        return [{"type": "presence", "users": users}]

    def _unread(self, channel: str) -> int:
        """v1.1: the messages after the read cursor that are not recalled."""
        after = self.messages.get(channel, [])[self.reads.get(channel, 0) :]
        return sum(1 for message in after if not message.get("recalled"))

    def _mentions(self, channel: str) -> int:
        after = self.messages.get(channel, [])[self.reads.get(channel, 0) :]
        return sum(1 for message in after if self.user in message.get("mentions", []))

    def _total_unread(self) -> int:
        return sum(self._unread(name) for name in self.messages if name not in self.muted)

    def _last_message(self, channel: str) -> Frame | None:
        """A conversation's `lastMessage`: a summary, without clientMsgNo."""
        last = self._last_seq(channel)
        if not last or (channel, last) in self.expired:
            return None
        return {
            k: v for k, v in self._stored(self.messages[channel][-1]).items() if k != "clientMsgNo"
        }

    @staticmethod
    def _stored(message: Frame) -> Frame:
        """A message as sync and `lastMessage` return it."""
        return {k: v for k, v in message.items() if k != "channel"}

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


async def settled(client: CourierClient) -> list[Frame]:
    """Once every frame pushed so far is applied (a ping's pong comes after them), the UI
    events not taken yet."""
    await client._request({"action": "ping"})
    events = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


@contextlib.asynccontextmanager
async def connected(client: CourierClient) -> AsyncIterator[CourierClient]:
    await asyncio.wait_for(client.connect(), 5.0)
    try:
        yield client
    finally:
        await client.close()
        client.store.close()
