"""`CourierClient`: one device's connection, with reconnect, outbox resend, sync and acks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from courier_client.store import OutboxEntry, Store

Frame = dict[str, Any]
Callback = Callable[[Frame], None]

PAGE_LIMIT = 100
REQUEST_TIMEOUT = 10.0
PING_INTERVAL = 300.0  # API Gateway drops a connection after 10 minutes without a message
RESEND_TIMEOUT = 10.0  # a send still without its sendack after this goes out again
MAX_TICK = 1.0
AUTH_FAILURES = (401, 403)
PERMANENT_ERRORS = ("invalid", "forbidden", "too_large")  # resending cannot succeed
RETRYABLE_ERRORS = ("throttled", "internal")  # nothing was done: send the same frame again
SENT_ERRORS = (ConnectionError, aiohttp.ClientError)  # the frame did not go out


class AuthError(Exception):
    """The token was refused at the handshake: get a new one."""


def token_user(token: str) -> str:
    """The `sub` claim of a JWT (read, not verified: the server verifies it)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def _parse(text: str) -> Frame | None:
    """A server frame, or None for text that is not a JSON object (ignored)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


class CourierClient:
    """A Courier device. Every UI event is put on `events` and passed to each callback.

    While connected it pings a quiet connection every `ping_interval` seconds and resends
    (with the same clientMsgNo) an outbox entry still unanswered after `resend_timeout`.
    """

    def __init__(
        self,
        url: str,
        token: str,
        store: Store,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        ping_interval: float = PING_INTERVAL,
        resend_timeout: float = RESEND_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        base = url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/")
        self.ws_url = f"{base}/?token={token}"
        self.user = token_user(token)
        self.store = store
        self.events: asyncio.Queue[Frame] = asyncio.Queue()
        self.callbacks: list[Callback] = []
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.ping_interval = ping_interval
        self.resend_timeout = resend_timeout
        self.request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._acked: dict[str, int] = {}  # channel → highest seq acked by this device
        self._reads: dict[str, int] = {}  # channel → read seq sent, not yet confirmed
        self._due: dict[str, float] = {}  # clientMsgNo → when to send it (again), this connection
        self._failures: dict[str, int] = {}  # clientMsgNo → throttled/internal answers so far
        self._filling: set[str] = set()
        self._last_traffic = 0.0
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
        tasks = [*self._tasks, *([self._runner] if self._runner is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
            try:
                async with self._open() as ws:
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

    def _open(self) -> AbstractAsyncContextManager[aiohttp.ClientWebSocketResponse]:
        """The next connection to serve (the unit tests' seam: they open fake ones)."""
        assert self._session is not None
        return self._session.ws_connect(self.ws_url, heartbeat=None)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Serve one open connection until it closes."""
        self._ws = ws
        self._due.clear()  # everything in the outbox goes out again on this connection
        self._last_traffic = asyncio.get_running_loop().time()
        helpers = [self._spawn(self._catch_up(ws)), self._spawn(self._maintain(ws))]
        try:
            async for msg in ws:
                self._last_traffic = asyncio.get_running_loop().time()
                frame = _parse(msg.data) if msg.type is aiohttp.WSMsgType.TEXT else None
                if frame is not None:
                    await self.handle_frame(frame)
        finally:
            self._ws = None
            for task in helpers:
                task.cancel()
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
        except (TimeoutError, *SENT_ERRORS):
            await ws.close()  # reconnect and try again

    async def _on_connect(self) -> None:
        """Resend the outbox (same clientMsgNo), then catch every conversation up: reads
        made offline, messages missed, acks."""
        await self._resend_due()
        for conversation in await self.sync_conversations():
            channel = conversation["channel"]
            if self.store.read_seq(channel) > int(conversation["readSeq"]):
                await self._send_read(channel)
            if self.store.contiguous_prefix(channel) < self.store.last_seq(channel):
                await self._fill(channel)
            await self._ack(channel)
        self._emit({"type": "connected", "totalUnread": self.store.total_unread()})
        self._finish_ready()

    async def _maintain(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """While connected: resend unanswered sends, ping when the connection is quiet."""
        tick = min(MAX_TICK, self.ping_interval / 2, self.resend_timeout / 2)
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(tick)
                await self._resend_due()
                if loop.time() - self._last_traffic >= self.ping_interval:
                    await self._request({"action": "ping"})
        except (TimeoutError, *SENT_ERRORS):
            await ws.close()  # no pong: the connection is dead; reconnect

    # frames out

    @staticmethod
    def _send_frame_of(client_msg_no: str, channel: str, body: Any) -> Frame:
        return {"action": "send", "channel": channel, "clientMsgNo": client_msg_no, "body": body}

    async def _send_frame(self, frame: Frame) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("not connected")
        await ws.send_str(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        self._last_traffic = asyncio.get_running_loop().time()

    async def _request(self, frame: Frame) -> Frame:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._send_frame({**frame, "requestId": request_id})
            return await asyncio.wait_for(future, self.request_timeout)
        finally:
            self._pending.pop(request_id, None)

    async def send(self, channel: str, body: Any) -> str:
        """Queue a message in the outbox and send it if connected; returns its clientMsgNo.
        It is sent again, unchanged, until its sendack arrives."""
        client_msg_no = uuid.uuid4().hex
        self.store.outbox_add(client_msg_no, channel, body)
        entry = self.store.outbox_get(client_msg_no)
        if entry is not None and self.connected:
            with contextlib.suppress(*SENT_ERRORS):
                await self._transmit(entry)
        return client_msg_no

    async def _transmit(self, entry: OutboxEntry) -> None:
        self._due[entry.client_msg_no] = asyncio.get_running_loop().time() + self.resend_timeout
        await self._send_frame(self._send_frame_of(entry.client_msg_no, entry.channel, entry.body))

    async def _resend_due(self) -> None:
        """Send every outbox entry that has not gone out on this connection or is overdue."""
        now = asyncio.get_running_loop().time()
        for entry in self.store.outbox():
            if self._due.get(entry.client_msg_no, now) <= now:
                await self._transmit(entry)

    async def sync_conversations(self) -> list[Frame]:
        """Every conversation, page by page, as the server lists them (also stored)."""
        cursor: str | None = None
        conversations: list[Frame] = []
        while True:
            page = await self._request({"action": "sync", "limit": PAGE_LIMIT, "cursor": cursor})
            conversations += page.get("conversations", [])
            cursor = page.get("next")
            if cursor is None:
                return conversations

    async def read(self, channel: str) -> None:
        """Mark the channel read up to the highest seq known (told to the server now if
        connected, else on the next connect)."""
        self.store.set_read_seq(channel, self.store.last_seq(channel))
        self._emit({"type": "unread", "channel": channel, "unread": self.store.unread(channel)})
        with contextlib.suppress(*SENT_ERRORS):
            await self._send_read(channel)

    async def _send_read(self, channel: str) -> None:
        seq = self.store.read_seq(channel)
        self._reads[channel] = max(seq, self._reads.get(channel, 0))
        await self._send_frame({"action": "read", "channel": channel, "seq": seq})

    def unread(self, channel: str) -> int:
        return self.store.unread(channel)

    def total_unread(self) -> int:
        return self.store.total_unread()

    async def _ack(self, channel: str, *, again: bool = False) -> None:
        """Ack the contiguous prefix if it grew; `again` when the server shows (by sending
        a message again) that it has not got the last ack."""
        prefix = self.store.contiguous_prefix(channel)
        if prefix > self._acked.get(channel, 0) or (again and prefix > 0):
            with contextlib.suppress(*SENT_ERRORS):
                await self._send_frame({"action": "ack", "channel": channel, "seq": prefix})
                self._acked[channel] = max(prefix, self._acked.get(channel, 0))

    async def _fill(self, channel: str) -> None:
        """Fetch what is missing after the contiguous prefix, page by page. Seqs a page
        skips have expired (retention): they count as held, so the prefix moves on."""
        while True:
            after = self.store.contiguous_prefix(channel)
            if after >= self.store.last_seq(channel):
                return
            page = await self._request(
                {"action": "sync", "channel": channel, "afterSeq": after, "limit": PAGE_LIMIT}
            )
            seqs = [int(m["seq"]) for m in page.get("messages", [])]
            if seqs:
                self.store.mark_expired_through(channel, min(seqs) - 1)
            elif not page.get("more"):
                self.store.mark_expired_through(channel, int(page.get("lastSeq", 0)))
            if self.store.contiguous_prefix(channel) <= after:
                return  # nothing more to get now

    async def _fill_and_ack(self, channel: str) -> None:
        if channel in self._filling:
            return
        self._filling.add(channel)
        try:
            await self._fill(channel)
            await self._ack(channel)
        except (TimeoutError, *SENT_ERRORS):
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
            self._on_read(frame)
        elif kind == "error":
            self._on_error(frame)
        elif kind is None:
            self._on_gateway_error(frame)

    async def _on_message(self, frame: Frame) -> None:
        channel, seq = frame["channel"], int(frame["seq"])
        self.store.set_last_seq(channel, seq)
        if frame.get("from") == self.user:
            self.store.set_read_seq(channel, seq)  # sent from another device of ours
        if self.store.add_message(channel, frame):
            self._emit({**frame, "unread": self.store.unread(channel)})
        if seq > self.store.contiguous_prefix(channel) + 1:
            self._spawn(self._fill_and_ack(channel))
        await self._ack(channel, again=seq <= self._acked.get(channel, 0))

    def _on_messages(self, frame: Frame) -> None:
        channel = frame["channel"]
        self.store.set_last_seq(channel, int(frame.get("lastSeq", 0)))
        self.store.set_read_seq(channel, int(frame.get("readSeq", 0)))
        for item in frame.get("messages", []):
            if self.store.add_message(channel, item):
                self._emit({"type": "message", "channel": channel, **item})

    def _on_sendack(self, frame: Frame) -> None:
        client_msg_no = frame["clientMsgNo"]
        entry = self.store.outbox_remove(client_msg_no)
        self._due.pop(client_msg_no, None)
        self._failures.pop(client_msg_no, None)
        channel, seq = frame["channel"], int(frame["seq"])
        if entry is not None:
            self.store.add_message(
                channel,
                {
                    "seq": seq,
                    "messageId": frame["messageId"],
                    "from": self.user,
                    "clientMsgNo": client_msg_no,
                    "body": entry.body,
                    "ts": frame["ts"],
                },
            )
        self.store.set_last_seq(channel, seq)
        self.store.set_read_seq(channel, seq)
        self._emit(frame)

    def _on_read(self, frame: Frame) -> None:
        channel, read_seq = frame["channel"], int(frame["readSeq"])
        self.store.set_read_seq(channel, read_seq)
        self.store.set_last_seq(channel, read_seq + int(frame["unread"]))
        if read_seq >= self._reads.get(channel, read_seq + 1):
            del self._reads[channel]  # the server has it
        self._emit(frame)
        self._emit({"type": "unread", "channel": channel, "unread": self.store.unread(channel)})

    def _on_error(self, frame: Frame) -> None:
        client_msg_no = frame.get("clientMsgNo")
        code = frame.get("code")
        if isinstance(client_msg_no, str) and code in PERMANENT_ERRORS:
            self.store.outbox_remove(client_msg_no)
            self._due.pop(client_msg_no, None)
        elif isinstance(client_msg_no, str) and code in RETRYABLE_ERRORS:
            failures = self._failures[client_msg_no] = self._failures.get(client_msg_no, 0) + 1
            delay = min(self.resend_timeout, self.backoff_base * 2 ** (failures - 1))
            self._due[client_msg_no] = asyncio.get_running_loop().time() + delay
        self._emit(frame)

    def _on_gateway_error(self, frame: Frame) -> None:
        """A frame of API Gateway's own (a function failed or timed out): the outcome of
        whatever caused it is unknown, so everything unanswered goes out again."""
        self._due.clear()
        for channel in list(self._reads):
            self._spawn(self._resend_read(channel))
        self._emit({"type": "gateway_error", "frame": frame})

    async def _resend_read(self, channel: str) -> None:
        with contextlib.suppress(*SENT_ERRORS):
            await self._send_read(channel)

    # events

    def _emit(self, event: Frame) -> None:
        self.events.put_nowait(event)
        for callback in self.callbacks:
            callback(event)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
