"""Where moto's server differs from AWS in a way Courier's guarantees depend on, patched
for the life of one local stack.

- DynamoDB applies each request atomically; moto's threaded server does not, so its
  DynamoDB requests are serialized (conditional writes then mean what they say).
- An SQS FIFO queue drops a message whose deduplication id it has seen in the last
  5 minutes; moto only compares against messages still in the queue, so a job sent again
  after the first copy was processed and deleted would run twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any

FIFO_DEDUPLICATION_SECONDS = 300.0


class AtomicDynamoDB:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._original: Any = None

    def install(self) -> None:
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

        original = self._original = DynamoHandler.call_action
        lock = self._lock

        def call_action(handler: Any) -> Any:
            with lock:
                return original(handler)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from moto.dynamodb.responses import DynamoHandler  # noqa: PLC0415

        if self._original is not None:
            DynamoHandler.call_action = self._original  # type: ignore[method-assign]
            self._original = None


class FifoDeduplicationWindow:
    """Remember every FIFO deduplication id for 5 minutes, deleted or not, as SQS does."""

    def __init__(self, window_seconds: float = FIFO_DEDUPLICATION_SECONDS) -> None:
        self.window_seconds = window_seconds
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._original: Any = None

    def first_sighting(self, queue_arn: str, deduplication_id: str, now: float) -> bool:
        """True when the id is new to the queue within the window (and remember it)."""
        with self._lock:
            key = (queue_arn, deduplication_id)
            seen = self._seen.get(key)
            if seen is not None and now - seen < self.window_seconds:
                return False
            self._seen[key] = now
            return True

    def install(self) -> None:
        from moto.sqs.models import Queue  # noqa: PLC0415

        original = self._original = Queue.add_message
        window = self

        def add_message(queue: Any, message: Any) -> None:
            dedup_id = message.deduplication_id
            duplicate = (
                queue.fifo_queue
                and dedup_id is not None
                and not window.first_sighting(queue.queue_arn, dedup_id, time.monotonic())
            )
            if not duplicate:
                original(queue, message)

        Queue.add_message = add_message  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        from moto.sqs.models import Queue  # noqa: PLC0415

        if self._original is not None:
            Queue.add_message = self._original  # type: ignore[method-assign]
            self._original = None
        self._seen.clear()
