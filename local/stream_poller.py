"""A DynamoDB stream event source mapping, emulated: read the table's stream, invoke the
function with each batch in order, retry, bisect, give up to the on-failure destination.

As Lambda does for a stream (one shard here, ParallelizationFactor 1):
- records that do not match the mapping's filter are passed over (they count as processed);
- batches go one at a time, in stream order, up to BatchSize, after the batching window;
- with ReportBatchItemFailures, a result naming failed records retries the batch from
  the first of them (the records before it are done); an invocation that raises fails
  the whole batch, which BisectBatchOnFunctionError splits in two, each half on its own;
- after MaximumRetryAttempts retries, or once its oldest record is older than
  MaximumRecordAgeInSeconds, a batch is given up: a description of it (shard, first and
  last sequence numbers, not the records) goes to the on-failure destination queue.

moto facts relied on (moto 5.2): a table created with StreamSpecification keeps one
shard whose records carry eventID, eventName (INSERT, MODIFY, REMOVE), eventSource,
eventVersion, awsRegion and dynamodb {Keys, NewImage for NEW_IMAGE, SequenceNumber,
SizeBytes, StreamViewType, ApproximateCreationDateTime}; a transaction that fails writes
no record (its rollback drops them, with moto's copy or local/moto_patches.py's); records
are never trimmed; GetRecords returns at most `Limit` records from the iterator's sequence
number and a new iterator; every iterator is kept by moto (see ForgetUsedShardIterators).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from local.events import dynamodb_stream_event
from local.invoker import Invoker
from local.template import StreamMapping

log = logging.getLogger("courier.local")

POLL_SECONDS = 0.1  # an idle stream is read again after this (Lambda: about 4 times a second)
READ_LIMIT = 1000  # records per GetRecords
RETRY_BACKOFF_SECONDS = 0.2  # before a failed batch is tried again (doubling, at most 2 s)


def matches(record: Mapping[str, Any], patterns: list[dict[str, Any]]) -> bool:
    """Lambda's event filtering for the patterns Courier uses: top-level keys whose value
    must be one of a list (`{"eventName": ["INSERT"]}`); no pattern passes everything."""
    if not patterns:
        return True
    return any(
        all(record.get(key) in allowed for key, allowed in pattern.items()) for pattern in patterns
    )


def first_failed(mapping: StreamMapping, result: Any, batch: list[Mapping[str, Any]]) -> int:
    """The index in `batch` from which a successful invocation asks for a retry; len(batch)
    when it reports no failure."""
    if "ReportBatchItemFailures" not in mapping["FunctionResponseTypes"]:
        return len(batch)
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return len(batch)
    sequence = [str(r["dynamodb"]["SequenceNumber"]) for r in batch]
    named = [f.get("itemIdentifier") for f in failures if isinstance(f, dict)]
    indexes = [sequence.index(i) for i in named if i in sequence]
    if len(indexes) != len(failures):
        return 0  # an unreadable response fails the whole batch, as Lambda does
    return min(indexes)


class StreamPoller:
    def __init__(
        self,
        mapping: StreamMapping,
        stream_arn: str,
        streams: Any,
        invoke: Invoker,
        *,
        sqs: Any = None,
        on_failure_url: str | None = None,
    ) -> None:
        self.mapping = mapping
        self.stream_arn = stream_arn
        self.streams = streams
        self.invoke = invoke
        self.sqs = sqs
        self.on_failure_url = on_failure_url
        self.processed = 0  # records handed to the function and done with (given up included)
        self.given_up = 0
        # True only between a read that found nothing new, with no batch waiting, and the
        # next read: never while a read is in flight or a batch is with the function.
        self.caught_up = False

    def _iterator(self) -> str:
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"][
            "Shards"
        ][0]["ShardId"]
        reply = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard,
            ShardIteratorType=self.mapping["StartingPosition"],
        )
        return str(reply["ShardIterator"])

    async def run(self, stopping: asyncio.Event) -> None:
        iterator = await asyncio.to_thread(self._iterator)
        pending: list[Mapping[str, Any]] = []
        window_ends = 0.0
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            self.caught_up = False  # till this read comes back empty, with no batch waiting
            try:
                reply = await asyncio.to_thread(
                    self.streams.get_records, ShardIterator=iterator, Limit=READ_LIMIT
                )
            except Exception:
                log.exception("reading the stream of %s failed", self.mapping["table"])
                await asyncio.sleep(POLL_SECONDS)
                continue  # a failed read tells nothing: not caught up
            iterator = reply["NextShardIterator"]
            fresh = [r for r in reply["Records"] if matches(r, self.mapping["filters"])]
            if fresh and not pending:
                window_ends = loop.time() + self.mapping["MaximumBatchingWindowInSeconds"]
            pending += fresh
            while pending and (
                len(pending) >= self.mapping["BatchSize"] or loop.time() >= window_ends
            ):
                batch = pending[: self.mapping["BatchSize"]]
                await self.settle(batch)
                pending = pending[len(batch) :]
                window_ends = loop.time() + self.mapping["MaximumBatchingWindowInSeconds"]
            self.caught_up = not reply["Records"] and not pending
            if not reply["Records"]:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), POLL_SECONDS)

    async def settle(self, batch: list[Mapping[str, Any]]) -> None:
        """Carry one batch through: done, retried, bisected, or given up."""
        retries = 0
        while batch:
            try:
                result = await self.invoke(
                    self.mapping["function"], dynamodb_stream_event(batch, self.stream_arn)
                )
            except Exception:
                if self.mapping["BisectBatchOnFunctionError"] and len(batch) > 1:
                    half = len(batch) // 2  # splitting does not count as a retry
                    await self.settle(batch[:half])
                    await self.settle(batch[half:])
                    return
                done = 0
            else:
                done = first_failed(self.mapping, result, batch)
            self.processed += done
            batch = batch[done:]
            if not batch:
                return
            retries += 1
            if self._exhausted(batch, retries):
                await self.give_up(batch)
                return
            await asyncio.sleep(min(RETRY_BACKOFF_SECONDS * 2 ** (retries - 1), 2.0))

    def _exhausted(self, batch: list[Mapping[str, Any]], retries: int) -> bool:
        limit = self.mapping["MaximumRetryAttempts"]
        if limit >= 0 and retries > limit:
            return True
        max_age = self.mapping["MaximumRecordAgeInSeconds"]
        created = batch[0]["dynamodb"].get("ApproximateCreationDateTime")
        if max_age < 0 or not hasattr(created, "timestamp"):
            return False
        age: float = time.time() - created.timestamp()
        return age > max_age

    async def give_up(self, batch: list[Mapping[str, Any]]) -> None:
        """Lambda's on-failure record: what was lost, not the records themselves."""
        self.processed += len(batch)
        self.given_up += len(batch)
        log.warning("%s gave up on %d stream records", self.mapping["function"], len(batch))
        if self.sqs is None or self.on_failure_url is None:
            return
        info = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "functionArn": self.mapping["function_id"],
            },
            "DDBStreamBatchInfo": {
                "streamArn": self.stream_arn,
                "startSequenceNumber": str(batch[0]["dynamodb"]["SequenceNumber"]),
                "endSequenceNumber": str(batch[-1]["dynamodb"]["SequenceNumber"]),
                "batchSize": len(batch),
            },
        }
        await asyncio.to_thread(
            self.sqs.send_message, QueueUrl=self.on_failure_url, MessageBody=json.dumps(info)
        )
