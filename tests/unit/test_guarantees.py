"""DESIGN.md's guarantees, one test (at least) named after each, including the races."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from tests.harness import Conn, Courier

DM = "dm:alice:bob"


def run_together(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start the workers at the same instant (a barrier) and collect what they return."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = workers[i]()
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def stored_seqs(courier: Courier, channel: str) -> list[int]:
    items = courier.dynamodb.query(
        TableName=courier.tables["MessagesTable"],
        KeyConditionExpression="channel = :c",
        ExpressionAttributeValues={":c": {"S": channel}},
    )["Items"]
    return [int(i["seq"]["N"]) for i in items]


# 1. One message per idempotency key ---------------------------------------------------


def test_resend_after_lost_sendack_creates_no_second_message(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    first = courier.send(alice, DM, "m-1", {"text": "hi"})
    delivered = list(courier.posted(bob))

    again = courier.send(alice, DM, "m-1", {"text": "hi"})

    assert again["duplicate"] is True and first["duplicate"] is False
    assert {k: again[k] for k in ("seq", "messageId", "ts", "channel")} == {
        k: first[k] for k in ("seq", "messageId", "ts", "channel")
    }
    assert stored_seqs(courier, DM) == [1]
    assert courier.posted(bob) == delivered  # a duplicate delivers nothing new


def test_resend_after_reconnect_answers_from_the_stored_record(courier: Courier) -> None:
    alice = courier.connect("alice")
    first = courier.send(alice, DM, "m-1")
    courier.disconnect(alice)
    alice_again = courier.connect("alice")
    courier.send(alice_again, DM, "m-2")

    resent = courier.send(alice_again, DM, "m-1")

    assert resent["duplicate"] is True
    assert (resent["seq"], resent["messageId"]) == (first["seq"], first["messageId"])
    assert stored_seqs(courier, DM) == [1, 2]


def test_concurrent_duplicate_sends_create_one_message(courier: Courier) -> None:
    phone, tablet = courier.connect("alice", "phone"), courier.connect("alice", "tablet")
    bob = courier.connect("bob")

    replies = run_together(
        [lambda c=c: courier.send(c, DM, "same-key", {"text": "once"}) for c in (phone, tablet) * 4]
    )

    assert stored_seqs(courier, DM) == [1]
    assert {(r["seq"], r["messageId"], r["ts"]) for r in replies} == {
        (1, replies[0]["messageId"], replies[0]["ts"])
    }
    assert sorted(r["duplicate"] for r in replies) == [False] + [True] * 7
    assert len(courier.posted(bob, "message")) == 1


def test_same_client_msg_no_from_two_senders_names_two_messages(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    a = courier.send(alice, DM, "k")
    b = courier.send(bob, DM, "k")
    assert (a["seq"], b["seq"]) == (1, 2) and not b["duplicate"]


# 2. Gap-free, ordered seq per channel -------------------------------------------------


def test_seq_is_gap_free_and_ordered_per_channel(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.group("team", ["alice", "bob"])
    seqs = [courier.send(alice if i % 2 else bob, DM, f"m{i}")["seq"] for i in range(6)]
    group_seqs = [courier.send(alice, "g:team", f"g{i}")["seq"] for i in range(3)]

    assert seqs == [1, 2, 3, 4, 5, 6] and group_seqs == [1, 2, 3]
    messages = courier.all_messages(bob, DM)
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5, 6]
    assert all(a["ts"] <= b["ts"] for a, b in itertools.pairwise(messages))


def test_two_senders_hammering_one_channel_yield_seq_1_to_n_without_gap_or_duplicate(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    per_sender = 15

    def hammer(conn: Conn) -> list[int]:
        return [courier.send(conn, DM, f"{conn.user}-{i}")["seq"] for i in range(per_sender)]

    got = run_together([lambda: hammer(alice), lambda: hammer(bob)])

    everything = sorted(got[0] + got[1])
    assert everything == list(range(1, 2 * per_sender + 1))
    assert got[0] == sorted(got[0]) and got[1] == sorted(got[1])  # each sender's order kept
    assert sorted(stored_seqs(courier, DM)) == everything
    senders = {m["seq"]: m["from"] for m in courier.all_messages(alice, DM)}
    assert all(senders[s] == "alice" for s in got[0])


# 3. Unread is derived, never counted --------------------------------------------------


def unread_of(courier: Courier, conn: Conn, channel: str) -> int:
    for conversation in courier.sync(conn)["conversations"]:
        if conversation["channel"] == channel:
            assert conversation["unread"] == conversation["lastSeq"] - conversation["readSeq"]
            return int(conversation["unread"])
    return 0


def test_unread_is_derived_never_counted(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    bob_tablet = courier.connect("bob", "tablet")
    script: list[tuple[str, Callable[[], Any], int, int]] = [
        ("alice sends 1", lambda: courier.send(alice, DM, "a1"), 0, 1),
        ("alice sends 2", lambda: courier.send(alice, DM, "a2"), 0, 2),
        ("alice resends 2 (lost sendack)", lambda: courier.send(alice, DM, "a2"), 0, 2),
        ("bob acks 2 on his phone", lambda: courier.ack(bob, DM, 2), 0, 2),
        ("bob reads 1", lambda: courier.read(bob, DM, 1), 0, 1),
        ("bob replies", lambda: courier.send(bob, DM, "b1"), 1, 0),
        ("alice resends 1 again", lambda: courier.send(alice, DM, "a1"), 1, 0),
        ("alice sends 4", lambda: courier.send(alice, DM, "a4"), 0, 1),
        ("bob reads an old seq", lambda: courier.read(bob_tablet, DM, 2), 0, 1),
        ("alice reads far ahead", lambda: courier.read(alice, DM, 99), 0, 1),
        ("bob reads all on the tablet", lambda: courier.read(bob_tablet, DM, 4), 0, 0),
    ]
    for step, action, alice_unread, bob_unread in script:
        action()
        assert (unread_of(courier, alice, DM), unread_of(courier, bob, DM)) == (
            alice_unread,
            bob_unread,
        ), step
        assert courier.unread("bob")["channels"].get(DM, 0) == bob_unread, step
        assert courier.unread("alice")["totalUnread"] == alice_unread, step


def test_redelivery_of_a_message_does_not_change_unread(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "a1")
    before = courier.unread("bob")
    for _ in range(3):  # resends after lost sendacks: each answered, none counted
        courier.send(alice, DM, "a1")
    assert before == {
        "user": "bob",
        "totalUnread": 1,
        "channels": {DM: 1},
        "muted": [],
        "mentions": {},
    }
    assert courier.unread("bob") == before
    assert len(courier.posted(bob, "message")) == 1


# 4. Cursors are monotonic -------------------------------------------------------------


def read_cursor(courier: Courier, user: str, channel: str) -> int:
    item = courier.dynamodb.get_item(
        TableName=courier.tables["MembershipsTable"],
        Key={"userId": {"S": user}, "channel": {"S": channel}},
    ).get("Item", {})
    return int(item["readSeq"]["N"]) if item else 0


def ack_cursor(courier: Courier, conn: Conn, channel: str) -> int:
    item = courier.dynamodb.get_item(
        TableName=courier.tables["AcksTable"],
        Key={"deviceKey": {"S": f"{conn.user}#{conn.device}"}, "channel": {"S": channel}},
    ).get("Item", {})
    return int(item["ackSeq"]["N"]) if item else 0


def test_read_cursor_never_moves_backwards_and_is_clamped_to_last_seq(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(5):
        courier.send(alice, DM, f"m{i}")

    assert courier.read(bob, DM, 3)["readSeq"] == 3
    assert courier.read(bob, DM, 1) == {"type": "read", "channel": DM, "readSeq": 3, "unread": 2}
    assert courier.read(bob, DM, 3)["readSeq"] == 3
    assert courier.read(bob, DM, 1000) == {"type": "read", "channel": DM, "readSeq": 5, "unread": 0}
    assert read_cursor(courier, "bob", DM) == 5


def test_concurrent_reads_leave_the_highest_cursor(courier: Courier) -> None:
    alice = courier.connect("alice")
    devices = [courier.connect("bob", f"d{i}") for i in range(6)]
    for i in range(6):
        courier.send(alice, DM, f"m{i}")

    run_together([lambda c=c, s=s: courier.read(c, DM, s) for s, c in enumerate(devices, 1)])

    assert read_cursor(courier, "bob", DM) == 6


def test_ack_cursor_is_per_device_and_never_moves_backwards(courier: Courier) -> None:
    alice, phone, tablet = (
        courier.connect("alice"),
        courier.connect("bob"),
        courier.connect("bob", "tablet"),
    )
    for i in range(4):
        courier.send(alice, DM, f"m{i}")

    courier.ack(phone, DM, 3)
    courier.ack(phone, DM, 2)
    courier.ack(tablet, DM, 1)
    courier.ack(tablet, DM, 50)  # clamped to lastSeq

    assert (ack_cursor(courier, phone, DM), ack_cursor(courier, tablet, DM)) == (3, 4)
    assert courier.posted(phone, "error") == [] and courier.posted(tablet, "error") == []


def test_sending_moves_the_senders_read_cursor_so_own_messages_are_never_unread(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(bob, DM, "b1")
    courier.send(alice, DM, "a1")
    assert read_cursor(courier, "alice", DM) == 2
    assert courier.unread("alice")["totalUnread"] == 0
    assert courier.unread("bob")["channels"] == {DM: 1}


# 6. Nothing lost ----------------------------------------------------------------------


def test_nothing_lost_every_sendacked_message_is_returned_by_sync_to_every_member(
    courier: Courier,
) -> None:
    alice, bob, carol = courier.connect("alice"), courier.connect("bob"), courier.connect("carol")
    courier.group("team", ["alice", "bob", "carol"])
    acked = []
    for i in range(130):
        sender = (alice, bob, carol)[i % 3]
        acked.append(courier.send(sender, "g:team", f"{sender.user}-{i}", {"n": i})["messageId"])
    for member in (alice, bob, carol):
        messages = courier.all_messages(member, "g:team")
        assert [m["messageId"] for m in messages] == acked
        assert [m["seq"] for m in messages] == list(range(1, 131))


def test_sync_pages_are_cut_to_fit_one_websocket_message(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    big = {"text": "x" * 16_000}
    for i in range(20):
        courier.send(alice, DM, f"m{i}", big)

    page = courier.frame(bob, {"action": "sync", "channel": DM, "afterSeq": 0, "limit": 100})

    assert page is not None and page["more"] is True
    assert 1 <= len(page["messages"]) < 20
    result = courier.invoke(
        "sync", bob, frame={"action": "sync", "channel": DM, "limit": 100, "requestId": "r" * 64}
    )
    assert len(result["body"].encode("utf-8")) <= 128_000
    assert [m["seq"] for m in courier.all_messages(bob, DM)] == list(range(1, 21))


# 7. Read state follows the user -------------------------------------------------------


def test_read_on_one_device_reaches_every_live_device_of_the_user(courier: Courier) -> None:
    alice = courier.connect("alice")
    phone, tablet, laptop = (courier.connect("bob", d) for d in ("phone", "tablet", "laptop"))
    for i in range(3):
        courier.send(alice, DM, f"m{i}")

    reply = courier.read(phone, DM, 2)

    expected = {"type": "read", "channel": DM, "readSeq": 2, "unread": 1}
    assert reply == expected
    assert courier.posted(tablet, "read") == [expected]
    assert courier.posted(laptop, "read") == [expected]
    assert courier.posted(phone, "read") == []  # its copy is the direct reply
    assert courier.posted(alice, "read") == []  # read state is private to the user
