"""The DynamoDB client and the names of Courier's tables, passed to every data function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courier.settings import Settings


@dataclass(frozen=True)
class Tables:
    client: Any
    connections: str
    channels: str
    messages: str
    memberships: str
    dedup: str
    acks: str
    retries: str
    notifications: str

    @classmethod
    def from_settings(cls, client: Any, settings: Settings) -> Tables:
        return cls(
            client=client,
            connections=settings.connections_table,
            channels=settings.channels_table,
            messages=settings.messages_table,
            memberships=settings.memberships_table,
            dedup=settings.dedup_table,
            acks=settings.acks_table,
            retries=settings.retries_table,
            notifications=settings.notifications_table,
        )


def device_key(user: str, device: str) -> str:
    """Key of a device's rows; `#` cannot occur in user or device ids."""
    return f"{user}#{device}"


def batch_get(tables: Tables, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """BatchGetItem until DynamoDB has answered every key (it may return some unprocessed)."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in request}
    pending = request
    while pending:
        reply = tables.client.batch_get_item(RequestItems=pending)
        for name, items in reply.get("Responses", {}).items():
            found[name].extend(items)
        pending = reply.get("UnprocessedKeys") or {}
    return found
