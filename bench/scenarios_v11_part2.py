"""Protocol v1.1 part 2's operations (receipts, typing, presence, and the receipt frames a
DM's read and send now post), measured as bench/scenarios.py measures a send: through the
handlers over moto, every AWS call recorded, whatever jobs the operation queues run to
their end. Every user has one device.
"""

from __future__ import annotations

from typing import Any

from bench import BODY
from bench.moto_env import Bench
from bench.recorder import Trace, recording
from bench.scenarios import DM, GROUP, Sizes, dm_in_steady_state
from courier.presence import IDLE_MS
from courier.typing_indicator import TYPING_MS
from tests.harness import Conn


def _group(b: Bench, members: int) -> list[str]:
    users = [f"m{i:04d}" for i in range(members)]
    b.courier.group("crowd", users)
    return users


def receipts(b: Bench, sizes: Sizes, members: int) -> Trace:
    """The sender of a group message asks who has read it; half of the other members have
    (each by a `read`, before the measurement)."""
    c = b.courier
    users = _group(b, members)
    readers = users[1 : 1 + (members - 1) // 2]
    sender, *reader_conns = b.connect_many([users[0], *readers])
    frame = {"action": "send", "channel": GROUP, "clientMsgNo": "m-1", "body": BODY}
    assert c.frame(sender, frame)
    b.discard_jobs()
    for conn in reader_conns:
        c.read(conn, GROUP, 1)
    b.discard_jobs()
    with recording() as trace:
        reply = c.frame(sender, {"action": "receipts", "channel": GROUP, "seq": 1})
    assert reply is not None
    assert (reply["count"], reply["members"]) == (len(readers), members)
    return trace


def read_dm(b: Bench, sizes: Sizes) -> Trace:
    """bob reads alice's message: his other devices (none) get the `read` frame, alice's
    device a `receipt`."""
    c = b.courier
    alice, bob = dm_in_steady_state(b)
    seq = c.send(alice, DM, "m-2", BODY)["seq"]
    b.settle()
    with recording() as trace:
        assert c.read(bob, DM, seq)["unread"] == 0
        b.settle()
    (receipt,) = c.posted(alice, "receipt")
    assert receipt["readSeq"] == seq
    return trace


def send_dm(b: Bench, sizes: Sizes) -> Trace:
    """alice sends bob a message, which bob's device acks; bob's device also gets alice's
    `receipt` (a send reads the DM up to the message)."""
    c = b.courier
    alice, bob = dm_in_steady_state(b)
    with recording() as trace:
        seq = c.send(alice, DM, "m-2", BODY)["seq"]
        c.ack(bob, DM, seq)
        b.settle()
    assert [r["readSeq"] for r in c.posted(bob, "receipt")] == [1, seq]
    return trace


def _typing(b: Bench, conn: Conn, channel: str) -> None:
    assert b.courier.frame(conn, {"action": "typing", "channel": channel}) is None
    b.settle()


def typing(
    b: Bench, sizes: Sizes, members: int = 2, throttled: bool = False, relayed: bool = True
) -> Trace:
    """A member types in a DM (`members` 2) or a group of `members`, all online; with
    `throttled`, for the second time within 3 s. Relayed to the others' devices (unless
    throttled; `relayed` False: a group above FanoutInlineLimit, dropped)."""
    c = b.courier
    if members == 2:
        typist, *others = dm_in_steady_state(b)
        channel = DM
    else:
        typist, *others = b.connect_many(_group(b, members))
        channel = GROUP
    if throttled:
        _typing(b, typist, channel)
        b.clock.advance(TYPING_MS / 2 / 1000)
    told = [len(c.posted(conn, "typing")) for conn in others]
    with recording() as trace:
        _typing(b, typist, channel)
    frames = [len(c.posted(conn, "typing")) - n for conn, n in zip(others, told, strict=True)]
    assert set(frames) == {int(relayed and not throttled)}
    return trace


def presence(b: Bench, sizes: Sizes, users: int, idle: bool = False) -> Trace:
    """alice asks about `users` users, each of whom has a DM with her holding a message and
    one device online: connected just now, or (`idle`) over 10 minutes ago, so that each
    is checked with API Gateway (GetConnection: alive)."""
    c = b.courier
    peers = [f"p{i:03d}" for i in range(users)]
    alice, *_ = b.connect_many(["alice", *peers])
    for peer in peers:
        c.send(alice, f"dm:alice:{peer}", f"to-{peer}", BODY)
    b.discard_jobs()
    if idle:
        b.clock.advance(IDLE_MS / 1000 + 60)
    with recording() as trace:
        reply = c.frame(alice, {"action": "presence", "users": peers})
    assert reply is not None
    statuses: dict[str, Any] = reply["users"]
    assert statuses == {peer: {"online": True} for peer in peers}
    assert len(c.connections.checked) == (users if idle else 0)
    return trace
