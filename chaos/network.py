"""The devices' network: a WebSocket proxy in front of the gateway that loses, repeats and
cuts frames, and notes what the server really sent each device before any of that.

Every device connects through it with the SDK unchanged, so the SDK's own reconnect,
resend and catch-up paths are what gets exercised.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from chaos.config import NetworkRates, derive
from chaos.cursor_watch import CursorWatch
from chaos.history import Connection, Entry, Frame, Key, device_name, now_ms, user_of


def token_device(token: str) -> str:
    """`user/device` of a JWT (read, not verified: the gateway verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return device_name(str(claims["sub"]), str(claims.get("device", "default")))
    except (IndexError, KeyError, ValueError, TypeError):
        return device_name("?", "?")  # the gateway refuses it


def _frame(text: str) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        value = json.loads(text)
        if isinstance(value, dict):
            return value
    return {}


@dataclass(eq=False)
class Link:
    """One device connection: the device's socket and the proxy's socket to the gateway."""

    device: str
    device_ws: web.WebSocketResponse
    upstream: aiohttp.ClientWebSocketResponse
    rng: random.Random
    number: int = 0  # the device's connections so far, this one included
    up: bool = True
    down_at: int | None = None  # when nothing more could reach the device

    def down(self) -> None:
        if self.up:
            self.up = False
            self.down_at = now_ms()

    async def cut(self) -> None:
        self.down()
        await self.upstream.close()
        await self.device_ws.close()


@dataclass
class Watch:
    """What crossed the network, noted on arrival from the gateway, before any fault, and
    when: each device's connections, the `message` frames the server sent it (and whether
    the network dropped them), the first sync reply that brought it each message, the
    reads that reached the server, and the read cursors it told (`cursors`)."""

    copies: dict[str, Counter[tuple[str, int]]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    conversations: dict[str, dict[str, Entry]] = field(default_factory=lambda: defaultdict(dict))
    total_unread: dict[str, int] = field(default_factory=dict)
    reads_sent: dict[tuple[str, str], int] = field(default_factory=dict)
    links: dict[str, dict[int, Connection]] = field(default_factory=lambda: defaultdict(dict))
    frames: dict[str, dict[Key, list[Frame]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    synced: dict[str, dict[Key, tuple[int, int]]] = field(default_factory=lambda: defaultdict(dict))
    reads: list[tuple[str, str, int, int]] = field(default_factory=list)
    cursors: CursorWatch = field(default_factory=CursorWatch)

    def opened(self, device: str, number: int, at: int) -> None:
        self.links[device][number] = Connection(at)

    def closed(self, device: str, number: int, at: int) -> None:
        self.links[device][number] = Connection(self.links[device][number].opened, at)

    def from_server(
        self, device: str, frame: dict[str, Any], link: int = 0, *, delivered: bool = True
    ) -> None:
        self.cursors.from_server(device, frame, delivered=delivered)
        kind = frame.get("type")
        if kind == "message":
            key = (str(frame.get("channel")), int(frame.get("seq", 0)))
            self.copies[device][key] += 1
            self.frames[device][key].append(Frame(now_ms(), link, delivered))
        elif kind == "messages" and delivered:
            channel, seen = str(frame.get("channel")), self.synced[device]
            for item in frame.get("messages", []):
                seen.setdefault((channel, int(item.get("seq", 0))), (now_ms(), link))
        elif kind == "conversations":
            for item in frame.get("conversations", []):
                self.conversations[device][str(item["channel"])] = Entry(
                    int(item["unread"]), int(item.get("mentions", 0)), item.get("muted") is True
                )
            self.total_unread[device] = int(frame.get("totalUnread", 0))

    def to_server(self, device: str, frame: dict[str, Any]) -> None:
        self.cursors.to_server(device, frame)
        if frame.get("action") == "read" and isinstance(frame.get("seq"), int):
            key = (user_of(device), str(frame.get("channel")))
            self.reads_sent[key] = max(self.reads_sent.get(key, 0), int(frame["seq"]))
            self.reads.append((*key, int(frame["seq"]), now_ms()))


class Network:
    """The proxy. Faults apply while `enabled`; `watch` is noted all along."""

    def __init__(self, rates: NetworkRates, seed: int) -> None:
        self.upstream = ""
        self.rates = rates
        self.seed = seed
        self.enabled = False
        self.deaf: frozenset[str] = frozenset()  # devices whose acks are lost, storms spare
        self.injected: Counter[str] = Counter()
        self.watch = Watch()
        self.url = ""
        self._links: set[Link] = set()
        self._opened: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self, host: str, upstream: str) -> str:
        """Listen on `host` (any free port) in front of the gateway at `upstream`."""
        self.upstream = upstream.replace("http://", "ws://").rstrip("/")
        app = web.Application()
        app.router.add_get("/", self._connect)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, 0).start()
        self.url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        await self.cut_all()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def connected(self) -> set[str]:
        """The devices with a connection up now."""
        return {link.device for link in self._links if link.up}

    async def cut_all(self, *, spare: frozenset[str] = frozenset()) -> int:
        """Every connection but those of `spare` devices dies at once (a reconnect storm
        follows); how many there were."""
        links = [link for link in self._links if link.up and link.device not in spare]
        await asyncio.gather(*(link.cut() for link in links), return_exceptions=True)
        return len(links)

    def _roll(self, link: Link, kind: str, rate: float) -> bool:
        """One opportunity for `kind`: the first one of the run fires (so every kind with
        a rate above 0 is exercised by construction), later ones by `rate`."""
        if not self.enabled or rate <= 0:
            return False
        if self.injected[kind] > 0 and link.rng.random() >= rate:
            return False
        self.injected[kind] += 1
        return True

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        device = token_device(request.query.get("token", ""))
        assert self._session is not None
        try:
            upstream = await self._session.ws_connect(f"{self.upstream}/?{request.query_string}")
        except aiohttp.WSServerHandshakeError as exc:
            return web.Response(status=exc.status)
        except (aiohttp.ClientError, OSError):
            return web.Response(status=502)
        accepted = now_ms()  # $connect is done: the server knows the connection
        device_ws = web.WebSocketResponse()
        try:
            await device_ws.prepare(request)
        except ConnectionError:  # the device gave up meanwhile: nothing to answer it
            await upstream.close()
            return web.Response(status=499)  # never sent; an unprepared socket would raise
        self._opened[device] += 1
        number = self._opened[device]
        rng = derive(self.seed, "network", device, str(number))
        link = Link(device, device_ws, upstream, rng, number)
        self.watch.opened(device, number, accepted)
        self._links.add(link)
        pumps = [
            asyncio.create_task(self._outbound(link)),
            asyncio.create_task(self._inbound(link)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            await link.cut()
        finally:
            link.down()
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._links.discard(link)
            self.watch.closed(device, number, link.down_at or now_ms())
        return device_ws

    async def _outbound(self, link: Link) -> None:
        """Device to gateway: acks and frames lost, sends repeated or cut short."""
        rates = self.rates
        async for msg in link.device_ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                return
            frame = _frame(msg.data)
            action = frame.get("action")
            if action == "ack" and self.enabled and link.device in self.deaf:
                self.injected["deaf_ack"] += 1
                continue
            if self._roll(link, "drop_ack", rates.drop_ack if action == "ack" else 0):
                continue
            if self._roll(link, "drop_out", rates.drop_out if action != "ack" else 0):
                continue
            self.watch.to_server(link.device, frame)
            await link.upstream.send_str(msg.data)
            if action != "send":
                continue
            if self._roll(link, "duplicate_out", rates.duplicate_out):
                await link.upstream.send_str(msg.data)
            if self._roll(link, "cut_send", rates.cut_send):
                link.down()  # nothing more reaches the device, its sendack included
                return

    async def _inbound(self, link: Link) -> None:
        """Gateway to device: frames lost or repeated."""
        rates = self.rates
        async for msg in link.upstream:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                return
            if not link.up or link.device_ws.closed:
                return  # it cannot reach the device any more
            dropped = self._roll(link, "drop_in", rates.drop_in)
            self.watch.from_server(
                link.device, _frame(msg.data), link.number, delivered=not dropped
            )
            if dropped:
                continue
            await link.device_ws.send_str(msg.data)
            if self._roll(link, "duplicate_in", rates.duplicate_in):
                await link.device_ws.send_str(msg.data)
