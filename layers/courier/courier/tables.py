"""Courier's tables, bound to their names from the settings, behind one DynamoDB client.

`bind_tables(settings)` runs when a container starts (runtime.services): it names each
model's table and points every model at one shared PynamoDB connection. PynamoDB would
otherwise open a botocore session and client per table (a send touches four tables: four
clients to build on a cold start); one is enough, and the few calls PynamoDB cannot
express go through that same client (`Tables.client`).
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import Any

from pynamodb.connection import Connection

from courier.models import (
    MODELS,
    Acks,
    Channels,
    Connections,
    CourierModel,
    Dedup,
    Memberships,
    Messages,
    Notifications,
    Presence,
    Retries,
)
from courier.settings import Settings

# The client's behaviour, as the other AWS clients of the layer (runtime._build_client).
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
MAX_RETRY_ATTEMPTS = 2  # retries after the first attempt: 3 attempts in all
MAX_POOL_CONNECTIONS = 32


class SharedConnection(Connection):
    """A PynamoDB connection whose client is built once, whichever thread asks first
    (the local stack runs many invocations at once in one process)."""

    _lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            return super().client


@dataclass(frozen=True)
class Tables:
    """The bound models, passed to every data function, and the client they share."""

    connection: SharedConnection
    connections: type[Connections] = Connections
    channels: type[Channels] = Channels
    messages: type[Messages] = Messages
    memberships: type[Memberships] = Memberships
    dedup: type[Dedup] = Dedup
    acks: type[Acks] = Acks
    retries: type[Retries] = Retries
    notifications: type[Notifications] = Notifications
    presence: type[Presence] = Presence

    @property
    def client(self) -> Any:
        """The botocore DynamoDB client, for the calls PynamoDB cannot make (each says why)."""
        return self.connection.client

    @classmethod
    def from_settings(cls, settings: Settings) -> Tables:
        return bind_tables(settings)


def _table_names(settings: Settings) -> dict[type[CourierModel], str]:
    return {
        Connections: settings.connections_table,
        Channels: settings.channels_table,
        Messages: settings.messages_table,
        Memberships: settings.memberships_table,
        Dedup: settings.dedup_table,
        Acks: settings.acks_table,
        Retries: settings.retries_table,
        Notifications: settings.notifications_table,
        Presence: settings.presence_table,
    }


@cache
def shared_connection(region: str | None) -> SharedConnection:
    """One connection (one client) per container; tests rebind tables, not clients."""
    return SharedConnection(
        region=region,
        connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds=READ_TIMEOUT_SECONDS,
        max_retry_attempts=MAX_RETRY_ATTEMPTS,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


_binding = threading.Lock()


def bind_tables(settings: Settings) -> Tables:
    """Name every model's table and share one connection between them (once: binding again
    to the same names changes nothing, so invocations running meanwhile are undisturbed)."""
    connection = shared_connection(settings.aws_region)
    with _binding:
        for model, name in _table_names(settings).items():
            bound = model._connection
            if model.Meta.table_name == name and bound and bound.connection is connection:
                continue
            model.Meta.table_name = name
            model._connection = None
            table = model._get_connection()
            with suppress(ValueError):  # PynamoDB refuses a table twice: same schema
                connection.add_meta_table(table.get_meta_table())
            table.connection = connection
    return Tables(connection=connection)


def unbind_tables() -> None:
    """Forget the names and the connection (tests, and the local stack between stacks)."""
    for model in MODELS:
        model.Meta.table_name = None
        model._connection = None


def table_name(model: type[CourierModel]) -> str:
    """The name a model's table was bound to (bind_tables)."""
    name = model.Meta.table_name
    if name is None:
        raise RuntimeError(f"{model.__name__} is not bound to a table: call bind_tables first")
    return name


def device_key(user: str, device: str) -> str:
    """Key of a device's rows; `#` cannot occur in user or device ids."""
    return f"{user}#{device}"
