"""The local stream poller behaves as Lambda's DynamoDB stream event source mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from local import stream_poller
from local.stream_poller import StreamPoller, matches
from local.template import StreamMapping, load_template, stream_mappings

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"


def record(seq: int, event: str = "INSERT") -> dict[str, Any]:
    return {
        "eventID": str(seq),
        "eventName": event,
        "dynamodb": {"SequenceNumber": str(seq), "Keys": {}, "NewImage": {}},
    }


class FakeStreams:
    """A stream whose records are handed out once, then nothing."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "s"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        found, self.records = self.records[:Limit], self.records[Limit:]
        return {"NextShardIterator": "it", "Records": found}


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append(json.loads(MessageBody))


def mapping(**changes: Any) -> StreamMapping:
    [found] = stream_mappings(load_template())
    return {**found, **changes}  # type: ignore[typeddict-item]


def run_poller(
    records: list[dict[str, Any]], invoke: Any, **changes: Any
) -> tuple[StreamPoller, FakeQueue]:
    queue = FakeQueue()
    poller = StreamPoller(
        mapping(**changes), ARN, FakeStreams(records), invoke, sqs=queue, on_failure_url="dlq"
    )

    async def go() -> None:
        stopping = asyncio.Event()
        task = asyncio.create_task(poller.run(stopping))
        while not poller.caught_up:
            await asyncio.sleep(0.01)
        stopping.set()
        await task

    asyncio.run(go())
    return poller, queue


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_poller, "RETRY_BACKOFF_SECONDS", 0.0)


def seqs(event: Mapping[str, Any]) -> list[int]:
    return [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]


def test_the_template_mapping_reads_inserts_with_bisect_retries_and_a_destination() -> None:
    found = mapping()
    assert found["function"] == "delivery_worker" and found["table"] == "MessagesTable"
    assert found["filters"] == [{"eventName": ["INSERT"]}]
    assert found["BisectBatchOnFunctionError"] is True
    assert found["MaximumRetryAttempts"] >= 1
    assert found["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert found["on_failure"] == "DeliveryDeadLetterQueue"


def test_filtered_out_records_never_reach_the_function() -> None:
    assert matches(record(1), [{"eventName": ["INSERT"]}])
    assert not matches(record(2, "MODIFY"), [{"eventName": ["INSERT"]}])
    batches: list[list[int]] = []

    async def invoke(function: str, event: dict[str, Any]) -> Any:
        batches.append(seqs(event))
        return {"batchItemFailures": []}

    run_poller([record(1), record(2, "REMOVE"), record(3)], invoke, BatchSize=10)
    assert batches == [[1, 3]]


def test_batches_go_in_stream_order_at_most_batch_size() -> None:
    batches: list[list[int]] = []

    async def invoke(function: str, event: dict[str, Any]) -> Any:
        batches.append(seqs(event))
        return {"batchItemFailures": []}

    run_poller([record(n) for n in range(1, 6)], invoke, BatchSize=2)
    assert batches == [[1, 2], [3, 4], [5]]


def test_a_reported_failure_retries_the_batch_from_that_record() -> None:
    batches: list[list[int]] = []

    async def invoke(function: str, event: dict[str, Any]) -> Any:
        batches.append(seqs(event))
        if len(batches) == 1:
            return {"batchItemFailures": [{"itemIdentifier": "3"}]}
        return {"batchItemFailures": []}

    poller, queue = run_poller([record(n) for n in range(1, 5)], invoke, BatchSize=10)
    assert batches == [[1, 2, 3, 4], [3, 4]]
    assert queue.sent == [] and poller.processed == 4


def test_an_invocation_that_raises_is_bisected_until_the_bad_record_stands_alone() -> None:
    batches: list[list[int]] = []

    async def invoke(function: str, event: dict[str, Any]) -> Any:
        batches.append(seqs(event))
        if 3 in seqs(event):
            raise RuntimeError("poison")
        return {"batchItemFailures": []}

    poller, queue = run_poller(
        [record(n) for n in range(1, 5)], invoke, BatchSize=10, MaximumRetryAttempts=2
    )
    assert batches[:3] == [[1, 2, 3, 4], [1, 2], [3, 4]]
    assert [3] in batches and [4] in batches  # [3, 4] split again; 4 went through
    assert batches.count([3]) == 1 + 2  # the poison record: tried, then retried twice
    [given_up] = queue.sent  # then described to the on-failure destination
    info = given_up["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == ("3", "3")
    assert poller.given_up == 1 and poller.processed == 4


class LateStreams(FakeStreams):
    """A stream that is empty at first read, then holds the records."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__([])
        self.late = records
        self.reads = 0

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.reads += 1
        if self.reads == 2:
            self.records = self.late
        return super().get_records(ShardIterator, Limit)


def test_a_poller_is_never_caught_up_while_a_batch_is_with_its_function() -> None:
    """The chaos drain trusts `caught_up` to mean every record read has queued its jobs: a
    poller caught up once (an empty read) must not still say so while the records of its
    next read are with the function."""
    seen: list[bool] = []
    pollers: list[StreamPoller] = []

    async def invoke(function: str, event: Mapping[str, Any]) -> dict[str, Any]:
        seen.append(pollers[0].caught_up)
        return {"batchItemFailures": []}

    poller = StreamPoller(
        mapping(MaximumBatchingWindowInSeconds=0),
        ARN,
        LateStreams([record(1)]),
        invoke,
        sqs=FakeQueue(),
        on_failure_url="dlq",
    )
    pollers.append(poller)

    async def go() -> None:
        stopping = asyncio.Event()
        task = asyncio.create_task(poller.run(stopping))
        while not seen or not poller.caught_up:
            await asyncio.sleep(0.01)
        stopping.set()
        await task

    asyncio.run(go())
    assert seen == [False]
