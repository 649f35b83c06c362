"""An in-process Courier: moto tables from template.yaml, handlers invoked with sample events,
and a recording @connections API (moto's own concatenates frames and never answers 410)."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend
from moto.apigatewaymanagementapi.models import Connection as GatewayConnection
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.sns.models import SNSBackend
from moto.sqs.models import Queue as SqsQueue
from moto.sqs.models import sqs_backends

from courier.frames import loads
from courier.tokens import issue_token
from local import emf
from local.events import dynamodb_stream_event
from local.handlers import load_handler
from local.moto_patches import AtomicDynamoDB, DynamoDBCostPatches, Patch
from local.samples import load_event, websocket_event
from local.template import (
    create_queues,
    create_tables,
    create_topics,
    load_template,
    resource_env,
)
from tests.lambda_context import FakeLambdaContext

JWT_SECRET = "courier-test-secret-at-least-32-bytes-long"
WS_ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "COURIER_JWT_SECRET": JWT_SECRET,
    "COURIER_WS_ENDPOINT": WS_ENDPOINT,
    "POWERTOOLS_SERVICE_NAME": "courier",
    "POWERTOOLS_METRICS_NAMESPACE": "Courier",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
QUEUE_WORKERS = {
    "RetryQueue": "retry_worker",
    "FanoutQueue": "fanout_worker",
    "NotifyQueue": "notifier",
}
SAMPLE_JOBS = {
    "retry_worker": "retry_worker-probe",
    "fanout_worker": "fanout_worker-chunk",
    "notifier": "notifier-offline",
}
ROUTE_SAMPLES = {  # the sample event (events/) each WebSocket route is tested with
    "send": "send-dm",
    "ack": "ack",
    "read": "read",
    "sync": "sync-conversations",
    "recall": "recall",
    "edit": "edit",
    "mute": "mute",
    "presence": "presence",
}
ROUTE_FUNCTIONS = {
    "send": "send",
    "ack": "ack",
    "read": "read",
    "sync": "sync",
    "recall": "recall",
    "edit": "edit",
    "mute": "mute",
    "receipts": "receipts",
    "typing": "typing",
    "presence": "presence",
}


class _Gone(JsonRESTError):
    code = 410

    def __init__(self, connection_id: str) -> None:
        super().__init__("GoneException", f"connection {connection_id} is gone")


class RecordingConnections:
    """Stands in for moto's @connections backend: frames kept one by one, 410 on request,
    and every GetConnection counted (`checked`)."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.gone: set[str] = set()
        self.checked: list[str] = []
        self.lock = threading.Lock()

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise _Gone(connection_id)
        with self.lock:
            self.frames[connection_id].append(loads(data))

    def get(self, connection_id: str) -> GatewayConnection:
        with self.lock:
            self.checked.append(connection_id)
        if connection_id in self.gone:
            raise _Gone(connection_id)
        return GatewayConnection()


@functools.cache
def _client(service: str) -> Any:
    """moto intercepts any client while a mock is active: one per service is enough."""
    return boto3.client(service, region_name="us-east-1")


def _dynamodb() -> Any:
    return _client("dynamodb")


@dataclass(frozen=True)
class QueuedJob:
    body: dict[str, Any]
    delay_seconds: int


@functools.cache
def _template() -> dict[str, Any]:
    """template.yaml, parsed once per test run (parsing is a sixth of a test's set-up)."""
    return load_template()


def _patched(patch: Patch, monkeypatch: Any) -> None:
    """A local/moto_patches.py patch for one test: monkeypatch puts moto back after it."""
    for owner, name, value in patch.replacements():
        monkeypatch.setattr(owner, name, value)


def divert_metrics(monkeypatch: Any) -> list[str]:
    """The metric (EMF) lines the handlers print, kept in a list, out of pytest's output."""
    lines: list[str] = []
    for owner, name, value in emf.replacements(lines.append):
        monkeypatch.setattr(owner, name, value, raising=False)
    return lines


def atomic_dynamodb(monkeypatch: Any) -> None:
    """DynamoDB applies each request atomically; moto under threads does not, so serialize."""
    _patched(AtomicDynamoDB(), monkeypatch)


def partitioned_moto(monkeypatch: Any) -> None:
    """Give moto DynamoDB's cost model, so thousands of members test in seconds:
    a base-table Query reads its partition (moto scans and sorts the whole table), a
    transaction rolls back the items it wrote (moto copies its tables), and sending to a
    queue does not recount the queue (moto does, for every message). Results are
    unchanged; tests never read a queue's approximate counts."""
    _patched(DynamoDBCostPatches(), monkeypatch)
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        monkeypatch.setattr(SqsQueue, name, property(lambda self: 0))


@dataclass(frozen=True)
class Conn:
    connection_id: str
    user: str
    device: str


class Courier:
    """Drive the handlers the way API Gateway would, and look at the outcome."""

    def __init__(self, monkeypatch: Any) -> None:
        self.dynamodb = _dynamodb()
        template = _template()
        self.tables = create_tables(self.dynamodb, template)
        self.queues = create_queues(_client("sqs"), template)
        self.topics = create_topics(_client("sns"), template)
        env = resource_env(self.tables, self.queues, self.topics, template)
        for name, value in {**BASE_ENV, **env}.items():
            monkeypatch.setenv(name, value)
        self.metric_lines = divert_metrics(monkeypatch)
        self.published: list[dict[str, Any]] = []
        monkeypatch.setattr(SNSBackend, "publish", self._record_publish(SNSBackend.publish))
        self.connections = RecordingConnections()
        monkeypatch.setattr(
            ApiGatewayManagementApiBackend,
            "post_to_connection",
            lambda backend, data, connection_id: self.connections.post(connection_id, data),
        )
        monkeypatch.setattr(
            ApiGatewayManagementApiBackend,
            "get_connection",
            lambda backend, connection_id: self.connections.get(connection_id),
        )
        self._ids = itertools.count(1)
        self.context = FakeLambdaContext()
        # The messages table's stream runs the durable delivery path after every
        # invocation, as Lambda's event source would (soon after the commit); a test that
        # needs the moment in between pauses it.
        self.stream_paused = False
        self._stream_read = 0

    # --- connections -------------------------------------------------------------------
    def connect(self, user: str, device: str = "phone", *, at_ms: int | None = None) -> Conn:
        """A $connect, stamped now (as API Gateway stamps connectedAt) or at `at_ms`."""
        conn = Conn(f"conn-{next(self._ids)}-{user}-{device}", user, device)
        event = websocket_event(
            "connect",
            connection_id=conn.connection_id,
            user=user,
            device=device,
            connected_at_ms=time.time_ns() // 1_000_000 if at_ms is None else at_ms,
        )
        assert load_handler("connect")(event, self.context) == {"statusCode": 200}
        return conn

    def connect_many(
        self, users: list[str], device: str = "phone", connected_at_ms: int = 1795694400000
    ) -> list[Conn]:
        """Connection rows as $connect writes them, in batches of 25: thousands of devices
        set up fast (no handler runs, so nothing is posted or counted as a connect)."""
        conns = [Conn(f"bulk-{user}-{device}", user, device) for user in users]
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "connectionId": {"S": c.connection_id},
                        "userId": {"S": c.user},
                        "deviceId": {"S": c.device},
                        "connectedAt": {"N": str(connected_at_ms)},
                        "expiresAt": {"N": str(connected_at_ms // 1000 + 10_800)},
                    }
                }
            }
            for c in conns
        ]
        for start in range(0, len(items), 25):
            self.dynamodb.batch_write_item(
                RequestItems={self.tables["ConnectionsTable"]: items[start : start + 25]}
            )
        return conns

    def disconnect(self, conn: Conn) -> None:
        event = websocket_event("disconnect", connection_id=conn.connection_id, user=conn.user)
        load_handler("disconnect")(event, self.context)

    def drop(self, conn: Conn) -> None:
        """The socket died without a $disconnect: posts to it now answer 410."""
        self.connections.gone.add(conn.connection_id)

    # --- frames --------------------------------------------------------------------------
    def invoke(
        self, route: str, conn: Conn, *, frame: Any = None, raw: str | None = None
    ) -> dict[str, Any]:
        sample = {"send": "send-dm", "ack": "ack", "read": "read", "sync": "sync-conversations"}
        name = sample.get(route, "default-ping")
        event = websocket_event(
            name,
            body=frame,
            raw_body=raw,
            connection_id=conn.connection_id,
            user=conn.user,
            device=conn.device,
        )
        event["requestContext"]["routeKey"] = route
        function = ROUTE_FUNCTIONS.get(route, "default")
        try:
            result: dict[str, Any] = load_handler(function)(event, self.context)
        finally:
            if not self.stream_paused:
                self.pump_stream()
        return result

    # --- the messages table's stream: the durable delivery path ----------------------------
    def stream_records(self) -> list[dict[str, Any]]:
        """The stream records written since the last call, as GetRecords returns them."""
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(
            self.tables["MessagesTable"]
        )
        shard = table.stream_shard
        assert shard is not None, "MessagesTable has no stream: see template.yaml"
        records = [r.to_json() for r in shard.items[self._stream_read :]]
        self._stream_read = len(shard.items)
        return records

    def pump_stream(self, *, twice: bool = False) -> list[Mapping[str, Any]]:
        """Run the stream's new records through the delivery worker (`twice`: the stream
        hands a batch over again, as after a failed invocation); the records it ran."""
        records: list[Mapping[str, Any]] = [
            r for r in self.stream_records() if r["eventName"] == "INSERT"
        ]
        if records:
            arn = f"arn:aws:dynamodb:us-east-1:{DEFAULT_ACCOUNT_ID}:table/messages/stream/x"
            event = dynamodb_stream_event(records, arn)
            for _ in range(2 if twice else 1):
                result = load_handler("delivery_worker")(copy.deepcopy(event), self.context)
                assert result == {"batchItemFailures": []}, result
        return records

    def frame(
        self, conn: Conn, frame: Any = None, *, raw: str | None = None
    ) -> dict[str, Any] | None:
        """Send one frame the way API Gateway routes it; the direct reply, if any."""
        action = frame.get("action") if isinstance(frame, dict) else None
        route = action if isinstance(action, str) and action in ROUTE_FUNCTIONS else "$default"
        result = self.invoke(route, conn, frame=frame, raw=raw)
        assert result["statusCode"] == 200
        return loads(result["body"]) if "body" in result else None

    def send(
        self, conn: Conn, channel: str, client_msg_no: str, body: Any = None
    ) -> dict[str, Any]:
        frame = {
            "action": "send",
            "channel": channel,
            "clientMsgNo": client_msg_no,
            "body": body or {"text": client_msg_no},
        }
        reply = self.frame(conn, frame)
        assert reply is not None
        return reply

    def read(self, conn: Conn, channel: str, seq: int) -> dict[str, Any]:
        reply = self.frame(conn, {"action": "read", "channel": channel, "seq": seq})
        assert reply is not None
        return reply

    def ack(self, conn: Conn, channel: str, seq: int) -> None:
        assert self.frame(conn, {"action": "ack", "channel": channel, "seq": seq}) is None

    def sync(self, conn: Conn, **fields: Any) -> dict[str, Any]:
        reply = self.frame(conn, {"action": "sync", **fields})
        assert reply is not None
        return reply

    def all_messages(self, conn: Conn, channel: str) -> list[dict[str, Any]]:
        """Every message of a channel, page by page through sync."""
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.sync(conn, channel=channel, afterSeq=after, limit=100)
            assert page["type"] == "messages", page
            found += page["messages"]
            if not page["more"]:
                return found
            after = page["messages"][-1]["seq"]

    def posted(self, conn: Conn, kind: str | None = None) -> list[dict[str, Any]]:
        frames = self.connections.frames[conn.connection_id]
        return [f for f in frames if kind is None or f.get("type") == kind]

    # --- admin ---------------------------------------------------------------------------
    def admin(
        self, sample: str, *, path: str | None = None, body: Any = None, raw: str | None = None
    ) -> tuple[int, Any]:
        event = load_event(sample)
        if path is not None:
            event["rawPath"] = path
            event["requestContext"]["http"]["path"] = path
        if raw is not None:
            event["body"] = raw
        elif body is not None:
            event["body"] = json.dumps(body)
        result = load_handler("admin")(event, self.context)
        return result["statusCode"], loads(result["body"]) if result.get("body") else None

    def group(self, name: str, members: list[str]) -> dict[str, Any]:
        status, reply = self.admin(
            "admin-put-group", path=f"/admin/groups/{name}", body={"members": members}
        )
        assert status == 200, reply
        return dict(reply)

    def admin_recall(self, channel: str, seq: int) -> tuple[int, Any]:
        event = load_event("admin-recall-message")
        event["rawPath"] = event["requestContext"]["http"]["path"] = (
            f"/admin/channels/{channel}/messages/{seq}"
        )
        result = load_handler("admin")(event, self.context)
        return result["statusCode"], loads(result["body"]) if result.get("body") else None

    def unread(self, user: str) -> dict[str, Any]:
        status, reply = self.admin("admin-user-unread", path=f"/admin/users/{user}/unread")
        assert status == 200, reply
        return dict(reply)

    def token(
        self, user: str, device: str = "phone", ttl: int = 3600, now: int | None = None
    ) -> str:
        return issue_token(JWT_SECRET, user, device, int(time.time()) if now is None else now, ttl)[
            0
        ]

    # --- queues: jobs are driven by hand, whatever their DelaySeconds -----------------------
    def _record_publish(self, original: Any) -> Any:
        def publish(backend: Any, message: str, *args: Any, **kwargs: Any) -> Any:
            self.published.append(loads(message))
            return original(backend, message, *args, **kwargs)

        return publish

    def _queue(self, logical_id: str) -> Any:
        name = self.queues[logical_id].rsplit("/", 1)[-1]
        return sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues[name]

    def jobs(self, logical_id: str) -> list[QueuedJob]:
        """The jobs waiting in a queue (delayed or not), oldest first."""
        return [
            QueuedJob(loads(m.body), round(max(0.0, m.delayed_until - m.sent_timestamp) / 1000))
            for m in self._queue(logical_id)._messages
        ]

    def take_jobs(self, logical_id: str) -> list[dict[str, Any]]:
        """Remove and return the bodies of every job in a queue."""
        queue = self._queue(logical_id)
        bodies = [loads(m.body) for m in queue._messages]
        queue._messages.clear()
        return bodies

    def run_worker(
        self,
        function: str,
        bodies: list[Any],
        *,
        receive_count: int = 1,
        message_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Invoke an SQS worker with one batch made of these job bodies (`receive_count` > 1:
        SQS delivers them again after a failed run, with the `message_ids` of that run)."""
        sample = load_event(SAMPLE_JOBS[function])["Records"][0]
        attributes = {**sample["attributes"], "ApproximateReceiveCount": str(receive_count)}
        ids = message_ids or [f"job-{next(self._ids)}" for _ in bodies]
        records = [
            {
                **sample,
                "attributes": attributes,
                "messageId": message_id,
                "body": body if isinstance(body, str) else json.dumps(body),
            }
            for body, message_id in zip(bodies, ids, strict=True)
        ]
        result: dict[str, Any] = load_handler(function)({"Records": records}, self.context)
        return result

    def drain(self, logical_id: str, *, twice: bool = False) -> list[dict[str, Any]]:
        """Run the jobs now in a queue through its worker (each twice: SQS may do that)."""
        bodies = self.take_jobs(logical_id)
        if twice:
            bodies = [b for body in bodies for b in (body, body)]
        if bodies:
            assert self.run_worker(QUEUE_WORKERS[logical_id], bodies) == {"batchItemFailures": []}
        return bodies

    # --- state ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every item of every table, to prove that a refused frame changed nothing."""
        state = {}
        for logical, name in sorted(self.tables.items()):
            items = self.dynamodb.scan(TableName=name)["Items"]
            state[logical] = sorted(items, key=repr)
        return state

    def items(self, logical_id: str) -> list[dict[str, Any]]:
        """Every item of a table, as a Scan returns them, read from moto's backend: no
        request, no serialization (property tests read the tables after every step)."""
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(
            self.tables[logical_id]
        )
        return [copy.deepcopy(item.to_json()["Attributes"]) for item in table.all_items()]

    def state(self) -> dict[str, list[dict[str, Any]]]:
        """What snapshot() returns, through items(): ten times faster, for tests that take
        one before and after each of thousands of generated frames."""
        return {logical: sorted(self.items(logical), key=repr) for logical in sorted(self.tables)}
