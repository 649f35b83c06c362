"""Committed messages as the messages table's stream hands them over: the durable path.

Every message the send transaction commits appears once as an INSERT record with its new
image (StreamViewType NEW_IMAGE); Lambda reads the stream at least once per record, in
order per message key, and retries a failed record (or the rest of its batch) until it
succeeds or ages out to the on-failure destination. What a record leads to (fanout.
schedule_delivery) is safe to run again: jobs are probes and notifications, both
idempotent in their workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from courier.history import SentMessage
from courier.models import Messages


def committed_message(record: Mapping[str, Any]) -> SentMessage | None:
    """The message a stream record inserted; None for any other event (the event source
    mapping's filter passes INSERTs only, but a record is checked, not trusted)."""
    if record.get("eventName") != "INSERT":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage")
    if not isinstance(image, dict):
        raise ValueError("an INSERT record without its new image: StreamViewType must be NEW_IMAGE")
    return SentMessage.from_row(Messages.from_raw_data(image))
