"""What the users do while faults are on: send (now and then mentioning others), read, go
offline and come back, and, at low rates, recall or edit one of their messages and mute
or unmute a conversation; and the network's reconnect storms."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Mapping

from chaos.device import Device
from chaos.history import Request, now_ms
from chaos.network import Network

OFFLINE_SHARE = 0.06  # of a device's actions: it goes offline for a while (and keeps acting)
READ_SHARE = 0.30  # of a device's actions: it reads a channel, one with unread if any
# of a device's actions, each: it recalls one of the user's recent messages, edits one of
# the user's messages, mutes or unmutes one of its conversations (a send when it cannot:
# offline, or nothing of the user's to act on)
RECALL_SHARE = EDIT_SHARE = MUTE_SHARE = 0.02
MENTION_SHARE = 0.05  # of the sends: they mention one or two other members
UNMUTE = 0.5  # of the mute actions of a device with a muted conversation: it unmutes one
OFFLINE_SECONDS = (0.5, 4.0)
# Each device edits, recalls and mutes at least once: from these shares of its quota of
# sends on, its next action that can be done (online, something of the user's to act on)
# is that one, again until the server grants it; and its first send mentions someone. So
# the run's counts of each are forced, not hoped for, bar FORCED_TRIES refusals or lost
# answers in a row, or a device unable to act for FORCED_GRACE_SECONDS after its sends.
FORCED_AT = {"edit": 0.25, "recall": 0.5, "mute": 0.75}
FORCED_TRIES = 5  # requests not granted
FORCED_GRACE_SECONDS = 30.0  # how long a device that sent all its messages keeps trying
RECENT = 0.5  # a recall picks among the user's messages of the last RECENT x the window...
STALE = 0.25  # ... or, this share of the time, of the last 10 windows: some are refused


def quotas(total: int, devices: list[str], rng: random.Random) -> dict[str, int]:
    """The messages each device sends: `total` split as evenly as it goes."""
    base, extra = divmod(total, len(devices))
    lucky = set(rng.sample(devices, extra))
    return {device: base + (device in lucky) for device in devices}


class Actions:
    """A device's sends and v1.1 actions, and the v1.1 actions it still owes (FORCED_AT).

    A recall, edit or mute goes on in the background, as in an app: the user does not
    wait for the answer (at worst the SDK's request timeout) to go on."""

    def __init__(
        self,
        device: Device,
        members: Mapping[str, list[str]],
        quota: int,
        recall_seconds: int,
        rng: random.Random,
    ) -> None:
        self.device = device
        self.channels = sorted(members)
        self.members = members
        self.rng = rng
        self.window_ms = recall_seconds * 1000
        self.quota = quota
        self.owed = {kind: round(share * quota) for kind, share in FORCED_AT.items()}
        self.tries = dict.fromkeys(FORCED_AT, 0)
        self.busy: set[str] = set()  # the forced actions waiting for their answer
        self._tasks: set[asyncio.Task[None]] = set()

    def owing(self) -> bool:
        """Whether a forced action is still to be granted (tried fewer than FORCED_TRIES
        times)."""
        return any(self.tries[kind] < FORCED_TRIES for kind in self.owed)

    def due(self) -> str | None:
        """The forced action the device owes now, if any."""
        for kind, at in self.owed.items():
            ready = self.device.sent >= at and kind not in self.busy
            if ready and self.tries[kind] < FORCED_TRIES:
                return kind
        return None

    async def send(self, *, mention: bool) -> None:
        channel = self.rng.choice(self.channels)
        others = [user for user in self.members[channel] if user != self.device.user]
        mentions = tuple(self.rng.sample(others, min(len(others), self.rng.randint(1, 2))))
        await self.device.send(channel, mentions if mention else ())

    def start(self, kind: str) -> bool:
        """Start a recall, an edit or a mute; False if it cannot be done now: offline, or
        nothing of the user's to do it to (a forced try once every message is sent: none
        will come)."""
        request = self._request(kind) if self.device.ready else None
        if request is None:
            if self.device.ready and kind in self.owed and self.device.sent >= self.quota:
                self.tries[kind] += 1
            return False
        if kind in self.owed:
            self.busy.add(kind)
        task = asyncio.create_task(self._answered(kind, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _answered(self, kind: str, request: Awaitable[Request]) -> None:
        done = await request
        self.busy.discard(kind)
        if kind in self.owed and done.granted:
            del self.owed[kind]
        elif kind in self.owed:
            self.tries[kind] += 1

    def _request(self, kind: str) -> Awaitable[Request] | None:
        if kind == "mute":
            muted = [c for c in self.channels if self.device.client.muted(c)]
            if muted and self.rng.random() < UNMUTE:
                return self.device.mute(self.rng.choice(muted), False)
            channel = self.rng.choice(self.channels)
            return self.device.mute(channel, not self.device.client.muted(channel))
        mine = [m for channel in self.channels for m in self.device.own(channel)]
        if kind == "recall":
            stale = kind not in self.owed and self.rng.random() < STALE
            since = now_ms() - self.window_ms * (10 if stale else RECENT)
            mine = [m for m in mine if m["ts"] >= since and not m["recalled"]]
        if not mine:
            return None
        message = self.rng.choice(mine)
        channel, seq = str(message["channel"]), int(message["seq"])
        if kind == "recall":
            return self.device.recall(channel, seq)
        return self.device.edit(channel, seq)

    async def settle(self) -> None:
        """Wait for every answer."""
        await asyncio.gather(*self._tasks)


def pick(shares: Mapping[str, float], roll: float) -> str | None:
    """The action whose share of [0, 1) `roll` falls in, the shares laid end to end from
    0; None past them."""
    for kind, share in shares.items():
        if roll < share:
            return kind
        roll -= share
    return None


async def act(
    device: Device,
    members: Mapping[str, list[str]],
    quota: int,
    duration: float,
    rng: random.Random,
    *,
    offline_share: float = OFFLINE_SHARE,
    recall_seconds: int = 120,
) -> None:
    """Act until `quota` messages are sent and the forced actions granted (each tried
    FORCED_TRIES times at most, for FORCED_GRACE_SECONDS at most once all is sent), at a
    pace that spreads the sends over `duration`; `offline_share` of the actions take the
    device offline for a while. `members`: the device's channels and their users."""
    if quota == 0:
        return
    actions = Actions(device, members, quota, recall_seconds, rng)
    shares = {"recall": RECALL_SHARE, "edit": EDIT_SHARE, "mute": MUTE_SHARE}
    send_share = 1 - offline_share - READ_SHARE - sum(shares.values())
    mean_gap = duration * send_share / quota
    loop = asyncio.get_running_loop()
    back_at: float | None = None
    grace: float | None = None  # when to give up the forced actions, once all is sent
    while device.sent < quota or (actions.owing() and loop.time() < (grace or math.inf)):
        if device.sent >= quota and grace is None:
            grace = loop.time() + FORCED_GRACE_SECONDS
        await asyncio.sleep(rng.expovariate(1 / mean_gap))
        if back_at is not None and loop.time() >= back_at:
            back_at = None
            device.go_online()
        roll = rng.random()
        kind = actions.due() or pick(shares, roll)
        if kind is not None and back_at is None and actions.start(kind):
            continue
        if device.sent >= quota:
            continue  # only forced actions are left, and that one was not answered
        roll -= sum(shares.values())  # below 0: a v1.1 action that could not be done, a send
        if 0 <= roll < offline_share:
            if back_at is None:
                await device.offline()
                back_at = loop.time() + rng.uniform(*OFFLINE_SECONDS)
        elif 0 <= roll < offline_share + READ_SHARE:
            unread = [channel for channel in actions.channels if device.unread(channel) > 0]
            await device.read(rng.choice(unread or actions.channels))
        else:
            await actions.send(mention=device.sent == 0 or rng.random() < MENTION_SHARE)
    await actions.settle()
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
