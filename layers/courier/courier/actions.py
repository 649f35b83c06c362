"""What each client frame does: validate, one call into the domain, shape the reply.

Every function takes the services, the caller and the decoded frame, and returns the
direct reply frame (or None when the protocol has no reply). A ProtocolError aborts
the frame before anything is written.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from courier import edits
from courier import mute as mutes
from courier import recall as recalls
from courier.channels import channel_view, message_view, require_access
from courier.conversations import conversations_frame
from courier.cursors import advance_ack, advance_read
from courier.delivery import live_connections, post_frame
from courier.errors import TOO_LARGE, UNKNOWN_ACTION, ProtocolError, invalid
from courier.fanout import post_new_message
from courier.frames import dumps, int_field, is_text, text_field
from courier.history import messages_after, stored_message
from courier.ids import parse_channel
from courier.mentions import mentions_field
from courier.presence import presence_frame, users_field
from courier.receipts import read_by, receipt_frame
from courier.runtime import Services
from courier.sequencer import Retention, accept_message
from courier.typing_indicator import relay_typing
from courier.websocket import Caller

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
MAX_BODY_DEPTH = 64  # a body every reader can decode again: sync must never choke on one
MAX_CLIENT_MSG_NO_CHARS = 64
DEFAULT_PAGE = 50
MAX_PAGE = 100
MAX_REPLY_BYTES = 128_000  # one API Gateway WebSocket message (128 KB)


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value (iteratively: no recursion limit)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            pending.extend(
                (child, level + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


def _body_json(frame: dict[str, Any]) -> str:
    if "body" not in frame:
        raise invalid("body is required")
    if _depth(frame["body"]) > MAX_BODY_DEPTH:
        raise invalid(f"body nests arrays and objects deeper than {MAX_BODY_DEPTH} levels")
    try:
        body_json = dumps(frame["body"])
        size = len(body_json.encode("utf-8"))
    except (ValueError, UnicodeEncodeError, RecursionError):
        raise invalid("body must be JSON text") from None
    if size > MAX_BODY_BYTES:
        raise ProtocolError(TOO_LARGE, f"body is {size} bytes; at most {MAX_BODY_BYTES}")
    return body_json


def send(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    client_msg_no = text_field(frame, "clientMsgNo", MAX_CLIENT_MSG_NO_CHARS)
    body_json = _body_json(frame)
    mentions = mentions_field(frame)
    settings = svc.settings
    accepted = accept_message(
        svc.tables,
        sender=caller.user,
        channel=channel,
        client_msg_no=client_msg_no,
        body_json=body_json,
        retention=Retention(
            message_seconds=settings.retention_days * 86_400,
            dedup_seconds=settings.dedup_hours * 3_600,
        ),
        now_ms=svc.now_ms,
        sender_connection=caller.connection_id,
        mentions=mentions,
    )
    message = accepted.message
    if accepted.duplicate:
        svc.metrics.add_metric(name="DuplicateSends", unit=MetricUnit.Count, value=1)
    else:
        svc.metrics.add_metric(name="MessagesAccepted", unit=MetricUnit.Count, value=1)
        try:  # the fast path; the durable one runs from the table's stream (fanout.py)
            reached = post_new_message(svc, message, accepted.member_count, caller.connection_id)
            if channel.is_dm:  # sending read the DM up to the message: the peer's receipt
                peer = [c for c in reached if c.user != caller.user]
                frame = receipt_frame(channel.id, caller.user, message.seq)
                post_frame(svc.tables, svc.poster, peer, frame).record(svc.metrics)
        except Exception:  # the message is committed: the durable path delivers it
            logger.exception("delivery failed", extra={"channel": message.channel})
            svc.metrics.add_metric(name="DeliveryErrors", unit=MetricUnit.Count, value=1)
    return {
        "type": "sendack",
        "clientMsgNo": client_msg_no,
        "channel": message.channel,
        "seq": message.seq,
        "messageId": message.message_id,
        "ts": message.ts,
        "duplicate": accepted.duplicate,
    }


def _deliver(svc: Services, caller: Caller, users: list[str], frame: dict[str, Any]) -> None:
    """Post to every live connection of `users` but the caller's; never fails the frame,
    which has already been carried out (receivers catch up with sync)."""
    try:
        targets = live_connections(svc.tables, users, except_connection=caller.connection_id)
        report = post_frame(svc.tables, svc.poster, targets, frame)
    except Exception:
        logger.exception("delivery failed", extra={"frame_type": frame.get("type")})
        svc.metrics.add_metric(name="DeliveryErrors", unit=MetricUnit.Count, value=1)
        return
    report.record(svc.metrics)


def ack(svc: Services, caller: Caller, frame: dict[str, Any]) -> None:
    channel = parse_channel(frame.get("channel"))
    seq = int_field(frame, "seq", minimum=0)
    view = channel_view(svc.tables, caller.user, channel)
    require_access(caller.user, channel, view)
    target = min(seq, view.last_seq)
    if target > 0:
        advance_ack(svc.tables, caller.user, caller.device, channel, target)


def read(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    seq = int_field(frame, "seq", minimum=0)
    view = channel_view(svc.tables, caller.user, channel)
    require_access(caller.user, channel, view)
    target = min(seq, view.last_seq)
    if target > view.read_seq:
        passed = frozenset(seq for seq in view.mentioned if seq <= target)
        moved = advance_read(
            svc.tables, caller.user, channel, target, svc.now_ms(), passed_mentions=passed
        )
        if moved is None:  # a concurrent read went further: report where it stands
            view = channel_view(svc.tables, caller.user, channel)
        else:
            view = replace(view, read_seq=moved)
            update = {
                "type": "read",
                "channel": channel.id,
                "readSeq": moved,
                "unread": view.unread,
            }
            _deliver(svc, caller, [caller.user], update)
            if channel.is_dm:
                receipt = receipt_frame(channel.id, caller.user, moved)
                _deliver(svc, caller, [channel.peer(caller.user)], receipt)
    return {"type": "read", "channel": channel.id, "readSeq": view.read_seq, "unread": view.unread}


def _reply_overhead(envelope: dict[str, Any]) -> int:
    """Bytes a reply takes besides its list: the envelope, the echoed requestId at its
    worst (64 control characters, escaped to six bytes each) and room for the numbers."""
    worst_request_id = "\x00" * 64
    return len(dumps({**envelope, "requestId": worst_request_id}).encode("utf-8")) + 64


def sync(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    limit = min(int_field(frame, "limit", minimum=1, default=DEFAULT_PAGE), MAX_PAGE)
    if frame.get("channel") is None:
        cursor = frame.get("cursor")
        if cursor is not None and not is_text(cursor):
            raise invalid("cursor must be a string or null")
        return conversations_frame(
            svc.tables, caller.user, limit, cursor, MAX_REPLY_BYTES - _reply_overhead({})
        )
    channel = parse_channel(frame.get("channel"))
    after_seq = int_field(frame, "afterSeq", minimum=0, default=0)
    view = channel_view(svc.tables, caller.user, channel)
    require_access(caller.user, channel, view)
    envelope = {
        "type": "messages",
        "channel": channel.id,
        "messages": [],
        "more": True,
        "lastSeq": view.last_seq,
        "readSeq": view.read_seq,
    }
    budget = MAX_REPLY_BYTES - _reply_overhead(envelope)
    messages, more = messages_after(svc.tables, channel.id, after_seq, limit, budget)
    last_seq = max([view.last_seq] + [m["seq"] for m in messages])
    return {
        "type": "messages",
        "channel": channel.id,
        "messages": messages,
        "more": more,
        "lastSeq": last_seq,
        "readSeq": min(view.read_seq, last_seq),
    }


def recall(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    seq = int_field(frame, "seq", minimum=1)
    recalled = recalls.recall_as_sender(svc, caller.user, channel, seq)
    message_id = recalled.message.message_id
    recalls.tell_members(svc, channel, seq, message_id, caller.connection_id)
    return recalls.recall_frame(message_id, channel.id, seq, recalled.unread)


def edit(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    seq = int_field(frame, "seq", minimum=1)
    message = edits.edit_message(svc, caller.user, channel, seq, _body_json(frame))
    edits.tell_members(svc, message, caller.connection_id)
    return edits.edit_frame(message)


def mute(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    muted = frame.get("muted")
    if not isinstance(muted, bool):
        raise invalid("muted must be true or false")
    reply = mutes.set_muted(svc, caller.user, channel, muted)
    mutes.tell_devices(svc, caller.user, reply, caller.connection_id)
    return reply


def receipts(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    channel = parse_channel(frame.get("channel"))
    seq = int_field(frame, "seq", minimum=1)
    message_view(svc.tables, caller.user, channel, seq)
    message = stored_message(svc.tables, channel.id, seq, consistent=False)
    sender = message.sender if message is not None else None
    counted = read_by(svc.tables, channel.id, seq, sender)
    return {"type": "receipts", "channel": channel.id, "seq": seq, **counted}


def typing(svc: Services, caller: Caller, frame: dict[str, Any]) -> None:
    channel = parse_channel(frame.get("channel"))
    outcome = relay_typing(svc, caller.user, channel)
    svc.metrics.add_metric(name=f"Typing_{outcome}", unit=MetricUnit.Count, value=1)


def presence(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    return presence_frame(svc, caller.user, users_field(frame))


def default(svc: Services, caller: Caller, frame: dict[str, Any]) -> dict[str, Any]:
    """The $default route: `ping`, and the answer to every action no route takes."""
    action = frame.get("action")
    if action == "ping":
        return {"type": "pong"}
    if not isinstance(action, str):
        raise invalid("action must be a string")
    raise ProtocolError(UNKNOWN_ACTION, f"unknown action {action[:64]!r}")
