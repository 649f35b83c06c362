"""Protocol v1.1 part 1's operations (recall, edit, mute, and the read of a mention),
measured as bench/scenarios.py measures a send: through the handlers over moto, every AWS
call recorded, with whatever jobs the operation queues run to their end, so a frame about
a message is counted however it reaches the members (posted inline or by fan-out jobs).

Each recall and edit acts on a message every member's device already has (its own
delivery is not counted: its jobs are discarded); every user has one device.
"""

from __future__ import annotations

from typing import Any

from bench import BODY
from bench.moto_env import Bench
from bench.recorder import Trace, recording
from bench.scenarios import DM, GROUP, Sizes, alice_with_conversations, dm_in_steady_state
from tests.harness import Conn


def _act(b: Bench, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    """One frame by `conn`, then every job it queued; its direct reply."""
    reply = b.courier.frame(conn, frame)
    b.settle()
    assert reply is not None
    return reply


def _group_with_a_message(b: Bench, members: int, mention: str | None = None) -> list[Conn]:
    """A group of `members`, all online; the first sent seq 1 (naming `mention`, if any)."""
    c = b.courier
    users = [f"m{i:04d}" for i in range(members)]
    c.group("crowd", users)
    conns = b.connect_many(users)
    frame = {"action": "send", "channel": GROUP, "clientMsgNo": "m-1", "body": BODY}
    assert c.frame(conns[0], {**frame, "mentions": [mention]} if mention else frame)
    b.discard_jobs()
    return conns


def recall_dm(b: Bench, sizes: Sizes) -> Trace:
    """alice recalls the message bob has: bob's device gets a `recall` frame."""
    alice, bob = dm_in_steady_state(b)
    with recording() as trace:
        reply = _act(b, alice, {"action": "recall", "channel": DM, "seq": 1})
    assert reply["type"] == "recall" and len(b.courier.posted(bob, "recall")) == 1
    return trace


def recall_group(b: Bench, sizes: Sizes, members: int) -> Trace:
    """The sender recalls a group message: every other member's device is told, each with
    its own unread."""
    sender, *others = _group_with_a_message(b, members)
    with recording() as trace:
        reply = _act(b, sender, {"action": "recall", "channel": GROUP, "seq": 1})
    assert reply["type"] == "recall"
    assert all(len(b.courier.posted(conn, "recall")) == 1 for conn in others)
    return trace


def admin_recall(b: Bench, sizes: Sizes, members: int) -> Trace:
    """The app server recalls a group message (DELETE /admin/...): every member's device is
    told, the sender's included."""
    conns = _group_with_a_message(b, members)
    with recording() as trace:
        status, _ = b.courier.admin_recall(GROUP, 1)
        b.settle()
    assert status == 200
    assert all(len(b.courier.posted(conn, "recall")) == 1 for conn in conns)
    return trace


def edit_dm(b: Bench, sizes: Sizes) -> Trace:
    """alice edits the message bob has: bob's device gets an `edit` frame."""
    alice, bob = dm_in_steady_state(b)
    with recording() as trace:
        reply = _act(b, alice, {"action": "edit", "channel": DM, "seq": 1, "body": BODY})
    assert reply["version"] == 1 and len(b.courier.posted(bob, "edit")) == 1
    return trace


def edit_group(b: Bench, sizes: Sizes, members: int) -> Trace:
    """The sender edits a group message: every other member's device is told."""
    sender, *others = _group_with_a_message(b, members)
    with recording() as trace:
        reply = _act(b, sender, {"action": "edit", "channel": GROUP, "seq": 1, "body": BODY})
    assert reply["version"] == 1
    assert all(len(b.courier.posted(conn, "edit")) == 1 for conn in others)
    return trace


def mute(b: Bench, sizes: Sizes, muted: bool = True) -> Trace:
    """alice, with `sizes.conversations` conversations, mutes one (`muted`: False, unmutes
    it, muted before): the reply carries her new totalUnread."""
    alice, _ = alice_with_conversations(b, sizes)
    frame = {"action": "mute", "channel": "dm:alice:p000", "muted": muted}
    if not muted:
        _act(b, alice, {**frame, "muted": True})
    with recording() as trace:
        reply = _act(b, alice, frame)
    assert reply["type"] == "mute" and reply["muted"] is muted
    return trace


def _unread_mentions(b: Bench, conn: Conn) -> int:
    (entry,) = (e for e in b.courier.sync(conn)["conversations"] if e["channel"] == GROUP)
    return int(entry["mentions"])


def read_mention(b: Bench, sizes: Sizes, mentioned: bool) -> Trace:
    """A member reads a group message that names them (`mentioned`) or not: the read that
    moves the cursor also drops the mention it passes."""
    conns = _group_with_a_message(b, sizes.groups[0], "m0001" if mentioned else None)
    reader = conns[1]
    assert _unread_mentions(b, reader) == int(mentioned)
    with recording() as trace:
        reply = _act(b, reader, {"action": "read", "channel": GROUP, "seq": 1})
    assert reply["unread"] == 0 and _unread_mentions(b, reader) == 0
    return trace
