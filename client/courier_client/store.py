"""The client's durable state in SQLite: messages, per-channel cursors, the outbox and the
reads the server does not hold yet.

Unread is always computed from the cursors and the stored messages, never counted up per
frame, so a frame delivered twice can never change it. A seq whose message expired on the
server (retention) before this device fetched it is recorded as such, so the contiguous
prefix, and with it the acks, can move past it.

What the user did is kept until the server holds it: the outbox (messages typed) until
their sendack, and each channel's wanted read (read up to n) until the server reports a
read cursor of at least n. Both survive a restart of the app (the file) and a server that
lost its state (`forget_server`).
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
CREATE TABLE IF NOT EXISTS wanted_reads (
    channel TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS read_anchors (
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (channel, seq)
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
        """Store a message (a `message` frame or a `sync` item); False if (channel, seq) is held.

        A message at the seq of a read anchor (`forget_server`) settles it: the very message
        read brings the read back up to it, any other one drops the anchors from it on."""
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
        if cursor.rowcount != 1:
            return False
        self._settle_anchor(channel, int(message["seq"]), str(message["messageId"]))
        return True

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
        never return it (never moves backwards). A read anchor there can no longer settle."""
        self._db.execute(
            "INSERT INTO expired (channel, through_seq) VALUES (?, ?) ON CONFLICT (channel)"
            " DO UPDATE SET through_seq = MAX(through_seq, excluded.through_seq)",
            (channel, seq),
        )
        self._db.execute("DELETE FROM read_anchors WHERE channel = ? AND seq <= ?", (channel, seq))

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

    # reads the server does not hold yet

    def want_read(self, channel: str, seq: int) -> None:
        """The user read the channel up to `seq`: keep it until the server holds it (the
        wanted read only grows)."""
        if seq <= 0:
            return
        self._db.execute(
            "INSERT INTO wanted_reads (channel, seq) VALUES (?, ?) ON CONFLICT (channel)"
            " DO UPDATE SET seq = MAX(seq, excluded.seq)",
            (channel, seq),
        )

    def wanted_read(self, channel: str) -> int:
        """The seq the user read up to that the server does not hold yet (0: none)."""
        value = self._scalar("SELECT seq FROM wanted_reads WHERE channel = ?", channel)
        return 0 if value is None else int(value)

    def wanted_reads(self) -> dict[str, int]:
        """channel → wanted read, for every channel with one."""
        rows = self._db.execute("SELECT channel, seq FROM wanted_reads ORDER BY channel")
        return {str(channel): int(seq) for channel, seq in rows}

    def read_confirmed(self, channel: str, read_seq: int) -> None:
        """The server reports the user's read cursor at `read_seq` (a `read` frame, a
        sync reply, a sendack): the local cursor moves there (never backwards), and a
        wanted read it covers is held, so forgotten."""
        self.set_read_seq(channel, read_seq)
        self._db.execute(
            "DELETE FROM wanted_reads WHERE channel = ? AND seq <= ?", (channel, read_seq)
        )

    def drop_wanted_read(self, channel: str, seq: int) -> None:
        """Give up a wanted read of at most `seq`: the server cannot hold it (it refused
        the read, or clamped it to a lastSeq below `seq`). A higher one is kept."""
        self._db.execute("DELETE FROM wanted_reads WHERE channel = ? AND seq <= ?", (channel, seq))

    def read_anchors(self, channel: str) -> dict[int, str]:
        """seq → messageId of the messages read on a server that lost its state, waiting for
        the new server's messages at those seqs (`forget_server`)."""
        rows = self._db.execute(
            "SELECT seq, message_id FROM read_anchors WHERE channel = ? ORDER BY seq", (channel,)
        )
        return {int(seq): str(message_id) for seq, message_id in rows}

    def _settle_anchor(self, channel: str, seq: int, message_id: str) -> None:
        read = self._scalar(
            "SELECT message_id FROM read_anchors WHERE channel = ? AND seq = ?", channel, seq
        )
        if read is None:
            return
        if read != message_id:  # the histories part here: nothing from here on was read
            self._db.execute(
                "DELETE FROM read_anchors WHERE channel = ? AND seq >= ?", (channel, seq)
            )
            return
        self._db.execute("DELETE FROM read_anchors WHERE channel = ? AND seq <= ?", (channel, seq))
        if self.read_seq(channel) < seq:
            self.set_read_seq(channel, seq)
            self.want_read(channel, seq)

    # the server lost its state

    def witness(self) -> dict[str, Any] | None:
        """A stored message to recognise the server by (its messageId is random, so only
        the server that numbered it holds it at its seq): the newest message of a DM, or,
        without one, the newest of any channel (a group can be gone for other reasons: a
        member removed gets `forbidden`). None for a store without messages."""
        row = self._db.execute(
            "SELECT channel, seq, message_id FROM messages"
            " ORDER BY substr(channel, 1, 3) = 'dm:' DESC, ts DESC, seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return {"channel": str(row[0]), "seq": int(row[1]), "messageId": str(row[2])}

    def forget_server(self) -> None:
        """The server no longer holds what this store got from it (the local stack restarted
        empty, or another server answers at the address): drop what came from the server,
        keep what the user did.

        - Messages, cursors and expiry records go: the new server numbers its own messages
          from 1, and its seq n is not the old server's seq n.
        - The outbox stays, to be sent again with the same clientMsgNo (on a server without
          their dedup records they become new messages).
        - Reads stay as anchors: the (seq, messageId) of every stored message the channel's
          read cursor covers (a read of the user's, waiting or held, or of another device).
          A read of seq n means "the messages seen up to n", so on the new server it holds
          up to the highest seq m <= n whose message there is the very one read (same
          messageId: a server restored from a backup of the same history); seqs the new
          server does not have, or numbers differently, cannot be held. Each message of the
          new server settles its seq when it arrives (`add_message`): the same messageId
          brings the read back up to it, as a wanted read sent and kept until the server
          holds it; another messageId drops the anchors from that seq on; a seq expiring
          drops its anchors. Against a server that restarted empty every message is new and
          unseen, so no old read is sent to it: that would mark unseen messages read.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO read_anchors (channel, seq, message_id)"
                " SELECT m.channel, m.seq, m.message_id FROM messages AS m JOIN"
                " (SELECT channel, MAX(seq) AS seq FROM"
                "  (SELECT channel, read_seq AS seq FROM cursors"
                "   UNION ALL SELECT channel, seq FROM wanted_reads) GROUP BY channel) AS r"
                " ON m.channel = r.channel AND m.seq <= r.seq"
            )
            for table in ("messages", "cursors", "expired", "wanted_reads"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 (names from this code)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
