"""Large groups are delivered by fan-out jobs in chunks; writes stay constant in group size."""

from __future__ import annotations

from typing import Any

from tests.aws_calls import CallLog, recording
from tests.harness import Conn, Courier


def send_and_fan_out(courier: Courier, sender: Conn, channel: str, key: str) -> tuple[Any, CallLog]:
    """Send, then run the fan-out jobs it queued (plan, then chunks), counting AWS calls."""
    with recording() as calls:
        ack = courier.send(sender, channel, key)
        while courier.drain("FanoutQueue"):
            pass
    return ack, calls


def test_a_5000_member_group_send_writes_as_a_2_member_group_and_each_connection_gets_one_frame(
    courier: Courier,
) -> None:
    members = [f"m{i:04d}" for i in range(5000)]
    courier.group("town", members)
    courier.group("pair", members[:2])
    conns = courier.connect_many(members)
    sender = conns[0]

    _, pair = send_and_fan_out(courier, sender, "g:pair", "p1")
    ack, town = send_and_fan_out(courier, sender, "g:town", "t1")

    assert pair.dynamodb_item_writes() == town.dynamodb_item_writes() == 4
    assert ack["seq"] == 1
    frames = courier.connections.frames
    assert all(
        [f["seq"] for f in frames[c.connection_id] if f["channel"] == "g:town"] == [1]
        for c in conns[1:]
    )
    assert not [f for f in frames[sender.connection_id] if f["channel"] == "g:town"]
    assert len(courier.jobs("RetryQueue")) == 4999 + 1  # a probe per reached device, both sends
    assert town.count("sqs", "SendMessageBatch") >= 50  # chunks of 100 users


def test_the_sendack_does_not_wait_for_the_fan_out(courier: Courier, monkeypatch: Any) -> None:
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
    members = [f"u{i}" for i in range(6)]
    courier.group("six", members)
    conns = [courier.connect(u) for u in members]

    ack = courier.send(conns[0], "g:six", "hello")

    assert ack["type"] == "sendack" and ack["seq"] == 1
    assert all(courier.posted(c) == [] for c in conns)  # nothing posted yet
    assert [set(j.body) for j in courier.jobs("FanoutQueue")] == [{"message", "except"}]
    courier.drain("FanoutQueue")  # the plan job splits the members into chunks
    assert [len(j.body["users"]) for j in courier.jobs("FanoutQueue")] == [6]
    courier.drain("FanoutQueue")
    assert [len(courier.posted(c, "message")) for c in conns] == [0, 1, 1, 1, 1, 1]


def test_a_replayed_plan_job_queues_each_chunk_once(courier: Courier, monkeypatch: Any) -> None:
    """The fan-out queue is FIFO with a deduplication id per (channel, seq, chunk): a plan job
    run twice (a worker that failed after queuing) queues every chunk once."""
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "1")
    members = [f"u{i:03d}" for i in range(250)]
    courier.group("crowd", members)
    conns = courier.connect_many(members)
    courier.send(conns[0], "g:crowd", "m1")
    plan = courier.take_jobs("FanoutQueue")

    courier.run_worker("fanout_worker", plan + plan)

    chunks = courier.jobs("FanoutQueue")
    assert sorted(len(j.body["users"]) for j in chunks) == [50, 100, 100]
    courier.drain("FanoutQueue")
    assert all(len(courier.posted(c, "message")) == 1 for c in conns[1:])


def message_copies(courier: Courier, conns: list[Conn], channel: str) -> list[int]:
    return [
        len([f for f in courier.connections.frames[c.connection_id] if f["channel"] == channel])
        for c in conns
    ]


def chunk_job_of_a_group_send(courier: Courier, monkeypatch: Any) -> tuple[list[Conn], Any]:
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
    monkeypatch.setenv("COURIER_MAX_RETRIES", "2")
    members = [f"u{i}" for i in range(6)]
    courier.group("six", members)
    conns = [courier.connect(u) for u in members]
    courier.send(conns[0], "g:six", "hello")
    courier.drain("FanoutQueue")  # the plan
    (chunk,) = courier.take_jobs("FanoutQueue")
    return conns[1:], chunk


def test_retries_bounded_when_a_chunk_is_redelivered_after_it_posted(
    courier: Courier, monkeypatch: Any
) -> None:
    receivers, chunk = chunk_job_of_a_group_send(courier, monkeypatch)
    courier.run_worker("fanout_worker", [chunk])  # posted, then the run failed: SQS again
    courier.run_worker("fanout_worker", [chunk], receive_count=2)

    assert message_copies(courier, receivers, "g:six") == [1] * 5  # the redelivery posts nothing
    while courier.drain("RetryQueue"):  # nobody acks: every retry falls due
        pass
    assert message_copies(courier, receivers, "g:six") == [1 + 2] * 5


def test_a_chunk_redelivered_before_it_posted_reaches_devices_through_retries(
    courier: Courier, monkeypatch: Any
) -> None:
    receivers, chunk = chunk_job_of_a_group_send(courier, monkeypatch)
    courier.run_worker("fanout_worker", [chunk], receive_count=2)  # the first run died early

    assert message_copies(courier, receivers, "g:six") == [0] * 5
    assert len(courier.jobs("RetryQueue")) == 5  # a probe per device
    courier.drain("RetryQueue")
    assert message_copies(courier, receivers, "g:six") == [1] * 5


def test_a_message_fanned_out_in_chunks_carries_its_mentions(
    courier: Courier, monkeypatch: Any
) -> None:
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
    members = [f"u{i}" for i in range(6)]
    courier.group("six", members)
    conns = [courier.connect(u) for u in members]
    courier.frame(
        conns[0],
        {
            "action": "send",
            "channel": "g:six",
            "clientMsgNo": "hi",
            "body": {"text": "@u1"},
            "mentions": ["u1"],
        },
    )

    while courier.drain("FanoutQueue"):
        pass

    assert [f["mentions"] for f in courier.posted(conns[1], "message")] == [["u1"]]
