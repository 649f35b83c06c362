"""Recall (PROTOCOL.md v1.1, DESIGN.md guarantee 3): a recall lowers unread by exactly the
recalled unread message for every member, everywhere unread is reported; the message keeps
its seq and identity and loses its body and mentions for good; retries and pushes skip it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import Conn, Courier

GROUP = "g:team"
DM = "dm:alice:bob"


def recall(courier: Courier, conn: Conn, channel: str, seq: Any) -> dict[str, Any]:
    reply = courier.frame(conn, {"action": "recall", "channel": channel, "seq": seq})
    assert reply is not None
    return reply


def conversation(courier: Courier, conn: Conn, channel: str) -> dict[str, Any]:
    return next(c for c in courier.sync(conn)["conversations"] if c["channel"] == channel)


def test_recalling_an_unread_message_lowers_unread_by_one_for_every_member(
    courier: Courier,
) -> None:
    courier.group("team", ["alice", "bob", "carol"])
    alice, bob, carol = (courier.connect(u) for u in ("alice", "bob", "carol"))
    for i in range(3):
        courier.send(alice, GROUP, f"m{i}")
    courier.read(carol, GROUP, 2)  # carol has read the one to be recalled

    reply = recall(courier, alice, GROUP, 2)

    assert reply == {
        "type": "recall",
        "channel": GROUP,
        "seq": 2,
        "messageId": reply["messageId"],
        "unread": 0,
    }
    assert courier.unread("bob")["channels"] == {GROUP: 2}
    assert courier.unread("carol")["channels"] == {GROUP: 1}
    assert conversation(courier, bob, GROUP)["unread"] == 2
    assert courier.sync(bob)["totalUnread"] == 2
    [told_bob] = courier.posted(bob, "recall")
    [told_carol] = courier.posted(carol, "recall")
    assert (told_bob["unread"], told_carol["unread"]) == (2, 1)
    assert courier.posted(alice, "recall") == []  # the caller's copy is its reply


def test_a_recalled_message_keeps_its_seq_and_identity_and_loses_body_and_mentions(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    sent = courier.frame(
        alice,
        {
            "action": "send",
            "channel": DM,
            "clientMsgNo": "m1",
            "body": {"text": "oops"},
            "mentions": ["bob"],
        },
    )
    assert sent is not None
    recall(courier, alice, DM, 1)

    [stored] = courier.all_messages(bob, DM)
    assert stored == {
        "channel": DM,
        "seq": 1,
        "messageId": sent["messageId"],
        "from": "alice",
        "clientMsgNo": "m1",
        "recalled": True,
        "ts": sent["ts"],
    }
    assert conversation(courier, bob, DM)["lastMessage"]["recalled"] is True
    assert conversation(courier, bob, DM)["mentions"] == 0
    assert "oops" not in str(courier.items("MessagesTable"))  # erased for good


def test_recalling_twice_answers_the_same_frame_and_changes_nothing(courier: Courier) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    first = recall(courier, alice, DM, 1)
    state = courier.state()

    assert recall(courier, alice, DM, 1) == first
    assert courier.state() == state
    assert courier.send(alice, DM, "m1")["duplicate"] is True  # a resend is still a duplicate


def test_only_the_sender_may_recall_and_only_within_the_recall_window(
    courier: Courier, clock: list[int]
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")

    assert recall(courier, bob, DM, 1)["code"] == "forbidden"
    clock[0] += 120_001  # COURIER_RECALL_SECONDS, 120 by default
    assert recall(courier, alice, DM, 1)["code"] == "forbidden"
    assert recall(courier, alice, DM, 3)["code"] == "invalid"  # above lastSeq
    assert courier.unread("bob")["channels"] == {DM: 2}


@pytest.mark.parametrize("seq", [0, -1, "1", None, 1.5, True])
def test_a_bad_seq_is_invalid_and_changes_nothing(courier: Courier, seq: Any) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    state = courier.state()

    assert recall(courier, alice, DM, seq)["code"] == "invalid"
    assert courier.state() == state


def test_a_recalled_message_is_never_sent_again_by_a_retry(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    recall(courier, alice, DM, 1)

    while courier.drain("RetryQueue"):
        pass

    assert len(courier.posted(bob, "message")) == 1  # the first copy, before the recall


def test_a_push_not_yet_published_for_a_recalled_message_is_not_published(
    courier: Courier,
) -> None:
    alice = courier.connect("alice")
    courier.send(alice, DM, "m1")  # bob is offline: a notification job waits
    recall(courier, alice, DM, 1)

    courier.drain("NotifyQueue")

    assert courier.published == []


def test_the_admin_api_recalls_any_message_at_any_time(courier: Courier, clock: list[int]) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    clock[0] += 10 * 86_400_000

    status, body = courier.admin_recall(DM, 1)

    assert (status, body) == (200, {"channel": DM, "seq": 1, "recalled": True})
    assert courier.unread("bob")["channels"] == {DM: 0}
    assert [f["seq"] for f in courier.posted(bob, "recall")] == [1]
    assert courier.admin_recall(DM, 1) == (200, body)  # idempotent
    assert courier.admin_recall(DM, 2)[0] == 404


def test_a_fan_out_chunk_that_runs_after_the_recall_posts_no_body(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group above COURIER_FANOUT_INLINE_LIMIT is delivered by fan-out jobs; a recall made
    before its chunk runs must not be followed by the erased body (found by
    tests/unit/test_model_v11.py)."""
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "2")
    courier.group("team", ["alice", "bob", "carol"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, GROUP, "m1", {"text": "sent by mistake"})  # the plan job is queued
    recall(courier, alice, GROUP, 1)

    while courier.drain("FanoutQueue"):  # the plan, then its chunk
        pass

    assert courier.posted(bob, "recall") != []
    assert "sent by mistake" not in str(courier.posted(bob)), courier.posted(bob)


def test_a_fan_out_chunk_that_runs_after_an_edit_posts_the_latest_body(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "2")
    courier.group("team", ["alice", "bob", "carol"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, GROUP, "m1", {"text": "tpyo"})  # the plan job is queued
    edit = {"action": "edit", "channel": GROUP, "seq": 1, "body": {"text": "typo"}}
    assert courier.frame(alice, edit)["version"] == 1  # type: ignore[index]

    while courier.drain("FanoutQueue"):
        pass

    [message] = courier.posted(bob, "message")
    assert (message["body"], message["version"]) == ({"text": "typo"}, 1)
