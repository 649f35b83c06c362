"""The client SDK's SQLite store: dedup, contiguous prefix, derived unread, durable outbox
and wanted reads, and what it keeps of a server that lost its state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from courier_client.store import Store

CHANNEL = "dm:alice:bob"


def message(seq: int, sender: str = "alice") -> dict[str, Any]:
    return {
        "type": "message",
        "channel": CHANNEL,
        "seq": seq,
        "messageId": f"id-{seq}",
        "from": sender,
        "clientMsgNo": f"c-{seq}",
        "body": {"text": f"m{seq}", "n": [1, None]},
        "ts": 1_764_158_400_000 + seq,
    }


def test_a_repeated_frame_is_stored_once_and_never_changes_unread() -> None:
    with Store(":memory:") as store:
        assert store.add_message(CHANNEL, message(1)) is True
        assert store.add_message(CHANNEL, message(2)) is True
        assert store.unread(CHANNEL) == 2
        for _ in range(3):
            assert store.add_message(CHANNEL, message(2)) is False
            assert store.add_message(CHANNEL, message(1)) is False
        assert store.unread(CHANNEL) == 2
        assert [m["seq"] for m in store.messages(CHANNEL)] == [1, 2]
        assert store.messages(CHANNEL)[0]["body"] == {"text": "m1", "n": [1, None]}

        store.set_read_seq(CHANNEL, 2)
        assert store.add_message(CHANNEL, message(2)) is False
        assert store.unread(CHANNEL) == 0
        assert store.total_unread() == 0


def test_contiguous_prefix_stops_at_the_first_gap() -> None:
    with Store(":memory:") as store:
        assert store.contiguous_prefix(CHANNEL) == 0
        store.add_message(CHANNEL, message(2))
        assert store.contiguous_prefix(CHANNEL) == 0
        store.add_message(CHANNEL, message(1))
        store.add_message(CHANNEL, message(4))
        store.add_message(CHANNEL, message(5))
        assert store.contiguous_prefix(CHANNEL) == 2
        store.add_message(CHANNEL, message(3))
        assert store.contiguous_prefix(CHANNEL) == 5
        assert store.contiguous_prefix("g:other") == 0


def test_unread_is_derived_from_cursors_and_never_moves_them_backwards() -> None:
    with Store(":memory:") as store:
        store.set_last_seq(CHANNEL, 7)  # known from a conversations page, nothing stored
        assert store.unread(CHANNEL) == 7
        store.add_message(CHANNEL, message(9))  # a stored message above lastSeq counts too
        assert store.last_seq(CHANNEL) == 9 and store.unread(CHANNEL) == 9
        store.set_read_seq(CHANNEL, 5)
        store.set_read_seq(CHANNEL, 3)
        store.set_last_seq(CHANNEL, 2)
        assert store.read_seq(CHANNEL) == 5 and store.unread(CHANNEL) == 4
        store.set_last_seq("g:team", 3)
        assert store.total_unread() == 7
        assert store.channels() == [CHANNEL, "g:team"]


def test_outbox_messages_and_cursors_survive_reopening_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "client.db")
    with Store(path) as store:
        store.outbox_add("c-1", CHANNEL, {"text": "first"})
        store.outbox_add("c-2", "g:team", ["second"])
        store.outbox_add("c-1", CHANNEL, {"text": "ignored, same clientMsgNo"})
        store.add_message(CHANNEL, message(1))
        store.set_read_seq(CHANNEL, 1)
        store.set_last_seq(CHANNEL, 3)
    with Store(path) as store:
        entries = store.outbox()
        assert [(e.client_msg_no, e.channel, e.body) for e in entries] == [
            ("c-1", CHANNEL, {"text": "first"}),
            ("c-2", "g:team", ["second"]),
        ]
        removed = store.outbox_remove("c-1")
        assert removed is not None and removed.body == {"text": "first"}
        assert store.outbox_remove("c-1") is None
        assert store.contiguous_prefix(CHANNEL) == 1
        assert store.unread(CHANNEL) == 2
    with Store(path) as store:
        assert [e.client_msg_no for e in store.outbox()] == ["c-2"]


def test_expired_seqs_count_as_held_in_the_contiguous_prefix(tmp_path: Path) -> None:
    path = str(tmp_path / "client.db")
    with Store(path) as store:
        for seq in (5, 6, 8):
            store.add_message(CHANNEL, message(seq))
        assert store.contiguous_prefix(CHANNEL) == 0
        store.mark_expired_through(CHANNEL, 4)  # sync's page started at 5: 1-4 expired
        assert store.contiguous_prefix(CHANNEL) == 6
        store.mark_expired_through(CHANNEL, 7)
        store.mark_expired_through(CHANNEL, 2)  # never moves backwards
        assert store.contiguous_prefix(CHANNEL) == 8
        assert store.contiguous_prefix("g:other") == 0
        store.set_last_seq(CHANNEL, 8)
        assert store.unread(CHANNEL) == 8  # expired messages still count as unread
    with Store(path) as store:
        assert store.expired_through(CHANNEL) == 7 and store.contiguous_prefix(CHANNEL) == 8


def test_a_wanted_read_only_grows_and_is_forgotten_once_a_cursor_covers_it(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "client.db")
    with Store(path) as store:
        store.want_read(CHANNEL, 3)
        store.want_read(CHANNEL, 2)  # never lower
        store.want_read("g:team", 0)  # nothing read
        store.read_confirmed(CHANNEL, 2)  # not far enough
    with Store(path) as store:
        assert store.wanted_reads() == {CHANNEL: 3} and store.read_seq(CHANNEL) == 2
        store.read_confirmed(CHANNEL, 4)
        assert store.wanted_reads() == {} and store.read_seq(CHANNEL) == 4
        store.want_read(CHANNEL, 6)
        store.drop_wanted_read(CHANNEL, 5)  # a higher read stays
        assert store.wanted_read(CHANNEL) == 6
        store.drop_wanted_read(CHANNEL, 6)
        assert store.wanted_reads() == {}


def in_channel(channel: str, seq: int, message_id: str, ts: int) -> dict[str, Any]:
    return {**message(seq), "channel": channel, "messageId": message_id, "ts": ts}


def test_the_witness_is_the_newest_message_of_a_dm_else_of_any_channel() -> None:
    with Store(":memory:") as store:
        assert store.witness() is None
        store.add_message("g:team", in_channel("g:team", 7, "g7", ts=300))
        assert store.witness() == {"channel": "g:team", "seq": 7, "messageId": "g7"}
        store.add_message(CHANNEL, in_channel(CHANNEL, 1, "d1", ts=100))
        store.add_message(CHANNEL, in_channel(CHANNEL, 2, "d2", ts=200))
        store.add_message("dm:alice:carol", in_channel("dm:alice:carol", 4, "c4", ts=150))
        assert store.witness() == {"channel": CHANNEL, "seq": 2, "messageId": "d2"}


def test_forgetting_the_server_keeps_the_outbox_and_what_was_read_as_anchors() -> None:
    with Store(":memory:") as store:
        for seq in (1, 2, 3, 4):
            store.add_message(CHANNEL, message(seq))
        store.read_confirmed(CHANNEL, 2)  # held by the old server
        store.want_read(CHANNEL, 3)  # not yet
        store.add_message("g:team", in_channel("g:team", 1, "g1", ts=1))  # unread
        store.mark_expired_through("g:team", 5)
        store.outbox_add("c-9", CHANNEL, {"text": "typed"})
        store.forget_server()
        assert store.channels() == [] and store.total_unread() == 0
        assert store.expired_through("g:team") == 0 and store.wanted_reads() == {}
        assert [e.client_msg_no for e in store.outbox()] == ["c-9"]
        assert store.read_anchors(CHANNEL) == {1: "id-1", 2: "id-2", 3: "id-3"}
        assert store.read_anchors("g:team") == {}


def test_a_read_anchor_brings_the_read_back_up_to_the_last_message_in_common() -> None:
    with Store(":memory:") as store:
        for seq in (1, 2, 3):
            store.add_message(CHANNEL, message(seq))
        store.want_read(CHANNEL, 3)
        store.forget_server()
        store.add_message(CHANNEL, message(1))  # the very message read
        assert store.wanted_reads() == {CHANNEL: 1} and store.unread(CHANNEL) == 0
        store.add_message(CHANNEL, message(2))
        assert store.wanted_reads() == {CHANNEL: 2} and store.read_anchors(CHANNEL) == {3: "id-3"}
        store.add_message(CHANNEL, {**message(3), "messageId": "another"})  # histories part
        assert store.read_anchors(CHANNEL) == {} and store.wanted_reads() == {CHANNEL: 2}
        assert store.read_seq(CHANNEL) == 2 and store.unread(CHANNEL) == 1


def test_a_read_anchor_is_dropped_by_another_message_or_expiry() -> None:
    with Store(":memory:") as store:
        for seq in (1, 2, 3):
            store.add_message(CHANNEL, message(seq))
        store.read_confirmed(CHANNEL, 3)
        store.forget_server()
        store.mark_expired_through(CHANNEL, 1)  # cannot be checked any more
        assert list(store.read_anchors(CHANNEL)) == [2, 3]
        store.add_message(CHANNEL, {**message(2), "messageId": "new-2"})
        assert store.read_anchors(CHANNEL) == {} and store.wanted_reads() == {}
        assert store.read_seq(CHANNEL) == 0
