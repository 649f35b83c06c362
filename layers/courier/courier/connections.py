"""Live WebSocket connections: stored on $connect, found by user, removed when gone.

The table is keyed (userId, connectionId): a user's connections are one strongly
consistent Query, and every event that ends a connection names its user.
"""

from __future__ import annotations

from dataclasses import dataclass

from courier.dynamo import get_s, n, s
from courier.tables import Tables


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user: str
    device: str


def store_connection(
    tables: Tables, connection: Connection, connected_at_ms: int, ttl_seconds: int
) -> None:
    tables.client.put_item(
        TableName=tables.connections,
        Item={
            "connectionId": s(connection.connection_id),
            "userId": s(connection.user),
            "deviceId": s(connection.device),
            "connectedAt": n(connected_at_ms),
            "expiresAt": n(connected_at_ms // 1000 + ttl_seconds),
        },
    )


def forget_connection(tables: Tables, user: str, connection_id: str) -> None:
    tables.client.delete_item(
        TableName=tables.connections,
        Key={"userId": s(user), "connectionId": s(connection_id)},
    )


def connections_of(tables: Tables, user: str) -> list[Connection]:
    """Every stored connection of a user: one Query on the user's key (never a Scan)."""
    found: list[Connection] = []
    kwargs = {
        "TableName": tables.connections,
        "KeyConditionExpression": "userId = :u",
        "ExpressionAttributeValues": {":u": s(user)},
        "ConsistentRead": True,
    }
    while True:
        reply = tables.client.query(**kwargs)
        found.extend(
            Connection(
                connection_id=get_s(item, "connectionId"),
                user=get_s(item, "userId"),
                device=get_s(item, "deviceId"),
            )
            for item in reply.get("Items", [])
        )
        if "LastEvaluatedKey" not in reply:
            return found
        kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
