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
    Frame,
    History,
    Liveness,
    Message,
    Push,
    Read,
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
ONE = Message(DM, 1, "id1", "alice", "c1", {"text": "one"}, ts=T1)
TWO = Message(DM, 2, "id2", "bob", "c2", {"text": "two"}, ts=T2)
DEVICES = ["alice/phone", "alice/laptop", "bob/phone"]
LIVE_MS, DECIDE_MS, MARGIN_MS = 20_000, 2_000, 1_000


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
        pushes=[Push("alice", DM, 2, T2 + 1_500)],
        ended=T2 + 100_000,
        notified=T2 + 90_000,
    )


def clean() -> History:
    """alice (two devices) sends #1, bob sends #2; alice has not read #2, bob has (his own).
    alice's laptop got #2 three times (1 + MAX_RETRIES 2). When things reached whom:
    `liveness`."""
    unread = {"alice/phone": {DM: 1}, "alice/laptop": {DM: 1}, "bob/phone": {DM: 0}}
    return History(
        max_retries=2,
        members={DM: ["alice", "bob"]},
        devices={"alice": DEVICES[:2], "bob": DEVICES[2:]},
        attempts=[
            Attempt("alice/phone", "c1", DM, ONE.body),
            Attempt("bob/phone", "c2", DM, TWO.body),
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
        stores={device: [ONE, TWO] for device in DEVICES},
        device_unread=unread,
        server_unread=unread,
        outbox_left={device: [] for device in DEVICES},
        liveness=liveness(),
    )


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
    history.attempts[1] = Attempt("bob/tablet", "c2", DM, TWO.body)  # had another sent it
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
        "missed_notifications": "no (message, offline member) pairs could be judged (1 excluded)"
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
        "missed_notifications": "no (message, offline member) pairs could be judged (1 excluded)"
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
        "missed_notifications": "no (message, offline member) pairs could be judged"
    }
    assert (verdict.result, verdict.exit_code) == ("inconclusive", 3)


def test_a_run_that_observed_no_liveness_is_inconclusive_on_both_lines() -> None:
    history = clean()
    history.liveness = None
    verdict = check(history)
    assert set(verdict.inconclusive) == {"late_deliveries", "missed_notifications"}
    assert verdict.result == "inconclusive" and verdict.latency is None
    history = clean()
    assert history.liveness is not None
    history.liveness.pushes = None
    assert check(history).inconclusive == {
        "missed_notifications": "the run did not observe the push topic"
    }


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
    assert len(found) == 1 and "bob" in found[0] and "should be 0" in found[0]


def test_the_servers_sync_counts_as_well_as_the_devices() -> None:
    history = clean()
    history.server_unread = {**history.server_unread, "alice/laptop": {DM: 0}}
    assert violations(history) == {"unread_mismatches": 1}


def test_a_read_on_one_device_is_the_truth_for_every_device_of_the_user() -> None:
    history = clean()
    history.reads.append(Read("alice/laptop", DM, 2))
    history.server_reads[("alice", DM)] = 2
    assert violations(history) == {"unread_mismatches": 1}  # alice still shows 1 unread
    history.device_unread = {**history.device_unread, "alice/phone": {DM: 0}}
    history.device_unread["alice/laptop"] = {DM: 0}
    history.server_unread = dict(history.device_unread)
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
    for device in DEVICES:
        history.device_unread[device] = {DM: history.device_unread[device][DM] + 1}
    history.server_unread = dict(history.device_unread)
    assert violations(history) == {"seq_gaps": 1}


def test_reads_the_server_holds_pass() -> None:
    history = clean()
    history.reads += [Read("alice/laptop", DM, 1), Read("bob/phone", DM, 2)]
    assert check(history).violations["reads_not_held"] == []
    assert check(history).ok


def test_a_read_the_servers_cursor_does_not_reach_is_not_held() -> None:
    history = clean()
    history.reads += [Read("alice/laptop", DM, 2)] * 2  # the server's cursor: alice at 1
    history.device_unread = {**history.device_unread, "alice/phone": {DM: 0}}
    history.device_unread["alice/laptop"] = {DM: 0}
    history.server_unread = dict(history.device_unread)
    assert violations(history) == {"reads_not_held": 1}
    found = check(history).violations["reads_not_held"][0]
    assert "alice/laptop" in found and DM in found and "at 1" in found


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
    "reads_not_held",
    "missed_notifications",
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
    assert "result: INCONCLUSIVE (1 checks could observe nothing" in text
    report = to_json(run)
    assert report["violations"]["missed_notifications"] is None
    assert report["inconclusive"] == {
        "missed_notifications": "the run did not observe the push topic"
    }


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
