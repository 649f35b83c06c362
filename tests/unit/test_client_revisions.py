"""The store keeps what a message ends up as, whatever order its frames arrive in: a recall
is final, otherwise the highest `version` wins, and a change that arrives before its
message waits for it. Unread follows v1.1: recalled messages are not unread, and muted
conversations are left out of the total. All of it survives a restart, and a store file
written before v1.1 opens with its messages and cursors intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from courier_client.revisions import RECALLED, Revision, latest
from courier_client.store import SCHEMA, Store

DM = "dm:alice:bob"


def message(seq: int, sender: str = "bob", **fields: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "messageId": f"id-{seq}",
        "from": sender,
        "clientMsgNo": f"c-{seq}",
        "body": {"text": f"m{seq}"},
        "ts": 1_764_158_400_000 + seq,
        **fields,
    }


def edit(seq: int, version: int, text: str) -> dict[str, Any]:
    return {"body": {"text": text}, "version": version, "editedAt": 1_000 * version, "seq": seq}


def stored(store: Store, seq: int) -> dict[str, Any]:
    return next(m for m in store.messages(DM) if m["seq"] == seq)


def test_the_latest_revision_is_the_highest_version_unless_one_is_recalled() -> None:
    first, second = Revision(False, 1, "a", 1), Revision(False, 2, "b", 2)
    assert latest(first, second) == latest(second, first) == second
    assert latest(second, second) == second
    assert latest(first, RECALLED) == latest(RECALLED, second) == RECALLED


def test_an_edit_arriving_after_a_newer_one_is_ignored() -> None:
    with Store(":memory:") as store:
        store.add_message(DM, message(1))
        assert store.revise(DM, 1, edit(1, 2, "second")) is True
        assert store.revise(DM, 1, edit(1, 1, "first")) is False
        assert store.revise(DM, 1, edit(1, 2, "second")) is False  # the same one again
        kept = stored(store, 1)
        assert kept["body"] == {"text": "second"} and kept["version"] == 2
        assert kept["editedAt"] == 2_000


def test_a_recall_is_final_whatever_edit_comes_after() -> None:
    with Store(":memory:") as store:
        store.add_message(DM, message(1, mentions=["alice"]))
        assert store.recall(DM, 1) is True
        assert store.revise(DM, 1, edit(1, 7, "too late")) is False
        assert store.recall(DM, 1) is False  # idempotent
        store.add_message(DM, message(1, mentions=["alice"]))  # a retried message frame
        kept = stored(store, 1)
        assert kept["recalled"] is True
        assert kept["body"] is None and kept["mentions"] == []


def test_a_recall_or_edit_of_a_message_not_stored_yet_waits_for_it() -> None:
    with Store(":memory:") as store:
        store.revise(DM, 1, edit(1, 3, "edited before it arrived"))
        store.revise(DM, 1, edit(1, 2, "older"))
        store.recall(DM, 2)
        assert store.messages(DM) == []  # nothing shown, no hole filled
        assert store.contiguous_prefix(DM) == 0
        assert store.add_message(DM, message(1)) is True
        assert store.add_message(DM, message(2, mentions=["alice"])) is True
        assert stored(store, 1)["body"] == {"text": "edited before it arrived"}
        assert stored(store, 1)["version"] == 3
        assert stored(store, 2)["recalled"] is True and stored(store, 2)["mentions"] == []


def test_a_sync_item_with_a_newer_version_or_recalled_updates_the_stored_message() -> None:
    with Store(":memory:") as store:
        store.add_message(DM, message(1))
        store.add_message(DM, message(2))
        assert store.add_message(DM, message(1, body={"text": "v2"}, version=2)) is False
        synced = {k: v for k, v in message(2).items() if k != "body"} | {"recalled": True}
        assert store.add_message(DM, synced) is False
        assert stored(store, 1)["body"] == {"text": "v2"} and stored(store, 1)["version"] == 2
        assert stored(store, 2)["recalled"] is True
        store.add_message(DM, message(1))  # the original again: an older version
        assert stored(store, 1)["body"] == {"text": "v2"}


def test_recalling_an_unread_message_lowers_the_local_unread_by_one() -> None:
    with Store(":memory:") as store:
        for seq in (1, 2, 3):
            store.add_message(DM, message(seq))
        store.set_read_seq(DM, 1)
        assert store.unread(DM) == 2
        store.recall(DM, 3)
        assert store.unread(DM) == 1
        store.recall(DM, 3)
        store.recall(DM, 1)  # already read: changes nothing
        assert store.unread(DM) == 1 and store.total_unread() == 1


def test_a_recall_seen_for_a_seq_never_fetched_still_counts() -> None:
    with Store(":memory:") as store:
        store.set_last_seq(DM, 4)  # from a conversations page, no message stored
        store.recall(DM, 4)
        store.recall(DM, 9)  # above lastSeq: not unread until lastSeq reaches it
        assert store.unread(DM) == 3
        store.set_last_seq(DM, 9)
        assert store.unread(DM) == 7


def test_an_edit_never_changes_unread() -> None:
    with Store(":memory:") as store:
        store.add_message(DM, message(1, mentions=["alice"]))
        store.revise(DM, 1, edit(1, 1, "edited"))
        assert store.unread(DM) == 1 and store.mentions(DM, "alice") == 1


def test_mentions_count_the_unread_messages_that_mention_the_user_and_not_recalled() -> None:
    with Store(":memory:") as store:
        store.add_message(DM, message(1, mentions=["alice"]))
        store.add_message(DM, message(2, mentions=["carol", "alice"]))
        store.add_message(DM, message(3, mentions=["carol"]))
        store.add_message(DM, message(4))
        assert store.mentions(DM, "alice") == 2 and store.mentions(DM, "carol") == 2
        store.set_read_seq(DM, 1)
        assert store.mentions(DM, "alice") == 1
        store.recall(DM, 2)
        assert store.mentions(DM, "alice") == 0 and store.mentions(DM, "carol") == 1


def test_muted_conversations_are_left_out_of_total_unread() -> None:
    with Store(":memory:") as store:
        store.set_last_seq(DM, 2)
        store.set_last_seq("g:team", 5)
        store.set_muted("g:team", True)
        assert store.muted("g:team") and not store.muted(DM)
        assert store.unread("g:team") == 5  # its own count is still shown
        assert store.total_unread() == 2
        store.set_muted("g:team", False)
        assert store.total_unread() == 7


def test_unread_survives_a_restart_with_recalls_and_edits(tmp_path: Path) -> None:
    path = str(tmp_path / "alice.sqlite3")
    with Store(path) as store:
        for seq in (1, 2, 3):
            store.add_message(DM, message(seq, mentions=["alice"]))
        store.recall(DM, 2)
        store.revise(DM, 3, edit(3, 2, "edited"))
        store.recall(DM, 5)  # not fetched yet
        store.revise(DM, 4, edit(4, 1, "early"))
        store.set_last_seq(DM, 5)
        store.set_muted("g:team", True)
        store.set_last_seq("g:team", 1)
        store.outbox_add("c-9", DM, {"text": "hi @bob"}, ("bob",))
    with Store(path) as store:
        assert store.unread(DM) == 3 and store.mentions(DM, "alice") == 2
        assert store.total_unread() == 3 and store.muted("g:team")
        assert stored(store, 3)["body"] == {"text": "edited"}
        store.add_message(DM, message(4))
        assert stored(store, 4)["body"] == {"text": "early"}
        [entry] = store.outbox()
        assert entry.mentions == ("bob",)


def test_a_store_written_before_v1_1_opens_with_its_messages_and_cursors(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)  # the tables as the first release made them
    old.execute(
        "INSERT INTO messages (channel, seq, message_id, sender, client_msg_no, body, ts)"
        " VALUES (?, 1, 'id-1', 'bob', 'c-1', '{\"text\":\"old\"}', 5)",
        (DM,),
    )
    old.execute("INSERT INTO cursors (channel, read_seq, last_seq) VALUES (?, 0, 2)", (DM,))
    old.execute(
        "INSERT INTO outbox (client_msg_no, channel, body, created) VALUES ('c-2', ?, '1', 1.0)",
        (DM,),
    )
    old.commit()
    old.close()
    with Store(path) as store:
        [kept] = store.messages(DM)
        assert kept["body"] == {"text": "old"} and kept["version"] == 0
        assert kept["recalled"] is False and kept["mentions"] == []
        assert store.unread(DM) == 2 and not store.muted(DM)
        assert store.outbox()[0].mentions == ()
        store.recall(DM, 1)
        assert store.unread(DM) == 1
    with Store(path) as store:  # migrated once: opening it again changes nothing
        assert store.unread(DM) == 1 and stored(store, 1)["recalled"] is True


def test_forgetting_the_server_forgets_early_changes_and_mutes() -> None:
    with Store(":memory:") as store:
        store.recall(DM, 1)
        store.set_muted(DM, True)
        store.forget_server()
        store.add_message(DM, message(1))
        assert stored(store, 1)["recalled"] is False and not store.muted(DM)
