"""`make invoke FN=send EVENT=events/send-dm.json`: run one handler in-process against moto.

No Docker: tables come from template.yaml into moto's in-process mock, the handler is
the deployable one, and frames it posts to other connections are printed. A WebSocket
event first gets the scene it needs (local/seed.py: the channel's members, its messages,
a connected receiver), built through the handlers and printed as `seeded`; `--empty`
runs it on empty tables instead. Its metric lines (EMF) go to .local/metrics.log
(local/emf.py); `--verbose` prints them too.
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
from local.seed import scene_of, seed


class _Context:
    function_name = "courier-local-invoke"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:courier-local-invoke"
    aws_request_id = "local-invoke"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def invoke(function: str, event: dict[str, Any], *, seeded: bool = True) -> dict[str, Any]:
    """The handler's result and the frames it posted, keyed by connection id; with
    `seeded`, after building the scene the event needs (what was seeded, as `seeded`)."""
    import boto3  # noqa: PLC0415 - after the environment is set
    from moto import mock_aws  # noqa: PLC0415
    from moto.apigatewaymanagementapi.models import (  # noqa: PLC0415
        ApiGatewayManagementApiBackend,
    )

    from local.template import (  # noqa: PLC0415
        create_queues,
        create_tables,
        create_topics,
        load_template,
        resource_env,
    )

    posted: dict[str, list[Any]] = {}

    def record(_backend: Any, data: bytes, connection_id: str) -> None:
        posted.setdefault(connection_id, []).append(json.loads(data))

    with mock_aws():
        apply_local_environment({})
        template = load_template()
        tables = create_tables(boto3.client("dynamodb"), template)
        queues = create_queues(boto3.client("sqs"), template)
        topics = create_topics(boto3.client("sns"), template)
        apply_local_environment(resource_env(tables, queues, topics, template))
        with mock.patch.object(ApiGatewayManagementApiBackend, "post_to_connection", record):
            scene = scene_of(event) if seeded else None
            if scene is not None:
                seed(scene, lambda name, seed_event: load_handler(name)(seed_event, _Context()))
                posted.clear()  # what the seeding posted is not the handler's
            result = load_handler(function)(event, _Context())
    outcome: dict[str, Any] = {"result": result, "posted": posted}
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
