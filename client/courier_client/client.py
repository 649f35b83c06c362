"""`CourierClient`: one device's connection, with reconnect, outbox resend, sync and acks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from courier_client.store import Store

Frame = dict[str, Any]
Callback = Callable[[Frame], None]

PAGE_LIMIT = 100
REQUEST_TIMEOUT = 10.0
AUTH_FAILURES = (401, 403)


class AuthError(Exception):
    """The token was refused at the handshake: get a new one."""


def token_user(token: str) -> str:
    """The `sub` claim of a JWT (read, not verified: the server verifies it)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


class CourierClient:
    """A Courier device. Every UI event is put on `events` and passed to each callback."""

    def __init__(
        self,
        url: str,
        token: str,
        store: Store,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
    ) -> None:
        base = url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/")
        self.ws_url = f"{base}/?token={token}"
        self.user = token_user(token)
        self.store = store
        self.events: asyncio.Queue[Frame] = asyncio.Queue()
        self.callbacks: list[Callback] = []
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._acked: dict[str, int] = {}
        self._filling: set[str] = set()
        self._ready: asyncio.Future[None] | None = None
        self._closed = False

    # lifecycle

    async def connect(self) -> None:
        """Start the connection loop; returns once connected and caught up (first time)."""
        if self._runner is not None:
            return
        self._closed = False
        self._session = aiohttp.ClientSession()
        self._ready = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run())
        await asyncio.shield(self._ready)

    async def close(self) -> None:
        self._closed = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def _run(self) -> None:
        attempt = 0
        while not self._closed:
            assert self._session is not None
            try:
                async with self._session.ws_connect(self.ws_url, heartbeat=None) as ws:
                    attempt = 0
                    await self._serve(ws)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in AUTH_FAILURES:
                    self._emit({"type": "auth_failed", "status": exc.status})
                    self._finish_ready(AuthError(f"handshake refused: {exc.status}"))
                    return
            except (TimeoutError, aiohttp.ClientError, OSError):
                pass
            self._emit({"type": "disconnected"})
            delay = min(self.backoff_max, self.backoff_base * 2**attempt)
            attempt += 1
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        catch_up = self._spawn(self._catch_up(ws))
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    await self.handle_frame(json.loads(msg.data))
        finally:
            self._ws = None
            catch_up.cancel()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("disconnected"))
            self._pending.clear()
            self._filling.clear()

    def _finish_ready(self, error: BaseException | None = None) -> None:
        if self._ready is not None and not self._ready.done():
            if error is None:
                self._ready.set_result(None)
            else:
                self._ready.set_exception(error)

    async def _catch_up(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await self._on_connect()
        except (TimeoutError, ConnectionError, aiohttp.ClientError):
            await ws.close()  # reconnect and try again

    async def _on_connect(self) -> None:
        """Resend the outbox (same clientMsgNo), then catch every conversation up."""
        for entry in self.store.outbox():
            frame = self._send_frame_of(entry.client_msg_no, entry.channel, entry.body)
            await self._send_frame(frame)
        cursor: str | None = None
        channels: list[str] = []
        while True:
            page = await self._request({"action": "sync", "limit": PAGE_LIMIT, "cursor": cursor})
            channels += [c["channel"] for c in page.get("conversations", [])]
            cursor = page.get("next")
            if cursor is None:
                break
        for channel in channels:
            if self.store.contiguous_prefix(channel) < self.store.last_seq(channel):
                await self._fill(channel)
            await self._ack(channel)
        self._emit({"type": "connected", "totalUnread": self.store.total_unread()})
        self._finish_ready()

    # frames out

    @staticmethod
    def _send_frame_of(client_msg_no: str, channel: str, body: Any) -> Frame:
        return {"action": "send", "channel": channel, "clientMsgNo": client_msg_no, "body": body}

    async def _send_frame(self, frame: Frame) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("not connected")
        await ws.send_str(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))

    async def _request(self, frame: Frame) -> Frame:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._send_frame({**frame, "requestId": request_id})
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        finally:
            self._pending.pop(request_id, None)

    async def send(self, channel: str, body: Any) -> str:
        """Queue a message in the outbox and send it if connected; returns its clientMsgNo."""
        client_msg_no = uuid.uuid4().hex
        self.store.outbox_add(client_msg_no, channel, body)
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self._send_frame(self._send_frame_of(client_msg_no, channel, body))
        return client_msg_no

    async def read(self, channel: str) -> None:
        """Mark the channel read up to the highest seq known."""
        seq = self.store.last_seq(channel)
        self.store.set_read_seq(channel, seq)
        self._emit({"type": "unread", "channel": channel, "unread": self.store.unread(channel)})
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self._send_frame({"action": "read", "channel": channel, "seq": seq})

    def unread(self, channel: str) -> int:
        return self.store.unread(channel)

    def total_unread(self) -> int:
        return self.store.total_unread()

    async def _ack(self, channel: str) -> None:
        prefix = self.store.contiguous_prefix(channel)
        if prefix > self._acked.get(channel, 0):
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await self._send_frame({"action": "ack", "channel": channel, "seq": prefix})
                self._acked[channel] = prefix

    async def _fill(self, channel: str) -> None:
        """Fetch every message after the contiguous prefix, page by page."""
        after = self.store.contiguous_prefix(channel)
        while True:
            page = await self._request(
                {"action": "sync", "channel": channel, "afterSeq": after, "limit": PAGE_LIMIT}
            )
            items = page.get("messages", [])
            if not items or not page.get("more"):
                return
            after = max(int(m["seq"]) for m in items)

    async def _fill_and_ack(self, channel: str) -> None:
        if channel in self._filling:
            return
        self._filling.add(channel)
        try:
            await self._fill(channel)
            await self._ack(channel)
        except (TimeoutError, ConnectionError):
            pass  # caught up again on the next connect
        finally:
            self._filling.discard(channel)

    # frames in

    async def handle_frame(self, frame: Frame) -> None:
        """Apply one server frame to the store and emit UI events."""
        kind = frame.get("type")
        request_id = frame.get("requestId")
        if isinstance(request_id, str) and request_id in self._pending:
            future = self._pending[request_id]
            if not future.done():
                if kind == "error":
                    future.set_exception(ConnectionError(f"{frame.get('code')}: {frame}"))
                else:
                    future.set_result(frame)
        if kind == "message":
            await self._on_message(frame)
        elif kind == "messages":
            self._on_messages(frame)
        elif kind == "conversations":
            for conversation in frame.get("conversations", []):
                channel = conversation["channel"]
                self.store.set_last_seq(channel, int(conversation["lastSeq"]))
                self.store.set_read_seq(channel, int(conversation["readSeq"]))
        elif kind == "sendack":
            self._on_sendack(frame)
        elif kind == "read":
            channel = frame["channel"]
            self.store.set_read_seq(channel, int(frame["readSeq"]))
            self.store.set_last_seq(channel, int(frame["readSeq"]) + int(frame["unread"]))
            self._emit(frame)
            self._emit({"type": "unread", "channel": channel, "unread": self.store.unread(channel)})
        elif kind == "error":
            self._on_error(frame)
        elif kind is None:
            self._emit({"type": "gateway_error", "frame": frame})

    async def _on_message(self, frame: Frame) -> None:
        channel, seq = frame["channel"], int(frame["seq"])
        self.store.set_last_seq(channel, seq)
        if frame.get("from") == self.user:
            self.store.set_read_seq(channel, seq)  # sent from another device of ours
        if self.store.add_message(channel, frame):
            self._emit({**frame, "unread": self.store.unread(channel)})
        if seq > self.store.contiguous_prefix(channel) + 1:
            self._spawn(self._fill_and_ack(channel))
        await self._ack(channel)

    def _on_messages(self, frame: Frame) -> None:
        channel = frame["channel"]
        self.store.set_last_seq(channel, int(frame.get("lastSeq", 0)))
        self.store.set_read_seq(channel, int(frame.get("readSeq", 0)))
        for item in frame.get("messages", []):
            if self.store.add_message(channel, item):
                self._emit({"type": "message", "channel": channel, **item})

    def _on_sendack(self, frame: Frame) -> None:
        entry = self.store.outbox_remove(frame["clientMsgNo"])
        channel, seq = frame["channel"], int(frame["seq"])
        message = {
            "seq": seq,
            "messageId": frame["messageId"],
            "from": self.user,
            "clientMsgNo": frame["clientMsgNo"],
            "body": entry.body if entry is not None else None,
            "ts": frame["ts"],
        }
        if entry is not None:
            self.store.add_message(channel, message)
        self.store.set_last_seq(channel, seq)
        self.store.set_read_seq(channel, seq)
        self._emit(frame)

    def _on_error(self, frame: Frame) -> None:
        client_msg_no = frame.get("clientMsgNo")
        if isinstance(client_msg_no, str) and frame.get("code") in (
            "invalid",
            "forbidden",
            "too_large",
        ):
            self.store.outbox_remove(client_msg_no)  # permanent: resending cannot succeed
        self._emit(frame)

    # events

    def _emit(self, event: Frame) -> None:
        self.events.put_nowait(event)
        for callback in self.callbacks:
            callback(event)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
