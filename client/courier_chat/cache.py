"""The SDK store is a cache of one server's state; check that it still is.

The local stack keeps everything in memory, so restarting `make run` forgets every
message while a store file keeps them, and the new server's seq 1, 2, ... would collide
with the old ones (the store keeps one message per (channel, seq)). One stored message,
the witness, settles it: its messageId is random, so a server holds that exact message at
that seq only if it is the server that stored it. The session asks before it connects
(witness: the newest message) and after each reconnect (the newest one before the
connection dropped, since the catch-up may already have stored the new server's).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from courier_client import Store

PROBE_TIMEOUT = 10.0
PROBE_ID = "courier-chat-cache-check"


def newest_message(store: Store) -> dict[str, Any] | None:
    """The stored message with the highest ts (any channel), or None for an empty store."""
    newest: dict[str, Any] | None = None
    for channel in store.channels():
        messages = store.messages(channel)
        if messages and (newest is None or messages[-1]["ts"] > newest["ts"]):
            newest = messages[-1]
    return newest


def matches(reply: dict[str, Any], message: dict[str, Any]) -> bool | None:
    """Whether a `sync` reply for the message's seq shows that same message (None: no idea)."""
    if reply.get("type") == "messages":
        return any(
            item.get("seq") == message["seq"] and item.get("messageId") == message["messageId"]
            for item in reply.get("messages", [])
        )
    if reply.get("type") == "error" and reply.get("code") == "forbidden":
        return False  # the group no longer exists (or we left it): not our server's state
    return None


async def _ask(ws_url: str, message: dict[str, Any]) -> dict[str, Any]:
    frame = {
        "action": "sync",
        "channel": message["channel"],
        "afterSeq": message["seq"] - 1,
        "limit": 1,
        "requestId": PROBE_ID,
    }
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        await ws.send_json(frame)
        async for incoming in ws:
            if incoming.type is aiohttp.WSMsgType.TEXT:
                reply = incoming.json()
                if isinstance(reply, dict) and reply.get("requestId") == PROBE_ID:
                    return reply
    raise ConnectionError("closed before the reply")


async def is_stale(ws_url: str, witness: dict[str, Any] | None) -> bool:
    """True when the server does not hold `witness`, a stored message: the store is another
    server's. False when it does, when there is no witness, and when it cannot be asked.
    """
    if witness is None:
        return False
    try:
        reply = await asyncio.wait_for(_ask(ws_url, witness), PROBE_TIMEOUT)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return False
    return matches(reply, witness) is False
