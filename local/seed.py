"""What a sample WebSocket event needs before `make invoke` runs it on empty tables.

Without it every sample met a world where nothing exists: a send to `g:team` was
`forbidden` (no such group), a recall or an edit of seq 1 `invalid`, and no frame was
ever posted to anyone (nobody connected). The scene is built through the deployable
handlers themselves ($connect, the admin API, send), so it is what a real client and
app server would have left behind:

- the caller's connection (the event's connectionId), and a connected receiver for each
  other user of the channel (`seeded-<user>`): the other user of a DM, or `bob` and
  `carol` in a group;
- a group: created with the caller and those users as members;
- messages from the caller: as many as the frame's `seq` names (at least one), so that
  the seq it acts on exists and the caller is its sender (recall, edit);
- a frame that names no channel (sync of conversations, presence, ping): the DM of the
  caller and the first user it asks about (`bob` if none), with one message, so the
  conversation list has an entry and presence reports that user (and no other);
- $disconnect: the caller's connection alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from courier.errors import ProtocolError
from courier.ids import dm_channel_id, is_name, parse_channel
from local.samples import load_event, websocket_event

GROUP_PEERS = ("bob", "carol")
MOST_MESSAGES = 20  # a sample names a small seq; a huge one is the handler's to refuse

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Scene:
    caller: str
    connection_id: str
    channel: str | None
    peers: tuple[str, ...]
    messages: int


def _frame(event: dict[str, Any]) -> dict[str, Any]:
    try:
        frame = json.loads(event.get("body") or "{}")
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


def _channel_and_peers(frame: dict[str, Any], caller: str) -> tuple[str | None, tuple[str, ...]]:
    if "channel" not in frame:
        asked = frame.get("users")
        first = asked[0] if isinstance(asked, list) and asked else "bob"
        if not is_name(first) or first == caller:
            return None, ()
        return dm_channel_id(caller, first), (first,)
    try:
        channel = parse_channel(frame["channel"])
    except ProtocolError:
        return None, ()
    if channel.dm_users is not None:
        return channel.id, tuple(user for user in channel.dm_users if user != caller)
    return channel.id, tuple(user for user in GROUP_PEERS if user != caller)


def scene_of(event: dict[str, Any]) -> Scene | None:
    """The scene a WebSocket MESSAGE or DISCONNECT event needs; None for any other event."""
    context = event.get("requestContext") or {}
    caller = (context.get("authorizer") or {}).get("userId")
    connection_id = context.get("connectionId")
    kind = context.get("eventType")
    if kind not in {"MESSAGE", "DISCONNECT"} or not is_name(caller):
        return None
    if not isinstance(connection_id, str):
        return None
    if kind == "DISCONNECT":  # the connection it closes, and nothing else
        return Scene(caller, connection_id, None, (), 0)
    frame = _frame(event)
    channel, peers = _channel_and_peers(frame, caller)
    seq = frame.get("seq")
    wanted = seq if isinstance(seq, int) and not isinstance(seq, bool) else 1
    messages = min(max(wanted, 1), MOST_MESSAGES) if channel else 0
    return Scene(caller, connection_id, channel, peers, messages)


def as_user(
    sample: str, user: str, connection_id: str, frame: Any = None, connected_at: int | None = None
) -> dict[str, Any]:
    """A sample WebSocket event from `user`'s phone on `connection_id`, carrying `frame`,
    stamped now (or `connected_at`, ms) as API Gateway stamps it (the sample's old
    connectedAt reads as a dead socket)."""
    return websocket_event(
        sample,
        body=frame,
        connection_id=connection_id,
        user=user,
        device="phone",
        connected_at_ms=connected_at or time.time_ns() // 1_000_000,
    )


def create_group(invoke: Invoke, channel: str, members: list[str]) -> None:
    """The group `g:<name>` with these members, through the admin API."""
    group = channel.removeprefix("g:")
    event = load_event("admin-put-group")
    path = f"/admin/groups/{group}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"group": group}
    event["body"] = json.dumps({"members": members})
    result = invoke("admin", event)
    check(result.get("statusCode") == 200, f"creating {channel}", result)


def connect(invoke: Invoke, user: str, connection_id: str, connected_at: int | None = None) -> None:
    result = invoke("connect", as_user("connect", user, connection_id, None, connected_at))
    check(result == {"statusCode": 200}, f"connecting {user}", result)


def send_messages(invoke: Invoke, user: str, connection_id: str, channel: str, count: int) -> None:
    """`count` messages from `user` to `channel`, sent on `connection_id`."""
    for n in range(1, count + 1):
        frame = {
            "action": "send",
            "channel": channel,
            "clientMsgNo": f"seeded-{n}",
            "body": {"text": f"seeded message {n}"},
        }
        result = invoke("send", as_user("send-dm", user, connection_id, frame))
        check('"sendack"' in result.get("body", ""), f"sending message {n}", result)


def seed(scene: Scene, invoke: Invoke) -> None:
    """Build the scene by invoking the handlers (`invoke(function, event)`)."""
    if scene.channel is not None and scene.channel.startswith("g:"):
        create_group(invoke, scene.channel, [scene.caller, *scene.peers])
    for user, connection_id in ((scene.caller, scene.connection_id), *receivers(scene)):
        connect(invoke, user, connection_id)
    if scene.channel is not None:
        send_messages(invoke, scene.caller, scene.connection_id, scene.channel, scene.messages)


def receivers(scene: Scene) -> list[tuple[str, str]]:
    """(user, connection id) of each connected receiver the scene adds."""
    return [(peer, f"seeded-{peer}") for peer in scene.peers]


class SeedError(RuntimeError):
    """A handler refused to build the scene: the sample and the seeding disagree."""


def check(ok: bool, step: str, result: Any) -> None:
    if not ok:
        raise SeedError(f"seeding failed at {step}: {result}")
