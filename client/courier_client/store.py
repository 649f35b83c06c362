"""The client's durable state in SQLite: messages, per-channel cursors and the outbox.

Unread is always computed from the cursors and the stored messages, never counted up per
frame, so a frame delivered twice can never change it. A seq whose message expired on the
server (retention) before this device fetched it is recorded as such, so the contiguous
prefix, and with it the acks, can move past it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    client_msg_no TEXT,
    body TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (channel, seq)
);
CREATE TABLE IF NOT EXISTS cursors (
    channel TEXT PRIMARY KEY,
    read_seq INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS expired (
    channel TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    client_msg_no TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    body TEXT NOT NULL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxEntry:
    client_msg_no: str
    channel: str
    body: Any
    created: float


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class Store:
    """SQLite state at `path` (":memory:" for a throwaway store)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scalar(self, sql: str, *args: Any) -> Any:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    # messages

    def add_message(self, channel: str, message: Mapping[str, Any]) -> bool:
        """Store a message (a `message` frame or a `sync` item); False if (channel, seq) is held."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO messages"
            " (channel, seq, message_id, sender, client_msg_no, body, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                channel,
                int(message["seq"]),
                str(message["messageId"]),
                str(message["from"]),
                message.get("clientMsgNo"),
                _dump(message.get("body")),
                int(message["ts"]),
            ),
        )
        return cursor.rowcount == 1

    def messages(self, channel: str) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT seq, message_id, sender, client_msg_no, body, ts FROM messages"
            " WHERE channel = ? ORDER BY seq",
            (channel,),
        ).fetchall()
        return [
            {
                "channel": channel,
                "seq": seq,
                "messageId": message_id,
                "from": sender,
                "clientMsgNo": client_msg_no,
                "body": json.loads(body),
                "ts": ts,
            }
            for seq, message_id, sender, client_msg_no, body, ts in rows
        ]

    def max_seq(self, channel: str) -> int:
        return int(
            self._scalar("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE channel = ?", channel)
        )

    def contiguous_prefix(self, channel: str) -> int:
        """The highest n such that every message 1..n of the channel is stored or expired
        (0 if none)."""
        prefix = self.expired_through(channel)
        for (seq,) in self._db.execute(
            "SELECT seq FROM messages WHERE channel = ? AND seq > ? ORDER BY seq",
            (channel, prefix),
        ):
            if seq != prefix + 1:
                break
            prefix = seq
        return prefix

    def mark_expired_through(self, channel: str, seq: int) -> None:
        """Every seq up to `seq` not stored here has expired on the server: `sync` will
        never return it (never moves backwards)."""
        self._db.execute(
            "INSERT INTO expired (channel, through_seq) VALUES (?, ?) ON CONFLICT (channel)"
            " DO UPDATE SET through_seq = MAX(through_seq, excluded.through_seq)",
            (channel, seq),
        )

    def expired_through(self, channel: str) -> int:
        value = self._scalar("SELECT through_seq FROM expired WHERE channel = ?", channel)
        return 0 if value is None else int(value)

    # cursors

    def _ensure(self, channel: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO cursors (channel) VALUES (?)", (channel,))

    def set_last_seq(self, channel: str, last_seq: int) -> None:
        """Record the channel's lastSeq as known from the server (never moves backwards)."""
        self._ensure(channel)
        self._db.execute(
            "UPDATE cursors SET last_seq = MAX(last_seq, ?) WHERE channel = ?", (last_seq, channel)
        )

    def set_read_seq(self, channel: str, read_seq: int) -> None:
        """Move the read cursor forward (never backwards)."""
        self._ensure(channel)
        self._db.execute(
            "UPDATE cursors SET read_seq = MAX(read_seq, ?) WHERE channel = ?", (read_seq, channel)
        )

    def read_seq(self, channel: str) -> int:
        value = self._scalar("SELECT read_seq FROM cursors WHERE channel = ?", channel)
        return 0 if value is None else int(value)

    def last_seq(self, channel: str) -> int:
        """The highest seq known: the server's lastSeq or a stored message, whichever is higher."""
        known = self._scalar("SELECT last_seq FROM cursors WHERE channel = ?", channel)
        return max(0 if known is None else int(known), self.max_seq(channel))

    def unread(self, channel: str) -> int:
        return max(0, self.last_seq(channel) - self.read_seq(channel))

    def channels(self) -> list[str]:
        rows = self._db.execute(
            "SELECT channel FROM cursors UNION SELECT DISTINCT channel FROM messages ORDER BY 1"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def total_unread(self) -> int:
        return sum(self.unread(channel) for channel in self.channels())

    # outbox

    def outbox_add(self, client_msg_no: str, channel: str, body: Any) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (client_msg_no, channel, body, created)"
            " VALUES (?, ?, ?, ?)",
            (client_msg_no, channel, _dump(body), time.time()),
        )

    def outbox_remove(self, client_msg_no: str) -> OutboxEntry | None:
        """Drop an entry; returns it, or None if it was not there."""
        entry = self.outbox_get(client_msg_no)
        if entry is not None:
            self._db.execute("DELETE FROM outbox WHERE client_msg_no = ?", (client_msg_no,))
        return entry

    def outbox_get(self, client_msg_no: str) -> OutboxEntry | None:
        row = self._db.execute(
            "SELECT client_msg_no, channel, body, created FROM outbox WHERE client_msg_no = ?",
            (client_msg_no,),
        ).fetchone()
        return None if row is None else OutboxEntry(row[0], row[1], json.loads(row[2]), row[3])

    def outbox(self) -> list[OutboxEntry]:
        rows = self._db.execute(
            "SELECT client_msg_no, channel, body, created FROM outbox ORDER BY created, rowid"
        ).fetchall()
        return [OutboxEntry(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]
