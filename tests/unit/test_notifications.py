"""Offline members get a push through SNS: one per (user, channel, seq) at most, coalesced,
none once read, with the user's total unread as the badge."""

from __future__ import annotations

from typing import Any

import pytest
from moto.sns.models import SNSBackend

from tests.harness import Courier

DM = "dm:alice:bob"


def test_an_offline_member_gets_one_notification_with_the_badge(courier: Courier) -> None:
    alice = courier.connect("alice")
    courier.group("team", ["alice", "bob"])
    courier.send(alice, "g:team", "t1", {"text": "team news"})
    courier.send(alice, DM, "d1", {"text": "hello bob, " + "x" * 200})

    jobs = courier.jobs("NotifyQueue")
    assert [j.delay_seconds for j in jobs] == [30, 30]  # COURIER_NOTIFY_COALESCE_SECONDS
    courier.drain("NotifyQueue")

    assert courier.published == [
        {
            "user": "bob",
            "channel": "g:team",
            "seq": 1,
            "from": "alice",
            "preview": "team news",
            "badge": 2,
        },
        {
            "user": "bob",
            "channel": DM,
            "seq": 1,
            "from": "alice",
            "preview": ("hello bob, " + "x" * 200)[:80],
            "badge": 2,
        },
    ]


def test_online_members_and_the_sender_get_no_notification(courier: Courier) -> None:
    alice, _bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "d1")
    assert courier.jobs("NotifyQueue") == []


def test_a_duplicated_notification_job_notifies_once(courier: Courier) -> None:
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1")
    courier.drain("NotifyQueue", twice=True)
    assert len(courier.published) == 1


def test_a_burst_is_coalesced_into_one_notification_about_the_latest_message(
    courier: Courier, clock: list[int]
) -> None:
    alice = courier.connect("alice")
    for i in range(4):
        courier.send(alice, DM, f"d{i}", {"text": f"message {i}"})
        clock[0] += 1000

    courier.drain("NotifyQueue")

    assert [(p["seq"], p["preview"], p["badge"]) for p in courier.published] == [
        (4, "message 3", 4)
    ]


def test_messages_after_the_coalescing_window_notify_again(
    courier: Courier, clock: list[int]
) -> None:
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1")
    courier.drain("NotifyQueue")
    clock[0] += 10_000
    courier.send(alice, DM, "d2")
    courier.drain("NotifyQueue")  # within 30 s of the last one: coalesced away
    clock[0] += 30_000
    courier.send(alice, DM, "d3")
    courier.drain("NotifyQueue")

    assert [(p["seq"], p["badge"]) for p in courier.published] == [(1, 1), (3, 3)]


def test_no_notification_for_a_message_read_before_the_job_runs(courier: Courier) -> None:
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1")
    bob = courier.connect("bob")  # bob comes back and reads on his phone
    courier.read(bob, DM, 1)
    courier.disconnect(bob)

    courier.drain("NotifyQueue")

    assert courier.published == []


def test_the_sender_is_never_notified_of_their_own_message(courier: Courier) -> None:
    alice = courier.connect("alice")  # alice's only connection is the sending one
    courier.group("team", ["alice", "bob", "carol"])
    courier.send(alice, "g:team", "t1")
    assert sorted(j.body["user"] for j in courier.jobs("NotifyQueue")) == ["bob", "carol"]


def _sns_dies_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """SNS Publish raises the first time (the notifier dies between its claim and its
    push); the calls made."""
    original = SNSBackend.publish
    calls: list[int] = []

    def dying(backend: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the notifier died before its Publish")
        return original(backend, *args, **kwargs)

    monkeypatch.setattr(SNSBackend, "publish", dying)
    return calls


def test_a_notifier_that_dies_between_its_claim_and_its_push_is_taken_over_by_the_retry(
    courier: Courier, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guarantee 8: the push is not lost. SQS hands the job out again after its visibility
    timeout (120 s); by then the dead claim's lease (60 s) is over."""
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1", {"text": "hello bob"})  # bob has never connected
    [job] = courier.take_jobs("NotifyQueue")
    calls = _sns_dies_once(monkeypatch)
    assert courier.run_worker("notifier", [job])["batchItemFailures"]
    clock[0] += 120_000

    assert courier.run_worker("notifier", [job], receive_count=2) == {"batchItemFailures": []}

    assert len(calls) == 2
    assert [(p["user"], p["seq"]) for p in courier.published] == [("bob", 1)]


def test_a_claim_still_within_its_lease_is_not_taken_over(
    courier: Courier, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notifier may still be about to publish: another job of the (user, channel) within
    the lease publishes nothing, the retry after it publishes once, and a job after that
    (a duplicate) nothing."""
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1")
    [job] = courier.take_jobs("NotifyQueue")
    _sns_dies_once(monkeypatch)
    courier.run_worker("notifier", [job])
    clock[0] += 59_000
    courier.run_worker("notifier", [job], receive_count=2)
    assert courier.published == []

    clock[0] += 1_000
    courier.run_worker("notifier", [job], receive_count=3)
    clock[0] += 120_000
    courier.run_worker("notifier", [job])

    assert [p["seq"] for p in courier.published] == [1]
