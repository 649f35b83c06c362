"""Waiting on what the client SDK tells its UI."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from courier_client import CourierClient

EVENT_TIMEOUT = 5.0


async def next_event(client: CourierClient, kind: str) -> dict[str, Any]:
    """The next UI event of this type, skipping others."""
    while True:
        found = await asyncio.wait_for(client.events.get(), EVENT_TIMEOUT)
        if found.get("type") == kind:
            return found


async def events_until(client: CourierClient, kinds: set[str]) -> dict[str, dict[str, Any]]:
    """The first UI event of each of these types, in whatever order they come."""
    seen: dict[str, dict[str, Any]] = {}
    while set(seen) != kinds:
        found = await asyncio.wait_for(client.events.get(), EVENT_TIMEOUT)
        if found.get("type") in kinds:
            seen.setdefault(found["type"], found)
    return seen


def drain(client: CourierClient) -> list[dict[str, Any]]:
    """Every UI event not yet taken."""
    events = []
    while not client.events.empty():
        events.append(client.events.get_nowait())
    return events


async def until(condition: Any, timeout: float = EVENT_TIMEOUT) -> None:
    """Wait until `condition()` is true."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def online(*clients: CourierClient) -> AsyncIterator[None]:
    """Connect (and catch up) every client; close them and their stores at the end."""
    try:
        for client in clients:
            await client.connect()
        yield
    finally:
        for client in clients:
            await client.close()
            client.store.close()
