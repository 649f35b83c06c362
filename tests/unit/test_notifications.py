"""Offline members get a push through SNS: one per (user, channel, seq) at most, coalesced,
none once read, with the user's total unread as the badge."""

from __future__ import annotations

from typing import Any

import pytest
from moto.sns.models import SNSBackend

from courier import notify
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


def test_the_retry_of_a_notifier_that_died_before_its_push_publishes_within_the_lease(
    courier: Courier, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guarantee 8 whatever the queue's visibility timeout: SQS hands the same job (same
    messageId, a higher receive count) out again after 10 s, well within the 60 s lease,
    and that retry, knowing the pending claim is its own dead attempt's, publishes."""
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1", {"text": "hello bob"})
    [job] = courier.take_jobs("NotifyQueue")
    calls = _sns_dies_once(monkeypatch)
    assert courier.run_worker("notifier", [job], message_ids=["m1"])["batchItemFailures"]
    clock[0] += 10_000

    retried = courier.run_worker("notifier", [job], receive_count=2, message_ids=["m1"])

    assert retried == {"batchItemFailures": []}
    assert len(calls) == 2
    assert [(p["user"], p["seq"]) for p in courier.published] == [("bob", 1)]


def test_a_duplicate_delivery_of_a_job_does_not_take_over_its_live_claim(
    courier: Courier, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS may deliver one message twice at once (same messageId, same receive count):
    the copy must not take over the other copy's claim, which may still publish; only a
    redelivery (a higher receive count) may, and then it publishes once."""
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1")
    [job] = courier.take_jobs("NotifyQueue")
    _sns_dies_once(monkeypatch)
    courier.run_worker("notifier", [job], message_ids=["m1"])
    clock[0] += 1_000
    courier.run_worker("notifier", [job], message_ids=["m1"])  # the duplicate copy
    assert courier.published == []

    clock[0] += 10_000
    courier.run_worker("notifier", [job], receive_count=2, message_ids=["m1"])
    courier.run_worker("notifier", [job], receive_count=2, message_ids=["m1"])

    assert [p["seq"] for p in courier.published] == [1]


def test_a_message_committed_between_the_notifiers_read_and_its_claim_is_still_pushed(
    courier: Courier, clock: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notifier reads the channel, then claims: a message committed in between is not
    in this push, so its own job (due a coalescing window after its commit) must not be
    coalesced into it. The claim is dated by the read, not by the write."""
    alice = courier.connect("alice")
    courier.send(alice, DM, "d1", {"text": "first"})
    [job] = courier.take_jobs("NotifyQueue")
    clock[0] += 30_000
    original = notify.last_messages
    sent: list[int] = []

    def commit_in_between(*args: Any, **kwargs: Any) -> Any:
        if not sent:
            sent.append(1)
            clock[0] += 500
            courier.send(alice, DM, "d2", {"text": "second"})
            clock[0] += 500  # the claim is written after that commit
        return original(*args, **kwargs)

    monkeypatch.setattr(notify, "last_messages", commit_in_between)
    courier.run_worker("notifier", [job])
    clock[0] += 29_700  # d2's job is due 30 s after its commit, 0.5 s before the claim
    courier.drain("NotifyQueue")

    assert [(p["seq"], p["preview"]) for p in courier.published] == [(1, "first"), (2, "second")]
