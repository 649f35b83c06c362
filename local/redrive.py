"""`make redrive QUEUE=RetryQueue`: move every message of a queue's dead-letter queue back.

QUEUE is the logical id of a queue in template.yaml (RetryQueue, FanoutQueue,
NotifyQueue). The URLs come from the deployed stack (`--stack`, default `courier`), or
are given outright with --source-url and --dlq-url (the local stack, or anywhere else).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from local.template import dead_letter_queue, load_template

BATCH = 10


def dead_letter_queue_of(template: dict[str, Any], queue: str) -> str:
    """The logical id of the DLQ that a queue's RedrivePolicy names."""
    queues = sorted(k for k, v in template["Resources"].items() if v["Type"] == "AWS::SQS::Queue")
    target = dead_letter_queue(template, queue) if queue in queues else None
    if target is None:
        raise SystemExit(f"{queue!r} is not a queue with a DLQ; one of: {', '.join(queues)}")
    return target


def redrive(sqs: Any, source_url: str, dlq_url: str) -> int:
    """Move every message now in the DLQ to the source queue; how many moved."""
    fifo = source_url.endswith(".fifo")
    moved = 0
    while True:
        reply = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            AttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        )
        messages = reply.get("Messages", [])
        if not messages:
            return moved
        entries = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if fifo:
                attributes = message.get("Attributes", {})
                entry["MessageGroupId"] = attributes.get("MessageGroupId", "redrive")
                entry["MessageDeduplicationId"] = message["MessageId"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        done = {e["Id"] for e in sent.get("Successful", [])}
        sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if str(i) in done
            ],
        )
        moved += len(done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queue", help="logical id of the queue, e.g. RetryQueue")
    parser.add_argument("--stack", default="courier", help="the deployed stack's name")
    parser.add_argument("--source-url")
    parser.add_argument("--dlq-url")
    parser.add_argument("--endpoint-url", help="an AWS endpoint other than AWS's (the local stack)")
    args = parser.parse_args(argv)

    import boto3  # noqa: PLC0415 - only once the arguments are known to be right

    dlq = dead_letter_queue_of(load_template(), args.queue)
    source_url, dlq_url = args.source_url, args.dlq_url
    if not (source_url and dlq_url):
        cfn = boto3.client("cloudformation", endpoint_url=args.endpoint_url)

        def url(logical_id: str) -> str:
            found = cfn.describe_stack_resource(StackName=args.stack, LogicalResourceId=logical_id)
            return str(found["StackResourceDetail"]["PhysicalResourceId"])

        source_url, dlq_url = source_url or url(args.queue), dlq_url or url(dlq)
    moved = redrive(boto3.client("sqs", endpoint_url=args.endpoint_url), source_url, dlq_url)
    sys.stdout.write(f"moved {moved} message(s) from {dlq} back to {args.queue}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
