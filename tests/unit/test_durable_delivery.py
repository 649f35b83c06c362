"""Guarantee 8: delivery survives the sender's function.

Once a message is committed, every device online gets it live (within the retry
schedule) and every offline member gets a push, whatever dies after the commit. The
send function's death is forced here: it raises out of the handler right after its
transaction, before any post or queue call, as a timeout or a crash would.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from courier import actions
from tests.harness import Courier

DM = "dm:alice:bob"


class SendDied(BaseException):
    """The send function's death: nothing in the handler catches it (a timeout, OOM)."""


def _die(*_: Any, **__: Any) -> None:
    raise SendDied


@pytest.fixture
def send_dies_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "post_new_message", _die)


def _send_that_dies(courier: Courier, conn: Any, channel: str, client_msg_no: str) -> None:
    with pytest.raises(SendDied):
        courier.send(conn, channel, client_msg_no)


@pytest.mark.usefixtures("send_dies_after_commit")
def test_delivery_survives_the_send_function_dying_after_its_commit(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")

    _send_that_dies(courier, alice, DM, "m1")

    assert courier.posted(bob, "message") == []  # the fast path never ran
    courier.drain("RetryQueue")  # the stream queued bob's probe: it posts the message live
    assert [f["seq"] for f in courier.posted(bob, "message")] == [1]


@pytest.mark.usefixtures("send_dies_after_commit")
def test_an_offline_member_is_notified_though_the_send_function_died(courier: Courier) -> None:
    alice = courier.connect("alice")

    _send_that_dies(courier, alice, DM, "m1")

    assert [(j.body["user"], j.body["seq"]) for j in courier.jobs("NotifyQueue")] == [("bob", 1)]
    courier.drain("NotifyQueue")
    assert [p["user"] for p in courier.published] == ["bob"]


@pytest.mark.usefixtures("send_dies_after_commit")
def test_the_resend_after_a_lost_sendack_is_not_what_delivers(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.stream_paused = True
    _send_that_dies(courier, alice, DM, "m1")

    courier.stream_paused = False
    reply = courier.send(alice, DM, "m1")  # the client resends: a duplicate delivers nothing
    assert reply["duplicate"] is True
    assert courier.posted(bob, "message") == []

    courier.drain("RetryQueue")  # the stream, run after the resend, still delivers
    assert [f["seq"] for f in courier.posted(bob, "message")] == [1]


def test_a_message_whose_send_died_is_posted_by_its_probe_though_a_chain_is_running(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")  # bob never acks: his chain for the DM runs
    courier.drain("RetryQueue")
    monkeypatch.setattr(actions, "post_new_message", _die)
    _send_that_dies(courier, alice, DM, "m2")

    courier.drain("RetryQueue")  # the chain's next attempt, and m2's probe: it joins

    assert [f["seq"] for f in courier.posted(bob, "message")].count(2) == 1


def test_a_stream_record_handed_over_twice_still_bounds_the_copies(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.stream_paused = True
    courier.send(alice, DM, "m1")  # the fast path posts bob's first copy
    courier.pump_stream(twice=True)  # Lambda retries a batch: two probes for bob's device

    while courier.jobs("RetryQueue"):
        courier.drain("RetryQueue", twice=True)

    copies = len(courier.posted(bob, "message"))
    assert 1 < copies <= 1 + 5  # retried (never acked), within 1 + MAX_RETRIES


@pytest.mark.usefixtures("send_dies_after_commit")
def test_a_member_behind_a_dead_socket_is_notified_though_the_send_function_died(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.drop(bob)  # bob's socket died without a $disconnect: its row is still there

    _send_that_dies(courier, alice, DM, "m1")

    assert courier.jobs("NotifyQueue") == []  # the stream took bob for online
    courier.drain("RetryQueue")  # the probe's post meets the dead socket: bob is offline
    assert courier.jobs("RetryQueue") == []
    assert [(j.body["user"], j.body["seq"]) for j in courier.jobs("NotifyQueue")] == [("bob", 1)]
    courier.drain("NotifyQueue")
    assert [p["user"] for p in courier.published] == ["bob"]


def test_a_member_who_left_before_the_probe_without_acking_is_notified(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    courier.disconnect(bob)  # gone before its device acked: the frame may never have landed

    courier.drain("RetryQueue")
    courier.drain("NotifyQueue")

    assert [(p["user"], p["seq"]) for p in courier.published] == [("bob", 1)]


def test_a_member_still_online_on_another_device_gets_no_push_from_a_probe(
    courier: Courier,
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.connect("bob", "tablet")
    courier.send(alice, DM, "m1")
    courier.disconnect(bob)

    courier.drain("RetryQueue")

    assert courier.jobs("NotifyQueue") == []


def test_a_member_offline_at_the_commit_is_notified_though_back_before_the_stream_ran(
    courier: Courier,
) -> None:
    # Found by make chaos with a CPU burner: the stream read the message 11 s after its
    # commit, found bob connected again, and took him for online: no push, ever.
    alice = courier.connect("alice")
    courier.stream_paused = True
    courier.send(alice, DM, "m1")
    time.sleep(0.002)  # bob's new socket opens a clock tick after the commit, at least
    courier.connect("bob")
    courier.stream_paused = False
    courier.pump_stream()  # the stream's lag: it reads the message only now

    assert courier.jobs("RetryQueue") == []  # his new socket synced: no frame is owed
    courier.drain("NotifyQueue")
    assert [(p["user"], p["seq"]) for p in courier.published] == [("bob", 1)]


def test_the_stream_ignores_what_is_not_an_insert(courier: Courier) -> None:
    from courier.committed import committed_message  # noqa: PLC0415

    assert committed_message({"eventName": "MODIFY", "dynamodb": {}}) is None
    assert committed_message({"eventName": "REMOVE", "dynamodb": {}}) is None
    with pytest.raises(ValueError, match="NEW_IMAGE"):
        committed_message({"eventName": "INSERT", "dynamodb": {"Keys": {}}})
