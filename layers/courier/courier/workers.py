"""SQS workers: each record is one job; a failing record fails alone (partial batch response)
and, after the queue's maxReceiveCount, lands in its dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from courier.channel_frames import FrameJob, run_frame_job
from courier.committed import committed_message
from courier.fanout import FanoutJob, run_fanout_job, schedule_delivery
from courier.notify import Delivery, NotifyJob, run_notify_job
from courier.retry import RetryJob, run_retry_job
from courier.runtime import Services

RETRY_METRICS = {
    "retried": "RetriesSent",
    "gave_up": "RetryGiveUps",
    "acked": "RetriesSkippedAcked",
    "offline": "RetriesSkippedOffline",
    "coalesced": "RetriesCoalesced",
    "duplicate": "RetryJobsDuplicate",
    "resumed": "RetryChainsResumed",
    "joined": "RetriesJoined",
}


def _job_body(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    if not isinstance(body, dict):
        raise ValueError("a job body is a JSON object")
    return body


def retry_record(svc: Services, record: SQSRecord) -> str:
    redelivered = int(record.attributes.approximate_receive_count) > 1
    job = RetryJob.from_body(_job_body(record))
    outcome = run_retry_job(svc, job, redelivered=redelivered)
    svc.metrics.add_metric(name=RETRY_METRICS[outcome], unit=MetricUnit.Count, value=1)
    if outcome == "gave_up":  # the last attempt still redelivered
        svc.metrics.add_metric(name="RetriesSent", unit=MetricUnit.Count, value=1)
    return outcome


def fanout_record(svc: Services, record: SQSRecord) -> str:
    """A new message's fan-out job, or a recall's or an edit's (courier.channel_frames)."""
    body = _job_body(record)
    if "frame" in body:
        outcome = run_frame_job(svc, FrameJob.from_body(body))
    else:
        redelivered = int(record.attributes.approximate_receive_count) > 1
        outcome = run_fanout_job(svc, FanoutJob.from_body(body), redelivered=redelivered)
    svc.metrics.add_metric(name=f"Fanout_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


def notify_record(svc: Services, record: SQSRecord) -> str:
    delivery = Delivery(record.message_id, int(record.attributes.approximate_receive_count))
    outcome = run_notify_job(svc, NotifyJob.from_body(_job_body(record)), delivery)
    svc.metrics.add_metric(name=f"Notify_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


def stream_record(svc: Services, record: DynamoDBRecord) -> str:
    """One record of the messages table's stream: schedule the message's delivery."""
    committed = committed_message(record.raw_event)
    if committed is None:
        outcome = "skipped"
    else:
        outcome = schedule_delivery(svc, committed.message, committed.sender_connection)
    svc.metrics.add_metric(name=f"Stream_{outcome}", unit=MetricUnit.Count, value=1)
    return outcome


def _process_batch(
    event: dict[str, Any],
    context: Any,
    event_type: EventType,
    handle: Callable[[Any], str],
) -> dict[str, Any]:
    """Run every record of a batch; the failed ones are reported, not raised.

    A batch whose every record fails (one poison record alone, often) is reported like
    any other failure: its records come back either way, and a worker never crashes on
    what it was given."""
    processor = BatchProcessor(event_type=event_type, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event, record_handler=handle, processor=processor, context=context
    )
    return dict(response)


def _count_failed(svc: Services, response: dict[str, Any], metric: str) -> dict[str, Any]:
    if failed := len(response.get("batchItemFailures", [])):
        svc.metrics.add_metric(name=metric, unit=MetricUnit.Count, value=failed)
    return response


def process_stream(
    event: dict[str, Any], context: Any, services: Callable[[], Services]
) -> dict[str, Any]:
    """Run every record of a stream batch; Lambda retries from the first failed record
    (ReportBatchItemFailures), bisecting a batch whose invocation fails outright."""
    svc = services()
    response = _process_batch(
        event, context, EventType.DynamoDBStreams, lambda record: stream_record(svc, record)
    )
    return _count_failed(svc, response, "StreamRecordsFailed")


def process_jobs(
    event: dict[str, Any],
    context: Any,
    run: Callable[[Services, SQSRecord], str],
    services: Callable[[], Services],
) -> dict[str, Any]:
    """Run every record of an SQS batch; the failed ones are reported for SQS to redeliver."""
    svc = services()
    response = _process_batch(event, context, EventType.SQS, lambda record: run(svc, record))
    return _count_failed(svc, response, "JobsFailed")
