"""The chaos checker on hand-made histories: a clean run passes, and each guarantee's
violation is reported on its own line. Then the drain's decisions (done, progressing,
stalled, out of time) on hand-made series of pending work, and an unfinished run's verdict,
report and exit code."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

import pytest

import courier.retry
from chaos.checker import CHECKS, check
from chaos.cli import parse
from chaos.config import ChaosConfig, derive
from chaos.history import (
    Attempt,
    Connection,
    Edit,
    Entry,
    Frame,
    History,
    Liveness,
    Message,
    Mute,
    Push,
    Read,
    Recall,
    Receipt,
    Sendack,
)
from chaos.outcome import Outcome
from chaos.population import Population, populate
from chaos.progress import (
    Drained,
    Patience,
    Pending,
    Status,
    Step,
    judge,
    queue_patience,
    retry_chain_seconds,
    retry_delays,
)
from chaos.report import table, to_json

DM = "dm:alice:bob"
T1, T2 = 1_000_000, 2_000_000  # when #1 and #2 committed (ms)
SENT_ONE, EDITED_ONE = {"text": "one"}, {"text": "one, edited"}
ONE = Message(DM, 1, "id1", "alice", "c1", EDITED_ONE, ts=T1, version=1)
TWO = Message(DM, 2, "id2", "bob", "c2", {"text": "two"}, ts=T2, mentions=("alice",))
EDIT_ONE = Edit(
    "alice/laptop", DM, T1 + 1_000, "edit", T1 + 1_100, seq=1, body=EDITED_ONE, version=1
)
DEVICES = ["alice/phone", "alice/laptop", "bob/phone"]
LIVE_MS, DECIDE_MS, MARGIN_MS = 20_000, 2_000, 1_000
NO_PUSHES = "no pushes could be judged"


def liveness() -> Liveness:
    """bob is connected all along and alice's laptop until 10 s before #2: both get #1 live
    (alice's phone sent it). Then alice is offline when #2 commits (her laptop comes back
    a minute later and syncs it) and gets a push for it."""
    return Liveness(
        live_ms=LIVE_MS,
        decide_ms=DECIDE_MS,
        offline_margin_ms=MARGIN_MS,
        links={
            "alice/phone": {1: Connection(0, T1 + 5_000)},
            "alice/laptop": {1: Connection(0, T2 - 10_000), 2: Connection(T2 + 60_000)},
            "bob/phone": {1: Connection(0)},
        },
        frames={
            "alice/laptop": {(DM, 1): [Frame(T1 + 50, 1, True)]},
            "bob/phone": {(DM, 1): [Frame(T1 + 30, 1, True)]},
        },
        synced={"alice/laptop": {(DM, 2): (T2 + 60_100, 2)}},
        pushes=[Push("alice", DM, 2, T2 + 1_500, started=T2 + 1_200)],
        ended=T2 + 100_000,
        notified=T2 + 90_000,
    )


def synced(history: History) -> dict[str, dict[str, Entry]]:
    """The conversation entries of each device's final sync reply, as its SDK counts."""
    return {
        device: {
            channel: Entry(
                unread,
                history.device_mentions.get(device, {}).get(channel, 0),
                history.device_muted.get(device, {}).get(channel, False),
            )
            for channel, unread in counts.items()
        }
        for device, counts in history.device_unread.items()
    }


def clean() -> History:
    """alice (two devices) sends #1 and edits it from her laptop, bob sends #2 mentioning
    her; alice has not read #2 (1 unread, 1 mention), bob has (his own), and got alice's
    receipt of #1 (her send). alice's laptop got #2 three times (1 + MAX_RETRIES 2). When
    things reached whom: `liveness`."""
    unread = {"alice/phone": {DM: 1}, "alice/laptop": {DM: 1}, "bob/phone": {DM: 0}}
    totals = {"alice/phone": 1, "alice/laptop": 1, "bob/phone": 0}
    history = History(
        max_retries=2,
        members={DM: ["alice", "bob"]},
        devices={"alice": DEVICES[:2], "bob": DEVICES[2:]},
        attempts=[
            Attempt("alice/phone", "c1", DM, SENT_ONE),
            Attempt("bob/phone", "c2", DM, TWO.body, ("alice",)),
        ],
        sendacks=[
            Sendack("alice/phone", "c1", DM, 1, "id1"),
            Sendack("bob/phone", "c2", DM, 2, "id2"),
        ],
        shown={
            "alice/phone": [(DM, 2)],
            "alice/laptop": [(DM, 1), (DM, 2)],
            "bob/phone": [(DM, 1)],
        },
        copies={
            "alice/laptop": Counter({(DM, 1): 1, (DM, 2): 3}),
            "alice/phone": Counter({(DM, 2): 1}),
            "bob/phone": Counter({(DM, 1): 2}),
        },
        cursors={
            "server": [
                (("read", "alice", DM), 1),
                (("read", "bob", DM), 2),
                (("read", "alice", DM), 1),
            ],
            "bob/phone": [(("read", "bob", DM), 0), (("read", "bob", DM), 2)],
        },
        server_messages=[ONE, TWO],
        last_seq={DM: 2},
        server_reads={("alice", DM): 1, ("bob", DM): 2},
        receipts=[Receipt("bob/phone", DM, "alice", 1, T1 + 40)],  # alice's send of #1
        stores={device: [ONE, TWO] for device in DEVICES},
        device_unread=unread,
        device_mentions={device: dict(counts) for device, counts in unread.items()},
        device_total=totals,
        server_total=dict(totals),
        edits=[EDIT_ONE],
        outbox_left={device: [] for device in DEVICES},
        liveness=liveness(),
    )
    history.server_entries = synced(history)
    return history


def shown_as(history: History, user: str, unread: int, mentions: int = 0) -> None:
    """Every device of `user`, and the final sync to each, shows these counts of the DM
    (alone in their totalUnread unless muted)."""
    for device in history.devices[user]:
        muted = history.device_muted.get(device, {}).get(DM, False)
        history.device_unread[device] = {DM: unread}
        history.device_mentions[device] = {DM: mentions}
        history.device_total[device] = history.server_total[device] = 0 if muted else unread
    history.server_entries = synced(history)


def violations(history: History) -> dict[str, int]:
    found = check(history).violations
    return {name: len(lines) for name, lines in found.items() if lines}


def test_a_clean_history_passes_with_its_counts() -> None:
    verdict = check(clean())
    assert verdict.ok
    assert (verdict.attempted, verdict.acknowledged, verdict.stored) == (2, 2, 2)
    assert verdict.redelivered == 3  # laptop: #2 twice more; bob: #1 once more
    assert verdict.judged == {
        "late_deliveries": "2 (message, device) pairs judged",
        "missed_notifications": "1 (message, offline member) pairs judged",
        "stale_revisions": "3 (device, revised message) pairs judged",
        "unwanted_pushes": "1 pushes judged",
        "receipts_not_held": "1 receipts judged",
        "cursors_behind": "3 cursor values judged",  # the receipt and the two sendacks
        "cursors_unset": "2 DM cursor values judged",
    }
    assert verdict.latency == {"pairs": 2, "p50": 30, "p95": 50, "p99": 50}


# Liveness: late deliveries.


def laptop(history: History) -> Liveness:
    """The history's liveness, alice's laptop having got nothing of #1 yet."""
    assert history.liveness is not None
    history.liveness.frames["alice/laptop"] = {}
    return history.liveness


def test_a_device_connected_all_along_that_got_a_message_only_at_its_next_sync_is_late() -> None:
    history = clean()
    live = laptop(history)
    live.links["alice/laptop"][1] = Connection(0, T1 + LIVE_MS + 1)  # open past the window
    live.synced["alice/laptop"][(DM, 1)] = (T1 + LIVE_MS + 5_000, 2)
    assert violations(history) == {"late_deliveries": 1}
    (line,) = check(history).violations["late_deliveries"]
    assert "alice/laptop: dm:alice:bob#1 not received within 20 s" in line
    assert "first got it 25.0 s after the commit by a sync on connection #2" in line


def test_a_frame_after_the_window_is_late_too() -> None:
    history = clean()
    laptop(history).frames["alice/laptop"][(DM, 1)] = [Frame(T1 + LIVE_MS + 1, 1, True)]
    assert violations(history) == {"late_deliveries": 1}


def test_a_fanned_out_channel_has_one_more_visibility_timeout_and_no_more() -> None:
    """Its plan and chunk jobs may each fail once: a frame within the longer window is in
    time, one after it is late."""
    history = clean()
    live = laptop(history)
    live.fanout_ms = {DM: 10_000}
    live.frames["alice/laptop"][(DM, 1)] = [Frame(T1 + LIVE_MS + 10_000, 1, True)]
    assert violations(history) == {}
    live.frames["alice/laptop"][(DM, 1)] = [Frame(T1 + LIVE_MS + 10_001, 1, True)]
    assert violations(history) == {"late_deliveries": 1}
    (line,) = check(history).violations["late_deliveries"]
    assert "not received within 30 s" in line


def test_a_gap_filling_sync_in_time_on_the_same_connection_is_not_late() -> None:
    history = clean()
    laptop(history).synced["alice/laptop"][(DM, 1)] = (T1 + 700, 1)
    assert violations(history) == {}
    assert check(history).judged["late_deliveries"] == "2 (message, device) pairs judged"


def test_a_message_the_network_dropped_every_time_is_not_the_servers_fault() -> None:
    history = clean()
    laptop(history).frames["alice/laptop"][(DM, 1)] = [
        Frame(T1 + 40, 1, False),
        Frame(T1 + 2_040, 1, False),
    ]
    assert violations(history) == {}
    assert (
        check(history).judged["late_deliveries"] == "1 (message, device) pairs judged, 1 excluded"
    )


def test_one_copy_that_got_through_in_time_is_enough() -> None:
    history = clean()
    laptop(history).frames["alice/laptop"][(DM, 1)] = [
        Frame(T1 + 40, 1, False),
        Frame(T1 + 2_040, 1, True),
    ]
    assert violations(history) == {}


@pytest.mark.parametrize(
    "connection",
    [Connection(0, T1 + LIVE_MS - 1), Connection(T1 + 1, T2 - 10_000)],
    ids=["left before the window closed", "came after the commit"],
)
def test_a_device_not_connected_through_the_whole_window_is_not_judged(
    connection: Connection,
) -> None:
    history = clean()
    laptop(history).links["alice/laptop"][1] = connection
    assert violations(history) == {}
    assert check(history).judged["late_deliveries"] == "1 (message, device) pairs judged"


def test_the_sending_device_is_no_receiver() -> None:
    """bob's phone, connected all along, never gets a frame of #2: it sent it."""
    history = clean()
    assert violations(history) == {}
    history.attempts[1] = replace(history.attempts[1], device="bob/tablet")  # had another sent it
    assert violations(history) == {"late_deliveries": 1}


# Liveness: missed notifications.


def test_an_offline_member_without_a_push_is_a_missed_notification() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = [Push("alice", DM, 1, T1 + 1_000)]  # an older seq does not cover #2
    assert violations(history) == {"missed_notifications": 1}
    (line,) = check(history).violations["missed_notifications"]
    assert "alice: no push for dm:alice:bob#2" in line
    assert "highest seq pushed for the channel: 1" in line


@pytest.mark.parametrize(
    "push",
    [Push("alice", DM, 3, T2 + 5_000), Push("alice", DM, 2, T2 + 80_000)],
    ids=["coalesced into a later message", "late but there"],
)
def test_a_push_of_that_seq_or_a_later_one_covers_a_message(push: Push) -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = [push]
    assert violations(history) == {}


def test_a_push_to_another_user_or_channel_does_not() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = [Push("bob", DM, 2, T2 + 100), Push("alice", "g:x", 2, T2 + 100)]
    assert violations(history) == {"missed_notifications": 1}


def test_a_member_who_read_it_before_the_jobs_ran_needs_no_push() -> None:
    history = clean()
    live = history.liveness
    assert live is not None
    live.pushes = []
    live.reads = [("alice", DM, 2, T2 + 70_000)]
    verdict = check(history)
    assert "missed_notifications" not in verdict.violations
    assert verdict.inconclusive == {  # nothing else was there to judge
        "missed_notifications": "no (message, offline member) pairs could be judged (1 excluded)",
        "unwanted_pushes": NO_PUSHES,
    }
    live.reads = [("alice", DM, 2, live.ended)]  # read after every job had run: too late
    assert violations(history) == {"missed_notifications": 1}


def test_a_member_who_sent_a_later_message_there_in_time_read_it() -> None:
    history = clean()
    live = history.liveness
    assert live is not None
    live.pushes = []
    three = Message(DM, 3, "id3", "alice", "c3", {"text": "three"}, ts=T2 + 30_000)
    history.server_messages.append(three)  # alice came back and answered
    assert check(history).inconclusive == {
        "missed_notifications": "no (message, offline member) pairs could be judged (1 excluded)",
        "unwanted_pushes": NO_PUSHES,
    }
    history.server_messages[-1] = replace(three, ts=live.notified + 1)  # after the jobs ran
    assert "missed_notifications" in violations(history)


@pytest.mark.parametrize(
    "link",
    [Connection(T2 + DECIDE_MS - 1), Connection(0, T2 - MARGIN_MS + 1)],
    ids=["back before the server decided", "left just before the commit"],
)
def test_a_member_not_surely_offline_to_the_server_is_not_judged(link: Connection) -> None:
    """With nothing else to judge, the check is inconclusive: never a vacuous ok."""
    history = clean()
    live = history.liveness
    assert live is not None
    live.pushes = []
    live.links["alice/laptop"][3] = link
    verdict = check(history)
    assert "missed_notifications" not in verdict.violations
    assert verdict.inconclusive == {
        "missed_notifications": "no (message, offline member) pairs could be judged",
        "unwanted_pushes": NO_PUSHES,
    }
    assert (verdict.result, verdict.exit_code) == ("inconclusive", 3)


def test_a_run_that_observed_no_liveness_is_inconclusive_on_every_line_needing_it() -> None:
    history = clean()
    history.liveness = None
    verdict = check(history)
    assert set(verdict.inconclusive) == {
        "late_deliveries",
        "missed_notifications",
        "unwanted_pushes",
    }
    assert verdict.result == "inconclusive" and verdict.latency is None
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = None
    assert check(history).inconclusive == dict.fromkeys(
        ["missed_notifications", "unwanted_pushes"], "the run did not observe the push topic"
    )


def test_a_violation_still_fails_a_run_with_an_inconclusive_line() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = None
    history.stores["alice/laptop"] = [ONE]
    assert check(history).result == "fail"


def test_a_stored_message_missing_from_a_member_device_is_lost() -> None:
    history = clean()
    history.stores["alice/laptop"] = [ONE]
    assert violations(history) == {"lost": 1}
    assert "dm:alice:bob#2" in check(history).violations["lost"][0]
    assert "alice/laptop" in check(history).violations["lost"][0]


def test_an_acknowledged_message_the_server_does_not_hold_is_not_stored() -> None:
    history = clean()
    history.attempts.append(Attempt("bob/phone", "c3", DM, {"text": "three"}))
    history.sendacks.append(Sendack("bob/phone", "c3", DM, 3, "id3"))
    history.server_reads[("bob", DM)] = 3  # sending moved his cursor
    assert violations(history) == {"not_stored": 1}


def test_a_message_nobody_sent_or_with_another_body_is_unexpected() -> None:
    history = clean()
    forged = Message(DM, 3, "id3", "bob", "never-sent", {"text": "?"})
    history.server_messages.append(forged)
    history.last_seq[DM] = 3
    for device in DEVICES:
        history.stores[device] = [ONE, TWO, forged]
    history.stores["alice/phone"] = [ONE, replace(TWO, body={"text": "changed"}), forged]
    found = check(history).violations["unexpected"]
    assert len(found) == 1 + len(DEVICES) + 1  # the forged one everywhere, the changed body
    assert any("differs from what was sent" in line for line in found)


def test_a_device_holding_another_message_than_the_server_is_unexpected() -> None:
    history = clean()
    history.stores["bob/phone"] = [ONE, replace(TWO, message_id="other")]
    assert violations(history) == {"unexpected": 1}


def test_a_message_shown_twice_on_a_device_is_reported() -> None:
    history = clean()
    history.shown["alice/laptop"].append((DM, 1))
    assert violations(history) == {"shown_twice": 1}


def test_one_client_msg_no_naming_two_seqs_is_reported() -> None:
    history = clean()
    history.sendacks.append(Sendack("alice/laptop", "c1", DM, 3, "id3"))  # alice's other device
    assert violations(history)["shown_twice"] == 1


def test_an_attempt_never_acknowledged_and_a_full_outbox_are_reported() -> None:
    history = clean()
    history.attempts.append(Attempt("bob/phone", "c3", DM, {"text": "three"}))
    history.outbox_left["bob/phone"] = ["c3"]
    assert violations(history) == {"unacknowledged": 2}
    assert check(history).acknowledged == 2


def test_unread_differing_from_lastseq_minus_the_true_read_is_a_mismatch() -> None:
    history = clean()
    history.device_unread = {**history.device_unread, "bob/phone": {DM: 1}}
    found = check(history).violations["unread_mismatches"]
    assert len(found) == 1 and "bob" in found[0] and "should be (0, 0, False)" in found[0]


def test_the_servers_sync_counts_as_well_as_the_devices() -> None:
    history = clean()
    history.server_entries = {**history.server_entries, "alice/laptop": {DM: Entry(0)}}
    assert violations(history) == {"unread_mismatches": 1}


def test_a_read_on_one_device_is_the_truth_for_every_device_of_the_user() -> None:
    history = clean()
    history.reads.append(Read("alice/laptop", DM, 2))
    history.read_frames.append(("alice", DM, 2))
    history.server_reads[("alice", DM)] = 2
    assert violations(history) == {"unread_mismatches": 1, "total_mismatches": 2}
    shown_as(history, "alice", unread=0)  # her devices and the sync say so
    assert check(history).ok


def test_a_cursor_going_back_in_one_sources_observations_is_a_regression() -> None:
    history = clean()
    history.cursors["server"].append((("ack", "bob", "bob/phone", DM), 2))
    history.cursors["server"].append((("ack", "bob", "bob/phone", DM), 1))
    history.cursors["alice/phone"] = [(("read", "alice", DM), 2), (("read", "alice", DM), 1)]
    found = check(history).violations["cursor_regressions"]
    assert len(found) == 2
    assert any(line.startswith("server: ack/bob/bob/phone") for line in found)


@pytest.mark.parametrize(("copies", "found"), [(3, 0), (4, 1)])
def test_copies_above_one_plus_max_retries_are_reported(copies: int, found: int) -> None:
    history = clean()
    history.copies["alice/phone"] = Counter({(DM, 2): copies})
    assert len(check(history).violations["excess_copies"]) == found


def test_a_hole_in_a_channels_seqs_is_reported() -> None:
    history = clean()
    history.last_seq[DM] = 3
    shown_as(history, "alice", unread=2, mentions=1)
    shown_as(history, "bob", unread=1)
    assert violations(history) == {"seq_gaps": 1}


def test_reads_the_server_holds_pass() -> None:
    history = clean()
    history.reads += [Read("alice/laptop", DM, 1), Read("bob/phone", DM, 2)]
    assert check(history).violations["reads_not_held"] == []
    assert check(history).ok


def test_a_read_the_servers_cursor_does_not_reach_is_not_held() -> None:
    history = clean()
    history.reads += [Read("alice/laptop", DM, 2)] * 2  # the server's cursor: alice at 1
    shown_as(history, "alice", unread=0)
    assert violations(history) == {"reads_not_held": 1}
    found = check(history).violations["reads_not_held"][0]
    assert "alice/laptop" in found and DM in found and "at 1" in found


# Protocol v1.1: recall, edit, mentions, mute.

RECALLED_TWO = replace(TWO, body=None, mentions=(), recalled=True)


def recall_two(history: History, answered: int | None = T2 + 600) -> None:
    """bob recalls #2 (its answer at `answered`): the server holds it recalled, on the
    message and on its channel's row, and so does every device."""
    history.server_messages[1] = RECALLED_TWO
    history.server_recalled = {DM: {2}}
    answer = "recall" if answered is not None else "no answer"
    history.recalls.append(Recall("bob/phone", DM, T2 + 500, answer, answered, seq=2))
    for device in DEVICES:
        history.stores[device] = [ONE, RECALLED_TWO]


def mute_dm(history: History, user: str, sent: int, *, muted: bool = True) -> None:
    """`user` mutes (or unmutes) the DM at `sent`, answered 100 ms later; the server, their
    devices and the sync hold it."""
    history.mutes.append(Mute(f"{user}/phone", DM, sent, "mute", sent + 100, muted=muted))
    history.server_muted[(user, DM)] = muted
    for device in history.devices[user]:
        history.device_muted[device] = {DM: muted}
    history.server_entries = synced(history)


def test_a_recalled_message_counted_as_unread_is_a_mismatch() -> None:
    history = clean()
    recall_two(history, answered=T2 + 2_000)  # after alice's push about it was decided
    assert violations(history) == {"unread_mismatches": 1, "total_mismatches": 2}
    (line,) = check(history).violations["unread_mismatches"]
    assert "alice dm:alice:bob: (unread, mentions, muted) should be (0, 0, False)" in line
    assert "recalled [2]" in line
    shown_as(history, "alice", unread=0)  # the recall took #2 and its mention away
    assert violations(history) == {}


def test_the_truth_is_the_servers_recall_even_if_its_answer_was_lost() -> None:
    history = clean()
    recall_two(history, answered=None)
    shown_as(history, "alice", unread=0)
    assert violations(history) == {}
    shown_as(history, "alice", unread=1, mentions=1)  # as if the unanswered one had failed
    assert violations(history) == {"unread_mismatches": 1, "total_mismatches": 2}


def test_unread_mentions_differing_from_the_truth_are_a_mismatch() -> None:
    history = clean()
    history.device_mentions["alice/laptop"] = {DM: 0}
    (line,) = check(history).violations["unread_mismatches"]
    assert "should be (1, 1, False)" in line and "'alice/laptop': (1, 0, False)" in line


def test_a_muted_conversation_left_in_the_total_is_a_mismatch() -> None:
    history = clean()
    mute_dm(history, "alice", T2 + 3_000)  # the DM keeps its own unread
    found = check(history).violations["total_mismatches"]
    assert found == [
        "alice/phone: totalUnread should be 0, seen {'SDK': 1, 'sync': 1}",
        "alice/laptop: totalUnread should be 0, seen {'SDK': 1, 'sync': 1}",
    ]
    shown_as(history, "alice", unread=1, mentions=1)
    assert violations(history) == {}


def test_a_device_showing_another_mute_than_the_servers_is_a_mismatch() -> None:
    history = clean()
    mute_dm(history, "alice", T2 + 3_000)
    shown_as(history, "alice", unread=1, mentions=1)
    history.device_muted["alice/laptop"] = {DM: False}
    assert violations(history) == {"unread_mismatches": 1}


@pytest.mark.parametrize(
    ("unmute", "held", "found"),
    [
        (None, True, 0),
        (None, False, 1),  # the mute was answered: the server cannot have lost it
        (Mute("alice/laptop", DM, T2 + 5_000, "mute", T2 + 5_100, muted=False), True, 1),
        (Mute("alice/laptop", DM, T2 + 5_000, "mute", T2 + 5_100, muted=False), False, 0),
        (Mute("alice/laptop", DM, T2 + 5_000, muted=False), True, 0),  # may not have landed
        (Mute("alice/laptop", DM, T2 + 5_000, muted=False), False, 0),
        (Mute("alice/laptop", DM, T2 + 3_050, "mute", T2 + 3_200, muted=False), True, 0),
    ],
    ids=[
        "muted",
        "mute lost",
        "unmute lost",
        "unmuted",
        "unmute unanswered, muted",
        "unmute unanswered, unmuted",
        "racing: either",
    ],
)
def test_a_mute_no_request_can_have_left_is_reported(
    unmute: Mute | None, held: bool, found: int
) -> None:
    history = clean()
    mute_dm(history, "alice", T2 + 3_000)
    history.mutes += [unmute] if unmute is not None else []
    history.server_muted[("alice", DM)] = held
    assert len(check(history).violations["requests_not_held"]) == found


def test_a_mute_answered_that_the_server_does_not_hold_at_all_is_reported() -> None:
    history = clean()
    mute_dm(history, "alice", T2 + 3_000)
    shown_as(history, "alice", unread=1, mentions=1)
    del history.server_muted[("alice", DM)]  # no mute on her membership row
    assert check(history).violations["requests_not_held"] == [
        "alice dm:alice:bob: muted False, which no request of theirs left"
    ]


def test_a_mute_nobody_asked_for_is_reported() -> None:
    history = clean()
    history.server_muted[("bob", DM)] = True
    assert check(history).violations["requests_not_held"] == [
        "bob dm:alice:bob: muted True, which no request of theirs left"
    ]


def test_a_recall_answered_that_the_server_does_not_hold_is_reported() -> None:
    history = clean()
    history.recalls.append(Recall("bob/phone", DM, T2 + 500, "recall", T2 + 600, seq=2))
    assert check(history).violations["requests_not_held"] == [
        "bob/phone: dm:alice:bob#2 recall answered, not recalled"
    ]


def test_a_message_recalled_without_its_sender_asking_is_reported() -> None:
    history = clean()
    recall_two(history)
    history.recalls = [Recall("alice/phone", DM, T2 + 500, "forbidden", T2 + 600, seq=2)]
    assert check(history).violations["requests_not_held"] == [
        "dm:alice:bob#2: recalled, never asked by bob"
    ]


def test_a_recall_held_on_the_message_or_its_channel_row_alone_is_reported() -> None:
    history = clean()
    recall_two(history)
    history.server_recalled = {}
    assert check(history).violations["requests_not_held"] == [
        "dm:alice:bob#2: recalled on the message only"
    ]
    history.server_recalled = {DM: {2}}
    history.server_messages[1] = TWO
    assert (
        "dm:alice:bob#2: recalled on the channel row only"
        in (check(history).violations["requests_not_held"])
    )


def test_an_edit_the_server_does_not_hold_or_never_asked_for_is_reported() -> None:
    history = clean()
    history.edits = [replace(EDIT_ONE, version=2)]  # answered version 2, the server holds 1
    assert check(history).violations["requests_not_held"] == [
        "alice/laptop: dm:alice:bob#1 edit answered version 2, server holds 1"
    ]
    history.edits = []
    assert check(history).violations["requests_not_held"] == [
        "dm:alice:bob#1: version 1 after 0 edits asked"
    ]
    assert len(check(history).violations["unexpected"]) == 1 + len(DEVICES)  # whose body?


@pytest.mark.parametrize(
    ("request_", "recalled"),
    [
        (Recall("bob/phone", DM, T2 + 500, "forbidden", T2 + 119_000, seq=2), False),
        (Recall("bob/phone", DM, T2 + 121_000, "recall", T2 + 121_100, seq=2), True),
        (Edit("alice/phone", DM, T2, "forbidden", T2 + 100, seq=1, body={"t": 1}), False),
        (Edit("bob/phone", DM, T2 + 700, "edit", T2 + 800, seq=2, body={"t": 1}, version=1), True),
        (Mute("bob/phone", DM, T2, "forbidden", T2 + 100, muted=True), False),
    ],
    ids=[
        "recall refused in the window",
        "recall granted after the window",
        "edit refused, not recalled",
        "edit granted after the recall's answer",
        "mute refused to a member",
    ],
)
def test_an_answer_against_the_rules_is_reported(
    request_: Recall | Edit | Mute, recalled: bool
) -> None:
    """The window is History.recall_seconds (120 s) after the message's ts; #2 is bob's,
    recalled (answered at T2 + 600 ms) where the case needs it."""
    history = clean()
    if recalled:
        recall_two(history, answered=T2 + 600)
        shown_as(history, "alice", unread=0)
    if isinstance(request_, Recall):
        history.recalls = [request_]  # the only recall of #2 asked
    elif isinstance(request_, Edit):
        history.edits.append(request_)
    else:
        history.mutes.append(request_)
    assert len(check(history).violations["wrong_answers"]) == 1


def test_a_late_recall_of_a_message_already_recalled_is_granted_rightly() -> None:
    history = clean()
    recall_two(history, answered=None)  # the first one's answer was lost
    history.recalls.append(Recall("bob/phone", DM, T2 + 121_000, "recall", T2 + 121_100, seq=2))
    assert check(history).violations["wrong_answers"] == []


def test_a_device_keeping_an_older_revision_than_its_sdk_was_given_is_stale() -> None:
    history = clean()
    history.stores["bob/phone"] = [replace(ONE, body=SENT_ONE, version=0), TWO]
    verdict = check(history)
    assert verdict.violations["stale_revisions"] == []  # it never got the edit: excluded
    assert (
        verdict.judged["stale_revisions"] == "2 (device, revised message) pairs judged, 1 excluded"
    )
    history.versions_seen["bob/phone"] = {(DM, 1): 1}  # it did
    assert check(history).violations["stale_revisions"] == [
        "bob/phone: dm:alice:bob#1 at version 0, though its SDK was given version 1"
    ]


def test_a_device_keeping_a_recalled_message_its_sdk_was_told_of_is_stale() -> None:
    history = clean()
    recall_two(history, answered=T2 + 2_000)
    shown_as(history, "alice", unread=0)
    history.stores["alice/phone"] = [ONE, TWO]
    assert violations(history) == {}  # the recall never reached it: excluded
    history.recalls_seen["alice/phone"] = {(DM, 2)}
    assert check(history).violations["stale_revisions"] == [
        "alice/phone: dm:alice:bob#2 held, though its SDK was told of its recall"
    ]


@pytest.mark.parametrize(
    "held",
    [RECALLED_TWO, replace(ONE, version=2), replace(ONE, body={"text": "other"})],
    ids=["recalled only here", "a version the server never had", "another body"],
)
def test_a_device_holding_a_revision_the_server_does_not_is_wrong(held: Message) -> None:
    history = clean()
    history.stores["bob/phone"] = [held if m.seq == held.seq else m for m in [ONE, TWO]]
    assert len(check(history).violations["stale_revisions"]) == 1


def test_a_push_about_a_message_recalled_before_the_notifier_began_is_unwanted() -> None:
    history = clean()
    recall_two(history, answered=T2 + 1_100)  # alice's push was decided from T2 + 1.2 s
    shown_as(history, "alice", unread=0)
    assert check(history).violations["unwanted_pushes"] == [
        "alice: push about dm:alice:bob#2, recalled 0.1 s before the notifier began"
    ]


def test_a_push_decided_before_the_recall_was_answered_is_a_race_it_won() -> None:
    history = clean()
    recall_two(history, answered=T2 + 1_300)  # answered after the notifier began
    shown_as(history, "alice", unread=0)
    verdict = check(history)
    assert "unwanted_pushes" not in verdict.violations
    assert verdict.inconclusive["unwanted_pushes"] == "no pushes could be judged (1 excluded)"


@pytest.mark.parametrize(
    ("muted_at", "found", "excluded"),
    [(T1 - 5_000, 1, 0), (T1 + 1_450, 0, 1), (T1 + 3_000, 0, 0)],
    ids=["muted before the notifier began", "racing it", "muted after the push"],
)
def test_a_push_in_a_muted_channel_about_a_message_not_mentioning_the_user_is_unwanted(
    muted_at: int, found: int, excluded: int
) -> None:
    """bob is pushed #1 (alice's, no mention) from T1 + 1.5 s."""
    history = clean()
    assert history.liveness is not None and history.liveness.pushes is not None
    history.liveness.pushes.append(Push("bob", DM, 1, T1 + 2_000, started=T1 + 1_500))
    mute_dm(history, "bob", muted_at)
    verdict = check(history)
    assert len(verdict.violations["unwanted_pushes"]) == found
    excluded_note = f", {excluded} excluded" if excluded else ""
    judged = 2 - excluded
    assert verdict.judged["unwanted_pushes"] == f"{judged} pushes judged{excluded_note}"


def test_a_push_in_a_muted_channel_about_a_mention_is_wanted() -> None:
    history = clean()
    mute_dm(history, "alice", T2 - 5_000)  # #2 mentions her
    shown_as(history, "alice", unread=1, mentions=1)
    assert violations(history) == {}


def test_no_push_is_owed_for_a_recalled_message() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = []
    recall_two(history, answered=T2 + 900)
    shown_as(history, "alice", unread=0)
    verdict = check(history)
    assert "missed_notifications" not in verdict.violations
    assert verdict.inconclusive["missed_notifications"] == (
        "no (message, offline member) pairs could be judged (1 excluded)"
    )


def test_a_muted_member_is_owed_a_push_only_for_a_mention() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = []
    mute_dm(history, "alice", T2 - 5_000)
    shown_as(history, "alice", unread=1, mentions=1)
    assert violations(history) == {"missed_notifications": 1}  # #2 mentions her
    history.server_messages[1] = replace(TWO, mentions=())
    history.attempts[1] = replace(history.attempts[1], mentions=())
    history.stores = {device: [ONE, history.server_messages[1]] for device in DEVICES}
    shown_as(history, "alice", unread=1)
    assert "missed_notifications" in check(history).inconclusive  # excluded: muted


def test_in_a_muted_channel_a_push_after_a_mention_coalesces_it() -> None:
    """bob mentions alice again (#3) 300 ms after #2; her channel muted, the notifier
    pushes #2 alone (a muted channel's push is about its own mention) and coalesces #3's
    job into it: no push is missing. Unmuted, the push would be about the latest, #3."""
    history = clean()
    three = Message(DM, 3, "id3", "bob", "c3", {"text": "three"}, ts=T2 + 300, mentions=("alice",))
    history.server_messages.append(three)
    history.attempts.append(Attempt("bob/phone", "c3", DM, three.body, ("alice",)))
    history.sendacks.append(Sendack("bob/phone", "c3", DM, 3, "id3"))
    history.last_seq[DM] = 3
    history.server_reads[("bob", DM)] = 3
    history.stores = {device: [ONE, TWO, three] for device in DEVICES}
    assert violations(history)["missed_notifications"] == 1  # unmuted: #3 was owed a push
    mute_dm(history, "alice", T2 - 5_000)
    shown_as(history, "alice", unread=2, mentions=2)
    shown_as(history, "bob", unread=0)
    assert violations(history) == {}
    assert history.liveness is not None and history.liveness.pushes is not None
    history.liveness.pushes[0] = replace(history.liveness.pushes[0], at=T2 + 200)
    assert violations(history) == {"missed_notifications": 1}  # published before #3


def test_a_message_whose_recall_was_asked_in_its_window_may_reach_no_device() -> None:
    """Retries stop at a recall: a device connected all along may never get it live."""
    history = clean()
    live = laptop(history)
    live.links["alice/laptop"][1] = Connection(0, T1 + LIVE_MS + 1)
    assert violations(history) == {"late_deliveries": 1}
    history.recalls.append(Recall("alice/phone", DM, T1 + 900, seq=1))  # never answered
    assert check(history).violations["late_deliveries"] == []


def test_the_report_counts_the_v11_operations() -> None:
    history = clean()
    recall_two(history, answered=T2 + 2_000)
    shown_as(history, "alice", unread=0)
    mute_dm(history, "bob", T2 + 3_000)
    history.mutes.append(Mute("bob/phone", DM, T2 + 4_000, muted=False))
    run = outcome(history, {})
    assert (
        "v1.1 operations: recalls asked 1, recall 1; edits asked 1, edit 1; mutes asked 1, "
        "mute 1; unmutes asked 1, no answer 1; mentions sends 1, users mentioned 1; server "
        "recalled 1, edited 1, muted 1"
    ) in table(run)
    assert to_json(run)["operations"]["recalls"] == {"asked": 1, "recall": 1}


# The drain's decisions: series of (seconds, pending work) folded into a status.

PATIENT = Patience(stall_seconds=10, base_seconds=100, seconds_per_item=1)


def series(
    *counts: int, every: float = 1.0, item: str = "alice/phone"
) -> list[tuple[float, Pending]]:
    return [(i * every, {item: count}) for i, count in enumerate(counts)]


@pytest.mark.parametrize(
    ("snapshots", "status"),
    [
        (series(3, 2, 1, 0), "done"),
        (series(3, 3, 3, 2, 2), "progressing"),  # moved at 3 s, 1 s ago
        (series(3, 3, 2, *[2] * 11), "stalled"),  # nothing below 2 for 11 s
        (series(5, 4, 5, 4, 5, 4, every=3.0), "stalled"),  # back to an old low is no move
        (series(*range(50, 0, -1), every=4.0), "deadline"),  # moving at 100 s + 1 s x 50
    ],
)
def test_the_drain_waits_while_work_moves_and_stops_when_done_stuck_or_out_of_time(
    snapshots: list[tuple[float, Pending]], status: Status
) -> None:
    assert judge(PATIENT, snapshots) == status


def test_a_new_low_of_any_item_is_progress_even_while_the_total_grows() -> None:
    snapshots: list[tuple[float, Pending]] = [
        (float(t), {"RetryQueue delayed": 10 - t, "RetryQueue due": 2 * t}) for t in range(10)
    ]
    assert judge(PATIENT, snapshots) == "progressing"


def test_the_cap_grows_with_the_work_pending() -> None:
    small = [(float(t), {"a": 60 - t // 4}) for t in range(0, 240, 4)]
    assert judge(PATIENT, small) == "deadline"  # 100 s + 60 x 1 s
    big = [(float(t), {"a": 200 - t // 4}) for t in range(0, 240, 4)]
    assert judge(PATIENT, big) == "progressing"  # 100 s + 200 x 1 s


@pytest.mark.parametrize(("base", "retries"), [(1, 3), (2, 5), (60, 6)])
def test_the_drains_retry_schedule_bounds_the_stacks(
    base: int, retries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # the latest jitter
    bound = retry_delays(base, retries)
    assert bound[0] >= base  # the probe
    for attempt in range(2, retries + 1):
        assert bound[attempt - 1] >= courier.retry.retry_delay(base, attempt)


def delayed_backlog(chain: int) -> Iterable[tuple[float, Pending]]:
    """A retry queue whose jobs are all delayed: its depth falls only once a whole retry
    chain has run out, then to nothing."""
    for t in range(chain + 1):
        yield float(t), {"RetryQueue delayed": 686}
    yield float(chain + 2), {}


def test_a_delayed_retry_backlog_is_waited_for_not_called_a_stall() -> None:
    chain = retry_chain_seconds(base_seconds=4, max_retries=3)
    assert chain >= 4 + 8 + 16
    patience = queue_patience(
        stall_seconds=10,
        base_seconds=60,
        retry_base_seconds=4,
        max_retries=3,
        visibility_seconds=10,
        seconds_per_job=0.5,
    )
    assert judge(patience, delayed_backlog(chain)) == "done"
    assert judge(PATIENT, delayed_backlog(chain)) == "stalled"  # without the schedule


# An unfinished drain: inconclusive, never a false "lost".

PENDING = {"queues": ["RetryQueue 686 jobs (0 due, 0 in flight, 686 delayed)"]}
NEEDS_DRAIN = {
    "lost",
    "unacknowledged",
    "unread_mismatches",
    "total_mismatches",
    "reads_not_held",
    "missed_notifications",
    "stale_revisions",
}


def unfinished() -> History:
    """What an unfinished drain may leave: a device behind, an outbox not empty."""
    history = clean()
    history.stores["alice/laptop"] = [ONE]
    history.attempts.append(Attempt("bob/phone", "c3", DM, {"text": "three"}))
    history.outbox_left["bob/phone"] = ["c3"]
    return history


def test_an_unfinished_drain_is_inconclusive_and_skips_only_the_checks_needing_it() -> None:
    assert violations(unfinished()) == {"lost": 1, "unacknowledged": 2}  # if it had finished
    verdict = check(unfinished(), PENDING)
    assert {name for name, c in CHECKS.items() if c.needs_drain} == NEEDS_DRAIN
    assert set(verdict.not_checked) == NEEDS_DRAIN
    assert set(verdict.violations) == set(CHECKS) - NEEDS_DRAIN
    assert (verdict.result, verdict.exit_code, verdict.ok) == ("inconclusive", 3, False)
    assert verdict.pending == PENDING


def test_a_sound_violation_fails_an_unfinished_run_too() -> None:
    history = unfinished()
    history.shown["alice/laptop"].append((DM, 1))
    verdict = check(history, PENDING)
    assert (verdict.result, verdict.exit_code) == ("fail", 1)


@pytest.mark.parametrize(
    ("history", "pending", "code"),
    [(clean(), None, 0), (unfinished(), None, 1), (clean(), PENDING, 3), (clean(), {"x": []}, 0)],
)
def test_exit_codes(history: History, pending: dict[str, list[str]] | None, code: int) -> None:
    assert check(history, pending).exit_code == code


def outcome(history: History, pending: dict[str, list[str]]) -> Outcome:
    steps = {name: Step("done", 1.0) for name in ("outboxes", "final reads", "catch-up")}
    steps["queues"] = Step("stalled", 39.0, "stalled: nothing moved for 39 s", ("RetryQueue 686",))
    return Outcome(
        config=ChaosConfig(),
        population=Population(
            users=["alice", "bob"],
            devices=history.devices,
            dms=[DM],
            groups={},
        ),
        history=history,
        verdict=check(history, pending),
        drained=Drained(steps, {"RetryQueue": 686, "FanoutQueue": 0}),
        network_faults=Counter(),
        server_faults=Counter(),
        server_fault_places=Counter(),
        dead_letters={},
        seconds={"drain: queues": 39.0},
    )


def test_the_report_of_an_unfinished_run_says_inconclusive_and_what_was_pending() -> None:
    run = outcome(unfinished(), PENDING)
    text = table(run)
    assert "result: INCONCLUSIVE" in text
    assert "RetryQueue 686 jobs (0 due, 0 in flight, 686 delayed)" in text
    assert "queues 39.0 s, stalled: nothing moved for 39 s" in text
    for name in NEEDS_DRAIN:
        line = next(line for line in text.splitlines() if CHECKS[name].label in line)
        assert "not checked" in line and not line.endswith("ok"), line
    assert "not on alice/laptop" not in text  # a device behind is not reported as lost
    report = to_json(run)
    assert (report["result"], report["ok"]) == ("inconclusive", False)
    assert report["pending"] == PENDING
    assert report["violations"]["lost"] is None and report["violations"]["seq_gaps"] == 0
    assert set(report["not_checked"]) == NEEDS_DRAIN
    assert report["drain"]["queues"]["status"] == "stalled"


def test_the_report_of_a_finished_run_checks_everything() -> None:
    run = outcome(clean(), {})
    assert "result: PASS" in table(run) and "not checked" not in table(run)
    report = to_json(run)
    assert report["result"] == "pass" and report["not_checked"] == []
    assert report["violations"] == dict.fromkeys(CHECKS, 0)
    assert report["inconclusive"] == {}
    assert report["latency_ms"] == {"pairs": 2, "p50": 30, "p95": 50, "p99": 50}
    assert "commit -> first message frame: p50 30 ms, p95 50 ms, p99 50 ms" in table(run)


def test_the_report_says_which_line_could_observe_nothing() -> None:
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = None
    run = outcome(history, {})
    text = table(run)
    assert "INCONCLUSIVE: the run did not observe the push topic" in text
    assert "result: INCONCLUSIVE (2 checks could observe nothing" in text
    report = to_json(run)
    assert report["violations"]["missed_notifications"] is None
    assert report["violations"]["unwanted_pushes"] is None
    assert report["inconclusive"] == dict.fromkeys(
        ["missed_notifications", "unwanted_pushes"], "the run did not observe the push topic"
    )


# The 10x run.


def test_scale_ten_is_fifty_users_ten_groups_three_thousand_messages() -> None:
    config = parse(["--scale", "10"])
    assert (config.users, config.groups, config.messages) == (50, 10, 3000)
    assert config.duration > ChaosConfig().duration
    assert parse(["--scale", "10", "--messages", "500"]).messages == 500
    assert parse([]) == ChaosConfig()
    with pytest.raises(SystemExit):
        parse(["--scale", "0"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_ten_times_population_has_users_on_several_devices(seed: int) -> None:
    population = populate(50, 10, derive(seed, "population"))
    assert len(population.groups) == 10
    assert sum(len(devices) > 1 for devices in population.devices.values()) >= 5


def test_a_tiny_population_has_a_user_on_several_devices_too() -> None:
    population = populate(2, 0, derive(1, "population"))
    assert any(len(devices) > 1 for devices in population.devices.values())


def test_deaf_listeners_join_every_group_and_change_nothing_else() -> None:
    plain = populate(5, 2, derive(5, "population"))
    with_deaf = populate(5, 2, derive(5, "population"), deaf=2)
    assert with_deaf.deaf == ("z00/phone", "z01/phone")
    assert with_deaf.users == [*plain.users, "z00", "z01"]
    assert with_deaf.dms == plain.dms
    assert with_deaf.groups == {
        name: [*members, "z00", "z01"] for name, members in plain.groups.items()
    }
    assert with_deaf.channels_of("z00") == [f"g:{name}" for name in plain.groups]


def test_absent_members_join_every_group_without_a_device_and_change_nothing_else() -> None:
    plain = populate(5, 2, derive(5, "population"))
    with_absent = populate(5, 2, derive(5, "population"), absent=1)
    assert with_absent.absent == ("a00",)
    assert with_absent.users == [*plain.users, "a00"]
    assert with_absent.devices == plain.devices  # no device: never connected
    assert with_absent.dms == plain.dms
    assert with_absent.groups == {name: [*members, "a00"] for name, members in plain.groups.items()}
