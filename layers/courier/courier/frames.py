"""Decoding client frames and encoding server frames (PROTOCOL.md, "Frames")."""

from __future__ import annotations

import json
from typing import Any, NoReturn, TypeGuard

from courier.errors import invalid

MAX_REQUEST_ID_CHARS = 64


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused, as in RFC 8259."""
    return json.loads(text, parse_constant=_reject_constant)


def dumps(value: Any) -> str:
    """Compact JSON, the form every server frame and stored body takes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(frame: dict[str, Any]) -> bytes:
    return dumps(frame).encode("utf-8")


def decode_frame(body: Any, *, base64_encoded: bool = False) -> dict[str, Any]:
    """Parse a frame body into a JSON object, or raise `invalid`."""
    if base64_encoded or not isinstance(body, str):
        raise invalid("a frame is one JSON object in a text frame")
    try:
        value = loads(body)
    except (ValueError, RecursionError):
        raise invalid("malformed JSON") from None
    if not isinstance(value, dict):
        raise invalid("a frame must be a JSON object")
    return value


def is_text(value: Any) -> TypeGuard[str]:
    """A string that can travel as UTF-8 (no lone surrogates)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request_id(frame: dict[str, Any]) -> str | None:
    """The frame's `requestId`, when it carries a valid one."""
    value = frame.get("requestId")
    if is_text(value) and len(value) <= MAX_REQUEST_ID_CHARS:
        return value
    return None


def check_request_id(frame: dict[str, Any]) -> None:
    if "requestId" in frame and request_id(frame) is None:
        raise invalid(f"requestId must be a string of at most {MAX_REQUEST_ID_CHARS} characters")


def text_field(frame: dict[str, Any], name: str, max_chars: int) -> str:
    value = frame.get(name)
    if not is_text(value) or not 1 <= len(value) <= max_chars:
        raise invalid(f"{name} must be a string of 1 to {max_chars} characters")
    return value


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def int_field(frame: dict[str, Any], name: str, *, minimum: int, default: int | None = None) -> int:
    """An integer field at least `minimum`; `default` when absent (or null) and allowed."""
    value = frame.get(name)
    if value is None and default is not None:
        return default
    if not is_int(value) or value < minimum:
        raise invalid(f"{name} must be an integer >= {minimum}")
    return value


def error_frame(code: str, message: str, frame: dict[str, Any] | None) -> dict[str, Any]:
    """An `error` frame, echoing the requestId and clientMsgNo of the frame it answers."""
    reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if frame is not None:
        rid = request_id(frame)
        if rid is not None:
            reply["requestId"] = rid
        client_msg_no = frame.get("clientMsgNo")
        if is_text(client_msg_no) and 1 <= len(client_msg_no) <= 64:
            reply["clientMsgNo"] = client_msg_no
    return reply
