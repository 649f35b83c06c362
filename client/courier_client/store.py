"""The client's durable state in SQLite: messages, per-channel cursors, the outbox and the
reads the server does not hold yet.

Unread is always computed from the cursors and the stored messages, never counted up per
frame, so a frame delivered twice can never change it: the messages after the read cursor,
up to lastSeq, that are not recalled (protocol v1.1); muted channels are left out of the
total. A recall or an edit of a message not stored yet (it arrives late, or expired) is
kept as an early change and merged into the message when it comes, so what a message ends
up as never depends on the order its frames arrived in (`revisions.latest`).

A seq whose message expired on the server (retention) before this device fetched it is
recorded as such, so the contiguous prefix, and with it the acks, can move past it.

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

from courier_client.revisions import Revision, latest

# The tables as the first release made them; MIGRATIONS[n] brings a store at
# `PRAGMA user_version` n to n + 1, so a file written by any release opens in this one.
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
MIGRATIONS = (
    # protocol v1.1: recall, edit, mentions, mute
    """
    ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN recalled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN edited_at INTEGER;
    ALTER TABLE cursors ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
    CREATE TABLE early_changes (
        channel TEXT NOT NULL,
        seq INTEGER NOT NULL,
        recalled INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        edited_at INTEGER,
        PRIMARY KEY (channel, seq)
    );
    """,
    # protocol v1.1 part 2: a DM peer's read cursor
    "ALTER TABLE cursors ADD COLUMN peer_read_seq INTEGER NOT NULL DEFAULT 0",
)


@dataclass(frozen=True)
class OutboxEntry:
    client_msg_no: str
    channel: str
    body: Any
    created: float
    mentions: tuple[str, ...] = ()


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _revision(row: tuple[Any, ...]) -> Revision:
    recalled, version, body, edited_at = row
    return Revision(bool(recalled), int(version), json.loads(body), edited_at)


def _outbox_entry(row: tuple[Any, ...]) -> OutboxEntry:
    client_msg_no, channel, body, created, mentions = row
    return OutboxEntry(
        client_msg_no, channel, json.loads(body), created, tuple(json.loads(mentions))
    )


class Store:
    """SQLite state at `path` (":memory:" for a throwaway store)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(SCHEMA)
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scalar(self, sql: str, *args: Any) -> Any:
        row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def _migrate(self) -> None:
        """Bring the file up to this release's tables, in one transaction (another process
        opening the same file at once waits, then finds it done)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            at = int(self._scalar("PRAGMA user_version"))
            for script in MIGRATIONS[at:]:
                for statement in script.split(";"):
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {max(at, len(MIGRATIONS))}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # messages

    def add_message(self, channel: str, message: Mapping[str, Any]) -> bool:
        """Store a message (a `message` frame, a `sync` item or a `lastMessage`); False if
        (channel, seq) is held. Its recall or edits, seen here before or with it, are merged
        in either way (`revisions.latest`).

        A message at the seq of a read anchor (`forget_server`) settles it: the very message
        read brings the read back up to it, any other one drops the anchors from it on."""
        seq = int(message["seq"])
        revision = Revision.of(message)
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO messages (channel, seq, message_id, sender, client_msg_no,"
            " body, ts, mentions, recalled, version, edited_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                channel,
                seq,
                str(message["messageId"]),
                str(message["from"]),
                message.get("clientMsgNo"),
                _dump(revision.body),
                int(message["ts"]),
                _dump([] if revision.recalled else list(message.get("mentions") or [])),
                revision.recalled,
                revision.version,
                revision.edited_at,
            ),
        )
        stored = cursor.rowcount == 1
        if not stored:
            self._revise(channel, seq, revision)
        early = self._early_change(channel, seq)
        if early is not None:
            self._db.execute(
                "DELETE FROM early_changes WHERE channel = ? AND seq = ?", (channel, seq)
            )
            self._revise(channel, seq, early)
        if stored:
            self._settle_anchor(channel, seq, str(message["messageId"]))
        return stored

    def recall(self, channel: str, seq: int) -> bool:
        """The message at `seq` is recalled (a `recall` frame); False if that was known."""
        return self._revise(channel, seq, Revision.of({"recalled": True}))

    def revise(self, channel: str, seq: int, carrier: Mapping[str, Any]) -> bool:
        """Keep the revision an `edit` frame or a `lastMessage` carries of the message at
        `seq` if it is the latest; False if it changes nothing (seen before, older, or the
        message is recalled)."""
        return self._revise(channel, seq, Revision.of(carrier))

    def _revise(self, channel: str, seq: int, seen: Revision) -> bool:
        """Keep the latest of the held revision and `seen`, on the stored message or, for a
        message not stored yet, as an early change. True if that changed anything."""
        row = self._db.execute(
            "SELECT recalled, version, body, edited_at FROM messages WHERE channel = ? AND seq = ?",
            (channel, seq),
        ).fetchone()
        if row is None:
            held = self._early_change(channel, seq)
            kept = seen if held is None else latest(held, seen)
            if kept == held:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO early_changes"
                " (channel, seq, recalled, version, body, edited_at) VALUES (?, ?, ?, ?, ?, ?)",
                (channel, seq, kept.recalled, kept.version, _dump(kept.body), kept.edited_at),
            )
            return True
        held = _revision(row)
        kept = latest(held, seen)
        if kept == held:
            return False
        self._db.execute(
            "UPDATE messages SET recalled = ?, version = ?, body = ?, edited_at = ?,"
            " mentions = CASE WHEN ? THEN '[]' ELSE mentions END WHERE channel = ? AND seq = ?",
            (
                kept.recalled,
                kept.version,
                _dump(kept.body),
                kept.edited_at,
                kept.recalled,
                channel,
                seq,
            ),
        )
        return True

    def _early_change(self, channel: str, seq: int) -> Revision | None:
        row = self._db.execute(
            "SELECT recalled, version, body, edited_at FROM early_changes"
            " WHERE channel = ? AND seq = ?",
            (channel, seq),
        ).fetchone()
        return None if row is None else _revision(row)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The stored messages in seq order, each with every field: `body` None and
        `recalled` True for a recalled one, `version` 0 and `editedAt` None for one never
        edited, `mentions` [] for one without."""
        rows = self._db.execute(
            "SELECT seq, message_id, sender, client_msg_no, body, ts, mentions, recalled,"
            " version, edited_at FROM messages WHERE channel = ? ORDER BY seq",
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
                "mentions": json.loads(mentions),
                "recalled": bool(recalled),
                "version": version,
                "editedAt": edited_at,
            }
            for (
                seq,
                message_id,
                sender,
                client_msg_no,
                body,
                ts,
                mentions,
                recalled,
                version,
                edited_at,
            ) in rows
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
        """The messages after the read cursor, up to lastSeq, that are not recalled (a seq
        not stored here counts unless its recall was seen)."""
        return self.unread_in(channel, self.read_seq(channel), self.last_seq(channel))

    def unread_in(self, channel: str, read_seq: int, last_seq: int) -> int:
        """What unread would be with these cursors (a server's, to compare with its count)."""
        if last_seq <= read_seq:
            return 0
        recalled = self._scalar(
            "SELECT COUNT(*) FROM (SELECT seq FROM messages WHERE channel = ?1 AND recalled"
            " AND seq > ?2 AND seq <= ?3 UNION SELECT seq FROM early_changes WHERE"
            " channel = ?1 AND recalled AND seq > ?2 AND seq <= ?3)",
            channel,
            read_seq,
            last_seq,
        )
        return last_seq - read_seq - int(recalled)

    def mentions(self, channel: str, user: str) -> int:
        """How many of the unread messages mention `user`."""
        return self.mentions_in(channel, user, self.read_seq(channel), self.last_seq(channel))

    def mentions_in(self, channel: str, user: str, read_seq: int, last_seq: int) -> int:
        return int(
            self._scalar(
                "SELECT COUNT(*) FROM messages AS m WHERE m.channel = ?1 AND NOT m.recalled"
                " AND m.seq > ?2 AND m.seq <= ?3"
                " AND EXISTS (SELECT 1 FROM json_each(m.mentions) WHERE value = ?4)",
                channel,
                read_seq,
                last_seq,
                user,
            )
        )

    def set_muted(self, channel: str, muted: bool) -> None:
        """Record the user's mute of the channel, as the server reports it."""
        self._ensure(channel)
        self._db.execute("UPDATE cursors SET muted = ? WHERE channel = ?", (muted, channel))

    def muted(self, channel: str) -> bool:
        return bool(self._scalar("SELECT muted FROM cursors WHERE channel = ?", channel))

    def raise_peer_read_seq(self, channel: str, read_seq: int) -> bool:
        """Record the DM peer's read cursor as the server reports it (a conversation entry's
        `peerReadSeq`, a `receipt` frame); it never moves backwards, so a late or repeated
        report changes nothing. True if it rose."""
        if read_seq <= self.peer_read_seq(channel):
            return False
        self._ensure(channel)
        self._db.execute(
            "UPDATE cursors SET peer_read_seq = ? WHERE channel = ?", (read_seq, channel)
        )
        return True

    def peer_read_seq(self, channel: str) -> int:
        """How far the other user of a DM has read (0 if unknown or nothing)."""
        value = self._scalar("SELECT peer_read_seq FROM cursors WHERE channel = ?", channel)
        return 0 if value is None else int(value)

    def channels(self) -> list[str]:
        rows = self._db.execute(
            "SELECT channel FROM cursors UNION SELECT DISTINCT channel FROM messages ORDER BY 1"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def total_unread(self) -> int:
        """The unread of every channel not muted."""
        return sum(self.unread(c) for c in self.channels() if not self.muted(c))

    # outbox

    def outbox_add(
        self, client_msg_no: str, channel: str, body: Any, mentions: tuple[str, ...] = ()
    ) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO outbox (client_msg_no, channel, body, created, mentions)"
            " VALUES (?, ?, ?, ?, ?)",
            (client_msg_no, channel, _dump(body), time.time(), _dump(list(mentions))),
        )

    def outbox_remove(self, client_msg_no: str) -> OutboxEntry | None:
        """Drop an entry; returns it, or None if it was not there."""
        entry = self.outbox_get(client_msg_no)
        if entry is not None:
            self._db.execute("DELETE FROM outbox WHERE client_msg_no = ?", (client_msg_no,))
        return entry

    def outbox_get(self, client_msg_no: str) -> OutboxEntry | None:
        row = self._db.execute(
            "SELECT client_msg_no, channel, body, created, mentions FROM outbox"
            " WHERE client_msg_no = ?",
            (client_msg_no,),
        ).fetchone()
        return None if row is None else _outbox_entry(row)

    def outbox(self) -> list[OutboxEntry]:
        rows = self._db.execute(
            "SELECT client_msg_no, channel, body, created, mentions FROM outbox"
            " ORDER BY created, rowid"
        ).fetchall()
        return [_outbox_entry(row) for row in rows]

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

        - Messages, their early changes, cursors (mutes and DM peers' reads with them) and
          expiry records go: the new server numbers its own messages from 1, and its seq n
          is not the old server's seq n.
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
            for table in ("messages", "cursors", "expired", "wanted_reads", "early_changes"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 (names from this code)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
