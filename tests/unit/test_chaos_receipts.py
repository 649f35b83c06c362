"""The receipt checks (chaos/receipts_check.py) on hand-made histories, each test named
after its rule, and what the network notes of read cursors (chaos/cursor_watch.py)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from chaos.checker import check
from chaos.cursor_watch import CursorWatch
from chaos.drain import plan_final_reads
from chaos.history import CursorSeen, History, Message, ReadReply, Receipt, Sendack
from chaos.receipts_check import cursors_behind, cursors_unset, receipts_not_held

DM = "dm:alice:bob"


def history() -> History:
    """alice sends #1, bob #2 and #3; alice reads up to 3 from her phone (the reply says
    3). bob's phone gets alice's receipts of 1 (her send) and 3 (her read)."""
    return History(
        max_retries=2,
        members={DM: ["alice", "bob"]},
        devices={"alice": ["alice/phone"], "bob": ["bob/phone"]},
        sendacks=[
            Sendack("alice/phone", "c1", DM, 1, "id1"),
            Sendack("bob/phone", "c2", DM, 2, "id2"),
            Sendack("bob/phone", "c3", DM, 3, "id3"),
        ],
        server_messages=[
            Message(DM, 1, "id1", "alice", "c1", {}),
            Message(DM, 2, "id2", "bob", "c2", {}),
            Message(DM, 3, "id3", "bob", "c3", {}),
        ],
        last_seq={DM: 3},
        server_reads={("alice", DM): 3, ("bob", DM): 3},
        receipts=[
            Receipt("bob/phone", DM, "alice", 1, 10),
            Receipt("bob/phone", DM, "alice", 3, 20),
        ],
        cursors_seen=[CursorSeen("alice/phone", "alice", DM, 3, "read")],
        read_replies=[ReadReply("alice/phone", DM, 3, 3)],
        read_frames=[("alice", DM, 3)],
    )


def found(h: History) -> dict[str, list[str]]:
    return {
        "receipts_not_held": receipts_not_held(h).found,
        "cursors_behind": cursors_behind(h).found,
        "cursors_unset": cursors_unset(h).found,
    }


NONE: dict[str, list[str]] = {"receipts_not_held": [], "cursors_behind": [], "cursors_unset": []}


def test_receipts_of_reads_and_sends_the_server_held_pass() -> None:
    h = history()
    assert found(h) == NONE
    assert receipts_not_held(h).judged == 2


def test_a_receipt_at_a_value_no_read_or_send_of_the_reader_set_is_a_violation() -> None:
    h = history()
    h.receipts.append(Receipt("bob/phone", DM, "alice", 2, 30))  # 2 is bob's message
    assert found(h) == {
        **NONE,
        "receipts_not_held": [
            "bob/phone got alice's receipt dm:alice:bob@2: no read or send of alice set it"
        ],
    }


def test_a_receipt_above_the_dms_last_seq_is_a_violation() -> None:
    h = history()
    h.read_frames.append(("alice", DM, 3))
    h.receipts.append(Receipt("bob/phone", DM, "alice", 4, 30))
    h.server_messages.append(Message(DM, 4, "id4", "alice", "c4", {}))  # past the snapshot
    assert found(h)["receipts_not_held"] == [
        "bob/phone got alice's receipt dm:alice:bob@4: above lastSeq 3"
    ]


def test_a_receipt_about_anyone_but_the_receivers_dm_peer_is_a_violation() -> None:
    h = history()
    h.receipts += [
        Receipt("bob/phone", DM, "bob", 3, 30),  # his own cursor: his devices get `read`
        Receipt("bob/phone", DM, "carol", 3, 30),
        Receipt("carol/phone", DM, "alice", 3, 30),
        Receipt("bob/phone", "g:team", "alice", 3, 30),
    ]
    assert len(found(h)["receipts_not_held"]) == 4


def test_a_receipt_above_the_final_cursor_is_a_regression() -> None:
    h = history()
    h.server_reads[("alice", DM)] = 1
    h.cursors_seen.clear()  # the read frame would say 3 as well
    h.read_replies.clear()
    assert found(h) == {
        **NONE,
        "cursors_behind": ["alice dm:alice:bob: receipt to bob/phone said 3, the cursor is at 1"],
    }


def test_any_value_told_above_the_final_cursor_is_a_regression() -> None:
    h = history()
    h.cursors_seen.append(CursorSeen("bob/phone", "alice", DM, 3, "peerReadSeq"))
    h.server_reads[("alice", DM)] = 1
    behind = found(h)["cursors_behind"]
    assert [line.split(": ")[1].split(" said")[0] for line in behind] == [
        "receipt to bob/phone",
        "read to alice/phone",
        "peerReadSeq to bob/phone",
    ]


def test_receipts_arriving_out_of_order_are_not_a_violation() -> None:
    h = history()
    h.receipts.reverse()  # 3, then 1: concurrent invocations post in any order
    h.receipts.append(Receipt("bob/phone", DM, "alice", 3, 30))  # and repeat themselves
    assert found(h) == NONE


def test_no_receipts_is_inconclusive_never_ok() -> None:
    h = history()
    h.receipts.clear()
    verdict = check(h)
    assert verdict.inconclusive["receipts_not_held"] == "no receipts could be judged"
    assert "receipts_not_held" not in verdict.violations


def test_a_receipt_of_a_read_whose_reply_was_lost_is_fine() -> None:
    h = history()
    h.read_replies.clear()  # the read reached the server; its reply never came back
    h.cursors_seen.clear()
    assert found(h) == NONE


def test_a_read_reply_below_the_read_it_answers_is_a_violation() -> None:
    h = history()
    h.read_replies.append(ReadReply("alice/phone", DM, 3, 1))
    assert found(h) == {
        **NONE,
        "cursors_behind": ["alice/phone read dm:alice:bob up to 3, the reply said 1"],
    }


def test_a_cursor_no_read_or_send_of_its_user_set_is_a_violation() -> None:
    h = history()
    h.server_reads[("alice", DM)] = 2
    h.cursors_seen.append(CursorSeen("alice/phone", "alice", DM, 2, "read"))
    h.receipts = h.receipts[:1]
    h.read_replies.clear()
    unset = found(h)["cursors_unset"]
    assert unset == [
        "alice dm:alice:bob: 2 after the drain; no read or send of alice set it",
        "alice dm:alice:bob: 2 read frame to alice/phone; no read or send of alice set it",
    ]


def test_a_read_asked_above_last_seq_may_be_clamped_so_its_cursor_is_not_judged() -> None:
    h = history()
    h.read_frames.append(("alice", DM, 9))  # stored as the lastSeq of its moment: unknown
    h.receipts.append(Receipt("bob/phone", DM, "alice", 2, 30))
    assert found(h) == NONE
    assert receipts_not_held(h).excluded == 3


def test_the_network_notes_receipts_read_replies_and_peer_cursors() -> None:
    watch = CursorWatch()
    watch.to_server("alice/phone", {"action": "read", "channel": DM, "seq": 3, "requestId": "r"})
    watch.from_server(
        "alice/phone",
        {"type": "read", "channel": DM, "readSeq": 3, "unread": 0, "requestId": "r"},
        delivered=False,
    )
    watch.from_server(
        "bob/phone",
        {"type": "receipt", "channel": DM, "user": "alice", "readSeq": 3},
        delivered=True,
    )
    entry = {"channel": DM, "lastSeq": 3, "readSeq": 3, "peerReadSeq": 2}
    watch.from_server(
        "bob/phone", {"type": "conversations", "conversations": [entry]}, delivered=True
    )
    assert watch.reads == [("alice", DM, 3)]
    assert watch.replies == [ReadReply("alice/phone", DM, 3, 3)]
    assert [(r.device, r.user, r.read_seq) for r in watch.receipts] == [("bob/phone", "alice", 3)]
    assert [(s.user, s.value, s.how) for s in watch.seen] == [
        ("alice", 3, "read"),
        ("bob", 3, "sync"),
        ("alice", 2, "peerReadSeq"),
    ]


def test_the_final_reads_include_a_dm_read_whenever_a_dm_has_unread_messages() -> None:
    """The receipt lines must not hope for a receipt: with every device connected, the
    drain's final reads force one DM read (and so a receipt) when any DM is unread."""

    def device(user: str, unread: dict[str, int]) -> Any:
        store = SimpleNamespace(channels=lambda: list(unread))
        return SimpleNamespace(
            user=user, client=SimpleNamespace(store=store), unread=lambda c: unread[c]
        )

    devices = [
        device("alice", {"g:team": 2, DM: 1}),
        device("bob", {"g:team": 1, DM: 0}),
        device("carol", {"g:team": 3}),
    ]
    for seed in range(50):
        plan = plan_final_reads(devices, random.Random(seed))
        assert (devices[0], DM) in plan
        assert len({d.user for d, _ in plan}) == len(plan)  # one read per user
    no_dm = [device("carol", {"g:team": 3}), device("bob", {DM: 0})]
    for seed in range(20):
        assert all(c == "g:team" for _, c in plan_final_reads(no_dm, random.Random(seed)))
