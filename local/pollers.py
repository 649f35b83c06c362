"""SQS event source mappings, emulated: poll a queue, invoke its function with each batch,
delete what succeeded.

As Lambda does: a record listed in the result's `batchItemFailures` (with
ReportBatchItemFailures), or every record of a batch whose invocation raised, stays
in the queue; it comes back after the visibility timeout, and SQS (moto) moves it to
the DLQ after `maxReceiveCount` receives. Batches are invoked as soon as they are there,
up to the mapping's concurrency at once; with a batching window, a batch that is not
full waits for more records until the window closes. A FIFO queue keeps its order:
moto does not hand out a message group's records while an earlier batch of the group
is in flight.

moto's long polling only notices a delayed message becoming visible once a second, so
the poller makes short receives instead, every `POLL_SECONDS` while the queue is empty:
a job runs at most that late after its delay (it costs a cheap in-process call).

Under the chaos harness's fault plan (local/faults.py) a batch of a standard queue may
be delivered twice, as its at-least-once delivery allows, and a failed batch comes back
sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from local import faults
from local.events import sqs_event
from local.invoker import Invoker
from local.template import EventSourceMapping

log = logging.getLogger("courier.local")

POLL_SECONDS = 0.1  # an empty queue is asked again after this
SQS_RECEIVE_LIMIT = 10
DEFAULT_CONCURRENCY = 10  # batches in flight when the template caps none (Lambda scales on)


def failed_ids(mapping: EventSourceMapping, result: Any, ids: set[str]) -> set[str]:
    """The message ids to leave in the queue, from a successful invocation's result."""
    if "ReportBatchItemFailures" not in mapping["FunctionResponseTypes"]:
        return set()
    if result is None or (isinstance(result, dict) and not result.get("batchItemFailures")):
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not isinstance(failures, list):
        return set(ids)  # an unreadable response fails the whole batch, as Lambda does
    found = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if not all(isinstance(i, str) and i in ids for i in found) or len(found) != len(failures):
        return set(ids)
    return {str(i) for i in found}


class Poller:
    def __init__(
        self, mapping: EventSourceMapping, queue_url: str, sqs: Any, invoke: Invoker
    ) -> None:
        self.mapping = mapping
        self.queue_url = queue_url
        self.sqs = sqs
        self.invoke = invoke
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn: str = attributes["Attributes"]["QueueArn"]
        self.fifo = self.queue_arn.endswith(".fifo")  # processed once, redelivered on failure only
        self.concurrency = mapping.get("MaximumConcurrency") or DEFAULT_CONCURRENCY
        self.received = 0
        self.deleted = 0

    async def run(self, stopping: asyncio.Event) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        batches: set[asyncio.Task[None]] = set()
        try:
            while not stopping.is_set():
                await slots.acquire()
                messages = await self.batch(stopping)
                if not messages:
                    slots.release()
                    continue
                task = asyncio.create_task(self.process(messages, slots))
                batches.add(task)
                task.add_done_callback(batches.discard)
        finally:
            if batches:
                await asyncio.gather(*batches, return_exceptions=True)

    async def batch(self, stopping: asyncio.Event) -> list[Mapping[str, Any]]:
        """The next batch: what one receive finds, topped up for the batching window."""
        size = self.mapping["BatchSize"]
        loop = asyncio.get_running_loop()
        window_ends = 0.0  # the window opens with the batch's first record
        messages: list[Mapping[str, Any]] = []
        while not stopping.is_set():
            found = await self.receive(min(SQS_RECEIVE_LIMIT, size - len(messages)))
            if found and not messages:
                window_ends = loop.time() + self.mapping["MaximumBatchingWindowInSeconds"]
            messages += found
            if len(messages) >= size or (messages and loop.time() >= window_ends):
                break
            if not found:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), POLL_SECONDS)
        return messages

    async def receive(self, count: int) -> list[Mapping[str, Any]]:
        try:
            reply = await asyncio.to_thread(
                self.sqs.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=0,
                VisibilityTimeout=faults.visibility_timeout(self.mapping["VisibilityTimeout"]),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        except Exception:
            log.exception("polling %s failed", self.mapping["queue"])
            return []
        messages: list[Mapping[str, Any]] = reply.get("Messages", [])
        return messages

    async def process(self, messages: list[Mapping[str, Any]], slots: asyncio.Semaphore) -> None:
        try:
            await self.deliver(messages)
            if not self.fifo and faults.duplicate_delivery(self.mapping["queue"]):
                await self.deliver_again(messages)
        finally:
            slots.release()

    async def deliver(self, messages: list[Mapping[str, Any]]) -> None:
        self.received += len(messages)
        ids = {str(m["MessageId"]) for m in messages}
        try:
            result = await self.invoke(
                self.mapping["function"], sqs_event(messages, self.queue_arn)
            )
        except Exception:
            return  # the whole batch comes back after the visibility timeout
        failed = failed_ids(self.mapping, result, ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            entries = [
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                for index, m in enumerate(done)
            ]
            try:
                await asyncio.to_thread(
                    self.sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=entries
                )
            except Exception:
                log.exception("deleting from %s failed", self.mapping["queue"])
                return  # the records come back after the visibility timeout
            self.deleted += len(done)

    async def deliver_again(self, messages: list[Mapping[str, Any]]) -> None:
        """The same batch once more (SQS delivers at least once); its outcome is ignored."""
        self.received += len(messages)
        with contextlib.suppress(Exception):
            await self.invoke(self.mapping["function"], sqs_event(messages, self.queue_arn))
