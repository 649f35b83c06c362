"""Live WebSocket connections: stored on $connect, found by user, removed when gone.

The table is keyed (userId, connectionId): a user's connections are one strongly
consistent Query, and every event that ends a connection names its user. When one ends,
the user's lastSeen (PresenceTable) is raised to when it closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from courier.dynamo import is_condition_failure
from courier.tables import Tables


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user: str
    device: str
    connected_at: int = 0  # ms (API Gateway's connectedAt); 0 where not read
    active_at: int = 0  # ms: the last moment Courier knew it alive (connectedAt at first)


def store_connection(
    tables: Tables, connection: Connection, connected_at_ms: int, ttl_seconds: int
) -> None:
    tables.connections(
        user_id=connection.user,
        connection_id=connection.connection_id,
        device_id=connection.device,
        connected_at=connected_at_ms,
        active_at=connected_at_ms,
        expires_at=connected_at_ms // 1000 + ttl_seconds,
    ).save()


def record_last_seen(tables: Tables, user: str, closed_at_ms: int) -> None:
    """Raise the user's lastSeen to `closed_at_ms`, never lower it: one conditional
    UpdateItem, so that devices closing at once leave the latest close, whatever order
    their writes land in."""
    rows = tables.presence
    condition = rows.last_seen.does_not_exist() | (rows.last_seen < closed_at_ms)
    try:
        rows(user).update(actions=[rows.last_seen.set(closed_at_ms)], condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def close_connection(tables: Tables, connection: Connection, closed_at_ms: int) -> None:
    """The connection has ended: record when it closed, then forget its row.

    In that order: presence that finds no row must find the lastSeen of the close. The
    other way round, a presence call between the two writes reported the user offline
    with no lastSeen (or an older one). A function dying between them leaves a row that
    presence judges stale and deletes (courier.presence)."""
    record_last_seen(tables, connection.user, closed_at_ms)
    tables.connections(connection.user, connection.connection_id).delete()


def connections_of(tables: Tables, user: str) -> list[Connection]:
    """Every stored connection of a user: one Query on the user's key (never a Scan)."""
    return [
        Connection(
            connection_id=row.connection_id,
            user=row.user_id,
            device=row.device_id,
            connected_at=int(row.connected_at),
            active_at=int(row.active_at or row.connected_at),
        )
        for row in tables.connections.query(user, consistent_read=True)
    ]
