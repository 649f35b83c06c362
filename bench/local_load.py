"""The local stack (`make run`) under load, and the ceiling of its AWS endpoint.

The stack runs in this process (ServerThread, on a free port); the load runs in another
(bench.load_client), so that clients and stack do not share an interpreter: DM pairs in a
closed loop carry a fixed number of messages, and the rate of the first and the last 500
says whether the stack slows down as its tables fill. Every AWS call the stack makes
meanwhile is counted. Before and after the load, against the same in-process moto, the
send path's own calls (Courier's layer functions, no gateway, no Lambda emulation) are
timed in a loop on one thread: moto's rate per call, divided by the calls the stack made
per message, is the most messages/s moto alone would allow (the ceiling).

Then, delayed jobs are sent to the retry queue and their lateness measured: how long
after its delay each reached the retry worker.

Every delivered message is also timed from its commit (its `ts`, stamped by the send just
before its transaction, on this machine's wall clock) to its first `message` frame at the
receiving device. Last, a smaller load runs with the send function's fast post raising
right after every commit, as if the function had died there: nothing the send does after
its commit reaches the receiver, which gets each message only through the durable path
(the stream's poller, the delivery worker's probe, COURIER_RETRY_BASE_SECONDS later the
retry worker's post). A bench scenario, not a test: it times, it asserts nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import BODY, recorder
from bench.results import Ceiling, CrashLoad, LocalLoad, loadavg, percentiles
from courier import actions
from courier.delivery import live_connections
from courier.frames import dumps
from courier.ids import parse_channel
from courier.jobs import Job, SqsJobQueue
from courier.sequencer import Retention, accept_message
from courier.settings import load_settings
from courier.tables import Tables
from local.server import ServerThread
from local.stack import LocalStack

ROOT = Path(__file__).resolve().parent.parent
CEILING_CHANNEL = "dm:ceiling-a:ceiling-b"
FIRST_LAST = 500  # messages: the rate of the first and of the last this many


@contextlib.contextmanager
def _quiet_stack() -> Iterator[None]:
    """Handlers log at WARNING and their EMF lines go nowhere (they would flood the console)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull),
    ):
        patch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        yield


class FastPathDied(Exception):
    """The send function's fast post, forced to fail right after the commit."""


def _die(*_: Any, **__: Any) -> None:
    raise FastPathDied


@contextlib.contextmanager
def _send_dies_after_commit() -> Iterator[None]:
    """Every send's fast inline post raises (the send catches it and answers its sendack:
    the receiver sees what it would see had the function died there). The send's log of
    each forced failure is silenced: the handlers' loggers were made before stdout was."""
    functions = logging.getLogger("courier")
    level = functions.level
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions, "post_new_message", _die)
        functions.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            functions.setLevel(level)


def _crash_load(url: str, pairs: int, messages: int) -> CrashLoad:
    with _send_dies_after_commit():
        client = _load(url, pairs, messages)
    base = load_settings(dict(os.environ)).retry_base_seconds
    samples: list[float] = client["commit_to_frame_ms"]
    return {
        "pairs": pairs,
        "messages": client["messages"],
        "timeouts": client["timeouts"],
        "retry_base_seconds": base,
        "commit_to_frame_ms": percentiles(samples),
        "beyond_first_retry": sum(1 for ms in samples if ms > (base + 1) * 1000),
    }


def _load(url: str, pairs: int, messages: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.load_client", "--url", url]
    command += ["--pairs", str(pairs), "--messages", str(messages)]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/courier")]),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=messages + 300,  # a message a second would be very slow
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _rate(seconds: float, step: Callable[[int], None]) -> float:
    """How many times per second `step` runs, back to back, for `seconds`."""
    started, count = time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        step(count)
        count += 1
    return count / elapsed


class SendPath:
    """The send path's AWS calls made by Courier's own layer functions, straight to moto."""

    def __init__(self, stack: LocalStack) -> None:
        self.settings = load_settings(dict(os.environ))
        self.tables = Tables.from_settings(self.settings)
        self.queue = SqsJobQueue(stack.client("sqs"))
        self.channel = parse_channel(CEILING_CHANNEL)

    def accept(self, i: int) -> None:
        """GetItem of the counter, then the send's TransactWriteItems."""
        accept_message(
            self.tables,
            sender="ceiling-a",
            channel=self.channel,
            client_msg_no=f"ceiling-{time.monotonic_ns()}-{i}",
            body_json=dumps(BODY),
            retention=Retention(message_seconds=86_400, dedup_seconds=86_400),
            now_ms=lambda: time.time_ns() // 1_000_000,
        )

    def whole(self, i: int) -> None:
        """accept, the two members' connections, the retry probe."""
        self.accept(i)
        live_connections(self.tables, self.channel.dm_users or ())
        self.queue.send(self.settings.retry_queue_url, [Job({"bench": i}, delay_seconds=900)])


def _delay_lateness(server: ServerThread, delays: list[int]) -> list[float]:
    """Send one retry job per delay, each after the last ran; seconds each ran late."""
    poller = next(p for p in server.server.pollers if p.mapping["queue"] == "RetryQueue")
    stack = server.server.stack
    sqs, url = stack.client("sqs"), stack.queues["RetryQueue"]
    seen: dict[str, float] = {}
    arrived = threading.Condition()
    invoke = poller.invoke

    async def watching(function: str, event: dict[str, Any]) -> Any:
        for record in event.get("Records", []):
            with arrived:
                seen.setdefault(json.loads(record["body"]).get("lateness", ""), time.monotonic())
                arrived.notify_all()
        return await invoke(function, event)

    poller.invoke = watching  # type: ignore[assignment]
    late: list[float] = []
    try:
        for n, delay in enumerate(delays):
            marker = f"lateness-{n}"
            body = json.dumps({"lateness": marker})
            sent = time.monotonic()
            sqs.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
            with arrived:
                arrived.wait_for(lambda m=marker: m in seen, timeout=delay + 30)  # type: ignore[misc]
            late.append(seen.get(marker, float("inf")) - sent - delay)
    finally:
        poller.invoke = invoke
    return late


def run_local(
    pairs: int,
    messages: int,
    ceiling_seconds: float,
    delays: list[int],
    progress: Callable[[str], None],
    *,
    crash: tuple[int, int] = (20, 200),
) -> LocalLoad:
    """`crash`: the pairs and messages of the load whose sends die after their commit."""
    recorder.install()
    loads = [loadavg()[0]]
    progress(
        f"local: moto's ceiling, {pairs} DM pairs carry {messages:,} messages, the ceiling again"
    )
    with _quiet_stack():
        server = ServerThread()
        url = server.start()
        try:
            path = SendPath(server.server.stack)
            with recorder.recording() as one:
                path.whole(-1)
            calls_per_path = len(one.calls())
            empty = _rate(min(1.0, ceiling_seconds), path.accept)  # few rows left behind
            with recorder.recording() as trace:
                client = _load(url, pairs, messages)
            loads.append(loadavg()[0])
            top: Ceiling = {
                "accepts_per_s_empty": empty,
                "accepts_per_s": _rate(ceiling_seconds, path.accept),
                "send_paths_per_s": _rate(ceiling_seconds, path.whole),
                "calls_per_send_path": calls_per_path,
            }
            loads.append(loadavg()[0])
            progress(f"local: lateness of retry jobs delayed {delays} s")
            late = _delay_lateness(server, delays)
            progress(
                f"local: {crash[0]} DM pairs carry {crash[1]} messages, every send dying "
                "after its commit"
            )
            crashed = _crash_load(url, *crash)
        finally:
            server.stop()
    # Receives that found nothing are the pollers' idle polling: their number depends on
    # how long the run lasted, not on the messages.
    calls = [
        c for c in trace.calls() if c.operation != "ReceiveMessage" or c.response.get("Messages")
    ]
    arrived = client["arrived_s"]
    window = min(FIRST_LAST, len(arrived) // 2)
    first = window / arrived[window - 1] if window else 0.0
    last = window / (arrived[-1] - arrived[-window - 1]) if window else 0.0
    per_message = len(calls) / max(1, client["messages"])
    ceiling = top["send_paths_per_s"] * calls_per_path / per_message
    return {
        "pairs": pairs,
        "seconds": client["active_s"],
        "messages": client["messages"],
        "messages_per_s": client["messages"] / client["active_s"],
        "first_per_s": first,
        "last_per_s": last,
        "first_last_window": window,
        "ceiling_messages_per_s": ceiling,
        "latency_ms": percentiles(client["latencies_ms"]),
        "commit_to_frame_ms": percentiles(client["commit_to_frame_ms"]),
        "crash": crashed,
        "sendack_ms": percentiles(client["sendack_ms"]),
        "latencies_ms": [round(x, 2) for x in client["latencies_ms"]],
        "timeouts": client["timeouts"],
        "aws_calls_per_s": len(calls) / client["active_s"],
        "aws_calls_per_message": per_message,
        "stored_messages": client["messages"],
        "ceiling": top,
        "delay_lateness_s": list(zip(delays, late, strict=True)),
        "loadavg": loads,
    }
