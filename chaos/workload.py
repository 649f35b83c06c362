"""What the users do while faults are on: send, read, go offline and come back; and the
network's reconnect storms."""

from __future__ import annotations

import asyncio
import random

from chaos.device import Device
from chaos.network import Network

OFFLINE_SHARE = 0.06  # of a device's actions: it goes offline for a while (and keeps acting)
READ_SHARE = 0.30  # of a device's actions: it reads a channel, one with unread if any
OFFLINE_SECONDS = (0.5, 4.0)


def quotas(total: int, devices: list[str], rng: random.Random) -> dict[str, int]:
    """The messages each device sends: `total` split as evenly as it goes."""
    base, extra = divmod(total, len(devices))
    lucky = set(rng.sample(devices, extra))
    return {device: base + (device in lucky) for device in devices}


async def act(
    device: Device,
    channels: list[str],
    quota: int,
    duration: float,
    rng: random.Random,
    *,
    offline_share: float = OFFLINE_SHARE,
) -> None:
    """Act until `quota` messages are sent, at a pace that spreads them over `duration`;
    `offline_share` of the actions take the device offline for a while."""
    if quota == 0:
        return
    send_share = 1 - offline_share - READ_SHARE
    mean_gap = duration * send_share / quota
    loop = asyncio.get_running_loop()
    back_at: float | None = None
    while device.sent < quota:
        await asyncio.sleep(rng.expovariate(1 / mean_gap))
        if back_at is not None and loop.time() >= back_at:
            back_at = None
            device.go_online()
        roll = rng.random()
        if roll < offline_share:
            if back_at is None:
                await device.offline()
                back_at = loop.time() + rng.uniform(*OFFLINE_SECONDS)
        elif roll < offline_share + READ_SHARE:
            unread = [channel for channel in channels if device.unread(channel) > 0]
            await device.read(rng.choice(unread or channels))
        else:
            await device.send(rng.choice(channels))
    if back_at is not None:
        device.go_online()


async def storms(network: Network, mean_seconds: float, rng: random.Random) -> None:
    """Every connection dies at once (the deaf listeners' aside), now and then, until
    cancelled."""
    if mean_seconds <= 0:
        return
    wait = mean_seconds / 2  # the first storm comes for sure, early in the run
    while True:
        await asyncio.sleep(wait)
        wait = rng.expovariate(1 / mean_seconds)
        if network.enabled:
            network.injected["storm"] += 1
            network.injected["storm_cut"] += await network.cut_all(spare=network.deaf)
