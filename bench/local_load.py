"""The local stack (`make run`) under load, and the ceiling of its AWS endpoint.

The stack runs in this process (ServerThread, on a free port); the load runs in another
(bench.load_client), so that clients and stack do not share an interpreter. Every AWS call
the stack makes to moto meanwhile is counted. Before and after the load, against the same
moto server, the send path's own calls (Courier's layer functions, no gateway, no Lambda
emulation) are timed in a loop on one thread, as the stack's invoker runs one handler at a
time: that is the rate moto alone allows, on empty tables and on the load's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import BODY, recorder
from bench.results import Ceiling, LocalLoad, loadavg, percentiles
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


def _load(url: str, pairs: int, seconds: float, warmup: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.load_client", "--url", url]
    command += ["--pairs", str(pairs), "--seconds", str(seconds), "--warmup", str(warmup)]
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
        timeout=seconds + warmup + 300,
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
        self.tables = Tables.from_settings(stack.client("dynamodb"), self.settings)
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


def run_local(
    pairs: int,
    seconds: float,
    warmup: float,
    ceiling_seconds: float,
    progress: Callable[[str], None],
) -> LocalLoad:
    recorder.install()
    loads = [loadavg()[0]]
    progress(
        f"local: moto's ceiling, {pairs} DM pairs for {warmup:g} + {seconds:g} s, the ceiling again"
    )
    with _quiet_stack():
        server = ServerThread()
        url = server.start()
        try:
            path = SendPath(server.server.stack)
            empty = _rate(min(1.0, ceiling_seconds), path.accept)  # few rows left behind
            with recorder.recording() as trace:
                client = _load(url, pairs, seconds, warmup)
            loads.append(loadavg()[0])
            top: Ceiling = {
                "accepts_per_s_empty": empty,
                "accepts_per_s": _rate(ceiling_seconds, path.accept),
                "send_paths_per_s": _rate(ceiling_seconds, path.whole),
            }
            loads.append(loadavg()[0])
        finally:
            server.stop()
    calls = trace.calls()
    waited = {"moto": 0.0, "posts": 0.0}
    for call in calls:
        if call.service == "apigatewaymanagementapi":
            waited["posts"] += call.seconds
        elif call.operation != "ReceiveMessage":  # long polls wait by design
            waited["moto"] += call.seconds
    return {
        "pairs": pairs,
        "seconds": client["window_s"],
        "messages": len(client["latencies_ms"]),
        "messages_per_s": len(client["latencies_ms"]) / client["window_s"],
        "latency_ms": percentiles(client["latencies_ms"]),
        "sendack_ms": percentiles(client["sendack_ms"]),
        "latencies_ms": [round(x, 2) for x in client["latencies_ms"]],
        "timeouts": client["timeouts"],
        "aws_calls_per_s": len(calls) / client["active_s"],
        "aws_calls_per_message": len(calls) / max(1, client["messages"]),
        "moto_share": waited["moto"] / client["active_s"],
        "posts_share": waited["posts"] / client["active_s"],
        "stored_messages": client["messages"],
        "ceiling": top,
        "loadavg": loads,
    }
