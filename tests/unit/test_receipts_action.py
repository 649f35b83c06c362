"""The `receipts` action (PROTOCOL.md v1.1 "receipts"): the members other than the
message's sender whose read cursor is at or past its seq; the count exact, readBy at most
100 of them, sorted; members the channel's member count, the sender included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Conn, Courier


def receipts(courier: Courier, conn: Conn, channel: str, seq: Any) -> dict[str, Any]:
    reply = courier.frame(conn, {"action": "receipts", "channel": channel, "seq": seq})
    assert reply is not None
    return reply


def test_receipts_count_the_members_but_the_sender_whose_cursor_reached_the_seq(
    courier: Courier,
) -> None:
    courier.group("team", ["alice", "bob", "carol", "dave"])
    alice, bob, carol, dave = (courier.connect(u) for u in ("alice", "bob", "carol", "dave"))
    courier.send(alice, "g:team", "m1")
    courier.send(alice, "g:team", "m2")
    courier.read(carol, "g:team", 2)
    courier.read(bob, "g:team", 1)

    assert receipts(courier, dave, "g:team", 1) == {
        "type": "receipts",
        "channel": "g:team",
        "seq": 1,
        "count": 2,
        "members": 4,
        "readBy": ["bob", "carol"],
    }
    assert receipts(courier, alice, "g:team", 2)["readBy"] == ["carol"]
    courier.send(dave, "g:team", "m3")  # sending reads up to it: dave has read 1 and 2
    assert receipts(courier, alice, "g:team", 2)["readBy"] == ["carol", "dave"]


def test_the_sender_is_never_counted_even_when_others_sent_after(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(bob, "g:team", "b1")
    courier.send(bob, "g:team", "b2")

    reply = receipts(courier, alice, "g:team", 1)

    assert (reply["count"], reply["readBy"], reply["members"]) == (0, [], 2)


def test_receipts_in_a_dm(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, "dm:alice:bob", "m1")
    assert receipts(courier, alice, "dm:alice:bob", 1)["readBy"] == []
    courier.read(bob, "dm:alice:bob", 1)

    reply = receipts(courier, alice, "dm:alice:bob", 1)

    assert (reply["count"], reply["readBy"], reply["members"]) == (1, ["bob"], 2)


def test_read_by_lists_at_most_100_sorted_and_the_count_stays_exact(courier: Courier) -> None:
    members = [f"u{i:03d}" for i in range(150)]
    courier.group("crowd", ["alice", *members])
    alice = courier.connect("alice")
    courier.send(alice, "g:crowd", "m1")
    for member in reversed(members[:130]):
        courier.read(courier.connect(member), "g:crowd", 1)

    reply = receipts(courier, alice, "g:crowd", 1)

    assert reply["count"] == 130 and reply["members"] == 151
    assert reply["readBy"] == members[:100]


def test_a_recalled_message_still_has_its_receipts(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, "g:team", "m1")
    courier.read(bob, "g:team", 1)
    courier.frame(alice, {"action": "recall", "channel": "g:team", "seq": 1})

    assert receipts(courier, alice, "g:team", 1)["readBy"] == ["bob"]


@pytest.mark.parametrize("seq", [0, -1, "1", 1.5, None, True, 3])
def test_a_bad_seq_is_invalid(courier: Courier, seq: Any) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    courier.send(alice, "g:team", "m1")
    courier.send(alice, "g:team", "m2")

    reply = receipts(courier, alice, "g:team", seq)

    assert (reply["type"], reply["code"]) == ("error", "invalid")


def test_receipts_of_a_channel_you_do_not_belong_to_are_forbidden(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, mallory = courier.connect("alice"), courier.connect("mallory")
    courier.send(alice, "g:team", "m1")
    courier.send(alice, "dm:alice:bob", "d1")

    for channel in ("g:team", "dm:alice:bob"):
        reply = receipts(courier, mallory, channel, 1)
        assert (reply["type"], reply["code"]) == ("error", "forbidden")
