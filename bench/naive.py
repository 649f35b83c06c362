"""A naive serverless IM backend, built here only to be counted beside Courier.

It does what the AWS WebSocket chat sample and WuKongIM's unread handling do:

- fan-out scans the whole connections table (keyed by connection id, as in the AWS
  sample) for every message, and keeps the members' devices;
- unread is a counter: +1 per delivery to a device (and per queued message for an offline
  member), again at every redelivery of an un-acked message; `read` sets it to 0;
- a message is a counter increment (ADD) and a put, with no idempotency record and no
  transaction; the conversation row keeps the last message, so `sync` reads one row per
  conversation; offline members are pushed at once, one notification per message, with
  the badge summed from their conversation rows;
- retries: a delayed job per device, as in Courier, that re-posts while un-acked, at most
  five times; acks are unconditional writes; `read` is not synced to other devices.

Reads use the SDK default (eventually consistent). Each entry point is recorded as the
Lambda invocation that would run it, with the same memory as Courier's functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from bench import BODY
from bench.attribute_values import get_n, get_s, n, s
from bench.billing import item_size, read_units
from bench.moto_env import Bench, batched
from bench.recorder import Invocation, Trace, invocation, recording
from bench.scenarios import DM, Sizes
from courier.delivery import PARALLEL_POSTS
from tests.harness import WS_ENDPOINT, Conn

REGION = "us-east-1"
MEMORY_MB = 256
MAX_RETRIES = 5
RETRY_DELAY_SECONDS = 2
TABLES = {  # name: (hash key, range key)
    "naive-connections": ("connectionId", None),
    "naive-counters": ("channel", None),
    "naive-messages": ("channel", "seq"),
    "naive-conversations": ("userId", "channel"),
    "naive-members": ("channel", "userId"),
    "naive-acks": ("deviceKey", "channel"),
}


def _encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def _connection_item(conn: Conn, connected_at: int) -> dict[str, Any]:
    return {
        "connectionId": s(conn.connection_id),
        "userId": s(conn.user),
        "deviceId": s(conn.device),
        "connectedAt": n(connected_at),
    }


def _message_item(message: dict[str, Any]) -> dict[str, Any]:
    frame = s(_encode(message))
    return {"channel": s(message["channel"]), "seq": n(message["seq"]), "frame": frame}


def scan_read_units(online: int) -> float:
    """What one fan-out Scan reads with `online` devices connected (1 MB pages)."""
    row = item_size(
        _connection_item(Conn("naive-other-12345", "other12345", "phone"), 1795694400000)
    )
    rows_per_page = 1024 * 1024 // row
    pages = [min(rows_per_page, online - start) for start in range(0, online, rows_per_page)]
    return sum(0.5 * read_units(rows * row) for rows in pages)


class NaiveIM:
    def __init__(self, bench: Bench, online: int) -> None:
        self.bench = bench
        self.online = online
        setup = bench.courier.dynamodb
        for name, (hash_key, range_key) in TABLES.items():
            keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
            setup.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
                AttributeDefinitions=[
                    {"AttributeName": k, "AttributeType": "N" if k == "seq" else "S"}
                    for k, _ in keys
                ],
            )
        self.db = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.api = boto3.client(
            "apigatewaymanagementapi", endpoint_url=WS_ENDPOINT, region_name=REGION
        )
        self.retry_queue = self.sqs.create_queue(QueueName="naive-retry")["QueueUrl"]
        self.topic = bench.courier.topics["NotificationsTopic"]

    # ----------------------------------------------------------------- set-up
    def _write_all(self, table: str, items: list[dict[str, Any]]) -> None:
        for batch in batched(items, 25):
            self.bench.courier.dynamodb.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": i}} for i in batch]}
            )

    def connect_many(self, users: list[str]) -> list[Conn]:
        """The users' devices, and other users' up to `online` rows in the table."""
        conns = [Conn(f"naive-{u}", u, "phone") for u in users]
        others = [
            Conn(f"naive-other-{i}", f"other{i}", "phone") for i in range(self.online - len(users))
        ]
        now = self.bench.clock()
        self._write_all("naive-connections", [_connection_item(c, now) for c in conns + others])
        return conns

    def group(self, name: str, members: list[str]) -> None:
        self._write_all(
            "naive-members", [{"channel": s(f"g:{name}"), "userId": s(u)} for u in members]
        )

    @contextmanager
    def _invocation(
        self, function: str, frame: dict[str, Any] | None = None, records: int = 0
    ) -> Iterator[Invocation]:
        size = len(_encode(frame).encode()) if frame is not None else 0
        with invocation(
            Invocation(function, MEMORY_MB, frame_bytes=size, records=records)
        ) as record:
            yield record

    # ----------------------------------------------------------------- routes
    def send(self, conn: Conn, channel: str, client_msg_no: str) -> dict[str, Any]:
        frame = {"action": "send", "channel": channel, "clientMsgNo": client_msg_no, "body": BODY}
        with self._invocation("send", frame) as record:
            counter = self.db.update_item(
                TableName="naive-counters",
                Key={"channel": s(channel)},
                UpdateExpression="ADD lastSeq :one",
                ExpressionAttributeValues={":one": n(1)},
                ReturnValues="UPDATED_NEW",
            )
            message = {
                "channel": channel,
                "seq": get_n(counter["Attributes"], "lastSeq"),
                "from": conn.user,
                "clientMsgNo": client_msg_no,
                "body": BODY,
                "ts": self.bench.clock(),
            }
            self.db.put_item(TableName="naive-messages", Item=_message_item(message))
            members = self._members(channel)
            targets = [
                c
                for c in self._scan_connections()
                if c.user in members and c.connection_id != conn.connection_id
            ]
            delivered = self._post_all(targets, {"type": "message", **message})
            reached = {c.user for c in delivered}
            offline = [u for u in members if u != conn.user and u not in reached]
            for target in delivered:
                if target.user != conn.user:
                    self._bump_unread(target.user, message)
            for user in offline:
                self._bump_unread(user, message)
            self._remember_last(conn.user, message)
            self._queue_retries([(c, message, 1) for c in delivered])
            for user in offline:
                self._notify(user, message)
            reply = {
                "type": "sendack",
                "clientMsgNo": client_msg_no,
                "channel": channel,
                "seq": message["seq"],
            }
            record.reply_bytes = len(_encode(reply).encode())
        return reply

    def ack(self, conn: Conn, channel: str, seq: int) -> None:
        with self._invocation("ack", {"action": "ack", "channel": channel, "seq": seq}):
            self.db.update_item(
                TableName="naive-acks",
                Key={"deviceKey": s(f"{conn.user}#{conn.device}"), "channel": s(channel)},
                UpdateExpression="SET ackSeq = :v",
                ExpressionAttributeValues={":v": n(seq)},
            )

    def read(self, conn: Conn, channel: str, seq: int) -> dict[str, Any]:
        with self._invocation("read", {"action": "read", "channel": channel, "seq": seq}) as record:
            self.db.update_item(
                TableName="naive-conversations",
                Key={"userId": s(conn.user), "channel": s(channel)},
                UpdateExpression="SET unread = :zero",
                ExpressionAttributeValues={":zero": n(0)},
            )
            reply = {"type": "read", "channel": channel, "readSeq": seq, "unread": 0}
            record.reply_bytes = len(_encode(reply).encode())
        return reply

    def sync_conversations(self, conn: Conn) -> dict[str, Any]:
        with self._invocation("sync", {"action": "sync"}) as record:
            rows = self.db.query(
                TableName="naive-conversations",
                KeyConditionExpression="userId = :u",
                ExpressionAttributeValues={":u": s(conn.user)},
            )["Items"]
            conversations = [
                {
                    "channel": get_s(r, "channel"),
                    "lastSeq": get_n(r, "lastSeq"),
                    "unread": get_n(r, "unread"),
                    "lastMessage": json.loads(get_s(r, "lastMessage", "null")),
                }
                for r in rows
            ]
            reply = {
                "type": "conversations",
                "conversations": conversations,
                "totalUnread": sum(c["unread"] for c in conversations),
            }
            record.reply_bytes = len(_encode(reply).encode())
        return reply

    def sync_messages(self, conn: Conn, channel: str, limit: int) -> dict[str, Any]:
        frame = {"action": "sync", "channel": channel, "afterSeq": 0, "limit": limit}
        with self._invocation("sync", frame) as record:
            found = self.db.query(
                TableName="naive-messages",
                KeyConditionExpression="channel = :c AND seq > :after",
                ExpressionAttributeValues={":c": s(channel), ":after": n(0)},
                Limit=limit,
            )
            messages = [json.loads(get_s(i, "frame")) for i in found["Items"]]
            reply = {
                "type": "messages",
                "channel": channel,
                "messages": messages,
                "more": "LastEvaluatedKey" in found,
            }
            record.reply_bytes = len(_encode(reply).encode())
        return reply

    def run_retries(self) -> int:
        """Run the retry jobs now queued, ten per invocation; how many ran."""
        queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues["naive-retry"]
        bodies = [json.loads(m.body) for m in queue._messages]
        queue._messages.clear()
        for batch in batched(bodies, 10):
            with self._invocation("retry_worker", records=len(batch)):
                follow_ups = []
                for job in batch:
                    conn = Conn(job["connectionId"], job["user"], job["device"])
                    if self._acked(conn, job["message"]):
                        continue
                    if self._post_all([conn], {"type": "message", **job["message"]}):
                        self._bump_unread(conn.user, job["message"])  # the bug: per delivery
                        if job["attempt"] < MAX_RETRIES:
                            follow_ups.append((conn, job["message"], job["attempt"] + 1))
                self._queue_retries(follow_ups)
        return len(bodies)

    # ----------------------------------------------------------------- helpers
    def _members(self, channel: str) -> set[str]:
        if channel.startswith("dm:"):
            return set(channel.split(":")[1:])
        rows = self.db.query(
            TableName="naive-members",
            KeyConditionExpression="channel = :c",
            ExpressionAttributeValues={":c": s(channel)},
        )["Items"]
        return {get_s(r, "userId") for r in rows}

    def _scan_connections(self) -> list[Conn]:
        found: list[Conn] = []
        kwargs: dict[str, Any] = {"TableName": "naive-connections"}
        while True:
            page = self.db.scan(**kwargs)
            found += [
                Conn(get_s(i, "connectionId"), get_s(i, "userId"), get_s(i, "deviceId"))
                for i in page["Items"]
            ]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _post_all(self, targets: list[Conn], frame: dict[str, Any]) -> list[Conn]:
        """Post to each connection, 16 at a time; a gone one is deleted. The delivered ones."""
        data = _encode(frame).encode()

        def post(conn: Conn) -> Conn | None:
            try:
                self.api.post_to_connection(ConnectionId=conn.connection_id, Data=data)
            except ClientError:
                self.db.delete_item(
                    TableName="naive-connections", Key={"connectionId": s(conn.connection_id)}
                )
                return None
            return conn

        if len(targets) <= 1:
            results = [post(c) for c in targets]
        else:
            with ThreadPoolExecutor(max_workers=PARALLEL_POSTS) as pool:
                results = list(pool.map(post, targets))
        return [c for c in results if c is not None]

    def _bump_unread(self, user: str, message: dict[str, Any]) -> None:
        self.db.update_item(
            TableName="naive-conversations",
            Key={"userId": s(user), "channel": s(message["channel"])},
            UpdateExpression="ADD unread :one SET lastSeq = :seq, lastMessage = :m",
            ExpressionAttributeValues={
                ":one": n(1),
                ":seq": n(message["seq"]),
                ":m": s(_encode(message)),
            },
        )

    def _remember_last(self, user: str, message: dict[str, Any]) -> None:
        self.db.update_item(
            TableName="naive-conversations",
            Key={"userId": s(user), "channel": s(message["channel"])},
            UpdateExpression="SET lastSeq = :seq, lastMessage = :m",
            ExpressionAttributeValues={":seq": n(message["seq"]), ":m": s(_encode(message))},
        )

    def _queue_retries(self, jobs: list[tuple[Conn, dict[str, Any], int]]) -> None:
        for batch in batched(jobs, 10):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": _encode(
                        {
                            "connectionId": c.connection_id,
                            "user": c.user,
                            "device": c.device,
                            "message": m,
                            "attempt": attempt,
                        }
                    ),
                    "DelaySeconds": RETRY_DELAY_SECONDS * 2 ** (attempt - 1),
                }
                for i, (c, m, attempt) in enumerate(batch)
            ]
            self.sqs.send_message_batch(QueueUrl=self.retry_queue, Entries=entries)

    def _acked(self, conn: Conn, message: dict[str, Any]) -> bool:
        row = self.db.get_item(
            TableName="naive-acks",
            Key={"deviceKey": s(f"{conn.user}#{conn.device}"), "channel": s(message["channel"])},
        ).get("Item", {})
        return get_n(row, "ackSeq") >= int(message["seq"])

    def _notify(self, user: str, message: dict[str, Any]) -> None:
        rows = self.db.query(
            TableName="naive-conversations",
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": s(user)},
        )["Items"]
        preview = message["body"].get("text", "")[:80]
        self.sns.publish(
            TopicArn=self.topic,
            Message=_encode(
                {
                    "user": user,
                    "channel": message["channel"],
                    "seq": message["seq"],
                    "from": message["from"],
                    "preview": preview,
                    "badge": sum(get_n(r, "unread") for r in rows),
                }
            ),
        )


# ---------------------------------------------------------------- the operations
def dm(b: Bench, sizes: Sizes) -> Trace:
    im = NaiveIM(b, sizes.online)
    alice, bob = im.connect_many(["alice", "bob"])
    im.ack(bob, DM, im.send(alice, DM, "warm-up")["seq"])
    im.run_retries()
    with recording() as trace:
        seq = im.send(alice, DM, "m-2")["seq"]
        im.ack(bob, DM, seq)
        im.read(bob, DM, seq)
        im.run_retries()
    return trace


def dm_offline(b: Bench, sizes: Sizes) -> Trace:
    im = NaiveIM(b, sizes.online)
    (alice,) = im.connect_many(["alice"])
    im.send(alice, DM, "warm-up")
    with recording() as trace:
        im.send(alice, DM, "m-2")
        im.run_retries()
    return trace


def dm_unacked(b: Bench, sizes: Sizes) -> Trace:
    im = NaiveIM(b, sizes.online)
    alice, bob = im.connect_many(["alice", "bob"])
    im.ack(bob, DM, im.send(alice, DM, "warm-up")["seq"])
    im.run_retries()
    with recording() as trace:
        im.send(alice, DM, "m-2")
        while im.run_retries():
            pass
    return trace


def group_send(b: Bench, sizes: Sizes, members: int) -> Trace:
    im = NaiveIM(b, max(sizes.online, members))
    users = [f"m{i:04d}" for i in range(members)]
    im.group("crowd", users)
    sender, *receivers = im.connect_many(users)

    def one_message(key: str) -> None:
        seq = im.send(sender, "g:crowd", key)["seq"]
        for conn in receivers:
            im.ack(conn, "g:crowd", seq)
        im.run_retries()

    one_message("warm-up")
    with recording() as trace:
        one_message("m-2")
    return trace


def sync_conversations(b: Bench, sizes: Sizes) -> Trace:
    im = NaiveIM(b, online=0)  # a sync reads no connections: no other devices to scan
    alice, *others = im.connect_many(["alice"] + [f"p{i:03d}" for i in range(sizes.conversations)])
    for i, peer in enumerate(others):
        if i % 2:
            im.group(f"team{i}", ["alice", peer.user])
            channel = f"g:team{i}"
        else:
            channel = f"dm:alice:{peer.user}"
        for k in range(3):
            im.send(peer, channel, f"{channel}-{k}")
    with recording() as trace:
        page = im.sync_conversations(alice)
    assert len(page["conversations"]) == sizes.conversations
    return trace


def sync_messages(b: Bench, sizes: Sizes) -> Trace:
    im = NaiveIM(b, online=0)
    alice, bob = im.connect_many(["alice", "bob"])
    for k in range(sizes.page + 10):
        im.send(alice, DM, f"h-{k}")
    with recording() as trace:
        page = im.sync_messages(bob, DM, sizes.page)
    assert len(page["messages"]) == sizes.page and page["more"]
    return trace
