"""Presence: whether a user is online (at least one live connection), and when their last
connection closed (lastSeen).

A stored connection row can outlive its socket: API Gateway delivers $disconnect best
effort, and cuts connections after 10 minutes idle and after 2 hours. So presence judges
every row before believing it:

- connectedAt 2 h ago or more: dead (API Gateway's limit), without any call;
- activeAt (the last moment Courier knew it alive) within the last 10 minutes: alive,
  without any call;
- otherwise API Gateway is asked (GetConnection): 410, dead; 200, alive, and activeAt
  becomes now, so that presence within the next 10 minutes costs no call.

A dead row is deleted and the user's lastSeen raised to its activeAt: when it really
closed is unknown, activeAt is the last moment it was known open. A connection that died
without $disconnect is thus reported online for at most 10 minutes after its activeAt
(docs/protocol.md, "v1.1, part 2: presence"). The row's TTL (expiresAt, connectedAt plus
COURIER_CONNECTION_TTL_SECONDS, at least 2 h) never decides sooner than the 2-hour rule;
it reaps rows nobody asks about.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from pynamodb.exceptions import UpdateError

from courier.connections import Connection, close_connection, connections_of
from courier.contacts import shared_with
from courier.dynamo import is_condition_failure
from courier.errors import invalid
from courier.ids import is_name
from courier.runtime import Services

IDLE_MS = 10 * 60 * 1000  # API Gateway's idle timeout
MAX_CONNECTION_MS = 2 * 3600 * 1000  # API Gateway's connection limit
MAX_USERS = 100
PARALLEL_USERS = 16

T = TypeVar("T")


def users_field(frame: dict[str, Any]) -> list[str]:
    """The `users` of a presence frame: 1 to MAX_USERS distinct user ids."""
    users = frame.get("users")
    if not isinstance(users, list) or not 1 <= len(users) <= MAX_USERS:
        raise invalid(f"users must be a list of 1 to {MAX_USERS} user ids")
    if not all(is_name(user) for user in users):
        raise invalid("users must be user ids ([A-Za-z0-9_.-]{1,64})")
    if len(set(users)) != len(users):
        raise invalid("users must not name a user twice")
    return users


def mark_active(svc: Services, connection: Connection, now: int) -> None:
    """activeAt = now on the row, unless $disconnect deleted it meanwhile (the condition
    keeps the write from bringing a deleted row back)."""
    rows = svc.tables.connections
    try:
        rows(connection.user, connection.connection_id).update(
            actions=[rows.active_at.set(now)], condition=rows.connected_at.exists()
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def is_online(svc: Services, user: str, now: int) -> bool:
    """Whether one of the user's stored connections is alive; the dead ones met on the
    way are deleted, their activeAt recorded as lastSeen."""
    stale: list[Connection] = []
    rest: list[Connection] = []
    for connection in connections_of(svc.tables, user):
        expired = now - connection.connected_at >= MAX_CONNECTION_MS
        (stale if expired else rest).append(connection)
    online = any(now - c.active_at < IDLE_MS for c in rest)
    for connection in [] if online else rest:
        if svc.poster.connection_alive(connection.connection_id):
            mark_active(svc, connection, now)
            online = True
            break
        stale.append(connection)
    for connection in stale:
        close_connection(svc.tables, connection, connection.active_at)
    if stale:
        svc.metrics.add_metric(name="StaleConnections", unit=MetricUnit.Count, value=len(stale))
    return online


def _each(work: Callable[[str], T], users: list[str]) -> list[T]:
    if len(users) <= 2:
        return [work(user) for user in users]
    with ThreadPoolExecutor(max_workers=min(PARALLEL_USERS, len(users))) as pool:
        return list(pool.map(work, users))


def presence_frame(svc: Services, caller: str, users: list[str]) -> dict[str, Any]:
    """The `presence` reply: the asked users who share a conversation with the caller (the
    caller never among them), online or not, and lastSeen for those offline."""
    reported = shared_with(svc.tables, caller, [user for user in users if user != caller])
    now = svc.now_ms()
    online = dict(
        zip(reported, _each(lambda user: is_online(svc, user, now), reported), strict=True)
    )
    offline = [user for user in reported if not online[user]]
    rows = svc.tables.presence.batch_get(offline, consistent_read=True) if offline else []
    last_seen = {row.user_id: int(row.last_seen) for row in rows if row.last_seen is not None}
    statuses: dict[str, dict[str, Any]] = {}
    for user in reported:
        seen = {} if online[user] or user not in last_seen else {"lastSeen": last_seen[user]}
        statuses[user] = {"online": online[user], **seen}
    return {"type": "presence", "users": statuses}
