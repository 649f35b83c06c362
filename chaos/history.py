"""What a run did and saw: the input of the checker, plain data.

Devices are named `user/device`. Cursor keys are `("read", user, channel)` for a user's
read cursor and `("ack", user, device, channel)` for a device's ack cursor.

Times are milliseconds of the wall clock, the clock the server stamps a message's `ts`
with (courier/runtime.py `wall_clock_ms`): the stack runs in the harness's process.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CursorKey = tuple[str, ...]


def device_name(user: str, device: str) -> str:
    return f"{user}/{device}"


def user_of(device: str) -> str:
    return device.split("/", 1)[0]


def dm_users(channel: str) -> tuple[str, str] | None:
    """The two users of a DM id (`dm:alice:bob`); None for any other channel."""
    parts = channel.split(":")
    if len(parts) != 3 or parts[0] != "dm":
        return None
    return parts[1], parts[2]


def now_ms() -> int:
    """The server's clock (courier/runtime.py `wall_clock_ms`), read in the same process."""
    return time.time_ns() // 1_000_000


Key = tuple[str, int]  # (channel, seq): one message


@dataclass(frozen=True)
class Attempt:
    """A message a device asked its SDK to send."""

    device: str
    client_msg_no: str
    channel: str
    body: Any
    mentions: tuple[str, ...] = ()


NO_ANSWER = "no answer"  # the request went out (or may have): no reply came in time


@dataclass(frozen=True)
class Request:
    """A recall, an edit or a mute a device asked of the server, and what it answered:
    `answer` is the reply's type (`recall`, `edit`, `mute`), the error's code
    (`forbidden`...) or NO_ANSWER. `sent` and `answered` bracket when the server did it
    (if it did): it cannot have been before `sent`, nor after `answered`."""

    device: str
    channel: str
    sent: int
    answer: str = NO_ANSWER
    answered: int | None = None

    @property
    def granted(self) -> bool:
        return self.answer in ("recall", "edit", "mute")


@dataclass(frozen=True)
class Recall(Request):
    seq: int = 0


@dataclass(frozen=True)
class Edit(Request):
    seq: int = 0
    body: Any = None
    version: int | None = None  # the reply's


@dataclass(frozen=True)
class Mute(Request):
    muted: bool = True


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
    body: Any  # None once recalled
    ts: int = 0  # the server's timestamp (ms): taken just before its transaction commits
    mentions: tuple[str, ...] = ()
    recalled: bool = False
    version: int = 0  # edits so far


@dataclass(frozen=True)
class Entry:
    """A conversation entry of a `sync` reply, as far as the checks need it."""

    unread: int
    mentions: int = 0
    muted: bool = False


@dataclass(frozen=True)
class Read:
    """The user read `channel` up to `seq` on `device`: the truth of their read cursor."""

    device: str
    channel: str
    seq: int


@dataclass(frozen=True)
class Receipt:
    """A `receipt` frame the server sent a device: `user`'s read cursor in `channel` moved
    to `read_seq`."""

    device: str
    channel: str
    user: str
    read_seq: int
    at: int
    delivered: bool = True  # False: the harness's network dropped it


@dataclass(frozen=True)
class CursorSeen:
    """A value of `user`'s read cursor in `channel` the server told `device`. `how`:
    `read` (a `read` frame: a reply, or another device's read), `sync` (the readSeq of a
    sync reply or a conversation entry, at most its lastSeq) or `peerReadSeq` (a DM
    conversation entry's, about the peer)."""

    device: str
    user: str
    channel: str
    value: int
    how: str


@dataclass(frozen=True)
class ReadReply:
    """The reply to a `read` frame a device sent: the cursor the server answered for the
    read of `asked`."""

    device: str
    channel: str
    asked: int
    read_seq: int


@dataclass(frozen=True)
class Push:
    """A notification the notifier published to the topic."""

    user: str
    channel: str
    seq: int  # the channel's latest message when it was published
    at: int
    started: int = 0  # when the notifier's invocation began: it read the channel after


@dataclass(frozen=True)
class Connection:
    """One connection of a device through the harness's network: open from when the
    gateway accepted it ($connect done: the server knows it) until it was cut or closed
    (None: still open when the run ended)."""

    opened: int
    closed: int | None = None


@dataclass(frozen=True)
class Frame:
    """A `message` frame the server sent a device, on arrival from the gateway."""

    at: int
    link: int  # the device's connection it came on (`Liveness.links`)
    delivered: bool  # False: the harness's network dropped it


@dataclass
class Liveness:
    """When things reached devices and users: the input of the liveness checks.

    `live_ms`: how long after a message's commit a device connected all along may take
    to get it (the retry schedule, a failed batch's visibility timeout, the pollers' lag;
    `fanout_ms` more in a fanned-out channel).
    `decide_ms`: how long after the commit the server may take to notice which members
    are offline (for the stream worker: the stream's lag); a member offline from
    `offline_margin_ms` before the commit until `decide_ms` after it is offline to the
    server, whenever it looked. `pushes` None: the run did not observe the topic.
    """

    live_ms: int
    decide_ms: int
    offline_margin_ms: int
    # channel -> more time its messages may take: a channel above the inline fan-out
    # limit is delivered by a plan job and then a chunk job, and each may fail once and
    # come back after the visibility timeout (one more than live_ms allows)
    fanout_ms: dict[str, int] = field(default_factory=dict)
    links: dict[str, dict[int, Connection]] = field(
        default_factory=dict
    )  # device -> number -> link
    frames: dict[str, dict[Key, list[Frame]]] = field(default_factory=dict)
    # device -> message -> (when, link) of the first `messages` sync reply holding it that
    # reached the device
    synced: dict[str, dict[Key, tuple[int, int]]] = field(default_factory=dict)
    # (user, channel, seq, when): each `read` frame that reached the server
    reads: list[tuple[str, str, int, int]] = field(default_factory=list)
    pushes: list[Push] | None = None
    ended: int = 0  # when the observation ended: links still open are open until then
    notified: int | None = None  # when the drain had run every notification job


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
    # each conversation entry of the server's `sync` reply to each device's final catch-up
    server_entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    server_total: dict[str, int] = field(default_factory=dict)  # that reply's totalUnread
    outbox_left: dict[str, list[str]] = field(default_factory=dict)
    # the server's read cursor of each (user, channel)
    server_reads: dict[tuple[str, str], int] = field(default_factory=dict)
    # v1.1: the stack's COURIER_RECALL_SECONDS, what the devices asked, and after the
    # drain what the server and the devices hold
    recall_seconds: int = 120
    recalls: list[Recall] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    mutes: list[Mute] = field(default_factory=list)
    server_recalled: dict[str, set[int]] = field(default_factory=dict)  # channel rows
    server_muted: dict[tuple[str, str], bool] = field(default_factory=dict)  # (user, channel)
    device_mentions: dict[str, dict[str, int]] = field(default_factory=dict)
    device_muted: dict[str, dict[str, bool]] = field(default_factory=dict)
    device_total: dict[str, int] = field(default_factory=dict)
    # the revisions each device's SDK gave its store (chaos/device.py `NotedStore`): the
    # highest version of each message, and the recalled messages
    versions_seen: dict[str, dict[Key, int]] = field(default_factory=dict)
    recalls_seen: dict[str, set[Key]] = field(default_factory=dict)
    # evidence only: the highest read seq of each (user, channel) that reached the server
    reads_sent: dict[tuple[str, str], int] = field(default_factory=dict)
    # what the receipts check judges (chaos/receipts_check.py), noted by the network:
    # every `receipt` frame the server sent a device, every read cursor value it told one,
    # the replies to reads, and (user, channel, seq) each `read` frame that reached it
    receipts: list[Receipt] = field(default_factory=list)
    cursors_seen: list[CursorSeen] = field(default_factory=list)
    read_replies: list[ReadReply] = field(default_factory=list)
    read_frames: list[tuple[str, str, int]] = field(default_factory=list)
    # None: the run did not observe when things reached devices and users
    liveness: Liveness | None = None
