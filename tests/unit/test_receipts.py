"""Read receipts in DMs (PROTOCOL.md v1.1 "receipts"): each user sees the other's read
cursor, as `peerReadSeq` in the conversation entry and as `receipt` frames when it moves,
by a read or by sending."""

from __future__ import annotations

from typing import Any

from tests.harness import Conn, Courier

DM = "dm:alice:bob"


def entry(courier: Courier, conn: Conn, channel: str) -> dict[str, Any]:
    return next(c for c in courier.sync(conn)["conversations"] if c["channel"] == channel)


def test_a_dm_conversation_entry_carries_the_peers_read_cursor(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(3):
        courier.send(alice, DM, f"m{i}")
    courier.read(bob, DM, 2)

    assert entry(courier, alice, DM)["peerReadSeq"] == 2
    assert entry(courier, bob, DM)["peerReadSeq"] == 3  # alice sent up to 3: she read it
    courier.read(bob, DM, 3)
    assert entry(courier, alice, DM)["peerReadSeq"] == 3


def test_a_peer_who_never_read_has_a_peer_read_seq_of_zero(courier: Courier) -> None:
    bob = courier.connect("bob")
    courier.send(bob, "dm:bob:carol", "hi")

    assert entry(courier, bob, "dm:bob:carol")["peerReadSeq"] == 0


def test_a_group_conversation_entry_has_no_peer_read_seq(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    courier.send(alice, "g:team", "t1")

    assert "peerReadSeq" not in entry(courier, alice, "g:team")


def test_a_read_in_a_dm_sends_the_peer_a_receipt(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    alice_laptop = courier.connect("alice", "laptop")
    bob_laptop = courier.connect("bob", "laptop")
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")
    courier.connections.frames.clear()

    courier.read(bob, DM, 2)

    receipt = {"type": "receipt", "channel": DM, "user": "bob", "readSeq": 2}
    assert courier.posted(alice, "receipt") == courier.posted(alice_laptop, "receipt") == [receipt]
    assert courier.posted(bob, "receipt") == courier.posted(bob_laptop, "receipt") == []


def test_sending_in_a_dm_sends_the_peer_a_receipt_of_the_senders_cursor(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(bob, DM, "b1")
    courier.connections.frames.clear()

    courier.send(alice, DM, "a1")

    assert courier.posted(bob, "receipt") == [
        {"type": "receipt", "channel": DM, "user": "alice", "readSeq": 2}
    ]
    assert courier.posted(alice, "receipt") == []


def test_a_read_or_a_resend_that_moves_no_cursor_sends_no_receipt(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.read(bob, DM, 1)
    courier.connections.frames.clear()

    courier.read(bob, DM, 1)  # already there
    courier.read(bob, DM, 0)
    courier.send(alice, DM, "m1")  # a resend: duplicate

    assert courier.posted(alice, "receipt") == courier.posted(bob, "receipt") == []


def test_no_receipt_frames_in_a_group(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, "g:team", "t1")
    courier.read(bob, "g:team", 1)

    assert courier.posted(alice, "receipt") == courier.posted(bob, "receipt") == []
