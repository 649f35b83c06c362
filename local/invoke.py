"""`make invoke FN=send EVENT=events/send-dm.json`: run one handler in-process against moto.

No Docker: tables come from template.yaml into moto's in-process mock, the handler is
the deployable one, and what it sends out is printed: frames it posts to other connections
(`posted`), jobs it queues (`queued`, by queue) and notifications it publishes
(`published`). The event first gets the scene it needs (local/seed.py for a WebSocket
event: the channel's members, its messages, a connected receiver; local/seed_jobs.py for
an admin or worker event: what its job names), built through the handlers and printed
as `seeded`; `--empty` runs it on empty tables instead. Its metric lines (EMF) go to
.local/metrics.log (local/emf.py); `--verbose` prints them too.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any
from unittest import mock

from local import emf
from local.environment import apply_local_environment
from local.handlers import function_names, load_handler
from local.seed import Invoke, Scene, scene_of, seed
from local.seed_jobs import JobScene, job_scene_of, seed_job


class _Context:
    function_name = "courier-local-invoke"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:courier-local-invoke"
    aws_request_id = "local-invoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def _scene(function: str, event: dict[str, Any]) -> Scene | JobScene | None:
    return scene_of(event) or job_scene_of(function, event)


def _build(scene: Scene | JobScene, invoke_handler: Invoke) -> None:
    if isinstance(scene, Scene):
        seed(scene, invoke_handler)
    else:
        seed_job(scene, invoke_handler)


def invoke(function: str, event: dict[str, Any], *, seeded: bool = True) -> dict[str, Any]:
    """The handler's result, the frames it posted (by connection id), the jobs it queued
    (by queue name) and the notifications it published; with `seeded`, after building the
    scene the event needs (what was seeded, as `seeded`)."""
    import boto3  # noqa: PLC0415 - after the environment is set
    from moto import mock_aws  # noqa: PLC0415
    from moto.apigatewaymanagementapi.models import (  # noqa: PLC0415
        ApiGatewayManagementApiBackend,
    )
    from moto.sns.models import SNSBackend  # noqa: PLC0415
    from moto.sqs.models import SQSBackend  # noqa: PLC0415

    from local.template import (  # noqa: PLC0415
        create_queues,
        create_tables,
        create_topics,
        load_template,
        resource_env,
    )

    posted: dict[str, list[Any]] = {}
    queued: dict[str, list[Any]] = {}
    published: list[Any] = []
    send_message, publish = SQSBackend.send_message, SNSBackend.publish

    def record(_backend: Any, data: bytes, connection_id: str) -> None:
        posted.setdefault(connection_id, []).append(json.loads(data))

    def record_job(backend: Any, queue_name: str, message_body: str, **rest: Any) -> Any:
        queued.setdefault(queue_name, []).append(json.loads(message_body))
        return send_message(backend, queue_name, message_body, **rest)

    def record_publish(backend: Any, message: str, *args: Any, **rest: Any) -> Any:
        published.append(json.loads(message))
        return publish(backend, message, *args, **rest)

    with mock_aws():
        apply_local_environment({})
        template = load_template()
        tables = create_tables(boto3.client("dynamodb"), template)
        queues = create_queues(boto3.client("sqs"), template)
        topics = create_topics(boto3.client("sns"), template)
        apply_local_environment(resource_env(tables, queues, topics, template))
        with (
            mock.patch.object(ApiGatewayManagementApiBackend, "post_to_connection", record),
            mock.patch.object(SQSBackend, "send_message", record_job),
            mock.patch.object(SNSBackend, "publish", record_publish),
        ):
            scene = _scene(function, event) if seeded else None
            if scene is not None:
                _build(scene, lambda name, seed_event: load_handler(name)(seed_event, _Context()))
                for sent in (posted, queued, published):
                    sent.clear()  # what the seeding sent out is not the handler's
            result = load_handler(function)(event, _Context())
    outcome: dict[str, Any] = {
        "result": result,
        "posted": posted,
        "queued": queued,
        "published": published,
    }
    if scene is not None:
        outcome["seeded"] = asdict(scene)
    return outcome


def read_event(path: Path) -> dict[str, Any] | None:
    """The event file's JSON object; None, after one line on stderr, when there is none."""
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "no such file"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        problem = f"not JSON ({exc})"
    else:
        if isinstance(event, dict):
            return event
        problem = "not a JSON object"
    sys.stderr.write(f"make invoke: cannot use event {path}: {problem}\n")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=function_names())
    parser.add_argument("event", type=Path, help="an event file, e.g. events/send-dm.json")
    parser.add_argument(
        "--verbose", action="store_true", help="print the metric (EMF) lines too, not only log them"
    )
    parser.add_argument(
        "--empty", action="store_true", help="run on empty tables: seed nothing first"
    )
    args = parser.parse_args(argv)
    event = read_event(args.event)
    if event is None:
        return 2
    undo = emf.divert(emf.log_file(echo=args.verbose))
    try:
        with warnings.catch_warnings():
            if not args.verbose:
                warnings.filterwarnings("ignore", "No application metrics to publish")
            outcome = invoke(args.function, event, seeded=not args.empty)
    finally:
        undo()
    json.dump(outcome, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
