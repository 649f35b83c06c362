"""local/moto_patches.py: where the local stack makes moto behave as AWS does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.moto_patches import FifoDeduplicationWindow


@pytest.fixture
def fifo_queue() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        yield sqs, url


def send_and_consume(sqs: Any, url: str, dedup_id: str) -> list[str]:
    """Send one job with `dedup_id`, then receive and delete whatever is there."""
    sqs.send_message(
        QueueUrl=url, MessageBody=dedup_id, MessageGroupId="g", MessageDeduplicationId=dedup_id
    )
    bodies = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies.append(message["Body"])
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_fifo_deduplication_outlives_the_deleted_message(fifo_queue: tuple[Any, str]) -> None:
    sqs, url = fifo_queue
    window = FifoDeduplicationWindow()
    window.install()
    try:
        assert send_and_consume(sqs, url, "chunk-1") == ["chunk-1"]
        assert send_and_consume(sqs, url, "chunk-1") == []  # SQS: same id within 5 minutes
        assert send_and_consume(sqs, url, "chunk-2") == ["chunk-2"]
    finally:
        window.uninstall()
    assert send_and_consume(sqs, url, "chunk-1") == ["chunk-1"]  # moto's own behaviour again


def test_fifo_deduplication_window_expires() -> None:
    window = FifoDeduplicationWindow(window_seconds=300)
    assert window.first_sighting("arn:q", "id", now=1000.0)
    assert not window.first_sighting("arn:q", "id", now=1299.0)
    assert window.first_sighting("arn:other", "id", now=1299.0)
    assert window.first_sighting("arn:q", "id", now=1300.0)
