"""The chaos checker on hand-made histories: a clean run passes, and each guarantee's
violation is reported on its own line."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from chaos.checker import check
from chaos.history import Attempt, History, Message, Read, Sendack

DM = "dm:alice:bob"
ONE = Message(DM, 1, "id1", "alice", "c1", {"text": "one"})
TWO = Message(DM, 2, "id2", "bob", "c2", {"text": "two"})
DEVICES = ["alice/phone", "alice/laptop", "bob/phone"]


def clean() -> History:
    """alice (two devices) sends #1, bob sends #2; alice has not read #2, bob has (his own).
    alice's laptop got #2 three times (1 + MAX_RETRIES 2)."""
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
        stores={device: [ONE, TWO] for device in DEVICES},
        device_unread=unread,
        server_unread=unread,
        outbox_left={device: [] for device in DEVICES},
    )


def violations(history: History) -> dict[str, int]:
    found = check(history).violations
    return {name: len(lines) for name, lines in found.items() if lines}


def test_a_clean_history_passes_with_its_counts() -> None:
    verdict = check(clean())
    assert verdict.ok
    assert (verdict.attempted, verdict.acknowledged, verdict.stored) == (2, 2, 2)
    assert verdict.redelivered == 3  # laptop: #2 twice more; bob: #1 once more


def test_a_stored_message_missing_from_a_member_device_is_lost() -> None:
    history = clean()
    history.stores["alice/laptop"] = [ONE]
    assert violations(history) == {"lost": 1}
    assert "dm:alice:bob#2" in check(history).violations["lost"][0]
    assert "alice/laptop" in check(history).violations["lost"][0]


def test_an_acknowledged_message_the_server_does_not_hold_is_lost() -> None:
    history = clean()
    history.attempts.append(Attempt("bob/phone", "c3", DM, {"text": "three"}))
    history.sendacks.append(Sendack("bob/phone", "c3", DM, 3, "id3"))
    assert violations(history) == {"lost": 1}


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
