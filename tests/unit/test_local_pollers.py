"""local/pollers.py: SQS event source mappings as Lambda runs them: batches invoked at once
up to the mapping's concurrency, a batching window, delays kept, successes deleted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.pollers import POLL_SECONDS, Poller
from local.template import EventSourceMapping

WAIT = 10.0


def mapping(**settings: Any) -> EventSourceMapping:
    base: EventSourceMapping = {
        "function": "retry_worker",
        "function_id": "RetryWorkerFunction",
        "event": "Jobs",
        "queue": "RetryQueue",
        "BatchSize": 1,
        "MaximumBatchingWindowInSeconds": 0,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "Timeout": 20,
        "VisibilityTimeout": 30,
        "maxReceiveCount": None,
        "dead_letter_queue": None,
        "MaximumConcurrency": None,
    }
    return {**base, **settings}  # type: ignore[typeddict-item]


@pytest.fixture
def queue() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        yield sqs, sqs.create_queue(QueueName="jobs")["QueueUrl"]


class Function:
    """An invoke that records each batch; `gate` holds every invocation until it opens."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.invoked_at: dict[str, float] = {}

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        bodies = [json.loads(r["body"])["n"] for r in event["Records"]]
        for body in bodies:
            self.invoked_at[body] = time.monotonic()
        self.batches.append(bodies)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate.wait()
        finally:
            self.running -= 1
        return {"batchItemFailures": []}


async def until(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.01)


def send(sqs: Any, url: str, *names: str, delay: int = 0) -> None:
    for name in names:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": name}), DelaySeconds=delay)


async def polling(poller: Poller, function: Function, body: Any) -> None:
    stopping = asyncio.Event()
    task = asyncio.create_task(poller.run(stopping))
    try:
        await body()
    finally:
        function.gate.set()
        stopping.set()
        await task


def test_batches_run_at_once_up_to_the_mappings_concurrency(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    function = Function()
    function.gate.clear()
    poller = Poller(mapping(MaximumConcurrency=2), url, sqs, function)  # type: ignore[arg-type]
    send(sqs, url, "a", "b", "c")

    async def body() -> None:
        await until(lambda: function.running == 2)
        await asyncio.sleep(5 * POLL_SECONDS)  # a third batch would have started by now
        assert function.running == 2
        function.gate.set()
        await until(lambda: len(function.batches) == 3)

    asyncio.run(polling(poller, function, body))
    assert function.most_at_once == 2
    assert sorted(b for batch in function.batches for b in batch) == ["a", "b", "c"]


def test_a_batching_window_gathers_records_sent_while_it_is_open(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    function = Function()
    poller = Poller(  # type: ignore[arg-type]
        mapping(BatchSize=2, MaximumBatchingWindowInSeconds=60), url, sqs, function
    )

    async def body() -> None:
        send(sqs, url, "first")
        await asyncio.sleep(5 * POLL_SECONDS)  # the window is open, the batch not invoked
        assert function.batches == []
        send(sqs, url, "second")
        await until(lambda: function.batches)  # full: invoked before the window closes

    asyncio.run(polling(poller, function, body))
    assert function.batches == [["first", "second"]]


def test_a_delayed_job_never_runs_before_its_delay(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    function = Function()
    poller = Poller(mapping(), url, sqs, function)  # type: ignore[arg-type]

    async def body() -> None:
        sent = time.monotonic()
        send(sqs, url, "late", delay=1)
        await until(lambda: "late" in function.invoked_at)
        assert function.invoked_at["late"] - sent >= 1.0

    asyncio.run(polling(poller, function, body))


def test_what_succeeded_is_deleted(queue: tuple[Any, str]) -> None:
    sqs, url = queue
    function = Function()
    poller = Poller(mapping(BatchSize=10), url, sqs, function)  # type: ignore[arg-type]
    send(sqs, url, "a", "b")

    async def body() -> None:
        await until(lambda: poller.deleted == 2)

    asyncio.run(polling(poller, function, body))
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
