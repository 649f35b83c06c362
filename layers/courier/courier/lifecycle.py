"""$connect and $disconnect: a connection record lives exactly as long as the socket, and
its close raises the user's lastSeen."""

from __future__ import annotations

from typing import Any

from courier.connections import Connection, close_connection, store_connection
from courier.errors import ProtocolError
from courier.runtime import Services
from courier.websocket import caller_of


def on_connect(svc: Services, event: dict[str, Any]) -> dict[str, Any]:
    try:
        caller = caller_of(event)
    except ProtocolError:
        return {"statusCode": 403}
    context = event.get("requestContext") or {}
    connected_at = context.get("connectedAt")
    if not isinstance(connected_at, int):
        connected_at = svc.now_ms()
    store_connection(
        svc.tables,
        Connection(connection_id=caller.connection_id, user=caller.user, device=caller.device),
        connected_at_ms=connected_at,
        ttl_seconds=svc.settings.connection_ttl_seconds,
    )
    return {"statusCode": 200}


def on_disconnect(svc: Services, event: dict[str, Any]) -> dict[str, Any]:
    """Forget the connection and record lastSeen = now (no read first: while the user has
    other connections lastSeen is not shown, and once none is left the latest close is
    the last one's); without an authorizer context there is nothing stored (and the
    row's TTL would reap it anyway)."""
    try:
        caller = caller_of(event)
    except ProtocolError:
        return {"statusCode": 200}
    connection = Connection(caller.connection_id, caller.user, caller.device)
    close_connection(svc.tables, connection, svc.now_ms())
    return {"statusCode": 200}
