"""Mentions (PROTOCOL.md v1.1): a conversation entry counts the user's unread messages that
mention them; a read past them clears them; a non-member mentioned is unaffected."""

from __future__ import annotations

from typing import Any

import pytest

from courier import sequencer
from tests.harness import Conn, Courier

GROUP = "g:team"
DM = "dm:alice:bob"


def send(courier: Courier, conn: Conn, channel: str, no: str, mentions: Any) -> dict[str, Any]:
    reply = courier.frame(
        conn,
        {
            "action": "send",
            "channel": channel,
            "clientMsgNo": no,
            "body": {"text": no},
            "mentions": mentions,
        },
    )
    assert reply is not None
    return reply


def entry(courier: Courier, conn: Conn, channel: str) -> dict[str, Any]:
    page = courier.sync(conn)
    return next(c for c in page["conversations"] if c["channel"] == channel)


def test_a_mention_counts_for_the_member_until_they_read_past_it(courier: Courier) -> None:
    courier.group("team", ["alice", "bob", "carol"])
    alice, bob, carol = (courier.connect(u) for u in ("alice", "bob", "carol"))
    send(courier, alice, GROUP, "m1", ["bob"])
    send(courier, alice, GROUP, "m2", None)
    send(courier, alice, GROUP, "m3", ["bob", "carol"])

    assert (entry(courier, bob, GROUP)["unread"], entry(courier, bob, GROUP)["mentions"]) == (3, 2)
    assert entry(courier, carol, GROUP)["mentions"] == 1
    assert courier.unread("bob")["mentions"] == {GROUP: 2}

    courier.read(bob, GROUP, 2)

    assert entry(courier, bob, GROUP)["mentions"] == 1
    row = next(r for r in courier.items("MembershipsTable") if r["userId"] == {"S": "bob"})
    assert row["mentionSeqs"] == {"NS": ["3"]}  # the read pruned what it passed


def test_a_message_carries_its_mentions_in_frames_sync_and_last_message(
    courier: Courier,
) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    send(courier, alice, GROUP, "m1", ["bob", "zed"])

    [frame] = courier.posted(bob, "message")
    assert frame["mentions"] == ["bob", "zed"]
    assert courier.all_messages(bob, GROUP)[0]["mentions"] == ["bob", "zed"]
    assert entry(courier, bob, GROUP)["lastMessage"]["mentions"] == ["bob", "zed"]
    send(courier, alice, GROUP, "m2", None)
    assert "mentions" not in courier.all_messages(bob, GROUP)[1]


def test_mentioning_a_user_who_is_not_a_member_has_no_effect_for_them(
    courier: Courier,
) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    send(courier, alice, GROUP, "m1", ["zed", "alice"])

    assert courier.unread("zed") == {
        "user": "zed",
        "totalUnread": 0,
        "channels": {},
        "muted": [],
        "mentions": {},
    }
    assert courier.unread("alice")["mentions"] == {}  # mentioning yourself counts for no one
    assert all("mentionSeqs" not in row for row in courier.items("MembershipsTable"))


def test_the_first_message_of_a_dm_can_mention_the_peer(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    send(courier, alice, DM, "m1", ["bob"])
    send(courier, alice, DM, "m2", ["bob"])

    assert entry(courier, bob, DM)["mentions"] == 2


@pytest.mark.parametrize(
    "mentions",
    [
        "bob",
        [1],
        ["bob", "bob"],
        ["not a name"],
        [f"u{i}" for i in range(51)],
    ],
)
def test_bad_mentions_are_invalid_and_store_nothing(courier: Courier, mentions: Any) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")

    reply = send(courier, alice, GROUP, "m1", mentions)

    assert reply["type"] == "error" and reply["code"] == "invalid", reply
    assert courier.items("MessagesTable") == []


def test_a_member_who_leaves_before_the_send_commits_is_left_out_of_its_mentions(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The send reads which mentioned users are members, then commits; carol left in
    # between: her row's condition cancels the transaction, the send reads again and
    # commits without her (no membership row is made for someone outside the group).
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    stale = iter([["bob", "carol"]])
    fresh = sequencer.mentioned_members
    monkeypatch.setattr(
        sequencer, "mentioned_members", lambda *args: next(stale, None) or fresh(*args)
    )

    reply = send(courier, alice, GROUP, "m1", ["bob", "carol"])

    assert reply["type"] == "sendack" and reply["seq"] == 1, reply
    rows = {r["userId"]["S"]: r for r in courier.items("MembershipsTable")}
    assert set(rows) == {"alice", "bob"}
    assert rows["bob"]["mentionSeqs"] == {"NS": ["1"]}
