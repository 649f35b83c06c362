"""`CourierClient`: one device's connection, with reconnect, outbox and read resend, sync
and acks, and protocol v1.1's recall, edit, mentions, mute, receipts, typing and
presence."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp

from courier_client.mentions import checked_mentions
from courier_client.store import OutboxEntry, Store
from courier_client.typing_throttle import TypingThrottle
from courier_client.user_ids import checked_user_ids

Frame = dict[str, Any]
Callback = Callable[[Frame], None]

PAGE_LIMIT = 100
REQUEST_TIMEOUT = 10.0
PING_INTERVAL = 300.0  # API Gateway drops a connection after 10 minutes without a message
RESEND_TIMEOUT = 10.0  # a send without its sendack, a read without its reply: sent again
MAX_TICK = 1.0
AUTH_FAILURES = (401, 403)
PERMANENT_ERRORS = ("invalid", "forbidden", "too_large")  # resending cannot succeed
RETRYABLE_ERRORS = ("throttled", "internal")  # nothing was done: send the same frame again
SENT_ERRORS = (ConnectionError, aiohttp.ClientError)  # the frame did not go out
MAX_PRESENCE_USERS = 100


class AuthError(Exception):
    """The token was refused at the handshake: get a new one."""


class RequestError(ConnectionError):
    """The server answered a request with an `error` frame (`code` says which)."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"{frame.get('code')}: {frame}")
        self.frame = frame
        self.code = frame.get("code")


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

    While connected it pings a quiet connection every `ping_interval` seconds, resends (with
    the same clientMsgNo) an outbox entry still unanswered after `resend_timeout`, and
    resends the user's read of a channel, unanswered after `resend_timeout` too, until the
    server reports a read cursor that covers it (reads are idempotent: the server's cursor
    only moves forward). Outbox and wanted reads live in the store, so they also survive a
    restart of the app.

    With `check_server` (the default), each connection first checks that the server still
    holds the store's newest message (`Store.witness`) before anything else goes out or
    comes in; if it does not (the local stack restarted empty), the store forgets what came
    from the old server, keeps what the user did (`Store.forget_server`) and the UI gets a
    `server_reset` event. Without it, a store must never outlive its server's state.
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
        check_server: bool = True,
        clock: Callable[[], float] = time.monotonic,
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
        self.check_server = check_server
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._acked: dict[str, int] = {}  # channel → highest seq acked by this device
        self._due: dict[str, float] = {}  # clientMsgNo → when to send it (again), this connection
        self._read_due: dict[str, tuple[int, float]] = {}  # channel → (seq sent, when again)
        self._read_asks: dict[str, tuple[str, int]] = {}  # read requestId → (channel, seq)
        self._probes: set[str] = set()  # requestIds whose reply must not touch the store
        self._checked = False  # this connection's server holds the store's state
        self._held: list[Frame] = []  # frames that came in before that was known
        self._failures: dict[str, int] = {}  # clientMsgNo → throttled/internal answers so far
        self._filling: set[str] = set()
        self._last_traffic = 0.0
        self._ready: asyncio.Future[None] | None = None
        self._closed = False
        self._typing = TypingThrottle(clock)

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
        self._read_due.clear()  # and every wanted read
        self._read_asks.clear()
        self._checked, self._held = False, []
        self._last_traffic = asyncio.get_running_loop().time()
        helpers = [self._spawn(self._catch_up(ws)), self._spawn(self._maintain(ws))]
        try:
            async for msg in ws:
                self._last_traffic = asyncio.get_running_loop().time()
                frame = _parse(msg.data) if msg.type is aiohttp.WSMsgType.TEXT else None
                if frame is None:
                    continue
                request_id = frame.get("requestId")
                if self._checked or (isinstance(request_id, str) and request_id in self._pending):
                    await self.handle_frame(frame)
                else:
                    self._held.append(frame)  # until the server is known to be ours
        finally:
            self._ws = None
            self._checked = False
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
        """Check that the server still holds the store's state (else forget it), resend the
        outbox (same clientMsgNo), catch every conversation up (messages missed, acks), then
        send every read the server does not hold yet (made offline, or its frame lost)."""
        if self.check_server:
            await self._check_server()
        while self._held:
            await self.handle_frame(self._held.pop(0))
        self._checked = True
        await self._resend_due()
        for conversation in await self.sync_conversations():
            channel = conversation["channel"]
            if self.store.contiguous_prefix(channel) < self.store.last_seq(channel):
                await self._fill(channel)
            await self._recount(conversation)
            await self._ack(channel)
        await self._resend_reads()
        self._emit({"type": "connected", "totalUnread": self.store.total_unread()})
        self._finish_ready()

    async def _check_server(self) -> None:
        """Ask the server for the store's witness message; if it does not hold it, the store
        is another server's (the local stack restarted empty): forget what came from that
        server, keep the outbox and the reads (`Store.forget_server` says how far)."""
        witness = self.store.witness()
        if witness is None or await self._holds(witness):
            return
        self.store.forget_server()
        self._acked.clear()
        self._failures.clear()
        self._emit({"type": "server_reset", "outbox": len(self.store.outbox())})

    async def _holds(self, witness: Frame) -> bool:
        """Whether the server has the witness at its seq. A seq at or below its lastSeq
        without a message has expired there (retention): that is still the same server.
        `forbidden` means the channel is unknown to it (groups are made through the admin
        API, so a server that lost its state does not have them)."""
        channel, seq = witness["channel"], int(witness["seq"])
        frame = {"action": "sync", "channel": channel, "afterSeq": seq - 1, "limit": 1}
        try:
            page = await self._request(frame, apply=False)
        except RequestError as exc:
            if exc.code == "forbidden":
                return False
            raise
        for item in page.get("messages", []):
            if int(item.get("seq", 0)) == seq:
                return bool(item.get("messageId") == witness["messageId"])
        return int(page.get("lastSeq", 0)) >= seq

    async def _maintain(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """While connected: resend unanswered sends and reads, ping when the connection is
        quiet."""
        tick = min(MAX_TICK, self.ping_interval / 2, self.resend_timeout / 2)
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(tick)
                if self._checked:
                    await self._resend_due()
                    await self._resend_reads()
                if loop.time() - self._last_traffic >= self.ping_interval:
                    await self._request({"action": "ping"})
        except (TimeoutError, *SENT_ERRORS):
            await ws.close()  # no pong: the connection is dead; reconnect

    # frames out

    @staticmethod
    def _send_frame_of(entry: OutboxEntry) -> Frame:
        frame = {
            "action": "send",
            "channel": entry.channel,
            "clientMsgNo": entry.client_msg_no,
            "body": entry.body,
        }
        return frame | {"mentions": list(entry.mentions)} if entry.mentions else frame

    async def _send_frame(self, frame: Frame) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("not connected")
        await ws.send_str(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        self._last_traffic = asyncio.get_running_loop().time()

    async def _request(self, frame: Frame, *, apply: bool = True) -> Frame:
        """Send a frame and return its reply (`RequestError` for an `error` one). The reply
        is also applied to the store, unless `apply` is false (a probe of the server)."""
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        if not apply:
            self._probes.add(request_id)
        try:
            await self._send_frame({**frame, "requestId": request_id})
            return await asyncio.wait_for(future, self.request_timeout)
        finally:
            self._pending.pop(request_id, None)
            self._probes.discard(request_id)

    async def send(self, channel: str, body: Any, *, mentions: Iterable[str] = ()) -> str:
        """Queue a message in the outbox and send it if connected; returns its clientMsgNo.
        It is sent again, unchanged, until its sendack arrives. `mentions` the server would
        refuse raise `InvalidMentions`, and nothing is queued."""
        users = checked_mentions(mentions)
        client_msg_no = uuid.uuid4().hex
        self.store.outbox_add(client_msg_no, channel, body, users)
        entry = self.store.outbox_get(client_msg_no)
        if entry is not None and self.connected and self._checked:
            with contextlib.suppress(*SENT_ERRORS):
                await self._transmit(entry)
        return client_msg_no

    async def _transmit(self, entry: OutboxEntry) -> None:
        self._due[entry.client_msg_no] = asyncio.get_running_loop().time() + self.resend_timeout
        await self._send_frame(self._send_frame_of(entry))

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
        """Mark the channel read up to the highest seq known. The read is kept in the store
        until the server reports a read cursor that covers it: told to the server now if
        connected, again every `resend_timeout` while unanswered, and on each connect."""
        seq = self.store.last_seq(channel)
        self.store.set_read_seq(channel, seq)
        self.store.want_read(channel, seq)
        self._emit_unread(channel)
        if self.connected and self._checked:
            with contextlib.suppress(*SENT_ERRORS):
                await self._send_read(channel)

    async def _send_read(self, channel: str) -> None:
        """Send the channel's wanted read, with a requestId: the reply tells this read's
        outcome apart from other devices' reads."""
        seq = self.store.wanted_read(channel)
        if seq <= 0:
            return
        request_id = uuid.uuid4().hex
        for earlier in [r for r, (c, _) in self._read_asks.items() if c == channel]:
            del self._read_asks[earlier]  # a late reply to it still confirms what it shows
        self._read_asks[request_id] = (channel, seq)
        self._read_due[channel] = (seq, asyncio.get_running_loop().time() + self.resend_timeout)
        frame = {"action": "read", "channel": channel, "seq": seq, "requestId": request_id}
        await self._send_frame(frame)

    async def _resend_reads(self) -> None:
        """Send every wanted read not sent on this connection, grown since, or overdue."""
        now = asyncio.get_running_loop().time()
        for channel, seq in self.store.wanted_reads().items():
            sent = self._read_due.get(channel)
            if sent is None or sent[0] != seq or sent[1] <= now:
                await self._send_read(channel)

    def unread(self, channel: str) -> int:
        return self.store.unread(channel)

    def mentions(self, channel: str) -> int:
        """How many of the channel's unread messages mention this user."""
        return self.store.mentions(channel, self.user)

    def total_unread(self) -> int:
        """The unread of every conversation not muted."""
        return self.store.total_unread()

    async def recall(self, channel: str, seq: int) -> Frame:
        """Recall a message of this user's; returns the server's `recall` frame, already
        applied to the store. Needs a connection: `ConnectionError` without one (nothing is
        queued: the server allows a recall only shortly after the send), `RequestError`
        if the server refuses it."""
        return await self._act({"action": "recall", "channel": channel, "seq": seq})

    async def edit(self, channel: str, seq: int, body: Any) -> Frame:
        """Replace the body of a message of this user's; returns the server's `edit` frame,
        already applied. Errors as for `recall`."""
        return await self._act({"action": "edit", "channel": channel, "seq": seq, "body": body})

    async def mute(self, channel: str, muted: bool = True) -> Frame:
        """Mute (or unmute) the conversation for this user on all devices; returns the
        server's `mute` frame, already applied. Errors as for `recall`."""
        return await self._act({"action": "mute", "channel": channel, "muted": muted})

    def muted(self, channel: str) -> bool:
        return self.store.muted(channel)

    def peer_read_seq(self, channel: str) -> int:
        """How far the other user of a DM has read, as last reported (0 if unknown): a
        message of this user's with a seq at or below it has been seen."""
        return self.store.peer_read_seq(channel)

    async def receipts(self, channel: str, seq: int) -> Frame:
        """Who of the channel's members (the message's sender aside) has read up to `seq`:
        the server's `receipts` frame (`count`, `members`, `readBy`). Errors as for
        `recall`."""
        return await self._act({"action": "receipts", "channel": channel, "seq": seq}, apply=False)

    async def presence(self, users: Iterable[str]) -> dict[str, Frame]:
        """user → `{"online": bool, "lastSeen"?: ms}` for those of `users` (1 to 100 ids,
        each once: else `InvalidUserIds`, and nothing is sent) the server reports: only
        those who share a conversation with this user. Errors as for `recall`."""
        ids = checked_user_ids(users, least=1, most=MAX_PRESENCE_USERS)
        reply = await self._act({"action": "presence", "users": list(ids)}, apply=False)
        return dict(reply.get("users", {}))

    async def typing(self, channel: str) -> bool:
        """Tell the channel's other members this user is typing; True if the frame went
        out. At most one per channel per 3 s does (the server would drop the others), and
        none without a connection: it is never queued (a late one would be false)."""
        if not (self.connected and self._checked) or not self._typing.take(channel):
            return False
        try:
            await self._send_frame({"action": "typing", "channel": channel})
        except SENT_ERRORS:
            return False
        return True

    async def _act(self, frame: Frame, *, apply: bool = True) -> Frame:
        """A request of the user's, only to the server the store is known to be from. A
        reply not `apply`-ed is the caller's alone: nothing to store, and an error frame is
        raised to the caller, never emitted."""
        if not (self.connected and self._checked):
            raise ConnectionError("not connected")
        return await self._request(frame, apply=apply)

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

    async def _recount(self, conversation: Frame) -> None:
        """Count the entry's unread and mentions here, over its cursors; if the server's
        differ, a message already held was recalled while this device was away (no frame
        told it): fetch the entry's unread messages again, as they are now."""
        channel = conversation["channel"]
        read, last = int(conversation["readSeq"]), int(conversation["lastSeq"])
        unread = self.store.unread_in(channel, read, last)
        mentions = self.store.mentions_in(channel, self.user, read, last)
        if (unread, mentions) == (
            conversation.get("unread"),
            conversation.get("mentions", mentions),
        ):
            return
        after = read
        while after < last:
            page = await self._request(
                {"action": "sync", "channel": channel, "afterSeq": after, "limit": PAGE_LIMIT}
            )
            seqs = [int(m["seq"]) for m in page.get("messages", [])]
            if not seqs or not page.get("more"):
                return
            after = max(seqs)

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
        if self._answer(frame):
            return
        if kind == "message":
            await self._on_message(frame)
        elif kind is None:
            self._on_gateway_error(frame)
        elif (handler := self._handlers().get(kind)) is not None:
            handler(frame)

    def _handlers(self) -> dict[str, Callback]:
        """Frame type → what applies it (frames of other types change nothing)."""
        return {
            "messages": self._on_messages,
            "conversations": self._on_conversations,
            "recall": self._on_recall,
            "edit": self._on_edit,
            "mute": self._on_mute,
            "receipt": self._on_receipt,
            "typing": self._on_typing,
            "sendack": self._on_sendack,
            "read": self._on_read,
            "error": self._on_error,
        }

    def _answer(self, frame: Frame) -> bool:
        """Hand a reply to its request; True if it is a probe's, not to be applied."""
        request_id = frame.get("requestId")
        if not isinstance(request_id, str) or request_id not in self._pending:
            return False
        future = self._pending[request_id]
        if not future.done():
            if frame.get("type") == "error":
                future.set_exception(RequestError(frame))
            else:
                future.set_result(frame)
        return request_id in self._probes

    async def _on_message(self, frame: Frame) -> None:
        channel, seq = frame["channel"], int(frame["seq"])
        self.store.set_last_seq(channel, seq)
        if frame.get("from") == self.user:
            self.store.read_confirmed(channel, seq)  # sent from another device of ours
        if self.store.add_message(channel, frame):
            self._emit({**frame, "unread": self.store.unread(channel)})
        if seq > self.store.contiguous_prefix(channel) + 1:
            self._spawn(self._fill_and_ack(channel))
        await self._ack(channel, again=seq <= self._acked.get(channel, 0))

    def _on_conversations(self, frame: Frame) -> None:
        for conversation in frame.get("conversations", []):
            self._on_conversation(conversation)

    def _on_conversation(self, conversation: Frame) -> None:
        """A conversation entry: its cursors, its mute (absent from a v1 server: kept as is)
        and the recall or edit its `lastMessage` shows. A `lastMessage` is never stored as
        a message (it has no clientMsgNo): one not held yet comes whole from `sync`."""
        channel = conversation["channel"]
        self.store.set_last_seq(channel, int(conversation["lastSeq"]))
        self.store.read_confirmed(channel, int(conversation["readSeq"]))
        if isinstance(conversation.get("muted"), bool):
            self.store.set_muted(channel, conversation["muted"])
        if isinstance(conversation.get("peerReadSeq"), int):  # DMs of a v1.1 server
            self._peer_read(channel, conversation["peerReadSeq"])
        last = conversation.get("lastMessage")
        if isinstance(last, dict):
            self.store.revise(channel, int(last["seq"]), last)

    def _on_recall(self, frame: Frame) -> None:
        channel, seq = frame["channel"], int(frame["seq"])
        self._changed_message(channel, seq, frame, self.store.recall(channel, seq))

    def _on_edit(self, frame: Frame) -> None:
        channel, seq = frame["channel"], int(frame["seq"])
        self._changed_message(channel, seq, frame, self.store.revise(channel, seq, frame))

    def _changed_message(self, channel: str, seq: int, frame: Frame, changed: bool) -> None:
        """After a recall or an edit: the message proves lastSeq reaches its seq, and one not
        held yet is fetched. The UI hears of it once, however often the frame arrives, with
        the unread counted here in the `unread` event that follows (a recall frame's own
        `unread` misses what this device read and has not told the server yet)."""
        self.store.set_last_seq(channel, seq)
        if seq > self.store.contiguous_prefix(channel):
            self._spawn(self._fill_and_ack(channel))
        if changed:
            self._emit({k: v for k, v in frame.items() if k not in ("requestId", "unread")})
            self._emit_unread(channel)

    def _on_mute(self, frame: Frame) -> None:
        channel = frame["channel"]
        self.store.set_muted(channel, bool(frame["muted"]))
        total = self.store.total_unread()
        self._emit(
            {"type": "mute", "channel": channel, "muted": frame["muted"], "totalUnread": total}
        )

    def _on_receipt(self, frame: Frame) -> None:
        """The DM peer's read cursor moved. It is at most the DM's lastSeq: one above the
        messages held (its message frame was lost) has the missing ones fetched."""
        channel, read_seq = frame["channel"], int(frame["readSeq"])
        if frame.get("user") == self.user or not channel.startswith("dm:"):
            return  # the reader's own devices get `read` frames, and groups no receipts
        self.store.set_last_seq(channel, read_seq)
        if read_seq > self.store.contiguous_prefix(channel):
            self._spawn(self._fill_and_ack(channel))
        self._peer_read(channel, read_seq)

    def _peer_read(self, channel: str, read_seq: int) -> None:
        if self.store.raise_peer_read_seq(channel, read_seq):
            self._emit({"type": "peer_read", "channel": channel, "peerReadSeq": read_seq})

    def _on_typing(self, frame: Frame) -> None:
        """Another member is typing: the UI shows it for a few seconds (a frame comes at
        most every 3 s while they type, and none says they stopped)."""
        if frame.get("user") != self.user:
            self._emit({"type": "typing", "channel": frame["channel"], "user": frame["user"]})

    def _emit_unread(self, channel: str) -> None:
        self._emit(
            {
                "type": "unread",
                "channel": channel,
                "unread": self.store.unread(channel),
                "mentions": self.mentions(channel),
            }
        )

    def _on_messages(self, frame: Frame) -> None:
        channel = frame["channel"]
        self.store.set_last_seq(channel, int(frame.get("lastSeq", 0)))
        self.store.read_confirmed(channel, int(frame.get("readSeq", 0)))
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
                    "mentions": list(entry.mentions),
                },
            )
        self.store.set_last_seq(channel, seq)
        self.store.read_confirmed(channel, seq)  # sending moved the server's cursor there
        self._emit(frame)

    def _on_read(self, frame: Frame) -> None:
        """The user's read cursor, as the server holds it: the reply to a read of this
        device, or another device's read. It confirms every wanted read it covers. The
        reply to a read of seq n showing a cursor below n means the server clamped the read
        to its lastSeq: it holds all of it that it can, so the wanted read (if not higher
        now) is given up rather than sent forever."""
        channel, read_seq = frame["channel"], int(frame["readSeq"])
        request_id = frame.get("requestId")
        asked = self._read_asks.pop(request_id, None) if isinstance(request_id, str) else None
        self.store.read_confirmed(channel, read_seq)
        # v1.1 leaves recalled messages out of `unread`: this is a lower bound of lastSeq
        self.store.set_last_seq(channel, read_seq + int(frame["unread"]))
        if asked is not None and asked[0] == channel and read_seq < asked[1]:
            self.store.drop_wanted_read(channel, asked[1])
        self._emit({k: v for k, v in frame.items() if k != "requestId"})  # as other devices see it
        self._emit_unread(channel)

    def _on_error(self, frame: Frame) -> None:
        client_msg_no = frame.get("clientMsgNo")
        code = frame.get("code")
        request_id = frame.get("requestId")
        asked = self._read_asks.pop(request_id, None) if isinstance(request_id, str) else None
        if asked is not None and code in PERMANENT_ERRORS:
            self.store.drop_wanted_read(*asked)  # e.g. no longer a member: cannot be held
        elif asked is not None:
            due = asyncio.get_running_loop().time() + min(self.resend_timeout, self.backoff_base)
            self._read_due[asked[0]] = (asked[1], due)
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
        self._read_due.clear()
        self._spawn(self._resend_reads_now())
        self._emit({"type": "gateway_error", "frame": frame})

    async def _resend_reads_now(self) -> None:
        if self._checked:
            with contextlib.suppress(*SENT_ERRORS):
                await self._resend_reads()

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
