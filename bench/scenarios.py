"""Courier's operations, run through the deployable handlers over moto with every AWS call
recorded, including what the workers do afterwards (retry probes, fan-out, notifications).

Each operation is measured in steady state: a first message has already created the rows
a conversation's first message creates. Every user has one device.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import BODY
from bench.moto_env import Bench
from bench.recorder import Trace, recording
from tests.harness import Conn

DM = "dm:alice:bob"
GROUP = "g:crowd"
NOTIFY_WINDOW_SECONDS = 30  # COURIER_NOTIFY_COALESCE_SECONDS, the template's default


@dataclass(frozen=True)
class Sizes:
    groups: tuple[int, ...] = (10, 100, 1000)
    conversations: int = 20  # of the user whose conversation list is synced
    page: int = 50  # messages in a synced page
    online: int = 1000  # devices in the naive baseline's connections table
    mention_group: int = 20  # members of the group whose sends name some of them
    mentions: tuple[int, ...] = (0, 1, 10)  # members a send names, per measured send
    receipts: tuple[int, ...] = (10, 100, 5000)  # members of the groups asked for receipts
    presence: tuple[int, ...] = (1, 10, 100)  # users asked about, per presence call

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            groups=(5, 20, 150),
            conversations=6,
            page=20,
            online=100,
            mention_group=8,
            mentions=(0, 1, 5),
            receipts=(5, 20, 150),
            presence=(1, 3, 10),
        )


def dm_in_steady_state(b: Bench) -> tuple[Conn, Conn]:
    """alice and bob online, their DM's rows created by a first message bob has acked."""
    alice, bob = b.connect_many(["alice", "bob"])
    b.courier.send(alice, DM, "warm-up", BODY)
    b.courier.ack(bob, DM, 1)
    b.settle()
    return alice, bob


def dm(b: Bench, sizes: Sizes) -> Trace:
    """alice sends bob a message; bob's device gets it, acks it and reads it; the retry
    probe finds it acked."""
    c = b.courier
    alice, bob = dm_in_steady_state(b)
    with recording() as trace:
        seq = c.send(alice, DM, "m-2", BODY)["seq"]
        c.ack(bob, DM, seq)
        assert c.read(bob, DM, seq)["unread"] == 0
        b.settle()
    assert len(c.posted(bob, "message")) == 2
    return trace


def dm_offline(b: Bench, sizes: Sizes) -> Trace:
    """alice sends bob, who has no live connection, a message: a push notification (the
    previous one is older than the coalescing window)."""
    c = b.courier
    (alice,) = b.connect_many(["alice"])
    c.send(alice, DM, "warm-up", BODY)
    b.settle()
    b.clock.advance(2 * NOTIFY_WINDOW_SECONDS)
    with recording() as trace:
        c.send(alice, DM, "m-2", BODY)
        b.settle()
    assert [n["seq"] for n in c.published] == [1, 2]
    return trace


def dm_unacked(b: Bench, sizes: Sizes) -> Trace:
    """bob's device stays connected and never acks: the message is sent again until the
    retry bound (1 + COURIER_MAX_RETRIES copies)."""
    c = b.courier
    alice, bob = dm_in_steady_state(b)
    with recording() as trace:
        c.send(alice, DM, "m-2", BODY)
        b.settle()
    assert sum(1 for f in c.posted(bob, "message") if f["seq"] == 2) == 6
    return trace


def group_send(b: Bench, sizes: Sizes, members: int, mentions: int = 0) -> Trace:
    """A member sends to a group whose members are all online, naming the first `mentions`
    other members: delivery (fan-out jobs above 100 members), every receiving device acks,
    the retry probes find the acks."""
    c = b.courier
    users = [f"m{i:04d}" for i in range(members)]
    c.group("crowd", users)
    conns = b.connect_many(users)
    sender, receivers = conns[0], conns[1:]
    named = users[1 : 1 + mentions]

    def one_message(key: str) -> None:
        frame = {"action": "send", "channel": GROUP, "clientMsgNo": key, "body": BODY}
        reply = c.frame(sender, {**frame, "mentions": named} if named else frame)
        assert reply is not None
        b.settle("FanoutQueue")
        for conn in receivers:
            c.ack(conn, GROUP, reply["seq"])
        b.settle()

    one_message("warm-up")
    with recording() as trace:
        one_message("m-2")
    assert all(len(c.posted(conn, "message")) == 2 for conn in receivers)
    assert all(c.posted(conn, "message")[-1].get("mentions", []) == named for conn in receivers)
    return trace


def alice_with_conversations(b: Bench, sizes: Sizes) -> tuple[Conn, list[Conn]]:
    """alice online with `sizes.conversations` peers: half DMs (dm:alice:p000, ...), half
    groups, three messages from the peer in each, their jobs discarded."""
    c = b.courier
    peers = [f"p{i:03d}" for i in range(sizes.conversations)]
    alice, *others = b.connect_many(["alice", *peers])
    for i, peer in enumerate(others):
        if i % 2:
            c.group(f"team{i}", ["alice", peer.user])
            channel = f"g:team{i}"
        else:
            channel = f"dm:alice:{peer.user}"
        for n in range(3):
            c.send(peer, channel, f"{channel}-{n}", BODY)
    b.discard_jobs()
    return alice, others


def sync_conversations(b: Bench, sizes: Sizes) -> Trace:
    """alice syncs her conversation list: half DMs, half groups, a few messages in each."""
    alice, _ = alice_with_conversations(b, sizes)
    with recording() as trace:
        page = b.courier.sync(alice)
    assert len(page["conversations"]) == sizes.conversations and page["totalUnread"] > 0
    return trace


def sync_messages(b: Bench, sizes: Sizes) -> Trace:
    """bob syncs one page of a DM's history."""
    c = b.courier
    alice, bob = b.connect_many(["alice", "bob"])
    for n in range(sizes.page + 10):
        c.send(alice, DM, f"h-{n}", BODY)
    b.discard_jobs()
    with recording() as trace:
        page = c.sync(bob, channel=DM, afterSeq=0, limit=sizes.page)
    assert len(page["messages"]) == sizes.page and page["more"]
    return trace
