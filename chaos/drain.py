"""The end of a run, faults off: every outbox gets through, the delivery queues run dry,
some users read, and every device catches up once more."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chaos.device import Device
from chaos.network import Network
from chaos.server_state import ServerState

RESEND_SECONDS = 3.0  # a device whose outbox is still full reconnects (the SDK resends)
FINAL_READ = 0.5  # share of users who read one of their unread channels at the end
POLL_SECONDS = 0.25


async def poll(done: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Wait until `done()` holds; False if it still does not after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await done():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


async def empty_outboxes(devices: list[Device], timeout: float) -> None:
    """Reconnect every device, then again those still holding messages, until all are sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    waiting = devices

    async def sent() -> bool:
        return not any(device.outbox() for device in waiting)

    while waiting and loop.time() < deadline:
        await asyncio.gather(*(device.reconnect() for device in waiting))
        await poll(sent, min(RESEND_SECONDS, deadline - loop.time()))
        waiting = [device for device in waiting if device.outbox()]


def plan_final_reads(devices: list[Device], rng: random.Random) -> list[tuple[Device, str]]:
    """For some users, one of their devices and one of its channels with unread messages."""
    plan: list[tuple[Device, str]] = []
    for user in sorted({d.user for d in devices}):
        device = rng.choice([d for d in devices if d.user == user])
        unread = sorted(c for c in device.client.store.channels() if device.unread(c) > 0)
        if unread and rng.random() < FINAL_READ:
            plan.append((device, rng.choice(unread)))
    return plan


async def final_reads(plan: list[tuple[Device, str]], state: ServerState, timeout: float) -> None:
    """Read, then wait until the server holds the reads, so the last catch-up sees them."""
    wanted: dict[tuple[str, ...], int] = {}
    for device, channel in plan:
        await device.read(channel)
        wanted[("read", device.user, channel)] = device.client.store.last_seq(channel)

    async def held() -> bool:
        cursors = dict(await asyncio.to_thread(state.cursors))
        return all(cursors.get(key, 0) >= seq for key, seq in wanted.items())

    await poll(held, timeout)


@dataclass
class Drained:
    queues_left: dict[str, int]  # jobs still in the delivery queues
    seconds: dict[str, float]  # each step


async def drain(
    devices: list[Device],
    network: Network,
    state: ServerState,
    rng: random.Random,
    timeout: float,
) -> Drained:
    """Bring the run to rest, step by step."""
    loop = asyncio.get_running_loop()
    laps = [loop.time()]
    await empty_outboxes(devices, timeout)
    laps.append(loop.time())
    left = await state.settle(timeout)
    laps.append(loop.time())
    await final_reads(plan_final_reads(devices, rng), state, timeout)
    laps.append(loop.time())
    network.watch.conversations.clear()
    await asyncio.gather(*(device.reconnect() for device in devices))
    laps.append(loop.time())
    steps = ("outboxes", "queues", "final reads", "catch-up")
    return Drained(left, {step: laps[i + 1] - laps[i] for i, step in enumerate(steps)})
