"""SQS event source mappings, emulated: poll a queue, invoke its function with the batch,
delete what succeeded.

As Lambda does: a record listed in the result's `batchItemFailures` (with
ReportBatchItemFailures), or every record of a batch whose invocation raised, stays
in the queue; it comes back after the visibility timeout, and SQS (moto) moves it to
the DLQ after `maxReceiveCount` receives.

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

WAIT_SECONDS = 1  # long polling; also how long stopping a poller may take
SQS_RECEIVE_LIMIT = 10


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
        self.received = 0
        self.deleted = 0

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                reply = await asyncio.to_thread(
                    self.sqs.receive_message,
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, self.mapping["BatchSize"]),
                    WaitTimeSeconds=WAIT_SECONDS,
                    VisibilityTimeout=faults.visibility_timeout(self.mapping["VisibilityTimeout"]),
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:
                if stopping.is_set():
                    return
                log.exception("polling %s failed", self.mapping["queue"])
                await asyncio.sleep(WAIT_SECONDS)
                continue
            messages: list[Mapping[str, Any]] = reply.get("Messages", [])
            if messages:
                await self.deliver(messages)
                if not self.fifo and faults.duplicate_delivery(self.mapping["queue"]):
                    await self.deliver_again(messages)

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
            await asyncio.to_thread(
                self.sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=entries
            )
            self.deleted += len(done)

    async def deliver_again(self, messages: list[Mapping[str, Any]]) -> None:
        """The same batch once more (SQS delivers at least once); its outcome is ignored."""
        self.received += len(messages)
        with contextlib.suppress(Exception):
            await self.invoke(self.mapping["function"], sqs_event(messages, self.queue_arn))
