"""Courier's tables as PynamoDB models: one per table of template.yaml, named after it.

Each model is the shape of its table's items, written down once: keys, attribute names
on the wire (camelCase) and their types, the TTL attribute. `tests/unit/test_models.py`
checks every model against the template's key schema, indexes and TTL, so they cannot
drift apart. Table names are not known here: `courier.tables.bind_tables` sets them from
the typed settings when a container starts.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.expressions.update import RemoveAction, SetAction
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

# PynamoDB logs every request and response at DEBUG, message bodies and all: keep that
# out of the logs whatever level a deployment sets.
logging.getLogger("pynamodb").setLevel(logging.INFO)

UNBOUND = None  # a model's table name before bind_tables(): using it fails loudly


class ExpiresAt(TTLAttribute):
    """The table's TTL attribute, read and written as epoch seconds (an int).

    PynamoDB's TTLAttribute converts to and from datetime, which only spans years 1-9999;
    Courier computes expiries as epoch seconds and stores whatever it computed.
    """

    def _normalize(self, value: Any) -> Any:
        return None if value is None else int(value)

    def serialize(self, value: Any) -> Any:
        return None if value is None else json.dumps(int(value))

    def deserialize(self, value: Any) -> Any:
        return int(json.loads(value))

    def set(self, value: Any) -> SetAction | RemoveAction:
        """SET to epoch seconds (TTLAttribute's own signature wants a datetime)."""
        return super().set(value)


class CourierModel(Model):
    """The base of every table's model; its connection is shared (see courier.tables)."""

    class Meta:
        table_name: str | None = UNBOUND


class Connections(CourierModel):
    """ConnectionsTable: a live WebSocket connection, found by user."""

    class Meta:
        table_name: str | None = UNBOUND

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    connection_id = UnicodeAttribute(range_key=True, attr_name="connectionId")
    device_id = UnicodeAttribute(attr_name="deviceId")
    connected_at = NumberAttribute(attr_name="connectedAt")
    # The last moment Courier knew the connection alive ($connect, or a GetConnection
    # that answered 200): presence's liveness check (courier.presence).
    active_at = NumberAttribute(attr_name="activeAt", null=True)
    expires_at = ExpiresAt(attr_name="expiresAt")


class Channels(CourierModel):
    """ChannelsTable: a channel's counter (lastSeq), for groups its member count, and the
    seqs of its recalled messages (unread leaves them out: courier.unread)."""

    class Meta:
        table_name: str | None = UNBOUND

    channel = UnicodeAttribute(hash_key=True)
    last_seq = NumberAttribute(attr_name="lastSeq", null=True)
    last_ts = NumberAttribute(attr_name="lastTs", null=True)
    created_at = NumberAttribute(attr_name="createdAt", null=True)
    member_count = NumberAttribute(attr_name="memberCount", null=True)
    recalled_seqs = NumberSetAttribute(attr_name="recalledSeqs", null=True)


class Messages(CourierModel):
    """MessagesTable: a message at (channel, seq); `body` is its JSON text, erased (with its
    mentions) once recalled; `version` counts its edits."""

    class Meta:
        table_name: str | None = UNBOUND

    channel = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    message_id = UnicodeAttribute(attr_name="messageId")
    sender = UnicodeAttribute(attr_name="from")
    client_msg_no = UnicodeAttribute(attr_name="clientMsgNo")
    body = UnicodeAttribute(null=True)
    ts = NumberAttribute()
    mentions = ListAttribute(of=UnicodeAttribute, null=True)
    recalled = BooleanAttribute(null=True)
    version = NumberAttribute(null=True)
    edited_at = NumberAttribute(attr_name="editedAt", null=True)
    expires_at = ExpiresAt(attr_name="expiresAt")
    # The connection that sent it, which is never sent its own message: the durable
    # delivery path (the table's stream) reads it from the new image. Never in a frame.
    sender_connection = UnicodeAttribute(attr_name="senderConnection", null=True)


class ByChannel(GlobalSecondaryIndex["Memberships"]):  # type: ignore[no-untyped-call]
    """MembershipsTable's ByChannel index: a channel's members and their read cursors (what
    `receipts` counts in one paginated Query). Only readSeq is projected: a read or a send
    moves it (one more index write), mute and mentions do not touch the index."""

    class Meta:
        index_name = "ByChannel"
        projection = IncludeProjection(["readSeq"])

    channel = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True, attr_name="userId")
    read_seq = NumberAttribute(attr_name="readSeq", null=True)


class Memberships(CourierModel):
    """MembershipsTable: a user's membership of a channel, their read cursor, whether they
    muted it, and the seqs above their cursor of the messages that mention them."""

    class Meta:
        table_name: str | None = UNBOUND

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    channel = UnicodeAttribute(range_key=True)
    read_seq = NumberAttribute(attr_name="readSeq", null=True)
    joined_at = NumberAttribute(attr_name="joinedAt", null=True)
    muted = BooleanAttribute(null=True)
    mention_seqs = NumberSetAttribute(attr_name="mentionSeqs", null=True)
    typing_at = NumberAttribute(attr_name="typingAt", null=True)  # the typing throttle
    by_channel = ByChannel()


class Dedup(CourierModel):
    """DedupTable: the message accepted for (sender, clientMsgNo)."""

    class Meta:
        table_name: str | None = UNBOUND

    dedup_key = UnicodeAttribute(hash_key=True, attr_name="dedupKey")
    channel = UnicodeAttribute()
    seq = NumberAttribute()
    message_id = UnicodeAttribute(attr_name="messageId")
    ts = NumberAttribute()
    expires_at = ExpiresAt(attr_name="expiresAt")


class Acks(CourierModel):
    """AcksTable: a device's ack cursor in a channel."""

    class Meta:
        table_name: str | None = UNBOUND

    device_key = UnicodeAttribute(hash_key=True, attr_name="deviceKey")
    channel = UnicodeAttribute(range_key=True)
    ack_seq = NumberAttribute(attr_name="ackSeq", null=True)


class Retries(CourierModel):
    """RetriesTable: a device's redelivery chain in a channel (see courier.retry_chains)."""

    class Meta:
        table_name: str | None = UNBOUND

    device_key = UnicodeAttribute(hash_key=True, attr_name="deviceKey")
    channel = UnicodeAttribute(range_key=True)
    chain_id = UnicodeAttribute(attr_name="chainId", null=True)
    chain_seq = NumberAttribute(attr_name="chainSeq", null=True)
    seqs = NumberSetAttribute(null=True)
    attempt = NumberAttribute(null=True)
    due_at = NumberAttribute(attr_name="dueAt", null=True)
    resumed = NumberAttribute(null=True)
    done_seqs = NumberSetAttribute(attr_name="doneSeqs", null=True)
    floor_seq = NumberAttribute(attr_name="floorSeq", null=True)
    expires_at = ExpiresAt(attr_name="expiresAt", null=True)


class Notifications(CourierModel):
    """NotificationsTable: the last push sent to a user about a channel."""

    class Meta:
        table_name: str | None = UNBOUND

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    channel = UnicodeAttribute(range_key=True)
    notified_seq = NumberAttribute(attr_name="notifiedSeq", null=True)
    notified_at = NumberAttribute(attr_name="notifiedAt", null=True)
    # Set by the claim, removed once the push is published: a claim still pending after
    # CLAIM_LEASE_MS died before its Publish, and may be taken over (courier.notify).
    pending = BooleanAttribute(null=True)
    # The SQS delivery that made a pending claim (its messageId and receive count): that
    # job's redelivery may take it over at once.
    claimed_by = UnicodeAttribute(attr_name="claimedBy", null=True)
    claim_receive = NumberAttribute(attr_name="claimReceive", null=True)
    expires_at = ExpiresAt(attr_name="expiresAt", null=True)


class Presence(CourierModel):
    """PresenceTable: when a user's last connection closed (lastSeen, ms; only raised)."""

    class Meta:
        table_name: str | None = UNBOUND

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    last_seen = NumberAttribute(attr_name="lastSeen", null=True)


MODELS: tuple[type[CourierModel], ...] = (
    Connections,
    Channels,
    Messages,
    Memberships,
    Dedup,
    Acks,
    Retries,
    Notifications,
    Presence,
)
