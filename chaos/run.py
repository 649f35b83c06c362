"""One chaos run: the local stack in this process, the faulty network in front of it,
the devices, the workload with faults on, the drain with faults off, and the check."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import aiohttp

from chaos import pushes, workload
from chaos.checker import check
from chaos.config import OFFLINE_MARGIN_SECONDS, ChaosConfig, derive
from chaos.device import Device
from chaos.drain import drain
from chaos.history import History, Liveness, device_name, now_ms
from chaos.network import Network
from chaos.outcome import Outcome
from chaos.population import Population, populate
from chaos.server_state import DEAD_LETTERS, ServerState, read_cursors
from local import faults
from local.server import LocalServer
from local.stack import HOST

SAMPLE_SECONDS = 1.0
TOKEN_TTL_SECONDS = 3600
ADMIN_CALLS_AT_ONCE = 16  # set-up calls (groups, tokens) in flight together


@contextlib.contextmanager
def stack_environment(config: ChaosConfig) -> Iterator[None]:
    """The stack's retry and fan-out settings; quiet functions unless --verbose."""
    wanted = {
        "COURIER_RETRY_BASE_SECONDS": str(config.retry_base_seconds),
        "COURIER_MAX_RETRIES": str(config.max_retries),
        "COURIER_FANOUT_INLINE_LIMIT": str(config.fanout_inline_limit),
        "COURIER_NOTIFY_COALESCE_SECONDS": str(config.notify_coalesce_seconds),
        "COURIER_RECALL_SECONDS": str(config.recall_seconds),
        "POWERTOOLS_LOG_LEVEL": "WARNING" if config.verbose else "CRITICAL",
    }
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        with contextlib.ExitStack() as quiet:
            if not config.verbose:  # the functions print their metrics (EMF) on stdout
                sink = quiet.enter_context(open(os.devnull, "w"))
                quiet.enter_context(contextlib.redirect_stdout(sink))
                quiet.enter_context(warnings.catch_warnings())
                warnings.filterwarnings("ignore", "No application metrics to publish")
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ConnectionDropper:
    """Closes a gateway connection from any thread: an injected 410 then tells the truth.
    The deaf listeners' connections are spared, as reconnect storms spare them: each
    message to them must be retried by a chain no dropped connection cuts short."""

    def __init__(
        self, server: LocalServer, loop: asyncio.AbstractEventLoop, deaf: frozenset[str]
    ) -> None:
        self._server = server
        self._loop = loop
        self._deaf = deaf
        self._tasks: set[asyncio.Task[Any]] = set()

    def serve(self, plan: faults.ServerFaults) -> None:
        """Close the connections `plan` answers 410 for, and spare the deaf listeners'."""
        plan.drop_connection, plan.spared = self, self.spared

    def __call__(self, connection_id: str) -> None:
        self._loop.call_soon_threadsafe(self._close, connection_id)

    def spared(self, connection_id: str) -> bool:
        """Whether the connection is a deaf listener's (read from any thread)."""
        gateway = self._server.gateway
        connection = gateway.connections.get(connection_id) if gateway is not None else None
        if connection is None:
            return False
        who = connection.client.authorizer
        return device_name(str(who.get("userId")), str(who.get("deviceId"))) in self._deaf

    def _close(self, connection_id: str) -> None:
        gateway = self._server.gateway
        connection = gateway.connections.get(connection_id) if gateway is not None else None
        if connection is not None:
            task = self._loop.create_task(connection.ws.close())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _admin(session: aiohttp.ClientSession, method: str, url: str, body: Any) -> Any:
    async with session.request(method, url, json=body) as reply:
        if reply.status != 200:
            raise RuntimeError(f"{method} {url}: {reply.status} {await reply.text()}")
        return await reply.json()


async def _devices(
    server_url: str, network_url: str, population: Population, history: History
) -> list[Device]:
    """Create the groups, then a device (a token, an SDK client) per user device; the
    calls of each kind go out together, a few at a time."""
    slots = asyncio.Semaphore(ADMIN_CALLS_AT_ONCE)
    async with aiohttp.ClientSession() as session:

        async def admin(method: str, path: str, body: Any) -> Any:
            async with slots:
                return await _admin(session, method, f"{server_url}{path}", body)

        await asyncio.gather(
            *(
                admin("PUT", f"/admin/groups/{name}", {"members": members})
                for name, members in population.groups.items()
            )
        )
        names = [name for names in population.devices.values() for name in names]
        tokens = await asyncio.gather(
            *(
                admin(
                    "POST",
                    "/admin/tokens",
                    {"user": user, "device": device, "ttlSeconds": TOKEN_TTL_SECONDS},
                )
                for user, device in (name.split("/", 1) for name in names)
            )
        )
    return [
        Device(name, network_url, str(token["token"]), history)
        for name, token in zip(names, tokens, strict=True)
    ]


async def _sample(state: ServerState, history: History) -> None:
    """The server's cursors, every SAMPLE_SECONDS, until cancelled."""
    observed = history.cursors.setdefault("server", [])
    while True:
        observed.extend(await asyncio.to_thread(state.cursors))
        await asyncio.sleep(SAMPLE_SECONDS)


async def _with_faults(
    config: ChaosConfig,
    population: Population,
    devices: list[Device],
    network: Network,
    plan: faults.ServerFaults,
) -> None:
    """The workload, faults on: every device spends its quota of messages; the deaf
    listeners only listen."""
    seed = config.seed
    members = population.members()
    actors = [device for device in devices if device.name not in population.deaf]
    quotas = workload.quotas(config.messages, [d.name for d in actors], derive(seed, "quotas"))
    plan.enabled = network.enabled = True
    storms = asyncio.create_task(
        workload.storms(network, config.network.storm_seconds, derive(seed, "storms"))
    )
    try:
        await asyncio.gather(
            *(
                workload.act(
                    device,
                    {c: members[c] for c in population.channels_of(device.user)},
                    quotas[device.name],
                    config.duration,
                    derive(seed, "device", device.name),
                    offline_share=config.offline_share,
                    recall_seconds=config.recall_seconds,
                )
                for device in actors
            )
        )
    finally:
        plan.enabled = network.enabled = False
        storms.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await storms


async def _collect(
    history: History, devices: list[Device], network: Network, state: ServerState
) -> None:
    """After the drain: what every device holds, then what the server holds. The devices
    go offline first, so every message a device holds or got a sendack for was committed
    before the server's state is read (what makes the checks that do not need a finished
    drain sound on an unfinished one)."""
    await asyncio.gather(*(device.offline() for device in devices))
    watch = network.watch
    channels: dict[str, list[str]] = defaultdict(list)  # user -> the channels they are in
    for channel, users in history.members.items():
        for user in users:
            channels[user].append(channel)
    for device in devices:
        device.flush_events()
        history.stores[device.name] = device.stored()
        mine = channels[device.user]
        history.device_unread[device.name] = {c: device.unread(c) for c in mine}
        history.device_mentions[device.name] = {c: device.client.mentions(c) for c in mine}
        history.device_muted[device.name] = {c: device.client.muted(c) for c in mine}
        history.device_total[device.name] = device.client.total_unread()
        history.server_entries[device.name] = dict(watch.conversations.get(device.name, {}))
        if device.name in watch.total_unread:
            history.server_total[device.name] = watch.total_unread[device.name]
        history.outbox_left[device.name] = device.outbox()
        history.copies[device.name] = watch.copies.get(device.name, Counter())
    history.reads_sent = dict(watch.reads_sent)
    history.receipts = list(watch.cursors.receipts)
    history.cursors_seen = list(watch.cursors.seen)
    history.read_replies = list(watch.cursors.replies)
    history.read_frames = list(watch.cursors.reads)
    live = history.liveness
    if live is not None:
        live.links = {device: dict(links) for device, links in watch.links.items()}
        live.frames = {device: dict(frames) for device, frames in watch.frames.items()}
        live.synced = {device: dict(seen) for device, seen in watch.synced.items()}
        live.reads = list(watch.reads)
        live.ended = now_ms()
    history.last_seq, history.server_messages = await asyncio.to_thread(state.snapshot)
    history.server_recalled = await asyncio.to_thread(state.recalled)
    history.server_muted = await asyncio.to_thread(state.muted)
    cursors = await asyncio.to_thread(state.cursors)
    history.cursors.setdefault("server", []).extend(cursors)
    history.server_reads = read_cursors(cursors)


def _history(config: ChaosConfig, population: Population) -> History:
    """An empty history, its liveness windows set from the run's settings."""
    history = History(config.max_retries, population.members(), population.devices)
    history.recall_seconds = config.recall_seconds
    history.liveness = Liveness(
        live_ms=config.live_seconds * 1000,
        decide_ms=round(config.decide_seconds * 1000),
        offline_margin_ms=round(OFFLINE_MARGIN_SECONDS * 1000),
        fanout_ms={
            channel: config.visibility_seconds * 1000
            for channel, members in population.members().items()
            if len(members) > config.fanout_inline_limit
        },
        pushes=[],
    )
    return history


async def run(config: ChaosConfig) -> Outcome:
    random.seed(config.seed)  # the SDK's backoff and the layer's jitter, as far as they go
    population = populate(
        config.users,
        config.groups,
        derive(config.seed, "population"),
        deaf=config.deaf,
        absent=config.absent,
    )
    history = _history(config, population)
    plan = faults.ServerFaults(
        config.server, derive(config.seed, "server"), visibility_seconds=config.visibility_seconds
    )
    plan.enabled = False
    network = Network(config.network, config.seed)
    network.deaf = frozenset(population.deaf)
    server = LocalServer(port=0)
    devices: list[Device] = []
    laps = [time.monotonic()]
    with stack_environment(config), contextlib.ExitStack() as cleanup:
        faults.install(plan)  # before the stack starts: the handlers' clients copy its hooks
        try:
            await server.start()
            ConnectionDropper(server, asyncio.get_running_loop(), network.deaf).serve(plan)
            await network.start(HOST, server.url)
            stack = server.stack
            cleanup.enter_context(pushes.recorded(history.liveness, stack.topics.values()))
            state = ServerState(stack.environment, stack.queues, server.stream_pollers)
            devices = await _devices(server.url, network.url, population, history)
            await asyncio.gather(*(device.start() for device in devices))
            laps.append(time.monotonic())
            sampler = asyncio.create_task(_sample(state, history))
            try:
                await _with_faults(config, population, devices, network, plan)
                laps.append(time.monotonic())
                rng = derive(config.seed, "drain")
                drained = await drain(devices, network, state, history, rng=rng, config=config)
                laps.append(time.monotonic())
            finally:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            await _collect(history, devices, network, state)
            dead = await asyncio.to_thread(state.depth, DEAD_LETTERS)
            laps.append(time.monotonic())
        finally:
            await asyncio.gather(*(device.stop() for device in devices), return_exceptions=True)
            await network.stop()
            await server.stop()
            faults.uninstall()
    laps.append(time.monotonic())
    verdict = check(history, drained.pending)
    laps.append(time.monotonic())
    phases = ("setup", "workload", "drain", "collect", "stop", "check")
    seconds = {name: laps[i + 1] - laps[i] for i, name in enumerate(phases)}
    seconds |= {f"drain: {step}": value for step, value in drained.seconds.items()}
    seconds["total"] = time.monotonic() - laps[0]
    return Outcome(
        config=config,
        population=population,
        history=history,
        verdict=verdict,
        drained=drained,
        network_faults=network.injected,
        server_faults=plan.injected,
        server_fault_places=plan.where,
        dead_letters=dead,
        seconds=seconds,
    )
