"""Stored messages: their record, and pages of a channel's history cut to fit one reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courier.frames import dumps, loads
from courier.models import Messages
from courier.tables import Tables


@dataclass(frozen=True)
class StoredMessage:
    channel: str
    seq: int
    message_id: str
    sender: str
    client_msg_no: str
    body_json: str
    ts: int
    mentions: tuple[str, ...] = ()
    recalled: bool = False
    version: int = 0  # its edits so far
    edited_at: int | None = None

    def _content(self) -> dict[str, Any]:
        """Body, mentions and edit marks as clients see them: a recalled message has no
        body and no mentions; a message never edited has no version."""
        if self.recalled:
            return {"recalled": True}
        content: dict[str, Any] = {"body": loads(self.body_json)}
        if self.mentions:
            content["mentions"] = list(self.mentions)
        if self.version:
            content |= {"version": self.version, "editedAt": self.edited_at}
        return content

    def fields(self) -> dict[str, Any]:
        """The message as clients see it (a `message` frame without `type`)."""
        return {
            "channel": self.channel,
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            "clientMsgNo": self.client_msg_no,
            **self._content(),
            "ts": self.ts,
        }

    def summary(self) -> dict[str, Any]:
        """The `lastMessage` of a conversation."""
        return {
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            **self._content(),
            "ts": self.ts,
        }

    def job(self) -> dict[str, Any]:
        """The message as a job carries it (a fan-out job): the body as its stored JSON
        text, mentions when it has any. A new message, so never recalled nor edited."""
        fields: dict[str, Any] = {
            "channel": self.channel,
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            "clientMsgNo": self.client_msg_no,
            "body": self.body_json,
            "ts": self.ts,
        }
        return fields | ({"mentions": list(self.mentions)} if self.mentions else {})

    @classmethod
    def from_job(cls, fields: dict[str, Any]) -> StoredMessage:
        return cls(
            channel=str(fields["channel"]),
            seq=int(fields["seq"]),
            message_id=str(fields["messageId"]),
            sender=str(fields["from"]),
            client_msg_no=str(fields["clientMsgNo"]),
            body_json=str(fields["body"]),
            ts=int(fields["ts"]),
            mentions=tuple(str(user) for user in fields.get("mentions", ())),
        )

    def to_row(self, expires_at: int, sender_connection: str | None = None) -> Messages:
        return Messages(
            channel=self.channel,
            seq=self.seq,
            message_id=self.message_id,
            sender=self.sender,
            client_msg_no=self.client_msg_no,
            body=self.body_json,
            ts=self.ts,
            mentions=list(self.mentions) or None,
            expires_at=expires_at,
            sender_connection=sender_connection,
        )

    @classmethod
    def from_row(cls, row: Messages) -> StoredMessage:
        return cls(
            channel=row.channel,
            seq=int(row.seq),
            message_id=row.message_id,
            sender=row.sender,
            client_msg_no=row.client_msg_no,
            body_json=row.body if row.body is not None else "null",
            ts=int(row.ts),
            mentions=tuple(str(user) for user in row.mentions or ()),
            recalled=bool(row.recalled),
            version=int(row.version or 0),
            edited_at=int(row.edited_at) if row.edited_at is not None else None,
        )


@dataclass(frozen=True)
class SentMessage:
    """A stored message and the connection that sent it (never given its own message)."""

    message: StoredMessage
    sender_connection: str | None

    @classmethod
    def from_row(cls, row: Messages) -> SentMessage:
        return cls(StoredMessage.from_row(row), row.sender_connection)


def stored_message(
    tables: Tables, channel: str, seq: int, *, consistent: bool = True
) -> StoredMessage | None:
    """One message (None once expired)."""
    try:
        return StoredMessage.from_row(tables.messages.get(channel, seq, consistent_read=consistent))
    except tables.messages.DoesNotExist:
        return None


def messages_after(
    tables: Tables, channel: str, after_seq: int, limit: int, max_bytes: int
) -> tuple[list[dict[str, Any]], bool]:
    """Messages with seq > after_seq, ascending: at most `limit` of them and at most
    `max_bytes` of encoded JSON (never fewer than one while any is left), and whether
    more follow. One Query: the page is cut long before DynamoDB's 1 MB page ends."""
    rows = tables.messages.query(
        channel, tables.messages.seq > after_seq, consistent_read=True, limit=limit + 1
    )
    page: list[dict[str, Any]] = []
    used = 0
    for row in rows:
        if len(page) == limit:
            return page, True
        fields = StoredMessage.from_row(row).fields()
        size = len(dumps(fields).encode("utf-8")) + 1  # the separating comma
        if page and used + size > max_bytes:
            return page, True
        page.append(fields)
        used += size
    return page, rows.last_evaluated_key is not None


def last_messages(tables: Tables, heads: dict[str, int]) -> dict[str, StoredMessage]:
    """The message at seq `heads[channel]` of each channel, keyed by channel
    (PynamoDB reads them 100 keys per BatchGetItem)."""
    wanted = [(c, seq) for c, seq in heads.items() if seq > 0]
    found: dict[str, StoredMessage] = {}
    for row in tables.messages.batch_get(wanted):
        message = StoredMessage.from_row(row)
        found[message.channel] = message
    return found


def messages_between(
    tables: Tables, channel: str, after_seq: int, upto_seq: int
) -> list[SentMessage]:
    """The stored messages with after_seq < seq <= upto_seq, ascending."""
    if upto_seq <= after_seq:
        return []
    rows = tables.messages.query(
        channel, tables.messages.seq.between(after_seq + 1, upto_seq), consistent_read=True
    )
    return [SentMessage.from_row(row) for row in rows]
