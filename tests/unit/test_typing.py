"""Typing (PROTOCOL.md v1.1 "typing"): relayed to every live connection of every other
member; never stored, retried or counted; at most one per (user, channel) per 3 s across
concurrent invocations; none in channels above the inline fan-out limit."""

from __future__ import annotations

from typing import Any

from courier.runtime import reset_services
from tests.harness import Conn, Courier


def typing(courier: Courier, conn: Conn, channel: Any) -> None:
    assert courier.frame(conn, {"action": "typing", "channel": channel}) is None


def told(courier: Courier, conn: Conn) -> list[dict[str, Any]]:
    return courier.posted(conn, "typing")


def test_typing_reaches_every_live_connection_of_every_other_member(courier: Courier) -> None:
    courier.group("team", ["alice", "bob", "carol"])
    alice, alice_laptop = courier.connect("alice"), courier.connect("alice", "laptop")
    bob, bob_laptop, carol = (
        courier.connect("bob"),
        courier.connect("bob", "laptop"),
        courier.connect("carol"),
    )

    typing(courier, alice, "g:team")

    frame = {"type": "typing", "channel": "g:team", "user": "alice"}
    assert told(courier, bob) == told(courier, bob_laptop) == told(courier, carol) == [frame]
    assert courier.posted(alice) == courier.posted(alice_laptop) == []


def test_typing_in_a_dm_reaches_the_peer_before_any_message(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")

    typing(courier, alice, "dm:alice:bob")

    assert told(courier, bob) == [{"type": "typing", "channel": "dm:alice:bob", "user": "alice"}]
    assert courier.sync(alice)["conversations"] == []  # no conversation appears by typing


def test_typing_is_throttled_to_one_per_user_and_channel_per_3_seconds(
    courier: Courier, clock: list[int]
) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    typing(courier, alice, "g:team")
    clock[0] += 2_999
    typing(courier, alice, "g:team")
    typing(courier, alice, "dm:alice:bob")  # another channel has its own turn
    typing(courier, bob, "g:team")  # and another user
    assert [f["channel"] for f in told(courier, bob)] == ["g:team", "dm:alice:bob"]

    clock[0] += 1
    typing(courier, alice, "g:team")

    assert [f["channel"] for f in told(courier, bob)] == ["g:team", "dm:alice:bob", "g:team"]
    assert len(told(courier, alice)) == 1


def test_the_throttle_holds_across_containers(courier: Courier, clock: list[int]) -> None:
    """Lambda containers share no memory: the throttle is in DynamoDB, so a frame handled
    by a fresh container is throttled as well."""
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    typing(courier, alice, "g:team")
    reset_services(clients=True)
    clock[0] += 1_000

    typing(courier, alice, "g:team")

    assert len(told(courier, bob)) == 1


def test_typing_stores_nothing_but_its_throttle_and_queues_nothing(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    courier.connect("bob")
    before = courier.state()

    typing(courier, alice, "g:team")

    after = courier.state()
    changed = [t for t in after if after[t] != before[t]]
    assert changed == ["MembershipsTable"]
    [row] = [r for r in after["MembershipsTable"] if r not in before["MembershipsTable"]]
    assert (row["userId"], row["channel"], set(row)) == (
        {"S": "alice"},
        {"S": "g:team"},
        {"userId", "channel", "joinedAt", "readSeq", "typingAt"},
    )
    assert all(courier.jobs(queue) == [] for queue in ("RetryQueue", "NotifyQueue"))
    assert courier.sync(alice)["totalUnread"] == 0


def test_no_typing_in_a_channel_above_the_inline_limit(courier: Courier, monkeypatch: Any) -> None:
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
    members = ["alice", "bob", "carol", "dave"]
    courier.group("four", members)
    conns = [courier.connect(u) for u in members]
    before = courier.state()

    typing(courier, conns[0], "g:four")

    assert all(courier.posted(c) == [] for c in conns)
    assert courier.state() == before


def test_typing_where_you_do_not_belong_is_refused_and_relays_nothing(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    mallory, alice = courier.connect("mallory"), courier.connect("alice")
    before = courier.state()

    for channel in ("g:team", "dm:alice:bob", "g:nowhere"):
        typing(courier, mallory, channel)
    typing(courier, mallory, "nonsense")

    codes = [f["code"] for f in courier.posted(mallory, "error")]
    assert codes == ["forbidden", "forbidden", "forbidden", "invalid"]
    assert courier.posted(alice) == []
    assert courier.state() == before
