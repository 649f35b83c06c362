"""Edit and mute (PROTOCOL.md v1.1, DESIGN.md guarantee 3): an edit never changes unread and
races resolve by `version`; a recall is final against an edit; a muted channel keeps its
own unread but leaves totalUnread and badges, and pushes only what mentions the user."""

from __future__ import annotations

from typing import Any

from tests.harness import Conn, Courier

GROUP = "g:team"
DM = "dm:alice:bob"


def edit(courier: Courier, conn: Conn, channel: str, seq: Any, body: Any) -> dict[str, Any]:
    reply = courier.frame(conn, {"action": "edit", "channel": channel, "seq": seq, "body": body})
    assert reply is not None
    return reply


def mute(courier: Courier, conn: Conn, channel: str, muted: Any) -> dict[str, Any]:
    reply = courier.frame(conn, {"action": "mute", "channel": channel, "muted": muted})
    assert reply is not None
    return reply


def test_edit_never_changes_unread(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.send(alice, DM, "m2")
    before = courier.unread("bob")

    reply = edit(courier, alice, DM, 1, {"text": "fixed"})

    assert courier.unread("bob") == before
    assert reply["type"] == "edit" and reply["version"] == 1 and reply["body"] == {"text": "fixed"}
    [told] = courier.posted(bob, "edit")
    assert told == reply
    first = courier.all_messages(bob, DM)[0]
    assert (first["body"], first["version"], first["editedAt"]) == (
        {"text": "fixed"},
        1,
        reply["editedAt"],
    )
    assert "version" not in courier.all_messages(bob, DM)[1]  # never edited


def test_each_edit_raises_the_version_and_the_stored_body_is_the_highest_versions(
    courier: Courier,
) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    versions = [edit(courier, alice, DM, 1, {"text": f"v{i}"})["version"] for i in (1, 2, 3)]

    assert versions == [1, 2, 3]
    assert courier.all_messages(alice, DM)[0]["body"] == {"text": "v3"}


def test_only_the_sender_may_edit_and_never_a_recalled_message(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")

    assert edit(courier, bob, DM, 1, {"text": "mine now"})["code"] == "forbidden"
    courier.frame(alice, {"action": "recall", "channel": DM, "seq": 1})
    assert edit(courier, alice, DM, 1, {"text": "back"})["code"] == "forbidden"
    assert edit(courier, alice, DM, 9, {"text": "x"})["code"] == "invalid"
    assert courier.all_messages(bob, DM)[0]["recalled"] is True
    assert "back" not in str(courier.items("MessagesTable"))


def test_a_retry_sends_an_edited_message_with_its_latest_body(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    edit(courier, alice, DM, 1, {"text": "fixed"})

    courier.drain("RetryQueue")

    retried = courier.posted(bob, "message")[-1]
    assert (retried["body"], retried["version"]) == ({"text": "fixed"}, 1)


def test_muted_channel_is_left_out_of_total_unread_and_badge(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    bob_tablet = courier.connect("bob", "tablet")
    courier.send(alice, GROUP, "g1")
    courier.send(alice, DM, "d1")

    reply = mute(courier, bob, GROUP, True)

    assert reply == {"type": "mute", "channel": GROUP, "muted": True, "totalUnread": 1}
    assert courier.posted(bob_tablet, "mute") == [reply]
    page = courier.sync(bob)
    assert page["totalUnread"] == 1
    entry = next(c for c in page["conversations"] if c["channel"] == GROUP)
    assert (entry["unread"], entry["muted"]) == (1, True)  # its own entry still counts
    assert courier.unread("bob")["muted"] == [GROUP]
    assert courier.unread("bob")["totalUnread"] == 1

    courier.disconnect(bob)
    courier.disconnect(bob_tablet)
    courier.send(alice, DM, "d2")
    courier.drain("NotifyQueue")
    assert [p["badge"] for p in courier.published if p["user"] == "bob"] == [2]


def test_a_muted_channel_pushes_only_messages_that_mention_the_user(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    mute(courier, bob, GROUP, True)
    courier.disconnect(bob)

    courier.send(alice, GROUP, "g1")
    courier.drain("NotifyQueue")
    assert courier.published == []
    courier.frame(
        alice,
        {
            "action": "send",
            "channel": GROUP,
            "clientMsgNo": "g2",
            "body": {"text": "@bob look"},
            "mentions": ["bob"],
        },
    )
    courier.drain("NotifyQueue")
    assert [(p["user"], p["seq"], p["badge"]) for p in courier.published] == [("bob", 2, 0)]


def test_unmuting_puts_the_channel_back_into_total_unread(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, GROUP, "g1")
    mute(courier, bob, GROUP, True)

    assert mute(courier, bob, GROUP, False)["totalUnread"] == 1
    assert courier.unread("bob")["muted"] == []


def test_mute_refuses_bad_input_and_strangers_and_changes_nothing(courier: Courier) -> None:
    courier.group("team", ["alice"])
    alice, bob = courier.connect("alice"), courier.connect("bob")
    state = courier.state()

    assert mute(courier, alice, GROUP, "yes")["code"] == "invalid"
    assert mute(courier, bob, GROUP, True)["code"] == "forbidden"
    assert mute(courier, bob, "dm:alice:carol", True)["code"] == "forbidden"
    assert courier.state() == state
