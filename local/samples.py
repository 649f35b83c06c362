"""The one loader of the sample events in events/, and builders of variants of them (the
tests and `make invoke`'s seeding, local/seed.py, build on it)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """events/<name>.json, parsed; a fresh copy every call."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def websocket_event(
    name: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    connection_id: str | None = None,
    user: str | None = None,
    device: str | None = None,
    connected_at_ms: int | None = None,
) -> dict[str, Any]:
    """A sample WebSocket event with its frame, connection and authorizer context replaced."""
    event = copy.deepcopy(load_event(name))
    context = event["requestContext"]
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    if connection_id is not None:
        context["connectionId"] = connection_id
    if user is not None:
        context["authorizer"] = {
            **context.get("authorizer", {}),
            "principalId": user,
            "userId": user,
        }
    if device is not None:
        context["authorizer"] = {**context.get("authorizer", {}), "deviceId": device}
    if connected_at_ms is not None:
        context["connectedAt"] = connected_at_ms
    return event
