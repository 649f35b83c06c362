"""Live WebSocket connections: stored on $connect, found by user, removed when gone.

The table is keyed (userId, connectionId): a user's connections are one strongly
consistent Query, and every event that ends a connection names its user.
"""

from __future__ import annotations

from dataclasses import dataclass

from courier.tables import Tables


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user: str
    device: str
    connected_at: int = 0  # ms (API Gateway's connectedAt); 0 where not read


def store_connection(
    tables: Tables, connection: Connection, connected_at_ms: int, ttl_seconds: int
) -> None:
    tables.connections(
        user_id=connection.user,
        connection_id=connection.connection_id,
        device_id=connection.device,
        connected_at=connected_at_ms,
        expires_at=connected_at_ms // 1000 + ttl_seconds,
    ).save()


def forget_connection(tables: Tables, user: str, connection_id: str) -> None:
    tables.connections(user, connection_id).delete()


def connections_of(tables: Tables, user: str) -> list[Connection]:
    """Every stored connection of a user: one Query on the user's key (never a Scan)."""
    return [
        Connection(
            connection_id=row.connection_id,
            user=row.user_id,
            device=row.device_id,
            connected_at=int(row.connected_at),
        )
        for row in tables.connections.query(user, consistent_read=True)
    ]
