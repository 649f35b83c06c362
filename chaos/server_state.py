"""The server's state as the checker needs it, read straight from the local stack's
DynamoDB and SQS with clients of their own (never touched by the fault hooks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from typing import Any

import boto3

from chaos.history import CursorKey, Message

QUEUES = ("RetryQueue", "FanoutQueue")  # the jobs that post to devices
DEAD_LETTERS = ("RetryDeadLetterQueue", "FanoutDeadLetterQueue", "NotifyDeadLetterQueue")
QUEUE_DEPTH = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
POLL_SECONDS = 0.5


class ServerState:
    def __init__(
        self, endpoint: str, environment: Mapping[str, str], queues: Mapping[str, str]
    ) -> None:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        self._dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self._sqs = session.client("sqs", endpoint_url=endpoint)
        self._tables = {
            name: environment[f"COURIER_{name.upper()}_TABLE"]
            for name in ("memberships", "acks", "messages", "channels")
        }
        self._queues = dict(queues)

    def _scan(self, table: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"TableName": self._tables[table], "ConsistentRead": True}
        while True:
            reply = self._dynamodb.scan(**kwargs)
            yield from reply.get("Items", [])
            if "LastEvaluatedKey" not in reply:
                return
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def cursors(self) -> list[tuple[CursorKey, int]]:
        """Every read cursor and ack cursor, now."""
        found: list[tuple[CursorKey, int]] = [
            (("read", item["userId"]["S"], item["channel"]["S"]), int(item["readSeq"]["N"]))
            for item in self._scan("memberships")
            if "readSeq" in item
        ]
        for item in self._scan("acks"):
            user, device = item["deviceKey"]["S"].split("#", 1)
            key = ("ack", user, f"{user}/{device}", item["channel"]["S"])
            found.append((key, int(item["ackSeq"]["N"])))
        return found

    def messages(self) -> list[Message]:
        return [
            Message(
                channel=item["channel"]["S"],
                seq=int(item["seq"]["N"]),
                message_id=item["messageId"]["S"],
                sender=item["from"]["S"],
                client_msg_no=item["clientMsgNo"]["S"],
                body=json.loads(item["body"]["S"]),
            )
            for item in self._scan("messages")
        ]

    def last_seqs(self) -> dict[str, int]:
        return {
            item["channel"]["S"]: int(item["lastSeq"]["N"])
            for item in self._scan("channels")
            if "lastSeq" in item
        }

    def depth(self, queues: tuple[str, ...]) -> dict[str, int]:
        """Jobs in each queue: visible, in flight or delayed."""
        found: dict[str, int] = {}
        for queue in queues:
            reply = self._sqs.get_queue_attributes(
                QueueUrl=self._queues[queue], AttributeNames=list(QUEUE_DEPTH)
            )
            found[queue] = sum(int(reply["Attributes"].get(name, 0)) for name in QUEUE_DEPTH)
        return found

    async def settle(self, timeout: float) -> dict[str, int]:
        """Wait until the delivery queues are empty (or `timeout`); what is left in them."""
        left: dict[str, int] = {}
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            left = await asyncio.to_thread(self.depth, QUEUES)
            if not any(left.values()):
                return left
            await asyncio.sleep(POLL_SECONDS)
        return left
