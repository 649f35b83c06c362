"""Jobs on SQS queues: retries, fan-out chunks and notifications, each a JSON body."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

SQS_BATCH_LIMIT = 10
MAX_DELAY_SECONDS = 900  # SQS's DelaySeconds ceiling
CHUNK_USERS = 100  # users per fan-out chunk job (one BatchGetItem of their rows at most)


def chunks(users: list[str]) -> list[list[str]]:
    """A channel's members in fan-out chunks of CHUNK_USERS."""
    return [users[i : i + CHUNK_USERS] for i in range(0, len(users), CHUNK_USERS)]


@dataclass(frozen=True)
class Job:
    """A job body; `fifo_key` (FIFO queues only) names it for SQS's deduplication and
    serves as its message group, and such a job has no delay of its own."""

    body: dict[str, Any]
    delay_seconds: int = 0
    fifo_key: str | None = None

    def entry(self, entry_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": entry_id,
            "MessageBody": json.dumps(self.body, separators=(",", ":")),
        }
        if self.fifo_key is None:
            entry["DelaySeconds"] = max(0, min(self.delay_seconds, MAX_DELAY_SECONDS))
        else:  # ids are at most 128 characters: a digest of the key fits
            digest = hashlib.sha256(self.fifo_key.encode()).hexdigest()
            entry["MessageDeduplicationId"] = digest
            entry["MessageGroupId"] = digest
        return entry


class JobQueue(Protocol):
    def send(self, queue_url: str, jobs: list[Job]) -> None: ...


class SqsJobQueue:
    """Sends jobs with SendMessageBatch, ten at a time, each with its own DelaySeconds."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, queue_url: str, jobs: list[Job]) -> None:
        for start in range(0, len(jobs), SQS_BATCH_LIMIT):
            entries = [
                job.entry(str(i)) for i, job in enumerate(jobs[start : start + SQS_BATCH_LIMIT])
            ]
            self._send_all(queue_url, entries)

    def _send_all(self, queue_url: str, entries: list[dict[str, Any]]) -> None:
        for _ in range(3):  # a batch can fail in part; send the failed entries again
            failed = self._client.send_message_batch(QueueUrl=queue_url, Entries=entries).get(
                "Failed", []
            )
            if not failed:
                return
            failed_ids = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in failed_ids]
        raise RuntimeError(f"SQS refused {len(entries)} jobs for {queue_url}")
