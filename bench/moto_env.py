"""The in-process Courier of the tests (tests/harness.py) set up for counting: moto, call
recording, every handler invocation metered as Lambda bills it, a clock the bench moves,
and the SQS event sources' batching."""

from __future__ import annotations

import contextlib
import functools
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pytest
from moto import mock_aws

from bench import recorder
from courier import runtime
from courier.runtime import reset_services
from local import emf
from local.handlers import Handler, load_handler
from local.template import event_source_mappings, load_template, stream_mappings
from tests import harness
from tests.harness import BASE_ENV, Conn, Courier, atomic_dynamodb, partitioned_moto

QUEUES = ("FanoutQueue", "NotifyQueue", "RetryQueue")  # the order jobs are settled in


def batched(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive slices of `size` (itertools.batched needs Python 3.12)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


@dataclass(frozen=True)
class FunctionSpec:
    memory_mb: int
    batch_size: int = 0  # its SQS event source's BatchSize (0: not a worker)
    fifo: bool = False  # that queue is FIFO
    stream: bool = False  # a DynamoDB stream is its event source


@functools.cache
def function_specs() -> dict[str, FunctionSpec]:
    """Memory and event source of every function in template.yaml, by folder name."""
    template = load_template()
    resources = template["Resources"]
    memory = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    mappings = {m["function"]: m for m in event_source_mappings(template)}
    streams = {m["function"]: m for m in stream_mappings(template)}
    specs = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        name = PurePosixPath(properties["CodeUri"]).name
        mapping = mappings.get(name)
        fifo = bool(mapping and resources[mapping["queue"]]["Properties"].get("FifoQueue"))
        stream = streams.get(name)
        specs[name] = FunctionSpec(
            memory_mb=int(properties.get("MemorySize", memory)),
            batch_size=mapping["BatchSize"] if mapping else stream["BatchSize"] if stream else 0,
            fifo=fifo,
            stream=stream is not None,
        )
    return specs


class Clock:
    """Stands in for the handlers' wall clock, so that coalescing windows can pass."""

    def __init__(self) -> None:
        self.now_ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)


def _metered(load: Callable[[str], Handler]) -> Callable[[str], Handler]:
    """Wrap each handler so that every invocation is recorded with what Lambda and API
    Gateway bill for it; what it prints is kept out of the console (its EMF metric lines,
    which the harness diverts, are counted by `_count_metric_lines`)."""

    def metered_load(name: str) -> Handler:
        handler, spec = load(name), function_specs()[name]

        def run(event: dict[str, Any], context: Any) -> Any:
            context_of = event.get("requestContext") or {}
            is_frame = context_of.get("eventType") == "MESSAGE"
            record = recorder.Invocation(
                function=name,
                memory_mb=spec.memory_mb,
                frame_bytes=len(str(event.get("body") or "").encode()) if is_frame else 0,
                http_request="http" in context_of,
                records=len(event.get("Records") or []),
                fifo=spec.fifo,
                stream=spec.stream,
            )
            output = io.StringIO()
            with recorder.invocation(record), contextlib.redirect_stdout(output):
                result = handler(event, context)
            record.log_bytes += len(output.getvalue().encode())
            if is_frame and isinstance(result, dict) and result.get("body"):
                record.reply_bytes = len(str(result["body"]).encode())
            return result

        return run

    return metered_load


@dataclass
class Bench:
    """A Courier over moto, with the helpers the operations need."""

    courier: Courier
    clock: Clock

    def connect_many(self, users: list[str], device: str = "phone") -> list[Conn]:
        """Connection rows as $connect writes them (set-up, not measured)."""
        return self.courier.connect_many(users, device, connected_at_ms=self.clock())

    def run_queue(self, queue: str) -> int:
        """Run the jobs now in a queue, in batches of its event source's BatchSize."""
        function = harness.QUEUE_WORKERS[queue]
        bodies = self.courier.take_jobs(queue)
        for batch in batched(bodies, function_specs()[function].batch_size):
            result = self.courier.run_worker(function, batch)
            assert result == {"batchItemFailures": []}, result
        return len(bodies)

    def settle(self, *queues: str) -> None:
        """Run jobs until the queues are empty (retry chains run to their end)."""
        while sum(self.run_queue(q) for q in queues or QUEUES):
            pass

    def discard_jobs(self) -> None:
        for queue in QUEUES:
            self.courier.take_jobs(queue)


def _count_metric_lines(patch: pytest.MonkeyPatch, courier: Courier) -> None:
    """The harness keeps the handlers' EMF lines out of stdout (local/emf.py); in Lambda
    they are log lines like any other, ingested and billed: count each for the invocation
    that printed it, and keep it in the harness's list as before."""

    def sink(line: str) -> None:
        courier.metric_lines.append(line)
        recorder.log(line)

    for owner, name, value in emf.replacements(sink):
        patch.setattr(owner, name, value, raising=False)


@contextlib.contextmanager
def moto_courier() -> Iterator[Bench]:
    """A fresh Courier over moto for one measurement; the process is left as it was."""
    recorder.install()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in BASE_ENV.items():
            patch.setenv(name, value)
        atomic_dynamodb(patch)
        partitioned_moto(patch)
        clock = Clock()
        patch.setattr(runtime, "wall_clock_ms", clock)
        patch.setattr(harness, "load_handler", _metered(load_handler))
        with mock_aws():
            reset_services(clients=True)
            try:
                courier = Courier(patch)
                _count_metric_lines(patch, courier)
                yield Bench(courier, clock)
            finally:
                reset_services(clients=True)
