"""Poison records fail alone, reach the dead-letter queue, and `make redrive` brings them back."""

from __future__ import annotations

from typing import Any

from local.redrive import dead_letter_queue_of, main, redrive
from local.template import load_template
from tests.harness import Courier, _client


def test_a_poison_record_fails_alone_and_the_rest_of_the_batch_succeeds(courier: Courier) -> None:
    alice, bob = courier.connect("alice"), courier.connect("bob")
    courier.send(alice, "dm:alice:bob", "m1")
    good = courier.take_jobs("RetryQueue")

    result = courier.run_worker("retry_worker", ["not json", {"user": "bob"}, *good])

    failed = result["batchItemFailures"]
    assert len(failed) == 2  # the two poison records, reported by their message ids
    assert sum(1 for f in courier.posted(bob, "message") if f["seq"] == 1) == 2  # the good one ran


def test_a_batch_of_nothing_but_poison_records_is_reported_not_raised(courier: Courier) -> None:
    # Found by test_fuzz.py: Powertools raises when every record of a batch fails, so one
    # poison job arriving alone crashed the worker's invocation instead of being reported.
    for function in ("retry_worker", "fanout_worker", "notifier"):
        result = courier.run_worker(function, ["not json", [1, 2]])

        assert len(result["batchItemFailures"]) == 2, (function, result)


def receive_until_dead(sqs: Any, url: str, times: int) -> None:
    for _ in range(times):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def test_a_poison_record_reaches_the_dlq_after_max_receive_count_and_redrive_brings_it_back(
    courier: Courier,
) -> None:
    sqs = _client("sqs")
    source = courier.queues["RetryQueue"]
    dlq_id = dead_letter_queue_of(load_template(), "RetryQueue")
    dlq = courier.queues[dlq_id]
    sqs.send_message(QueueUrl=source, MessageBody="poison")

    receive_until_dead(sqs, source, times=6)  # maxReceiveCount is 5: the 6th receive moves it

    assert sqs.receive_message(QueueUrl=source).get("Messages", []) == []
    assert redrive(sqs, source, dlq) == 1
    back = sqs.receive_message(QueueUrl=source).get("Messages", [])
    assert [m["Body"] for m in back] == ["poison"]
    assert redrive(sqs, source, dlq) == 0


def test_make_redrive_moves_dead_letters_back_and_says_how_many(
    courier: Courier, capsys: Any
) -> None:
    sqs = _client("sqs")
    source, dlq = courier.queues["NotifyQueue"], courier.queues["NotifyDeadLetterQueue"]
    for body in ('{"n":1}', '{"n":2}', '{"n":3}'):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)

    assert main(["NotifyQueue", "--source-url", source, "--dlq-url", dlq]) == 0

    assert (
        "moved 3 message(s) from NotifyDeadLetterQueue back to NotifyQueue"
        in capsys.readouterr().out
    )
    assert len(courier.take_jobs("NotifyQueue")) == 3
