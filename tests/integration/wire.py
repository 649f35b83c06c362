"""Talking to the local stack on loopback: scenarios, tokens, the admin API, frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

FRAME_TIMEOUT = 5.0


def run(scenario: Callable[[aiohttp.ClientSession], Awaitable[None]], timeout: float = 30) -> None:
    """Run one async scenario with an HTTP session, failing it after `timeout` seconds."""

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.wait_for(scenario(session), timeout)

    asyncio.run(main())


async def token(session: aiohttp.ClientSession, url: str, user: str, device: str = "phone") -> str:
    async with session.post(
        f"{url}/admin/tokens", json={"user": user, "device": device, "ttlSeconds": 600}
    ) as reply:
        assert reply.status == 200, await reply.text()
        return str((await reply.json())["token"])


async def put_group(
    session: aiohttp.ClientSession, url: str, group: str, members: list[str]
) -> None:
    async with session.put(f"{url}/admin/groups/{group}", json={"members": members}) as reply:
        assert reply.status == 200, await reply.text()


async def server_unread(session: aiohttp.ClientSession, url: str, user: str) -> dict[str, int]:
    async with session.get(f"{url}/admin/users/{user}/unread") as reply:
        assert reply.status == 200, await reply.text()
        channels: dict[str, int] = (await reply.json())["channels"]
        return channels


def ws_url(url: str, jwt: str) -> str:
    return f"{url.replace('http://', 'ws://')}/?token={jwt}"


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str | None) -> dict[str, Any]:
    """The next frame of this type (skipping others, e.g. a retried message); `None` for
    the next frame without a type (one of API Gateway's own)."""
    while True:
        msg = await ws.receive(timeout=FRAME_TIMEOUT)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data.get("type") == kind:
            return data


async def closed(ws: aiohttp.ClientWebSocketResponse, timeout: float = FRAME_TIMEOUT) -> int:
    """The close code the server ends this connection with, skipping frames before it."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
