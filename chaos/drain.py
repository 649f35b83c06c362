"""The end of a run, faults off: first the devices connected when the workload ended stay
so until each holds every message of its channels or the live window has passed (the
late-delivery check judges what reached them meanwhile, before any reconnect); then every
outbox gets through, the delivery and notification queues run dry, some users read and the
server holds every read made, and every device catches up once more, until its store
holds every seq of each of its channels.

Each step waits while what it waits for moves (chaos/progress.py): it gives up when
nothing has moved for its stall timeout, or at a cap scaled to the most work it saw
pending, and then says what was left. A step that gives up leaves the run unfinished:
the checker then runs only the checks that do not need a finished drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeAlias

from botocore.exceptions import BotoCoreError, ClientError

from chaos.checker import unheld_reads
from chaos.config import ChaosConfig
from chaos.device import Device
from chaos.history import History, Read, now_ms, user_of
from chaos.network import Network
from chaos.progress import Drained, Patience, Progress, Status, Step, queue_patience
from chaos.server_state import QUEUES, ServerState, read_cursors
from chaos.truth import members_of

RESEND_SECONDS = 3.0  # a device whose work has not moved for this long reconnects (x2 each time)
FINAL_READ = 0.5  # share of users who read one of their unread channels at the end
POLL_SECONDS = 0.5
# the cap of each step: --drain-seconds, plus this per unit of the most work seen pending
SECONDS_PER = {
    "outboxes": 1.0,  # per message in an outbox
    "queues": 0.5,  # per job (besides a whole retry chain: chaos/progress.py)
    "final reads": 1.0,  # per seq a user's read cursor on the server is short of their reads
    "catch-up": 0.05,  # per seq missing from a device (sync fetches them by the page)
}
STEPS = tuple(SECONDS_PER)
READS_LISTED = 20  # unheld reads named one by one in what was pending

Measure: TypeAlias = Callable[[], Awaitable[dict[str, int]]]
Ended: TypeAlias = tuple[Status, str, list[str]]  # status, why, what was left


class Nudger:
    """Reconnects, in the background, each device whose pending work has not fallen since
    it last fell or its last reconnect ended, for RESEND_SECONDS, twice that after a
    second reconnect, and so on (a slow stack is not flooded with resends): on connect the
    SDK resends its outbox and its reads and catches every conversation up."""

    def __init__(self, devices: Iterable[Device]) -> None:
        self._devices = {device.name: device for device in devices}
        self._low: dict[str, int] = {}
        self._since: dict[str, float] = {}
        self._tasks: dict[str, asyncio.Task[bool]] = {}
        self._nudged: Counter[str] = Counter()

    def __call__(self, now: float, behind: Mapping[str, int]) -> None:
        for name, left in behind.items():
            if left <= 0:
                continue
            task = self._tasks.get(name)
            busy = task is not None and not task.done()
            if busy or left < self._low.get(name, left + 1):
                self._low[name] = min(left, self._low.get(name, left))
                self._since[name] = now
            elif now - self._since[name] >= RESEND_SECONDS * 2 ** self._nudged[name]:
                self._tasks[name] = asyncio.create_task(self._devices[name].reconnect())
                self._since[name] = now
                self._nudged[name] += 1

    async def finish(self) -> None:
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


async def wait(
    measure: Measure,
    patience: Patience,
    describe: Callable[[dict[str, int]], list[str]],
    behind: Callable[[dict[str, int]], dict[str, int]] | None = None,
    devices: Iterable[Device] = (),
) -> Ended:
    """Measure every POLL_SECONDS until the work is done, has stalled or hit its cap;
    with `behind` (pending work -> devices holding it up), nudge those devices."""
    loop = asyncio.get_running_loop()
    progress = Progress(patience, loop.time())
    nudger = Nudger(devices)
    pending: dict[str, int] = {"(not measured yet)": 1}
    try:
        while True:
            with contextlib.suppress(BotoCoreError, ClientError, OSError):
                pending = await measure()  # else: as before, nothing moved
            now = loop.time()
            if progress.observe(now, pending) != "progressing":
                break
            if behind is not None:
                nudger(now, behind(pending))
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await nudger.finish()
    left = describe(pending) if progress.status != "done" else []
    return progress.status, progress.why(now), left


async def live_window(
    devices: list[Device], network: Network, state: ServerState, history: History, seconds: float
) -> Ended:
    """Nobody reconnects: wait until every device connected now holds every message of its
    channels, or `seconds` (the live window) have passed. Either way the step is done: a
    message still missing from a connected device is no pending work but, once its window
    has passed, a late delivery (the `late_deliveries` check names it)."""
    loop = asyncio.get_running_loop()
    by_name = {device.name: device for device in devices}
    started = loop.time()
    missing: dict[str, int] = {}
    while True:
        with contextlib.suppress(BotoCoreError, ClientError, OSError):
            last = await asyncio.to_thread(state.last_seqs)
            missing.clear()
            for name in sorted(network.connected() & by_name.keys()):
                device = by_name[name]
                for channel, seq in last.items():
                    if device.user in members_of(history, channel):
                        count = device.missing(channel, seq)
                        if count:
                            missing[f"{name} {channel}"] = count
            if not missing:
                return "done", "every connected device holds every message", []
        if loop.time() - started >= seconds:
            return (
                "done",
                f"waited the live window ({seconds:.0f} s): {sum(missing.values())} messages "
                f"still missing from {len(missing)} (connected device, channel) pairs",
                [],
            )
        await asyncio.sleep(POLL_SECONDS)


async def empty_outboxes(devices: list[Device], patience: Patience) -> Ended:
    """Reconnect every device (the SDK resends its outbox), then wait until all are sent."""
    await asyncio.gather(*(device.reconnect() for device in devices))

    async def measure() -> dict[str, int]:
        return {device.name: len(device.outbox()) for device in devices}

    def describe(pending: dict[str, int]) -> list[str]:
        return [f"{name} {count} in outbox" for name, count in sorted(pending.items()) if count]

    return await wait(measure, patience, describe, lambda pending: pending, devices)


async def empty_queues(state: ServerState, patience: Patience) -> tuple[Ended, dict[str, int]]:
    """Wait until the delivery queues are empty; what was left in each."""
    jobs: dict[str, dict[str, int]] = {}

    async def measure() -> dict[str, int]:
        # The stream is looked at first: a poller caught up now has queued the jobs of every
        # message it read, so the queues read next hold them (or what they led to). Read
        # after the queues, it could have finished a batch in between, its jobs unseen.
        behind = state.streams_behind()
        jobs.update(await asyncio.to_thread(state.jobs, QUEUES))
        jobs["MessagesTable stream"] = {"pollers behind": behind}
        return {f"{queue} {kind}": n for queue, kinds in jobs.items() for kind, n in kinds.items()}

    def describe(_: dict[str, int]) -> list[str]:
        return [
            f"{queue} {sum(kinds.values())} jobs ("
            + ", ".join(f"{n} {kind}" for kind, n in kinds.items())
            + ")"
            for queue, kinds in jobs.items()
            if any(kinds.values())
        ]

    ended = await wait(measure, patience, describe)
    return ended, {queue: sum(kinds.values()) for queue, kinds in jobs.items() if queue in QUEUES}


def plan_final_reads(devices: list[Device], rng: random.Random) -> list[tuple[Device, str]]:
    """For some users, one of their devices and one of its channels with unread messages,
    a DM among them whenever a DM has unread messages."""
    by_user: dict[str, list[Device]] = defaultdict(list)
    for device in devices:
        by_user[device.user].append(device)
    plan: list[tuple[Device, str]] = []
    dm_reads: list[tuple[Device, str]] = []
    for user in sorted(by_user):
        device = rng.choice(by_user[user])
        unread = sorted(c for c in device.client.store.channels() if device.unread(c) > 0)
        dm_reads.extend((device, c) for c in unread if c.startswith("dm:"))
        if unread and rng.random() < FINAL_READ:
            plan.append((device, rng.choice(unread)))
    if dm_reads and not any(channel.startswith("dm:") for _, channel in plan):
        # A DM read with every device connected forces a receipt to the peer: the receipt
        # lines judge at least that one, whatever the faults let through before.
        forced = rng.choice(dm_reads)
        plan = [read for read in plan if read[0].user != forced[0].user] + [forced]
    return plan


async def final_reads(
    devices: list[Device],
    plan: list[tuple[Device, str]],
    state: ServerState,
    history: History,
    patience: Patience,
) -> Ended:
    """Read as planned, then wait until the server holds every read of the run (so the
    last catch-up sees them); a device whose read it does not hold reconnects (the SDK
    sends its reads again on connect)."""
    await asyncio.gather(*(device.read(channel) for device, channel in plan))
    unheld: list[Read] = []
    held: dict[tuple[str, str], int] = {}

    async def measure() -> dict[str, int]:
        held.clear()
        held.update(read_cursors(await asyncio.to_thread(state.cursors)))
        unheld[:] = unheld_reads(history.reads, held)
        gaps: dict[str, int] = {}
        for read in unheld:
            user = user_of(read.device)
            item = f"{user} {read.channel}"
            gaps[item] = max(gaps.get(item, 0), read.seq - held.get((user, read.channel), 0))
        return gaps

    def behind(_: dict[str, int]) -> dict[str, int]:
        return dict(Counter(read.device for read in unheld))

    def describe(_: dict[str, int]) -> list[str]:
        lines = [f"{len(unheld)} reads not held"]
        lines += [
            f"{r.device} read {r.channel} up to {r.seq}, the server holds "
            f"{held.get((user_of(r.device), r.channel), 0)}"
            for r in unheld[:READS_LISTED]
        ]
        return lines

    return await wait(measure, patience, describe, behind, devices)


async def catch_up(
    devices: list[Device],
    network: Network,
    state: ServerState,
    history: History,
    patience: Patience,
) -> Ended:
    """Reconnect every device, then wait until each one's connect has finished (the SDK
    has caught every conversation up) and it holds every seq up to the server's lastSeq
    of each of its channels. A seq still missing from a device whose connect finished is
    not pending work but a loss (the `lost` check names it): once caught up, nothing more
    is coming, so waiting would only turn a violation into an inconclusive run."""
    network.watch.conversations.clear()
    network.watch.total_unread.clear()
    await asyncio.gather(*(device.reconnect() for device in devices))
    last = {c: seq for c, seq in (await asyncio.to_thread(state.last_seqs)).items() if seq > 0}
    by_name = {device.name: device for device in devices}
    by_user: dict[str, list[str]] = defaultdict(list)
    for device in devices:
        by_user[device.user].append(device.name)
    todo = {
        (name, channel)
        for channel in last
        for user in members_of(history, channel)
        for name in by_user[user]
    }
    missing: dict[tuple[str, str], int] = {}

    async def measure() -> dict[str, int]:
        for name, channel in sorted(todo):
            count = by_name[name].missing(channel, last[channel])
            if count:
                missing[(name, channel)] = count
            else:
                todo.discard((name, channel))  # a store only grows
                missing.pop((name, channel), None)
        pending = {
            f"{name} {channel}": count
            for (name, channel), count in missing.items()
            if not by_name[name].caught_up
        }
        pending |= {f"{d.name} connect": 1 for d in devices if not d.caught_up}
        return pending

    def behind(_: dict[str, int]) -> dict[str, int]:
        counts = Counter({d.name: 1 for d in devices if not d.caught_up})
        for (name, _channel), count in missing.items():
            if not by_name[name].caught_up:
                counts[name] += count
        return dict(counts)

    def describe(_: dict[str, int]) -> list[str]:
        lines = [
            f"{name} behind on {channel} ({count} of {last[channel]} missing)"
            for (name, channel), count in sorted(missing.items())
        ]
        return lines + [
            f"{d.name} not caught up (its connect did not finish)"
            for d in devices
            if not d.caught_up
        ]

    return await wait(measure, patience, describe, behind, devices)


async def drain(
    devices: list[Device],
    network: Network,
    state: ServerState,
    history: History,
    *,
    rng: random.Random,
    config: ChaosConfig,
) -> Drained:
    """Bring the run to rest, step by step; each step waits while its work moves."""
    loop = asyncio.get_running_loop()
    steps: dict[str, Step] = {}

    def patience(step: str) -> Patience:
        return Patience(config.stall_seconds, config.drain_seconds, SECONDS_PER[step])

    async def timed(step: str, work: Awaitable[Ended]) -> None:
        started = loop.time()
        status, why, left = await work
        steps[step] = Step(status, loop.time() - started, why, tuple(left))

    await timed("live", live_window(devices, network, state, history, config.live_seconds))
    await timed("outboxes", empty_outboxes(devices, patience("outboxes")))
    queues_patience = queue_patience(
        stall_seconds=config.stall_seconds,
        base_seconds=config.drain_seconds,
        retry_base_seconds=config.retry_base_seconds,
        max_retries=config.max_retries,
        visibility_seconds=config.visibility_seconds,
        seconds_per_job=SECONDS_PER["queues"],
    )
    queues_left: dict[str, int] = {}

    async def queues() -> Ended:
        # A message committed moments ago (an outbox just resent) may not have its jobs
        # queued yet: they come from the messages table's stream, within its lag, the
        # bound --decide-seconds stands for (a poller's `caught_up` may date from its read
        # just before that commit).
        await asyncio.sleep(config.decide_seconds)
        ended, left = await empty_queues(state, queues_patience)
        queues_left.update(left)
        return ended

    await timed("queues", queues())
    if history.liveness is not None and steps["queues"].status == "done":
        history.liveness.notified = now_ms()  # every notification job has run
    plan = plan_final_reads(devices, rng)
    await timed("final reads", final_reads(devices, plan, state, history, patience("final reads")))
    await timed("catch-up", catch_up(devices, network, state, history, patience("catch-up")))
    return Drained(steps, queues_left)
