"""Recall and edit frames in a group above FanoutInlineLimit go through fan-out jobs, as a
new message does: the caller's function costs the same in a group of any size, and every
member's live connections still get the frame (a recall's with that member's unread)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aws_calls import recording
from tests.harness import Conn, Courier

CROWD = "g:crowd"


@pytest.fixture
def crowd(courier: Courier, monkeypatch: Any) -> list[Conn]:
    """250 connected members (3 chunks of users), a message from the first, read by half of
    the others; the inline limit at 3."""
    monkeypatch.setenv("COURIER_FANOUT_INLINE_LIMIT", "3")
    members = [f"u{i:03d}" for i in range(250)]
    courier.group("crowd", members)
    conns = courier.connect_many(members)
    courier.send(conns[0], CROWD, "m1")
    courier.send(conns[0], CROWD, "m2")
    while courier.drain("FanoutQueue"):
        pass
    for conn in conns[1::2]:
        courier.read(conn, CROWD, 1)
    courier.connections.frames.clear()
    return conns


def act(courier: Courier, conn: Conn, frame: dict[str, Any]) -> dict[str, Any]:
    reply = courier.frame(conn, {"channel": CROWD, "seq": 1, **frame})
    assert reply is not None and reply["type"] != "error", reply
    return reply


def test_a_recall_in_a_group_above_the_inline_limit_tells_every_member_their_unread(
    courier: Courier, crowd: list[Conn]
) -> None:
    with recording() as calls:
        reply = act(courier, crowd[0], {"action": "recall"})

    assert reply["unread"] == 0
    assert all(courier.posted(c) == [] for c in crowd)  # nothing inline
    assert calls.count("sqs") == 1 and calls.count("execute-api") == 0
    assert calls.count("dynamodb", "Query") == 1  # one page of members: more than the limit
    courier.drain("FanoutQueue")  # the plan
    assert sorted(len(j.body["users"]) for j in courier.jobs("FanoutQueue")) == [50, 100, 100]
    while courier.drain("FanoutQueue"):
        pass
    told = [courier.posted(c, "recall") for c in crowd[1:]]
    assert all(len(frames) == 1 for frames in told)
    # the odd ones read seq 1 (unread: seq 2), the even ones did not (seq 1 recalled)
    assert {f["unread"] for [f] in told} == {1}
    assert courier.posted(crowd[0]) == []  # the caller's copy is its reply


def test_an_edit_in_a_group_above_the_inline_limit_reaches_every_member_with_its_version(
    courier: Courier, crowd: list[Conn]
) -> None:
    with recording() as calls:
        reply = act(courier, crowd[0], {"action": "edit", "body": {"text": "m1!"}})

    assert reply["version"] == 1
    assert calls.count("sqs") == 1 and calls.count("execute-api") == 0
    while courier.drain("FanoutQueue"):
        pass
    told = [courier.posted(c, "edit") for c in crowd[1:]]
    assert all(frames == [reply] for frames in told)
    assert courier.posted(crowd[0]) == []


def test_a_recall_answers_the_unread_of_each_member_when_its_chunk_runs(
    courier: Courier, crowd: list[Conn]
) -> None:
    """A member who reads between the recall and its chunk is told the unread they have."""
    act(courier, crowd[0], {"action": "recall"})
    courier.drain("FanoutQueue")  # the plan
    courier.read(crowd[2], CROWD, 2)
    while courier.drain("FanoutQueue"):
        pass

    [told] = courier.posted(crowd[2], "recall")
    assert told["unread"] == 0
    assert courier.unread(crowd[2].user)["channels"] == {CROWD: 0}


def test_a_recall_repeated_or_replayed_queues_each_chunk_once(
    courier: Courier, crowd: list[Conn]
) -> None:
    """The fan-out queue is FIFO, deduplicated by the frame's (channel, seq, type): a
    second recall of the message (the sender's, then the admin's) and a plan job run twice
    queue no second set of frames."""
    act(courier, crowd[0], {"action": "recall"})
    act(courier, crowd[0], {"action": "recall"})
    assert courier.admin_recall(CROWD, 1)[0] == 200
    plans = courier.take_jobs("FanoutQueue")

    courier.run_worker("fanout_worker", plans + plans)

    assert len(courier.jobs("FanoutQueue")) == 3
    while courier.drain("FanoutQueue"):
        pass
    assert all(len(courier.posted(c, "recall")) == 1 for c in crowd[1:])


def test_two_edits_are_each_told_to_every_member(courier: Courier, crowd: list[Conn]) -> None:
    """Edits are deduplicated per version: the second edit's frames are not taken for the
    first's."""
    act(courier, crowd[0], {"action": "edit", "body": {"text": "a"}})
    act(courier, crowd[0], {"action": "edit", "body": {"text": "b"}})
    while courier.drain("FanoutQueue"):
        pass

    versions = [[f["version"] for f in courier.posted(c, "edit")] for c in crowd[1:]]
    assert all(sorted(v) == [1, 2] for v in versions)


def test_a_frame_chunk_that_fails_is_failed_for_sqs_to_hand_out_again(
    courier: Courier, crowd: list[Conn], monkeypatch: Any
) -> None:
    """Unlike the caller's inline broadcast, a chunk job does not swallow its failure: SQS
    hands it out again and its frames still arrive."""
    act(courier, crowd[0], {"action": "recall"})
    courier.drain("FanoutQueue")  # the plan
    chunks = courier.take_jobs("FanoutQueue")
    with monkeypatch.context() as broken:
        broken.setattr("courier.channel_frames.members_unread", _unavailable)
        result = courier.run_worker("fanout_worker", chunks)
    assert len(result["batchItemFailures"]) == len(chunks)
    assert all(courier.posted(c, "recall") == [] for c in crowd[1:])

    courier.run_worker("fanout_worker", chunks)

    assert all(len(courier.posted(c, "recall")) == 1 for c in crowd[1:])


def _unavailable(*_: Any) -> dict[str, int]:
    raise RuntimeError("DynamoDB is unavailable")
