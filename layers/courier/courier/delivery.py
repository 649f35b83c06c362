"""Posting frames to live connections through the API Gateway management API.

Every frame that travels to a connection other than the one that asked goes through
this module, so that retries (SQS) extend one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from courier.connections import Connection, close_connection, connections_of
from courier.dynamo import error_code
from courier.frames import encode
from courier.tables import Tables

PARALLEL_POSTS = 16


class ConnectionGone(Exception):
    """The connection no longer exists (HTTP 410 from PostToConnection)."""


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...

    def connection_alive(self, connection_id: str) -> bool:
        """Whether API Gateway still holds the connection (GetConnection: 200, or 410)."""
        ...


class ManagementApiPoster:
    """A Poster over boto3's `apigatewaymanagementapi` client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, connection_id: str, data: bytes) -> None:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if error_code(exc) == "GoneException":
                raise ConnectionGone(connection_id) from None
            raise

    def connection_alive(self, connection_id: str) -> bool:
        try:
            self._client.get_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if error_code(exc) == "GoneException":
                return False
            raise
        return True


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = ...) -> None: ...


@dataclass
class DeliveryReport:
    delivered: list[Connection] = field(default_factory=list)
    gone: list[Connection] = field(default_factory=list)
    failed: list[Connection] = field(default_factory=list)

    def record(self, metrics: MetricSink) -> None:
        metrics.add_metric(name="PostsDelivered", unit=MetricUnit.Count, value=len(self.delivered))
        if self.gone:
            metrics.add_metric(name="ConnectionsGone", unit=MetricUnit.Count, value=len(self.gone))
        if self.failed:
            metrics.add_metric(name="PostsFailed", unit=MetricUnit.Count, value=len(self.failed))


def post_frame(
    tables: Tables, poster: Poster, connections: Iterable[Connection], frame: dict[str, Any]
) -> DeliveryReport:
    """Post one frame to each connection; a gone connection's record is deleted, and its
    user's lastSeen raised to its activeAt (the last moment it was known open).

    A failure to post never raises: the caller's operation has already succeeded, and
    the receiver recovers what it missed through `sync`.
    """
    data = encode(frame)
    targets = list(connections)
    report = DeliveryReport()

    def attempt(connection: Connection) -> None:
        try:
            poster.post(connection.connection_id, data)
        except ConnectionGone:
            close_connection(tables, connection, connection.active_at)
            report.gone.append(connection)
        except ClientError:
            report.failed.append(connection)
        else:
            report.delivered.append(connection)

    if len(targets) <= 2:
        for connection in targets:
            attempt(connection)
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL_POSTS, len(targets))) as pool:
            list(pool.map(attempt, targets))
    return report


def live_connections(
    tables: Tables, users: Iterable[str], *, except_connection: str | None = None
) -> list[Connection]:
    """The stored connections of these users, less one (the connection that asked)."""
    return [
        connection
        for user in dict.fromkeys(users)
        for connection in connections_of(tables, user)
        if connection.connection_id != except_connection
    ]
