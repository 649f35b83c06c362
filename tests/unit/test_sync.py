"""`sync`: the conversation list (order, pages, unread) and one channel's history."""

from __future__ import annotations

import json

from tests.harness import Courier


def test_conversations_are_listed_most_recently_active_first(
    courier: Courier, clock: list[int]
) -> None:
    alice, bob, carol = courier.connect("alice"), courier.connect("bob"), courier.connect("carol")
    courier.group("quiet", ["alice", "carol"])  # joined at t0, no message yet
    clock[0] += 1000
    courier.send(bob, "dm:alice:bob", "b1")
    clock[0] += 1000
    courier.send(carol, "dm:alice:carol", "c1")
    clock[0] += 1000
    courier.send(bob, "dm:alice:bob", "b2", {"text": "latest"})

    reply = courier.sync(alice)

    assert [c["channel"] for c in reply["conversations"]] == [
        "dm:alice:bob",
        "dm:alice:carol",
        "g:quiet",
    ]
    first = reply["conversations"][0]
    assert first["lastSeq"] == 2 and first["readSeq"] == 0 and first["unread"] == 2
    assert first["lastMessage"]["from"] == "bob" and first["lastMessage"]["body"] == {
        "text": "latest"
    }
    assert set(first["lastMessage"]) == {"seq", "messageId", "from", "body", "ts"}
    quiet = reply["conversations"][2]
    assert quiet == {
        "channel": "g:quiet",
        "lastSeq": 0,
        "readSeq": 0,
        "unread": 0,
        "mentions": 0,
        "muted": False,
        "lastMessage": None,
    }
    assert reply["totalUnread"] == 3 and reply["next"] is None


def test_conversation_pages_follow_the_cursor_and_total_unread_covers_all(
    courier: Courier, clock: list[int]
) -> None:
    alice = courier.connect("alice")
    peers = [f"peer{i:02d}" for i in range(7)]
    for peer in peers:
        clock[0] += 10
        courier.send(courier.connect(peer), f"dm:alice:{peer}", "hi")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = courier.sync(alice, limit=3, cursor=cursor)
        assert page["totalUnread"] == 7
        seen += [c["channel"] for c in page["conversations"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"dm:alice:{p}" for p in reversed(peers)]


def test_dm_without_messages_is_not_listed_but_groups_are(courier: Courier) -> None:
    alice = courier.connect("alice")
    courier.read(alice, "dm:alice:zed", 5)  # reading an empty DM creates nothing
    courier.group("g1", ["alice"])
    assert [c["channel"] for c in courier.sync(alice)["conversations"]] == ["g:g1"]


def test_messages_page_after_a_seq_with_more_flag(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(5):
        courier.send(alice, "dm:alice:bob", f"m{i}")
    courier.read(bob, "dm:alice:bob", 2)

    page = courier.sync(bob, channel="dm:alice:bob", afterSeq=1, limit=2)

    assert [m["seq"] for m in page["messages"]] == [2, 3]
    assert page["more"] is True and page["lastSeq"] == 5 and page["readSeq"] == 2
    assert set(page["messages"][0]) == {
        "channel",
        "seq",
        "messageId",
        "from",
        "clientMsgNo",
        "body",
        "ts",
    }
    rest = courier.sync(bob, channel="dm:alice:bob", afterSeq=3)
    assert [m["seq"] for m in rest["messages"]] == [4, 5] and rest["more"] is False
    empty = courier.sync(bob, channel="dm:alice:bob", afterSeq=5)
    assert empty["messages"] == [] and empty["more"] is False


def test_limit_is_capped_at_100(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(105):
        courier.send(alice, "dm:alice:bob", f"m{i}")
    page = courier.sync(bob, channel="dm:alice:bob", limit=1000)
    assert len(page["messages"]) == 100 and page["more"] is True


def test_a_new_group_member_sees_history_but_none_of_it_is_unread(courier: Courier) -> None:
    courier.group("team", ["alice", "bob"])
    alice = courier.connect("alice")
    for i in range(3):
        courier.send(alice, "g:team", f"m{i}")

    courier.group("team", ["alice", "bob", "dave"])
    dave = courier.connect("dave")

    assert [m["seq"] for m in courier.all_messages(dave, "g:team")] == [1, 2, 3]
    assert courier.unread("dave") == {
        "user": "dave",
        "totalUnread": 0,
        "channels": {"g:team": 0},
        "muted": [],
        "mentions": {},
    }
    assert courier.unread("bob")["channels"] == {"g:team": 3}  # bob stays, keeps his cursor
    courier.send(alice, "g:team", "m3")
    assert courier.unread("dave")["totalUnread"] == 1


def test_requestid_is_echoed_on_direct_replies_only(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    frame = {"action": "send", "channel": "dm:alice:bob", "clientMsgNo": "m", "body": 1}
    ack = courier.frame(alice, {**frame, "requestId": "r-1"})
    pong = courier.frame(alice, {"action": "ping", "requestId": "r-2"})
    sync = courier.frame(alice, {"action": "sync", "requestId": "r-3"})
    assert (ack or {}).get("requestId") == "r-1"
    assert pong == {"type": "pong", "requestId": "r-2"}
    assert (sync or {}).get("requestId") == "r-3"
    assert "requestId" not in courier.posted(bob, "message")[0]


def test_conversation_pages_are_cut_to_fit_one_websocket_message(courier: Courier) -> None:
    alice = courier.connect("alice")
    peers = [f"peer{i:02d}" for i in range(12)]
    for peer in peers:
        courier.send(courier.connect(peer), f"dm:alice:{peer}", "big", {"text": "y" * 16_000})
    worst_request_id = "\x00" * 64

    seen: list[str] = []
    cursor = None
    while True:
        frame = {"action": "sync", "limit": 100, "cursor": cursor, "requestId": worst_request_id}
        result = courier.invoke("sync", alice, frame=frame)
        assert len(result["body"].encode("utf-8")) <= 128_000
        page = json.loads(result["body"])
        assert page["conversations"], "a page is never empty while conversations are left"
        seen += [c["channel"] for c in page["conversations"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"dm:alice:{p}" for p in peers)


def test_message_pages_fit_one_websocket_message_even_with_the_worst_request_id(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    for i in range(10):
        courier.send(alice, "dm:alice:bob", f"m{i}", {"text": "\x01" * 2_700})  # 6x when escaped
    frame = {"action": "sync", "channel": "dm:alice:bob", "requestId": "\x00" * 64}
    result = courier.invoke("sync", bob, frame=frame)
    assert len(result["body"].encode("utf-8")) <= 128_000
    assert json.loads(result["body"])["more"] is True
