"""Stored messages: their record, and pages of a channel's history cut to fit one reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courier.dynamo import Item, get_n, get_s, n, s
from courier.frames import dumps, loads
from courier.tables import Tables, batch_get


@dataclass(frozen=True)
class StoredMessage:
    channel: str
    seq: int
    message_id: str
    sender: str
    client_msg_no: str
    body_json: str
    ts: int

    def fields(self) -> dict[str, Any]:
        """The message as clients see it (a `message` frame without `type`)."""
        return {
            "channel": self.channel,
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            "clientMsgNo": self.client_msg_no,
            "body": loads(self.body_json),
            "ts": self.ts,
        }

    def summary(self) -> dict[str, Any]:
        """The `lastMessage` of a conversation."""
        return {
            "seq": self.seq,
            "messageId": self.message_id,
            "from": self.sender,
            "body": loads(self.body_json),
            "ts": self.ts,
        }

    def to_item(self, expires_at: int) -> Item:
        return {
            "channel": s(self.channel),
            "seq": n(self.seq),
            "messageId": s(self.message_id),
            "from": s(self.sender),
            "clientMsgNo": s(self.client_msg_no),
            "body": s(self.body_json),
            "ts": n(self.ts),
            "expiresAt": n(expires_at),
        }

    @classmethod
    def from_item(cls, item: Item) -> StoredMessage:
        return cls(
            channel=get_s(item, "channel"),
            seq=get_n(item, "seq"),
            message_id=get_s(item, "messageId"),
            sender=get_s(item, "from"),
            client_msg_no=get_s(item, "clientMsgNo"),
            body_json=get_s(item, "body", "null"),
            ts=get_n(item, "ts"),
        )


def messages_after(
    tables: Tables, channel: str, after_seq: int, limit: int, max_bytes: int
) -> tuple[list[dict[str, Any]], bool]:
    """Messages with seq > after_seq, ascending: at most `limit` of them and at most
    `max_bytes` of encoded JSON (never fewer than one while any is left), and whether
    more follow."""
    reply = tables.client.query(
        TableName=tables.messages,
        KeyConditionExpression="channel = :c AND seq > :after",
        ExpressionAttributeValues={":c": s(channel), ":after": n(after_seq)},
        ConsistentRead=True,
        Limit=limit + 1,
    )
    items = reply.get("Items", [])
    page: list[dict[str, Any]] = []
    used = 0
    for item in items[:limit]:
        fields = StoredMessage.from_item(item).fields()
        size = len(dumps(fields).encode("utf-8")) + 1  # the separating comma
        if page and used + size > max_bytes:
            return page, True
        page.append(fields)
        used += size
    return page, len(items) > limit or "LastEvaluatedKey" in reply


def last_messages(tables: Tables, heads: dict[str, int]) -> dict[str, StoredMessage]:
    """The message at seq `heads[channel]` of each channel, keyed by channel."""
    wanted = [{"channel": s(c), "seq": n(seq)} for c, seq in heads.items() if seq > 0]
    found: dict[str, StoredMessage] = {}
    for start in range(0, len(wanted), 100):
        reply = batch_get(tables, {tables.messages: {"Keys": wanted[start : start + 100]}})
        for item in reply[tables.messages]:
            message = StoredMessage.from_item(item)
            found[message.channel] = message
    return found


def messages_between(
    tables: Tables, channel: str, after_seq: int, upto_seq: int
) -> list[StoredMessage]:
    """The stored messages with after_seq < seq <= upto_seq, ascending."""
    if upto_seq <= after_seq:
        return []
    reply = tables.client.query(
        TableName=tables.messages,
        KeyConditionExpression="channel = :c AND seq BETWEEN :lo AND :hi",
        ExpressionAttributeValues={":c": s(channel), ":lo": n(after_seq + 1), ":hi": n(upto_seq)},
        ConsistentRead=True,
    )
    return [StoredMessage.from_item(item) for item in reply.get("Items", [])]
