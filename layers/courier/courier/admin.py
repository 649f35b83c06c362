"""The admin API's calls (app server -> Courier): tokens, group membership, unread."""

from __future__ import annotations

from typing import Any

from courier.conversations import unread_summary
from courier.errors import invalid
from courier.frames import decode_frame, is_int
from courier.ids import Channel, is_name, parse_channel
from courier.membership import replace_group_members
from courier.recall import recall_any
from courier.runtime import Services
from courier.tokens import DEFAULT_DEVICE, issue_token, jwt_secret

DEFAULT_TTL_SECONDS = 3600
MAX_TTL_SECONDS = 30 * 86_400
MAX_GROUP_MEMBERS = 10_000


def json_body(body: Any) -> dict[str, Any]:
    if body is None or body == "":
        raise invalid("a JSON object body is required")
    return decode_frame(body)


def create_token(svc: Services, body: dict[str, Any]) -> dict[str, Any]:
    user = body.get("user")
    device = body.get("device", DEFAULT_DEVICE)
    ttl = body.get("ttlSeconds", DEFAULT_TTL_SECONDS)
    if not is_name(user):
        raise invalid("user must match [A-Za-z0-9_.-]{1,64}")
    if not is_name(device):
        raise invalid("device must match [A-Za-z0-9_.-]{1,64}")
    if not is_int(ttl) or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise invalid(f"ttlSeconds must be an integer from 1 to {MAX_TTL_SECONDS}")
    token, expires_at = issue_token(
        jwt_secret(svc.settings), user, device, svc.now_ms() // 1000, ttl
    )
    return {"token": token, "expiresAt": expires_at}


def put_group(svc: Services, group: str, body: dict[str, Any]) -> dict[str, Any]:
    if not is_name(group):
        raise invalid("group must match [A-Za-z0-9_.-]{1,64}")
    members = body.get("members")
    if not isinstance(members, list) or not all(is_name(m) for m in members):
        raise invalid("members must be a list of user ids")
    if len(members) > MAX_GROUP_MEMBERS:
        raise invalid(f"a group has at most {MAX_GROUP_MEMBERS} members")
    kept = replace_group_members(svc.tables, Channel(id=f"g:{group}"), members, svc.now_ms())
    return {"group": group, "members": kept}


def recall_message(svc: Services, channel_id: str, seq_text: str) -> dict[str, Any]:
    """Recall any message at any time; `{"error": "not_found"}` for a seq above lastSeq."""
    channel = parse_channel(channel_id)
    if not seq_text.isdigit() or int(seq_text) < 1 or len(seq_text) > 18:
        raise invalid("seq must be a positive integer")
    seq = int(seq_text)
    if not recall_any(svc, channel, seq):
        return {"error": "not_found", "message": f"{channel.id} has no message {seq}"}
    return {"channel": channel.id, "seq": seq, "recalled": True}


def user_unread(svc: Services, user: str) -> dict[str, Any]:
    if not is_name(user):
        raise invalid("user must match [A-Za-z0-9_.-]{1,64}")
    return unread_summary(svc.tables, user)
