"""The client SDK's SQLite store: dedup, contiguous prefix, derived unread, durable outbox."""

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
