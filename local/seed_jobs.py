"""What a sample admin or worker event needs before `make invoke` runs it (local/seed.py
does the WebSocket events).

On empty tables the admin recall was a 404, the unread counts all zero, and every worker
job found no member, no message and no connection: it succeeded and did nothing. The
scene is what the job names, built through the handlers ($connect, the admin API, send,
the retry worker): the channel (a group: with its members), a `sender` who sent its
messages up to the job's seq, and its other users (`seeded-<user>` when connected):

- admin recall: the message, its sender (the DM's first user, `alice` in a group)
  connected, and a connected member, who gets the recall frame;
- admin unread: two messages to the user from `bob` (`alice` for bob), not connected;
- a stream record (delivery_worker): its message, its sender on the record's
  senderConnection, and the other users connected since before the record's `ts`;
- a fan-out plan or chunk: its message from its sender on the job's `except`
  connection, the other members connected;
- a retry job: the job's user connected (before the messages, so each is owed to it);
  a follow-up (`chain`) continues the chain the probes of seqs 1..seq started;
- a notification job: the message, and its user a member with no connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from courier.errors import ProtocolError
from courier.ids import dm_channel_id, is_name, parse_channel
from local.samples import load_event
from local.seed import (
    GROUP_PEERS,
    MOST_MESSAGES,
    Invoke,
    check,
    connect,
    create_group,
    send_messages,
)


@dataclass(frozen=True)
class JobScene:
    channel: str
    sender: str
    sender_connection: str
    messages: int  # sent by `sender`, seq 1..messages
    members: tuple[str, ...]  # the channel's other users
    connected: tuple[str, ...]  # those of them connected, as seeded-<user>
    connected_at: int | None = None  # ms the connections opened; None: now
    follow_up: bool = False  # run each connected member's retry probe of each message


def _others(channel: str, sender: str, also: tuple[str, ...] = ()) -> tuple[str, ...]:
    dm_users = parse_channel(channel).dm_users
    users = dm_users if dm_users is not None else (*also, *GROUP_PEERS)
    return tuple(user for user in dict.fromkeys(users) if user != sender)


def _sender_to(channel: str, user: str) -> str:
    """Who sent `user` the job's messages: the DM's other user, in a group alice (or bob)."""
    dm_users = parse_channel(channel).dm_users
    if dm_users is not None:
        return dm_users[0] if dm_users[1] == user else dm_users[1]
    return "alice" if user != "alice" else "bob"


def _scene(
    channel: str,
    sender: str,
    seq: Any,
    connection: Any = None,
    *,
    members: tuple[str, ...] | None = None,
    connected: tuple[str, ...] | None = None,
    connected_at: int | None = None,
    follow_up: bool = False,
) -> JobScene:
    """`members` default to the channel's other users, `connected` to all of them, the
    sender's connection to `seeded-<sender>`."""
    messages = min(max(int(seq), 1), MOST_MESSAGES)
    members = members or _others(channel, sender)
    connected = members if connected is None else connected
    sender_connection = connection if isinstance(connection, str) else f"seeded-{sender}"
    return JobScene(
        channel, sender, sender_connection, messages, members, connected, connected_at, follow_up
    )


def _admin(event: dict[str, Any]) -> JobScene | None:
    params = event.get("pathParameters") or {}
    route = str(event.get("routeKey", ""))
    if route.startswith("DELETE") and "seq" in params:
        channel = str(params["channel"])
        sender = (parse_channel(channel).dm_users or ("alice",))[0]
        return _scene(channel, sender, params["seq"])
    if route.endswith("/unread") and is_name(user := params.get("user")):
        peer = "bob" if user != "bob" else "alice"
        return _scene(dm_channel_id(user, peer), peer, 2, members=(user,), connected=())
    return None


def _worker(function: str, event: dict[str, Any]) -> JobScene | None:
    record = event["Records"][0]
    if function == "delivery_worker":
        image = {k: next(iter(v.values())) for k, v in record["dynamodb"]["NewImage"].items()}
        before = int(image["ts"]) - 1000  # so each receiver was owed it at the commit
        sender_connection = image.get("senderConnection")
        return _scene(
            image["channel"], image["from"], image["seq"], sender_connection, connected_at=before
        )
    job = json.loads(record["body"])
    if function == "fanout_worker":
        message = job["message"]
        return _scene(message["channel"], message["from"], message["seq"], job.get("except"))
    sender = _sender_to(job["channel"], job["user"])
    members = _others(job["channel"], sender, (job["user"],))
    if function == "notifier":
        return _scene(job["channel"], sender, job["seq"], members=members, connected=())
    connected = (job["user"],)
    follow_up = "chain" in job  # a chain's follow-up: the probes that started it run first
    return _scene(
        job["channel"],
        sender,
        job["seq"],
        members=members,
        connected=connected,
        follow_up=follow_up,
    )


def job_scene_of(function: str, event: dict[str, Any]) -> JobScene | None:
    """The scene an admin or worker event needs; None for any other event (or one whose
    names it cannot read: the handler is left to refuse it)."""
    try:
        if function == "admin":
            return _admin(event)
        if function in {"delivery_worker", "fanout_worker", "retry_worker", "notifier"}:
            return _worker(function, event)
    except (KeyError, IndexError, TypeError, ValueError, StopIteration, ProtocolError):
        return None
    return None


def _probe(user: str, channel: str, seq: int) -> dict[str, Any]:
    event = load_event("retry_worker-probe")
    body = {"user": user, "device": "phone", "channel": channel, "seq": seq, "attempt": 1}
    event["Records"][0]["body"] = json.dumps(body)
    return event


def seed_job(scene: JobScene, invoke: Invoke) -> None:
    """Build the scene by invoking the handlers (`invoke(function, event)`)."""
    if scene.channel.startswith("g:"):
        create_group(invoke, scene.channel, [scene.sender, *scene.members])
    for user in scene.connected:
        connect(invoke, user, f"seeded-{user}", scene.connected_at)
    connect(invoke, scene.sender, scene.sender_connection, scene.connected_at)
    send_messages(invoke, scene.sender, scene.sender_connection, scene.channel, scene.messages)
    for seq in range(1, scene.messages + 1) if scene.follow_up else ():
        for user in scene.connected:
            result = invoke("retry_worker", _probe(user, scene.channel, seq))
            check(result == {"batchItemFailures": []}, f"probing {user}'s seq {seq}", result)
