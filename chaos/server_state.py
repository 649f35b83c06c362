"""The server's state as the checker needs it, read straight from the local stack's
DynamoDB and SQS with clients of their own, in-process as the handlers reach moto (the
fault hooks touch only calls made inside an invocation)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3

from chaos.history import CursorKey, Message

QUEUES = ("RetryQueue", "FanoutQueue", "NotifyQueue")  # the jobs that post to devices or push
DEAD_LETTERS = (
    "RetryDeadLetterQueue",
    "FanoutDeadLetterQueue",
    "NotifyDeadLetterQueue",
    "DeliveryDeadLetterQueue",  # the stream worker's on-failure destination
)
QUEUE_DEPTH = {  # disjoint: a job is in one of them
    "ApproximateNumberOfMessages": "due",
    "ApproximateNumberOfMessagesNotVisible": "in flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}
SNAPSHOT_ATTEMPTS = 10
SNAPSHOT_PAUSE_SECONDS = 0.5


def read_cursors(cursors: list[tuple[CursorKey, int]]) -> dict[tuple[str, str], int]:
    """The (user, channel) read cursors among `cursors` (what `ServerState.cursors` gives)."""
    found: dict[tuple[str, str], int] = {}
    for key, value in cursors:
        if key[0] == "read":
            user, channel = key[1], key[2]
            found[(user, channel)] = max(value, found.get((user, channel), 0))
    return found


class ServerState:
    def __init__(
        self,
        environment: Mapping[str, str],
        queues: Mapping[str, str],
        streams: Sequence[Any] = (),
    ) -> None:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        self._dynamodb = session.client("dynamodb")
        self._sqs = session.client("sqs")
        self._tables = {
            name: environment[f"COURIER_{name.upper()}_TABLE"]
            for name in ("memberships", "acks", "messages", "channels")
        }
        self._queues = dict(queues)
        self._streams = list(streams)  # the stack's stream pollers (local/stream_poller.py)

    def streams_behind(self) -> int:
        """Stream pollers that have not yet handed every committed message to its worker."""
        return sum(1 for poller in self._streams if not poller.caught_up)

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
        """Every message, as stored: a recalled one without body or mentions."""
        return [
            Message(
                channel=item["channel"]["S"],
                seq=int(item["seq"]["N"]),
                message_id=item["messageId"]["S"],
                sender=item["from"]["S"],
                client_msg_no=item["clientMsgNo"]["S"],
                body=json.loads(item["body"]["S"]) if "body" in item else None,
                ts=int(item["ts"]["N"]),
                mentions=tuple(user["S"] for user in item.get("mentions", {}).get("L", [])),
                recalled=item.get("recalled", {}).get("BOOL") is True,
                version=int(item.get("version", {}).get("N", 0)),
            )
            for item in self._scan("messages")
        ]

    def recalled(self) -> dict[str, set[int]]:
        """Each channel's recalled seqs, as its counter row holds them (what unread leaves
        out)."""
        return {
            item["channel"]["S"]: {int(seq) for seq in item["recalledSeqs"]["NS"]}
            for item in self._scan("channels")
            if "recalledSeqs" in item
        }

    def muted(self) -> dict[tuple[str, str], bool]:
        """Each (user, channel)'s mute, as its membership row holds it."""
        return {
            (item["userId"]["S"], item["channel"]["S"]): item["muted"].get("BOOL") is True
            for item in self._scan("memberships")
            if "muted" in item
        }

    def last_seqs(self) -> dict[str, int]:
        return {
            item["channel"]["S"]: int(item["lastSeq"]["N"])
            for item in self._scan("channels")
            if "lastSeq" in item
        }

    def snapshot(self) -> tuple[dict[str, int], list[Message]]:
        """Every channel's lastSeq and every message, as of one moment.

        lastSeq is read before the messages: every seq up to it was committed before the
        scan began, so the scan holds it. When lastSeq reads the same after the scan, no
        send committed meanwhile and the messages are returned as they are (a message
        beyond lastSeq would then be an anomaly for the checker to see). Sends may still
        be committing (the devices are offline, but the stack may not have caught up with
        their frames): then the scan is tried again, and if lastSeq never holds still, the
        messages beyond the lastSeq read before the last scan are left out, as committed
        after that moment; what is left is the state as of that read."""
        before = self.last_seqs()
        for _ in range(SNAPSHOT_ATTEMPTS):
            messages = self.messages()
            after = self.last_seqs()
            if after == before:
                return before, messages
            before = after
            time.sleep(SNAPSHOT_PAUSE_SECONDS)
        before = self.last_seqs()
        messages = self.messages()
        return before, [m for m in messages if m.seq <= before.get(m.channel, 0)]

    def jobs(self, queues: tuple[str, ...]) -> dict[str, dict[str, int]]:
        """Jobs in each queue: due (visible), in flight (received, not yet deleted) and
        delayed (DelaySeconds not yet over)."""
        found: dict[str, dict[str, int]] = {}
        for queue in queues:
            reply = self._sqs.get_queue_attributes(
                QueueUrl=self._queues[queue], AttributeNames=list(QUEUE_DEPTH)
            )
            counts = reply["Attributes"]
            found[queue] = {kind: int(counts.get(name, 0)) for name, kind in QUEUE_DEPTH.items()}
        return found

    def depth(self, queues: tuple[str, ...]) -> dict[str, int]:
        """Jobs in each queue: due, in flight or delayed."""
        return {queue: sum(kinds.values()) for queue, kinds in self.jobs(queues).items()}
