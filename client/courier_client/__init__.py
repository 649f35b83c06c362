"""Courier reference client SDK: asyncio + aiohttp + a local SQLite store."""

from courier_client.client import CourierClient
from courier_client.mentions import InvalidMentions
from courier_client.store import Store
from courier_client.user_ids import InvalidUserIds

__all__ = ["CourierClient", "InvalidMentions", "InvalidUserIds", "Store"]
