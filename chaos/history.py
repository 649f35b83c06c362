"""What a run did and saw: the input of the checker, plain data.

Devices are named `user/device`. Cursor keys are `("read", user, channel)` for a user's
read cursor and `("ack", user, device, channel)` for a device's ack cursor.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CursorKey = tuple[str, ...]


def device_name(user: str, device: str) -> str:
    return f"{user}/{device}"


def user_of(device: str) -> str:
    return device.split("/", 1)[0]


@dataclass(frozen=True)
class Attempt:
    """A message a device asked its SDK to send."""

    device: str
    client_msg_no: str
    channel: str
    body: Any


@dataclass(frozen=True)
class Sendack:
    device: str
    client_msg_no: str
    channel: str
    seq: int
    message_id: str


@dataclass(frozen=True)
class Message:
    """A stored message, on the server or in a device's store."""

    channel: str
    seq: int
    message_id: str
    sender: str
    client_msg_no: str
    body: Any


@dataclass(frozen=True)
class Read:
    """The user read `channel` up to `seq` on `device`: the truth of their read cursor."""

    device: str
    channel: str
    seq: int


@dataclass
class History:
    max_retries: int
    members: dict[str, list[str]]  # channel -> users (DMs with messages, and groups)
    devices: dict[str, list[str]]  # user -> devices (`user/device`)
    attempts: list[Attempt] = field(default_factory=list)
    sendacks: list[Sendack] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    # each `message` event a device's SDK emitted, in order
    shown: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # `message` frames the server sent each device, (channel, seq) -> copies
    copies: dict[str, Counter[tuple[str, int]]] = field(default_factory=dict)
    # cursor values in the order each source observed them (a device, the server's table)
    cursors: dict[str, list[tuple[CursorKey, int]]] = field(default_factory=dict)
    # after the drain
    server_messages: list[Message] = field(default_factory=list)
    last_seq: dict[str, int] = field(default_factory=dict)
    stores: dict[str, list[Message]] = field(default_factory=dict)
    device_unread: dict[str, dict[str, int]] = field(default_factory=dict)
    # the unread of each conversation in the server's `sync` reply to each device's final catch-up
    server_unread: dict[str, dict[str, int]] = field(default_factory=dict)
    outbox_left: dict[str, list[str]] = field(default_factory=dict)
    # the server's read cursor of each (user, channel)
    server_reads: dict[tuple[str, str], int] = field(default_factory=dict)
    # evidence only: the highest read seq of each (user, channel) that reached the server
    reads_sent: dict[tuple[str, str], int] = field(default_factory=dict)
