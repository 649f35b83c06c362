"""AWS failing under a frame: the client gets `throttled` or `internal`, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from courier import actions
from tests.harness import Courier

DM = "dm:alice:bob"


def aws_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "BatchGetItem")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("ProvisionedThroughputExceededException", "throttled"), ("InternalServerError", "internal")],
)
def test_a_failing_aws_call_answers_an_error_frame_and_changes_nothing(
    courier: Courier, monkeypatch: pytest.MonkeyPatch, code: str, expected: str
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, DM, "m1")
    before = courier.snapshot()

    def failing(*_: Any, **__: Any) -> Any:
        raise aws_error(code)

    monkeypatch.setattr(actions, "channel_view", failing)
    reply = courier.frame(bob, {"action": "read", "channel": DM, "seq": 1, "requestId": "r"})

    assert reply is not None
    assert (reply["type"], reply["code"], reply["requestId"]) == ("error", expected, "r")
    assert courier.snapshot() == before


def test_an_unexpected_exception_answers_internal(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = courier.connect("alice")

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(actions, "conversations_frame", broken)
    reply = courier.frame(alice, {"action": "sync"})
    assert reply is not None and reply["code"] == "internal"


def test_a_delivery_failure_after_the_commit_still_answers_the_sendack(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")

    def failing(*_: Any, **__: Any) -> Any:
        raise aws_error("ProvisionedThroughputExceededException")

    monkeypatch.setattr(actions, "post_new_message", failing)
    ack = courier.send(alice, DM, "m1")

    assert ack["type"] == "sendack" and ack["seq"] == 1
    assert [m["seq"] for m in courier.all_messages(bob, DM)] == [1]  # bob catches up by sync
    # and the durable path still queued bob's probe, which posts what the fast path lost
    assert [job.body["seq"] for job in courier.jobs("RetryQueue")] == [1]
