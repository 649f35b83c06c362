"""$connect and $disconnect: a connection record lives exactly as long as the socket."""

from __future__ import annotations

from typing import Any

from courier.connections import Connection, forget_connection, store_connection
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
    """Forget the connection; without an authorizer context there is nothing stored
    (and the row's TTL would reap it anyway)."""
    try:
        caller = caller_of(event)
    except ProtocolError:
        return {"statusCode": 200}
    forget_connection(svc.tables, caller.user, caller.connection_id)
    return {"statusCode": 200}
